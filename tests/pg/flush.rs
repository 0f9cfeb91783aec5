//! Two replicas flushing last-used times for the same busy keys at once: each flush writes its
//! keys in one statement per chunk, in key order, after locking their rows in id order, so
//! neither waits for the other in a cycle (no PostgreSQL deadlock, 40P01), and a revoke made
//! meanwhile is not held up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use keyward::server::store;

use crate::harness::TestEnv;
use crate::live::LiveServer;

/// How long the replicas flush: `KEYWARD_FLUSH_SOAK_SECS`, 10 s unless told (README: a run of
/// 60 s).
fn soak() -> Duration {
    Duration::from_secs(
        std::env::var("KEYWARD_FLUSH_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    )
}

#[test]
fn two_replicas_flushing_the_same_keys_never_deadlock_and_a_revoke_is_not_held_up() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let at = server.now();
    let ids: Vec<String> = server.block_on(async {
        let state = &server.state;
        for name in keyward::server::seed::ENVIRONMENTS {
            keyward::server::dev::ensure_environment(state, name, "seeded", "test")
                .await
                .unwrap();
        }
        keyward::server::seed::seed(state.store.as_ref(), &state.pepper, 1_000, at, |_| {})
            .await
            .unwrap();
        let filter = store::KeyFilter {
            limit: 1_000,
            now: at,
            ..Default::default()
        };
        state
            .store
            .list_keys(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect()
    });
    assert_eq!(ids.len(), 1_000);
    let replicas: Vec<_> = (0..2)
        .map(|_| server.block_on(store::open(&server.db)).unwrap())
        .collect();
    let running = AtomicBool::new(true);
    let admin = server.admin_token();
    let revoke_took = std::thread::scope(|s| {
        let flushers: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(r, replica)| {
                let (ids, running, server) = (&ids, &running, &server);
                s.spawn(move || {
                    let mut flushes = 0u64;
                    let mut n = 0i64;
                    while running.load(Ordering::Acquire) {
                        n += 1;
                        // Each replica notes the keys in its own order, as its requests came.
                        let mut uses: Vec<_> = ids
                            .iter()
                            .map(|id| {
                                let when = at + SignedDuration::from_millis(n);
                                (id.clone(), when, Some(format!("192.0.2.{}", r + 1)))
                            })
                            .collect();
                        if r == 1 {
                            uses.reverse();
                        }
                        server
                            .block_on(replica.record_last_used(&uses))
                            .unwrap_or_else(|e| panic!("replica {r}'s flush failed: {e:?}"));
                        flushes += 1;
                    }
                    flushes
                })
            })
            .collect();
        std::thread::sleep(soak() / 2);
        // A revoke of one of the busy keys, in the middle of it all, answers within a second.
        let id = &ids[500];
        let started = Instant::now();
        let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
        let took = started.elapsed();
        assert_eq!(r.status, 200);
        std::thread::sleep(soak() / 2);
        running.store(false, Ordering::Release);
        let flushes: Vec<u64> = flushers.into_iter().map(|f| f.join().unwrap()).collect();
        assert!(flushes.iter().all(|n| *n > 1), "{flushes:?}");
        eprintln!("flushes of 1,000 keys per replica: {flushes:?}; the revoke took {took:?}");
        took
    });
    assert!(revoke_took < Duration::from_secs(1), "{revoke_took:?}");
}
