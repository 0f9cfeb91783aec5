//! `--expires-in` is counted on the server's clock with fixed-length units, so a client clock
//! that runs ahead, or a leap day in the coming year, cannot push `365d` or `1y` past the
//! maximum.

use jiff::SignedDuration;
use serde_json::Value;

use crate::harness::TestEnv;
use crate::live::LiveServer;

fn expires_at(key: &Value) -> jiff::Timestamp {
    key["expires_at"].as_str().unwrap().parse().unwrap()
}

#[test]
fn expires_in_is_counted_on_the_servers_clock() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    // The server's clock is two minutes behind this machine's: a client that turned 365d into a
    // date itself would ask for two minutes more than the server allows.
    server.advance(SignedDuration::from_mins(-2));
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    for (name, duration) in [("by-days", "365d"), ("by-year", "1y")] {
        let key = cli.json(&[
            "keys",
            "create",
            "--name",
            name,
            "--env",
            "staging",
            "--expires-in",
            duration,
            "--no-store",
        ]);
        assert_eq!(
            expires_at(&key),
            server.now() + SignedDuration::from_hours(24 * 365),
            "{duration}"
        );
    }
    // The same for enable and rotate.
    cli.ok(&["keys", "disable", "by-days", "--yes"]);
    let key = cli.json(&["keys", "enable", "by-days", "--expires-in", "90d"]);
    assert_eq!(
        expires_at(&key),
        server.now() + SignedDuration::from_hours(24 * 90)
    );
    let key = cli.json(&[
        "keys",
        "rotate",
        "by-days",
        "--expires-in",
        "1y",
        "--no-store",
    ]);
    assert_eq!(
        expires_at(&key),
        server.now() + SignedDuration::from_hours(24 * 365)
    );
    // One day more is refused by the server, whatever the client's clock.
    let err = cli.fails(
        &[
            "keys",
            "create",
            "--name",
            "too-far",
            "--env",
            "staging",
            "--expires-in",
            "366d",
        ],
        2,
    );
    assert!(err.contains("at most 365 days"), "{err}");
}
