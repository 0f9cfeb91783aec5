//! Outside the caller's environments answers like missing: a name held by a key the caller
//! cannot see is refused exactly as one it can see (and the refusal is audited), and an
//! Idempotency-Key replay hands back a key only while the caller still sees it.

use serde_json::{Value, json};

use crate::harness::{TestEnv, audit_rows};
use crate::live::{LiveServer, json};

fn scoped(server: &LiveServer, admin: &str) -> (String, String) {
    let (id, secret) = server.create(
        admin,
        json!({"name": "scoped", "environments": ["staging"], "permissions": ["keys:read", "keys:write"]}),
    );
    (id.clone(), server.token(&id, &secret).1.unwrap())
}

/// Status, code and detail with the name itself taken out.
fn answer(r: &crate::harness::HttpResponse, name: &str) -> (u16, Value, String) {
    let p = json(r);
    (
        r.status,
        p["code"].clone(),
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .replace(name, "NAME"),
    )
}

#[test]
fn a_name_taken_outside_the_callers_environments_answers_like_one_inside() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    server.create(
        &admin,
        json!({"name": "inside", "environments": ["staging"]}),
    );
    let (hidden, _) = server.create(
        &admin,
        json!({"name": "outside", "environments": ["production"]}),
    );
    let (caller, token) = scoped(&server, &admin);
    let before = audit_rows(&server.db).len();
    let create = |name: &str| {
        server.call(
            &token,
            "POST",
            "/v1/keys",
            Some(&json!({"name": name, "environments": ["staging"]})),
            &[],
        )
    };
    let inside = create("inside");
    let outside = create("outside");
    assert_eq!(inside.status, 409);
    assert_eq!(answer(&inside, "inside"), answer(&outside, "outside"));
    let text = String::from_utf8_lossy(&outside.body).into_owned();
    for leak in [hidden.as_str(), "production"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    // The same by edit.
    let (mine, _) = server.create(&token, json!({"name": "mine", "environments": ["staging"]}));
    let edit = |name: &str| {
        server.call(
            &token,
            "PATCH",
            &format!("/v1/keys/{mine}"),
            Some(&json!({"name": name})),
            &[("If-Match", "\"1\"")],
        )
    };
    assert_eq!(
        answer(&edit("inside"), "inside"),
        answer(&edit("outside"), "outside")
    );
    // Each refusal is a failure in the audit log, by the caller, naming no other key.
    let rows = audit_rows(&server.db);
    let refused: Vec<_> = rows[before..]
        .iter()
        .filter(|r| r.outcome == "failure" && r.actor == format!("key:{caller}"))
        .collect();
    assert_eq!(refused.len(), 4, "{:?}", &rows[before..]);
    assert!(
        refused
            .iter()
            .all(|r| r.key_id.as_deref() != Some(hidden.as_str()))
    );
}

#[test]
fn an_idempotent_replay_hands_back_only_a_key_the_caller_still_sees() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (_, token) = scoped(&server, &admin);
    let body = json!({"name": "built", "environments": ["staging"]});
    let headers = [("Idempotency-Key", "build-1")];
    let first = server.call(&token, "POST", "/v1/keys", Some(&body), &headers);
    assert_eq!(first.status, 201);
    let id = json(&first)["id"].as_str().unwrap().to_owned();
    let replay = server.call(&token, "POST", "/v1/keys", Some(&body), &headers);
    assert_eq!(replay.status, 200);
    // The key moves out of the caller's reach: the replay answers like a missing key.
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&json!({"environments": ["production"]})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let replay = server.call(&token, "POST", "/v1/keys", Some(&body), &headers);
    let text = String::from_utf8_lossy(&replay.body).into_owned();
    assert_eq!(replay.status, 404, "{text}");
    assert_eq!(json(&replay)["code"], "not_found");
    assert!(
        !text.contains(&id) && !text.contains("production"),
        "{text}"
    );
}
