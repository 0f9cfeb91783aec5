//! Storing a new secret in the OS keyring, for real, on both Linux stores; and saying so plainly
//! when no store works.

use std::process::Command;

use crate::harness::{BIN, TestEnv};

#[test]
fn kernel_keyring_stores_and_returns_a_new_secret() {
    let env = TestEnv::new();
    let out = env
        .keyward()
        .args(["keys", "create", "--name", "kept", "--store"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let secret = crate::harness::find_secret(&stdout);
    assert!(stderr.contains("Linux kernel keyring"), "{stderr}");
    // And what that means: memory, gone at reboot.
    assert!(
        stderr.contains("warning: the Linux kernel keyring holds secrets in memory only")
            && stderr.contains("do not survive a reboot"),
        "{stderr}"
    );

    assert_eq!(env.ok(&["secrets", "get", "kept"]).trim(), secret);
    let listed = env.ok(&["secrets", "list"]);
    assert!(listed.contains("kept") && !listed.contains(&secret));

    // It is really in the kernel keyring: keyctl finds it in this session.
    let found = Command::new("keyctl")
        .args([
            "search",
            "@s",
            "user",
            &format!("keyring:local:{}@keyward", id_of(&env, "kept")),
        ])
        .output()
        .expect("keyctl is installed (package keyutils)");
    assert!(
        found.status.success(),
        "keyctl search: {}",
        String::from_utf8_lossy(&found.stderr)
    );

    env.ok(&["secrets", "delete", "kept"]);
    env.fails(&["secrets", "get", "kept"], 4);
}

fn id_of(env: &TestEnv, name: &str) -> String {
    env.json(&["keys", "show", name])["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs a shell script inside a fresh D-Bus session with an unlocked gnome-keyring Secret
/// Service, with the test environment exported.
fn in_secret_service_session(env: &TestEnv, script: &str) -> std::process::Output {
    let mut full = String::from(
        "set -e\necho -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n",
    );
    full.push_str(script);
    Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &full])
        .env_clear()
        .envs(env.vars())
        .env("KEYWARD", BIN)
        .env("KEYWARD_KEYRING", "secret-service")
        .current_dir(env.dir.path())
        .output()
        .expect("dbus-run-session is installed (package dbus)")
}

#[test]
fn secret_service_stores_and_returns_a_new_secret() {
    let env = TestEnv::new();
    let out = in_secret_service_session(
        &env,
        r#"
        "$KEYWARD" keys create --name gnome --store > created.txt 2> created.err
        "$KEYWARD" secrets get gnome > got.txt
        secret-tool lookup service keyward username "local:$("$KEYWARD" keys show gnome -q)" > lookup.txt
        "#,
    );
    let read = |name: &str| std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("created.err")
    );
    let (created, created_err, got) = (read("created.txt"), read("created.err"), read("got.txt"));
    let secret = crate::harness::find_secret(&created);
    assert!(created_err.contains("Secret Service"), "{created_err}");
    assert!(!created_err.contains("reboot"), "{created_err}");
    assert_eq!(got.trim(), secret);
    // It is really in the Secret Service: another client (secret-tool) reads it back.
    assert_eq!(read("lookup.txt").trim(), secret);
}

#[test]
fn with_no_working_store_the_cli_says_so_and_still_shows_the_secret() {
    let mut env = TestEnv::new();
    // Secret Service asked for, and no D-Bus session: no store works.
    env.set("KEYWARD_KEYRING", "secret-service");
    let out = env
        .keyward()
        .args(["keys", "create", "--name", "nowhere", "--store", "-q"])
        .output()
        .unwrap();
    // Exit 7, its own code: a `set -e` script can tell "the key exists, the secret was printed,
    // only the keyring failed" from "nothing happened" (1).
    assert_eq!(out.status.code(), Some(7));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    crate::harness::assert_secret_format(stdout.trim(), "kw_sk_");
    assert!(
        stderr.contains("nowhere") && stderr.contains("could not keep it"),
        "{stderr}"
    );
    assert!(stderr.contains("D-Bus"), "{stderr}");
    assert!(
        !stderr.contains(stdout.trim()),
        "the secret is not repeated in the error"
    );
    // Nothing was written in plaintext instead.
    for (path, bytes) in crate::harness::all_bytes_under(env.dir.path()) {
        assert!(
            !crate::harness::contains(&bytes, &stdout.trim()[6..]),
            "secret found in {}",
            path.display()
        );
    }
    // The key exists; the secret was shown once and that is all.
    assert_eq!(env.json(&["keys", "show", "nowhere"])["status"], "active");
}

#[test]
fn revoking_a_key_removes_its_stored_secret_and_a_reused_name_finds_the_new_one() {
    let env = TestEnv::new();
    let first =
        crate::harness::find_secret(&env.ok(&["keys", "create", "--name", "app", "--store"]));
    assert_eq!(env.ok(&["secrets", "get", "app"]).trim(), first);
    let id = id_of(&env, "app");

    let out = env
        .keyward()
        .args(["keys", "revoke", "app", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Removed the secret of app"), "{said}");
    env.fails(&["secrets", "get", "app"], 4);
    env.fails(&["secrets", "get", &id], 4);
    assert!(!env.ok(&["secrets", "list"]).contains(&id));
    // Gone from the kernel keyring too.
    let found = Command::new("keyctl")
        .args([
            "search",
            "@s",
            "user",
            &format!("keyring:local:{id}@keyward"),
        ])
        .output()
        .unwrap();
    assert!(
        !found.status.success(),
        "the revoked key's secret is still in the keyring"
    );

    // The name, reused, gets the new key's secret.
    let second =
        crate::harness::find_secret(&env.ok(&["keys", "create", "--name", "app", "--store"]));
    assert_eq!(env.ok(&["secrets", "get", "app"]).trim(), second);
}

#[test]
fn each_stored_secret_is_read_and_deleted_in_the_keyring_that_holds_it() {
    let env = TestEnv::new();
    let out = in_secret_service_session(
        &env,
        r#"
        KEYWARD_KEYRING=secret-service "$KEYWARD" keys create --name in-ss --store -q > ss.txt
        KEYWARD_KEYRING=keyutils "$KEYWARD" keys create --name in-ku --store -q > ku.txt
        KEYWARD_KEYRING=keyutils "$KEYWARD" secrets get in-ss > get-ss.txt
        KEYWARD_KEYRING=secret-service "$KEYWARD" secrets get in-ku > get-ku.txt
        "$KEYWARD" secrets list > list.txt
        id=$("$KEYWARD" keys show in-ss -q)
        KEYWARD_KEYRING=keyutils "$KEYWARD" secrets delete in-ss 2> deleted.txt
        secret-tool lookup service keyward username "local:$id" > lookup.txt || echo gone > lookup.txt
        KEYWARD_KEYRING=keyutils "$KEYWARD" secrets get in-ss > /dev/null 2>&1 || echo $? > after.txt
        "#,
    );
    let read = |name: &str| std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each is found where it was put, whichever keyring is in effect now.
    assert_eq!(read("get-ss.txt").trim(), read("ss.txt").trim());
    assert_eq!(read("get-ku.txt").trim(), read("ku.txt").trim());
    let list = read("list.txt");
    assert!(
        list.contains("secret-service") && list.contains("keyutils"),
        "{list}"
    );
    // Deleting really removes it from the Secret Service, not from the other store.
    assert!(
        read("deleted.txt").contains("Secret Service"),
        "{}",
        read("deleted.txt")
    );
    assert_eq!(read("lookup.txt").trim(), "gone");
    assert_eq!(read("after.txt").trim(), "4");
}

#[test]
fn secrets_list_says_when_no_keyring_works() {
    let mut env = TestEnv::new();
    env.set("KEYWARD_KEYRING", "secret-service");
    let err = env.fails(&["secrets", "list"], 1);
    assert!(
        err.contains("none can be") && err.contains("D-Bus"),
        "{err}"
    );
    assert!(!err.contains("No secrets stored"), "{err}");
}

#[test]
fn secret_service_is_preferred_whenever_it_answers() {
    let env = TestEnv::new();
    // No KEYWARD_KEYRING: keyward chooses. First with the bus named in the environment, then
    // with only the socket where D-Bus clients look when it is not ($XDG_RUNTIME_DIR/bus).
    let out = in_secret_service_session(
        &env,
        r#"
        unset KEYWARD_KEYRING
        "$KEYWARD" keys create --name named-bus --store > /dev/null 2> named.err
        mkdir -m 700 run
        dbus-daemon --session --address="unix:path=$PWD/run/bus" --fork --print-pid > dbus.pid
        DBUS_SESSION_BUS_ADDRESS="unix:path=$PWD/run/bus" XDG_RUNTIME_DIR="$PWD/run" sh -c \
          'echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null'
        env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$PWD/run" \
          "$KEYWARD" keys create --name found-bus --store > /dev/null 2> found.err
        env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$PWD/run" \
          "$KEYWARD" secrets list > list.txt
        kill "$(cat dbus.pid)"
        "#,
    );
    let read = |name: &str| std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("named.err"),
        read("found.err")
    );
    for file in ["named.err", "found.err"] {
        let said = read(file);
        assert!(
            said.contains("Stored in the Secret Service"),
            "{file}: {said}"
        );
        assert!(!said.contains("kernel keyring"), "{file}: {said}");
    }
    let list = read("list.txt");
    assert!(
        list.contains("found-bus") && list.contains("secret-service") && !list.contains("keyutils"),
        "{list}"
    );
}

#[test]
fn secrets_list_shows_login_secrets_labelled() {
    let env = TestEnv::new();
    let server = crate::harness::Server::dev(&env, None, "info");
    let out = env.login_output(&server, &server.admin_id, &server.admin_secret);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // Kept in the kernel keyring, and told what that means.
    assert!(said.contains("do not survive a reboot"), "{said}");
    env.ok(&[
        "--local", "keys", "create", "--name", "kept", "--store", "-q",
    ]);

    let table = env.ok(&["secrets", "list"]);
    let login_row = table
        .lines()
        .find(|l| l.contains("(login)"))
        .unwrap_or_else(|| panic!("no login row: {table}"));
    assert!(
        login_row.contains("(login)") && login_row.contains("default"),
        "{table}"
    );
    let kept_row = table.lines().find(|l| l.contains("kept")).unwrap();
    assert!(!kept_row.contains("login"), "{table}");

    let listed = env.json(&["secrets", "list"]);
    let items = listed["items"].as_array().unwrap();
    let login = items
        .iter()
        .find(|i| i["key_id"] == server.admin_id.as_str())
        .unwrap();
    assert_eq!(login["kind"], "login");
    assert_eq!(login["profile"], "default");
    assert_eq!(login["origin"], server.url.as_str());
    assert_eq!(login["keyring"], "keyutils");
    let kept = items.iter().find(|i| i["name"] == "kept").unwrap();
    assert_eq!(kept["kind"], "key");
    assert!(!listed.to_string().contains(&server.admin_secret));

    // Logged out, the login secret is gone, and so is its row.
    env.ok(&["logout"]);
    let table = env.ok(&["secrets", "list"]);
    assert!(!table.contains("login"), "{table}");
    assert!(table.contains("kept"), "{table}");
}
