//! A key's `owner` and `meta`: kept and answered byte for byte (create, show, verify, list by
//! owner, bulk by owner), refused past their bounds with nothing written, cleared by `null`,
//! and an edit of either reaching another replica's verify within the bound.

use serde_json::{Value, json};

use crate::harness::{HttpResponse, TestEnv, http};
use crate::live::LiveServer;
use crate::replicas::{BOUND, two_replicas};

/// A meta a re-encoding would change: a trailing zero, an exponent, the largest integer a
/// double holds, escapes, a key order that is not sorted, whitespace.
const META: &str = r#"{"plan": "pro","ratio":1.50,"e":1E2,"big":9007199254740991,"who":"\u00e9\ud83d\ude00","z":[1,{"a":null}],"a":true}"#;

/// A raw JSON call: the body's bytes as given, not re-encoded.
fn raw(server: &LiveServer, token: &str, method: &str, path: &str, body: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    http(server.authority(), method, path, &headers, body.as_bytes())
}

fn text(resp: &HttpResponse) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

fn code(resp: &HttpResponse) -> String {
    let v: Value = serde_json::from_slice(&resp.body).unwrap();
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn owner_and_meta_come_back_byte_for_byte_from_create_show_verify_list_and_bulk() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let made = raw(
        &server,
        &admin,
        "POST",
        "/v1/keys",
        &format!(
            r#"{{"name":"acme-prod","environments":["staging"],"owner":"cus_42","meta":{META}}}"#
        ),
    );
    assert_eq!(made.status, 201, "{}", text(&made));
    let exact = format!(r#""owner":"cus_42","meta":{META}"#);
    assert!(text(&made).contains(&exact), "create: {}", text(&made));
    let created: Value = serde_json::from_slice(&made.body).unwrap();
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    );
    // Another owner's key and a key with none: list and bulk by owner leave them be.
    let (_, other) = server.create(
        &admin,
        json!({"name": "globex", "environments": ["staging"], "owner": "cus_7"}),
    );
    let (_, plain) = server.create(
        &admin,
        json!({"name": "plain", "environments": ["staging"]}),
    );

    let shown = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
    assert!(text(&shown).contains(&exact), "show: {}", text(&shown));

    let verified = server.call(
        &admin,
        "POST",
        "/v1/verify",
        Some(&json!({ "key": secret })),
        &[],
    );
    assert_eq!(code(&verified), "VALID");
    assert!(
        text(&verified).contains(&exact),
        "verify: {}",
        text(&verified)
    );
    let (_, plain_answer) = server.verify(&admin, json!({ "key": plain }));
    let plain_answer: Value = serde_json::from_slice(&plain_answer).unwrap();
    assert!(plain_answer.get("owner").is_none() && plain_answer.get("meta").is_none());

    let listed = server.call(&admin, "GET", "/v1/keys?owner=cus_42", None, &[]);
    assert!(text(&listed).contains(&exact), "list: {}", text(&listed));
    let page: Value = serde_json::from_slice(&listed.body).unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme-prod"]);

    // The CLI: list and bulk disable by owner, as a script would.
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let listed = cli.json(&["keys", "list", "--owner", "cus_42"]);
    assert_eq!(listed["items"][0]["owner"], "cus_42");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    cli.ok(&["keys", "disable", "--owner", "cus_42", "--yes"]);
    let answer = |secret: &str| {
        let (_, body) = server.verify(&admin, json!({ "key": secret }));
        serde_json::from_slice::<Value>(&body).unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(answer(&secret), "DISABLED");
    assert_eq!(answer(&other), "VALID");
    assert_eq!(answer(&plain), "VALID");
    // Disabled, the key still answers its owner and meta, byte for byte.
    let verified = server.call(
        &admin,
        "POST",
        "/v1/verify",
        Some(&json!({ "key": secret })),
        &[],
    );
    assert!(
        text(&verified).contains(&exact),
        "verify: {}",
        text(&verified)
    );
}

#[test]
fn owner_and_meta_past_their_bounds_are_refused_and_nothing_is_written() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    // {"p":"xx…"}: 8 bytes around the padding.
    let meta_of = |bytes: usize| format!(r#"{{"p":"{}"}}"#, "x".repeat(bytes - 8));
    assert_eq!(meta_of(4096).len(), 4096);
    let create = |name: &str, fields: &str| {
        raw(
            &server,
            &admin,
            "POST",
            "/v1/keys",
            &format!(r#"{{"name":"{name}","environments":["staging"]{fields}}}"#),
        )
    };
    let at_limit = create("at-limit", &format!(r#","meta":{}"#, meta_of(4096)));
    assert_eq!(at_limit.status, 201, "{}", text(&at_limit));
    let over = create("over", &format!(r#","meta":{}"#, meta_of(4097)));
    assert_eq!(
        (over.status, code(&over)),
        (422, "meta_too_large".to_owned())
    );
    assert!(text(&over).contains("4096"), "{}", text(&over));
    let deep = format!("{}1{}", "[".repeat(33), "]".repeat(33));
    for (fields, wanted) in [
        (r#","meta":["a"]"#, "invalid_meta"),
        (r#","meta":"text""#, "invalid_meta"),
        // JSON that readers take differently (RFC 7493): each could not be read back by the
        // CLI, or would read as another value elsewhere.
        (r#","meta":{"a":"\ud800"}"#, "invalid_meta"),
        (r#","meta":{"n":1e400}"#, "invalid_meta"),
        (r#","meta":{"n":9007199254740992}"#, "invalid_meta"),
        (
            r#","meta":{"plan":"free","plan":"enterprise"}"#,
            "invalid_meta",
        ),
        (&format!(r#","meta":{{"d":{deep}}}"#), "invalid_meta"),
        (r#","owner":"""#, "invalid_owner"),
        (r#","owner":"a\u0007b""#, "invalid_owner"),
        (r#","owner":"kw_sk_pasted""#, "invalid_owner"),
        (r#","owner":"acme kw_at_pasted""#, "invalid_owner"),
        (r#","owner":" cus_1""#, "invalid_owner"),
        (r#","owner":"cus\u200b_1""#, "invalid_owner"),
        (r#","owner":"cus_1\u202e""#, "invalid_owner"),
    ] {
        let refused = create("refused", fields);
        assert_eq!(
            (refused.status, code(&refused)),
            (422, wanted.to_owned()),
            "{fields}"
        );
    }
    let too_long = create("refused", &format!(r#","owner":"{}""#, "é".repeat(129)));
    assert_eq!(too_long.status, 422);
    let fits = create("fits", &format!(r#","owner":"{}""#, "é".repeat(128)));
    assert_eq!(fits.status, 201, "{}", text(&fits));
    // Nothing was created by a refusal.
    for name in ["over", "refused"] {
        let listed = server.call(&admin, "GET", &format!("/v1/keys?name={name}"), None, &[]);
        assert!(
            text(&listed).contains(r#""items":[]"#),
            "{name}: {}",
            text(&listed)
        );
    }

    // An edit past the bound changes nothing; null clears.
    let key: Value = serde_json::from_slice(&at_limit.body).unwrap();
    let id = key["id"].as_str().unwrap();
    let edit = |body: &str, version: i64| {
        let auth = format!("Bearer {admin}");
        let etag = format!("\"{version}\"");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
            ("If-Match", etag.as_str()),
        ];
        http(
            server.authority(),
            "PATCH",
            &format!("/v1/keys/{id}"),
            &headers,
            body.as_bytes(),
        )
    };
    let refused = edit(
        &format!(r#"{{"owner":"cus_1","meta":{}}}"#, meta_of(4097)),
        1,
    );
    assert_eq!(
        (refused.status, code(&refused)),
        (422, "meta_too_large".to_owned())
    );
    let shown = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
    let now: Value = serde_json::from_slice(&shown.body).unwrap();
    assert_eq!(now["version"], 1);
    assert!(
        now.get("owner").is_none(),
        "a refused edit set the owner: {now}"
    );
    let set = edit(r#"{"owner":"cus_1"}"#, 1);
    assert_eq!(set.status, 200, "{}", text(&set));
    let cleared = edit(r#"{"owner":null,"meta":null}"#, 2);
    assert_eq!(cleared.status, 200, "{}", text(&cleared));
    let cleared: Value = serde_json::from_slice(&cleared.body).unwrap();
    assert!(
        cleared.get("owner").is_none() && cleared.get("meta").is_none(),
        "{cleared}"
    );
}

#[test]
fn an_edit_of_owner_and_meta_reaches_the_other_replica_within_a_second() {
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &env.database("shared.db"));
    let created = a.expect(
        201,
        "POST",
        "/v1/keys",
        Some(json!({"name": "tenant", "environments": ["default"], "owner": "cus_1", "meta": {"plan": "free"}})),
    );
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let owner_at_b = || {
        let answer = b.expect(200, "POST", "/v1/verify", Some(json!({ "key": secret })));
        (answer["owner"].clone(), answer["meta"].clone())
    };
    // Verified at B: cached there.
    assert_eq!(owner_at_b(), (json!("cus_1"), json!({"plan": "free"})));
    assert_eq!(owner_at_b(), (json!("cus_1"), json!({"plan": "free"})));

    let edited = a.call(
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(json!({"owner": "cus_2", "meta": {"plan": "pro"}})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(edited.status, 200);
    let start = std::time::Instant::now();
    while owner_at_b() != (json!("cus_2"), json!({"plan": "pro"})) {
        assert!(
            start.elapsed() < BOUND,
            "B still answers {:?} {BOUND:?} after the edit",
            owner_at_b()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    eprintln!(
        "{:?}: owner and meta reached B in {:?}",
        crate::BACKEND,
        start.elapsed()
    );
}

#[test]
fn an_edit_of_some_meta_fields_leaves_the_others_byte_for_byte() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let made = raw(
        &server,
        &admin,
        "POST",
        "/v1/keys",
        &format!(r#"{{"name":"tenant","environments":["staging"],"meta":{META}}}"#),
    );
    assert_eq!(made.status, 201, "{}", text(&made));
    let id = serde_json::from_slice::<Value>(&made.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys",
        "edit",
        "tenant",
        "--meta",
        "plan=enterprise",
        "--meta",
        "seats:=5.0",
        "--remove-meta",
        "a",
    ]);
    let shown = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
    let expected = r#""meta":{"plan":"enterprise","ratio":1.50,"e":1E2,"big":9007199254740991,"who":"\u00e9\ud83d\ude00","z":[1,{"a":null}],"seats":5.0}"#;
    assert!(text(&shown).contains(expected), "{}", text(&shown));
    // A --meta-json that no reader takes alike is refused before anything is sent.
    let bad = env.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"n": 12345678901234567890}"#).unwrap();
    let said = cli.fails(
        &[
            "keys",
            "edit",
            "tenant",
            "--meta-json",
            bad.to_str().unwrap(),
        ],
        2,
    );
    assert!(said.contains("2^53"), "{said}");
}

#[test]
fn listing_by_owner_shows_a_scoped_caller_only_keys_it_may_see() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for (name, environment) in [("acme-staging", "staging"), ("acme-prod", "production")] {
        server.create(
            &admin,
            json!({"name": name, "environments": [environment], "owner": "cus_acme"}),
        );
    }
    let (reader_id, reader_secret) = server.create(
        &admin,
        json!({"name": "staging-reader", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let (status, token, _) = server.token(&reader_id, &reader_secret);
    assert_eq!(status, 200);
    let listed = server.call(&token.unwrap(), "GET", "/v1/keys?owner=cus_acme", None, &[]);
    let page: Value = serde_json::from_slice(&listed.body).unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme-staging"]);
}
