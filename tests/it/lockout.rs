//! No lockout: the last active super-admin key cannot be disabled, revoked, expired by an edit
//! or stripped of `admin` (409 `last_super_admin`, naming the break-glass command), however the
//! change is asked for: one key at a time, in bulk, or by two super admins at once.

use std::sync::{Arc, Barrier};

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::harness::{HttpResponse, TestEnv, audit_rows};
use crate::live::{LiveServer, json};

fn is_last_super_admin(r: &HttpResponse, what: &str) {
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 409, "{what}: {text}");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    let problem = json(r);
    assert_eq!(problem["code"], "last_super_admin", "{what}: {text}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("keyward server --break-glass"),
        "{what}: {text}"
    );
}

fn show(server: &LiveServer, token: &str, id: &str) -> Value {
    json(&server.call(token, "GET", &format!("/v1/keys/{id}"), None, &[]))
}

fn successes(server: &LiveServer, id: &str) -> usize {
    audit_rows(&server.db)
        .iter()
        .filter(|r| r.key_id.as_deref() == Some(id) && r.outcome == "success")
        .count()
}

fn edit(server: &LiveServer, token: &str, id: &str, body: Value) -> HttpResponse {
    let version = show(server, token, id)["version"].to_string();
    server.call(
        token,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&body),
        &[("If-Match", &format!("\"{version}\""))],
    )
}

#[test]
fn the_last_super_admin_key_is_never_taken_out() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let id = server.admin_id.clone();
    // A disabled and an expiring super admin do not count: neither is active.
    let (off, _) = server.create(
        &admin,
        json!({"name": "off", "environments": ["staging"], "permissions": ["admin"]}),
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{off}/disable"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    let (_brief, _) = server.create(
        &admin,
        json!({"name": "brief", "environments": ["staging"], "permissions": ["admin"], "expires_in_seconds": 3600}),
    );
    server.advance(SignedDuration::from_hours(2));

    let before = show(&server, &admin, &id);
    let recorded = successes(&server, &id);
    let tries: Vec<(&str, HttpResponse)> = vec![
        (
            "disable",
            server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]),
        ),
        (
            "revoke",
            server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]),
        ),
        (
            "edit away admin",
            edit(&server, &admin, &id, json!({"permissions": ["keys:read"]})),
        ),
        (
            "edit away every permission",
            edit(&server, &admin, &id, json!({"permissions": []})),
        ),
    ];
    for (what, r) in &tries {
        is_last_super_admin(r, what);
    }
    // An expiry in the past is refused for every key, this one included.
    let r = edit(
        &server,
        &admin,
        &id,
        json!({"expires_at": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(show(&server, &admin, &id), before, "the key changed");
    assert_eq!(successes(&server, &id), recorded, "a change was recorded");
    assert_eq!(server.token(&id, &server.admin_secret).0, 200);

    // With another active super admin, the first may go; then the other is the last.
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{off}/enable"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn two_super_admins_revoking_each_other_at_once_leave_one() {
    let env = TestEnv::new();
    let server = Arc::new(LiveServer::start(&env));
    let mut a = (server.admin_id.clone(), server.admin_secret.clone());
    for round in 0..6 {
        let a_token = server.token(&a.0, &a.1).1.unwrap();
        let b = server.create(
            &a_token,
            json!({"name": format!("second-{round}"), "environments": ["staging"], "permissions": ["admin"]}),
        );
        let b_token = server.token(&b.0, &b.1).1.unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let race = |token: String, target: String| {
            let server = server.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                server
                    .call(
                        &token,
                        "POST",
                        &format!("/v1/keys/{target}/revoke"),
                        None,
                        &[],
                    )
                    .status
            })
        };
        let one = race(a_token.clone(), b.0.clone());
        let two = race(b_token.clone(), a.0.clone());
        let (one, two) = (one.join().unwrap(), two.join().unwrap());
        assert!(
            !(one == 200 && two == 200),
            "round {round}: both super admins revoked each other"
        );
        // Whoever survived is still a working super admin; it leads the next round.
        let a_alive = server.token(&a.0, &a.1).0 == 200;
        let b_alive = server.token(&b.0, &b.1).0 == 200;
        assert!(
            a_alive || b_alive,
            "round {round}: ({one}, {two}) locked everyone out"
        );
        if !a_alive {
            a = b;
        }
    }
}

