//! Starting and stopping safely: the pepper must be the database's own, the `--dev` database
//! survives idleness, two bootstraps mint one key, and a stalled client cannot keep the server
//! from stopping.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use keyward::secret::Pepper;
use keyward::server::store;
use keyward::server::{AppState, Catalog, dev};

use crate::harness::{Server, TestEnv, store_args};

fn one_line(text: &str) -> &str {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {text}");
    lines[0]
}

#[test]
fn a_database_with_keys_refuses_a_missing_or_different_pepper() {
    let env = TestEnv::new();
    let db = env.database("keys.db");
    let pepper = env.dir.path().join("right.pepper");
    let store = store_args(&db, &pepper);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    env.ok(&[&["server"], &store[..], &["--bootstrap"]].concat());
    assert!(pepper.exists(), "an empty database gets a new pepper file");

    // A typo in --pepper-file: refused in one line, and no pepper file is created.
    let typo = env.dir.path().join("rihgt.pepper");
    let args = store_args(&db, &typo);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for extra in [&[][..], &["--bootstrap"][..], &["--break-glass"][..]] {
        let err = env.fails(
            &[&["server", "--listen", "127.0.0.1:0"], &args[..], extra].concat(),
            1,
        );
        let line = one_line(&err);
        assert!(
            line.contains("does not exist") && line.contains("holds keys"),
            "{line}"
        );
        assert!(
            !typo.exists(),
            "a pepper file was created for a database with keys"
        );
    }

    // Another pepper: refused as well.
    let other = env.dir.path().join("other.pepper");
    std::fs::write(&other, Pepper::random().as_bytes()).unwrap();
    let args = store_args(&db, &other);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = env.fails(
        &[&["server", "--listen", "127.0.0.1:0"], &args[..]].concat(),
        1,
    );
    assert!(
        one_line(&err).contains("not the one this database was created with"),
        "{err}"
    );

    // The right one serves.
    let server = Server::start(&env, &store);
    let health = crate::harness::http(server.authority(), "GET", "/readyz", &[], b"");
    assert_eq!(health.status, 200);
}

#[test]
fn the_local_store_refuses_a_replaced_pepper() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "first", "-q"]);
    let pepper = env.data_dir().join("pepper");
    std::fs::write(&pepper, Pepper::random().as_bytes()).unwrap();
    let err = env.fails(&["keys", "list"], 1);
    assert!(
        err.contains("not the one this database was created with"),
        "{err}"
    );
    std::fs::remove_file(&pepper).unwrap();
    let err = env.fails(&["keys", "list"], 1);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!pepper.exists());
}

#[test]
fn an_in_memory_database_outlives_its_idle_timeout() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // `keyward server --dev`'s database: it lives in its one connection, which must never
        // be closed for idleness (sqlx's default closes it after ten minutes; here 50 ms).
        let store = store::open_with_idle_timeout("sqlite::memory:", Duration::from_millis(50))
            .await
            .unwrap();
        let state = AppState::new(store, Pepper::random(), Catalog::new(&[]).unwrap());
        dev::ensure_environment(&state, "kept", "", "test")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let envs = state.store.list_environments().await.unwrap();
        assert_eq!(envs.len(), 1, "the schema and its rows are still there");
        assert_eq!(envs[0].name, "kept");
    });
}

#[test]
fn two_bootstraps_at_once_mint_one_super_admin() {
    let env = TestEnv::new();
    let url = env.database("race.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        // Migrated once; then six servers, each with its own connections, race.
        store::open(&url).await.unwrap();
        let pepper = Pepper::random();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = store::open(&url).await.unwrap();
            let state = AppState::new(store, pepper.clone(), Catalog::new(&[]).unwrap());
            tasks.push(tokio::spawn(async move {
                dev::mint_first_admin(&state, &format!("admin-{i}"), "test")
                    .await
                    .is_ok()
            }));
        }
        let mut minted = 0;
        for t in tasks {
            minted += usize::from(t.await.unwrap());
        }
        let store = store::open(&url).await.unwrap();
        (
            minted,
            store.count_keys().await.unwrap(),
            store.list_environments().await.unwrap(),
        )
    });
    assert_eq!(results.0, 1, "exactly one bootstrap wins");
    assert_eq!(results.1, 1, "one key in the database");
    assert_eq!(results.2.len(), 1, "one default environment");
}

