//! The OpenAPI document: the one a server answers at `/v1/openapi.json` is the one committed as
//! `openapi.json`, and it describes every endpoint the server routes, each error as a problem.
//! (schemathesis, run by `.ci/run`, checks the server's answers against it.)

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::harness::{Server, TestEnv, http};

#[test]
fn the_committed_document_is_the_one_the_server_answers() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let served = http(server.authority(), "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("application/json"));
    let committed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json"))
        .expect("openapi.json is missing; make it with: ./scripts/generate");
    assert!(
        committed == served.body,
        "openapi.json differs from what the server answers at /v1/openapi.json; refresh it with: ./scripts/generate"
    );

    let doc: Value = serde_json::from_slice(&served.body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let routed = [
        "GET /healthz",
        "GET /readyz",
        "GET /v1/openapi.json",
        "POST /v1/oauth/token",
        "GET /v1/whoami",
        "GET /v1/permissions",
        "GET /v1/environments",
        "POST /v1/environments",
        "GET /v1/keys",
        "POST /v1/keys",
        "GET /v1/keys/{id}",
        "PATCH /v1/keys/{id}",
        "POST /v1/keys/{id}/disable",
        "POST /v1/keys/{id}/enable",
        "POST /v1/keys/{id}/rotate",
        "POST /v1/keys/{id}/revoke",
        "POST /v1/keys/{id}/credits",
        "POST /v1/verify",
        "GET /v1/authz",
        "GET /v1/audit",
        "GET /v1/audit/verify",
        "GET /v1/audit/checkpoint",
        "GET /v1/keys/{id}/usage",
        "DELETE /v1/environments/{name}",
    ]
    .map(str::to_owned)
    .into_iter()
    .collect::<BTreeSet<_>>();
    assert_eq!(operations, routed);

    // Each error answer of each operation is a problem, and a token-guarded one names 401.
    let problem = |response: &Value| -> bool {
        let response = match response["$ref"].as_str() {
            Some(r) => &doc["components"]["responses"][r.rsplit('/').next().unwrap()],
            None => response,
        };
        response["content"]["application/problem+json"]["schema"]["$ref"]
            == "#/components/schemas/Problem"
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                let code: u16 = status.parse().unwrap();
                let health_503 = path == "/readyz" && code == 503;
                if code >= 400 && !health_503 {
                    assert!(
                        problem(response),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
            let guarded = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if guarded {
                assert!(responses.contains_key("401"), "{method} {path} has no 401");
            }
            // A path naming a thing can name one that does not exist.
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} has no 404");
            }
        }
    }
}

#[test]
fn the_served_document_needs_no_token_and_is_not_cached() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let served = http(server.authority(), "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(served.status, 200);
    assert_eq!(served.header("cache-control"), Some("no-store"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
}
