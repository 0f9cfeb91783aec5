//! The tamper matrix (docs/design.md, Audit), on both backends: someone with write access to the
//! database but not the pepper changes events and erases every link, deletes the oldest events
//! and forges where the chain starts, or cuts off the newest events. `keyward audit verify`
//! fails and names where, across restarts of the server and runs of the embedded store. A
//! genuine prune verifies, also while it runs during a verify.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::SignedDuration;
use keyward::server::store::AuditEvent;
use serde_json::{Value, json};

use crate::harness::{Server, TestEnv, bootstrap, db_exec, db_rows, store_args};
use crate::live::{LiveServer, Options};

/// An empty blob, as the database spells it.
fn empty_blob() -> &'static str {
    match crate::BACKEND {
        crate::harness::Backend::Sqlite => "x''",
        crate::harness::Backend::Postgres => "'\\x'::bytea",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The link stored with event `id`.
fn link_of(url: &str, id: i64) -> Vec<u8> {
    db_rows(
        url,
        &format!("SELECT hash FROM audit_events WHERE id = {id}"),
    )
    .pop()
    .expect("the event is there")
}

/// Every event's id, oldest first, as the CLI exports them.
fn ids(cli: &TestEnv) -> Vec<i64> {
    cli.ok(&["audit", "--all", "--oldest-first", "--output", "jsonl"])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

/// `keyward audit verify` (with `extra`) fails with exit 8, its message names event `id`, and
/// its JSON says so too.
fn verify_fails_naming(cli: &TestEnv, extra: &[&str], id: i64) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let err = cli.fails(&args, 8);
    assert!(err.contains(&format!("event {id} ")), "{err}");
    args.extend_from_slice(&["--output", "json"]);
    let out = cli.keyward().args(&args).output().unwrap();
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["intact"], false, "{found}");
    assert_eq!(found["first_broken"], id, "{found}");
}

fn verified(cli: &TestEnv, extra: &[&str]) -> Value {
    let mut args = vec!["audit", "verify", "--output", "json"];
    args.extend_from_slice(extra);
    let found: Value = serde_json::from_str(&cli.ok(&args)).unwrap();
    assert_eq!(found["intact"], true, "{found}");
    found
}

#[test]
fn edited_events_with_every_link_erased_stay_broken_after_a_restart() {
    let env = TestEnv::new();
    let db = env.database("tamper.db");
    let store = store_args(&db, &env.dir.path().join("tamper.pepper"));
    let (admin_id, admin_secret) = bootstrap(&env, &store);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let mut server = Server::start(&env, &store);
    let authority = server.authority().to_owned();
    let mut cli = TestEnv::new();
    cli.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &admin_id)
        .set("KEYWARD_CLIENT_SECRET", &admin_secret);
    for i in 0..3 {
        cli.ok(&[
            "keys",
            "create",
            "--name",
            &format!("k{i}"),
            "--env",
            "default",
            "-q",
        ]);
    }
    verified(&cli, &[]);
    let all = ids(&cli);
    assert_eq!(server.terminate(), Some(0));

    // Someone rewrites who did something, and erases every link so nothing looks changed.
    db_exec(
        &db,
        &format!(
            "UPDATE audit_events SET actor = 'key:key_someoneelse' WHERE id = {}",
            all[2]
        ),
    );
    db_exec(&db, "UPDATE audit_events SET hash = NULL");
    // And makes the chain look as if it had never been sealed.
    db_exec(
        &db,
        &format!(
            "UPDATE server_meta SET value = {} WHERE name = 'audit_chain'",
            empty_blob()
        ),
    );
    // The next start does not link them again.
    let _server = Server::start_on(&env, &authority, &store);
    verify_fails_naming(&cli, &[], all[0]);
}

#[test]
fn edited_events_with_every_link_erased_stay_broken_after_an_embedded_command() {
    let cli = TestEnv::new();
    for i in 0..3 {
        cli.ok(&["keys", "create", "--name", &format!("k{i}"), "-q"]);
    }
    verified(&cli, &[]);
    let all = ids(&cli);
    let db = format!("sqlite:{}", cli.data_dir().join("local.db").display());
    db_exec(
        &db,
        &format!("DELETE FROM audit_events WHERE id = {}", all[3]),
    );
    db_exec(
        &db,
        &format!(
            "UPDATE audit_events SET actor = 'local:mallory' WHERE id = {}",
            all[1]
        ),
    );
    db_exec(&db, "UPDATE audit_events SET hash = NULL");
    db_exec(
        &db,
        "UPDATE server_meta SET value = x'' WHERE name = 'audit_chain'",
    );
    // Any command opens the store again: nothing is sealed a second time.
    cli.ok(&["keys", "list"]);
    verify_fails_naming(&cli, &[], all[0]);
}

