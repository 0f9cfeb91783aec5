//! Replicas behind PgBouncer in transaction mode, where LISTEN does not work and a statement
//! prepared in one transaction is gone (or someone else's) in the next: the poll carries the
//! change feed, and every statement is unnamed and inside a transaction.

use crate::harness::TestEnv;
use crate::replicas::{changes_reach_the_other_replica, summary, two_replicas};

#[test]
fn replicas_through_pgbouncer_in_transaction_mode_agree_within_a_second() {
    let cluster = crate::pg::cluster();
    let bouncer = cluster.pgbouncer();
    let direct = cluster.create_database();
    let name = direct.rsplit('/').next().unwrap();
    let env = TestEnv::new();
    // The schema is made through PgBouncer too, by the bootstrap.
    let (a, b) = two_replicas(&env, &bouncer.url(name));
    let times = changes_reach_the_other_replica(&a, &b, 20);
    eprintln!("through PgBouncer: {}", summary(&times));
    // Listing and searching, which read without the cache, work as well.
    let listed = a.expect(200, "GET", "/v1/keys?q=replicated&status=revoked", None);
    assert_eq!(listed["items"].as_array().unwrap().len(), 20);
    assert!(
        !a.server.log_text().contains("prepared statement"),
        "{}",
        a.server.log_text()
    );
}
