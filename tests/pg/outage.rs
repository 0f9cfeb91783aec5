//! PostgreSQL going away under a running server, and coming back: on a cluster of the test's
//! own, since stopping the run's shared one would fail every other test.

use std::time::{Duration, Instant};

use crate::harness::{HttpResponse, Server, TestEnv, http};
use crate::pg::Cluster;
use crate::replicas::{changes_reach_the_other_replica, summary, two_replicas};

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

fn ready(server: &Server) -> u16 {
    http(server.authority(), "GET", "/readyz", &[], b"").status
}

fn wait_ready(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready(server) != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after PostgreSQL came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn readiness_follows_the_database_and_nothing_is_guessed_while_it_is_down() {
    let cluster = Cluster::start();
    let env = TestEnv::new();
    let server = Server::dev(&env, Some(&cluster.create_database()), "info");
    assert_eq!(ready(&server), 200);
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let token = token.unwrap();
    let unknown = keyward::secret::Secret::generate("kw_sk_");
    let r = verify(&server, &token, unknown.expose());
    assert_eq!((r.status, code(&r)), (200, "INVALID".to_owned()));
    // A key verified once is in the server's cache (and so is the caller's token).
    let auth = format!("Bearer {token}");
    let created = http(
        server.authority(),
        "POST",
        "/v1/keys",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"name": "cached", "environments": ["staging"]}"#,
    );
    assert_eq!(created.status, 201);
    let created: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let cached = created["secret"].as_str().unwrap();
    let r = verify(&server, &token, cached);
    assert_eq!((r.status, code(&r)), (200, "VALID".to_owned()));
    // The create's own change may reach the follower after that first look-up began, which
    // then is not cached (it might be stale); once the feed is quiet, the next one is.
    std::thread::sleep(Duration::from_millis(500));
    let r = verify(&server, &token, cached);
    assert_eq!((r.status, code(&r)), (200, "VALID".to_owned()));

    cluster.stop();
    assert_eq!(ready(&server), 503, "not ready while the database is down");
    // A script gets exit 6 (unreachable, try again) and the server's reason.
    let mut script = TestEnv::new();
    server.as_admin(&mut script);
    let err = script.fails(&["keys", "list"], 6);
    assert!(err.contains("cannot reach its database"), "{err}");
    // The cached key is answered from memory: no database needed.
    for _ in 0..3 {
        let r = verify(&server, &token, cached);
        assert_eq!(
            (r.status, code(&r)),
            (200, "VALID".to_owned()),
            "{}",
            server.log_text()
        );
    }
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
    wait_ready(&server);
    let r = verify(&server, &token, unknown.expose());
    assert_eq!((r.status, code(&r)), (200, "INVALID".to_owned()));
    let r = verify(&server, &token, cached);
    assert_eq!((r.status, code(&r)), (200, "VALID".to_owned()));
}

#[test]
fn replicas_agree_again_after_postgresql_restarts_under_them() {
    let cluster = Cluster::start();
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &cluster.create_database());
    changes_reach_the_other_replica(&a, &b, 3);
    cluster.stop();
    cluster.restart();
    wait_ready(&a.server);
    wait_ready(&b.server);
    let times = changes_reach_the_other_replica(&a, &b, 20);
    eprintln!("after a restart: {}", summary(&times));
}
