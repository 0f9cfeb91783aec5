//! What scripts rely on: exact filters (they feed bulk work), a closed pipe that is no error,
//! and exit codes that tell one failure from another.

use std::collections::BTreeSet;
use std::process::Stdio;

use jiff::SignedDuration;
use serde_json::json;

use crate::harness::{Server, TestEnv};
use crate::live::LiveServer;

fn ids(cli: &TestEnv, args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["keys", "list", "--all", "-q"];
    all.extend_from_slice(args);
    cli.ok(&all).lines().map(str::to_owned).collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

#[test]
fn json_into_a_closed_pipe_is_success() {
    let env = TestEnv::new();
    for i in 0..3 {
        env.ok(&["keys", "create", "--name", &format!("piped-{i}"), "-q"]);
    }
    for args in [
        &["keys", "list", "--all", "--output", "json"][..],
        &["keys", "list", "--all"][..],
        &["keys", "show", "piped-0", "--output", "json"][..],
    ] {
        let mut child = std::process::Command::new(crate::harness::BIN)
            .args(args)
            .env_clear()
            .envs(env.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn unused_for_means_old_enough_and_unused_and_never_revoked() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let admin = server.admin_token();
    let make = |admin: &str, name: &str| {
        server
            .create(
                admin,
                json!({"name": name, "environments": ["staging"], "permissions": ["reports:read"]}),
            )
            .0
    };
    let old_unused = make(&admin, "old-unused");
    let (old_used, old_used_secret) = server.create(
        &admin,
        json!({"name": "old-used", "environments": ["staging"], "permissions": ["reports:read"]}),
    );
    let old_revoked = make(&admin, "old-revoked");
    server.advance(SignedDuration::from_hours(24 * 100));
    // A token lives a day: a fresh one for the admin's calls from here on.
    let admin = server.admin_token();
    assert_eq!(server.token(&old_used, &old_used_secret).0, 200);
    server.flush_last_used();
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{old_revoked}/revoke"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    let fresh = make(&admin, "fresh");

    let mine = ["--permission", "reports:read"];
    let unused = |extra: &[&str]| {
        let mut args = vec!["--unused-for", "90d"];
        args.extend_from_slice(&mine);
        args.extend_from_slice(extra);
        ids(&cli, &args)
    };
    // Not the key made minutes ago, not the one used today, not the revoked one.
    assert_eq!(unused(&[]), set(&[&old_unused]));
    // Revoked keys only when asked for.
    assert_eq!(unused(&["--status", "revoked"]), set(&[&old_revoked]));
    assert!(!unused(&[]).contains(&fresh));
}

#[test]
fn expiring_within_means_still_to_expire_and_never_revoked() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let admin = server.admin_token();
    let make = |name: &str, days: i64| {
        let at = server.now() + SignedDuration::from_hours(24 * days);
        server
            .create(
                &admin,
                json!({"name": name, "environments": ["staging"], "permissions": ["reports:read"], "expires_at": at}),
            )
            .0
    };
    let soon = make("soon", 10);
    let lapsing = make("lapsing", 2);
    let revoked = make("revoked-soon", 10);
    let _later = make("later", 300);
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{revoked}/revoke"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    server.advance(SignedDuration::from_hours(24 * 3));

    let expiring = |extra: &[&str]| {
        let mut args = vec!["--expiring-within", "30d", "--permission", "reports:read"];
        args.extend_from_slice(extra);
        ids(&cli, &args)
    };
    assert_eq!(
        expiring(&[]),
        set(&[&soon]),
        "not the expired, not the revoked"
    );
    assert_eq!(expiring(&["--status", "expired"]), set(&[&lapsing]));
    assert_eq!(expiring(&["--status", "revoked"]), set(&[&revoked]));
}

#[test]
fn search_matches_a_hint_only_for_what_looks_like_one() {
    let env = TestEnv::new();
    // A brought secret whose hint ends in dDdD, so a search for "d" would match it by chance.
    let secret = format!("{}dDdD", keyward::secret::random_base62(40));
    let out = env
        .keyward()
        .args(["keys", "create", "--name", "alpha", "--secret-stdin", "-q"])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = env.json(&["keys", "show", "alpha"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ids(&env, &["--search", "d"]),
        BTreeSet::new(),
        "a letter of the hint"
    );
    assert_eq!(
        ids(&env, &["--search", "dDdD"]),
        BTreeSet::new(),
        "a bare tail"
    );
    assert_eq!(ids(&env, &["--search", "…dDdD"]), set(&[&id]));
    assert_eq!(ids(&env, &["--search", "...dDdD"]), set(&[&id]));
    assert_eq!(ids(&env, &["--search", "alph"]), set(&[&id]));
}

/// A revoked login key is told so, like a disabled one, and under the same condition: only its
/// right secret hears it; a wrong one gets the answer any wrong secret gets.
#[test]
fn a_revoked_login_key_is_told_so_like_a_disabled_one() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "my-old-login", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The API: the right secret, 400 key_revoked; a wrong one, 401 invalid_client as for any key.
    let (status, token, resp) = server.token(&id, &secret);
    assert!(token.is_none());
    let body = crate::live::json(&resp);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("key_revoked")),
        "{body}"
    );
    assert_eq!(body["detail"], "the key is revoked");
    let wrong = keyward::secret::Secret::generate("kw_sk_")
        .expose()
        .to_owned();
    let (status, _, resp) = server.token(&id, &wrong);
    let body = crate::live::json(&resp);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // The CLI, as a script and at `keyward login`: the login key, by id, is revoked; exit 3.
    let cli = server.cli_as(&id, &secret);
    let err = cli.fails(&["keys", "list"], 3);
    assert!(err.contains("login key") && err.contains(&id), "{err}");
    assert!(err.contains("revoked"), "{err}");
    let login = TestEnv::new();
    let out = login
        .keyward()
        .args(["login", "--url", &server.url, "--client-id", &id])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&id) && err.contains("the key is revoked"),
        "{err}"
    );
}

