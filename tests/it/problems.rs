//! Every error answer is RFC 9457 problem+json with a stable code, names the field and what it
//! accepts, and never echoes the value it was sent, not even in the server's trace log.

use serde_json::{Value, json};

use crate::harness::{HttpResponse, Server, TestEnv, http};

/// A secret pasted where it does not belong.
const PASTED: &str = "kw_sk_PastedByMistake0123456789abcdefghijklmnopqrs";

fn problem(r: &HttpResponse) -> Value {
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "status {} body {:?}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let p: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(p["status"], r.status);
    assert!(p["code"].as_str().is_some_and(|c| !c.is_empty()), "{p}");
    assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    assert!(
        !String::from_utf8_lossy(&r.body).contains(PASTED),
        "the answer echoes the value: {p}"
    );
    p
}

#[test]
fn framework_refusals_are_problems_too() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "trace");
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let bearer = format!("Bearer {}", token.unwrap());
    let auth = ("Authorization", bearer.as_str());
    let json_type = ("Content-Type", "application/json");
    let a = server.authority();

    // A query that does not parse.
    let r = http(a, "GET", "/v1/keys?status=bogus", &[auth], b"");
    assert_eq!(r.status, 400);
    let p = problem(&r);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("`status`") && detail.contains("`revoked`"),
        "{detail}"
    );
    assert!(!detail.contains("bogus"), "{detail}");
    let r = http(a, "GET", &format!("/v1/keys?limit={PASTED}"), &[auth], b"");
    assert_eq!(r.status, 400);
    assert!(problem(&r)["detail"].as_str().unwrap().contains("`limit`"));

    // A form endpoint given JSON, and a JSON endpoint given a form.
    let r = http(
        a,
        "POST",
        "/v1/oauth/token",
        &[json_type],
        br#"{"grant_type":"client_credentials"}"#,
    );
    assert_eq!(r.status, 415);
    assert_eq!(problem(&r)["code"], "unsupported_media_type");
    let r = http(
        a,
        "POST",
        "/v1/keys",
        &[auth, ("Content-Type", "application/x-www-form-urlencoded")],
        b"name=x",
    );
    assert_eq!(r.status, 415);
    problem(&r);

    // A wrong method, and an unknown path.
    let r = http(a, "DELETE", "/v1/keys", &[auth], b"");
    assert_eq!(r.status, 405);
    assert_eq!(problem(&r)["code"], "method_not_allowed");
    assert!(r.header("allow").is_some_and(|v| v.contains("GET")));
    let r = http(a, "GET", "/v1/nothing-here", &[auth], b"");
    assert_eq!(r.status, 404);
    assert_eq!(problem(&r)["code"], "not_found");

    // Malformed JSON, and JSON of the wrong shape.
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], b"{\"name\": ");
    assert_eq!(r.status, 400);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let body = json!({"name": "x", "type": PASTED}).to_string();
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 400);
    let detail = problem(&r)["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("`type`") && detail.contains("`private`"),
        "{detail}"
    );
    let mut odd = serde_json::Map::new();
    odd.insert("name".into(), json!("x"));
    odd.insert(PASTED.into(), json!(1));
    let body = Value::Object(odd).to_string();
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 400);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("`description`")
    );
    let r = http(a, "POST", "/v1/verify", &[auth, json_type], b"{}");
    assert_eq!(r.status, 400);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("`key` is required")
    );

    // A value the rules refuse is not echoed either.
    let body = json!({"name": PASTED.replace('_', "-").replace("kw-", "kw "), "environments": ["staging"]}).to_string();
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 422);
    problem(&r);
    let body = json!({"name": "x", "environments": [PASTED]}).to_string();
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 422);
    assert_eq!(problem(&r)["code"], "unknown_environment");
    let body =
        json!({"name": "x", "environments": ["staging"], "allowed_ips": [PASTED]}).to_string();
    let r = http(a, "POST", "/v1/keys", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 422);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("allowed_ips[0]")
    );

    let r = http(a, "GET", &format!("/v1/keys?sort={PASTED}"), &[auth], b"");
    assert_eq!(r.status, 422);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("created_at")
    );
    let body = json!({"key": PASTED, "ip": PASTED}).to_string();
    let r = http(a, "POST", "/v1/verify", &[auth, json_type], body.as_bytes());
    assert_eq!(r.status, 422);
    assert_eq!(problem(&r)["code"], "invalid_ip");

    // Over the body limit: 413, not 400.
    let huge = json!({"name": "x", "description": "d".repeat(200_000)}).to_string();
    let (status, body) = send_oversized(a, &bearer, huge.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");

    // Nothing of the pasted secret reached the log, even at trace level.
    let log = server.log_text();
    assert!(log.contains("request"), "the log was written: {log}");
    assert!(!log.contains(PASTED), "the trace log echoes a value");
}

