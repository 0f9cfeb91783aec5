//! Editing keys: flags, `$EDITOR`, and two edits from the same version.

use std::process::Stdio;

use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, json};

#[test]
fn two_edits_from_the_same_version_one_wins_one_gets_412() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "shared",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);

    // Both based on version 1, started together.
    let spawn = |description: &str| {
        std::process::Command::new(crate::harness::BIN)
            .args([
                "keys",
                "edit",
                "shared",
                "--if-version",
                "1",
                "--description",
                description,
            ])
            .env_clear()
            .envs(cli.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("from alice");
    let b = spawn("from bob");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    assert_eq!(codes, [0, 5], "exactly one succeeds");
    let loser = if a.status.code() == Some(5) { &a } else { &b };
    let winner_text = if a.status.code() == Some(0) {
        "from alice"
    } else {
        "from bob"
    };
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(err.contains("someone else changed key shared"), "{err}");
    assert!(
        err.contains("description"),
        "the CLI shows what changed: {err}"
    );
    assert!(err.contains(winner_text), "{err}");

    let shown = cli.json(&["keys", "show", "shared"]);
    assert_eq!(shown["description"], winner_text);
    assert_eq!(shown["version"], 2);
}

#[test]
fn a_patch_without_if_match_or_with_a_stale_version_changes_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, _) = server.create(
        &admin,
        json!({"name": "locked", "environments": ["staging"]}),
    );
    let path = format!("/v1/keys/{id}");
    let body = json!({"description": "new"});
    let r = server.call(&admin, "PATCH", &path, Some(&body), &[]);
    assert_eq!(r.status, 428);
    let r = server.call(
        &admin,
        "PATCH",
        &path,
        Some(&body),
        &[("If-Match", "\"7\"")],
    );
    assert_eq!(r.status, 412);
    assert_eq!(json(&r)["code"], "version_mismatch");
    let r = server.call(&admin, "GET", &path, None, &[]);
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(json(&r)["description"], "");
    let r = server.call(
        &admin,
        "PATCH",
        &path,
        Some(&body),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"2\""));
}

#[test]
fn edit_with_flags_changes_every_editable_field() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "before",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let edited = cli.json(&[
        "keys",
        "edit",
        "before",
        "--name",
        "after",
        "--description",
        "edited",
        "--env",
        "production",
        "--env",
        "staging",
        "--permission",
        "orders:read",
        "--allow-ip",
        "203.0.113.9",
        "--expires-in",
        "30d",
    ]);
    assert_eq!(edited["name"], "after");
    assert_eq!(edited["description"], "edited");
    assert_eq!(edited["environments"], json!(["production", "staging"]));
    assert_eq!(edited["permissions"], json!(["orders:read"]));
    assert_eq!(edited["allowed_ips"], json!(["203.0.113.9/32"]));
    assert_eq!(edited["version"], 2);
    let cleared = cli.json(&["keys", "edit", "after", "--no-permissions", "--any-ip"]);
    assert_eq!(cleared["permissions"], json!([]));
    assert_eq!(cleared["allowed_ips"], json!([]));
    // Bad values are refused and change nothing.
    cli.fails(&["keys", "edit", "after", "--permission", "nope:nope"], 2);
    cli.fails(&["keys", "edit", "after", "--expires-in", "400d"], 2);
    assert_eq!(cli.json(&["keys", "show", "after"])["version"], 3);
    // Without flags and without a terminal: a usage error naming the flags.
    let err = cli.fails(&["keys", "edit", "after"], 2);
    assert!(err.contains("--description"), "{err}");
}

