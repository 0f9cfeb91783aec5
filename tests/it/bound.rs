//! Credentials bound to their server: a profile's stored secret and cached token go only to the
//! origin (scheme, host, port) the profile names, and no request follows a redirect. The other
//! hosts here are real listeners on loopback that record every byte they are sent.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Server, TestEnv, contains};

/// One HTTP/1.1 request read off a connection: its head and its body (by Content-Length).
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = raw[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    Some((head, body))
}

fn path_of(head: &str) -> String {
    head.split_whitespace().nth(1).unwrap_or("").to_owned()
}

/// What a listener was sent: every request's head and body bytes, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u8>>>);

impl Seen {
    fn record(&self, head: &str, body: &[u8]) {
        let mut seen = self.0.lock().unwrap();
        seen.extend_from_slice(head.as_bytes());
        seen.extend_from_slice(body);
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

/// A listener on loopback, in a thread of its own, that records what it is sent and either
/// answers 404 itself, or passes each request on to `upstream` (a real keyward server), or
/// redirects the requests whose path `redirect` picks to `redirect_to`.
struct Listener {
    url: String,
    seen: Seen,
}

type Pick = fn(&str) -> bool;

impl Listener {
    /// Answers every request 404, having recorded it: a host that must never be sent anything.
    fn recorder() -> Listener {
        Self::spawn(None, None)
    }

    /// Passes every request on to `upstream`, recording it.
    fn relay(upstream: &Server) -> Listener {
        Self::spawn(Some(upstream.authority().to_owned()), None)
    }

    /// Passes requests on to `upstream`, but answers those `pick` chooses with a 307 to the same
    /// path at `to`.
    fn redirecting(upstream: &Server, pick: Pick, to: &str) -> Listener {
        Self::spawn(
            Some(upstream.authority().to_owned()),
            Some((pick, to.to_owned())),
        )
    }

    fn spawn(upstream: Option<String>, redirect: Option<(Pick, String)>) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Seen::default();
        let recorded = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (seen, upstream, redirect) =
                    (recorded.clone(), upstream.clone(), redirect.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    // One request at a time; the connection closes after an answer passed on.
                    while let Some((head, body)) = read_request(&mut stream) {
                        seen.record(&head, &body);
                        let path = path_of(&head);
                        if let Some((_, to)) = redirect.as_ref().filter(|(p, _)| p(&path)) {
                            let answer = format!(
                                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}{path}\r\nContent-Length: 0\r\n\r\n"
                            );
                            if stream.write_all(answer.as_bytes()).is_err() {
                                return;
                            }
                            continue;
                        }
                        let Some(upstream) = &upstream else {
                            let _ = stream.write_all(
                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            );
                            return;
                        };
                        let _ = stream.write_all(&pass_on(upstream, &head, &body));
                        return;
                    }
                });
            }
        });
        Listener { url, seen }
    }
}

/// Sends a request on to `upstream` over a connection of its own and returns the raw answer.
fn pass_on(upstream: &str, head: &str, body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("host:")
        })
        .collect();
    let host = format!("Host: {upstream}");
    lines.insert(1, &host);
    lines.push("Connection: close");
    let mut request = lines.join("\r\n").into_bytes();
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body);
    let mut out = TcpStream::connect(upstream).unwrap();
    out.write_all(&request).unwrap();
    let mut answer = Vec::new();
    let _ = out.read_to_end(&mut answer);
    answer
}