#[test]
fn a_stalled_client_cannot_keep_the_server_from_stopping() {
    let env = TestEnv::new();
    let db = env.database("stall.db");
    let pepper = env.dir.path().join("stall.pepper");
    let store = store_args(&db, &pepper);
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--shutdown-timeout", "1"]);
    let mut server = Server::start(&env, &args);
    // Five clients stuck in the middle of their request headers.
    let stuck: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(server.authority()).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // And one request that completes, so the server has certainly accepted connections.
    let r = crate::harness::http(server.authority(), "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    // SAFETY: kill(2) on the pid of a child the harness spawned and has not reaped.
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
    let code = server.wait_exit(Duration::from_secs(20));
    assert_eq!(
        code,
        Some(Some(0)),
        "still running 20 s after SIGTERM with a 1 s deadline:\n{}",
        server.log_text()
    );
    assert!(
        server.log_text().contains("shutdown deadline"),
        "{}",
        server.log_text()
    );
    drop(stuck);
}

#[test]
fn dev_refuses_a_database_made_with_another_pepper() {
    let env = TestEnv::new();
    let db = env.database("real.db");
    let pepper = env.dir.path().join("real.pepper");
    let store = store_args(&db, &pepper);
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    env.ok(&[&["server"], &store[..], &["--bootstrap"]].concat());
    let database = db;
    let err = env.fails(
        &[
            "server",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
        ],
        2,
    );
    assert!(one_line(&err).contains("throwaway pepper"), "{err}");
}

#[test]
fn a_password_in_the_database_url_is_never_shown() {
    let mut env = TestEnv::new();
    // Nothing listens on port 1: the server cannot connect and says so.
    let url = "postgres://keyward:hunter2-secret@127.0.0.1:1/keyward";
    let pepper = env.dir.path().join("p.pepper");
    let pepper = pepper.display().to_string();
    let out = env
        .keyward()
        .args(["server", "--database", url, "--pepper-file", &pepper])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains("keyward:***@127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // Nor in help, when the URL comes from the environment.
    env.set("KEYWARD_DATABASE_URL", url);
    let help = env.ok(&["server", "--help"]);
    assert!(help.contains("KEYWARD_DATABASE_URL"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}

#[test]
fn cache_settings_out_of_range_are_refused_before_anything_is_created() {
    let env = TestEnv::new();
    let db = env.dir.path().join("never.db");
    let database = format!("sqlite:{}", db.display());
    for (setting, says) in [
        ("change_poll_ms = 5000", "between 10 and 250"),
        ("change_poll_ms = 0", "between 10 and 250"),
        ("cache_entries = 0", "at least 1"),
    ] {
        let config = env.dir.path().join("server.toml");
        std::fs::write(&config, setting).unwrap();
        let err = env.fails(
            &[
                "server",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &database,
                "--config",
                &config.display().to_string(),
            ],
            2,
        );
        assert!(one_line(&err).contains(says), "{setting}: {err}");
        assert!(!db.exists(), "{setting}: the database was created");
    }
}

#[test]
fn a_bad_config_or_a_missing_directory_is_refused_before_anything_is_created() {
    let env = TestEnv::new();
    let dir = env.dir.path();
    let pepper = dir.join("pepper");
    let pepper_arg = pepper.display().to_string();
    // A SQLite path in a directory that does not exist: no new, empty database made there.
    let missing = dir.join("no-such-dir");
    let database = format!("sqlite:{}", missing.join("keyward.db").display());
    for extra in [&["--bootstrap"][..], &[], &["--dev"]] {
        let mut args = vec!["server", "--listen", "127.0.0.1:0", "--database", &database];
        if !extra.contains(&"--dev") {
            args.extend(["--pepper-file", &pepper_arg]);
        }
        args.extend_from_slice(extra);
        let err = env.fails(&args, 2);
        let line = one_line(&err);
        assert!(
            line.contains("does not exist") && line.contains("no-such-dir"),
            "{extra:?}: {err}"
        );
        assert!(!missing.exists(), "{extra:?}: the directory was created");
        assert!(!pepper.exists(), "{extra:?}: the pepper file was created");
    }
    // A config that is not valid: the file, the line and the problem in one line.
    let db = dir.join("never.db");
    let database = format!("sqlite:{}", db.display());
    for (text, says) in [
        (
            "max_key_lifetime_days = 30\nbogus = 1\n",
            "line 2: unknown field `bogus`",
        ),
        ("listen = 8080\n", "line 1: invalid type"),
        (
            "max_key_lifetime_days = \"thirty\"\n",
            "line 1: invalid type",
        ),
    ] {
        let config = dir.join("server.toml");
        std::fs::write(&config, text).unwrap();
        let err = env.fails(
            &[
                "server",
                "--database",
                &database,
                "--pepper-file",
                &pepper_arg,
                "--config",
                &config.display().to_string(),
                "--bootstrap",
            ],
            2,
        );
        let line = one_line(&err);
        assert!(
            line.contains("server.toml is not a valid keyward server config")
                && line.contains(says),
            "{text:?}: {err}"
        );
        assert!(!db.exists(), "{text:?}: the database was created");
        assert!(!pepper.exists(), "{text:?}: the pepper file was created");
    }
}

#[test]
fn bootstrap_honours_the_configs_shorter_lifetime_and_warns_of_an_open_pepper_file() {
    let env = TestEnv::new();
    let dir = env.dir.path();
    let pepper = dir.join("pepper");
    let config = dir.join("server.toml");
    std::fs::write(&config, "max_key_lifetime_days = 30\n").unwrap();
    let database = env.database("lifetime.db");
    let mut args = vec![
        "--output".to_owned(),
        "json".to_owned(),
        "server".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
        "--bootstrap".to_owned(),
    ];
    args.extend(store_args(&database, &pepper));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.ok(&args);
    let key: serde_json::Value = serde_json::from_str(&out).unwrap();
    let expires: jiff::Timestamp = key["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - jiff::Timestamp::now())
        .total(jiff::Unit::Hour)
        .unwrap()
        / 24.0;
    assert!(
        (29.9..=30.0).contains(&days),
        "the first key lives {days} days, not the config's 30"
    );
    // Created private: no warning. Opened up to others: a warning naming the fix.
    let err = env.fails(&args, 5);
    assert!(!err.contains("chmod 600"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = env.fails(&args, 5);
        assert!(
            err.contains("can be read or written by other users (mode 644)")
                && err.contains("chmod 600"),
            "{err}"
        );
    }
}

#[test]
fn every_answer_says_nosniff_and_every_v1_answer_no_store_and_no_cors() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let auth = format!("Bearer {}", token.unwrap());
    let origin = ("Origin", "https://evil.example");
    for (method, path, headers, status) in [
        ("GET", "/healthz", vec![origin], 200),
        (
            "GET",
            "/v1/whoami",
            vec![("Authorization", auth.as_str()), origin],
            200,
        ),
        ("GET", "/v1/keys", vec![origin], 401),
        (
            "GET",
            "/v1/no-such-thing",
            vec![("Authorization", auth.as_str())],
            404,
        ),
        (
            "DELETE",
            "/v1/verify",
            vec![("Authorization", auth.as_str())],
            405,
        ),
        (
            "OPTIONS",
            "/v1/keys",
            vec![origin, ("Access-Control-Request-Method", "POST")],
            405,
        ),
    ] {
        let r = crate::harness::http(server.authority(), method, path, &headers, b"");
        assert_eq!(r.status, status, "{method} {path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
        if path.starts_with("/v1/") {
            assert_eq!(
                r.header("cache-control"),
                Some("no-store"),
                "{method} {path}"
            );
        }
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{method} {path}"
        );
    }
}
