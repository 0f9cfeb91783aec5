//! Every key state against every way of using a key, and the time rules to the second.

use jiff::SignedDuration;
use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, Options, json};

#[derive(Debug, Clone, Copy)]
enum State {
    Active,
    Disabled,
    Expired,
    Revoked,
    RotatedOutAfterGrace,
    WithinGrace,
}

/// What each use answers: token exchange status (and problem code), an earlier token's status
/// on `GET /v1/whoami`, and the verify code.
struct Expected {
    exchange: (u16, Option<&'static str>),
    earlier_token: u16,
    verify: &'static str,
}

fn expected(state: State) -> Expected {
    use State::*;
    let e = |exchange, earlier_token, verify| Expected {
        exchange,
        earlier_token,
        verify,
    };
    match state {
        Active => e((200, None), 200, "VALID"),
        Disabled => e((400, Some("key_disabled")), 401, "DISABLED"),
        Expired => e((400, Some("key_expired")), 401, "EXPIRED"),
        Revoked => e((400, Some("key_revoked")), 401, "REVOKED"),
        RotatedOutAfterGrace => e((401, Some("invalid_client")), 401, "INVALID"),
        WithinGrace => e((200, None), 200, "VALID"),
    }
}

#[test]
fn every_key_state_against_every_use() {
    for state in [
        State::Active,
        State::Disabled,
        State::Expired,
        State::Revoked,
        State::RotatedOutAfterGrace,
        State::WithinGrace,
    ] {
        let env = TestEnv::new();
        let server = LiveServer::start(&env);
        let admin = server.admin_token();
        let expires = (server.now() + SignedDuration::from_hours(1)).to_string();
        let (id, secret) = server.create(
            &admin,
            json!({"name": "subject", "environments": ["production"], "permissions": ["keys:verify"], "expires_at": expires}),
        );
        // A token issued before the state change.
        let (status, earlier, _) = server.token(&id, &secret);
        assert_eq!(status, 200);
        let earlier = earlier.unwrap();

        let post = |path: &str, body: serde_json::Value| {
            let r = server.call(
                &admin,
                "POST",
                &format!("/v1/keys/{id}/{path}"),
                Some(&body),
                &[],
            );
            assert!(
                r.status < 300,
                "{path}: {}",
                String::from_utf8_lossy(&r.body)
            );
        };
        match state {
            State::Active => {}
            State::Disabled => post("disable", json!({})),
            State::Expired => server.advance(SignedDuration::from_hours(2)),
            State::Revoked => post("revoke", json!({})),
            State::RotatedOutAfterGrace => {
                post("rotate", json!({"grace_seconds": 60}));
                server.advance(SignedDuration::from_secs(61));
            }
            State::WithinGrace => {
                post("rotate", json!({"grace_seconds": 3600}));
                server.advance(SignedDuration::from_secs(60));
            }
        }
        let want = expected(state);

        let (status, _, resp) = server.token(&id, &secret);
        assert_eq!(status, want.exchange.0, "{state:?}: token exchange");
        if let Some(code) = want.exchange.1 {
            assert_eq!(json(&resp)["code"], code, "{state:?}: token exchange code");
        }
        let whoami = server.call(&earlier, "GET", "/v1/whoami", None, &[]);
        assert_eq!(
            whoami.status, want.earlier_token,
            "{state:?}: earlier token"
        );

        // Verify as the admin (a fresh token: the clock may have moved).
        let admin = server.admin_token();
        let (status, body) = server.verify(&admin, json!({"key": secret}));
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["code"], want.verify, "{state:?}: verify");
        assert_eq!(answer["valid"], want.verify == "VALID");
    }
}

#[test]
fn expiry_is_at_most_365_days_to_the_second() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let at = |d: SignedDuration| (server.now() + d).to_string();
    let year = SignedDuration::from_hours(24 * 365);
    let create = |name: &str, expires: String| {
        server.call(
            &admin,
            "POST",
            "/v1/keys",
            Some(&json!({"name": name, "environments": ["staging"], "expires_at": expires})),
            &[],
        )
    };
    assert_eq!(create("exactly-a-year", at(year)).status, 201);
    let refused = create(
        "a-year-and-a-second",
        at(year + SignedDuration::from_secs(1)),
    );
    assert_eq!(refused.status, 422);
    assert_eq!(json(&refused)["code"], "invalid_expiry");
    // The default is the maximum.
    let default = create("default", server.now().to_string());
    assert_eq!(default.status, 422, "now is not in the future");
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "d", "environments": ["staging"]})),
        &[],
    );
    let expires: jiff::Timestamp = json(&r)["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, server.now() + year);

    // Enable measures from the moment of the change, too.
    let id = json(&r)["id"].as_str().unwrap().to_owned();
    server.advance(SignedDuration::from_hours(24 * 30));
    let admin = server.admin_token();
    let late = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/enable"),
        Some(&json!({"expires_at": at(year)})),
        &[],
    );
    assert_eq!(late.status, 200, "{}", String::from_utf8_lossy(&late.body));
    let too_late = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/enable"),
        Some(&json!({"expires_at": at(year + SignedDuration::from_secs(1))})),
        &[],
    );
    assert_eq!(too_late.status, 422);
}

#[test]
fn an_access_token_lives_24_hours_to_the_second() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let token = server.admin_token();
    server.advance(SignedDuration::from_secs(86_400 - 1));
    assert_eq!(
        server.call(&token, "GET", "/v1/whoami", None, &[]).status,
        200
    );
    server.advance(SignedDuration::from_secs(2));
    assert_eq!(
        server.call(&token, "GET", "/v1/whoami", None, &[]).status,
        401
    );
}

