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

    // With -q, the id: the one essential value when no secret is printed.
    let quiet = keyward::secret::random_base62(48);
    let out = cli
        .keyward()
        .args([
            "keys",
            "create",
            "--name",
            "brought-quietly",
            "--env",
            "staging",
            "--secret-stdin",
            "-q",
        ])
        .write_stdin(format!("{quiet}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.trim().starts_with("key_") && !printed.contains(&quiet),
        "{printed}"
    );
    assert_eq!(server.token(printed.trim(), &quiet).0, 200);

    // From a file, too.
    let file = cli.dir.path().join("secret.txt");
    let other = keyward::secret::random_base62(48);
    std::fs::write(&file, &other).unwrap();
    let created = cli.json(&[
        "keys",
        "create",
        "--name",
        "from-file",
        "--env",
        "staging",
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    // The key opens with exactly the file's secret, and with nothing else.
    let id = created["id"].as_str().unwrap();
    assert_eq!(server.token(id, &other).0, 200);
    assert_eq!(server.token(id, &mine).0, 401);

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

#[test]
fn a_brought_keyward_secret_must_carry_its_key_types_prefix() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let public = keyward::secret::Secret::generate("kw_pk_");
    let private = keyward::secret::Secret::generate("kw_sk_");
    for (key_type, secret) in [("private", &public), ("public", &private)] {
        let r = server.call(
            &admin,
            "POST",
            "/v1/keys",
            Some(&json!({"name": format!("wrong-{key_type}"), "type": key_type, "environments": ["staging"], "secret": secret.expose()})),
            &[],
        );
        assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(json(&r)["code"], "secret_type_mismatch");
        assert!(!String::from_utf8_lossy(&r.body).contains(secret.expose()));
    }
    // The right prefix is taken, and the hint shows it.
    let (id, _) = server.create(
        &admin,
        json!({"name": "right", "type": "private", "environments": ["staging"], "secret": private.expose()}),
    );
    let shown = json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]));
    assert!(shown["hint"].as_str().unwrap().starts_with("kw_sk_"));
    assert_eq!(server.token(&id, private.expose()).0, 200);
}

#[test]
fn forged_forwarded_for_headers_cannot_reach_an_allowlisted_key() {
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
    // A client outside 10.0.0.0/8 writes 10.1.1.1 on the left and something the parser once
    // skipped on the right: the walk must stop at that entry, never believe the forged one.
    for forged in [
        "10.1.1.1, 198.51.100.7:5555",
        "10.1.1.1, [2001:db8::1]",
        "10.1.1.1, [2001:db8::1]:443",
        "10.1.1.1, unknown",
        "10.1.1.1, _hidden",
        "10.1.1.1, ",
        "10.1.1.1,,",
        "10.1.1.1, 198.51.100.7",
        "10.1.1.1, 2001:db8::1",
        "10.1.1.1, 10.0.0.999",
        "10.1.1.1, garbage:80",
    ] {
        let (status, _, resp) =
            server.token_with(&far, &far_secret, &[("X-Forwarded-For", forged)]);
        assert_eq!(status, 400, "{forged:?} got a token");
        assert_eq!(json(&resp)["code"], "ip_not_allowed", "{forged:?}");
    }
    // The genuine shapes still work, with a port too.
    for genuine in ["10.1.1.1", "198.51.100.7, 10.1.1.1", "10.1.1.1:5555"] {
        let (status, _, _) = server.token_with(&far, &far_secret, &[("X-Forwarded-For", genuine)]);
        assert_eq!(status, 200, "{genuine:?}");
    }
}

#[test]
fn a_stored_allowlist_entry_that_does_not_parse_denies() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "listed", "environments": ["staging"], "allowed_ips": ["127.0.0.1/32"], "permissions": ["keys:verify"]}),
    );
    let (verifier, verifier_secret) = server.create(
        &admin,
        json!({"name": "verifier", "environments": ["staging"], "permissions": ["keys:verify"]}),
    );
    let verifier_token = server.token(&verifier, &verifier_secret).1.unwrap();
    assert_eq!(server.token(&id, &secret).0, 200);
    // The stored list is damaged behind the API's back: every entry stops parsing.
    server.block_on(async {
        let mut record = server.state.store.get_key(&id).await.unwrap().unwrap();
        record.allowed_ips = vec!["127.0.0.1/not-a-prefix".to_owned(), "".to_owned()];
        let version = record.version;
        record.version += 1;
        let mut event =
            keyward::server::store::AuditEvent::success(server.now(), "test", "key.edit");
        event.key_id = Some(id.clone());
        assert!(
            server
                .state
                .store
                .update_key(&record, version, None, &event)
                .await
                .unwrap()
        );
    });
    let (status, _, resp) = server.token(&id, &secret);
    assert_eq!(
        status, 400,
        "a list of unparsable entries must not mean any address"
    );
    assert_eq!(json(&resp)["code"], "ip_not_allowed");
    let (_, body) = server.verify(&verifier_token, json!({"key": secret, "ip": "127.0.0.1"}));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "IP_NOT_ALLOWED");
}

/// A `kw_sk_` secret with the given 43-character body and a correct checksum.
fn keyward_shaped(body: &str) -> String {
    assert_eq!(body.len(), 43);
    let signed = format!("kw_sk_{body}");
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(signed.as_bytes()) as u64;
    let mut sum = [b'0'; 6];
    for slot in sum.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    format!("{signed}{}", String::from_utf8(sum.to_vec()).unwrap())
}