#[test]
fn a_disabled_login_key_is_not_allowed_and_says_whose_it_is() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "my-login", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]);
    assert_eq!(r.status, 200);
    let cli = server.cli_as(&id, &secret);
    let err = cli.fails(&["keys", "list"], 3);
    assert!(err.contains("login key") && err.contains(&id), "{err}");
    assert!(
        err.contains("disabled") && err.contains("keys enable"),
        "{err}"
    );
    // `keyward login` with it says the same, exit 3.
    let login = TestEnv::new();
    let out = login
        .keyward()
        .args(["login", "--url", &server.url, "--client-id", &id])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_if_version_ahead_of_the_key_is_a_usage_error() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "versioned", "-q"]);
    let err = env.fails(
        &[
            "keys",
            "edit",
            "versioned",
            "--description",
            "x",
            "--if-version",
            "999",
        ],
        2,
    );
    assert!(
        err.contains("--if-version 999") && err.contains("ahead"),
        "{err}"
    );
    assert!(!err.contains("someone else"), "{err}");
    assert_eq!(env.json(&["keys", "show", "versioned"])["version"], 1);
}

#[test]
fn https_against_a_plain_http_server_names_the_tls_failure() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    env.set("KEYWARD_URL", &server.url.replace("http://", "https://"));
    let err = env.fails(&["keys", "list"], 6);
    assert!(err.contains("TLS"), "{err}");
    assert!(!err.contains("connection refused"), "{err}");
}

