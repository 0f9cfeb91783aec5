//! Failed token exchanges are throttled per client id and per address: 429 with `Retry-After`
//! once a subject's failures run out, answered before the secret is read and with nothing
//! written; another client's good secret still gets its token; no hard lockout.

use jiff::SignedDuration;
use keyward::secret::Secret;
use serde_json::json;

use crate::harness::audit_rows;
use crate::live::{LiveServer, json};

/// A secret in keyward's format (it passes the format check), belonging to no key.
fn wrong_secret() -> String {
    Secret::generate("kw_sk_").expose().to_owned()
}

#[test]
fn a_thousand_wrong_secrets_for_one_client_are_throttled_without_writes_or_lockout() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (victim, victim_secret) = server.create(
        &admin,
        json!({"name": "victim", "environments": ["staging"]}),
    );
    let (other, other_secret) = server.create(
        &admin,
        json!({"name": "other", "environments": ["staging"]}),
    );
    let failures_of = |id: &str| {
        audit_rows(&server.db)
            .into_iter()
            .filter(|r| {
                r.action == "token.exchange"
                    && r.outcome == "failure"
                    && r.actor == format!("key:{id}")
            })
            .count()
    };

    let wrong = wrong_secret();
    let mut statuses = Vec::new();
    for _ in 0..1000 {
        let (status, token, resp) = server.token(&victim, &wrong);
        assert!(token.is_none());
        if status == 429 {
            let body = json(&resp);
            assert_eq!(body["code"], "too_many_failures", "{body}");
            assert_eq!(
                resp.header("content-type"),
                Some("application/problem+json")
            );
            let wait: u64 = resp.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=6).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(status);
    }
    // The documented threshold: ten failures a client id, then 429.
    assert!(
        statuses[..10].iter().all(|s| *s == 401),
        "{:?}",
        &statuses[..12]
    );
    assert!(statuses[10..].iter().all(|s| *s == 429));
    // Only the ten checked attempts were written down; the 990 throttled ones wrote nothing.
    assert_eq!(failures_of(&victim), 10);

    // Another client, from the same address, gets its token at once.
    let (status, token, _) = server.token(&other, &other_secret);
    assert_eq!(status, 200);
    assert!(token.is_some());
    // The victim itself waits, even with its right secret (the secret is not read)...
    let (status, _, _) = server.token(&victim, &victim_secret);
    assert_eq!(status, 429);
    // ...but only until a failure comes back: no hard lockout.
    server.advance(SignedDuration::from_secs(6));
    let (status, token, _) = server.token(&victim, &victim_secret);
    assert_eq!(status, 200, "six seconds later the right secret works");
    assert!(token.is_some());
}

#[test]
fn an_address_spraying_client_ids_is_throttled_as_a_whole() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let wrong = wrong_secret();
    // A hundred unknown client ids, each failing once, from one address.
    for i in 0..100 {
        let (status, _, _) = server.token(&format!("key_spray{i:011}"), &wrong);
        assert_eq!(status, 401, "attempt {i}");
    }
    let (status, _, resp) = server.token("key_spray99999999999", &wrong);
    assert_eq!(status, 429);
    assert!(resp.header("retry-after").is_some());
    // Refilled over time.
    server.advance(SignedDuration::from_secs(1));
    let (status, _, _) = server.token(&server.admin_id, &server.admin_secret);
    assert_eq!(status, 200);
}

#[test]
fn keys_that_open_nothing_are_throttled_per_the_address_they_came_from() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (_, good) = server.create(&admin, json!({"name": "good", "environments": ["staging"]}));
    let verify = |key: &str, ip: &str| {
        let (status, body) = server.verify(&admin, json!({"key": key, "ip": ip}));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (status, body)
    };
    let attacker = "203.0.113.9";
    for i in 0..100 {
        let (status, body) = verify(&wrong_secret(), attacker);
        assert_eq!(
            (status, body["code"].as_str()),
            (200, Some("INVALID")),
            "attempt {i}"
        );
    }
    let (status, body) = verify(&wrong_secret(), attacker);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "too_many_failures");
    // The service's other users are not touched, nor are verifies that report no address.
    assert_eq!(verify(&good, "198.51.100.1").1["code"], "VALID");
    let (status, body) = server.verify(&admin, json!({"key": good}));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
        "VALID"
    );
    // The attacker's address gets one more try after 0.6 s; nothing is locked for good.
    server.advance(SignedDuration::from_secs(1));
    assert_eq!(verify(&good, attacker).1["code"], "VALID");
}