#[test]
fn bulk_changes_skip_the_last_super_admin_and_do_the_rest() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (peer, _) = server.create(
        &admin,
        json!({"name": "peer", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let (other_admin, _) = server.create(
        &admin,
        json!({"name": "other-admin", "environments": ["staging"], "permissions": ["admin"]}),
    );
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    for verb in ["disable", "revoke"] {
        // The other super admin goes first; the last one left is refused; the peer goes.
        let out = cli
            .keyward()
            .args([
                "--output",
                "json",
                "keys",
                verb,
                "other-admin",
                "admin",
                "peer",
                // "admin" is the key this CLI is logged in with: --force, as --yes is not enough.
                "--force",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{verb}: {stdout}");
        let outcomes: Vec<Value> = serde_json::from_str::<Value>(&stdout)
            .map(|v| {
                v.as_array()
                    .or_else(|| v["items"].as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .unwrap_or_else(|e| panic!("{verb}: not JSON ({e}): {stdout}"));
        let of = |name: &str| {
            outcomes
                .iter()
                .find(|o| o["name"] == name)
                .unwrap_or_else(|| panic!("{verb}: no outcome for {name}: {stdout}"))
                .clone()
        };
        assert_eq!(of("admin")["outcome"], "failed", "{stdout}");
        assert!(
            of("admin")["error"]
                .as_str()
                .unwrap()
                .contains("keyward server --break-glass"),
            "{stdout}"
        );
        assert_ne!(of("peer")["outcome"], "failed", "{stdout}");
        assert_ne!(of("other-admin")["outcome"], "failed", "{stdout}");
        if verb == "disable" {
            // Bring the other super admin back for the revoke round.
            let r = server.call(
                &admin,
                "POST",
                &format!("/v1/keys/{other_admin}/enable"),
                Some(&json!({})),
                &[],
            );
            assert_eq!(r.status, 200);
        }
    }
    assert_eq!(show(&server, &admin, &peer)["status"], "revoked");
    assert_eq!(show(&server, &admin, &server.admin_id)["status"], "active");
}

#[test]
fn the_last_super_admin_cannot_be_left_hours_to_live_or_shut_out_by_its_own_allowlist() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let id = server.admin_id.clone();
    let before = show(&server, &admin, &id);
    // Ten seconds, or an hour, to live: a lockout later is a lockout.
    for seconds in [10, 3600] {
        let r = edit(&server, &admin, &id, json!({"expires_in_seconds": seconds}));
        is_last_super_admin(&r, &format!("expires in {seconds} s"));
    }
    // Another super admin that is itself about to expire leaves the first one last.
    let (brief, _) = server.create(
        &admin,
        json!({"name": "brief", "environments": ["staging"], "permissions": ["admin"], "expires_in_seconds": 3600}),
    );
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    is_last_super_admin(&r, "revoke with only an expiring one left");
    let _ = brief;
    // An allowlist that leaves out the address the edit comes from shuts its own key out.
    let r = edit(
        &server,
        &admin,
        &id,
        json!({"allowed_ips": ["192.0.2.1/32"]}),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["code"], "allowlist_locks_out_caller");
    // One that keeps it is fine.
    let r = edit(
        &server,
        &admin,
        &id,
        json!({"allowed_ips": ["127.0.0.0/8"]}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let after = show(&server, &admin, &id);
    assert_eq!(after["expires_at"], before["expires_at"]);
}
