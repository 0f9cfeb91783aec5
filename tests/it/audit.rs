//! The audit log as a product: one event per change with who, what, which key and environments,
//! from where and how it ended; failed token exchanges too; never a secret; read through
//! `GET /v1/audit` and `keyward audit` (filtered, scoped, exported, followed); and a chain that
//! `keyward audit verify` checks, so a row changed, removed or inserted in the database is named.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward::server::store::{self, AuditEvent};
use keyward::server::{AppState, Catalog};
use serde_json::{Value, json};

use crate::harness::{Backend, TestEnv, db_exec};
use crate::live::{LiveServer, json};

/// Every event the CLI exports as JSON Lines (`keyward audit --all --output jsonl`), each line
/// parsed on its own.
fn export(cli: &TestEnv, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "--all", "--output", "jsonl"];
    args.extend_from_slice(extra);
    cli.ok(&args)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line:?}"))
        })
        .collect()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[test]
fn each_lifecycle_action_through_the_cli_is_one_event_and_a_keys_story_reads_in_order() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let steps: [&[&str]; 6] = [
        &[
            "keys", "create", "--name", "story", "--env", "staging", "-q",
        ],
        &["keys", "edit", "story", "--description", "now with words"],
        &["keys", "disable", "story", "--yes"],
        &["keys", "enable", "story"],
        &["keys", "rotate", "story", "--grace", "0", "-q"],
        &["keys", "revoke", "story", "--yes"],
    ];
    for step in steps {
        cli.ok(step);
    }
    let story = json!(cli.ok(&["audit", "--key", "story", "--output", "json"]));
    let story: Value = serde_json::from_str(story.as_str().unwrap()).unwrap();
    let events = story["items"].as_array().unwrap();
    assert_eq!(
        actions(events),
        [
            "key.create",
            "key.edit",
            "key.disable",
            "key.enable",
            "key.rotate",
            "key.revoke"
        ],
        "the key's whole story, oldest first, one event per action"
    );
    let key_id = events[0]["key_id"].as_str().unwrap().to_owned();
    let mut request_ids = BTreeSet::new();
    for e in events {
        assert_eq!(e["actor"], format!("key:{}", server.admin_id), "{e}");
        assert_eq!(e["actor_name"], "admin", "{e}");
        assert_eq!(e["key_id"], key_id.as_str(), "{e}");
        assert_eq!(e["environments"], json!(["staging"]), "{e}");
        assert_eq!(e["source_ip"], "127.0.0.1", "{e}");
        assert_eq!(e["outcome"], "success", "{e}");
        assert_eq!(e["error_code"], Value::Null, "{e}");
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(request_ids.insert(e["request_id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(events[1]["changed"], json!(["description"]));
    assert_eq!(events[0]["changed"], json!([]));
    // Exactly these events are about the key in the database itself.
    let rows: Vec<_> = crate::harness::audit_rows(&server.db)
        .into_iter()
        .filter(|r| r.key_id.as_deref() == Some(&key_id))
        .collect();
    assert_eq!(rows.len(), 6, "{rows:?}");

    // The table for people: relative times, the actor's name, what changed.
    let table = cli.ok(&["audit", "--key", &key_id]);
    assert!(table.contains("(description)"), "{table}");
    assert!(table.contains("admin"), "{table}");
    // Newest first by default; filters narrow it.
    let newest = export(&cli, &["--action", "key.revoke"]);
    assert_eq!(actions(&newest), ["key.revoke"]);
    let all = export(&cli, &[]);
    assert!(
        all.windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64())
    );
    let exchanges = export(&cli, &["--actor", &format!("key:{}", server.admin_id)]);
    assert!(actions(&exchanges).contains(&"token.exchange"));
    let none = export(&cli, &["--since", "2099-01-01"]);
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn failed_token_exchanges_are_events_with_their_outcome_and_no_secret_is_anywhere_in_the_log() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (fenced, fenced_secret) = server.create(
        &admin,
        json!({"name": "fenced", "environments": ["staging"], "permissions": ["orders:read"],
               "allowed_ips": ["10.0.0.0/8"]}),
    );
    let (off, off_secret) = server.create(
        &admin,
        json!({"name": "off", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let r = server.call(
        &admin,
        "POST",
        &format!("/v1/keys/{off}/disable"),
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    let wrong = format!("kw_sk_{}", keyward::secret::random_base62(49));
    assert_eq!(server.token(&fenced, &fenced_secret).0, 400);
    assert_eq!(server.token(&off, &off_secret).0, 400);
    assert_eq!(server.token(&off, &wrong).0, 401);
    assert_eq!(server.token(&off, "not even a secret").0, 401);

    let r = server.call(
        &admin,
        "GET",
        "/v1/audit?action=token.exchange&outcome=failure&order=oldest",
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let failures = json(&r)["items"].as_array().unwrap().clone();
    let seen: Vec<(&str, &str, &str)> = failures
        .iter()
        .map(|e| {
            (
                e["key_id"].as_str().unwrap(),
                e["actor_name"].as_str().unwrap(),
                e["error_code"].as_str().unwrap(),
            )
        })
        .collect();
    // The second wrong secret for `off` from this network in this interval is counted, not
    // itemized (see docs/audit.md).
    assert_eq!(
        seen,
        [
            (fenced.as_str(), "fenced", "ip_not_allowed"),
            (off.as_str(), "off", "key_disabled"),
            (off.as_str(), "off", "invalid_client"),
        ]
    );
    for e in &failures {
        assert_eq!(e["outcome"], "failure");
        assert_eq!(e["environments"], json!(["staging"]));
        assert_eq!(e["source_ip"], "127.0.0.1");
    }
    // When the interval is over, the count is one more event, naming the key and the network.
    server.advance(keyward::server::workers::failure_tally::INTERVAL);
    server.block_on(keyward::server::workers::flusher::flush(&server.state));
    let r = server.call(
        &admin,
        "GET",
        "/v1/audit?action=token.exchange&outcome=failure&order=oldest",
        None,
        &[],
    );
    let failures = json(&r)["items"].as_array().unwrap().clone();
    assert_eq!(failures.len(), 4, "{failures:?}");
    let count = &failures[3];
    assert_eq!(count["key_id"], off.as_str());
    assert_eq!(count["error_code"], "invalid_client");
    assert_eq!(count["source_ip"], "127.0.0.0/24");
    assert!(
        count["detail"].as_str().unwrap().starts_with("repeated=1 "),
        "{count}"
    );

    // Canary: no secret, and no digest of one, in the table or the export.
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let exported = cli.ok(&["audit", "--all", "--output", "jsonl"]);
    let table = dump_audit_table(&server.db);
    let secrets = [
        fenced_secret.as_str(),
        off_secret.as_str(),
        wrong.as_str(),
        server.admin_secret.as_str(),
        "not even a secret",
    ];
    for secret in secrets {
        let digest = server.state.pepper.digest(secret);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        for (what, text) in [("the export", &exported), ("the audit table", &table)] {
            assert!(!text.contains(secret), "a secret is in {what}");
            assert!(!text.contains(&hex), "a secret's digest is in {what}");
        }
        assert!(
            !table.contains(&format!("{digest:?}")),
            "a secret's digest is in the audit table"
        );
    }
}

/// Every column of every audit row as text (binary columns as hex and as byte lists).
fn dump_audit_table(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::{Column, Row};
        let mut out = String::new();
        macro_rules! dump {
            ($rows:expr) => {
                for row in $rows {
                    for (i, col) in row.columns().iter().enumerate() {
                        if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                            out.push_str(&format!("{}={text}\n", col.name()));
                        } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                            out.push_str(&format!("{}={hex} {bytes:?}\n", col.name()));
                        }
                    }
                }
            };
        }
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::query("SELECT * FROM audit_events")
                .fetch_all(&pool)
                .await
                .unwrap();
            dump!(rows);
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query("SELECT * FROM audit_events")
                .fetch_all(&pool)
                .await
                .unwrap();
            dump!(rows);
        }
        assert!(out.contains("actor="), "the dump read no row: {out}");
        out
    })
}

#[test]
fn when_writing_the_event_fails_the_change_is_rolled_back_and_the_caller_gets_an_error() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, _) = server.create(
        &admin,
        json!({"name": "steady", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let events_before = crate::harness::audit_rows(&server.db).len();
    // A real failure in the database: every audit insert is refused from now on.
    let fail = match crate::BACKEND {
        Backend::Sqlite => "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END;"
            .to_owned(),
        Backend::Postgres => "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
            .to_owned(),
    };
    db_exec(&server.db, &fail);
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&json!({"name": "moved", "description": "changed"})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["code"], "internal");
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/revoke"), None, &[]);
    assert_eq!(r.status, 500);
    let r = server.call(
        &admin,
        "POST",
        "/v1/keys",
        Some(
            &json!({"name": "never", "environments": ["staging"], "permissions": ["orders:read"]}),
        ),
        &[],
    );
    assert_eq!(r.status, 500);

    db_exec(
        &server.db,
        match crate::BACKEND {
            Backend::Sqlite => "DROP TRIGGER refuse_audit",
            Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_events",
        },
    );
    // Nothing of the three changes happened: the key as it was, no key "never".
    let r = server.call(&admin, "GET", &format!("/v1/keys/{id}"), None, &[]);
    let key = json(&r);
    assert_eq!(
        (&key["name"], &key["status"], &key["version"]),
        (&json!("steady"), &json!("active"), &json!(1))
    );
    let r = server.call(&admin, "GET", "/v1/keys?name=never", None, &[]);
    assert_eq!(json(&r)["items"], json!([]));
    assert_eq!(crate::harness::audit_rows(&server.db).len(), events_before);
    // And the log still verifies.
    let r = server.call(&admin, "GET", "/v1/audit/verify", None, &[]);
    assert_eq!(
        json(&r)["intact"],
        true,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[test]
fn a_caller_scoped_to_staging_never_sees_a_production_event() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut ids = Vec::new();
    for (name, envs) in [
        ("prod-only", json!(["production"])),
        ("stage-only", json!(["staging"])),
        ("both", json!(["staging", "production"])),
    ] {
        let (id, secret) = server.create(
            &admin,
            json!({"name": name, "environments": envs, "permissions": ["orders:read"]}),
        );
        let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]);
        assert_eq!(r.status, 200);
        server.token(&id, &secret);
        ids.push(id);
    }
    // A key moved out of production leaves its story there.
    let r = server.call(
        &admin,
        "PATCH",
        &format!("/v1/keys/{}", ids[2]),
        Some(&json!({"environments": ["staging"]})),
        &[("If-Match", "\"2\"")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (auditor, secret) = server.create(
        &admin,
        json!({"name": "stage-auditor", "environments": ["staging"],
               "permissions": ["audit:read"]}),
    );
    let (_, token, _) = server.token(&auditor, &secret);
    let token = token.unwrap();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        // Small pages, so the scoped reading crosses page boundaries.
        let r = server.call(
            &token,
            "GET",
            &format!("/v1/audit?limit=2{cursor}"),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let page = json(&r);
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    for e in &seen {
        let envs = e["environments"].as_array().unwrap();
        assert!(
            !envs.is_empty() && envs.iter().all(|env| env == "staging"),
            "a staging auditor saw {e}"
        );
    }
    let keys: BTreeSet<&str> = seen.iter().filter_map(|e| e["key_id"].as_str()).collect();
    assert!(keys.contains(ids[1].as_str()), "{seen:?}");
    assert!(
        keys.contains(auditor.as_str()),
        "its own exchange: {seen:?}"
    );
    assert!(!keys.contains(ids[0].as_str()));
    // `both` was in production until the edit: none of its events, not even the edit.
    assert!(!keys.contains(ids[2].as_str()), "{seen:?}");
    let r = server.call(
        &token,
        "GET",
        &format!("/v1/audit?key={}", ids[0]),
        None,
        &[],
    );
    assert_eq!(json(&r)["items"], json!([]));
    // The whole chain runs through every environment: verifying it is not theirs.
    let r = server.call(&token, "GET", "/v1/audit/verify", None, &[]);
    assert_eq!(r.status, 403);
    // And a key without audit:read reads nothing.
    let (reader, secret) = server.create(
        &admin,
        json!({"name": "reader", "environments": ["staging"], "permissions": ["keys:read"]}),
    );
    let (_, token, _) = server.token(&reader, &secret);
    let r = server.call(&token.unwrap(), "GET", "/v1/audit", None, &[]);
    assert_eq!(r.status, 403);
}

#[test]
fn follow_prints_an_event_made_elsewhere_within_two_seconds_and_stops_on_ctrl_c() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let (mut child, rx) = follow(&cli);
    // The last events first (the CLI's own token exchange among them).
    let (_, first) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(first["id"].is_i64());
    std::thread::sleep(Duration::from_millis(1500));
    while rx.try_recv().is_ok() {}

    for name in ["elsewhere-1", "elsewhere-2"] {
        let made = Instant::now();
        let (id, _) = server.create(
            &admin,
            json!({"name": name, "environments": ["staging"], "permissions": ["orders:read"]}),
        );
        let (at, event) = loop {
            let (at, event) = rx
                .recv_timeout(Duration::from_secs(5))
                .expect("the followed log printed the new event");
            if event["key_id"] == id.as_str() {
                break (at, event);
            }
        };
        assert_eq!(event["action"], "key.create");
        let waited = at.duration_since(made);
        assert!(
            waited <= Duration::from_secs(2),
            "printed {waited:?} after it happened"
        );
    }
    // Ctrl-C: a clean stop, exit 130 as for any interrupted command.
    assert_eq!(interrupt(&mut child), Some(130));
}

/// `keyward audit --follow --output jsonl` in `cli`'s environment, each event it prints sent
/// on the channel with the moment it arrived.
fn follow(
    cli: &TestEnv,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<(Instant, Value)>,
) {
    let (child, lines) = follow_lines(cli, &["--output", "jsonl", "--limit", "3"]);
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Value)>();
    std::thread::spawn(move || {
        for (at, line) in lines {
            let event: Value = serde_json::from_str(&line).expect("each line is JSON");
            if tx.send((at, event)).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// `keyward audit --follow` with `args` in `cli`'s environment, each line it prints sent on the
/// channel with the moment it arrived.
fn follow_lines(
    cli: &TestEnv,
    args: &[&str],
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<(Instant, String)>,
) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .env_clear()
        .envs(cli.vars())
        .args(["audit", "--follow"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Ctrl-C to `child`; its exit code once it has stopped (within ten seconds).
fn interrupt(child: &mut std::process::Child) -> Option<i32> {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "--follow did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next event `rx` brings about `key_id`, within `limit`.
fn next_about(
    rx: &std::sync::mpsc::Receiver<(Instant, Value)>,
    key_id: &str,
    limit: Duration,
    seen: &mut Vec<Value>,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, event) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no event about {key_id} within {limit:?}: {seen:?}"));
        seen.push(event.clone());
        if event["key_id"] == key_id {
            return event;
        }
    }
}

#[test]
fn follow_goes_on_after_a_server_restart_without_gaps_or_repeats() {
    let env = TestEnv::new();
    let db = env.database("follow.db");
    let pepper = env.dir.path().join("follow.pepper");
    let store = crate::harness::store_args(&db, &pepper);
    let (admin_id, admin_secret) = crate::harness::bootstrap(&env, &store);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let mut server = crate::harness::Server::start(&env, &store);
    let authority = server.authority().to_owned();
    let mut cli = TestEnv::new();
    cli.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &admin_id)
        .set("KEYWARD_CLIENT_SECRET", &admin_secret);
    let create = |name: &str| -> String {
        let created: Value = serde_json::from_str(&cli.ok(&[
            "keys", "create", "--name", name, "--env", "default", "--output", "json",
        ]))
        .unwrap();
        created["id"].as_str().unwrap().to_owned()
    };
    let (mut child, rx) = follow(&cli);
    let mut seen = Vec::new();
    let before = create("before-restart");
    next_about(&rx, &before, Duration::from_secs(10), &mut seen);

    assert_eq!(server.terminate(), Some(0));
    std::thread::sleep(Duration::from_millis(2500));
    let _server = crate::harness::Server::start_on(&env, &authority, &store);
    let after = create("after-restart");
    next_about(&rx, &after, Duration::from_secs(10), &mut seen);
    assert_eq!(interrupt(&mut child), Some(130));

    // Every event from the first one printed on, once each, in order.
    let printed: Vec<i64> = seen.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(printed.windows(2).all(|w| w[0] < w[1]), "{printed:?}");
    let all: Vec<i64> = export(&cli, &["--oldest-first"])
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .filter(|id| *id >= printed[0] && id <= printed.last().unwrap())
        .collect();
    assert_eq!(printed, all, "a gap or a repeat across the restart");
}

/// A second server process on the same database (a replica), as far as the audit log goes: its
/// own store and pool, the same pepper.
fn replica(server: &LiveServer) -> Arc<AppState> {
    let store = server.block_on(store::open(&server.db)).unwrap();
    Arc::new(AppState::new(
        store,
        server.state.pepper.clone(),
        Catalog::new(&[]).unwrap(),
    ))
}

#[test]
fn ten_thousand_events_from_two_replicas_at_once_export_once_each_and_the_chain_verifies() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let replicas = [replica(&server), replica(&server)];
    let at = server.now();
    server.block_on(async {
        let mut writers = Vec::new();
        for (r, state) in replicas.iter().enumerate() {
            let state = state.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..5_000 {
                    let mut event = AuditEvent::success(at, "local:tester", "token.exchange");
                    event.request_id = Some(format!("replica{r}-{i}"));
                    event.environments = vec!["staging".to_owned()];
                    state
                        .store
                        .record_audit(std::slice::from_ref(&event))
                        .await
                        .unwrap();
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
    });
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let events = export(&cli, &[]);
    let ids: BTreeSet<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "an event exported twice");
    let written: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["request_id"].as_str())
        .filter(|r| r.starts_with("replica"))
        .collect();
    assert_eq!(written.len(), 10_000, "every event exported");
    let verified: Value =
        serde_json::from_str(&cli.ok(&["audit", "verify", "--output", "json"])).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");
    // Every exported event was checked (the CLI's one token exchange, made for the export and
    // reused by `verify`, among them).
    assert!(verified["checked"].as_u64().unwrap() as usize >= events.len());
}

#[test]
fn a_row_changed_removed_or_inserted_in_the_database_fails_verify_and_is_named() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for i in 0..5 {
        server.create(
            &admin,
            json!({"name": format!("k{i}"), "environments": ["staging"],
                   "permissions": ["orders:read"]}),
        );
    }
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&["audit", "verify"]);
    let events = export(&cli, &["--oldest-first"]);
    let id_of = |action: &str, nth: usize| {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .nth(nth)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (changed, removed) = (id_of("key.create", 2), id_of("key.create", 3));
    let next = events
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .find(|id| *id > removed)
        .unwrap();
    let verify_fails_naming = |id: i64, cli: &TestEnv| {
        let err = cli.fails(&["audit", "verify"], 8);
        assert!(err.contains(&format!("event {id} ")), "{err}");
        let out = cli
            .keyward()
            .args(["audit", "verify", "--output", "json"])
            .output()
            .unwrap();
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(found["intact"], false);
        assert_eq!(found["first_broken"], id);
    };

    // Changed: someone rewrites where a change came from.
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET source_ip = '203.0.113.9' WHERE id = {changed}"),
    );
    verify_fails_naming(changed, &cli);
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET source_ip = '127.0.0.1' WHERE id = {changed}"),
    );
    cli.ok(&["audit", "verify"]);

    // Removed: the event after it no longer follows.
    db_exec(
        &server.db,
        &format!("DELETE FROM audit_events WHERE id = {removed}"),
    );
    verify_fails_naming(next, &cli);
}

#[test]
fn an_event_inserted_in_the_database_fails_verify_and_is_named() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let events = export(&cli, &[]);
    let forged = events[0]["id"].as_i64().unwrap() + 1000;
    let (hash, overriding) = match crate::BACKEND {
        Backend::Sqlite => ("x'00'", ""),
        Backend::Postgres => ("'\\x00'::bytea", "OVERRIDING SYSTEM VALUE"),
    };
    db_exec(
        &server.db,
        &format!(
            "INSERT INTO audit_events (id, at, actor, action, outcome, environments, changed, hash) \
             {overriding} VALUES ({forged}, 0, 'key:key_forged', 'key.revoke', 'success', '', '', {hash})"
        ),
    );
    let err = cli.fails(&["audit", "verify"], 8);
    assert!(err.contains(&format!("event {forged} ")), "{err}");
    // Without a link at all, it is named too (and not linked at the next start).
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET hash = NULL WHERE id = {forged}"),
    );
    server
        .block_on(server.state.store.seal_audit(server.now()))
        .unwrap();
    let err = cli.fails(&["audit", "verify"], 8);
    assert!(err.contains(&format!("event {forged} ")), "{err}");
}

