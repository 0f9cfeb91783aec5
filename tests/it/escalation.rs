//! Nobody gains power through a key that holds more than they do, nor locks out someone who
//! holds more: edit, disable, enable, rotate and revoke act only on keys whose permissions and
//! environments are within the caller's. And the break-glass path for an operator who has lost
//! every super-admin key.

use serde_json::{Value, json};

use crate::harness::{Server, TestEnv, audit_rows, find_secret, store_args};
use crate::live::{LiveServer, json};

/// The caller: a staff key in staging that may read, write and revoke, and holds orders:read.
const CALLER_PERMISSIONS: [&str; 4] = ["keys:read", "keys:write", "keys:revoke", "orders:read"];

/// Keys stronger than the caller, and the answer every lifecycle action on them must get.
/// A key reaching environments beyond the caller's is not even visible to it: 404, the same
/// answer as a key that does not exist.
fn stronger() -> Vec<(&'static str, Value, u16)> {
    vec![
        (
            "more-permissions",
            json!({"environments": ["staging"], "permissions": ["orders:read", "orders:write"]}),
            403,
        ),
        (
            "a-built-in",
            json!({"environments": ["staging"], "permissions": ["keys:verify"]}),
            403,
        ),
        (
            "holds-admin",
            json!({"environments": ["staging"], "permissions": ["admin"]}),
            403,
        ),
        (
            "more-environments",
            json!({"environments": ["staging", "production"], "permissions": ["orders:read"]}),
            404,
        ),
    ]
}

/// (action, method, path suffix, body, needs the key disabled first)
fn actions() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Option<Value>,
    bool,
)> {
    vec![
        (
            "edit",
            "PATCH",
            "",
            Some(json!({"description": "mine now"})),
            false,
        ),
        ("disable", "POST", "/disable", None, false),
        ("enable", "POST", "/enable", Some(json!({})), true),
        ("rotate", "POST", "/rotate", Some(json!({})), false),
        ("revoke", "POST", "/revoke", None, false),
    ]
}

fn create_named(server: &LiveServer, admin: &str, name: &str, shape: &Value) -> (String, String) {
    let mut body = shape.clone();
    body["name"] = json!(name);
    server.create(admin, body)
}

#[test]
fn every_lifecycle_action_on_a_stronger_key_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (caller_id, caller_secret) = server.create(
        &admin,
        json!({"name": "operator", "environments": ["staging"], "permissions": CALLER_PERMISSIONS}),
    );
    let token = server.token(&caller_id, &caller_secret).1.unwrap();

    let mut targets = stronger();
    // The control: a key within the caller's power, on which every action works.
    targets.push((
        "peer",
        json!({"environments": ["staging"], "permissions": ["orders:read"]}),
        200,
    ));
    for (kind, shape, expected) in &targets {
        for (action, method, suffix, body, disabled_first) in actions() {
            let name = format!("{kind}-{action}");
            let (id, secret) = create_named(&server, &admin, &name, shape);
            if disabled_first {
                let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]);
                assert_eq!(r.status, 200);
            }
            let before = json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]));
            let version = before["version"].to_string();
            let if_match = format!("\"{version}\"");
            let headers: Vec<(&str, &str)> = if method == "PATCH" {
                vec![("If-Match", if_match.as_str())]
            } else {
                vec![]
            };
            let r = server.call(
                &token,
                method,
                &format!("/v1/keys/{id}{suffix}"),
                body.as_ref(),
                &headers,
            );
            let text = String::from_utf8_lossy(&r.body).into_owned();
            assert_eq!(r.status, *expected, "{action} on a key with {kind}: {text}");
            assert!(
                !text.contains("kw_sk_") || *expected == 200,
                "{action} on {kind} handed out a secret: {text}"
            );
            let after = json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]));
            if *expected == 200 {
                assert_ne!(after["version"], before["version"], "{action} on {kind}");
                continue;
            }
            assert_eq!(after, before, "{action} on a key with {kind} changed it");
            if !disabled_first {
                // The key's own secret still works: it was neither rotated, disabled nor revoked.
                assert_eq!(server.token(&id, &secret).0, 200, "{action} on {kind}");
            }
        }
    }
}

#[test]
fn rotating_an_admin_key_cannot_mint_a_super_admin_token() {
    // The escalation the review found: keys:write in an environment, an admin key in the same
    // environment, rotate, exchange the new secret for a super-admin token.
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (caller_id, caller_secret) = server.create(
        &admin,
        json!({"name": "writer", "environments": ["staging"], "permissions": ["keys:read", "keys:write"]}),
    );
    let (boss_id, boss_secret) = server.create(
        &admin,
        json!({"name": "boss", "environments": ["staging"], "permissions": ["admin"]}),
    );
    let token = server.token(&caller_id, &caller_secret).1.unwrap();
    let r = server.call(
        &token,
        "POST",
        &format!("/v1/keys/{boss_id}/rotate"),
        Some(&json!({"grace_seconds": 0})),
        &[],
    );
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["code"], "forbidden");
    assert!(json(&r).get("secret").is_none());
    // The boss's secret is still the boss's, and still works.
    assert_eq!(server.token(&boss_id, &boss_secret).0, 200);
    // Nor can the writer lock the boss out.
    let r = server.call(
        &token,
        "POST",
        &format!("/v1/keys/{boss_id}/disable"),
        None,
        &[],
    );
    assert_eq!(r.status, 403);
    assert_eq!(server.token(&boss_id, &boss_secret).0, 200);
}