#[test]
fn a_profiles_stored_secret_and_token_go_only_to_its_own_server() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    let evil = Listener::recorder();

    // An injected KEYWARD_URL, or a --url, points the logged-in profile at another host.
    let out = env
        .keyward()
        .env("KEYWARD_URL", &evil.url)
        .arg("whoami")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to send the login secret of profile \"default\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("stored for {}", server.url)),
        "{stderr}"
    );
    assert!(stderr.contains("KEYWARD_URL points elsewhere"), "{stderr}");
    assert!(stderr.contains("KEYWARD_CLIENT_SECRET"), "{stderr}");
    assert!(!stderr.contains(&server.admin_secret), "{stderr}");
    for args in [
        &["--url", &evil.url, "whoami"][..],
        &["--url", &evil.url, "keys", "list"][..],
    ] {
        let stderr = env.fails(args, 2);
        assert!(stderr.contains("--url points elsewhere"), "{stderr}");
    }
    // The login key named in the environment, its secret still the keyring's: still refused.
    let out = env
        .keyward()
        .env("KEYWARD_URL", &evil.url)
        .env("KEYWARD_CLIENT_ID", &server.admin_id)
        .arg("whoami")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        evil.seen.bytes().is_empty(),
        "the other host was sent: {}",
        String::from_utf8_lossy(&evil.seen.bytes())
    );

    // The profile's own origin, however written, is fine.
    let same = format!("{}/", server.url.replace("http://", "HTTP://"));
    let me = env.json(&["--url", &same, "whoami"]);
    assert_eq!(me["key_id"], server.admin_id.as_str());

    // Credentials given in the environment for the run go wherever the run points.
    let other = Server::dev(&env, None, "info");
    let out = env
        .keyward()
        .env("KEYWARD_URL", &other.url)
        .env("KEYWARD_CLIENT_ID", &other.admin_id)
        .env("KEYWARD_CLIENT_SECRET", &other.admin_secret)
        .args(["--output", "json", "whoami"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(me["key_id"], other.admin_id.as_str());
    assert_eq!(me["url"], other.url.as_str());
}

#[test]
fn no_request_follows_a_redirect() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    // The redirect target is the real server, through a relay that records what reaches it.
    let target = Listener::relay(&server);

    // A server URL that redirects everything: the token request (the secret in its header, a
    // body that a 307 would send on) goes no further.
    let everything = Listener::redirecting(&server, |_| true, &target.url);
    env.set("KEYWARD_URL", &everything.url)
        .set("KEYWARD_CLIENT_ID", &server.admin_id)
        .set("KEYWARD_CLIENT_SECRET", &server.admin_secret);
    let stderr = env.fails(&["whoami"], 1);
    assert!(
        stderr.contains("answered with a redirect (307)"),
        "{stderr}"
    );
    assert!(stderr.contains("follows no redirect"), "{stderr}");
    assert!(
        stderr.contains(&format!("If you trust {}", target.url)),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/v1/"),
        "no API path in the message: {stderr}"
    );
    assert!(!stderr.contains(&server.admin_secret));
    assert!(
        target.seen.bytes().is_empty(),
        "the redirect target was sent: {}",
        String::from_utf8_lossy(&target.seen.bytes())
    );

    // A profile logged in through a server that redirects only verify: the key to check, in
    // the request's body, never reaches the redirect target; nor does the token.
    env.unset("KEYWARD_URL")
        .unset("KEYWARD_CLIENT_ID")
        .unset("KEYWARD_CLIENT_SECRET");
    let verify_moved = Listener::redirecting(&server, |p| p == "/v1/verify", &target.url);
    let out = env
        .keyward()
        .args([
            "login",
            "--url",
            &verify_moved.url,
            "--client-id",
            &server.admin_id,
        ])
        .write_stdin(format!("{}\n", server.admin_secret))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let presented = env
        .ok(&[
            "keys",
            "create",
            "--name",
            "presented",
            "--env",
            "staging",
            "--no-store",
            "-q",
        ])
        .trim()
        .to_owned();
    let out = env
        .keyward()
        .args(["keys", "verify"])
        .write_stdin(format!("{presented}\n"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("answered with a redirect (307)"),
        "{stderr}"
    );
    assert!(!stderr.contains(&presented));
    let seen = target.seen.bytes();
    assert!(
        !contains(&seen, &presented),
        "the presented key was sent on"
    );
    assert!(
        seen.is_empty(),
        "the redirect target was sent: {}",
        String::from_utf8_lossy(&seen)
    );
    // The server behind was asked for a token, but never to verify.
    assert!(contains(&verify_moved.seen.bytes(), "POST /v1/verify"));
}

#[test]
fn a_secret_kept_from_an_earlier_login_never_goes_to_the_profiles_new_server() {
    let env = TestEnv::new();
    let first = Server::dev(&env, None, "info");
    env.login_as_admin(&first);
    // The profile moves to another server; the first server's login secret stays in the
    // keyring, under the profile.
    let second = Server::dev(&env, None, "info");
    env.login_as_admin(&second);
    let before = second.log_text().matches(&first.admin_id).count();
    // Naming the first server's key for this run, with no secret given, must not send the
    // secret kept for the first server to the profile's server now.
    let out = env
        .keyward()
        .env("KEYWARD_CLIENT_ID", &first.admin_id)
        .args(["--output", "json", "whoami"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("KEYWARD_CLIENT_SECRET"), "{stderr}");
    assert_eq!(
        second.log_text().matches(&first.admin_id).count(),
        before,
        "the second server was asked about the first one's key"
    );
    // The profile's own login goes on working.
    let me = env.json(&["whoami"]);
    assert_eq!(me["key_id"], second.admin_id.as_str());
}
