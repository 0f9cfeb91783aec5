//! Restrictions are power too: a key's expiry, its IP allowlist and its type bound what it can
//! do, so nobody hands out, takes or keeps a key less restricted than their own. Each action
//! that can make or hand over a looser key (create, edit of another key, edit of one's own
//! key, rotate, enable) is tried with each restriction loosened: 403 naming the restriction,
//! and nothing changes. Built-in permissions are granted by `admin` only. Super admins keep
//! their power.

use serde_json::{Value, json};

use crate::harness::{HttpResponse, TestEnv, audit_rows};
use crate::live::{LiveServer, json};

const DAY: u64 = 24 * 3600;

/// The bounded caller: keys:* in staging, from 127.0.0.0/8 only, for 30 days.
fn bounded() -> Value {
    json!({
        "name": "bounded",
        "environments": ["staging"],
        "permissions": ["keys:read", "keys:write", "keys:revoke", "orders:read"],
        "allowed_ips": ["127.0.0.0/8"],
        "expires_in_seconds": 30 * DAY,
    })
}

/// A key within the bounded caller's power, restrictions included.
fn peer(name: &str) -> Value {
    json!({
        "name": name,
        "environments": ["staging"],
        "permissions": ["orders:read"],
        "allowed_ips": ["127.0.0.1/32"],
        "expires_in_seconds": 10 * DAY,
    })
}

/// 403, problem+json, and a detail naming `restriction`.
fn refused(r: &HttpResponse, restriction: &str, what: &str) {
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 403, "{what}: {text}");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    let problem = json(r);
    assert_eq!(problem["code"], "forbidden", "{what}: {text}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(restriction),
        "{what}: the detail does not name {restriction:?}: {detail}"
    );
    assert!(!text.contains("kw_sk_"), "{what} handed out a secret");
}

/// Successful audit events of changes to `id`, read from the database.
fn changes_of(server: &LiveServer, id: &str) -> usize {
    audit_rows(&server.db)
        .iter()
        .filter(|r| r.key_id.as_deref() == Some(id) && r.outcome == "success")
        .count()
}

struct Fixture {
    server: LiveServer,
    admin: String,
    caller_id: String,
    secret: String,
    token: String,
}

impl Fixture {
    fn new(env: &TestEnv) -> Fixture {
        let server = LiveServer::start(env);
        let admin = server.admin_token();
        let (caller_id, secret) = server.create(&admin, bounded());
        let token = server.token(&caller_id, &secret).1.unwrap();
        Fixture {
            server,
            admin,
            caller_id,
            secret,
            token,
        }
    }

    fn show(&self, id: &str) -> Value {
        json(
            &self
                .server
                .call(&self.admin, "GET", &format!("/v1/keys/{id}"), None, &[]),
        )
    }

    /// `method path body` as the bounded caller must be refused naming `restriction`, and
    /// leave the key `id` (if any) as it was, with no change recorded.
    fn refuses(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: Value,
        id: Option<&str>,
        restriction: &str,
    ) {
        let before = id.map(|id| (self.show(id), changes_of(&self.server, id)));
        let if_match = before
            .as_ref()
            .map(|(k, _)| format!("\"{}\"", k["version"]))
            .unwrap_or_default();
        let headers: Vec<(&str, &str)> = if method == "PATCH" {
            vec![("If-Match", if_match.as_str())]
        } else {
            vec![]
        };
        let r = self
            .server
            .call(&self.token, method, path, Some(&body), &headers);
        refused(&r, restriction, what);
        if let (Some(id), Some((key, changes))) = (id, before) {
            assert_eq!(self.show(id), key, "{what} changed the key");
            assert_eq!(changes_of(&self.server, id), changes, "{what} was recorded");
        }
    }

    fn edit(&self, id: &str, body: Value) -> HttpResponse {
        let version = self.show(id)["version"].to_string();
        self.server.call(
            &self.token,
            "PATCH",
            &format!("/v1/keys/{id}"),
            Some(&body),
            &[("If-Match", &format!("\"{version}\""))],
        )
    }

    /// A key made by the admin in staging with orders:read and the given restrictions.
    fn made_by_admin(&self, name: &str, extra: Value) -> String {
        let mut body = peer(name);
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.server.create(&self.admin, body).0
    }

