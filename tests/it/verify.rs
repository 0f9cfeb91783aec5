//! `POST /v1/verify` and `keyward keys verify`: each code, and INVALID alike byte for byte.

use jiff::SignedDuration;
use serde_json::json;

use crate::harness::TestEnv;
use crate::live::LiveServer;

#[test]
fn invalid_answers_are_byte_identical() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (_, real) = server.create(&admin, json!({"name": "real", "environments": ["staging"]}));

    // Unknown: a well-formed secret no key has.
    let unknown = keyward::secret::Secret::generate("kw_sk_");
    let (s1, unknown_body) = server.verify(&admin, json!({"key": unknown.expose()}));
    // Wrong: the real secret with its random part changed and the checksum made valid again,
    // so it passes the format check and fails only on the digest.
    let wrong = {
        let body = &real[6..49];
        let flipped: String = body.chars().rev().collect();
        let signed = format!("kw_sk_{flipped}");
        let sum = crc32fast::hash(signed.as_bytes()) as u64;
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = sum;
        let mut digits = [b'0'; 6];
        for d in digits.iter_mut().rev() {
            *d = A[(n % 62) as usize];
            n /= 62;
        }
        signed + std::str::from_utf8(&digits).unwrap()
    };
    crate::harness::assert_secret_format(&wrong, "kw_sk_");
    let (s2, wrong_body) = server.verify(&admin, json!({"key": wrong}));
    // Mistyped (checksum fails) and not keyward-shaped at all.
    let mut typo = real.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let (s3, typo_body) = server.verify(&admin, json!({"key": String::from_utf8(typo).unwrap()}));
    let (s4, foreign_body) = server.verify(
        &admin,
        json!({"key": "not-a-keyward-key-at-all-0123456789"}),
    );

    assert_eq!((s1, s2, s3, s4), (200, 200, 200, 200));
    assert_eq!(
        unknown_body,
        br#"{"valid":false,"code":"INVALID"}"#.to_vec()
    );
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(typo_body, unknown_body);
    assert_eq!(foreign_body, unknown_body);
}

#[test]
fn each_code_has_its_case() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let make = |name: &str, extra: serde_json::Value| {
        let mut body =
            json!({"name": name, "environments": ["production"], "permissions": ["orders:read"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        server.create(&admin, body)
    };
    let code = |key: &str, extra: serde_json::Value| {
        let mut body = json!({"key": key});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, bytes) = server.verify(&admin, body);
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["code"].as_str().unwrap().to_owned()
    };

    let (_, ok) = make("ok", json!({}));
    assert_eq!(code(&ok, json!({})), "VALID");
    assert_eq!(
        code(
            &ok,
            json!({"permission": "orders:read", "environment": "production"})
        ),
        "VALID"
    );
    assert_eq!(
        code(&ok, json!({"permission": "orders:write"})),
        "PERMISSION_DENIED"
    );
    assert_eq!(
        code(&ok, json!({"environment": "staging"})),
        "ENVIRONMENT_DENIED"
    );

    let (_, fenced) = make(
        "fenced",
        json!({"allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]}),
    );
    assert_eq!(code(&fenced, json!({"ip": "10.9.8.7"})), "VALID");
    assert_eq!(
        code(&fenced, json!({"ip": "::ffff:10.9.8.7"})),
        "VALID",
        "IPv4-mapped"
    );
    assert_eq!(code(&fenced, json!({"ip": "2001:db8::5"})), "VALID");
    assert_eq!(code(&fenced, json!({"ip": "192.0.2.1"})), "IP_NOT_ALLOWED");
    assert_eq!(
        code(&fenced, json!({})),
        "IP_NOT_ALLOWED",
        "no address reported"
    );

    let (id, off) = make("off", json!({}));
    server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/disable"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(code(&off, json!({})), "DISABLED");

    let (id, gone) = make("gone", json!({}));
    server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{id}/revoke"),
        Some(&json!({})),
        &[],
    );
    assert_eq!(code(&gone, json!({})), "REVOKED");

    let soon = (server.now() + SignedDuration::from_secs(30)).to_string();
    let (_, brief) = make("brief", json!({"expires_at": soon}));
    assert_eq!(code(&brief, json!({})), "VALID");
    server.advance(SignedDuration::from_secs(31));
    assert_eq!(code(&brief, json!({})), "EXPIRED");

    // A public key verifies too (that is what it is for).
    let (_, public) = make(
        "web",
        json!({"type": "public", "permissions": ["catalog:read"]}),
    );
    assert_eq!(
        code(&public, json!({"permission": "catalog:read"})),
        "VALID"
    );

    // Verify needs keys:verify.
    let (caller, caller_secret) = make("no-verify", json!({}));
    let (_, token, _) = server.token(&caller, &caller_secret);
    let (status, _) = server.verify(&token.unwrap(), json!({"key": ok}));
    assert_eq!(status, 403);
}

#[test]
fn the_cli_verifies_a_key_from_stdin() {
    let env = TestEnv::new();
    let created = env.json(&[
        "keys",
        "create",
        "--name",
        "checked",
        "--permission",
        "keys:read",
        "--no-store",
    ]);
    let secret = created["secret"].as_str().unwrap();
    let out = env
        .keyward()
        .args([
            "keys",
            "verify",
            "--permission",
            "keys:read",
            "--output",
            "json",
        ])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["code"], "VALID");
    assert_eq!(answer["key_id"], created["id"]);

    let out = env
        .keyward()
        .args(["keys", "verify", "--permission", "keys:write", "-q"])
        .write_stdin(secret)
        .output()
        .unwrap();
    // Its own exit code: the server answered, and the answer is no.
    assert_eq!(out.status.code(), Some(10));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PERMISSION_DENIED"
    );

    // Verifying records "last used" (the embedded store writes it at once).
    let shown = env.json(&["keys", "show", "checked"]);
    assert!(shown["last_used_at"].is_string(), "{shown}");
}