#[test]
fn the_oldest_events_deleted_under_a_forged_starting_point_fail_verify_without_retention() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    for i in 0..4 {
        server.create(
            &admin,
            json!({"name": format!("k{i}"), "environments": ["staging"]}),
        );
    }
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    verified(&cli, &[]);
    let all = ids(&cli);
    let k = all[3];
    let link = link_of(&server.db, k);
    db_exec(
        &server.db,
        &format!("DELETE FROM audit_events WHERE id <= {k}"),
    );

    // The older keyward's anchor, forged: an unauthenticated row is no starting point.
    let mut anchor = k.to_be_bytes().to_vec();
    anchor.extend_from_slice(&link);
    let blob = match crate::BACKEND {
        crate::harness::Backend::Sqlite => format!("x'{}'", hex(&anchor)),
        crate::harness::Backend::Postgres => format!("'\\x{}'::bytea", hex(&anchor)),
    };
    db_exec(
        &server.db,
        &format!("INSERT INTO server_meta (name, value) VALUES ('audit_anchor', {blob})"),
    );
    verify_fails_naming(&cli, &[], all[4]);

    // A forged prune event that declares the new start: its own link gives it away.
    let (hash, overriding) = match crate::BACKEND {
        crate::harness::Backend::Sqlite => ("x'00'", ""),
        crate::harness::Backend::Postgres => ("'\\x00'::bytea", "OVERRIDING SYSTEM VALUE"),
    };
    let forged = all.last().unwrap() + 1000;
    db_exec(
        &server.db,
        &format!(
            "INSERT INTO audit_events (id, at, actor, action, outcome, environments, changed, detail, hash) \
             {overriding} VALUES ({forged}, 0, 'server', 'audit.prune', 'success', '', '', \
             'deleted={k} from={} after={}', {hash})",
            all[4],
            hex(&link)
        ),
    );
    verify_fails_naming(&cli, &[], forged);

    // A declaration slipped in below every id keyward gives, where a walk from the first
    // event would not reach it: refused for its id alone.
    db_exec(
        &server.db,
        &format!("DELETE FROM audit_events WHERE id = {forged}"),
    );
    db_exec(
        &server.db,
        &format!(
            "INSERT INTO audit_events (id, at, actor, action, outcome, environments, changed, detail, hash) \
             {overriding} VALUES (-1, 0, 'server', 'audit.prune', 'success', '', '', \
             'deleted={k} from={} after={}', {hash})",
            all[4],
            hex(&link)
        ),
    );
    verify_fails_naming(&cli, &[], -1);
}

#[test]
fn a_genuine_prune_verifies_and_deleting_past_it_or_forging_it_fails() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            audit_retention: Some(SignedDuration::from_hours(24)),
            ..Default::default()
        },
    );
    let admin = server.admin_token();
    for i in 0..3 {
        server.create(
            &admin,
            json!({"name": format!("old-{i}"), "environments": ["staging"]}),
        );
    }
    server.advance(SignedDuration::from_hours(30));
    let admin = server.admin_token();
    server.create(
        &admin,
        json!({"name": "recent", "environments": ["staging"]}),
    );
    server.block_on(keyward::server::workers::purger::run(&server.state));
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    let pruned: Value =
        serde_json::from_str(&cli.ok(&["audit", "--action", "audit.prune", "--output", "json"]))
            .unwrap();
    let prune = &pruned["items"][0];
    assert!(
        prune["detail"].as_str().unwrap().contains("from="),
        "{pruned}"
    );
    verified(&cli, &[]);

    // The prune's own words changed (how many it deleted): its link no longer fits.
    let id = prune["id"].as_i64().unwrap();
    let detail = prune["detail"].as_str().unwrap().to_owned();
    let deleted = detail
        .split(' ')
        .find_map(|p| p.strip_prefix("deleted="))
        .unwrap();
    let rewritten = detail.replace(&format!("deleted={deleted}"), "deleted=1");
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET detail = '{rewritten}' WHERE id = {id}"),
    );
    verify_fails_naming(&cli, &[], id);
    db_exec(
        &server.db,
        &format!("UPDATE audit_events SET detail = '{detail}' WHERE id = {id}"),
    );
    verified(&cli, &[]);

    // One more of the oldest removed: the log no longer starts where the prune said.
    let all = ids(&cli);
    db_exec(
        &server.db,
        &format!("DELETE FROM audit_events WHERE id = {}", all[0]),
    );
    verify_fails_naming(&cli, &[], all[1]);
}

