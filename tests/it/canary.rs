//! A canary secret: it must appear in exactly one response (the create that minted it) and
//! nowhere else: not the SQLite files, not the server's trace log, not any other response, not
//! config.toml.

use crate::harness::{Server, TestEnv, all_bytes_under, contains, http};

#[test]
fn a_created_secret_appears_in_exactly_one_response() {
    let mut env = TestEnv::new();
    let db_dir = env.dir.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let database = match crate::BACKEND {
        crate::harness::Backend::Sqlite => {
            format!("sqlite:{}", db_dir.join("keyward.db").display())
        }
        crate::harness::Backend::Postgres => env.database("canary"),
    };
    let server = Server::dev(&env, Some(&database), "trace");

    // Log in so that config.toml exists and the CLI's own state is in play.
    env.login_as_admin(&server);
    env.set("KEYWARD_LOG", "trace");

    let mut responses: Vec<(String, Vec<u8>)> = Vec::new();
    let mut run = |env: &TestEnv, args: &[&str]| {
        let out = env.keyward().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        responses.push((format!("{args:?} stdout"), out.stdout.clone()));
        responses.push((format!("{args:?} stderr"), out.stderr));
        out.stdout
    };
    let created = run(
        &env,
        &[
            "keys",
            "create",
            "--name",
            "canary",
            "--env",
            "production",
            "--output",
            "json",
            "--no-store",
            "-vvv",
        ],
    );
    let created: serde_json::Value = serde_json::from_slice(&created).unwrap();
    // Rotation mints a second secret that must be as discreet as the first.
    let rotated = run(
        &env,
        &[
            "keys",
            "rotate",
            "canary",
            "--grace",
            "1h",
            "--output",
            "json",
            "--no-store",
            "-vvv",
        ],
    );
    let rotated: serde_json::Value = serde_json::from_slice(&rotated).unwrap();
    let rotated_secret = rotated["secret"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    for args in [
        vec!["keys", "list", "--output", "json"],
        vec!["keys", "list"],
        vec!["keys", "show", "canary", "--output", "json"],
        vec!["keys", "show", "canary"],
        vec!["whoami", "--output", "json"],
        vec!["envs", "list"],
        vec!["permissions", "list"],
        vec!["keys", "revoke", "canary", "--yes", "--output", "json"],
        vec!["keys", "list", "--search", "canary"],
    ] {
        run(&env, &args);
    }
    // Raw responses of the API around the key, including the token endpoint refusing it.
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let token = token.unwrap();
    for path in [format!("/v1/keys/{id}"), "/v1/keys".to_owned()] {
        let r = server.get_with_token(&path, &token);
        responses.push((path, r.body));
    }
    let refused = http(
        server.authority(),
        "POST",
        "/v1/oauth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("grant_type=client_credentials&client_id={id}&client_secret={secret}").as_bytes(),
    );
    // The first secret, rotated out but within its grace when the key was revoked: told the
    // key is revoked (without the secret).
    assert_eq!(refused.status, 400);
    responses.push(("refused token exchange".into(), refused.body));
    // A secret pasted into the client id field is not written to the audit log either.
    for pasted in [&secret, &rotated_secret] {
        let r = http(
            server.authority(),
            "POST",
            "/v1/oauth/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("grant_type=client_credentials&client_id={pasted}&client_secret=x").as_bytes(),
        );
        assert_eq!(r.status, 401);
    }
    // The audit log itself, row by row (there is no API to read it yet): every event of the
    // key's life is there, and no column of any row holds either secret.
    let rows = crate::harness::audit_rows(&database);
    for action in ["key.create", "key.rotate", "key.revoke", "token.exchange"] {
        assert!(
            rows.iter().any(|r| r.action == action),
            "no {action} in {rows:?}"
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.action == "token.exchange" && r.outcome == "failure"),
        "the refused exchanges are audited: {rows:?}"
    );
    responses.push(("the audit log".into(), format!("{rows:?}").into_bytes()));

    for (secret, minted_by) in [(&secret, "create"), (&rotated_secret, "rotate")] {
        assert_discreet(&env, &server, &database, &responses, secret, minted_by);
    }
}

/// The secret is in exactly one response (the one that minted it) and nowhere else.
fn assert_discreet(
    env: &TestEnv,
    server: &Server,
    database: &str,
    responses: &[(String, Vec<u8>)],
    secret: &str,
    minted_by: &str,
) {
    let carrying: Vec<&String> = responses
        .iter()
        .filter(|(_, bytes)| contains(bytes, secret))
        .map(|(what, _)| what)
        .collect();
    assert_eq!(carrying.len(), 1, "the secret appeared in: {carrying:?}");
    assert!(carrying[0].contains(minted_by), "{carrying:?}");
    // Not in the database files (SQLite's file, its WAL and shared memory; PostgreSQL's whole
    // cluster, pages and WAL, after a checkpoint).
    let db_dir = crate::harness::database_files(database);
    let db_files = all_bytes_under(&db_dir);
    assert!(db_files.len() >= 2, "expected the database and its WAL");
    for (path, bytes) in &db_files {
        assert!(
            !contains(bytes, secret),
            "secret found in {}",
            path.display()
        );
        // Nor the part after the prefix, in case of some re-encoding.
        assert!(
            !contains(bytes, &secret[6..]),
            "secret body found in {}",
            path.display()
        );
    }
    // Not in the server's log at trace level, which did log the requests.
    let log = server.log_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is at trace level"
    );
    assert!(log.contains("/v1/keys"), "the log recorded the requests");
    assert!(
        !log.contains(&secret[6..]),
        "secret found in the server log"
    );
    // Not in config.toml or anything else under the config and data directories.
    for (path, bytes) in all_bytes_under(env.dir.path()) {
        if path.starts_with(&db_dir) || path == server.log {
            continue;
        }
        assert!(
            !contains(&bytes, &secret[6..]),
            "secret found in {}",
            path.display()
        );
    }
}