#[test]
fn keys_usage_shows_the_verifications_made_by_code_and_minute() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let (id, secret) = server.create(
        &admin,
        json!({"name": "counted", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let (verifier, verifier_secret) = server.create(
        &admin,
        json!({"name": "verifier", "environments": ["staging", "production"],
               "permissions": ["keys:verify"]}),
    );
    let (_, token, _) = server.token(&verifier, &verifier_secret);
    let token = token.unwrap();
    let verify = |body: Value, code: &str| {
        let (status, answer) = server.verify(&token, body);
        assert_eq!(status, 200);
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["code"], code);
    };
    let first_minute = server.now();
    for _ in 0..3 {
        verify(json!({"key": secret, "permission": "orders:read"}), "VALID");
    }
    verify(
        json!({"key": secret, "permission": "payments:refund"}),
        "PERMISSION_DENIED",
    );
    verify(
        json!({"key": secret, "environment": "production"}),
        "ENVIRONMENT_DENIED",
    );
    // A wrong secret names no key: it is nobody's usage.
    verify(
        json!({"key": format!("kw_sk_{}", keyward::secret::random_base62(49))}),
        "INVALID",
    );
    server.advance(jiff::SignedDuration::from_mins(2));
    let r = server.call(&admin, "POST", &format!("/v1/keys/{id}/disable"), None, &[]);
    assert_eq!(r.status, 200);
    verify(json!({"key": secret}), "DISABLED");
    verify(json!({"key": secret}), "DISABLED");

    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let since = (first_minute - jiff::SignedDuration::from_mins(5)).to_string();
    let usage: Value = serde_json::from_str(&cli.ok(&[
        "keys", "usage", "counted", "--by", "minute", "--since", &since, "--output", "json",
    ]))
    .unwrap();
    assert_eq!(usage["key_id"], id.as_str());
    assert_eq!(
        usage["totals"],
        json!({"VALID": 3, "PERMISSION_DENIED": 1, "ENVIRONMENT_DENIED": 1, "DISABLED": 2})
    );
    let buckets = usage["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2, "{usage}");
    assert_eq!(
        buckets[0]["counts"],
        json!({"VALID": 3, "PERMISSION_DENIED": 1, "ENVIRONMENT_DENIED": 1})
    );
    assert_eq!(buckets[1]["counts"], json!({"DISABLED": 2}));
    // By hour the two minutes are one row (they lie in one hour unless the test straddles one).
    let table = cli.ok(&["keys", "usage", "counted", "--since", &since]);
    assert!(
        table.contains("VALID") && table.contains("DISABLED"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("total") && l.contains(" 7 ")),
        "{table}"
    );
    // Above the table, a bar per hour, scaled to the busiest.
    let spark = table
        .lines()
        .find(|l| l.starts_with("Verifications per hour, oldest first: |"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(spark.contains('█') && spark.ends_with("(max 7)"), "{spark}");
    // A window with nothing in it says so; a bad one is a usage error.
    let err = cli.fails(
        &[
            "keys",
            "usage",
            "counted",
            "--since",
            "2020-01-01",
            "--until",
            "2020-01-02",
        ],
        0,
    );
    assert!(err.contains("No verifications of"), "{err}");
    let err = cli.fails(
        &[
            "keys",
            "usage",
            "counted",
            "--since",
            "2020-01-01",
            "--by",
            "minute",
        ],
        2,
    );
    assert!(err.contains("10,000 buckets"), "{err}");
    // A caller scoped elsewhere does not learn the key exists.
    let (other, other_secret) = server.create(
        &admin,
        json!({"name": "prod-reader", "environments": ["production"], "permissions": ["keys:read"]}),
    );
    let (_, other_token, _) = server.token(&other, &other_secret);
    let r = server.call(
        &other_token.unwrap(),
        "GET",
        &format!("/v1/keys/{id}/usage"),
        None,
        &[],
    );
    assert_eq!(r.status, 404);
}

#[test]
fn retention_deletes_the_oldest_events_and_the_rest_still_verifies_from_them() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        crate::live::Options {
            audit_retention: Some(jiff::SignedDuration::from_hours(24)),
            ..Default::default()
        },
    );
    let admin = server.admin_token();
    for i in 0..3 {
        server.create(
            &admin,
            json!({"name": format!("old-{i}"), "environments": ["staging"],
                   "permissions": ["orders:read"]}),
        );
    }
    server.advance(jiff::SignedDuration::from_hours(30));
    let admin = server.admin_token();
    let (recent, _) = server.create(
        &admin,
        json!({"name": "recent", "environments": ["staging"], "permissions": ["orders:read"]}),
    );
    let before = crate::harness::audit_rows(&server.db).len();
    server.block_on(keyward::server::workers::purger::run(&server.state));
    let rows = crate::harness::audit_rows(&server.db);
    assert!(rows.len() < before, "nothing was deleted");
    assert!(
        rows.iter()
            .all(|r| r.action != "key.create" || r.key_id.as_deref() == Some(&recent)),
        "an event older than a day is left: {rows:?}"
    );
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let verified: Value =
        serde_json::from_str(&cli.ok(&["audit", "verify", "--output", "json"])).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");

    // The oldest kept event is still checked, against the last deleted one.
    let first = export(&cli, &["--oldest-first"])[0]["id"].as_i64().unwrap();
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET actor = 'key:key_someoneelse' WHERE id = {first}"),
    );
    let err = cli.fails(&["audit", "verify"], 8);
    assert!(err.contains(&format!("event {first} ")), "{err}");

    // However old, the newest event is never deleted: the next one links to it.
    server.advance(jiff::SignedDuration::from_hours(24 * 400));
    server.block_on(keyward::server::workers::purger::run(&server.state));
    assert!(!crate::harness::audit_rows(&server.db).is_empty());
}

#[test]
fn a_failed_exchange_whose_client_hangs_up_is_still_audited() {
    use std::io::Write;
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let before = crate::harness::audit_rows(&server.db)
        .iter()
        .filter(|r| r.action == "token.exchange" && r.outcome == "failure")
        .count();
    // The audit log cannot be appended to for a while (someone holds its lock)...
    let held = server.block_on(async {
        use sqlx::{Connection, Executor};
        if server.db.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&server.db).await.unwrap();
            conn.execute("BEGIN IMMEDIATE").await.unwrap();
            Held::Sqlite(conn)
        } else {
            let mut conn = sqlx::PgConnection::connect(&server.db).await.unwrap();
            conn.execute("SELECT pg_advisory_lock(30249082973088116)")
                .await
                .unwrap();
            Held::Postgres(conn)
        }
    });
    // ...while three guesses arrive, and each client hangs up before its answer.
    for i in 0..3 {
        let mut socket = std::net::TcpStream::connect(server.authority()).unwrap();
        let body =
            format!("grant_type=client_credentials&client_id=key_{i:016}&client_secret=wrong");
        write!(
            socket,
            "POST /v1/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(socket);
    }
    server.block_on(async move {
        use sqlx::Executor;
        match held {
            Held::Sqlite(mut c) => {
                c.execute("COMMIT").await.unwrap();
            }
            Held::Postgres(mut c) => {
                c.execute("SELECT pg_advisory_unlock(30249082973088116)")
                    .await
                    .unwrap();
            }
        }
    });
    // Every guess is in the log once the lock is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let failures = crate::harness::audit_rows(&server.db)
            .iter()
            .filter(|r| r.action == "token.exchange" && r.outcome == "failure")
            .count();
        if failures >= before + 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 3 guesses audited",
            failures - before
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A connection holding the audit log's append lock.
enum Held {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

#[test]
fn one_audit_verify_at_a_time_and_a_client_that_hangs_up_stops_its_walk() {
    use std::io::{Read, Write};
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let at = server.now();
    server.block_on(async {
        for _ in 0..40 {
            let events: Vec<AuditEvent> = (0..1000)
                .map(|_| AuditEvent::success(at, "local:tester", "token.exchange"))
                .collect();
            server.state.store.record_audit(&events).await.unwrap();
        }
    });
    let admin = server.admin_token();
    let mut walking = std::net::TcpStream::connect(server.authority()).unwrap();
    write!(
        walking,
        "GET /v1/audit/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\r\n"
    )
    .unwrap();
    // The head arrives at once; the walk goes on behind it.
    let mut head = [0u8; 12];
    walking.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let r = server.call(&admin, "GET", "/v1/audit/verify", None, &[]);
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let problem: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(problem["code"], "verify_in_progress");

    // Its client hangs up: the walk stops after its current batch, and the next may start,
    // well before a whole walk would have ended.
    drop(walking);
    let dropped = Instant::now();
    let waited = loop {
        let asked = dropped.elapsed();
        let r = server.call(&admin, "GET", "/v1/audit/verify", None, &[]);
        if r.status != 409 {
            assert_eq!(r.status, 200);
            break asked;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(30),
            "the abandoned walk went on"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let started = Instant::now();
    let r = server.call(&admin, "GET", "/v1/audit/verify", None, &[]);
    let whole = started.elapsed();
    let found: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(found["intact"], true, "{found}");
    assert!(found["checked"].as_u64().unwrap() > 40_000);
    assert!(
        waited < whole / 2,
        "the next verify waited {waited:?}; a whole walk takes {whole:?}"
    );
}

#[test]
fn events_name_their_key_as_it_was_and_the_table_reads_by_name() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    cli.ok(&[
        "keys", "create", "--name", "before", "--env", "staging", "-q",
    ]);
    cli.ok(&["keys", "edit", "before", "--name", "after"]);
    cli.ok(&["envs", "create", "sandbox"]);
    let events = export(
        &cli,
        &["--oldest-first", "--exclude-action", "token.exchange"],
    );
    let named: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["key_id"].is_string())
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["key_name"].as_str().unwrap_or("<none>"),
            )
        })
        .collect();
    // The create names the key as it was then; the rename, as it is after it.
    assert!(
        named.ends_with(&[("key.create", "before"), ("key.edit", "after")]),
        "{named:?}"
    );

    // The table's TARGET: key names, not ids; an environment event names the environment.
    let table = cli.ok(&[
        "audit",
        "--oldest-first",
        "--exclude-action",
        "token.exchange",
    ]);
    assert!(table.contains("TARGET"), "{table}");
    let create_line = table
        .lines()
        .find(|l| l.contains("key.create") && l.contains("before"));
    assert!(create_line.is_some(), "{table}");
    assert!(table.contains("environment sandbox"), "{table}");
    let key_id = events.iter().find(|e| e["key_name"] == "after").unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!table.contains(&key_id), "ids give way to names: {table}");
    assert!(!table.contains("token.exchange"), "{table}");

    // Filters take several actions, and leave out others.
    let some = export(&cli, &["--action", "key.create,environment.create"]);
    assert!(!some.is_empty());
    assert!(
        some.iter()
            .all(|e| ["key.create", "environment.create"].contains(&e["action"].as_str().unwrap())),
        "{some:?}"
    );
    let without = export(
        &cli,
        &[
            "--exclude-action",
            "token.exchange",
            "--exclude-action",
            "key.edit",
        ],
    );
    assert!(
        without
            .iter()
            .all(|e| e["action"] != "token.exchange" && e["action"] != "key.edit")
    );
    assert!(actions(&without).contains(&"key.create"));

    // The chain covers the names: the log as written verifies.
    cli.ok(&["audit", "verify"]);
}

