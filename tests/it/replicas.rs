//! Two real `keyward server` processes on one database (one SQLite file here, one PostgreSQL
//! database in tests/pg): a change made through one changes the other's verify answer within
//! one second, every time, although the other had the key cached.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{HttpResponse, Server, TestEnv, http, store_args};

/// The documented bound on how long a change takes to reach every server.
pub const BOUND: Duration = Duration::from_secs(1);

/// A server and a token of the super admin's on it.
pub struct Replica {
    pub server: Server,
    token: String,
}

/// Someone calling one server with a bearer token.
pub struct Caller<'a> {
    server: &'a Server,
    token: String,
}

impl Replica {
    pub fn new(server: Server, id: &str, secret: &str) -> Replica {
        let (status, token) = server.token(id, secret);
        assert_eq!(status, 200, "token exchange at {}", server.url);
        Replica {
            server,
            token: token.unwrap(),
        }
    }

    /// This server, called with `token` instead of the super admin's.
    pub fn with_token(&self, token: String) -> Caller<'_> {
        Caller::new(&self.server, token)
    }

    fn admin(&self) -> Caller<'_> {
        self.with_token(self.token.clone())
    }

    pub fn expect(&self, status: u16, method: &str, path: &str, body: Option<Value>) -> Value {
        self.admin().expect(status, method, path, body)
    }

    pub fn verify(&self, secret: &str) -> String {
        self.admin().verify(secret)
    }

    /// A call as the super admin, with `extra` headers.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> HttpResponse {
        self.admin().call(method, path, body, extra)
    }

    pub fn time_until(&self, secret: &str, code: &str, limit: Duration) -> Duration {
        self.admin().time_until(secret, code, limit)
    }
}

impl<'a> Caller<'a> {
    pub fn new(server: &'a Server, token: String) -> Caller<'a> {
        Caller { server, token }
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> HttpResponse {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("Authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        headers.extend_from_slice(extra);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        http(
            self.server.authority(),
            method,
            path,
            &headers,
            bytes.as_bytes(),
        )
    }

    /// Calls and expects `status`; the JSON answer.
    pub fn expect(&self, status: u16, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, body, &[]);
        assert_eq!(
            r.status,
            status,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    }

    /// The verify code of `secret` here (`VALID`, `DISABLED`, `REVOKED`, ...), or the HTTP
    /// status when verify itself was refused.
    pub fn verify(&self, secret: &str) -> String {
        let r = self.call("POST", "/v1/verify", Some(json!({ "key": secret })), &[]);
        if r.status != 200 {
            return format!("HTTP {}", r.status);
        }
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v["code"].as_str().unwrap().to_owned()
    }

    /// How long until `secret` verifies as `code` here; panics past `limit`.
    pub fn time_until(&self, secret: &str, code: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let seen = self.verify(secret);
            if seen == code {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "{} still answers {seen}, not {code}, {limit:?} after the change",
                self.server.url
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A database with a super admin (by `keyward server --bootstrap`) and two servers on it.
pub fn two_replicas(env: &TestEnv, database: &str) -> (Replica, Replica) {
    let pepper = env.dir.path().join("replicas.pepper");
    let store = store_args(database, &pepper);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let boot = env.ok(&[&["server", "--bootstrap", "--output", "json"], &store[..]].concat());
    let admin: Value = serde_json::from_str(&boot).unwrap();
    let (id, secret) = (
        admin["id"].as_str().unwrap(),
        admin["secret"].as_str().unwrap(),
    );
    let a = Replica::new(Server::start(env, &store), id, secret);
    let b = Replica::new(Server::start(env, &store), id, secret);
    (a, b)
}

/// `rounds` times: a key made through A verifies at B (and is now cached there); then each of
/// disable, enable, rotate and revoke made through A changes B's answer within [`BOUND`].
/// Returns every propagation time measured.
pub fn changes_reach_the_other_replica(a: &Replica, b: &Replica, rounds: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for round in 0..rounds {
        let created = a.expect(
            201,
            "POST",
            "/v1/keys",
            Some(json!({"name": format!("replicated-{round}"), "environments": ["default"]})),
        );
        let id = created["id"].as_str().unwrap();
        let secret = created["secret"].as_str().unwrap();
        // Not cached anywhere before: B finds it in the database at once.
        assert_eq!(b.verify(secret), "VALID", "a key made at A is unknown at B");
        assert_eq!(b.verify(secret), "VALID");

        a.expect(200, "POST", &format!("/v1/keys/{id}/disable"), None);
        times.push(b.time_until(secret, "DISABLED", BOUND));
        a.expect(
            200,
            "POST",
            &format!("/v1/keys/{id}/enable"),
            Some(json!({})),
        );
        times.push(b.time_until(secret, "VALID", BOUND));

        let rotated = a.expect(
            200,
            "POST",
            &format!("/v1/keys/{id}/rotate"),
            Some(json!({"grace_seconds": 0})),
        );
        let new_secret = rotated["secret"].as_str().unwrap();
        times.push(b.time_until(secret, "INVALID", BOUND));
        assert_eq!(b.verify(new_secret), "VALID");

        a.expect(200, "POST", &format!("/v1/keys/{id}/revoke"), None);
        times.push(b.time_until(new_secret, "REVOKED", BOUND));
    }
    times
}

/// p50 and max, for the test's output.
pub fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    format!(
        "{} changes: p50 {:?}, max {:?}",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    )
}

#[test]
fn a_change_through_one_server_reaches_the_other_within_a_second() {
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &env.database("shared.db"));
    let times = changes_reach_the_other_replica(&a, &b, 20);
    assert_eq!(times.len(), 80);
    eprintln!("{:?}: {}", crate::BACKEND, summary(&times));
}

#[test]
fn a_permission_taken_away_through_one_server_is_gone_at_the_other_within_a_second() {
    let env = TestEnv::new();
    let (a, b) = two_replicas(&env, &env.database("shared.db"));
    let created = a.expect(
        201,
        "POST",
        "/v1/keys",
        Some(
            json!({"name": "checker", "environments": ["default"], "permissions": ["keys:verify"]}),
        ),
    );
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    // The key's own token at B, used (and so cached there with the key's permissions).
    let (status, token) = b.server.token(id, secret);
    assert_eq!(status, 200);
    let checker = b.with_token(token.unwrap());
    assert_eq!(checker.verify(secret), "VALID");

    // A takes keys:verify away; B stops honouring the token for it within the bound.
    let r = a.admin().call(
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(json!({"permissions": ["keys:read"]})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    checker.time_until(secret, "HTTP 403", BOUND);
}
