//! The whole slice end to end, against a server and on the embedded store.

use serde_json::Value;

use crate::harness::{Server, TestEnv, assert_secret_format, store_args};

fn create(env: &TestEnv, name: &str, extra: &[&str]) -> Value {
    let mut args = vec!["keys", "create", "--name", name, "--no-store"];
    args.extend_from_slice(extra);
    env.json(&args)
}

#[test]
fn server_flow_login_create_list_show_revoke() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");

    // Log in with the dev super-admin key; the secret arrives on stdin, never in argv.
    env.login_as_admin(&server);
    let whoami = env.json(&["whoami"]);
    assert_eq!(whoami["key_id"], server.admin_id.as_str());
    assert_eq!(whoami["url"], server.url.as_str());

    // Create: the secret has the documented format and checksum.
    let created = create(
        &env,
        "ci-deploy",
        &["--env", "staging", "--permission", "orders:read"],
    );
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_secret_format(&secret, "kw_sk_");
    assert_eq!(created["environments"], serde_json::json!(["staging"]));
    assert_eq!(created["permissions"], serde_json::json!(["orders:read"]));
    assert_eq!(created["status"], "active");

    // List shows it, without the secret.
    let listed = env.ok(&["keys", "list", "--output", "json"]);
    assert!(listed.contains(&id));
    assert!(!listed.contains(&secret));
    let table = env.ok(&["keys", "list"]);
    assert!(table.contains("ci-deploy"));
    assert!(!table.contains(&secret));

    // Show by name and by id.
    let by_name = env.json(&["keys", "show", "ci-deploy"]);
    assert_eq!(by_name["id"], id.as_str());
    let by_id = env.json(&["keys", "show", &id]);
    assert_eq!(by_id["name"], "ci-deploy");
    assert!(by_id.get("secret").is_none());

    // The key works until revoked: it gets a token and the token works.
    let (status, token) = server.token(&id, &secret);
    assert_eq!(status, 200);
    let token = token.unwrap();
    assert_eq!(server.get_with_token("/v1/whoami", &token).status, 200);

    // Revoke; then neither the secret nor the earlier token works.
    let revoked = env.json(&["keys", "revoke", "ci-deploy", "--yes"]);
    assert_eq!(revoked["status"], "revoked");
    // (The revoked key's own secret is told so: 400 key_revoked.)
    assert_eq!(server.token(&id, &secret).0, 400);
    assert_eq!(server.get_with_token("/v1/whoami", &token).status, 401);
    // The CLI, given that secret, is refused too: exit 3.
    let mut as_revoked = TestEnv::new();
    as_revoked
        .set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &id)
        .set("KEYWARD_CLIENT_SECRET", &secret);
    as_revoked.fails(&["whoami"], 3);

    // The tombstone stays listable; revoking again is idempotent.
    let again = env.json(&["keys", "revoke", &id, "--yes"]);
    assert_eq!(again["status"], "revoked");
    let tombstones = env.json(&["keys", "list", "--status", "revoked"]);
    assert_eq!(tombstones["items"][0]["id"], id.as_str());

    // Logout forgets the profile.
    env.ok(&["logout"]);
    env.unset("KEYWARD_URL");
    let config = std::fs::read_to_string(env.config_dir().join("config.toml")).unwrap();
    assert!(!config.contains(&server.admin_id));
}

