//! Forward auth (`/v1/authz`) straight, without a gateway in front: what a gateway sees for a
//! good key, a bad one, a missing permission and an exhausted limit; what the gateway's own key
//! must be; and what a client cannot change by sending headers or a query of its own.
//! (tests/it/nginx.rs puts a real nginx in front.)

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::harness::{HttpResponse, TestEnv, http};
use crate::live::LiveServer;

/// A server with a gateway key (keys:verify only, in `staging`) and a client key.
struct Setup {
    server: LiveServer,
    _env: TestEnv,
    admin: String,
    gateway: String,
}

impl Setup {
    fn new() -> Setup {
        let env = TestEnv::new();
        let server = LiveServer::start(&env);
        let admin = server.admin_token();
        let (_, gateway) = server.create(
            &admin,
            json!({"name": "gateway", "environments": ["staging"], "permissions": ["keys:verify"]}),
        );
        Setup {
            server,
            _env: env,
            admin,
            gateway,
        }
    }

    fn key(&self, body: Value) -> (String, String) {
        self.server.create(&self.admin, body)
    }

    /// `method path` as the gateway, with `extra` headers (the client's).
    fn ask(&self, method: &str, path: &str, extra: &[(&str, &str)]) -> HttpResponse {
        let mut headers = vec![("Keyward-Gateway-Key", self.gateway.as_str())];
        headers.extend_from_slice(extra);
        http(self.server.authority(), method, path, &headers, b"")
    }

    fn bearer(&self, path: &str, key: &str) -> HttpResponse {
        let auth = format!("Bearer {key}");
        self.ask("GET", path, &[("Authorization", &auth)])
    }
}

#[test]
fn a_good_key_passes_with_who_it_is_and_bad_ones_get_401_403_429() {
    let s = Setup::new();
    let (id, key) = s.key(json!({
        "name": "orders-client", "environments": ["staging"], "owner": "cus_Zoë",
        "permissions": ["orders:read"],
        "ratelimits": [{"name": "requests", "limit": 3, "window_secs": 60}],
    }));
    let path = "/v1/authz?permission=orders:read&environment=staging";
    let ok = s.bearer(path, &key);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.header("keyward-key-id"), Some(id.as_str()));
    assert_eq!(ok.header("keyward-key-name"), Some("orders-client"));
    assert_eq!(ok.header("keyward-owner"), Some("cus_Zo%C3%AB"));
    assert_eq!(ok.header("keyward-code"), Some("VALID"));
    assert_eq!(ok.header("ratelimit-limit"), Some("3"));
    assert_eq!(ok.header("ratelimit-remaining"), Some("2"));
    assert_eq!(ok.header("ratelimit-reset"), Some("60"));
    // X-API-Key works as well as Authorization; any method the client used does.
    let other = s.ask("POST", path, &[("X-API-Key", &key)]);
    assert_eq!(other.status, 200);

    // Wrong key, no key: 401, and nothing about the key for the upstream.
    let wrong = s.bearer(
        path,
        "kw_sk_0000000000000000000000000000000000000000000000000",
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("keyward-code"), Some("INVALID"));
    assert!(wrong.header("keyward-key-id").is_none());
    let none = s.ask("GET", path, &[]);
    assert_eq!(none.status, 401);
    assert!(String::from_utf8_lossy(&none.body).contains("key_missing"));

    // A permission or environment the key lacks: 403.
    let denied = s.bearer(
        "/v1/authz?permission=orders:write&environment=staging",
        &key,
    );
    assert_eq!(denied.status, 403);
    assert_eq!(denied.header("keyward-code"), Some("PERMISSION_DENIED"));
    assert!(denied.header("keyward-key-id").is_none());
    let elsewhere = s.bearer(
        "/v1/authz?permission=orders:read&environment=production",
        &key,
    );
    assert_eq!(elsewhere.status, 403);

    // The limit used up (refusals spent none of it): 429 with Retry-After; a minute later it
    // passes again.
    assert_eq!(s.bearer(path, &key).status, 200);
    let limited = s.bearer(path, &key);
    assert_eq!(
        limited.status,
        429,
        "{}",
        String::from_utf8_lossy(&limited.body)
    );
    assert_eq!(limited.header("keyward-code"), Some("RATE_LIMITED"));
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    s.server.advance(SignedDuration::from_secs(60));
    assert_eq!(s.bearer(path, &key).status, 200);

    // A disabled key: 401.
    let version = s.server.call(
        &s.admin,
        "POST",
        &format!("/v1/keys/{id}/disable"),
        None,
        &[],
    );
    assert_eq!(version.status, 200);
    let disabled = s.bearer(path, &key);
    assert_eq!(disabled.status, 401);
    assert_eq!(disabled.header("keyward-code"), Some("DISABLED"));
}

