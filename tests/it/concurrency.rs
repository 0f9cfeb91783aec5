//! Multi-step changes are one transaction: revoke against a concurrent rotate, a revoke that
//! changes nothing, and the purge of what has expired.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::harness::{TestEnv, audit_rows};
use crate::live::{LiveServer, Options, json};

fn verify_code(server: &LiveServer, token: &str, key: &str) -> String {
    let (status, body) = server.verify(token, json!({"key": key}));
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    body["code"].as_str().unwrap().to_owned()
}

#[test]
fn revoke_names_every_secret_it_kills_and_is_audited_once() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, first) = server.create(
        &admin,
        json!({"name": "graced", "environments": ["staging"]}),
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&json!({"grace_seconds": 3600})),
        &[],
    );
    let second = json(&r)["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        verify_code(&server, &admin, &first),
        "VALID",
        "inside its grace"
    );

    let revoke = || server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    assert_eq!(revoke().status, 200);
    // The current secret and the one still in its grace both answer REVOKED.
    assert_eq!(verify_code(&server, &admin, &second), "REVOKED");
    assert_eq!(verify_code(&server, &admin, &first), "REVOKED");

    // Revoking again answers the tombstone and records nothing.
    let revokes = |rows: &[crate::harness::AuditRow]| {
        rows.iter()
            .filter(|r| r.action == "key.revoke" && r.key_id.as_deref() == Some(id.as_str()))
            .count()
    };
    assert_eq!(revokes(&audit_rows(&server.db)), 1);
    let again = revoke();
    assert_eq!(again.status, 200);
    assert_eq!(json(&again)["status"], "revoked");
    assert_eq!(
        revokes(&audit_rows(&server.db)),
        1,
        "a revoke that changed nothing"
    );
}

#[test]
fn a_rotate_racing_a_revoke_never_leaves_a_secret_that_answers_invalid() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for round in 0..8 {
        let (id, _) = server.create(
            &admin,
            json!({"name": format!("raced-{round}"), "environments": ["staging"]}),
        );
        let rotated: Vec<(i64, String)> = std::thread::scope(|s| {
            let rotators: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let mut got = Vec::new();
                        for _ in 0..4 {
                            let r = server.call(
                                &admin,
                                "POST",
                                &format!("/v1/keys/{id}/rotate"),
                                Some(&json!({"grace_seconds": 600})),
                                &[],
                            );
                            if r.status == 200 {
                                let v = json(&r);
                                got.push((
                                    v["version"].as_i64().unwrap(),
                                    v["secret"].as_str().unwrap().to_owned(),
                                ));
                            } else {
                                assert!(r.status == 409, "{}", String::from_utf8_lossy(&r.body));
                            }
                        }
                        got
                    })
                })
                .collect();
            let revoker = s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(round * 3));
                // "busy" (409) asks the client to try again; a revoke must get through.
                (0..20)
                    .map(|_| {
                        server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[])
                    })
                    .find(|r| r.status != 409)
                    .map(|r| r.status)
            });
            assert_eq!(revoker.join().unwrap(), Some(200));
            rotators
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        // The secret that was current when the revoke landed, and the one in its grace, must
        // answer REVOKED: never INVALID, which would tell a service "never heard of it".
        let mut by_version = rotated.clone();
        by_version.sort();
        for (_, secret) in by_version.iter().rev().take(2) {
            assert_eq!(
                verify_code(&server, &admin, secret),
                "REVOKED",
                "round {round}"
            );
        }
        let key = json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]));
        assert_eq!(key["status"], "revoked");
    }
}

#[test]
fn expired_tokens_and_old_idempotency_records_are_purged_on_schedule() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            purge_every: Some(std::time::Duration::from_millis(100)),
            ..Options::default()
        },
    );
    let admin = server.admin_token();
    let created = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "once", "environments": ["staging"]})),
        &[("Idempotency-Key", "ci-run-1")],
    );
    assert_eq!(created.status, 201);
    let actor = format!("key:{}", server.admin_id);
    let digest = server.state.pepper.digest(&admin);
    let token_row = || {
        server
            .block_on(server.state.store.get_token(&digest))
            .unwrap()
    };
    let idem_row = || {
        server
            .block_on(server.state.store.get_idempotency(&actor, "ci-run-1"))
            .unwrap()
    };
    let wait_until = |gone: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !gone() && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        gone()
    };

    // Within their lifetimes, kept (a retried create is still a replay).
    server.advance(SignedDuration::from_hours(23));
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(token_row().is_some());
    assert!(idem_row().is_some());
    // Past the token's 24 hours and the Idempotency-Key's retention, gone.
    server.advance(SignedDuration::from_hours(2));
    assert!(
        wait_until(&|| token_row().is_none()),
        "the expired token was not purged"
    );
    assert!(
        wait_until(&|| idem_row().is_none()),
        "the idempotency record was not purged"
    );
}
