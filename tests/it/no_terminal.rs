//! Without a terminal nothing waits for input: a missing value is a usage error naming the
//! flag, and a destructive command without --yes refuses.

use crate::harness::TestEnv;

#[test]
fn create_without_name_exits_2_naming_the_flag() {
    let env = TestEnv::new();
    let err = env.fails(&["keys", "create"], 2);
    assert!(err.contains("--name"), "{err}");
    // Nothing was created.
    assert_eq!(env.json(&["keys", "list"])["items"], serde_json::json!([]));
}

#[test]
fn create_with_ci_set_never_prompts() {
    let mut env = TestEnv::new();
    env.set("CI", "true");
    let err = env.fails(&["keys", "create"], 2);
    assert!(err.contains("--name"), "{err}");
}

#[test]
fn revoke_without_yes_refuses_with_exit_2_and_changes_nothing() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "keepme", "--no-store", "-q"]);
    let err = env.fails(&["keys", "revoke", "keepme"], 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(env.json(&["keys", "show", "keepme"])["status"], "active");
}

#[test]
fn login_without_client_id_exits_2_naming_the_flag() {
    let env = TestEnv::new();
    let err = env.fails(&["login", "--url", "http://127.0.0.1:9"], 2);
    assert!(err.contains("--client-id"), "{err}");
}

#[test]
fn create_without_a_terminal_never_stores_unless_told() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "unstored", "-q"]);
    let listed = env.ok(&["secrets", "list", "-q"]);
    assert_eq!(listed.trim(), "");
}

#[test]
fn the_first_key_command_works_however_many_environments_the_local_store_has() {
    let env = TestEnv::new();
    env.ok(&["envs", "create", "qa"]);
    env.ok(&["envs", "create", "prod"]);
    let key = env.json(&["keys", "create", "--name", "first", "--no-store"]);
    assert_eq!(key["environments"], serde_json::json!(["default"]));
    let key = env.json(&[
        "keys",
        "create",
        "--name",
        "second",
        "--env",
        "qa",
        "--no-store",
    ]);
    assert_eq!(key["environments"], serde_json::json!(["qa"]));
}

#[test]
fn the_local_store_reads_a_catalog_like_a_server() {
    let env = TestEnv::new();
    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--permission",
            "orders:read",
        ],
        2,
    );
    assert!(
        err.contains("orders:read") && err.contains("catalog"),
        "{err}"
    );
    env.ok(&[
        "permissions",
        "add",
        "orders:read",
        "--description",
        "Read orders",
        "--public-safe",
    ]);
    env.ok(&["permissions", "add", "orders:write"]);
    let listed = env.json(&["permissions", "list"]);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"orders:read") && names.contains(&"keys:read"),
        "{names:?}"
    );
    env.ok(&[
        "keys",
        "create",
        "--name",
        "x",
        "--permission",
        "orders:read",
        "-q",
    ]);
    // The same rules as a server's catalog: public keys only public-safe, names checked, once.
    env.fails(
        &[
            "keys",
            "create",
            "--name",
            "p",
            "--type",
            "public",
            "--permission",
            "orders:write",
        ],
        2,
    );
    env.fails(&["permissions", "add", "orders:read"], 2);
    env.fails(&["permissions", "add", "Not A Name"], 2);
    env.fails(&["permissions", "add", "keys:read"], 2);
}