#[test]
fn the_gateway_key_must_be_a_working_key_holding_only_keys_verify() {
    let s = Setup::new();
    let (_, key) = s.key(json!({"name": "client", "environments": ["staging"]}));
    let auth = format!("Bearer {key}");
    let ask_as = |gateway: &str| {
        http(
            s.server.authority(),
            "GET",
            "/v1/authz",
            &[("Keyward-Gateway-Key", gateway), ("Authorization", &auth)],
            b"",
        )
    };
    assert_eq!(ask_as(&s.gateway).status, 200);
    let missing = http(
        s.server.authority(),
        "GET",
        "/v1/authz",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(missing.status, 401);
    assert_eq!(
        ask_as("kw_sk_0000000000000000000000000000000000000000000000000").status,
        401
    );
    // An access token is not a gateway key.
    assert_eq!(ask_as(&s.admin).status, 401);
    // A key that can do more than verify does not belong in a gateway's config.
    let admin_secret = s.server.admin_secret.clone();
    let refused = ask_as(&admin_secret);
    assert_eq!(refused.status, 403);
    assert!(String::from_utf8_lossy(&refused.body).contains("keys:verify and no other"));
    let (_, writer) = s.key(json!({"name": "writer", "environments": ["staging"],
                                    "permissions": ["keys:verify", "keys:write"]}));
    assert_eq!(ask_as(&writer).status, 403);

    // Rotated with a grace period, the old secret keeps a static config working meanwhile.
    let gw = s
        .server
        .call(&s.admin, "GET", "/v1/keys?name=gateway", None, &[]);
    let gw: Value = serde_json::from_slice(&gw.body).unwrap();
    let gw_id = gw["items"][0]["id"].as_str().unwrap().to_owned();
    let rotated = s.server.call(
        &s.admin,
        "POST",
        &format!("/v1/keys/{gw_id}/rotate"),
        Some(&json!({"grace_seconds": 3600})),
        &[],
    );
    assert_eq!(
        rotated.status,
        200,
        "{}",
        String::from_utf8_lossy(&rotated.body)
    );
    let new: Value = serde_json::from_slice(&rotated.body).unwrap();
    assert_eq!(ask_as(&s.gateway).status, 200);
    assert_eq!(ask_as(new["secret"].as_str().unwrap()).status, 200);
    s.server.advance(SignedDuration::from_secs(3601));
    assert_eq!(ask_as(&s.gateway).status, 401);
    assert_eq!(ask_as(new["secret"].as_str().unwrap()).status, 200);

    // A key outside the gateway's environments does not exist for it.
    let (_, prod) = s.key(json!({"name": "prod-client", "environments": ["production"]}));
    let outside = s.bearer("/v1/authz", &prod);
    assert_eq!(outside.status, 401);
}

#[test]
fn a_client_cannot_lower_what_is_needed_with_headers_or_a_query_of_its_own() {
    let s = Setup::new();
    let (_, key) = s.key(json!({"name": "reader", "environments": ["staging"],
                                 "permissions": ["orders:read"],
                                 "allowed_ips": ["10.0.0.0/8"]}));
    let auth = format!("Bearer {key}");
    let from = |ip: &str| ("Keyward-Client-IP", ip.to_owned());
    // At /v1/authz the gateway's query says what is needed; a Keyward-Permission header there
    // (a client's, passed on, or a gateway's own by mistake) is refused, never taken as the
    // need or as no need at all.
    let (name, ip) = from("10.1.2.3");
    for path in ["/v1/authz?permission=orders:write", "/v1/authz"] {
        let exact = s.ask(
            "GET",
            path,
            &[
                ("Authorization", &auth),
                (name, &ip),
                ("Keyward-Permission", "orders:read"),
            ],
        );
        assert_eq!(exact.status, 422, "{path}");
        assert!(String::from_utf8_lossy(&exact.body).contains("needs_in_headers_here"));
    }
    // Below it (Envoy appends the client's path and query), the query is the client's: the
    // gateway's Keyward-Permission header says what is needed.
    let below = s.ask(
        "GET",
        "/v1/authz/orders/42?permission=orders:read",
        &[
            ("Authorization", &auth),
            (name, &ip),
            ("Keyward-Permission", "orders:write"),
        ],
    );
    assert_eq!(below.status, 403);
    let passes = s.ask(
        "GET",
        "/v1/authz/orders/42",
        &[
            ("Authorization", &auth),
            (name, &ip),
            ("Keyward-Permission", "orders:read"),
        ],
    );
    assert_eq!(passes.status, 200);
    // Paths made of slashes below it are below it: the client's query counts for nothing, the
    // gateway's header for what is needed.
    let slashes = s.ask(
        "GET",
        "/v1/authz//?permission=orders:read",
        &[
            ("Authorization", &auth),
            (name, &ip),
            ("Keyward-Permission", "orders:write"),
        ],
    );
    assert_eq!(slashes.status, 403);
    // A gateway configured with a slash too many, naming what is needed in the query: refused
    // loudly rather than asking for nothing.
    let misconfigured = s.ask(
        "GET",
        "/v1/authz/?permission=orders:write",
        &[("Authorization", &auth), (name, &ip)],
    );
    assert_eq!(misconfigured.status, 422);
    assert!(String::from_utf8_lossy(&misconfigured.body).contains("needs_in_query_below"));
    // A misspelt parameter is refused, not taken as "nothing needed".
    let typo = s.ask(
        "GET",
        "/v1/authz?permision=orders:write",
        &[("Authorization", &auth)],
    );
    assert_eq!(typo.status, 422);

    // The allowlist holds against the address the gateway reports; with none, nothing passes.
    let (name, outside) = from("203.0.113.9");
    let far = s.ask(
        "GET",
        "/v1/authz",
        &[("Authorization", &auth), (name, &outside)],
    );
    assert_eq!(far.status, 403);
    assert_eq!(far.header("keyward-code"), Some("IP_NOT_ALLOWED"));
    let unknown = s.ask("GET", "/v1/authz", &[("Authorization", &auth)]);
    assert_eq!(unknown.status, 403);
    let forwarded = s.ask(
        "GET",
        "/v1/authz",
        &[
            ("Authorization", &auth),
            ("X-Forwarded-For", "10.9.9.9, 203.0.113.9"),
        ],
    );
    assert_eq!(
        forwarded.status, 403,
        "the rightmost entry is the gateway's"
    );
    let forwarded = s.ask(
        "GET",
        "/v1/authz",
        &[
            ("Authorization", &auth),
            ("X-Forwarded-For", "203.0.113.9, 10.9.9.9"),
        ],
    );
    assert_eq!(forwarded.status, 200);
}