#[test]
fn a_brought_keyward_secret_is_judged_by_its_body() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let weak = [
        "0".repeat(43),
        "ab".repeat(21) + "a",
        "abc".repeat(14) + "a",
        "0123456789".repeat(4) + "012",
    ];
    for (i, body) in weak.iter().enumerate() {
        let secret = keyward_shaped(body);
        keyward::secret::check_format(&secret).expect("a well-formed secret");
        let r = server.call(
            &admin,
            "POST",
            "/v1/keys",
            Some(&json!({"name": format!("weak-{i}"), "environments": ["staging"], "secret": secret})),
            &[],
        );
        assert_eq!(
            r.status,
            422,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(json(&r)["code"], "weak_secret");
        assert!(!String::from_utf8_lossy(&r.body).contains(body.as_str()));
    }
    // A generated one is taken, every time.
    for i in 0..20 {
        let secret = keyward::secret::Secret::generate("kw_sk_");
        server.create(
            &admin,
            json!({"name": format!("strong-{i}"), "environments": ["staging"], "secret": secret.expose()}),
        );
    }
}

#[test]
fn a_secret_in_use_elsewhere_is_refused_like_any_unusable_secret_audited_and_throttled() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let hidden = keyward::secret::random_base62(48);
    let (hidden_id, _) = server.create(
        &admin,
        json!({"name": "hidden", "environments": ["production"], "secret": hidden}),
    );
    let (caller, caller_secret) = server.create(
        &admin,
        json!({"name": "scoped", "environments": ["staging"], "permissions": ["keys:read", "keys:write"]}),
    );
    let token = server.token(&caller, &caller_secret).1.unwrap();
    let before = crate::harness::audit_rows(&server.db).len();
    let r = server.call(
        &token,
        "POST",
        "/v1/keys",
        Some(&json!({"name": "guess", "environments": ["staging"], "secret": hidden})),
        &[],
    );
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 422, "{text}");
    let problem = json(&r);
    assert_eq!(problem["code"], "weak_secret");
    // Nothing about the holder: not its id, name or environment.
    for leak in [hidden_id.as_str(), "hidden", "production", hidden.as_str()] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    // Audited as a failed create by the caller, naming no key and no secret.
    let rows = crate::harness::audit_rows(&server.db);
    let new: Vec<_> = rows[before..].iter().collect();
    assert!(
        new.iter().any(|r| r.action == "key.create"
            && r.outcome == "failure"
            && r.actor == format!("key:{caller}")
            && r.key_id.is_none()),
        "{new:?}"
    );
    // And throttled: guessing secrets this way soon answers 429 without checking.
    let mut throttled = false;
    for i in 0..20 {
        let r = server.call(
            &token,
            "POST",
            "/v1/keys",
            Some(&json!({"name": format!("guess-{i}"), "environments": ["staging"], "secret": hidden})),
            &[],
        );
        if r.status == 429 {
            throttled = true;
            assert!(r.header("retry-after").is_some());
            break;
        }
        assert_eq!(r.status, 422);
    }
    assert!(throttled, "twenty guesses in a row were all checked");
}

#[test]
fn names_shaped_like_secrets_or_tokens_are_refused() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, _) = server.create(
        &admin,
        json!({"name": "plain", "environments": ["staging"]}),
    );
    let secret = keyward::secret::Secret::generate("kw_sk_");
    let public = keyward::secret::Secret::generate("kw_pk_");
    let token = keyward::secret::Secret::generate("kw_at_");
    for name in [
        secret.expose().to_owned(),
        public.expose().to_owned(),
        token.expose().to_owned(),
        "kw_sk_short".to_owned(),
        "KW_SK_upper".to_owned(),
    ] {
        let r = server.call(
            &admin,
            "POST",
            "/v1/keys",
            Some(&json!({"name": name, "environments": ["staging"]})),
            &[],
        );
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, 422, "{name}: {text}");
        assert_eq!(json(&r)["code"], "invalid_name");
        assert!(!text.contains(&name), "the name is echoed: {text}");
        let version =
            json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]))["version"]
                .to_string();
        let r = server.call(
            &admin,
            "PATCH",
            &format!("/v1/keys/{id}"),
            Some(&json!({"name": name})),
            &[("If-Match", &format!("\"{version}\""))],
        );
        assert_eq!(r.status, 422, "{name}");
        assert_eq!(json(&r)["code"], "invalid_name");
    }
    // Other names with kw_ in them are fine.
    server.create(
        &admin,
        json!({"name": "kw_tools", "environments": ["staging"]}),
    );
}

#[test]
fn a_token_is_checked_against_its_keys_allowlist_on_every_use() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            trusted_proxies: vec!["127.0.0.1/32"],
            ..Options::default()
        },
    );
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "office", "environments": ["staging"], "permissions": ["keys:read"], "allowed_ips": ["10.0.0.0/8"]}),
    );
    let from = |ip: &str| vec![("X-Forwarded-For", ip.to_owned())];
    let (status, token, _) = server.token_with(&id, &secret, &[("X-Forwarded-For", "10.1.2.3")]);
    assert_eq!(status, 200);
    let token = token.unwrap();
    let whoami = |ip: &str| {
        let headers = from(ip);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server
            .call(&token, "GET", "/v1/whoami", None, &headers)
            .status
    };
    assert_eq!(whoami("10.1.2.3"), 200);
    assert_eq!(whoami("10.200.0.1"), 200);
    // Minted from an allowed address, used from another: refused.
    assert_eq!(whoami("192.0.2.1"), 401);
    // Narrowing the allowlist ends the token's use from the addresses it drops.
    let version =
        json(&server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]))["version"]
            .to_string();
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&json!({"allowed_ips": ["10.1.0.0/16"]})),
        &[("If-Match", &format!("\"{version}\""))],
    );
    assert_eq!(r.status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while whoami("10.200.0.1") != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the narrowed allowlist did not reach the token"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(whoami("10.1.2.3"), 200);
}
