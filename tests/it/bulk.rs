//! Bulk `keys disable`, `keys enable` and `keys revoke`: what they leave out and say so, the
//! outcomes they count, a wrong name among several, and a key that changed before it was
//! acted on. (The preview confirmed on a terminal: `pty.rs`.)

use serde_json::Value;

use crate::harness::TestEnv;

/// Runs keyward: exit code, stdout, stderr.
fn run(env: &TestEnv, args: &[&str]) -> (Option<i32>, String, String) {
    let out = env.keyward().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Five keys in the local store's `default` environment, the fifth revoked.
fn five_keys_one_revoked() -> TestEnv {
    let env = TestEnv::new();
    for name in ["k1", "k2", "k3", "k4", "k5"] {
        env.ok(&["keys", "create", "--name", name, "--no-store", "-q"]);
    }
    env.ok(&["keys", "revoke", "k5", "--yes"]);
    env
}

fn status(env: &TestEnv, name: &str) -> String {
    env.json(&["keys", "show", name])["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether a table names `name` in its first column (a random key id may hold "k5" too).
fn lists_name(table: &str, name: &str) -> bool {
    table
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn a_dry_run_leaves_out_revoked_keys_and_says_how_many_and_why() {
    let env = five_keys_one_revoked();
    let (code, out, err) = run(&env, &["keys", "revoke", "--env", "default", "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !lists_name(&out, "k5"),
        "a revoked key among the targets:\n{out}"
    );
    assert!(
        err.contains("4 keys would be revoked") && err.contains("left out 1 key revoked already"),
        "{err}"
    );
    let (code, _, err) = run(&env, &["keys", "disable", "--env", "default", "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("4 keys would be disabled")
            && err.contains("left out 1 revoked key (a revoked key cannot be disabled)"),
        "{err}"
    );
    // JSON: the targets only.
    let listed = env.json(&["keys", "disable", "--env", "default", "--dry-run"]);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{listed}");
    assert!(items.iter().all(|k| k["status"] == "active"), "{listed}");
    // Nothing changed.
    assert_eq!(status(&env, "k1"), "active");
}

#[test]
fn the_summary_counts_each_outcome_and_json_gives_each_keys() {
    let env = five_keys_one_revoked();
    env.ok(&["keys", "disable", "k4", "--yes"]);
    let (code, out, err) = run(&env, &["keys", "disable", "--env", "default", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("3 disabled, 1 already disabled")
            && err.contains("left out 1 revoked key (a revoked key cannot be disabled)"),
        "{err}"
    );
    // By its name in the first column: a random id may hold "k5" too.
    assert!(
        !out.lines()
            .any(|l| l.split_whitespace().next() == Some("k5")),
        "the revoked key has no outcome:\n{out}"
    );
    // Again: nothing left to disable, and the summary says so.
    let (code, _, err) = run(&env, &["keys", "disable", "--env", "default", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 disabled, 4 already disabled"), "{err}");

    // JSON: one object per key, its outcome by name.
    let outcomes = env.json(&["keys", "enable", "--env", "default", "--yes"]);
    assert!(outcomes["next_cursor"].is_null(), "{outcomes}");
    let items = outcomes["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{outcomes}");
    for item in items {
        assert_eq!(item["outcome"], "enabled", "{outcomes}");
        assert!(item["id"].as_str().unwrap().starts_with("key_"), "{item}");
        assert!(item.get("error").is_none(), "{item}");
    }
}

#[test]
fn an_unknown_name_among_several_fails_alone_and_exits_9() {
    let env = TestEnv::new();
    for name in ["first", "second", "third"] {
        env.ok(&["keys", "create", "--name", name, "--no-store", "-q"]);
    }
    let (code, out, err) = run(
        &env,
        &["keys", "disable", "first", "nope", "second", "--yes"],
    );
    assert_eq!(code, Some(9), "{out}\n{err}");
    assert!(
        out.contains("nope") && out.contains("no key with id or name"),
        "{out}"
    );
    assert!(
        err.contains("2 disabled, 0 already disabled, 1 failed"),
        "{err}"
    );
    assert_eq!(status(&env, "first"), "disabled");
    assert_eq!(status(&env, "second"), "disabled");
    assert_eq!(status(&env, "third"), "active");

    // In JSON, the unknown name is one outcome, without an id.
    let out = env
        .keyward()
        .args([
            "keys", "revoke", "nope", "third", "--yes", "--output", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{v}");
    let nope = items.iter().find(|o| o["name"] == "nope").unwrap();
    assert!(nope["id"].is_null(), "{v}");
    assert_eq!(nope["outcome"], "failed");
    let third = items.iter().find(|o| o["name"] == "third").unwrap();
    assert_eq!(third["outcome"], "revoked", "{v}");
    assert_eq!(status(&env, "third"), "revoked");
}

#[test]
fn bulk_enable_brings_back_disabled_keys_and_leaves_the_rest() {
    let env = five_keys_one_revoked();
    env.ok(&["keys", "disable", "k1", "k2", "--yes"]);
    // Without a terminal and without --yes: refused, nothing changed.
    let err = env.fails(&["keys", "enable", "--env", "default"], 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(status(&env, "k1"), "disabled");
    let (code, _, err) = run(&env, &["keys", "enable", "--env", "default", "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("4 keys would be enabled (2 of them already enabled)")
            && err.contains("a revoked key cannot be enabled"),
        "{err}"
    );
    let (code, _, err) = run(&env, &["keys", "enable", "--env", "default", "--yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("2 enabled, 2 already enabled"), "{err}");
    assert_eq!(status(&env, "k1"), "active");
    assert_eq!(status(&env, "k2"), "active");
    assert_eq!(status(&env, "k5"), "revoked");
    // By name, with a new expiry.
    env.ok(&["keys", "disable", "k1", "k2", "--yes"]);
    env.ok(&["keys", "enable", "k1", "k2", "--expires-in", "30d", "--yes"]);
    for name in ["k1", "k2"] {
        let key = env.json(&["keys", "show", name]);
        assert_eq!(key["status"], "active");
        let expires: jiff::Timestamp = key["expires_at"].as_str().unwrap().parse().unwrap();
        let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
        assert!((29..=30).contains(&days), "{key}");
    }
}

/// Ctrl-C (SIGINT) in the middle of a bulk change: some keys were changed, so the exit code is
/// 9 ("some keys …") and the message says so, never 130 ("nothing was done").
#[test]
fn an_interrupt_during_a_bulk_change_never_says_nothing_was_done() {
    use crate::live::LiveServer;
    use serde_json::json;
    use std::time::{Duration, Instant};
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for i in 0..400 {
        server.create(
            &admin,
            json!({"name": format!("many-{i:03}"), "environments": ["staging"]}),
        );
    }
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .env_clear()
        .envs(cli.vars())
        .args(["keys", "disable", "--env", "staging", "--yes"])
        .env("CI", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first key is disabled, interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let disabled = cli.json(&["keys", "list", "--status", "disabled", "--env", "staging"]);
        if !disabled["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no key was disabled");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on a child this test spawned and has not reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let still_active = cli.json(&["keys", "list", "--status", "active", "--env", "staging"]);
    if still_active["items"].as_array().unwrap().is_empty() {
        // It finished before the interrupt landed: nothing to judge (it said what it did).
        assert_eq!(out.status.code(), Some(0), "{err}");
        return;
    }
    assert_eq!(out.status.code(), Some(9), "{err}");
    assert!(err.contains("may have been disabled"), "{err}");
    assert!(!err.contains("nothing was done"), "{err}");
}