    fn disable_as_admin(&self, id: &str) {
        let r = self.server.call(
            &self.admin,
            "POST",
            &format!("/v1/keys/{id}/disable"),
            None,
            &[],
        );
        assert_eq!(r.status, 200);
    }
}

#[test]
fn create_never_makes_a_key_looser_than_its_maker() {
    let env = TestEnv::new();
    let f = Fixture::new(&env);
    let tries = [
        (json!({"expires_in_seconds": 60 * DAY}), "expir"),
        (json!({"allowed_ips": ["10.0.0.0/8"]}), "allowed IPs"),
        (json!({"allowed_ips": ["0.0.0.0/0"]}), "allowed IPs"),
        (json!({"allowed_ips": ["127.0.0.0/7"]}), "allowed IPs"),
        (json!({"allowed_ips": []}), "allowed IPs"),
        (json!({"permissions": ["keys:read"]}), "built-in"),
        (json!({"permissions": ["keys:verify"]}), "built-in"),
        (json!({"permissions": ["audit:read"]}), "built-in"),
        (json!({"permissions": ["admin"]}), "built-in"),
    ];
    for (i, (loosened, restriction)) in tries.into_iter().enumerate() {
        let name = format!("loose-{i}");
        let mut body = peer(&name);
        for (k, v) in loosened.as_object().unwrap() {
            body[k] = v.clone();
        }
        f.refuses(
            &format!("create with {loosened}"),
            "POST",
            "/v1/keys",
            body,
            None,
            restriction,
        );
        let found =
            json(
                &f.server
                    .call(&f.admin, "GET", &format!("/v1/keys?name={name}"), None, &[]),
            );
        assert_eq!(found["items"], json!([]), "{loosened} created a key");
    }
    // Within every bound, it works; no expiry given means the caller's own.
    let r = f
        .server
        .call(&f.token, "POST", "/v1/keys", Some(&peer("fine")), &[]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let mut body = peer("fine-default");
    body.as_object_mut().unwrap().remove("expires_in_seconds");
    let r = f
        .server
        .call(&f.token, "POST", "/v1/keys", Some(&body), &[]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["expires_at"], f.show(&f.caller_id)["expires_at"]);
}

#[test]
fn edit_never_loosens_another_key_or_its_own() {
    let env = TestEnv::new();
    let f = Fixture::new(&env);
    let other = f.made_by_admin("other", json!({}));
    let public = f.made_by_admin(
        "public-one",
        json!({"type": "public", "permissions": ["orders:read"]}),
    );
    let tries = [
        (json!({"expires_in_seconds": 60 * DAY}), "expir"),
        (json!({"allowed_ips": ["10.0.0.0/8"]}), "allowed IPs"),
        (json!({"allowed_ips": ["::/0"]}), "allowed IPs"),
        (json!({"allowed_ips": []}), "allowed IPs"),
        (
            json!({"permissions": ["orders:read", "keys:read", "keys:write", "keys:revoke", "audit:read"]}),
            "built-in",
        ),
    ];
    for id in [&other, &f.caller_id] {
        for (loosened, restriction) in &tries {
            let whose = if *id == f.caller_id {
                "its own"
            } else {
                "another"
            };
            f.refuses(
                &format!("edit of {whose} key with {loosened}"),
                "PATCH",
                &format!("/v1/keys/{id}"),
                loosened.clone(),
                Some(id),
                restriction,
            );
        }
    }
    // A public key is never made private.
    f.refuses(
        "edit of a public key to private",
        "PATCH",
        &format!("/v1/keys/{public}"),
        json!({"type": "private"}),
        Some(&public),
        "type",
    );
    // Tightening, or changing nothing that matters, works: on another key and on its own.
    for id in [&other, &f.caller_id] {
        let r = f.edit(
            id,
            json!({"description": "fine", "allowed_ips": ["127.0.0.1/32"]}),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

#[test]
fn rotate_and_enable_never_hand_over_or_revive_a_looser_key() {
    let env = TestEnv::new();
    let f = Fixture::new(&env);
    let peer_id = f.made_by_admin("peer", json!({}));
    // Keys within the caller's permissions and environments, but less restricted.
    let loose = [
        (
            f.made_by_admin("anywhere", json!({"allowed_ips": []})),
            "allowed IPs",
        ),
        (
            f.made_by_admin("elsewhere", json!({"allowed_ips": ["10.0.0.0/8"]})),
            "allowed IPs",
        ),
        (
            f.made_by_admin("long-lived", json!({"expires_in_seconds": 300 * DAY})),
            "expir",
        ),
    ];
    for (id, restriction) in &loose {
        f.refuses(
            "rotate of a looser key",
            "POST",
            &format!("/v1/keys/{id}/rotate"),
            json!({}),
            Some(id),
            restriction,
        );
    }
    f.refuses(
        "rotate with a later expiry",
        "POST",
        &format!("/v1/keys/{peer_id}/rotate"),
        json!({"expires_in_seconds": 60 * DAY}),
        Some(&peer_id),
        "expir",
    );
    for (id, restriction) in &loose {
        f.disable_as_admin(id);
        f.refuses(
            "enable of a looser key",
            "POST",
            &format!("/v1/keys/{id}/enable"),
            json!({}),
            Some(id),
            restriction,
        );
    }
    f.disable_as_admin(&peer_id);
    f.refuses(
        "enable with a later expiry",
        "POST",
        &format!("/v1/keys/{peer_id}/enable"),
        json!({"expires_in_seconds": 60 * DAY}),
        Some(&peer_id),
        "expir",
    );
    // Within bounds, both work.
    for action in ["enable", "rotate"] {
        let r = f.server.call(
            &f.token,
            "POST",
            &format!("/v1/keys/{peer_id}/{action}"),
            Some(&json!({})),
            &[],
        );
        assert_eq!(
            r.status,
            200,
            "{action}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // An expired peer is enabled until the caller's own expiry at the latest.
    f.server.advance(jiff::SignedDuration::from_hours(24 * 11));
    let token = f.server.token(&f.caller_id, &f.secret).1.unwrap();
    let r = f.server.call(
        &token,
        "POST",
        &format!("/v1/keys/{peer_id}/enable"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let own = json(&f.server.call(
        &token,
        "GET",
        &format!("/v1/keys/{}", f.caller_id),
        None,
        &[],
    ));
    assert_eq!(json(&r)["expires_at"], own["expires_at"]);
}

#[test]
fn super_admins_keep_their_power() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    // A super admin bounded to loopback and 30 days still grants anything, anywhere, for a year.
    let mut body = bounded();
    body["name"] = json!("bounded-admin");
    body["permissions"] = json!(["admin"]);
    let (id, secret) = server.create(&admin, body);
    let token = server.token(&id, &secret).1.unwrap();
    let (loose, _) = server.create(
        &token,
        json!({"name": "loose", "environments": ["staging"], "permissions": ["keys:read", "audit:read"], "allowed_ips": [], "expires_in_seconds": 300 * DAY}),
    );
    for action in ["rotate", "disable", "enable"] {
        let r = server.call(
            &token,
            "POST",
            &format!("/v1/keys/{loose}/{action}"),
            Some(&json!({})),
            &[],
        );
        assert_eq!(
            r.status,
            200,
            "{action}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

#[test]
fn an_admin_keys_environments_are_shown_as_all() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (boss, _) = server.create(
        &admin,
        json!({"name": "boss", "environments": ["staging"], "permissions": ["admin"]}),
    );
    let (plain, _) = server.create(
        &admin,
        json!({"name": "plain", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let shown = |id: &str| json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]));
    // A super-admin key acts on every environment, whatever it lists: the API says so.
    assert_eq!(shown(&boss)["all_environments"], true);
    assert_eq!(shown(&boss)["environments"], json!(["staging"]));
    assert!(shown(&plain).get("all_environments").is_none());
    // And so do people's views.
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let show = cli.ok(&["keys", "show", "boss"]);
    let line = show
        .lines()
        .find(|l| l.contains("Environments"))
        .unwrap_or_else(|| panic!("{show}"));
    assert!(line.contains("all"), "{line}");
    let show = cli.ok(&["keys", "show", "plain"]);
    let line = show.lines().find(|l| l.contains("Environments")).unwrap();
    assert!(!line.contains("all"), "{line}");
    let list = cli.ok(&["keys", "list", "--search", "boss"]);
    let row = list
        .lines()
        .find(|l| l.contains("boss"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("all"), "{list}");
}
