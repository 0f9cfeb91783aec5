//! Bringing your own secret, and the IP allowlist at token exchange.

use serde_json::json;

use crate::harness::TestEnv;
use crate::live::{LiveServer, Options, json};

#[test]
fn a_brought_secret_is_stored_like_any_other() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let mine = keyward::secret::random_base62(48);
    let out = cli
        .keyward()
        .args([
            "keys",
            "create",
            "--name",
            "brought",
            "--env",
            "staging",
            "--secret-stdin",
            "--output",
            "json",
        ])
        .write_stdin(format!("{mine}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        created["secret"].is_null(),
        "a brought secret is not shown back"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&mine));
    let id = created["id"].as_str().unwrap();
    assert_eq!(server.token(id, &mine).0, 200);

    // From a file, too.
    let file = cli.dir.path().join("secret.txt");
    let other = keyward::secret::random_base62(48);
    std::fs::write(&file, &other).unwrap();
    cli.ok(&[
        "keys",
        "create",
        "--name",
        "from-file",
        "--env",
        "staging",
        "--secret-file",
        file.to_str().unwrap(),
    ]);

    // Weak ones are refused before anything is created.
    for weak in ["short", &"a".repeat(40), &"0123456789abcdef".repeat(4)] {
        let out = cli
            .keyward()
            .args([
                "keys",
                "create",
                "--name",
                "weak",
                "--env",
                "staging",
                "--secret-stdin",
            ])
            .write_stdin(weak.to_owned())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{weak}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--secret-stdin"));
    }
    cli.fails(&["keys", "show", "weak"], 4);
    // And the server refuses them too, whatever the client.
    let admin = server.admin_token();
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "weak", "environments": ["staging"], "secret": "password1234password1234password1234"})),
        &[],
    );
    assert_eq!(r.status, 422);
    assert_eq!(json(&r)["code"], "weak_secret");
}

#[test]
fn token_exchange_checks_the_connecting_address() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (far, far_secret) = server.create(
        &admin,
        json!({"name": "far", "environments": ["staging"], "allowed_ips": ["10.0.0.0/8"]}),
    );
    let (near, near_secret) = server.create(
        &admin,
        json!({"name": "near", "environments": ["staging"], "allowed_ips": ["127.0.0.0/8", "::1/128"]}),
    );
    let (status, _, resp) = server.token(&far, &far_secret);
    assert_eq!(status, 400);
    assert_eq!(json(&resp)["code"], "ip_not_allowed");
    assert_eq!(server.token(&near, &near_secret).0, 200);
    // X-Forwarded-For from an untrusted peer is ignored.
    let (status, _, _) = server.token_with(&far, &far_secret, &[("X-Forwarded-For", "10.1.2.3")]);
    assert_eq!(status, 400);
}

#[test]
fn a_trusted_proxy_vouches_for_the_client_address() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            trusted_proxies: vec!["127.0.0.1/32"],
            ..Options::default()
        },
    );
    let admin = server.admin_token();
    let (far, far_secret) = server.create(
        &admin,
        json!({"name": "far", "environments": ["staging"], "allowed_ips": ["10.0.0.0/8"]}),
    );
    let (status, _, _) = server.token_with(&far, &far_secret, &[("X-Forwarded-For", "10.1.2.3")]);
    assert_eq!(status, 200);
    // The rightmost untrusted address counts, not one the client wrote further left.
    let (status, _, _) = server.token_with(
        &far,
        &far_secret,
        &[("X-Forwarded-For", "10.1.2.3, 192.0.2.50")],
    );
    assert_eq!(status, 400);
    server.flush_last_used();
    let shown = json(&server.call(&admin, "GET", &format!("/v1/keys/{far}"), None, &[]));
    assert_eq!(shown["last_used_ip"], "10.1.2.3");
}