#[test]
fn embedded_store_flow_create_list_show_revoke() {
    let env = TestEnv::new();
    // No profile, no URL: the embedded store.
    let whoami = env.json(&["whoami"]);
    assert_eq!(whoami["principal"], "local:tester");
    assert!(whoami["store"].as_str().unwrap().contains("local store"));

    let created = create(&env, "first", &[]);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_secret_format(&secret, "kw_sk_");
    assert_eq!(created["environments"], serde_json::json!(["default"]));
    assert_eq!(created["created_by"], "local:tester");

    let listed = env.json(&["keys", "list"]);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret));
    assert_eq!(env.json(&["keys", "show", "first"])["id"], id.as_str());

    // The embedded store is the server's own implementation: a server opened on the same file
    // and pepper accepts the key's secret, and refuses it once the CLI has revoked the key.
    // The local store is SQLite whatever the backend under test.
    let db = env.data_dir().join("local.db");
    let pepper = env.data_dir().join("pepper");
    let store = store_args(&format!("sqlite:{}", db.display()), &pepper);
    let server = Server::start(&env, &store.iter().map(String::as_str).collect::<Vec<_>>());
    let (status, token) = server.token(&id, &secret);
    assert_eq!(status, 200);
    let token = token.unwrap();
    assert_eq!(server.get_with_token("/v1/whoami", &token).status, 200);

    let stderr = {
        let out = env
            .keyward()
            .args(["keys", "revoke", "first", "--yes"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    // Human output says where the change happened.
    assert!(
        stderr.contains(&format!("in the local store at {}", db.display())),
        "{stderr}"
    );
    assert_eq!(env.json(&["keys", "show", &id])["status"], "revoked");
    assert_eq!(server.token(&id, &secret).0, 400, "key_revoked");
    // The server had the token cached; it reads the change the CLI wrote to the shared file
    // within its poll, well inside the documented second.
    let revoked = std::time::Instant::now();
    while server.get_with_token("/v1/whoami", &token).status != 401 {
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(1),
            "the server still accepts the revoked key's token a second later"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn bootstrap_mints_the_first_super_admin_once() {
    let env = TestEnv::new();
    let db = env.database("prod.db");
    let pepper = env.dir.path().join("secrets").join("pepper");
    let mut args = vec!["server", "--bootstrap", "--output", "json"];
    let store_owned = store_args(&db, &pepper);
    args.extend(store_owned.iter().map(String::as_str));
    let first: Value = serde_json::from_str(&env.ok(&args)).unwrap();
    assert_secret_format(first["secret"].as_str().unwrap(), "kw_sk_");
    assert_eq!(first["permissions"], serde_json::json!(["admin"]));
    // The pepper was created private, outside the database.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pepper).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second bootstrap is a conflict: exit 5, nothing minted.
    let err = env.fails(&args, 5);
    assert!(err.contains("already holds keys"), "{err}");

    // The minted key logs in to a server on that database.
    let store = store_args(&db, &pepper);
    let server = Server::start(&env, &store.iter().map(String::as_str).collect::<Vec<_>>());
    let (status, _) = server.token(
        first["id"].as_str().unwrap(),
        first["secret"].as_str().unwrap(),
    );
    assert_eq!(status, 200);
}

#[test]
fn the_server_config_file_supplies_the_catalog() {
    let env = TestEnv::new();
    let config = env.dir.path().join("server.toml");
    std::fs::write(
        &config,
        r#"
max_key_lifetime_days = 90

[[permissions]]
name = "invoices:read"
description = "Read invoices"
public_safe = true

[[permissions]]
name = "invoices:void"
description = "Void invoices"
"#,
    )
    .unwrap();
    let db = env.database("cfg.db");
    let pepper = env.dir.path().join("cfg.pepper");
    let config_path = config.display().to_string();
    let store = store_args(&db, &pepper);
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--config", config_path.as_str()]);
    let mut boot = vec!["server", "--bootstrap", "--output", "json"];
    boot.extend_from_slice(&args);
    let first: Value = serde_json::from_str(&env.ok(&boot)).unwrap();
    let server = Server::start(&env, &args);
    let mut cli = TestEnv::new();
    cli.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", first["id"].as_str().unwrap())
        .set("KEYWARD_CLIENT_SECRET", first["secret"].as_str().unwrap());
    let perms = cli.json(&["permissions", "list"]);
    let names: Vec<&str> = perms["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"invoices:read") && names.contains(&"invoices:void"));
    assert!(names.contains(&"keys:read"));
    // A public key may hold the public-safe one, not the other, and never a built-in.
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "pub",
        "--type",
        "public",
        "--permission",
        "invoices:read",
        "-q",
    ]);
    cli.fails(
        &[
            "keys",
            "create",
            "--name",
            "pub2",
            "--type",
            "public",
            "--permission",
            "invoices:void",
        ],
        2,
    );
    cli.fails(
        &[
            "keys",
            "create",
            "--name",
            "pub3",
            "--type",
            "public",
            "--permission",
            "keys:read",
        ],
        2,
    );
    // The configured maximum applies.
    let err = cli.fails(
        &["keys", "create", "--name", "long", "--expires-in", "100d"],
        2,
    );
    assert!(err.contains("90 days"), "{err}");
}

#[test]
fn envs_create_then_use() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    let created = env.json(&["envs", "create", "qa", "--description", "Quality assurance"]);
    assert_eq!(created["name"], "qa");
    env.fails(&["envs", "create", "qa"], 5);
    env.fails(&["envs", "create", "Not Valid"], 2);
    let names = env.ok(&["envs", "list", "-q"]);
    assert!(names.lines().any(|l| l == "qa"), "{names}");
    let key = env.json(&[
        "keys",
        "create",
        "--name",
        "tester",
        "--env",
        "qa",
        "--no-store",
    ]);
    assert_eq!(key["environments"], serde_json::json!(["qa"]));
}

#[test]
fn rotating_the_logged_in_key_keeps_the_login_working() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    let new = env.ok(&["keys", "rotate", &server.admin_id, "-q", "--no-store"]);
    crate::harness::assert_secret_format(new.trim(), "kw_sk_");
    // The old secret is dead at once (no grace), yet the profile still works.
    assert_eq!(server.token(&server.admin_id, &server.admin_secret).0, 401);
    assert_eq!(env.json(&["whoami"])["key_id"], server.admin_id.as_str());
}

#[test]
fn sigterm_shuts_down_gracefully_and_writes_last_used() {
    let env = TestEnv::new();
    let db = env.database("term.db");
    let pepper = env.dir.path().join("term.pepper");
    // The periodic flush comes once an hour here, so only the shutdown can write this use.
    let config = env.dir.path().join("term.toml");
    std::fs::write(&config, "last_used_flush_secs = 3600\n").unwrap();
    let config = config.display().to_string();
    let store = store_args(&db, &pepper);
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--config", config.as_str()]);
    let mut boot = vec!["server", "--bootstrap", "--output", "json"];
    boot.extend_from_slice(&args);
    let first: Value = serde_json::from_str(&env.ok(&boot)).unwrap();
    let (id, secret) = (
        first["id"].as_str().unwrap(),
        first["secret"].as_str().unwrap(),
    );

    let mut server = Server::start(&env, &args);
    assert_eq!(server.token(id, secret).0, 200);
    assert_eq!(server.terminate(), Some(0), "{}", server.log_text());
    assert!(server.log_text().contains("shut down"));

    let server = Server::start(&env, &args);
    let (_, token) = server.token(id, secret);
    let key: Value = serde_json::from_slice(
        &server
            .get_with_token(&format!("/v1/keys/{id}"), &token.unwrap())
            .body,
    )
    .unwrap();
    assert_eq!(key["last_used_ip"], "127.0.0.1");
    assert!(key["last_used_at"].is_string(), "{key}");
}

#[test]
fn profiles_pick_the_target_and_local_overrides_them() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    for profile in ["blue", "green"] {
        let out = env
            .keyward()
            .args([
                "login",
                "--profile",
                profile,
                "--url",
                &server.url,
                "--client-id",
                &server.admin_id,
            ])
            .write_stdin(format!("{}\n", server.admin_secret))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = env.json(&["profiles", "list"]);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["blue", "green", "local"]);
    // Nothing picked yet, and no default profile: the local store is in use.
    assert_eq!(env.json(&["profiles", "show"])["name"], "local");

    env.ok(&["profiles", "use", "green"]);
    let shown = env.json(&["profiles", "show"]);
    assert_eq!(shown["name"], "green");
    assert_eq!(shown["url"], server.url.as_str());
    assert_eq!(env.json(&["whoami"])["profile"], "green");
    // A key made now lands on the server, and --local (or KEYWARD_LOCAL) overrides the profile.
    env.ok(&[
        "keys",
        "create",
        "--name",
        "on-server",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    env.fails(&["--local", "keys", "show", "on-server"], 4);
    let out = env
        .keyward()
        .env("KEYWARD_LOCAL", "1")
        .args(["whoami", "--output", "json"])
        .output()
        .unwrap();
    let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        me["store"].as_str().unwrap().starts_with("local store"),
        "{me}"
    );

    env.fails(&["profiles", "use", "purple"], 2);
    // Logging out of the profile in use says where later commands go.
    let out = env.keyward().args(["logout"]).output().unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Later commands use the embedded local store"),
        "{said}"
    );
    env.ok(&["profiles", "use", "blue"]);
    assert_eq!(env.json(&["whoami"])["profile"], "blue");
    env.ok(&["profiles", "use", "local"]);
    assert_eq!(env.json(&["profiles", "show"])["name"], "local");
}
