//! Retrying a create with the same Idempotency-Key yields one key, not two.

use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, json};

#[test]
fn a_retried_create_mints_one_key() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let body = json!({"name": "ci-once", "environments": ["staging"]});
    let headers = [("Idempotency-Key", "build-4711")];

    let first = server.call(&admin, "POST", "/v1/keys", Some(&body), &headers);
    assert_eq!(first.status, 201);
    let first = json(&first);
    assert!(first["secret"].is_string());

    let retry = server.call(&admin, "POST", "/v1/keys", Some(&body), &headers);
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let retry = json(&retry);
    assert_eq!(retry["id"], first["id"]);
    assert!(retry["secret"].is_null(), "no secret is kept to replay");

    // Same key, different request: refused, nothing minted.
    let other = json!({"name": "ci-twice", "environments": ["staging"]});
    let r = server.call(&admin, "POST", "/v1/keys", Some(&other), &headers);
    assert_eq!(r.status, 422);
    assert_eq!(json(&r)["code"], "idempotency_key_reused");

    let list = json(&server.call(&admin, "GET", "/v1/keys?q=ci-", None, &[]));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[test]
fn concurrent_retries_mint_one_key() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let body = json!({"name": "racy", "environments": ["staging"]});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    server
                        .call(
                            &admin,
                            "POST",
                            "/v1/keys",
                            Some(&body),
                            &[("Idempotency-Key", "same")],
                        )
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 201 || s == 200),
        "{statuses:?}"
    );
    let list = json(&server.call(&admin, "GET", "/v1/keys?q=racy", None, &[]));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
