//! A caller scoped to `staging` cannot see or touch a `production` key (the same 404 as a key
//! that does not exist), and nobody grants more than they hold (403).

use serde_json::json;

use crate::harness::TestEnv;
use crate::live::LiveServer;

/// An operation on one key: method, path after the id, body, extra headers.
type Op = (
    &'static str,
    &'static str,
    Option<serde_json::Value>,
    Vec<(&'static str, &'static str)>,
);

const STAFF: [&str; 4] = ["keys:read", "keys:write", "keys:revoke", "keys:verify"];

#[test]
fn a_staging_caller_gets_the_same_404_for_production_keys() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (prod_id, prod_secret) = server.create(
        &admin,
        json!({"name": "prod", "environments": ["production"]}),
    );
    let (both_id, _) = server.create(
        &admin,
        json!({"name": "both", "environments": ["production", "staging"]}),
    );
    let (staging_id, staging_secret) = server.create(
        &admin,
        json!({"name": "stager", "environments": ["staging"], "permissions": STAFF}),
    );
    let (_, token, _) = server.token(&staging_id, &staging_secret);
    let token = token.unwrap();
    let missing = "key_0000000000000000";

    let ops: [Op; 6] = [
        ("GET", "", None, vec![]),
        (
            "PATCH",
            "",
            Some(json!({"description": "x"})),
            vec![("If-Match", "\"1\"")],
        ),
        ("POST", "/disable", Some(json!({})), vec![]),
        ("POST", "/enable", Some(json!({})), vec![]),
        ("POST", "/rotate", Some(json!({})), vec![]),
        ("POST", "/revoke", Some(json!({})), vec![]),
    ];
    for (method, suffix, body, headers) in &ops {
        let answer = |id: &str| {
            let r = server.call(
                &token,
                method,
                &format!("/v1/keys/{id}{suffix}"),
                body.as_ref(),
                headers,
            );
            (r.status, r.body)
        };
        let for_missing = answer(missing);
        assert_eq!(for_missing.0, 404, "{method} {suffix}");
        assert_eq!(
            answer(&prod_id),
            for_missing,
            "{method} {suffix} on production"
        );
        assert_eq!(
            answer(&both_id),
            for_missing,
            "{method} {suffix} on production+staging"
        );
    }
    // The production key still works: nothing happened to it.
    assert_eq!(server.token(&prod_id, &prod_secret).0, 200);

    // Listing shows only staging keys; verify treats a production key as unknown.
    let list = server.call(&token, "GET", "/v1/keys?limit=100", None, &[]);
    let names: Vec<String> = crate::live::json(&list)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["stager"]);
    let (_, body) = server.verify(&token, json!({"key": prod_secret}));
    assert_eq!(body, br#"{"valid":false,"code":"INVALID"}"#.to_vec());

    // And through the CLI: exit 4, like a missing key.
    let cli = server.cli_as(&staging_id, &staging_secret);
    cli.fails(&["keys", "show", &prod_id], 4);
    cli.fails(&["keys", "revoke", &prod_id, "--yes"], 4);
    cli.fails(&["keys", "show", "prod"], 4);
}

#[test]
fn nobody_grants_more_than_they_hold() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (caller, secret) = server.create(
        &admin,
        json!({"name": "limited", "environments": ["staging"], "permissions": ["keys:read", "keys:write", "orders:read"]}),
    );
    let (_, token, _) = server.token(&caller, &secret);
    let token = token.unwrap();
    let create =
        |body: serde_json::Value| server.call(&token, "POST", "/v1/keys", Some(&body), &[]);

    // Within what it holds: fine.
    let ok =
        create(json!({"name": "sub", "environments": ["staging"], "permissions": ["orders:read"]}));
    assert_eq!(ok.status, 201);
    let sub_id = crate::live::json(&ok)["id"].as_str().unwrap().to_owned();

    for (what, body) in [
        (
            "a permission it lacks",
            json!({"name": "a", "environments": ["staging"], "permissions": ["orders:write"]}),
        ),
        (
            "a built-in it lacks",
            json!({"name": "b", "environments": ["staging"], "permissions": ["keys:revoke"]}),
        ),
        (
            "admin",
            json!({"name": "c", "environments": ["staging"], "permissions": ["admin"]}),
        ),
        (
            "an environment it lacks",
            json!({"name": "d", "environments": ["production"]}),
        ),
        (
            "one more environment",
            json!({"name": "e", "environments": ["staging", "production"]}),
        ),
    ] {
        let r = create(body);
        assert_eq!(
            r.status,
            403,
            "granting {what}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // Editing its own-environment key into more than it holds is refused too.
    for (what, body) in [
        (
            "a permission",
            json!({"permissions": ["orders:read", "payments:refund"]}),
        ),
        (
            "an environment",
            json!({"environments": ["staging", "production"]}),
        ),
    ] {
        let r = server.call(
            &token,
            "PATCH",
            &format!("/v1/keys/{sub_id}"),
            Some(&body),
            &[("If-Match", "\"1\"")],
        );
        assert_eq!(r.status, 403, "editing in {what}");
    }
    // Without keys:revoke it cannot revoke, without admin it cannot create environments.
    let r = server.call(
        &token,
        "POST",
        &format!("/v1/keys/{sub_id}/revoke"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(r.status, 403);
    let r = server.call(
        &token,
        "POST",
        "/v1/environments",
        Some(&json!({"name": "mine"})),
        &[],
    );
    assert_eq!(r.status, 403);

    // The CLI says 3 for "not allowed".
    let cli = server.cli_as(&caller, &secret);
    let err = cli.fails(
        &[
            "keys",
            "create",
            "--name",
            "f",
            "--env",
            "staging",
            "--permission",
            "orders:write",
        ],
        3,
    );
    assert!(err.contains("orders:write"), "{err}");
}