#[test]
fn keys_check_exits_8_listing_the_keys_that_need_attention() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let out = cli.keyward().args(["keys", "check"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("No key needs attention"));

    let make = |args: &[&str]| {
        let mut all = vec![
            "keys",
            "create",
            "--env",
            "staging",
            "--no-store",
            "--output",
            "json",
        ];
        all.extend_from_slice(args);
        cli.json(&all)["id"].as_str().unwrap().to_owned()
    };
    let soon = make(&["--name", "soon", "--expires-in", "10d"]);
    let idle = make(&["--name", "idle"]);
    let gone = make(&["--name", "gone", "--expires-in", "5d"]);
    cli.ok(&["keys", "revoke", "gone", "--yes"]);

    let out = cli.keyward().args(["keys", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("soon") && table.contains("expires"),
        "{table}"
    );
    assert!(!table.contains("idle") && !table.contains(&gone), "{table}");
    let out = cli
        .keyward()
        .args(["keys", "check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![soon.as_str()]);

    // A hundred days on: `soon` has expired (no longer "expiring"), `idle` was never used.
    server.advance(SignedDuration::from_hours(24 * 100));
    let out = cli
        .keyward()
        .args(["keys", "check", "--unused-for", "90d", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let flagged: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(flagged, set(&[&idle, &soon, &server.admin_id]));
    let out = cli
        .keyward()
        .args(["keys", "check", "--unused-for", "90d"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("never used") && !table.contains("gone"),
        "{table}"
    );
}

#[test]
fn whoami_warns_when_the_login_key_expires_soon() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let at = server.now() + SignedDuration::from_hours(24 * 20);
    let (id, secret) = server.create(
        &admin,
        json!({"name": "short-lived", "environments": ["staging"], "expires_at": at}),
    );
    let cli = server.cli_as(&id, &secret);
    let out = cli.keyward().arg("whoami").output().unwrap();
    assert!(out.status.success());
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(
        warned.contains("warning") && warned.contains("short-lived"),
        "{warned}"
    );
    let mut admin_cli = TestEnv::new();
    server.as_admin(&mut admin_cli);
    let out = admin_cli.keyward().arg("whoami").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn half_of_a_scripts_credentials_says_which_half_is_missing() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &server.admin_id);
    let err = env.fails(&["keys", "list"], 2);
    assert!(
        err.contains("KEYWARD_CLIENT_SECRET is not") && err.contains(&server.admin_id),
        "{err}"
    );
}

#[test]
fn verbose_shows_each_request_and_never_a_secret() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let out = env
        .keyward()
        .args(["-v", "keys", "list", "--search", "needle"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "method=POST path=/v1/oauth/token status=200",
        "method=GET path=/v1/keys status=200",
        "request_id=req_",
    ] {
        assert!(log.contains(expected), "{expected:?} not in {log}");
    }
    assert!(!log.contains(&server.admin_secret), "{log}");
    assert!(!log.contains("kw_at_"), "an access token in {log}");
    let request_lines: Vec<&str> = log.lines().filter(|l| l.contains("request")).collect();
    assert_eq!(request_lines.len(), 2, "{log}");
    assert!(
        request_lines.iter().all(|l| !l.contains("needle")),
        "the search text in {log}"
    );
}

#[test]
fn a_bulk_revoke_by_filter_reports_each_key_and_one_failure_stops_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut made = BTreeSet::new();
    for i in 0..500 {
        let (id, _) = server.create(
            &admin,
            json!({"name": format!("batch-{i}"), "environments": ["staging"], "permissions": ["reports:read"]}),
        );
        made.insert(id);
    }
    // One is revoked already, and one holds more than the operator below may touch.
    let already = made.iter().next().unwrap().clone();
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{already}/revoke"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    let (stronger, _) = server.create(
        &admin,
        json!({"name": "stronger", "environments": ["staging"], "permissions": ["reports:read", "orders:write"]}),
    );
    let (operator, operator_secret) = server.create(
        &admin,
        json!({"name": "operator", "environments": ["staging"], "permissions": ["keys:read", "keys:revoke", "reports:read"]}),
    );
    let cli = server.cli_as(&operator, &operator_secret);
    let filter = ["--permission", "reports:read"];
    let revoked_count = || {
        let all = cli.json(&[
            "keys",
            "list",
            "--all",
            "--permission",
            "reports:read",
            "--status",
            "revoked",
        ]);
        all["items"].as_array().unwrap().len()
    };

    // Without a terminal and without --yes: refused, nothing changed.
    let mut args = vec!["keys", "revoke"];
    args.extend_from_slice(&filter);
    cli.fails(&args, 2);
    // --dry-run lists the 500 keys not revoked yet and changes nothing.
    let mut dry = args.clone();
    dry.extend(["--dry-run", "--output", "json"]);
    let listed = cli.json(&dry);
    assert_eq!(listed["items"].as_array().unwrap().len(), 500);
    assert_eq!(revoked_count(), 1);

    let mut real = args.clone();
    real.extend(["--yes", "--output", "json"]);
    let out = cli.keyward().args(&real).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every listing has one JSON shape: items, and a null next_cursor.
    assert!(outcomes["next_cursor"].is_null());
    let outcomes = outcomes["items"].as_array().unwrap();
    assert_eq!(
        outcomes.len(),
        500,
        "every key's outcome is reported, and the revoked one left out"
    );
    assert!(outcomes.iter().all(|o| o["id"] != already.as_str()));
    let of = |id: &str| outcomes.iter().find(|o| o["id"] == id).unwrap().clone();
    assert_eq!(of(&stronger)["outcome"], "failed");
    assert!(
        of(&stronger)["error"]
            .as_str()
            .unwrap()
            .contains("orders:write")
    );
    let revoked = outcomes
        .iter()
        .filter(|o| o["outcome"] == "revoked")
        .count();
    assert_eq!(revoked, 499, "one failure stopped nothing");
    assert_eq!(revoked_count(), 500);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("499 revoked, 0 already revoked, 1 failed")
            && said.contains("left out 1 key revoked already"),
        "{said}"
    );
    // The operator's own key matched the filter too, and was left out, with a word.
    assert!(said.contains("leaving out operator"), "{said}");
    assert_eq!(server.token(&operator, &operator_secret).0, 200);
}

#[test]
fn several_keys_by_name_disable_together() {
    let env = TestEnv::new();
    for name in ["one", "two", "three"] {
        env.ok(&["keys", "create", "--name", name, "-q"]);
    }
    let out = env.ok(&["keys", "disable", "one", "two", "--yes"]);
    assert!(out.contains("disabled"), "{out}");
    assert_eq!(env.json(&["keys", "show", "one"])["status"], "disabled");
    assert_eq!(env.json(&["keys", "show", "two"])["status"], "disabled");
    assert_eq!(env.json(&["keys", "show", "three"])["status"], "active");
}

#[test]
fn keys_check_gives_each_key_its_reasons_with_their_times() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let soon = cli.json(&[
        "keys",
        "create",
        "--name",
        "soon",
        "--env",
        "staging",
        "--no-store",
        "--expires-in",
        "20h",
    ]);
    let check = |args: &[&str]| {
        let mut all = vec!["keys", "check"];
        all.extend_from_slice(args);
        let out = cli.keyward().args(&all).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(8),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Within a day: the table gives the time, not only the date.
    let table = check(&[]);
    let line = table
        .lines()
        .find(|l| l.contains("soon"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains("expires") && line.contains("(in 20 h)"),
        "{line}"
    );
    assert!(
        line.split_whitespace()
            .any(|w| w.len() == 5 && w.as_bytes()[2] == b':'),
        "an HH:MM time: {line}"
    );
    // JSON: each key with its reasons and their times.
    let listed: serde_json::Value = serde_json::from_str(&check(&["--output", "json"])).unwrap();
    let item = &listed["items"][0];
    assert_eq!(item["id"], soon["id"]);
    assert_eq!(
        item["reasons"],
        json!([{"reason": "expiring", "expires_at": soon["expires_at"]}])
    );

    // Two days on, a key made before them and never used is flagged as unused, and says so.
    let idle = cli.json(&[
        "keys",
        "create",
        "--name",
        "idle",
        "--env",
        "staging",
        "--no-store",
    ]);
    server.advance(SignedDuration::from_hours(48));
    let listed: serde_json::Value =
        serde_json::from_str(&check(&["--unused-for", "1d", "--output", "json"])).unwrap();
    let idle_item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == idle["id"])
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        idle_item["reasons"],
        json!([{"reason": "unused", "last_used_at": null, "created_at": idle["created_at"]}])
    );
    let table = check(&["--unused-for", "1d"]);
    assert!(table.contains("never used (made"), "{table}");
}
