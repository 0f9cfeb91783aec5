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
