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