#[test]
fn no_command_waits_for_input_without_a_terminal() {
    let mut env = TestEnv::new();
    env.set("CI", "true");
    env.ok(&["keys", "create", "--name", "present", "-q"]);
    // (arguments, what the usage error must name)
    let prompting: [(&[&str], &str); 17] = [
        (&["login"], "--url"),
        (&["login", "--url", "http://127.0.0.1:9"], "--client-id"),
        (
            &[
                "login",
                "--url",
                "http://127.0.0.1:9",
                "--client-id",
                "key_0000000000000000",
            ],
            "KEYWARD_CLIENT_SECRET",
        ),
        (&["keys", "create"], "--name"),
        (&["keys", "show"], "KEY"),
        (&["keys", "edit"], "--description"),
        (&["keys", "edit", "present"], "--description"),
        (&["keys", "disable"], "KEY"),
        (&["keys", "enable"], "KEY"),
        (&["keys", "rotate"], "KEY"),
        (&["keys", "revoke"], "--yes"),
        (&["keys", "revoke", "present"], "--yes"),
        (&["keys", "revoke", "--status", "active"], "--yes"),
        // A name that matches no key is said, and the rest still needs --yes.
        (&["keys", "disable", "present", "other"], "--yes"),
        (&["keys", "verify"], "standard input"),
        (&["envs", "create"], "<NAME>"),
        (&["secrets", "get"], "<KEY>"),
    ];
    for (args, names) in prompting {
        let out = env
            .keyward()
            .args(args)
            .write_stdin("")
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?} should name {names}: {stderr}"
        );
    }
    // The rest need no input at all and simply run.
    for args in [
        &["whoami"][..],
        &["keys", "list"][..],
        &["keys", "check"][..],
        &["envs", "list"][..],
        &["permissions", "list"][..],
        &["secrets", "list"][..],
        &["profiles", "list"][..],
        &["profiles", "show"][..],
        &["logout"][..],
    ] {
        env.ok(args);
    }
    // Nothing was changed by any of it.
    assert_eq!(env.json(&["keys", "show", "present"])["status"], "active");
}

/// A key that may disable and revoke keys in `staging`, made by the dev super admin; the env
/// to run as it (credentials in the environment) and its id.
fn operator(server: &crate::harness::Server, admin: &TestEnv, name: &str) -> (TestEnv, String) {
    let secret = admin
        .ok(&[
            "keys",
            "create",
            "--name",
            name,
            "--env",
            "staging",
            "--permission",
            "keys:read",
            "--permission",
            "keys:write",
            "--permission",
            "keys:revoke",
            "--no-store",
            "-q",
        ])
        .trim()
        .to_owned();
    let id = admin.json(&["keys", "show", name])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut env = TestEnv::new();
    env.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &id)
        .set("KEYWARD_CLIENT_SECRET", &secret);
    (env, id)
}

#[test]
fn the_login_key_is_disabled_or_revoked_without_a_terminal_only_with_force() {
    let mut admin = TestEnv::new();
    let server = crate::harness::Server::dev(&admin, None, "info");
    server.as_admin(&mut admin);
    let (me, _) = operator(&server, &admin, "operator");
    admin.ok(&[
        "keys",
        "create",
        "--name",
        "bystander",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let status = |name: &str| admin.json(&["keys", "show", name])["status"].clone();

    // --yes answers the usual question, not this one: the profile would cut itself off.
    for args in [
        &["keys", "disable", "operator"][..],
        &["keys", "disable", "operator", "--yes"][..],
        &["keys", "revoke", "operator", "--yes"][..],
        &["keys", "revoke", "bystander", "operator", "--yes"][..],
        &["keys", "disable", "operator", "bystander", "--yes"][..],
    ] {
        let err = me.fails(args, 2);
        assert!(err.contains("--force"), "{args:?}: {err}");
        assert!(err.contains("logged in with"), "{args:?}: {err}");
        assert_eq!(status("operator"), "active", "{args:?}");
        assert_eq!(status("bystander"), "active", "{args:?}");
    }
    // Other keys need only what they needed before.
    me.ok(&["keys", "disable", "bystander"]);
    admin.ok(&["keys", "enable", "bystander"]);

    me.ok(&["keys", "disable", "operator", "--force"]);
    assert_eq!(status("operator"), "disabled");
    admin.ok(&["keys", "enable", "operator"]);
    me.ok(&["keys", "revoke", "operator", "bystander", "--force"]);
    assert_eq!(status("operator"), "revoked");
    assert_eq!(status("bystander"), "revoked");
}
