//! Rate limits: a key limited to 10 per minute gets exactly 10 of 12 and is whole again a
//! window later (test clock); two real servers on one database share their counts and, flooded
//! at once, pass exactly the limit between them; limits are checked, shown and edited through the API
//! and the CLI; a key cannot change its own.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::live::LiveServer;
use crate::replicas::{Replica, two_replicas};

#[test]
fn ten_a_minute_gives_ten_of_twelve_and_is_whole_again_a_window_later() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "limited", "environments": ["staging"],
               "ratelimits": [{"name": "requests", "limit": 10, "window_secs": 60}]}),
    );
    let verify = || {
        let (status, bytes) = server.verify(&admin, json!({"key": secret}));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    let answers: Vec<Value> = (0..12).map(|_| verify()).collect();
    let codes: Vec<&str> = answers
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes[..10], ["VALID"; 10], "{codes:?}");
    assert_eq!(codes[10..], ["RATE_LIMITED"; 2], "{codes:?}");
    assert_eq!(answers[9]["valid"], true);
    assert_eq!(answers[9]["ratelimit"]["remaining"], 0);
    assert_eq!(answers[0]["ratelimit"]["remaining"], 9);

    let limited = &answers[11];
    assert_eq!(limited["valid"], false);
    assert_eq!(limited["ratelimit"]["name"], "requests");
    assert_eq!(limited["ratelimit"]["limit"], 10);
    assert_eq!(limited["ratelimit"]["remaining"], 0);
    let reset: Timestamp = limited["ratelimit"]["reset"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > server.now(), "reset {reset} is not in the future");
    assert_eq!(limited["ratelimit"]["retry_after_secs"], 60);

    // Just short of a minute it is still limited; a minute later it is whole again.
    server.advance(SignedDuration::from_secs(59));
    assert_eq!(verify()["code"], "RATE_LIMITED");
    server.advance(SignedDuration::from_secs(1));
    let again = verify();
    assert_eq!(again["code"], "VALID", "{again}");
    assert_eq!(again["ratelimit"]["remaining"], 9);

    // Refused uses are counted in the key's usage, by their own code.
    server.flush_last_used();
    let until = server.now() + SignedDuration::from_secs(60);
    let since = until - SignedDuration::from_hours(1);
    let usage = server.call(
        &admin,
        "GET",
        &format!("/v1/keys/{id}/usage?since={since}&until={until}&bucket=day"),
        None,
        &[],
    );
    let usage: Value = serde_json::from_slice(&usage.body).unwrap();
    assert_eq!(usage["totals"]["VALID"], 11, "{usage}");
    assert_eq!(usage["totals"]["RATE_LIMITED"], 3, "{usage}");
}

#[test]
fn a_rate_limited_use_spends_no_credits_and_a_use_short_of_credits_no_room() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let key = |name: &str, credits: u64, limit: u64| {
        server.create(
            &admin,
            json!({"name": name, "environments": ["staging"], "credits": credits,
                   "ratelimits": [{"name": "requests", "limit": limit, "window_secs": 60}]}),
        )
    };
    let verify = |secret: &str, cost: u64| {
        let (_, bytes) = server.verify(&admin, json!({"key": secret, "cost": cost}));
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    let remaining = |id: &str| {
        let shown = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
        serde_json::from_slice::<Value>(&shown.body).unwrap()["credits"]["remaining"].clone()
    };

    // Refused by the rate limit: no credit spent.
    let (id, secret) = key("rich", 5, 2);
    let over = verify(&secret, 3);
    assert_eq!(over["code"], "RATE_LIMITED", "{over}");
    // A cost larger than the limit never fits: no time to retry after.
    assert!(
        over["ratelimit"].get("retry_after_secs").is_none(),
        "{over}"
    );
    assert_eq!(verify(&secret, 1)["code"], "VALID");
    assert_eq!(verify(&secret, 1)["code"], "VALID");
    let limited = verify(&secret, 1);
    assert_eq!(limited["code"], "RATE_LIMITED", "{limited}");
    assert!(limited.get("credits").is_none(), "{limited}");
    assert_eq!(remaining(&id), 3);

    // Refused for want of credits: the rate limit gets the use back.
    let (_, secret) = key("poor", 1, 10);
    let short = verify(&secret, 2);
    assert_eq!(short["code"], "USAGE_EXCEEDED", "{short}");
    let spent = verify(&secret, 1);
    assert_eq!(
        (
            spent["code"].as_str(),
            spent["ratelimit"]["remaining"].as_u64()
        ),
        (Some("VALID"), Some(9)),
        "{spent}"
    );
}