#[test]
fn a_rotated_out_secret_works_until_its_grace_ends() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, old) = server.create(
        &admin,
        json!({"name": "rotating", "environments": ["staging"]}),
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&json!({"grace_seconds": 600})),
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let new = json(&r)["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(json(&r)["id"], id.as_str(), "same key, same id");

    server.advance(SignedDuration::from_secs(599));
    let (status, old_token, _) = server.token(&id, &old);
    assert_eq!(status, 200, "the old secret works within the grace");
    let old_token = old_token.unwrap();
    assert_eq!(server.token(&id, &new).0, 200);

    server.advance(SignedDuration::from_secs(2));
    assert_eq!(
        server.token(&id, &old).0,
        401,
        "the old secret dies with the grace"
    );
    assert_eq!(
        server
            .call(&old_token, "GET", "/v1/whoami", None, &[])
            .status,
        401,
        "and so do its tokens"
    );
    assert_eq!(server.token(&id, &new).0, 200);

    // At most 7 days of grace.
    let admin = server.admin_token();
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&json!({"grace_seconds": 7 * 86_400 + 1})),
        &[],
    );
    assert_eq!(r.status, 422);
}

#[test]
fn revoked_keys_cannot_come_back() {
    let env = TestEnv::new();
    let mut env2 = TestEnv::new();
    let server = LiveServer::start(&env);
    server.as_admin(&mut env2);
    env2.ok(&["keys", "create", "--name", "gone", "--env", "staging", "-q"]);
    env2.ok(&["keys", "revoke", "gone", "--yes"]);
    let err = env2.fails(&["keys", "enable", "gone"], 5);
    assert!(err.contains("revoked"), "{err}");
    env2.fails(&["keys", "rotate", "gone"], 5);
    env2.fails(&["keys", "edit", "gone", "--description", "x"], 5);
    env2.fails(&["keys", "disable", "gone"], 5);
}

#[test]
fn disable_and_enable_through_the_cli() {
    let env = TestEnv::new();
    let mut cli = TestEnv::new();
    let server = LiveServer::start(&env);
    server.as_admin(&mut cli);
    let created = cli.json(&[
        "keys",
        "create",
        "--name",
        "pausable",
        "--env",
        "staging",
        "--no-store",
    ]);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        cli.json(&["keys", "disable", "pausable"])["status"],
        "disabled"
    );
    assert_eq!(server.token(&id, &secret).0, 400);
    let enabled = cli.json(&["keys", "enable", "pausable", "--expires-in", "30d"]);
    assert_eq!(enabled["status"], "active");
    let expires: jiff::Timestamp = enabled["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
    assert!((29..=30).contains(&days), "{days}");
    assert_eq!(server.token(&id, &secret).0, 200);

    // An expired key comes back with the longest expiry.
    server.advance(SignedDuration::from_hours(24 * 31));
    let admin = server.admin_token();
    assert_eq!(
        json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]))["status"],
        "expired"
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/enable"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(json(&r)["status"], "active");
}

#[test]
fn rotate_through_the_cli_prints_only_the_new_secret_with_q() {
    let env = TestEnv::new();
    let mut cli = TestEnv::new();
    let server = LiveServer::start(&env);
    server.as_admin(&mut cli);
    let old = cli.ok(&[
        "keys",
        "create",
        "--name",
        "ci",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let id = cli.json(&["keys", "show", "ci"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = cli.ok(&["keys", "rotate", "ci", "--grace", "1h", "-q", "--no-store"]);
    crate::harness::assert_secret_format(new.trim(), "kw_sk_");
    assert_ne!(new.trim(), old.trim());
    assert_eq!(
        server.token(&id, old.trim()).0,
        200,
        "within the hour of grace"
    );
    assert_eq!(server.token(&id, new.trim()).0, 200);
    let err = cli.fails(&["keys", "rotate", "ci", "--grace", "8d"], 2);
    assert!(err.contains("7 days"), "{err}");
}

#[test]
fn a_server_setting_can_lower_the_maximum() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            max_lifetime_days: Some(30),
            ..Options::default()
        },
    );
    let admin = server.admin_token();
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "short", "environments": ["staging"]})),
        &[],
    );
    let expires: jiff::Timestamp = json(&r)["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, server.now() + SignedDuration::from_hours(24 * 30));
    let late = (server.now() + SignedDuration::from_hours(24 * 31)).to_string();
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "long", "environments": ["staging"], "expires_at": late})),
        &[],
    );
    assert_eq!(r.status, 422);
    assert!(json(&r)["detail"].as_str().unwrap().contains("30 days"));
}

#[test]
fn a_lifecycle_action_with_a_stale_if_match_changes_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, _) = server.create(
        &admin,
        json!({"name": "moving", "environments": ["staging"]}),
    );
    // Someone edits the key after it was read at version 1.
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&json!({"description": "edited"})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200);
    for action in ["disable", "enable", "revoke"] {
        let body = json!({});
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{id}/{action}"),
            (action == "enable").then_some(&body),
            &[("If-Match", "\"1\"")],
        );
        assert_eq!(r.status, 412, "{action}");
        assert_eq!(json(&r)["code"], "version_mismatch", "{action}");
    }
    let r = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
    assert_eq!(json(&r)["status"], "active");
    // At the version it is at, it is acted on; without If-Match, as before.
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/disable"),
        None,
        &[("If-Match", "\"2\"")],
    );
    assert_eq!(r.status, 200);
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["status"], "revoked");
}
