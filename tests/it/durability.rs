//! Nothing acknowledged is lost: a server killed with SIGKILL in the middle of a write load is
//! restarted on the same database and every key it answered 201 for is there (three rounds); a
//! server stopped with SIGTERM under load answers each request it started, so every key in the
//! database was answered for.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Server, TestEnv, bootstrap, store_args};

/// What the writers sent and what the server acknowledged, by key name.
#[derive(Default)]
pub struct Load {
    pub stop: AtomicBool,
    pub sent: Mutex<BTreeSet<String>>,
    pub acked: Mutex<BTreeSet<String>>,
}

/// One `POST /v1/keys` on a fresh connection; the status, or `None` when the connection
/// failed or closed before a whole status line came back.
fn create(authority: &str, token: &str, name: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(authority).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = format!(r#"{{"name":"{name}","environments":["default"]}}"#);
    let request = format!(
        "POST /v1/keys HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let head = String::from_utf8_lossy(&raw);
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    // A 201 counts only with its body: the key's id.
    (status != 201 || head.contains("\"id\":\"key_")).then_some(status)
}

/// Four writers creating keys until told to stop.
pub fn start_writers(
    authority: &str,
    token: &str,
    round: &str,
    load: &Arc<Load>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..4)
        .map(|w| {
            let (authority, token, round, load) = (
                authority.to_owned(),
                token.to_owned(),
                round.to_owned(),
                load.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !load.stop.load(Ordering::Relaxed) {
                    let name = format!("{round}-w{w}-{n:05}");
                    n += 1;
                    load.sent.lock().unwrap().insert(name.clone());
                    match create(&authority, &token, &name) {
                        Some(201) => {
                            load.acked.lock().unwrap().insert(name);
                        }
                        Some(status) => panic!("{name}: status {status}"),
                        // Killed or stopping: wait for the test to say stop.
                        None => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect()
}

/// Every key name in the database, through a server on it.
pub fn names(server: &Server, token: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/keys?limit=1000".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value =
            serde_json::from_slice(&server.get_with_token(&path, token).body).unwrap();
        for k in page["items"].as_array().unwrap() {
            out.insert(k["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

pub struct Setup {
    pub env: TestEnv,
    pub store: Vec<String>,
    pub admin: (String, String),
}

pub fn setup(name: &str) -> Setup {
    let env = TestEnv::new();
    let db = env.database(&format!("{name}.db"));
    let pepper = env.dir.path().join(format!("{name}.pepper"));
    let store = store_args(&db, &pepper);
    let admin = bootstrap(&env, &store);
    Setup { env, store, admin }
}

impl Setup {
    pub fn start(&self) -> (Server, String) {
        let args: Vec<&str> = self.store.iter().map(String::as_str).collect();
        let server = Server::start(&self.env, &args);
        let (status, token) = server.token(&self.admin.0, &self.admin.1);
        assert_eq!(status, 200);
        (server, token.unwrap())
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill_mid_load() {
    let s = setup("kill");
    for (round, load_ms) in [(1, 300), (2, 500), (3, 700)] {
        let (mut server, token) = s.start();
        let load = Arc::new(Load::default());
        let writers = start_writers(server.authority(), &token, &format!("r{round}"), &load);
        std::thread::sleep(Duration::from_millis(load_ms));
        // SIGKILL: no shutdown, no flush, nothing the server can do.
        let _ = server_kill(&mut server);
        std::thread::sleep(Duration::from_millis(50));
        load.stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let acked = load.acked.lock().unwrap().clone();
        assert!(
            acked.len() > 10,
            "round {round}: only {} writes",
            acked.len()
        );
        let (server, token) = s.start();
        let stored = names(&server, &token);
        let lost: Vec<&String> = acked.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged and lost: {lost:?}"
        );
        drop(server);
    }
}

#[test]
fn sigterm_under_load_answers_every_request_it_started() {
    let s = setup("term");
    let (mut server, token) = s.start();
    let load = Arc::new(Load::default());
    let writers = start_writers(server.authority(), &token, "t", &load);
    std::thread::sleep(Duration::from_millis(400));
    let code = server.terminate();
    assert_eq!(code, Some(0), "{}", server.log_text());
    load.stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let (sent, acked) = (
        load.sent.lock().unwrap().clone(),
        load.acked.lock().unwrap().clone(),
    );
    let (server, token) = s.start();
    let stored: BTreeSet<String> = names(&server, &token)
        .into_iter()
        .filter(|n| sent.contains(n))
        .collect();
    assert!(acked.len() > 10, "only {} writes", acked.len());
    // Each write either answered 201 and is there, or never happened: none made and unanswered.
    assert_eq!(stored, acked, "made but not answered, or answered but lost");
}

/// SIGKILL, and the exit reaped.
fn server_kill(server: &mut Server) -> Option<Option<i32>> {
    // SAFETY: kill(2) on the pid of a child the harness spawned and has not reaped.
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGKILL) };
    server.wait_exit(Duration::from_secs(10))
}
