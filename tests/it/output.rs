//! What scripts read (JSON: the API objects with their documented fields) and what people read
//! (tables that fit 80 columns).

use crate::harness::{Server, TestEnv};

const KEY_FIELDS: [&str; 16] = [
    "id",
    "name",
    "description",
    "type",
    "environments",
    "permissions",
    "allowed_ips",
    "status",
    "created_at",
    "created_by",
    "updated_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "hint",
    "version",
];

fn assert_key_object(v: &serde_json::Value) {
    let obj = v.as_object().expect("a JSON object");
    for field in KEY_FIELDS {
        assert!(obj.contains_key(field), "missing {field} in {v}");
    }
    // Exactly the documented fields (and the one-time secret after create), nothing more.
    for field in obj.keys() {
        assert!(
            KEY_FIELDS.contains(&field.as_str()) || field == "secret",
            "undocumented field {field} in {v}"
        );
    }
    assert!(obj["hint"].as_str().unwrap().starts_with("kw_sk_…"));
    assert_eq!(obj["version"], 1);
    // Times are RFC 3339.
    assert!(
        obj["created_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
}

#[test]
fn json_of_create_list_and_show_is_the_api_object() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let created = env.json(&[
        "keys",
        "create",
        "--name",
        "json-key",
        "--description",
        "for scripts",
        "--env",
        "production",
        "--env",
        "staging",
        "--permission",
        "orders:read",
        "--allow-ip",
        "10.1.2.3/8",
        "--allow-ip",
        "2001:db8::1",
        "--expires-in",
        "90d",
        "--no-store",
    ]);
    assert_key_object(&created);
    assert!(created["secret"].as_str().unwrap().starts_with("kw_sk_"));
    assert_eq!(created["type"], "private");
    assert_eq!(created["description"], "for scripts");
    assert_eq!(
        created["environments"],
        serde_json::json!(["production", "staging"])
    );
    // CIDRs are stored canonical.
    assert_eq!(
        created["allowed_ips"],
        serde_json::json!(["10.0.0.0/8", "2001:db8::1/128"])
    );
    let expires: jiff::Timestamp = created["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
    assert!((89..=90).contains(&days), "{days}");

    let shown = env.json(&["keys", "show", "json-key"]);
    assert_key_object(&shown);
    assert!(shown.get("secret").is_none());
    let mut created_without_secret = created.clone();
    created_without_secret
        .as_object_mut()
        .unwrap()
        .remove("secret");
    assert_eq!(shown, created_without_secret);

    let listed = env.json(&["keys", "list", "--search", "scripts"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0], shown);
    // One page: the cursor is there, and null (a script's loop ends on it).
    assert!(listed.as_object().unwrap().contains_key("next_cursor"));
    assert!(listed["next_cursor"].is_null(), "{listed}");

    // -q: only the essential values.
    let ids = env.ok(&["keys", "list", "-q"]);
    assert!(ids.lines().any(|l| l == shown["id"].as_str().unwrap()));
}

#[test]
fn tables_fit_80_columns() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    env.ok(&[
        "keys",
        "create",
        "--name",
        "a-rather-long-key-name-for-the-table",
        "--description",
        "A description long enough to need wrapping in a narrow terminal, surely",
        "--env",
        "production",
        "--env",
        "staging",
        "--env",
        "development",
        "--permission",
        "orders:read",
        "--permission",
        "catalog:read",
        "--no-store",
    ]);
    for args in [
        vec!["keys", "list"],
        vec!["keys", "show", "a-rather-long-key-name-for-the-table"],
        vec!["whoami"],
        vec!["envs", "list"],
        vec!["permissions", "list"],
    ] {
        let out = env.ok(&args);
        assert!(!out.trim().is_empty());
        for line in out.lines() {
            assert!(
                line.chars().count() <= 80,
                "{args:?}: line wider than 80 columns:\n{line}"
            );
        }
    }
    let list = env.ok(&["keys", "list"]);
    assert!(list.contains("NAME") && list.contains("STATUS"));
    // Ids and dates are never cut in two, so they can be copied from the table.
    let key = env.json(&["keys", "show", "a-rather-long-key-name-for-the-table"]);
    let id = key["id"].as_str().unwrap();
    assert!(list.lines().any(|l| l.contains(id)), "{list}");
    // Times in tables are relative to now; JSON keeps them exact.
    assert!(
        list.lines()
            .any(|l| l.contains(id) && l.contains("in 12 months")),
        "{list}"
    );
    assert!(key["expires_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_public_key_gets_the_public_prefix_and_no_token() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let created = env.json(&[
        "keys",
        "create",
        "--name",
        "web",
        "--type",
        "public",
        "--env",
        "production",
        "--permission",
        "catalog:read",
        "--no-store",
    ]);
    let secret = created["secret"].as_str().unwrap();
    crate::harness::assert_secret_format(secret, "kw_pk_");
    let (status, token) = server.token(created["id"].as_str().unwrap(), secret);
    assert_eq!(status, 400);
    assert!(token.is_none());
}

#[test]
fn responses_carrying_a_secret_are_not_cached() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let resp = crate::harness::http(
        server.authority(),
        "POST",
        "/v1/oauth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            server.admin_id, server.admin_secret
        )
        .as_bytes(),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Errors are problem+json with a stable code.
    let bad = crate::harness::http(server.authority(), "GET", "/v1/keys", &[], b"");
    assert_eq!(bad.status, 401);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let problem: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(problem["code"], "unauthenticated");
}

