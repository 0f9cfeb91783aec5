//! The exit-code table of `keyward --help`, walked: each documented code's situation is run for
//! real (a real server, the local store, prompts on a real pseudo-terminal) and exits with that
//! code; a code added to the table without a situation here fails the walk.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;

use crate::harness::{Server, TestEnv};
use crate::pty::Terminal;

/// The codes `keyward --help` documents, from its "Exit codes:" table.
fn documented_codes(env: &TestEnv) -> BTreeSet<i32> {
    let help = env.ok(&["--help"]);
    let table = help
        .split("Exit codes:")
        .nth(1)
        .expect("`keyward --help` has an exit-code table");
    table
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

/// What each walked situation exited with, checked as it goes.
struct Walk {
    walked: BTreeSet<i32>,
}

impl Walk {
    /// Runs `keyward args` in `env` (stdin empty, no terminal): it must exit `code`. Returns
    /// stderr.
    fn run(&mut self, what: &str, env: &TestEnv, args: &[&str], code: i32) -> String {
        let out = env.keyward().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what}: keyward {args:?}\nstdout {}\nstderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        self.walked.insert(code);
        stderr
    }

    /// A prompt's situation, already finished on its terminal.
    fn saw(&mut self, what: &str, (code, screen): (i32, String), want: i32) -> String {
        assert_eq!(code, want, "{what}: the terminal showed:\n{screen}");
        self.walked.insert(code);
        screen
    }
}

/// A server that answers every request with a bare 500: keyward's generic error (exit 1).
fn broken_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    url
}

