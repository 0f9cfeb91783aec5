//! What the deploy recipes (deploy/, docs/deploy.md) rely on: a backup taken while writes run
//! restores every acknowledged write and a chain that verifies; an older keyward refuses a
//! database a newer one upgraded, naming both versions; the pepper can come from systemd's
//! credentials directory (`LoadCredential=pepper:…`); SIGHUP (`systemctl reload`) never stops
//! a server. The container image, the systemd unit's analysis and the compose file are checked
//! by scripts/check-image and scripts/check-deploy, which .ci/run runs.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::durability::{Load, names, setup, start_writers};
use crate::harness::{Backend, Server, TestEnv, bootstrap, db_exec, http, store_args};

/// The documented backup of the database at `url`, restored to a new database; its URL.
/// SQLite: `sqlite3 FILE "VACUUM INTO 'COPY'"` (one read transaction: a consistent copy while
/// writers go on). PostgreSQL: `pg_dump --format=custom`, then `pg_restore` into a new
/// database.
fn backup_and_restore(env: &TestEnv, url: &str) -> String {
    match crate::BACKEND {
        Backend::Sqlite => {
            let file = url.strip_prefix("sqlite:").unwrap();
            let copy = env.dir.path().join("restored.db");
            run(
                Command::new("sqlite3")
                    .arg(file)
                    .arg(format!("VACUUM INTO '{}'", copy.display())),
                "sqlite3 VACUUM INTO",
            );
            format!("sqlite:{}", copy.display())
        }
        Backend::Postgres => {
            let cluster = crate::pg::cluster();
            let dump = env.dir.path().join("keyward.dump");
            run(
                cluster
                    .client("pg_dump")
                    .args(["--format=custom", "--file"])
                    .arg(&dump)
                    .arg(url),
                "pg_dump",
            );
            let restored = cluster.create_database();
            run(
                cluster
                    .client("pg_restore")
                    .args(["--no-owner", "--dbname", &restored])
                    .arg(&dump),
                "pg_restore",
            );
            restored
        }
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_backup_taken_under_write_load_restores_every_acknowledged_write_and_verifies() {
    let s = setup("backup");
    let (database, pepper) = (s.store[1].clone(), s.store[3].clone());
    let (server, token) = s.start();
    let load = Arc::new(Load::default());
    let writers = start_writers(server.authority(), &token, "b", &load);
    std::thread::sleep(Duration::from_millis(500));
    // Acknowledged before the backup began: each must be in it. The writers go on meanwhile.
    let acked = load.acked.lock().unwrap().clone();
    let restored = backup_and_restore(&s.env, &database);
    let written_during = load.acked.lock().unwrap().len() - acked.len();
    load.stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(
        acked.len() > 10,
        "only {} writes before the backup",
        acked.len()
    );
    assert!(written_during > 0, "no write ran during the backup");
    drop(server);

    // The restored database, with the same pepper: the admin's secret still exchanges.
    let store = store_args(&restored, Path::new(&pepper));
    let args: Vec<&str> = store.iter().map(String::as_str).collect();
    let restored_server = Server::start(&s.env, &args);
    let (status, token) = restored_server.token(&s.admin.0, &s.admin.1);
    assert_eq!(
        status, 200,
        "the admin key does not work on the restored database"
    );
    let stored = names(&restored_server, &token.unwrap());
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "acknowledged before the backup and lost: {lost:?}"
    );

    // Its audit chain verifies, as `keyward audit verify` against the restored server.
    let mut cli = TestEnv::new();
    cli.set("KEYWARD_URL", &restored_server.url)
        .set("KEYWARD_CLIENT_ID", &s.admin.0)
        .set("KEYWARD_CLIENT_SECRET", &s.admin.1);
    let verified = cli.ok(&["audit", "verify", "--output", "json"]);
    let verified: serde_json::Value = serde_json::from_str(&verified).unwrap();
    assert_eq!(verified["intact"], true, "{verified}");
}

#[test]
fn an_older_keyward_refuses_a_database_a_newer_one_upgraded_naming_both_versions() {
    let s = setup("newer");
    let database = s.store[1].clone();
    let future = match crate::BACKEND {
        Backend::Sqlite => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', 1, X'00', 0); \
             UPDATE server_meta SET value = CAST('99.1.0' AS BLOB) WHERE name = 'keyward_version'"
        }
        Backend::Postgres => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', true, '\\x00', 0); \
             UPDATE server_meta SET value = convert_to('99.1.0', 'UTF8') WHERE name = 'keyward_version'"
        }
    };
    db_exec(&database, future);
    let mut args = vec!["server", "--listen", "127.0.0.1:0"];
    args.extend(s.store.iter().map(String::as_str));
    let err = s.env.fails(&args, 1);
    for needle in [
        "keyward 99.1.0".to_owned(),
        "schema version 9999".to_owned(),
        format!("this is keyward {}", env!("CARGO_PKG_VERSION")),
        "restore the backup".to_owned(),
    ] {
        assert!(err.contains(&needle), "no {needle:?} in: {err}");
    }
    // Nothing was migrated or written: the marks of the newer keyward are as they were.
    let written_by = crate::harness::db_rows(
        &database,
        "SELECT value FROM server_meta WHERE name = 'keyward_version'",
    );
    assert_eq!(written_by, vec![b"99.1.0".to_vec()]);
}

#[test]
fn the_pepper_comes_from_systemds_credentials_directory() {
    let mut s = setup("credentials");
    let (database, pepper) = (s.store[1].clone(), s.store[3].clone());
    let credentials = s.env.dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::copy(&pepper, credentials.join("pepper")).unwrap();
    s.env
        .set("CREDENTIALS_DIRECTORY", &credentials.display().to_string());
    // No --pepper-file: the credential is the pepper, and the keys made under it still work.
    let server = Server::start(&s.env, &["--database", &database]);
    let (status, _) = server.token(&s.admin.0, &s.admin.1);
    assert_eq!(status, 200, "{}", server.log_text());
    drop(server);

    // Another pepper there is refused, as any wrong pepper is.
    let other = TestEnv::new();
    let other_pepper = other.dir.path().join("other.pepper");
    bootstrap(
        &other,
        &store_args(&other.database("other.db"), &other_pepper),
    );
    std::fs::copy(&other_pepper, credentials.join("pepper")).unwrap();
    let err = s.env.fails(
        &["server", "--listen", "127.0.0.1:0", "--database", &database],
        1,
    );
    assert!(
        err.contains("credentials/pepper is not the one this database was created with"),
        "{err}"
    );

    // A credentials directory without a pepper: the usual usage error, naming the credential.
    std::fs::remove_file(credentials.join("pepper")).unwrap();
    let err = s.env.fails(
        &["server", "--listen", "127.0.0.1:0", "--database", &database],
        2,
    );
    assert!(err.contains("systemd credential named pepper"), "{err}");
}

#[test]
fn sighup_never_stops_a_server_without_tls() {
    let s = setup("hangup");
    let (mut server, _) = s.start();
    for _ in 0..3 {
        // SAFETY: kill(2) on the pid of a child the harness spawned and has not reaped.
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        server.wait_exit(Duration::from_millis(300)),
        None,
        "SIGHUP stopped it"
    );
    let r = http(server.authority(), "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    assert!(
        server.log_text().contains("nothing to reload"),
        "{}",
        server.log_text()
    );
    // SIGTERM still stops it gracefully.
    assert_eq!(server.terminate(), Some(0));
}