#[test]
fn add_and_remove_flags_change_a_list_from_the_key_as_read() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "lists",
        "--env",
        "staging",
        "--permission",
        "orders:read",
        "--allow-ip",
        "10.0.0.0/8",
        "-q",
        "--no-store",
    ]);
    let key = |field: &str| -> Vec<String> {
        cli.json(&["keys", "show", "lists"])[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    cli.ok(&["keys", "edit", "lists", "--add-permission", "orders:write"]);
    assert_eq!(key("permissions"), ["orders:read", "orders:write"]);
    cli.ok(&[
        "keys",
        "edit",
        "lists",
        "--remove-permission",
        "orders:read",
    ]);
    assert_eq!(key("permissions"), ["orders:write"]);
    cli.ok(&["keys", "edit", "lists", "--add-env", "production"]);
    assert_eq!(key("environments"), ["production", "staging"]);
    cli.ok(&["keys", "edit", "lists", "--remove-env", "staging"]);
    assert_eq!(key("environments"), ["production"]);
    cli.ok(&["keys", "edit", "lists", "--add-ip", "192.0.2.1"]);
    assert_eq!(key("allowed_ips"), ["10.0.0.0/8", "192.0.2.1/32"]);
    // An entry is removed however it is written.
    cli.ok(&["keys", "edit", "lists", "--remove-ip", "10.0.0.0/8"]);
    assert_eq!(key("allowed_ips"), ["192.0.2.1/32"]);
    let version = cli.json(&["keys", "show", "lists"])["version"].clone();

    // Removing what the key does not hold, or adding what it holds: said, and nothing written.
    let out = cli
        .keyward()
        .args([
            "keys",
            "edit",
            "lists",
            "--remove-permission",
            "orders:read",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lists has no permission orders:read; nothing to remove"),
        "{err}"
    );
    assert!(err.contains("nothing written"), "{err}");
    assert_eq!(cli.json(&["keys", "show", "lists"])["version"], version);

    // The last environment, or the last allowlist entry (that would allow every address), is
    // not removed; a replacing flag with an adding one for the same list is a usage error, and
    // so is one value both added and removed.
    let err = cli.fails(&["keys", "edit", "lists", "--remove-env", "production"], 2);
    assert!(err.contains("at least one"), "{err}");
    let err = cli.fails(&["keys", "edit", "lists", "--remove-ip", "192.0.2.1"], 2);
    assert!(err.contains("--any-ip"), "{err}");
    for args in [
        &[
            "--add-permission",
            "orders:read",
            "--permission",
            "orders:write",
        ][..],
        &["--remove-permission", "orders:read", "--no-permissions"][..],
        &["--add-env", "staging", "--env", "production"][..],
        &["--add-ip", "192.0.2.2", "--any-ip"][..],
        &["--remove-ip", "192.0.2.1", "--allow-ip", "192.0.2.2"][..],
        &["--add-env", "staging", "--remove-env", "staging"][..],
    ] {
        let mut all = vec!["keys", "edit", "lists"];
        all.extend_from_slice(args);
        cli.fails(&all, 2);
    }
    // An unknown one is named by the flag that gave it.
    let err = cli.fails(&["keys", "edit", "lists", "--add-env", "nowhere"], 2);
    assert!(err.contains("--add-env \"nowhere\" unknown"), "{err}");
    assert_eq!(cli.json(&["keys", "show", "lists"])["version"], version);

    // The change is based on the version read: a stale one is a conflict, not a lost update.
    let err = cli.fails(
        &[
            "keys",
            "edit",
            "lists",
            "--add-permission",
            "orders:read",
            "--if-version",
            "1",
        ],
        5,
    );
    assert!(err.contains("someone else changed key lists"), "{err}");
    assert_eq!(key("permissions"), ["orders:write"]);

    // Nobody adds what they do not hold themselves.
    let (operator, secret) = server.create(
        &server.admin_token(),
        json!({"name": "operator", "environments": ["production"], "permissions": ["keys:read", "keys:write", "orders:write"]}),
    );
    let as_operator = server.cli_as(&operator, &secret);
    let out = as_operator
        .keyward()
        .args(["keys", "edit", "lists", "--add-permission", "orders:read"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("cannot edit key lists: your login key cannot grant \"orders:read\""),
        "{err}"
    );
    assert!(
        !err.contains("/v1/") && !err.contains("the caller"),
        "{err}"
    );
    assert_eq!(key("permissions"), ["orders:write"]);
}

#[test]
fn two_adds_at_once_never_lose_one() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "both",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let spawn = |permission: &str| {
        std::process::Command::new(crate::harness::BIN)
            .args(["keys", "edit", "both", "--add-permission", permission])
            .env_clear()
            .envs(cli.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("orders:read"), spawn("orders:write"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let permissions = cli.json(&["keys", "show", "both"])["permissions"].clone();
    let held = |p: &str| permissions.as_array().unwrap().iter().any(|v| v == p);
    for (out, permission) in [(&a, "orders:read"), (&b, "orders:write")] {
        match out.status.code() {
            // Written: it is there, whatever the other did.
            Some(0) => assert!(held(permission), "{permission} lost: {permissions}"),
            // Refused as stale: told so, and not written.
            Some(5) => {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("someone else changed"), "{err}");
                assert!(!held(permission), "{permissions}");
            }
            other => panic!("{other:?}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
    assert!(
        a.status.code() == Some(0) || b.status.code() == Some(0),
        "one of them is written"
    );
}
