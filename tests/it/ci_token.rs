//! Credentials in the environment (a CI job) share one access token across commands: a job of
//! ten commands makes one token exchange, measured in the server's own audit log. The token is
//! kept in the OS keyring, never in a file, and only for the same server origin, client id and
//! secret.

use std::process::Command;

use crate::harness::{Server, TestEnv};

/// The successful `token.exchange` events of `client_id`, read with `keyward audit` as the admin
/// (whose own exchange, if the cache works, is already counted).
fn exchanges(admin: &TestEnv, client_id: &str) -> usize {
    let events = admin.json(&[
        "audit",
        "--action",
        "token.exchange",
        "--outcome",
        "success",
        "--limit",
        "1000",
    ]);
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"].as_str() == Some(client_id) || e["key_id"] == client_id)
        .count()
}

#[test]
fn a_ci_job_of_ten_commands_makes_one_token_exchange() {
    let mut ci = TestEnv::new();
    let server = Server::dev(&ci, None, "info");
    server.as_admin(&mut ci);
    let id = server.admin_id.clone();

    let commands: [&[&str]; 10] = [
        &["whoami"],
        &["envs", "list"],
        &["permissions", "list"],
        &[
            "keys",
            "create",
            "--name",
            "job-1",
            "--env",
            "staging",
            "-q",
            "--no-store",
        ],
        &[
            "keys",
            "create",
            "--name",
            "job-2",
            "--env",
            "staging",
            "-q",
            "--no-store",
        ],
        &["keys", "list"],
        &["keys", "show", "job-1"],
        &["keys", "disable", "job-2", "--yes"],
        &["keys", "revoke", "job-2", "--yes"],
        &["keys", "check", "--expiring-within", "1d"],
    ];
    let mut job_secret = String::new();
    for args in commands {
        let out = ci.ok(args);
        if args.contains(&"job-1") && args[1] == "create" {
            job_secret = out.trim().to_owned();
        }
    }
    // The audit is read with the same credentials: the same token, no exchange of its own.
    assert_eq!(exchanges(&ci, &id), 1, "ten commands, one exchange");

    // It is in the kernel keyring (the tests' keyring), and in no file.
    let shown = Command::new("keyctl")
        .args(["show", "@s"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("env-token:"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    for (path, bytes) in crate::harness::all_bytes_under(ci.dir.path()) {
        assert!(
            !crate::harness::contains(&bytes, "kw_at_"),
            "an access token in {}",
            path.display()
        );
    }

    // Another origin for the same server (localhost, not 127.0.0.1) does not get the token: it
    // makes its own exchange, then reuses that one.
    let mut other_origin = TestEnv::new();
    server.as_admin(&mut other_origin);
    other_origin.set("KEYWARD_URL", &server.url.replace("127.0.0.1", "localhost"));
    other_origin.ok(&["whoami"]);
    other_origin.ok(&["keys", "list"]);
    assert_eq!(exchanges(&ci, &id), 2, "another origin, one more exchange");

    // A wrong secret for the same client id (another key's) is not let in by the cached token:
    // its exchange is refused, and nothing runs.
    let mut wrong = TestEnv::new();
    server.as_admin(&mut wrong);
    wrong.set("KEYWARD_CLIENT_SECRET", &job_secret);
    wrong.fails(&["keys", "list"], 3);

    // A new secret for the same key (rotated, the old one in its grace period) gets its own
    // token once, then reuses it.
    let new_secret = ci
        .ok(&["keys", "rotate", &id, "--grace", "1h", "-q", "--no-store"])
        .trim()
        .to_owned();
    let mut rotated = TestEnv::new();
    server.as_admin(&mut rotated);
    rotated.set("KEYWARD_CLIENT_SECRET", &new_secret);
    rotated.ok(&["whoami"]);
    rotated.ok(&["keys", "list"]);
    assert_eq!(
        exchanges(&rotated, &id),
        3,
        "the new secret, one more exchange"
    );
}

#[test]
fn a_refused_cached_token_is_replaced_by_one_new_exchange() {
    let mut ci = TestEnv::new();
    let server = Server::dev(&ci, None, "info");
    server.as_admin(&mut ci);
    let (worker, secret) = {
        let secret = ci
            .ok(&[
                "keys",
                "create",
                "--name",
                "worker",
                "--env",
                "staging",
                "--permission",
                "keys:read",
                "-q",
                "--no-store",
            ])
            .trim()
            .to_owned();
        let id = ci.json(&["keys", "show", "worker"])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, secret)
    };
    let mut job = TestEnv::new();
    job.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &worker)
        .set("KEYWARD_CLIENT_SECRET", &secret);
    job.ok(&["keys", "list"]);
    job.ok(&["keys", "list"]);
    assert_eq!(exchanges(&ci, &worker), 1);
    // Disabling the key ends its tokens; enabled again, the cached one is refused (401) and the
    // next command gets a new one, without failing.
    ci.ok(&["keys", "disable", "worker", "--yes"]);
    ci.ok(&["keys", "enable", "worker"]);
    job.ok(&["keys", "list"]);
    job.ok(&["keys", "list"]);
    assert_eq!(exchanges(&ci, &worker), 2);
}

#[test]
fn without_a_keyring_the_token_lives_only_as_long_as_the_command() {
    let mut ci = TestEnv::new();
    let server = Server::dev(&ci, None, "info");
    server.as_admin(&mut ci);
    // Secret Service asked for, and no D-Bus session: no keyring works.
    ci.set("KEYWARD_KEYRING", "secret-service");
    ci.ok(&["whoami"]);
    ci.ok(&["keys", "list"]);
    ci.set("KEYWARD_KEYRING", "keyutils");
    // Two commands, two exchanges (plus the one that reads the audit), and nothing on disk.
    assert_eq!(exchanges(&ci, &server.admin_id), 3);
    for (path, bytes) in crate::harness::all_bytes_under(ci.dir.path()) {
        assert!(
            !crate::harness::contains(&bytes, "kw_at_"),
            "an access token in {}",
            path.display()
        );
    }
}

#[test]
fn logout_at_the_jobs_end_removes_the_kept_token_and_the_cache_can_be_turned_off() {
    let mut ci = TestEnv::new();
    let server = Server::dev(&ci, None, "info");
    server.as_admin(&mut ci);
    let id = server.admin_id.clone();
    ci.ok(&["whoami"]);
    ci.ok(&["keys", "list"]);
    // One exchange so far (the audit read below reuses it).
    assert_eq!(exchanges(&ci, &id), 1);
    // The job ends: logout removes the kept token, and says so.
    let out = ci.keyward().arg("logout").output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Removed the access token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The next command (the audit read) makes a new exchange: nothing was left to reuse.
    assert_eq!(exchanges(&ci, &id), 2);

    // Turned off: each command makes its own exchange, and none is kept.
    ci.set("KEYWARD_TOKEN_CACHE", "off");
    ci.ok(&["whoami"]);
    ci.ok(&["keys", "list"]);
    // whoami, keys list and this audit read: three more.
    assert_eq!(exchanges(&ci, &id), 5);
}
