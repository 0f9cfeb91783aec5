//! PostgreSQL hands out sequence numbers when a row is written, not when its transaction
//! commits: a change can become visible after a later one was read. A follower must not skip it.

use std::time::Duration;

use serde_json::json;
use sqlx::{Connection, Executor};

use crate::harness::TestEnv;
use crate::replicas::{BOUND, two_replicas};

#[test]
fn a_change_that_commits_after_a_later_one_still_reaches_the_cache() {
    let env = TestEnv::new();
    let database = env.database("feed");
    let (a, b) = two_replicas(&env, &database);
    let made = |name: &str| {
        let k = a.expect(
            201,
            "POST",
            "/v1/keys",
            Some(json!({"name": name, "environments": ["default"]})),
        );
        (
            k["id"].as_str().unwrap().to_owned(),
            k["secret"].as_str().unwrap().to_owned(),
        )
    };
    let (slow_id, slow_secret) = made("slow");
    let (fast_id, _) = made("fast");
    // B has the slow key cached (once the creates' own changes have gone by).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(b.verify(&slow_secret), "VALID");
    assert_eq!(b.verify(&slow_secret), "VALID");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conn = runtime
        .block_on(sqlx::PgConnection::connect(&database))
        .unwrap();
    let mut tx = runtime.block_on(conn.begin()).unwrap();
    // A writer that took its sequence number and has not committed yet: it disables the slow
    // key, the way keyward's own writes do (the row, then the change, in one transaction).
    runtime
        .block_on(tx.execute(
            format!(
                "UPDATE keys SET status = 'disabled', version = version + 1 WHERE id = '{slow_id}'; \
                 INSERT INTO changes (at, kind, key_id) VALUES (0, 'key', '{slow_id}')"
            )
            .as_str(),
        ))
        .unwrap();
    // Meanwhile a later change commits, and B's follower reads it, several polls' worth.
    a.expect(200, "POST", &format!("/v1/keys/{fast_id}/disable"), None);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(b.verify(&slow_secret), "VALID", "nothing committed yet");

    runtime.block_on(tx.commit()).unwrap();
    b.time_until(&slow_secret, "DISABLED", BOUND);
}

#[test]
fn a_gap_held_open_does_not_hold_up_the_changes_after_it_past_a_full_batch() {
    let env = TestEnv::new();
    let database = env.database("feed");
    let (a, b) = two_replicas(&env, &database);
    let k = a.expect(
        201,
        "POST",
        "/v1/keys",
        Some(json!({"name": "watched", "environments": ["default"]})),
    );
    let (id, secret) = (
        k["id"].as_str().unwrap().to_owned(),
        k["secret"].as_str().unwrap().to_owned(),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(b.verify(&secret), "VALID");
    assert_eq!(b.verify(&secret), "VALID");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut held = runtime
        .block_on(sqlx::PgConnection::connect(&database))
        .unwrap();
    let mut tx = runtime.block_on(held.begin()).unwrap();
    // A number taken and not committed: a gap the follower waits for (up to 10 s)...
    runtime
        .block_on(
            tx.execute("INSERT INTO changes (at, kind, key_id) VALUES (0, 'key', 'key_none')"),
        )
        .unwrap();
    // ...while more than a batch of changes commits after it (as a large environment delete
    // would write),
    let mut other = runtime
        .block_on(sqlx::PgConnection::connect(&database))
        .unwrap();
    runtime
        .block_on(other.execute(
            "INSERT INTO changes (at, kind, key_id) \
             SELECT 0, 'key', 'key_filler' || g FROM generate_series(1, 1500) g",
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // ...and then a revocation: it reaches B within the bound, the gap still open.
    a.expect(200, "POST", &format!("/v1/keys/{id}/revoke"), None);
    b.time_until(&secret, "REVOKED", BOUND);
    runtime.block_on(tx.rollback()).unwrap();
}
