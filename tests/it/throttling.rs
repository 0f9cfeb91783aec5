//! Failed token exchanges are throttled per client id and per address: 429 with `Retry-After`
//! once a subject's failures run out, answered before the secret is read and with nothing
//! written; another client's good secret still gets its token; no hard lockout.

use std::net::Ipv4Addr;

use jiff::SignedDuration;
use keyward::secret::Secret;
use serde_json::json;

use crate::harness::audit_rows;
use crate::live::{LiveServer, Options, json};

/// A secret in keyward's format (it passes the format check), belonging to no key.
fn wrong_secret() -> String {
    Secret::generate("kw_sk_").expose().to_owned()
}

#[test]
fn a_thousand_wrong_secrets_for_one_client_are_throttled_without_writes_or_lockout() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (victim, victim_secret) = server.create(
        &admin,
        json!({"name": "victim", "environments": ["staging"]}),
    );
    let (other, other_secret) = server.create(
        &admin,
        json!({"name": "other", "environments": ["staging"]}),
    );
    let failures_of = |id: &str| {
        audit_rows(&server.db)
            .into_iter()
            .filter(|r| {
                r.action == "token.exchange"
                    && r.outcome == "failure"
                    && r.actor == format!("key:{id}")
            })
            .count()
    };

    let wrong = wrong_secret();
    let mut statuses = Vec::new();
    for _ in 0..1000 {
        let (status, token, resp) = server.token(&victim, &wrong);
        assert!(token.is_none());
        if status == 429 {
            let body = json(&resp);
            assert_eq!(body["code"], "too_many_failures", "{body}");
            assert_eq!(
                resp.header("content-type"),
                Some("application/problem+json")
            );
            let wait: u64 = resp.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=6).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(status);
    }
    // The documented threshold: ten failures a client id, then 429.
    assert!(
        statuses[..10].iter().all(|s| *s == 401),
        "{:?}",
        &statuses[..12]
    );
    assert!(statuses[10..].iter().all(|s| *s == 429));
    // The throttled 990 wrote nothing; of the ten checked ones, the first was written and the
    // other nine are counted, to be written as one event when the interval is over.
    assert_eq!(failures_of(&victim), 1);

    // Another client, from the same address, gets its token at once.
    let (status, token, _) = server.token(&other, &other_secret);
    assert_eq!(status, 200);
    assert!(token.is_some());
    // The victim itself waits, even with its right secret (the secret is not read)...
    let (status, _, _) = server.token(&victim, &victim_secret);
    assert_eq!(status, 429);
    // ...but only until a failure comes back: no hard lockout.
    server.advance(SignedDuration::from_secs(6));
    let (status, token, _) = server.token(&victim, &victim_secret);
    assert_eq!(status, 200, "six seconds later the right secret works");
    assert!(token.is_some());
}

#[test]
fn an_address_spraying_client_ids_is_throttled_as_a_whole() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let wrong = wrong_secret();
    // A hundred unknown client ids, each failing once, from one address.
    for i in 0..100 {
        let (status, _, _) = server.token(&format!("key_spray{i:011}"), &wrong);
        assert_eq!(status, 401, "attempt {i}");
    }
    let (status, _, resp) = server.token("key_spray99999999999", &wrong);
    assert_eq!(status, 429);
    assert!(resp.header("retry-after").is_some());
    // Refilled over time.
    server.advance(SignedDuration::from_secs(1));
    let (status, _, _) = server.token(&server.admin_id, &server.admin_secret);
    assert_eq!(status, 200);
}

#[test]
fn keys_that_open_nothing_are_throttled_per_the_address_they_came_from() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (_, good) = server.create(&admin, json!({"name": "good", "environments": ["staging"]}));
    let verify = |key: &str, ip: &str| {
        let (status, body) = server.verify(&admin, json!({"key": key, "ip": ip}));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (status, body)
    };
    let attacker = "203.0.113.9";
    for i in 0..100 {
        let (status, body) = verify(&wrong_secret(), attacker);
        assert_eq!(
            (status, body["code"].as_str()),
            (200, Some("INVALID")),
            "attempt {i}"
        );
    }
    let (status, body) = verify(&wrong_secret(), attacker);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "too_many_failures");
    // The service's other users are not touched, nor are verifies that report no address.
    assert_eq!(verify(&good, "198.51.100.1").1["code"], "VALID");
    let (status, body) = server.verify(&admin, json!({"key": good}));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
        "VALID"
    );
    // The attacker's address gets one more try after 0.6 s; nothing is locked for good.
    server.advance(SignedDuration::from_secs(1));
    assert_eq!(verify(&good, attacker).1["code"], "VALID");
}

/// Loopback source `127.0.n.m`: another client, as far as the server can tell.
fn loopback(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n)
}