#[test]
fn colour_follows_the_flag_and_never_reaches_pipes_by_default() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "coloured", "--no-store", "-q"]);
    assert!(
        env.ok(&["keys", "list", "--color", "always"])
            .contains("\u{1b}[")
    );
    // --color always wins over NO_COLOR: real colours, never a bare reset on its own.
    let mut no_color = TestEnv::new();
    no_color.set("NO_COLOR", "1");
    no_color.ok(&["keys", "create", "--name", "plain", "--no-store", "-q"]);
    let forced = no_color.ok(&["keys", "list", "--color", "always"]);
    assert!(forced.contains("\u{1b}[38;5;"), "{forced:?}");
    assert!(!forced.contains("\u{1b}[m"), "{forced:?}");
    assert!(!no_color.ok(&["keys", "list"]).contains('\u{1b}'));
    assert!(
        !env.ok(&["keys", "list"]).contains('\u{1b}'),
        "auto: stdout is a pipe"
    );
    assert!(
        !env.ok(&["keys", "list", "--color", "never"])
            .contains('\u{1b}')
    );
    // JSON is never coloured.
    assert!(
        !env.ok(&["keys", "list", "--color", "always", "--output", "json"])
            .contains('\u{1b}')
    );
}

#[test]
fn control_characters_in_a_key_never_reach_the_terminal_raw() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    // Whoever may write a description could retitle the admin's terminal, clear it, or fake a
    // line of output.
    let hostile = "ok\u{1b}]0;owned\u{7}\u{1b}[2J\rkeyward: all keys revoked\u{1}\u{9b}31m";
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let bearer = format!("Bearer {}", token.unwrap());
    // NUL no field accepts, on either backend (PostgreSQL could not store it): a body, a path
    // and a query holding one are refused with a problem that says so, and nothing is made.
    let with_nul =
        serde_json::json!({"name": "nul", "environments": ["staging"], "description": "a\u{0}b"});
    for (method, path, body) in [
        ("POST", "/v1/keys", with_nul.to_string()),
        ("GET", "/v1/keys/key_%00", String::new()),
        ("GET", "/v1/keys?q=a%00b", String::new()),
    ] {
        let r = crate::harness::http(
            server.authority(),
            method,
            path,
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 400, "{path}");
        let problem: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("NUL"),
            "{problem}"
        );
    }
    env.fails(&["keys", "show", "nul"], 4);
    let body =
        serde_json::json!({"name": "hostile", "environments": ["staging"], "description": hostile});
    let r = crate::harness::http(
        server.authority(),
        "POST",
        "/v1/keys",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201);
    for args in [
        &["keys", "show", "hostile"][..],
        &["keys", "list"][..],
        &["keys", "list", "--search", "ok"][..],
        &["keys", "disable", "hostile", "--yes"][..],
    ] {
        let out = env.keyward().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{args:?} printed a raw control character: {text:?}"
            );
        }
    }
    let shown = env.ok(&["keys", "show", "hostile"]);
    assert!(shown.contains("\\u{1b}]0;owned"), "{shown}");
    // JSON keeps the value exact (escaped by JSON itself).
    assert_eq!(
        env.json(&["keys", "show", "hostile"])["description"],
        hostile
    );
}