#[test]
fn cutting_off_the_newest_events_fails_verify_against_an_earlier_checkpoint() {
    let env = TestEnv::new();
    let server = LiveServer::start(&env);
    let admin = server.admin_token();
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    server.create(&admin, json!({"name": "a", "environments": ["staging"]}));
    let checkpoint = cli.ok(&["audit", "checkpoint"]).trim().to_owned();
    let (id, _) = checkpoint.split_once(':').unwrap();
    let id: i64 = id.parse().unwrap();
    for name in ["b", "c"] {
        server.create(&admin, json!({"name": name, "environments": ["staging"]}));
    }
    // A genuine log passes, events after the checkpoint and all.
    verified(&cli, &["--checkpoint", &checkpoint]);

    // The newest events cut off, the checkpoint's among them: without the checkpoint nothing
    // shows (the chain before the cut is intact); with it, verify fails and says which.
    db_exec(
        &server.db,
        &format!("DELETE FROM audit_events WHERE id >= {id}"),
    );
    verified(&cli, &[]);
    verify_fails_naming(&cli, &["--checkpoint", &checkpoint], id);

    // A checkpoint that is not one is a usage error, before anything is asked.
    let err = cli.fails(&["audit", "verify", "--checkpoint", "12:nothex"], 2);
    assert!(err.contains("ID:LINK"), "{err}");
}

#[test]
fn a_prune_running_during_verify_never_reports_a_false_break() {
    let env = TestEnv::new();
    let server = LiveServer::start_with(
        &env,
        Options {
            audit_retention: Some(SignedDuration::from_hours(1)),
            ..Default::default()
        },
    );
    // Old events, enough for several retention passes.
    let at = server.now();
    server.block_on(async {
        for chunk in 0..25 {
            let events: Vec<AuditEvent> = (0..1000)
                .map(|i| {
                    let mut e = AuditEvent::success(at, "local:tester", "token.exchange");
                    e.request_id = Some(format!("old-{chunk}-{i}"));
                    e
                })
                .collect();
            server.state.store.record_audit(&events).await.unwrap();
        }
    });
    server.advance(SignedDuration::from_hours(2));
    let admin = server.admin_token();
    let pruning = Arc::new(AtomicBool::new(true));
    std::thread::scope(|s| {
        let purger = s.spawn(|| {
            // Three passes of at most 10,000 events each, while the verifies run.
            for _ in 0..3 {
                server.block_on(keyward::server::workers::purger::run(&server.state));
            }
            pruning.store(false, Ordering::Release);
        });
        let mut verifies = 0;
        while pruning.load(Ordering::Acquire) || verifies < 2 {
            let r = server.call(&admin, "GET", "/v1/audit/verify", None, &[]);
            assert_eq!(r.status, 200);
            let found: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(
                found["intact"], true,
                "a false break during a prune: {found}"
            );
            verifies += 1;
        }
        purger.join().unwrap();
    });
    let left = crate::harness::audit_rows(&server.db);
    assert!(
        left.iter().filter(|r| r.action == "audit.prune").count() >= 2,
        "the retention passes did not run"
    );
}

#[test]
fn the_server_appends_checkpoints_to_a_private_file_that_verify_accepts() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let file = env.dir.path().join("checkpoints");
    let server = LiveServer::start_with(
        &env,
        Options {
            audit_checkpoints: Some((file.clone(), std::time::Duration::from_millis(100))),
            ..Default::default()
        },
    );
    let admin = server.admin_token();
    server.create(&admin, json!({"name": "a", "environments": ["staging"]}));
    let lines = || std::fs::read_to_string(&file).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while lines().lines().count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoints: {}",
            lines()
        );
        server.create(
            &admin,
            json!({"name": format!("k{}", lines().len()), "environments": ["staging"]}),
        );
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the checkpoint file is readable by others");
    let text = lines();
    let last = text.lines().last().unwrap();
    let (at, checkpoint) = last.split_once(' ').unwrap();
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{last}");
    let mut cli = TestEnv::new();
    server.as_admin(&mut cli);
    verified(&cli, &["--checkpoint", checkpoint]);
    // The same head is not written twice.
    let heads: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert!(heads.windows(2).all(|w| w[0] != w[1]), "{text}");
}
