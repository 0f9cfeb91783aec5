//! PostgreSQL going away under a running server, and coming back: on a cluster of the test's
//! own, since stopping the run's shared one would fail every other test.

use std::time::{Duration, Instant};

use crate::harness::{HttpResponse, Server, TestEnv, http};
use crate::pg::Cluster;

fn verify(server: &Server, token: &str, key: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    http(
        server.authority(),
        "POST",
        "/v1/verify",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        serde_json::json!({ "key": key }).to_string().as_bytes(),
    )
}

fn code(r: &HttpResponse) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn readiness_follows_the_database_and_nothing_is_guessed_while_it_is_down() {
    let cluster = Cluster::start();
    let env = TestEnv::new();
    let server = Server::dev(&env, Some(&cluster.create_database()), "info");
    let ready = |s: &Server| http(s.authority(), "GET", "/readyz", &[], b"").status;
    assert_eq!(ready(&server), 200);
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let token = token.unwrap();
    let unknown = keyward::secret::Secret::generate("kw_sk_");
    let r = verify(&server, &token, unknown.expose());
    assert_eq!((r.status, code(&r)), (200, "INVALID".to_owned()));

    cluster.stop();
    assert_eq!(ready(&server), 503, "not ready while the database is down");
    // A key the server cannot look up is not called invalid: 503, a problem that says why.
    let r = verify(&server, &token, unknown.expose());
    assert_eq!(r.status, 503);
    assert_eq!(code(&r), "database_unavailable");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{:?}",
        r.headers
    );
    assert_eq!(ready(&server), 503);

    // Back by itself once the database is: no restart of keyward.
    cluster.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready(&server) != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after PostgreSQL came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = verify(&server, &token, unknown.expose());
    assert_eq!((r.status, code(&r)), (200, "INVALID".to_owned()));
}
