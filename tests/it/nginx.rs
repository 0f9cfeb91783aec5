//! A real nginx in front of keyward and a tiny upstream, on loopback, configured by
//! examples/gateways/nginx.conf as shipped (only its addresses and the gateway key filled in):
//! a valid key reaches the upstream with `Keyward-Key-Id` set and without the client's key; a
//! wrong key is 401; a missing permission 403; an exhausted limit 429 with `Retry-After`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{HttpResponse, TestEnv, http};
use crate::live::LiveServer;

/// An upstream that answers 200 with the request head it received, one connection at a time.
fn upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                head.len()
            );
        }
    });
    addr
}

/// nginx in the foreground as one process, its files in `dir`; stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx(dir: &Path, site: &str) -> Nginx {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is not installed (Debian package nginx; .ci/run installs it)");
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let temp = dir.join("temp");
    std::fs::create_dir_all(&temp).unwrap();
    let main = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log info;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {temp}/body;\n\
         proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n\
         uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n\
         include {dir}/site.conf;\n}}\n",
        dir = dir.display(),
        temp = temp.display(),
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let check = Command::new(binary)
        .args(["-t", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Nginx(child)
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn nginx_passes_a_valid_key_to_the_upstream_and_refuses_the_rest() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (_, gateway) = server.create(
        &admin,
        json!({"name": "gateway", "environments": ["production"], "permissions": ["keys:verify"]}),
    );
    let (reader_id, reader) = server.create(
        &admin,
        json!({"name": "reader", "environments": ["production"], "owner": "cus_42",
               "permissions": ["orders:read"]}),
    );
    let (_, writer_only) = server.create(
        &admin,
        json!({"name": "writer", "environments": ["production"],
               "permissions": ["orders:write"]}),
    );
    let (_, ownerless) = server.create(
        &admin,
        json!({"name": "ownerless", "environments": ["production"],
               "permissions": ["orders:read"]}),
    );
    let (_, limited) = server.create(
        &admin,
        json!({"name": "limited", "environments": ["production"],
               "permissions": ["orders:read"],
               "ratelimits": [{"name": "requests", "limit": 2, "window_secs": 60}]}),
    );

    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gateways/nginx.conf"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let site = example
        .replace("127.0.0.1:8080", server.authority())
        .replace("127.0.0.1:3000", &upstream())
        .replace("127.0.0.1:8000", &listen)
        .replace("kw_sk_PASTE_THE_GATEWAY_KEY_HERE", &gateway);
    assert_ne!(site, example);
    let _nginx = nginx(env.dir.path(), &site);
    let started = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let get = |headers: &[(&str, &str)]| -> HttpResponse {
        http(&listen, "GET", "/orders/7", headers, b"")
    };
    let bearer = |key: &str| format!("Bearer {key}");

    // A valid key reaches the upstream, which learns who it is, not the key.
    let passed = get(&[("Authorization", &bearer(&reader))]);
    assert_eq!(
        passed.status,
        200,
        "{}",
        String::from_utf8_lossy(&passed.body)
    );
    let seen = String::from_utf8_lossy(&passed.body).to_lowercase();
    assert!(seen.starts_with("get /orders/7"), "{seen}");
    assert!(
        seen.contains(&format!("keyward-key-id: {}", reader_id.to_lowercase())),
        "{seen}"
    );
    assert!(seen.contains("keyward-owner: cus_42"), "{seen}");
    assert!(!seen.contains("authorization"), "{seen}");
    assert!(
        !seen.contains(&reader.to_lowercase()),
        "the upstream saw the key"
    );
    // The same through X-API-Key.
    assert_eq!(get(&[("X-API-Key", &reader)]).status, 200);

    // A client cannot pose as keyward's answer: its own Keyward-* headers are replaced or
    // removed, also for a key without an owner.
    let posing = get(&[
        ("Authorization", &bearer(&ownerless)),
        ("Keyward-Key-Id", "key_forged"),
        ("Keyward-Key-Name", "forged-name"),
        ("Keyward-Owner", "forged-owner"),
        ("Keyward-Code", "forged-code"),
    ]);
    assert_eq!(posing.status, 200);
    let seen = String::from_utf8_lossy(&posing.body);
    for forged in ["key_forged", "forged-name", "forged-owner", "forged-code"] {
        assert!(
            !seen.contains(forged),
            "{forged} reached the upstream: {seen}"
        );
    }
    assert!(
        seen.to_lowercase().contains("keyward-key-name: ownerless"),
        "{seen}"
    );

    // A wrong key, and none: 401, and the upstream is not asked.
    let wrong = get(&[(
        "Authorization",
        "Bearer kw_sk_0000000000000000000000000000000000000000000000000",
    )]);
    assert_eq!(wrong.status, 401);
    assert!(!String::from_utf8_lossy(&wrong.body).contains("keyward-key-id"));
    assert_eq!(get(&[]).status, 401);

    // A key without the permission: 403, whatever the client asks for (its own
    // Keyward-Permission header never reaches keyward).
    let denied = get(&[
        ("Authorization", &bearer(&writer_only)),
        ("Keyward-Permission", "orders:write"),
    ]);
    assert_eq!(denied.status, 403);

    // An exhausted limit: 429 with Retry-After.
    assert_eq!(get(&[("Authorization", &bearer(&limited))]).status, 200);
    assert_eq!(get(&[("Authorization", &bearer(&limited))]).status, 200);
    let exhausted = get(&[("Authorization", &bearer(&limited))]);
    assert_eq!(exhausted.status, 429);
    assert_eq!(exhausted.header("retry-after"), Some("60"));
}
