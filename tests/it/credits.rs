//! Credits: exact across replicas under concurrent verifies, refilled by setting the balance,
//! changed through the API and the CLI, and spent only by a use that is otherwise allowed.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::harness::TestEnv;
use crate::live::LiveServer;
use crate::replicas::two_replicas;

#[test]
fn fifty_credits_give_exactly_fifty_valid_answers_to_a_hundred_verifies_on_two_replicas() {
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &env.database("shared.db"));
    let created = a.expect(
        201,
        "POST",
        "/v1/keys",
        Some(json!({"name": "metered", "environments": ["default"], "credits": 50})),
    );
    let secret = created["secret"].as_str().unwrap().to_owned();
    // Both replicas have the key cached before the race starts.
    let probe = |r: &crate::replicas::Replica| {
        r.expect(
            200,
            "POST",
            "/v1/verify",
            Some(json!({"key": secret, "cost": 0})),
        )
    };
    assert_eq!(probe(&a)["credits"]["remaining"], 50);
    assert_eq!(probe(&b)["credits"]["remaining"], 50);

    let codes: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..100)
            .map(|i| {
                let replica = if i % 2 == 0 { &a } else { &b };
                let secret = &secret;
                s.spawn(move || replica.verify(secret))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let valid = codes.iter().filter(|c| *c == "VALID").count();
    let exceeded = codes.iter().filter(|c| *c == "USAGE_EXCEEDED").count();
    assert_eq!((valid, exceeded), (50, 50), "{codes:?}");
    assert_eq!(probe(&b)["credits"]["remaining"], 0);
    let shown = a.expect(
        200,
        "GET",
        &format!("/v1/keys/{}", created["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(shown["credits"]["remaining"], 0);
}

#[test]
fn a_refill_sets_the_balance_and_changes_go_through_the_api_and_the_cli() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "daily", "environments": ["staging"], "credits": 2,
               "refill": {"amount": 5, "interval": "day"}}),
    );
    let verify = |body: Value| {
        let (status, bytes) = server.verify(&admin, body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    let spend = |cost: u64| verify(json!({"key": secret, "cost": cost}));

    let first = spend(1);
    assert_eq!(
        (
            first["code"].as_str(),
            first["credits"]["remaining"].as_i64()
        ),
        (Some("VALID"), Some(1))
    );
    // A check spends nothing; a use that is refused for another reason spends nothing either.
    assert_eq!(spend(0)["credits"]["remaining"], 1);
    let denied = verify(json!({"key": secret, "permission": "orders:write"}));
    assert_eq!(denied["code"], "PERMISSION_DENIED");
    assert_eq!(spend(0)["credits"]["remaining"], 1);
    // Too few for the cost: refused, the balance untouched, the refill's time given.
    let short = spend(2);
    assert_eq!(short["code"], "USAGE_EXCEEDED");
    assert_eq!(short["credits"]["remaining"], 1);
    let reset: jiff::Timestamp = short["credits"]["reset"].as_str().unwrap().parse().unwrap();
    assert!(reset > server.now() && reset <= server.now() + SignedDuration::from_hours(24));
    assert_eq!(spend(1)["credits"]["remaining"], 0);
    assert_eq!(spend(1)["code"], "USAGE_EXCEEDED");

    // Past the refill's time the balance is set to the amount (not added to), then spent.
    server.advance(SignedDuration::from_hours(24));
    // The access token lived 24 hours too: a new one, and the calls made with it.
    let admin = server.admin_token();
    let verify = |body: Value| {
        let (status, bytes) = server.verify(&admin, body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    let spend = |cost: u64| verify(json!({"key": secret, "cost": cost}));
    let refilled = spend(1);
    assert_eq!(
        (
            refilled["code"].as_str(),
            refilled["credits"]["remaining"].as_i64()
        ),
        (Some("VALID"), Some(4))
    );

    // What the verifies spent, in the key's usage: 1 + 1 the first day, 1 after the refill;
    // beside the answers, never among their codes.
    let until = server.now() + SignedDuration::from_secs(60);
    let since = until - SignedDuration::from_hours(48);
    let usage = server.call(
        &admin,
        "GET",
        &format!("/v1/keys/{id}/usage?since={since}&until={until}&bucket=day"),
        None,
        &[],
    );
    let usage: Value = serde_json::from_slice(&usage.body).unwrap();
    assert_eq!(usage["credits_spent"], 3, "{usage}");
    // Five VALID answers, two of them checks (cost 0) that spent nothing.
    assert_eq!(usage["totals"]["VALID"], 5, "{usage}");
    assert!(usage["totals"].get("spent").is_none(), "{usage}");
    let per_day: u64 = usage["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["credits_spent"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(per_day, 3);

    // Set, add, subtract (down to zero, not below) through the API.
    let change = |body: Value| {
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{id}/credits"),
            Some(&body),
            &[],
        );
        (r.status, serde_json::from_slice::<Value>(&r.body).unwrap())
    };
    assert_eq!(change(json!({"add": 10})).1["credits"]["remaining"], 14);
    assert_eq!(
        change(json!({"subtract": 100})).1["credits"]["remaining"],
        0
    );
    assert_eq!(change(json!({"set": 7})).1["credits"]["remaining"], 7);
    let (status, refused) = change(json!({"set": 1, "add": 1}));
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_credits"))
    );
    let (status, refused) = change(json!({"set": 1_000_000_000_001u64}));
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_credits"))
    );
    let r = server.call(
        &admin,
        "POST",
        "/v1/verify",
        Some(&json!({"key": secret, "cost": 1_000_000_001u64})),
        &[],
    );
    assert_eq!(r.status, 422);

    // The audit log says what each change did.
    let events = server.call(
        &admin,
        "GET",
        &format!("/v1/audit?key={id}&action=key.credits&order=oldest"),
        None,
        &[],
    );
    let events: Value = serde_json::from_slice(&events.body).unwrap();
    let done: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(done, ["add 10", "subtract 100", "set 7"]);

    // A key without credits pays nothing and says nothing of them, and gets none later: other
    // replicas would answer it unmetered from their caches until they learned of it.
    let (plain_id, plain) = server.create(
        &admin,
        json!({"name": "plain", "environments": ["staging"]}),
    );
    let answer = verify(json!({"key": plain, "cost": 5}));
    assert_eq!(answer["code"], "VALID");
    assert!(answer.get("credits").is_none(), "{answer}");
    for body in [json!({"add": 3}), json!({"set": 3})] {
        let r = server.call(
            &admin,
            "POST",
            &format!("/v1/keys/{plain_id}/credits"),
            Some(&body),
            &[],
        );
        assert_eq!(r.status, 409, "{body}");
    }
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    // The CLI's usage table has a column of credits spent, the three of both days.
    let table = cli.ok(&["keys", "usage", "daily", "--since", "2d", "--by", "day"]);
    let header = table
        .lines()
        .find(|l| l.contains("TOTAL"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(header.contains("CREDITS SPENT"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("total") && l.trim_end().ends_with(" 3")),
        "{table}"
    );
    let left = cli.ok(&["keys", "credits", "daily", "set", "3", "-q"]);
    assert_eq!(left.trim(), "3");
    let shown = cli.json(&["keys", "show", "daily"]);
    assert_eq!(shown["credits"]["remaining"], 3);
    assert_eq!(shown["credits"]["refill"]["amount"], 5);
}

#[test]
fn a_metered_key_cannot_manage_keys_so_it_can_neither_raise_its_own_nor_make_unmetered_ones() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let create = |body: Value| server.call(&admin, "POST", "/v1/keys", Some(&body), &[]);
    // Credits or rate limits together with keys:write or admin: refused, nothing written.
    for body in [
        json!({"name": "metered-writer", "environments": ["staging"], "credits": 2,
               "permissions": ["keys:write"]}),
        json!({"name": "metered-writer", "environments": ["staging"],
               "refill": {"amount": 5, "interval": "day"}, "permissions": ["keys:write"]}),
        json!({"name": "metered-writer", "environments": ["staging"],
               "ratelimits": [{"name": "requests", "limit": 1, "window_secs": 86400}],
               "permissions": ["keys:write", "keys:read"]}),
        json!({"name": "metered-writer", "environments": ["staging"], "credits": 2,
               "permissions": ["admin"]}),
    ] {
        let r = create(body.clone());
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 422, "{body}: {text}");
        assert!(text.contains("metered_manager"), "{text}");
    }
    let listed = server.call(&admin, "GET", "/v1/keys?name=metered-writer", None, &[]);
    let listed: Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);

    // Nor can an edit make one: keys:write given to a metered key, or limits to a manager.
    let (metered, _) = server.create(
        &admin,
        json!({"name": "metered", "environments": ["staging"], "credits": 2,
               "permissions": ["keys:read"]}),
    );
    let (manager, _) = server.create(
        &admin,
        json!({"name": "manager", "environments": ["staging"], "permissions": ["keys:write"]}),
    );
    for (id, body) in [
        (
            &metered,
            json!({"permissions": ["keys:read", "keys:write"]}),
        ),
        (
            &manager,
            json!({"ratelimits": [{"name": "requests", "limit": 1, "window_secs": 60}]}),
        ),
    ] {
        let r = server.call(
            &admin,
            "PATCH",
            &format!("/v1/keys/{id}"),
            Some(&body),
            &[("If-Match", "1")],
        );
        assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    }
    // A metered key's credits are raised by a manager, never by itself (it holds no keys:write).
    let change = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{metered}/credits"),
        Some(&json!({"add": 10})),
        &[],
    );
    assert_eq!(change.status, 200);
    let shown = server.call(&admin, "GET", &format!("/v1/keys/{metered}"), None, &[]);
    let shown: Value = serde_json::from_slice(&shown.body).unwrap();
    assert_eq!(shown["credits"]["remaining"], 12);
}