#[test]
fn the_cli_says_not_allowed_for_a_stronger_key() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (caller_id, caller_secret) = server.create(
        &admin,
        json!({"name": "operator", "environments": ["staging"], "permissions": CALLER_PERMISSIONS}),
    );
    let cli = server.cli_as(&caller_id, &caller_secret);
    for (kind, shape, expected) in stronger() {
        let (id, secret) = create_named(&server, &admin, kind, &shape);
        let disabled = format!("{kind}-off");
        let (off_id, _) = create_named(&server, &admin, &disabled, &shape);
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{off_id}/disable"),
            None,
            &[],
        );
        assert_eq!(r.status, 200);
        let code = if expected == 403 { 3 } else { 4 };
        for args in [
            vec!["keys", "edit", id.as_str(), "--description", "mine now"],
            vec!["keys", "disable", id.as_str(), "--yes"],
            vec!["keys", "enable", off_id.as_str()],
            vec!["keys", "rotate", id.as_str(), "--no-store"],
            vec!["keys", "revoke", id.as_str(), "--yes"],
        ] {
            let out = cli.keyward().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?} on {kind}: {stderr}"
            );
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains("kw_sk_"),
                "{args:?} on {kind} printed a secret"
            );
            if code == 3 {
                assert!(stderr.contains("your key does not"), "{stderr}");
            }
        }
        assert_eq!(server.token(&id, &secret).0, 200, "{kind} still works");
    }
}

#[test]
fn break_glass_mints_a_super_admin_when_every_one_is_lost() {
    let env = TestEnv::new();
    let db = env.database("glass.db");
    let pepper = env.dir.path().join("glass.pepper");
    let store = store_args(&db, &pepper);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let first = env.ok(&[&["server"], &store[..], &["--bootstrap"]].concat());
    let first_id = first
        .lines()
        .find_map(|l| l.trim().strip_prefix("client id: "))
        .unwrap()
        .to_owned();
    let first_secret = find_secret(&first);

    // The only super admin cannot revoke itself (no lockout), and the refusal names the way
    // back. Its secret is then lost (never written down): bootstrap refuses a database that
    // holds keys.
    let server = Server::start(&env, &store);
    let (status, token) = server.token(&first_id, &first_secret);
    assert_eq!(status, 200);
    let r = crate::harness::http(
        server.authority(),
        "POST",
        &format!("/v1/keys/{first_id}/revoke"),
        &[("Authorization", &format!("Bearer {}", token.unwrap()))],
        b"",
    );
    assert_eq!(r.status, 409);
    let problem: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(problem["code"], "last_super_admin");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("keyward server --break-glass")
    );
    env.fails(&[&["server"], &store[..], &["--bootstrap"]].concat(), 5);

    // Without the database's own pepper, break glass refuses and mints nothing.
    let wrong = env.dir.path().join("wrong.pepper");
    std::fs::write(&wrong, keyward::secret::random_base62(40)).unwrap();
    let wrong_store = store_args(&db, &wrong);
    let wrong_store: Vec<&str> = wrong_store.iter().map(String::as_str).collect();
    let err = env.fails(
        &[&["server"], &wrong_store[..], &["--break-glass"]].concat(),
        1,
    );
    assert!(err.contains("pepper"), "{err}");

    // With it, a new super admin, printed once, that works at once on the running server.
    let out = env
        .keyward()
        .args([&["server"], &store[..], &["--break-glass"]].concat())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let new_id = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("client id: "))
        .unwrap()
        .to_owned();
    let new_secret = find_secret(&printed);
    let (status, token) = server.token(&new_id, &new_secret);
    assert_eq!(status, 200);
    let token = token.unwrap();
    let me = server.get_with_token("/v1/whoami", &token);
    let me: Value = serde_json::from_slice(&me.body).unwrap();
    assert_eq!(me["permissions"], json!(["admin"]));
    // Now the lost one may go.
    let r = crate::harness::http(
        server.authority(),
        "POST",
        &format!("/v1/keys/{first_id}/revoke"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(server.token(&first_id, &first_secret).0, 400, "key_revoked");

    // Audited, by the operator's OS user, and never with the secret.
    let rows = audit_rows(&db);
    let glass: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "key.break_glass")
        .collect();
    assert_eq!(glass.len(), 1, "{rows:?}");
    assert_eq!(glass[0].actor, "local:tester");
    assert_eq!(glass[0].key_id.as_deref(), Some(new_id.as_str()));
    for (path, bytes) in crate::harness::all_bytes_under(&crate::harness::database_files(&db)) {
        assert!(
            !crate::harness::contains(&bytes, &new_secret[6..]),
            "the secret is in {}",
            path.display()
        );
    }
}
