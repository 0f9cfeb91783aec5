//! Account-wide views of environments: how many keys each holds by state (as far as the caller
//! may see), and deleting one, which no live key may depend on alone.

use keyward::server::store::{AuditEvent, Conflict, StoreError};
use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::live::{LiveServer, json};

fn counts_of<'a>(envs: &'a Value, name: &str) -> &'a Value {
    &envs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {envs}"))["keys"]
}

#[test]
fn envs_list_counts_keys_by_state_and_a_scoped_caller_counts_only_what_it_sees() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let key = |name: &str, envs: Value, extra: Value| {
        let mut body = json!({"name": name, "environments": envs, "permissions": ["orders:read"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        server.create(&admin, body).0
    };
    key("s-active", json!(["staging"]), json!({}));
    key(
        "s-soon",
        json!(["staging"]),
        json!({"expires_in_seconds": 86_400 * 10}),
    );
    let disabled = key("s-disabled", json!(["staging"]), json!({}));
    let revoked = key("s-revoked", json!(["staging"]), json!({}));
    key(
        "s-later",
        json!(["staging"]),
        json!({"expires_in_seconds": 3600}),
    );
    key("both", json!(["staging", "production"]), json!({}));
    for (id, action) in [(&disabled, "disable"), (&revoked, "revoke")] {
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{id}/{action}"),
            None,
            &[],
        );
        assert_eq!(r.status, 200);
    }
    // Two hours on: `s-later` has expired.
    server.advance(jiff::SignedDuration::from_hours(2));

    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let envs: Value = serde_json::from_str(&cli.ok(&["envs", "list", "--output", "json"])).unwrap();
    let envs = &envs["items"];
    assert_eq!(
        counts_of(envs, "staging"),
        &json!({"active": 4, "disabled": 1, "expired": 1, "revoked": 1, "expiring_within_30_days": 1}),
        "s-active, s-soon, both and the admin key (every environment) are active; s-soon expires \
         within 30 days"
    );
    // Production also holds the admin key (every environment) and `both`.
    assert_eq!(counts_of(envs, "production")["active"], 2);
    let table = cli.ok(&["envs", "list"]);
    assert!(
        table.contains("EXPIRING") && table.contains("REVOKED"),
        "{table}"
    );

    // A caller scoped to staging counts only keys wholly inside it: not `both`.
    let (scoped, secret) = server.create(
        &admin,
        json!({"name": "stage-reader", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let (_, token, _) = server.token(&scoped, &secret);
    let token = token.unwrap();
    let r = server.call(&token, "GET", "/v1/environments?counts=true", None, &[]);
    let seen = json(&r);
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(counts_of(&seen, "staging")["active"], 3, "{seen}");
    // Counting reads every key: only when asked.
    let r = server.call(&token, "GET", "/v1/environments", None, &[]);
    assert_eq!(json(&r)[0].get("keys"), None);
    // Without keys:read, no counts at all.
    let (verifier, secret) = server.create(
        &admin,
        json!({"name": "verifier", "environments": ["staging"], "permissions": ["keys:verify"]}),
    );
    let (_, token, _) = server.token(&verifier, &secret);
    let r = server.call(&token.unwrap(), "GET", "/v1/environments", None, &[]);
    assert_eq!(
        json(&r)[0].get("keys"),
        None,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[test]
fn envs_delete_refuses_while_a_live_key_lives_only_there_and_otherwise_moves_keys_out_audited() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&["envs", "create", "eu"]);
    let create = |name: &str, envs: Value| {
        server.create(
            &admin,
            json!({"name": name, "environments": envs, "permissions": ["orders:read"]}),
        )
    };
    let (alone, _) = create("eu-only", json!(["eu"]));
    let (shared, shared_secret) = create("eu-and-staging", json!(["eu", "staging"]));
    let (gone, _) = create("eu-revoked", json!(["eu"]));
    assert_eq!(
        server
            .call(
                &admin,
                "POST",
                &format!("/v1/keys/{gone}/revoke"),
                None,
                &[]
            )
            .status,
        200
    );

    // A live key lives only there: refused, nothing changed.
    let err = cli.fails(&["envs", "delete", "eu", "--yes"], 5);
    assert!(
        err.contains("1 key(s) that are not revoked live only in this environment"),
        "{err}"
    );
    let r = server.call(&admin, "GET", &format!("/v1/keys/{shared}"), None, &[]);
    assert_eq!(json(&r)["environments"], json!(["eu", "staging"]));
    // Only a super admin may delete one; an unknown one is not found.
    let (reader, secret) = server.create(
        &admin,
        json!({"name": "writer", "environments": ["eu", "staging"], "permissions": ["keys:write"]}),
    );
    let (_, token, _) = server.token(&reader, &secret);
    let r = server.call(&token.unwrap(), "DELETE", "/v1/environments/eu", None, &[]);
    assert_eq!(r.status, 403);
    cli.fails(&["envs", "delete", "nowhere", "--yes"], 4);

    assert_eq!(
        server
            .call(
                &admin,
                "POST",
                &format!("/v1/keys/{alone}/revoke"),
                None,
                &[]
            )
            .status,
        200
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{reader}/revoke"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    let deleted: Value =
        serde_json::from_str(&cli.ok(&["envs", "delete", "eu", "--yes", "--output", "json"]))
            .unwrap();
    assert_eq!(deleted["moved_keys"], json!([shared]));

    // The shared key left it: a new version, and verify no longer grants it there.
    let r = server.call(&admin, "GET", &format!("/v1/keys/{shared}"), None, &[]);
    let key = json(&r);
    assert_eq!(key["environments"], json!(["staging"]));
    assert_eq!(key["version"], 2);
    let (verifier, secret) = server.create(
        &admin,
        json!({"name": "verifier", "environments": ["staging"], "permissions": ["keys:verify"]}),
    );
    let (_, token, _) = server.token(&verifier, &secret);
    let (_, answer) = server.verify(
        &token.unwrap(),
        json!({"key": shared_secret, "environment": "staging"}),
    );
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["code"], "VALID");
    // Gone from lists; no key may be created there.
    let names: Vec<String> = json(&server.call(&admin, "GET", "/v1/environments", None, &[]))
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!names.contains(&"eu".to_owned()), "{names:?}");
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "late", "environments": ["eu"], "permissions": ["orders:read"]})),
        &[],
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    // The revoked keys keep it as a name: a caller scoped to staging still does not see them.
    let r = server.call(&admin, "GET", &format!("/v1/keys/{gone}"), None, &[]);
    assert_eq!(json(&r)["environments"], json!(["eu"]));
    let (scoped, secret) = server.create(
        &admin,
        json!({"name": "stage-reader", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let (_, token, _) = server.token(&scoped, &secret);
    let r = server.call(
        &token.unwrap(),
        "GET",
        &format!("/v1/keys/{gone}"),
        None,
        &[],
    );
    assert_eq!(r.status, 404);

    // Audited: the deletion, and the shared key's edit with what changed.
    let r = server.call(
        &admin,
        "GET",
        "/v1/audit?action=environment.delete",
        None,
        &[],
    );
    let deletion = json(&r)["items"][0].clone();
    assert_eq!(deletion["environments"], json!(["eu"]));
    assert_eq!(deletion["actor_name"], "admin");
    let r = server.call(&admin, "GET", &format!("/v1/audit?key={shared}"), None, &[]);
    let edit = json(&r)["items"][0].clone();
    assert_eq!(edit["action"], "key.edit");
    assert_eq!(edit["changed"], json!(["environments"]));
    assert_eq!(edit["environments"], json!(["eu", "staging"]));
    assert_eq!(edit["request_id"], deletion["request_id"]);

    // A write that checked the environment before it was deleted (a create racing the
    // deletion) is refused by the store itself.
    server.block_on(async {
        let mut record = server.state.store.get_key(&shared).await.unwrap().unwrap();
        let version = record.version;
        record.environments.insert("eu".to_owned());
        record.version += 1;
        let event = AuditEvent::success(server.now(), "test", "key.edit");
        let refused = server
            .state
            .store
            .update_key(&record, version, None, &event)
            .await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Conflict(Conflict::EnvironmentGone))
            ),
            "{refused:?}"
        );
    });

    // Creating it again brings the name back, with the revoked keys' tombstones (eu-only,
    // eu-revoked and writer).
    cli.ok(&["envs", "create", "eu", "--description", "again"]);
    let r = server.call(
        &admin,
        "GET",
        "/v1/keys?environment=eu&status=revoked",
        None,
        &[],
    );
    assert_eq!(json(&r)["items"].as_array().unwrap().len(), 3);
    cli.fails(&["envs", "create", "eu"], 5);
}
