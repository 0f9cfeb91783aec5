//! `GET /metrics` on its own address: Prometheus' text format, read back with a Prometheus
//! parser, counting the requests and verify answers a test made.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Server, TestEnv, http, store_args};

#[test]
fn metrics_count_requests_and_verify_answers_in_prometheus_text() {
    let env = TestEnv::new();
    let db = env.database("metrics.db");
    let pepper = env.dir.path().join("pepper");
    let store = store_args(&db, &pepper);
    let mut boot: Vec<&str> = vec!["--output", "json", "server", "--bootstrap"];
    boot.extend(store.iter().map(String::as_str));
    let admin: serde_json::Value = serde_json::from_str(&env.ok(&boot)).unwrap();
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--metrics-listen", "127.0.0.1:0"]);
    let server = Server::start(&env, &args);
    // Its address is on stderr, with the log.
    let metrics_at = (0..100)
        .find_map(|_| {
            let log = server.log_text();
            let found = log
                .lines()
                // Only a whole line: the log may be read while the line is being written.
                .find_map(|l| {
                    l.strip_prefix("metrics on http://")?
                        .strip_suffix("/metrics")
                })
                .map(str::to_owned);
            if found.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            found
        })
        .expect("the metrics address in the log");

    let (status, token) = server.token(
        admin["id"].as_str().unwrap(),
        admin["secret"].as_str().unwrap(),
    );
    assert_eq!(status, 200);
    let auth = format!("Bearer {}", token.unwrap());
    let call = |method: &str, path: &str, body: serde_json::Value| {
        let bytes = serde_json::to_vec(&body).unwrap();
        http(
            server.authority(),
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &bytes,
        )
    };
    let created: serde_json::Value = serde_json::from_slice(
        &call(
            "POST",
            "/v1/keys",
            json!({"name": "m", "environments": ["default"]}),
        )
        .body,
    )
    .unwrap();
    let secret = created["secret"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(
            call("POST", "/v1/verify", json!({"key": secret})).status,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            call("POST", "/v1/verify", json!({"key": "nothing"})).status,
            200
        );
    }
    assert_eq!(
        call(
            "GET",
            &format!("/v1/keys/{}", created["id"].as_str().unwrap()),
            json!(null)
        )
        .status,
        200
    );

    let r = http(&metrics_at, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    let samples = crate::harness::parse_openmetrics(&text);
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|s| s["name"] == name)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
            .map(|s| s["value"].as_f64().unwrap())
            .sum()
    };
    assert_eq!(
        value("keyward_verify_answers_total", &[("code", "VALID")]),
        3.0,
        "{text}"
    );
    assert_eq!(
        value("keyward_verify_answers_total", &[("code", "INVALID")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            "keyward_http_request_duration_seconds_count",
            &[
                ("route", "/v1/verify"),
                ("method", "POST"),
                ("status", "200")
            ]
        ),
        5.0,
        "{text}"
    );
    // Routes by their pattern, never by a key's id.
    assert_eq!(
        value(
            "keyward_http_request_duration_seconds_count",
            &[("route", "/v1/keys/{id}")]
        ),
        1.0,
        "{text}"
    );
    assert!(!text.contains(created["id"].as_str().unwrap()), "{text}");
    assert!(
        text.contains("keyward_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(value("keyward_cache_hits_total", &[]) >= 2.0, "{text}");
    assert!(value("keyward_database_connections", &[]) >= 1.0, "{text}");
    assert!(
        value("keyward_change_feed_age_seconds", &[]) >= 0.0,
        "{text}"
    );
    // Nothing secret in it.
    assert!(!text.contains(secret));
    // And not on the API's own address.
    assert_eq!(
        http(server.authority(), "GET", "/metrics", &[], b"").status,
        404
    );
}