#[test]
fn bidi_controls_in_descriptions_are_shown_escaped() {
    let env = TestEnv::new();
    // An override makes what follows it read backwards ("exe.txt" shown as "txt.exe"); an
    // isolate or a mark reorders a table's row around it.
    let hostile = "report\u{202e}txt.exe \u{2066}a\u{2069} \u{202a}\u{202b}\u{202c}\u{202d}\u{2067}\u{2068}\u{200e}\u{200f}\u{61c}";
    let is_bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}');
    env.ok(&[
        "keys",
        "create",
        "--name",
        "rtl",
        "--description",
        hostile,
        "-q",
    ]);
    env.ok(&["envs", "create", "rtl-env", "--description", hostile]);
    env.ok(&["permissions", "add", "rtl:read", "--description", hostile]);
    for args in [
        &["keys", "show", "rtl"][..],
        &["keys", "list"][..],
        &["envs", "list"][..],
        &["permissions", "list"][..],
        &["keys", "disable", "rtl", "--yes"][..],
    ] {
        let out = env.keyward().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.chars().any(is_bidi),
                "{args:?} printed a raw bidi control: {text:?}"
            );
        }
    }
    let shown = env.ok(&["keys", "show", "rtl"]);
    assert!(shown.contains("report\\u{202e}txt.exe"), "{shown}");
    // JSON keeps the value exact.
    assert_eq!(env.json(&["keys", "show", "rtl"])["description"], hostile);
}

#[test]
fn every_listing_prints_one_json_shape() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "shaped", "-q"]);
    for args in [
        &["keys", "list"][..],
        &["envs", "list"][..],
        &["permissions", "list"][..],
        &["secrets", "list"][..],
        &["profiles", "list"][..],
        &["keys", "check"][..],
        &["keys", "revoke", "--status", "revoked", "--dry-run"][..],
    ] {
        let value = env.json(args);
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("{args:?}: {value}"));
        assert!(object["items"].is_array(), "{args:?}: {value}");
        assert!(object.contains_key("next_cursor"), "{args:?}: {value}");
    }
}

#[test]
fn an_empty_list_names_the_filters_and_an_unknown_environment_is_an_error() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "here", "-q"]);
    let out = env
        .keyward()
        .args([
            "keys",
            "list",
            "--status",
            "revoked",
            "--search",
            "nothing-like-it",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("No key matches --status revoked --search nothing-like-it"),
        "{said}"
    );
    let err = env.fails(&["keys", "list", "--env", "moon"], 2);
    assert!(err.contains("moon") && err.contains("default"), "{err}");
    // Newest first by default; --name is exact.
    env.ok(&["keys", "create", "--name", "here-too", "-q"]);
    let ids = env.ok(&["keys", "list", "-q"]);
    let newest = env.json(&["keys", "show", "here-too"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ids.lines().next(), Some(newest.as_str()));
    let named = env.json(&["keys", "list", "--name", "here"]);
    assert_eq!(named["items"].as_array().unwrap().len(), 1);
}

#[test]
fn jsonl_prints_one_object_per_line_on_every_listing_and_nothing_else() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "line-1", "-q"]);
    env.ok(&["keys", "create", "--name", "line-2", "-q"]);
    for args in [
        &["keys", "list"][..],
        &["keys", "list", "--all"][..],
        &["envs", "list"][..],
        &["permissions", "list"][..],
        &["profiles", "list"][..],
        &["keys", "revoke", "--status", "active", "--dry-run"][..],
        &["audit", "--limit", "5"][..],
    ] {
        let expected = env.json(args)["items"].as_array().unwrap().len();
        assert!(expected > 0, "{args:?}");
        let mut all = vec!["--output", "jsonl"];
        all.extend_from_slice(args);
        let out = env.ok(&all);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), expected, "{args:?}: {out}");
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"));
            assert!(
                v.is_object() && v.get("items").is_none(),
                "{args:?}: {line}"
            );
        }
    }
    // A page cut short says so on stderr (lines carry no cursor).
    let out = env
        .keyward()
        .args(["keys", "list", "--limit", "1", "--output", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--all"));
    // The help says all three.
    let help = env.ok(&["keys", "list", "--help"]);
    assert!(help.contains("table|json|jsonl"), "{help}");
}

#[test]
fn json_fields_picks_fields_and_never_drops_a_new_secret() {
    let env = TestEnv::new();
    let made = env.ok(&[
        "keys",
        "create",
        "--name",
        "picked",
        "--no-store",
        "--json",
        "id",
    ]);
    let made: serde_json::Value = serde_json::from_str(&made).unwrap();
    let fields: Vec<&String> = made.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["id", "secret"], "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("kw_"));

    let listed: serde_json::Value =
        serde_json::from_str(&env.ok(&["keys", "list", "--json", "id,name"])).unwrap();
    for item in listed["items"].as_array().unwrap() {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name"], "{item}");
    }
    // With jsonl, each line picked the same way.
    let out = env.ok(&["keys", "list", "--output", "jsonl", "--json", "name"]);
    assert!(
        out.lines()
            .all(|l| l.starts_with("{\"name\":") && !l.contains("\"id\"")),
        "{out}"
    );
    // A field no key has is said, on stderr, with the fields there are.
    let out = env
        .keyward()
        .args(["keys", "list", "--json", "id,nmae"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nmae") && err.contains("expires_at"), "{err}");
}