/// An address nothing listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn key_id(env: &TestEnv, name: &str) -> String {
    env.json(&["keys", "show", name])["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_documented_exit_code_is_what_its_situation_exits_with() {
    let local = TestEnv::new();
    let mut walk = Walk {
        walked: BTreeSet::new(),
    };

    // 0: success.
    walk.run(
        "create",
        &local,
        &["keys", "create", "--name", "walked", "--no-store", "-q"],
        0,
    );

    // 2: usage: a missing flag without a terminal; and config errors, the CLI's and the
    // server's (a value out of range, a permission name the catalog cannot hold).
    walk.run(
        "missing --name",
        &local,
        &["keys", "create", "--no-store"],
        2,
    );
    let dir = local.dir.path();
    for (file, text) in [
        ("range.toml", "max_staleness_secs = 0\n"),
        ("catalog.toml", "[[permissions]]\nname = \"Not A Name\"\n"),
        (
            "checkpoints.toml",
            "audit_checkpoint_file = \"/nonexistent/keyward/checkpoints\"\n",
        ),
    ] {
        let config = dir.join(file);
        std::fs::write(&config, text).unwrap();
        let err = walk.run(
            file,
            &local,
            &[
                "server",
                "--config",
                config.to_str().unwrap(),
                "--database",
                &format!("sqlite:{}", dir.join("never.db").display()),
                "--pepper-file",
                dir.join("never.pepper").to_str().unwrap(),
            ],
            2,
        );
        assert!(err.contains("server config"), "{file}: {err}");
        assert!(!dir.join("never.db").exists(), "{file}: nothing is created");
    }
    let broken_config = TestEnv::new();
    std::fs::create_dir_all(broken_config.config_dir()).unwrap();
    std::fs::write(
        broken_config.config_dir().join("config.toml"),
        "[profiles.default]\nurl = 42\n",
    )
    .unwrap();
    let err = walk.run("a broken config.toml", &broken_config, &["keys", "list"], 2);
    assert!(err.contains("config.toml"), "{err}");
    // The local store's catalog.toml: one that does not parse, one that names no permission.
    let broken_catalog = TestEnv::new();
    std::fs::create_dir_all(broken_catalog.config_dir()).unwrap();
    for text in [
        "[[permissions]\n",
        "[[permissions]]\nname = \"Not A Name\"\n",
    ] {
        std::fs::write(broken_catalog.config_dir().join("catalog.toml"), text).unwrap();
        let err = walk.run(
            "a broken catalog.toml",
            &broken_catalog,
            &["keys", "list"],
            2,
        );
        assert!(err.contains("catalog.toml"), "{err}");
    }

    // 4: not found. 5: conflict (the name is taken).
    walk.run("show", &local, &["keys", "show", "nobody"], 4);
    walk.run(
        "same name",
        &local,
        &["keys", "create", "--name", "walked", "--no-store"],
        5,
    );

    // 7: created, its secret printed, but --store could not keep it (no keyring works).
    let mut no_keyring = TestEnv::new();
    no_keyring.set("KEYWARD_KEYRING", "secret-service");
    walk.run(
        "--store without a keyring",
        &no_keyring,
        &["keys", "create", "--name", "unkept", "--store", "-q"],
        7,
    );

    // 8: keys check finds a key that needs attention.
    local.ok(&[
        "keys",
        "create",
        "--name",
        "soon",
        "--expires-in",
        "1d",
        "--no-store",
        "-q",
    ]);
    walk.run("check", &local, &["keys", "check"], 8);

    // 10: keys verify of a key that is not valid: its own code, not the generic 1.
    let secret = local
        .ok(&["keys", "create", "--name", "verified", "--no-store", "-q"])
        .trim()
        .to_owned();
    let out = local
        .keyward()
        .args(["keys", "verify", "--permission", "keys:write", "-q"])
        .write_stdin(secret.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PERMISSION_DENIED"
    );
    local.ok(&["keys", "revoke", "verified", "--yes"]);
    let out = local
        .keyward()
        .args(["keys", "verify", "-q"])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "REVOKED");
    walk.walked.insert(10);

    // Against a server: 3 (not allowed), 9 (a bulk change partly failed), 1 (a server error),
    // 6 (unreachable).
    let mut admin = TestEnv::new();
    let server = Server::dev(&admin, None, "info");
    server.as_admin(&mut admin);
    let operator = admin
        .ok(&[
            "keys",
            "create",
            "--name",
            "operator",
            "--env",
            "staging",
            "--permission",
            "keys:read",
            "--permission",
            "keys:revoke",
            "--no-store",
            "-q",
        ])
        .trim()
        .to_owned();
    for (name, permission) in [("stronger", "keys:write"), ("weaker", "keys:read")] {
        admin.ok(&[
            "keys",
            "create",
            "--name",
            name,
            "--env",
            "staging",
            "--permission",
            permission,
            "--no-store",
            "-q",
        ]);
    }
    let mut op = TestEnv::new();
    op.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &key_id(&admin, "operator"))
        .set("KEYWARD_CLIENT_SECRET", &operator);
    walk.run(
        "create without keys:write",
        &op,
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--env",
            "staging",
            "--no-store",
        ],
        3,
    );
    walk.run(
        "bulk revoke, one key beyond the caller",
        &op,
        &["keys", "revoke", "stronger", "weaker", "--yes"],
        9,
    );
    assert_eq!(admin.json(&["keys", "show", "weaker"])["status"], "revoked");
    assert_eq!(
        admin.json(&["keys", "show", "stronger"])["status"],
        "active"
    );
    let mut elsewhere = TestEnv::new();
    elsewhere
        .set("KEYWARD_CLIENT_ID", &server.admin_id)
        .set("KEYWARD_CLIENT_SECRET", &server.admin_secret)
        .set("KEYWARD_URL", &broken_server());
    walk.run("a server error", &elsewhere, &["keys", "list"], 1);
    elsewhere.set("KEYWARD_URL", &closed_port());
    walk.run("nothing listening", &elsewhere, &["keys", "list"], 6);

    // On a terminal. 11: the name typed back wrong revokes nothing, and is no success.
    let screen = walk.saw(
        "the name typed back wrong",
        {
            let mut term = Terminal::spawn(&local, &["keys", "revoke", "walked"]);
            term.expect("Type the key's name");
            term.send("walkd\r");
            term.finish()
        },
        11,
    );
    assert!(screen.contains("nothing revoked"), "{screen}");
    assert_eq!(local.json(&["keys", "show", "walked"])["status"], "active");

    // 130: Escape at a question: nothing was done.
    walk.saw(
        "Escape at a question",
        {
            let mut term = Terminal::spawn(&local, &["keys", "disable", "walked"]);
            term.expect("[y/N]");
            std::thread::sleep(std::time::Duration::from_millis(200));
            term.send("\u{1b}");
            term.finish()
        },
        130,
    );
    assert_eq!(local.json(&["keys", "show", "walked"])["status"], "active");

    // 7 again: Ctrl-C at the keyring offer after a create. The key exists: the message says so,
    // naming it and its id, and the code is not 130 ("nothing was done"). Ctrl-C as the prompt
    // reads it (a key), and as a signal to the process.
    for (name, how) in [("offered", "key"), ("signalled", "signal")] {
        let mut term = Terminal::spawn(&local, &["keys", "create", "--name", name]);
        term.expect("Store this secret in the OS keyring");
        std::thread::sleep(std::time::Duration::from_millis(200));
        match how {
            "key" => term.send("\u{3}"),
            _ => term.interrupt(),
        }
        let screen = walk.saw(&format!("Ctrl-C ({how}) at the offer"), term.finish(), 7);
        let id = key_id(&local, name);
        assert!(
            screen.contains(&format!("key {name} ({id}) was created")),
            "{how}: {screen}"
        );
        assert!(screen.contains("not stored"), "{how}: {screen}");
        assert_eq!(local.json(&["keys", "show", name])["status"], "active");
        local.fails(&["secrets", "get", name], 4);
    }

    assert_eq!(
        walk.walked,
        documented_codes(&local),
        "every documented exit code is walked, and no other"
    );
}