#[test]
fn a_caller_with_less_cannot_change_the_credits_of_a_key_beyond_it() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (writer_id, writer_secret) = server.create(
        &admin,
        json!({"name": "staging-writer", "environments": ["staging"],
               "permissions": ["keys:write", "keys:read"]}),
    );
    let (status, token, _) = server.token(&writer_id, &writer_secret);
    assert_eq!(status, 200);
    let writer = token.unwrap();
    // A key in an environment the writer does not reach, and one holding a permission it lacks.
    let (elsewhere, _) = server.create(
        &admin,
        json!({"name": "prod-metered", "environments": ["production"], "credits": 5}),
    );
    let (stronger, _) = server.create(
        &admin,
        json!({"name": "refunder", "environments": ["staging"], "credits": 5,
               "permissions": ["payments:refund"]}),
    );
    let change = |id: &str| {
        server
            .call(
                &writer,
                "POST",
                &format!("/v1/keys/{id}/credits"),
                Some(&json!({"add": 100})),
                &[],
            )
            .status
    };
    assert_eq!(change(&elsewhere), 404);
    assert_eq!(change(&stronger), 403);
    for id in [&elsewhere, &stronger] {
        let shown = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
        let shown: Value = serde_json::from_slice(&shown.body).unwrap();
        assert_eq!(shown["credits"]["remaining"], 5, "{id}");
    }
}