#[test]
fn another_address_failing_against_a_client_id_never_holds_back_its_owner() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (victim, victim_secret) = server.create(
        &admin,
        json!({"name": "victim-ci", "environments": ["staging"]}),
    );
    let attacker = loopback(2);
    let owner = loopback(3);
    let wrong = wrong_secret();
    // The attacker keeps the victim's id "empty" from its own address...
    for round in 0..5 {
        for _ in 0..30 {
            let (status, _, _) = server.token_from(attacker, &victim, &wrong);
            assert!(status == 401 || status == 429, "{status}");
        }
        let (status, _, resp) = server.token_from(attacker, &victim, &wrong);
        assert_eq!(status, 429, "round {round}: the attacker is throttled");
        assert!(resp.header("retry-after").is_some());
        // ...and the owner's right secret, from its own address, neither waits nor fails.
        let (status, token, resp) = server.token_from(owner, &victim, &victim_secret);
        assert_eq!(
            status,
            200,
            "round {round}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        assert!(token.is_some());
        server.advance(SignedDuration::from_secs(2));
    }
    // The owner's own address has its whole allowance: its own typo is not throttled.
    let (status, _, _) = server.token_from(owner, &victim, &wrong);
    assert_eq!(status, 401);
}

#[test]
fn unknown_sources_and_client_ids_that_are_not_key_shaped_are_throttled_too() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            trusted_proxies: vec!["127.0.0.0/8"],
            ..Options::default()
        },
    );
    let wrong = wrong_secret();
    let before = audit_rows(&server.db).len();
    // A trusted proxy forwards addresses that do not parse: every one of them is one unknown
    // source, and a client id that is no key id is counted all the same.
    let mut statuses = Vec::new();
    for i in 0..40 {
        let forwarded = format!("garbage-{i}");
        let (status, _, _) = server.token_with(
            &format!("not-a-key-{i}"),
            &wrong,
            &[("X-Forwarded-For", &forwarded)],
        );
        statuses.push(status);
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Only the checked attempts cost an audit event.
    let written = audit_rows(&server.db).len() - before;
    assert!(written <= 10, "{written} events for 10 checked attempts");
    // A known address behind the same proxy is another source, with its own allowance.
    let (status, _, _) = server.token_with(
        &server.admin_id,
        &server.admin_secret,
        &[("X-Forwarded-For", "198.51.100.7")],
    );
    assert_eq!(status, 200);
    // The malformed ids' failures are theirs: a real key from the unknown source still gets in
    // (the unknown source as a whole has 100).
    let (status, _, _) = server.token_with(
        &server.admin_id,
        &server.admin_secret,
        &[("X-Forwarded-For", "garbage")],
    );
    assert_eq!(status, 200);
}

#[test]
fn presenters_are_counted_canonically_ipv4_mapped_as_ipv4_and_ipv6_per_64() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let verify = |ip: &str| {
        server
            .verify(&admin, json!({"key": wrong_secret(), "ip": ip}))
            .0
    };
    for _ in 0..100 {
        assert_eq!(verify("203.0.113.9"), 200);
    }
    assert_eq!(verify("203.0.113.9"), 429);
    assert_eq!(
        verify("::ffff:203.0.113.9"),
        429,
        "an IPv4-mapped address is the same presenter"
    );
    for i in 0..100 {
        assert_eq!(verify(&format!("2001:db8:7:7::{:x}", i + 1)), 200);
    }
    assert_eq!(
        verify("2001:db8:7:7:ffff::1"),
        429,
        "another address of the same /64"
    );
    assert_eq!(verify("2001:db8:7:8::1"), 200, "the next /64 is another");
}

/// The `detail` of every failed `token.exchange` event, oldest first.
fn failure_details(db: &str) -> Vec<Option<String>> {
    let marked = if db.starts_with("sqlite:") {
        "CAST('-' || COALESCE(detail, '') AS BLOB)"
    } else {
        "convert_to('-' || COALESCE(detail, ''), 'UTF8')"
    };
    crate::harness::db_rows(
        db,
        &format!(
            "SELECT {marked} FROM audit_events WHERE action = 'token.exchange' AND outcome = 'failure' ORDER BY id"
        ),
    )
    .into_iter()
    .map(|b| {
        let d = String::from_utf8(b).unwrap();
        let d = d.strip_prefix('-').unwrap().to_owned();
        (!d.is_empty()).then_some(d)
    })
    .collect()
}

/// How many failures an event stands for: itself, or its count.
fn stands_for(detail: &Option<String>) -> u64 {
    match detail.as_deref().and_then(|d| d.strip_prefix("repeated=")) {
        Some(rest) => rest.split(' ').next().unwrap().parse().unwrap(),
        None => 1,
    }
}