#[test]
fn limits_are_checked_and_a_bad_one_writes_nothing() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let limit = |name: &str, limit: u64, window: u64| json!({"name": name, "limit": limit, "window_secs": window});
    let nine: Vec<Value> = (0..9).map(|i| limit(&format!("l{i}"), 1, 1)).collect();
    for (bad, why) in [
        (json!([limit("requests", 0, 60)]), "limit must be 1"),
        (json!([limit("requests", 10, 0)]), "window must be 1 second"),
        (
            json!([limit("requests", 10, 32 * 86_400)]),
            "window must be 1 second",
        ),
        (json!([limit("Requests!", 10, 60)]), "name is 1 to 32"),
        (json!([limit("a", 1, 1), limit("a", 2, 2)]), "named twice"),
        (json!(nine), "at most 8"),
    ] {
        let r = server.call(
            &admin,
            "POST",
            "/v1/keys",
            Some(&json!({"name": "bad", "environments": ["staging"], "ratelimits": bad})),
            &[],
        );
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 422, "{bad}: {body}");
        assert!(
            body.contains("invalid_ratelimit") && body.contains(why),
            "{body}"
        );
    }
    let listed = server.call(&admin, "GET", "/v1/keys?name=bad", None, &[]);
    let listed: Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
}

#[test]
fn the_cli_sets_shows_and_edits_limits() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "cli-limited",
        "--env",
        "staging",
        "--no-store",
        "--ratelimit",
        "requests=100/1m",
        "--ratelimit",
        "daily=10000/1d",
    ]);
    let shown = cli.ok(&["keys", "show", "cli-limited"]);
    assert!(shown.contains("requests=100/1m, daily=10000/1d"), "{shown}");
    cli.ok(&[
        "keys",
        "edit",
        "cli-limited",
        "--ratelimit",
        "requests=200/1m",
        "--remove-ratelimit",
        "daily",
        "--ratelimit",
        "burst=5/10s",
    ]);
    let shown = cli.json(&["keys", "show", "cli-limited"]);
    assert_eq!(
        shown["ratelimits"],
        json!([{"name": "requests", "limit": 200, "window_secs": 60},
               {"name": "burst", "limit": 5, "window_secs": 10}])
    );
    let out = cli.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--ratelimit",
            "requests=100",
        ],
        2,
    );
    assert!(out.contains("NAME=LIMIT/WINDOW"), "{out}");
    cli.ok(&["keys", "edit", "cli-limited", "--no-ratelimits"]);
    let shown = cli.json(&["keys", "show", "cli-limited"]);
    assert!(shown.get("ratelimits").is_none(), "{shown}");
}

/// Verifies `secret` `n` times at each replica at once; how many were `VALID`.
fn flood(a: &Replica, b: &Replica, secret: &str, n: usize) -> usize {
    std::thread::scope(|s| {
        let threads: Vec<_> = [a, b]
            .into_iter()
            .flat_map(|replica| {
                (0..4).map(move |_| {
                    s.spawn(move || {
                        (0..n / 4)
                            .filter(|_| replica.verify(secret) == "VALID")
                            .count()
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    })
}

#[test]
fn two_servers_share_their_counts_and_a_flood_at_both_passes_the_limit_and_no_more() {
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &env.database("shared.db"));
    // Each server hears of the other within three syncs (one a second).
    std::thread::sleep(Duration::from_millis(3_200));
    let limited = |name: &str, limit: u64| {
        let created = a.expect(
            201,
            "POST",
            "/v1/keys",
            Some(json!({"name": name, "environments": ["default"],
                        "ratelimits": [{"name": "requests", "limit": limit, "window_secs": 600}]})),
        );
        created["secret"].as_str().unwrap().to_owned()
    };

    // Uses at A reach B's count within a few rounds.
    let secret = limited("shared", 10);
    let passed = (0..4).filter(|_| a.verify(&secret) == "VALID").count();
    assert_eq!(passed, 4);
    let started = Instant::now();
    loop {
        let at_b = b.call(
            "POST",
            "/v1/verify",
            Some(json!({"key": secret, "cost": 0})),
            &[],
        );
        let at_b: Value = serde_json::from_slice(&at_b.body).unwrap();
        if at_b["ratelimit"]["remaining"] == 6 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "B still sees {at_b} after 3 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A flood at both at once: together they pass exactly the limit, never more.
    let limit = 100;
    let secret = limited("flooded", limit);
    let valid = flood(&a, &b, &secret, 400);
    assert!(valid as u64 <= limit, "{valid} passed, limit {limit}");
    assert!(valid as u64 >= limit / 2, "{valid} passed");
    // A few rounds later the reservations the other held are given back: the whole limit is
    // used between them and nothing more passes.
    std::thread::sleep(Duration::from_millis(3_500));
    let more = flood(&a, &b, &secret, 400);
    let total = valid + more;
    assert_eq!(total as u64, limit, "{valid} then {more} passed");
    eprintln!("two replicas, limit {limit}: {valid} passed the flood, {total} in all");
}