#[test]
fn an_unknown_action_is_refused_with_the_list_of_actions() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    for flag in ["--action", "--exclude-action"] {
        let err = cli.fails(&["audit", flag, "nonsense"], 2);
        assert!(err.contains("nonsense"), "{err}");
        assert!(
            err.contains("key.rotate") && err.contains("token.exchange"),
            "{err}"
        );
    }
    // The API refuses it too, naming the actions.
    let token = server.admin_token();
    let refused = server.call(&token, "GET", "/v1/audit?action=key.nonsense", None, &[]);
    assert_eq!(refused.status, 422);
    let body: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(body["code"], "invalid_filter");
    assert!(
        body["detail"].as_str().unwrap().contains("key.create"),
        "{body}"
    );
    let fine = server.call(
        &token,
        "GET",
        "/v1/audit?exclude_action=token.exchange,key.revoke",
        None,
        &[],
    );
    assert_eq!(fine.status, 200);
}

#[test]
fn follow_prints_one_header_and_the_time_each_event_happened() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let (mut child, rx) = follow_lines(&cli, &["--limit", "2"]);
    let mut lines = vec![rx.recv_timeout(Duration::from_secs(20)).unwrap().1];
    for name in ["followed-1", "followed-2"] {
        server.create(&admin, json!({"name": name, "environments": ["staging"]}));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lines.iter().any(|l| l.contains("followed-2")) {
        let left = deadline.saturating_duration_since(Instant::now());
        lines.push(
            rx.recv_timeout(left)
                .expect("the second key's event was printed")
                .1,
        );
    }
    interrupt(&mut child);
    let headers = lines.iter().filter(|l| l.starts_with("TIME")).count();
    assert_eq!(headers, 1, "{lines:#?}");
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    for line in lines.iter().filter(|l| l.contains("followed-")) {
        assert!(line.starts_with(&today), "an absolute time: {line}");
        assert!(!line.contains("just now"), "{line}");
    }
}