#[test]
fn a_rotating_address_flood_costs_a_bounded_number_of_audit_rows() {
    use keyward::server::workers::failure_tally::{INTERVAL, MAX_GROUPS};
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (victim, _) = server.create(
        &admin,
        json!({"name": "flooded", "environments": ["staging"]}),
    );
    let before = failure_details(&server.db).len();
    let wrong = wrong_secret();
    // Two intervals of server time; every failure from an address of its own, each in a /24 of
    // its own (127.a.b.1): more source networks than an interval tracks.
    let seconds = 2 * INTERVAL.as_secs();
    let per_second = 60;
    let started = std::time::Instant::now();
    let mut sent = 0u64;
    for second in 0..seconds {
        for j in 0..per_second {
            let n = u32::try_from(second * per_second + j).unwrap();
            let source = Ipv4Addr::new(127, 1 + (n / 256) as u8, (n % 256) as u8, 1);
            let (status, _, _) = server.token_from(source, &victim, &wrong);
            assert_eq!(
                status, 401,
                "attempt {n}: no address is throttled, each fails once"
            );
            sent += 1;
        }
        server.advance(SignedDuration::from_secs(1));
    }
    let flood_secs = started.elapsed().as_secs_f64();
    // The last interval is over: its counts are written.
    server.advance(INTERVAL);
    server.block_on(keyward::server::workers::flusher::flush(&server.state));
    let details = failure_details(&server.db).split_off(before);
    let rows = details.len() as u64;
    // Every failure is in the log, itemized or counted...
    assert_eq!(details.iter().map(stands_for).sum::<u64>(), sent);
    // ...in at most 2 × MAX_GROUPS + 1 rows an interval, however many addresses, plus two for
    // the one real key the failures past the bound name.
    let bound = 2 * (2 * MAX_GROUPS as u64 + 1 + 2);
    assert!(rows <= bound, "{rows} rows for {sent} failures");
    eprintln!(
        "flood: {sent} failures from {sent} addresses in {seconds} s of server time ({:.0}/s offered; {:.0}/s real over {flood_secs:.1} s): {rows} audit rows, {:.1} rows/s of server time (unaggregated: {sent})",
        sent as f64 / seconds as f64,
        sent as f64 / flood_secs,
        rows as f64 / seconds as f64,
    );
    // The chain holds, the counted events included, and the CLI shows their counts.
    let mut cli = crate::harness::TestEnv::new();
    server.as_admin(&mut cli);
    let verified: serde_json::Value =
        serde_json::from_str(&cli.ok(&["audit", "verify", "--output", "json"])).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");
    let table = cli.ok(&[
        "audit",
        "--action",
        "token.exchange",
        "--outcome",
        "failure",
    ]);
    // The last interval's failures past its bound name a real key: the first of them written
    // at once, the others counted in one event under that key.
    let overflow = sent / 2 - MAX_GROUPS as u64;
    assert!(table.contains(&format!("×{}", overflow - 1)), "{table}");
}

#[test]
fn failures_from_the_owners_own_address_never_hold_back_its_right_secret() {
    let env = crate::harness::TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (victim, victim_secret) = server.create(
        &admin,
        json!({"name": "ci-behind-nat", "environments": ["staging"]}),
    );
    // One address for everyone: a NAT, a shared /64, a proxy not listed as trusted.
    let shared = loopback(7);
    // The server's cache is in use once its change feed has been read.
    for _ in 0..100 {
        let ready = json(&server.call(&admin, "GET", "/readyz", None, &[]));
        if ready["feed_age_ms"].is_number() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The key was made a moment ago: once this server's follower has read its creation (every
    // 200 ms), what the owner's exchange teaches the cache stays there.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let (status, _, _) = server.token_from(shared, &victim, &victim_secret);
    assert_eq!(status, 200, "the owner's first exchange");
    let wrong = wrong_secret();
    // Someone behind the same address guesses at the victim's id and sprays other ids, until
    // both the client id's and the address's allowance are gone.
    for i in 0..300 {
        let id = if i < 20 {
            victim.clone()
        } else {
            format!("key_{:016}", i)
        };
        let _ = server.token_from(shared, &id, &wrong);
    }
    let (status, _, _) = server.token_from(shared, &victim, &wrong);
    assert_eq!(status, 429, "the guesses are throttled");
    let (status, _, _) = server.token_from(shared, "key_0000000000000001", &wrong);
    assert_eq!(status, 429, "the address is throttled");
    // The owner's right secret, from that same address, is answered at once.
    let (status, token, resp) = server.token_from(shared, &victim, &victim_secret);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(token.is_some());
    // A key that never exchanged here is not known to be good: it waits like the guesses.
    let (fresh, fresh_secret) = server.create(
        &admin,
        json!({"name": "never-used", "environments": ["staging"]}),
    );
    let (status, _, _) = server.token_from(shared, &fresh, &fresh_secret);
    assert_eq!(status, 429);
}