#[test]
fn the_cli_prints_the_servers_detail() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--env",
            "staging",
            "--expires-at",
            "2001-01-01",
        ],
        2,
    );
    assert!(err.contains("the expiry is not in the future"), "{err}");
    assert!(!err.contains("the server answered"), "{err}");
}

#[test]
fn names_descriptions_and_allowlists_have_documented_limits() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let bearer = format!("Bearer {}", token.unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let create = |body: Value| {
        http(
            server.authority(),
            "POST",
            "/v1/keys",
            &headers,
            body.to_string().as_bytes(),
        )
    };
    let ok = create(
        json!({"name": "long-enough", "environments": ["staging"], "description": "d".repeat(1000)}),
    );
    assert_eq!(ok.status, 201);
    let r = create(
        json!({"name": "too-long", "environments": ["staging"], "description": "d".repeat(1001)}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(problem(&r)["code"], "description_too_long");
    let ips: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
    let r = create(json!({"name": "many-ips", "environments": ["staging"], "allowed_ips": ips}));
    assert_eq!(r.status, 422);
    assert_eq!(problem(&r)["code"], "too_many_allowed_ips");
    let r = create(json!({"name": "n".repeat(65), "environments": ["staging"]}));
    assert_eq!(r.status, 422);
    env.fails(&["keys", "show", "too-long"], 4);
    env.fails(&["keys", "show", "many-ips"], 4);
}

/// POSTs a body the server stops reading part-way: the answer may be followed by a reset, so
/// what arrived before it counts.
fn send_oversized(authority: &str, bearer: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /v1/keys HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// What schemathesis found against the OpenAPI document, kept fixed: a whole number written
/// `3600.0` is a whole number (JSON Schema's `integer`), a fraction is not; `If-Match` is digits
/// (a negative version is malformed, not stale); an Idempotency-Key is visible ASCII, no spaces.
#[test]
fn whole_numbers_versions_and_idempotency_keys_are_read_as_the_document_says() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let bearer = format!("Bearer {}", token.unwrap());
    let auth = ("Authorization", bearer.as_str());
    let json_type = ("Content-Type", "application/json");
    let a = server.authority();
    let create = |name: &str, extra: Value, headers: &[(&str, &str)]| {
        let mut body = json!({"name": name, "environments": ["staging"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let mut all = vec![auth, json_type];
        all.extend_from_slice(headers);
        http(a, "POST", "/v1/keys", &all, body.to_string().as_bytes())
    };

    let r = create("whole", json!({"expires_in_seconds": 3600.0}), &[]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let key: Value = serde_json::from_slice(&r.body).unwrap();
    let lifetime = key["expires_at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        - key["created_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
    assert_eq!(lifetime.get_seconds(), 3600);
    let r = create("fraction", json!({"expires_in_seconds": 3600.5}), &[]);
    assert_eq!(r.status, 400);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("expires_in_seconds")
    );
    let id = key["id"].as_str().unwrap();
    let rotate = format!("/v1/keys/{id}/rotate");
    let r = http(
        a,
        "POST",
        &rotate,
        &[auth, json_type],
        br#"{"grace_seconds": 60.0}"#,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let path = format!("/v1/keys/{id}");
    let edit = |if_match: &str| {
        http(
            a,
            "PATCH",
            &path,
            &[auth, json_type, ("If-Match", if_match)],
            br#"{"description": "edited"}"#,
        )
    };
    for malformed in ["-1", "", "\"+2\"", "1.0"] {
        let r = edit(malformed);
        assert_eq!(r.status, 400, "If-Match {malformed:?}");
        assert_eq!(problem(&r)["code"], "bad_request");
    }
    let r = edit("\"999\"");
    assert_eq!(r.status, 412);
    let version = serde_json::from_slice::<Value>(&http(a, "GET", &path, &[auth], b"").body)
        .unwrap()["version"]
        .as_i64()
        .unwrap();
    let r = edit(&format!("W/\"{version}\""));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let r = create("spaced", json!({}), &[("Idempotency-Key", "two words")]);
    assert_eq!(r.status, 400);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    let r = create("tidy", json!({}), &[("Idempotency-Key", "retry-7f3a")]);
    assert_eq!(r.status, 201);
}

/// A caller's own X-Request-Id is kept when it is well formed: echoed, and written in the audit
/// event of what it did, so a request can be followed from the caller's logs into keyward's.
/// One that could forge a log line (a space, a quote, too long) is replaced by keyward's own.
#[test]
fn a_callers_request_id_is_kept_when_well_formed_and_recorded_in_the_audit_log() {
    use crate::harness::{audit_rows, bootstrap, store_args};
    let env = TestEnv::new();
    let db = env.database("request-ids.db");
    let store = store_args(&db, &env.dir.path().join("pepper"));
    let (id, _) = bootstrap(&env, &store);
    let args: Vec<&str> = store.iter().map(String::as_str).collect();
    let server = Server::start(&env, &args);
    let a = server.authority();
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let wrong = format!("grant_type=client_credentials&client_id={id}&client_secret={PASTED}");

    let theirs = "checkout-7f3a:span.42_x";
    let r = http(
        a,
        "POST",
        "/v1/oauth/token",
        &[form, ("X-Request-Id", theirs)],
        wrong.as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-request-id"), Some(theirs));

    let too_long = "a".repeat(65);
    for (n, forged) in ["two words", "quote\"d", too_long.as_str()]
        .into_iter()
        .enumerate()
    {
        // Each for another client id: a client id's repeated failures from one network are
        // counted in one event rather than itemized (docs/audit.md).
        let wrong =
            format!("grant_type=client_credentials&client_id=key_{n:016}&client_secret={PASTED}");
        let r = http(
            a,
            "POST",
            "/v1/oauth/token",
            &[form, ("X-Request-Id", forged)],
            wrong.as_bytes(),
        );
        assert_eq!(r.status, 401);
        let given = r.header("x-request-id").unwrap();
        assert!(given.starts_with("req_") && given != forged, "{given}");
    }
    let ids: Vec<Option<String>> = audit_rows(&db)
        .into_iter()
        .filter(|row| row.action == "token.exchange")
        .map(|row| row.request_id)
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[0].as_deref(), Some(theirs));
    assert!(
        ids[1..]
            .iter()
            .all(|i| i.as_deref().is_some_and(|i| i.starts_with("req_")))
    );
}

/// What a raw request gets back: the whole answer, as text.
fn raw_answer(authority: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn requests_that_are_not_well_formed_http_get_a_problem_and_a_request_id() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let mut huge_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge_headers.extend(std::iter::repeat_n(b'a', 500_000));
    huge_headers.extend_from_slice(b"\r\n\r\n");
    let mut many_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        many_headers.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let mut long_uri = b"GET /".to_vec();
    long_uri.extend(std::iter::repeat_n(b'a', 70_000));
    long_uri.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    for (request, status, code) in [
        (&b"GARBAGE\r\n\r\n"[..], 400, "bad_request"),
        (&huge_headers, 431, "headers_too_large"),
        (&many_headers, 431, "headers_too_large"),
        (&long_uri, 414, "uri_too_long"),
    ] {
        let answer = raw_answer(server.authority(), request);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with(&format!("http/1.1 {status} ")), "{answer}");
        assert!(
            head.contains("\r\ncontent-type: application/problem+json"),
            "{answer}"
        );
        assert!(head.contains("\r\nx-request-id: req_"), "{answer}");
        let p: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        assert_eq!(p["status"], status, "{p}");
        assert_eq!(p["code"], code, "{p}");
    }
    // A body declared over the limit is refused before it is sent (no `100 Continue`), and one
    // sent in chunks is cut off at the limit.
    let answer = raw_answer(
        server.authority(),
        b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    let mut chunked = b"POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..70_000 {
        chunked.extend_from_slice(b"1\r\nX\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_answer(server.authority(), &chunked);
    assert!(
        answer.starts_with("HTTP/1.1 413 "),
        "{}",
        &answer[..answer.len().min(300)]
    );
    // The server goes on answering.
    assert_eq!(
        http(server.authority(), "GET", "/healthz", &[], b"").status,
        200
    );
}
