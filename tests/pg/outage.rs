//! PostgreSQL going away under a running server, and coming back: on a cluster of the test's
//! own, since stopping the run's shared one would fail every other test.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Server, TestEnv, http};
use crate::pg::Cluster;
use crate::replicas::{Caller, changes_reach_the_other_replica, summary, two_replicas};

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
    let admin = Caller::new(&server, token.unwrap());
    let unknown = keyward::secret::Secret::generate("kw_sk_");
    let unknown = unknown.expose();
    assert_eq!(admin.verify(unknown), "INVALID");
    // A key verified once is in the server's cache (and so is the caller's token).
    let created = admin.expect(
        201,
        "POST",
        "/v1/keys",
        Some(json!({"name": "cached", "environments": ["staging"]})),
    );
    let cached = created["secret"].as_str().unwrap();
    assert_eq!(admin.verify(cached), "VALID");
    // The create's own change may reach the follower after that first look-up began, which
    // then is not cached (it might be stale); once the feed is quiet, the next one is.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(admin.verify(cached), "VALID");

    cluster.stop();
    let stopped = Instant::now();
    // The cached key is answered from memory while the cache is fresh (the change feed was
    // read within max_staleness, 5 s by default): no database needed.
    for _ in 0..3 {
        assert_eq!(admin.verify(cached), "VALID", "{}", server.log_text());
    }
    assert!(
        stopped.elapsed() < Duration::from_secs(4),
        "too slow to tell"
    );
    assert_eq!(ready(&server), 503, "not ready while the database is down");
    // A script gets exit 6 (unreachable, try again) and the server's reason.
    let mut script = TestEnv::new();
    server.as_admin(&mut script);
    let err = script.fails(&["keys", "list"], 6);
    assert!(err.contains("cannot reach its database"), "{err}");
    // A key the server cannot look up is not called invalid: 503, a problem that says why.
    let r = admin.call("POST", "/v1/verify", Some(json!({ "key": unknown })), &[]);
    assert_eq!(r.status, 503);
    let problem: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(problem["code"], "database_unavailable");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{:?}",
        r.headers
    );
    assert_eq!(ready(&server), 503);
    // Past max_staleness the cache no longer answers: the cached key too is 503, never a
    // VALID that a revocation elsewhere might have made untrue.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(stopped.elapsed()));
    let r = admin.call("POST", "/v1/verify", Some(json!({ "key": cached })), &[]);
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));

    // Back by itself once the database is: no restart of keyward.
    cluster.restart();
    wait_ready(&server);
    assert_eq!(admin.verify(unknown), "INVALID");
    assert_eq!(admin.verify(cached), "VALID");
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
