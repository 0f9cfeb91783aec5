//! Every uniqueness rule, broken through the API, on each backend: the same typed answer
//! whichever database noticed, and nothing written.

use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, json};

#[test]
fn each_broken_uniqueness_rule_gets_its_own_answer_and_changes_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let create =
        |body: serde_json::Value| server.call(&admin, "POST", "/v1/keys", Some(&body), &[]);
    let count = || {
        let r = server.call(&admin, "GET", "/v1/keys?limit=1000", None, &[]);
        json(&r)["items"].as_array().unwrap().len()
    };

    // A live key's name.
    let (first_id, _) = server.create(
        &admin,
        json!({"name": "taken", "environments": ["staging"]}),
    );
    let before = count();
    let r = create(json!({"name": "taken", "environments": ["staging"]}));
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["code"], "name_taken");
    // Renaming another key to it.
    let (other_id, _) = server.create(
        &admin,
        json!({"name": "other", "environments": ["staging"]}),
    );
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{other_id}"),
        Some(&json!({"name": "taken"})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let other = server.call(&admin, "GET", &format!("/v1/keys/{other_id}"), None, &[]);
    assert_eq!(json(&other)["name"], "other", "the rename was not written");
    // Renaming a key to its own name is no conflict.
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{first_id}"),
        Some(&json!({"name": "taken", "description": "same name"})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // A secret another key already has: refused like a weak one, saying nothing of the other.
    let secret = keyward::secret::Secret::generate("kw_sk_");
    let secret = secret.expose();
    let r = create(json!({"name": "mine", "environments": ["staging"], "secret": secret}));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = create(json!({"name": "theirs", "environments": ["staging"], "secret": secret}));
    assert_eq!(r.status, 422);
    assert_eq!(json(&r)["code"], "weak_secret");
    assert!(!String::from_utf8_lossy(&r.body).contains("mine"));

    // An environment that exists.
    let r = server.call(
        &admin,
        "POST",
        "/v1/environments",
        Some(&json!({"name": "staging"})),
        &[],
    );
    assert_eq!(r.status, 409);
    assert_eq!(json(&r)["code"], "environment_exists");

    // One key more than before (mine); none of the refused ones.
    assert_eq!(count(), before + 2);
}
