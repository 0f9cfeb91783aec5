//! Bad input answers clearly: one line naming the problem, the documented exit code, and no
//! change on the server.

use crate::harness::{Server, TestEnv};

fn count_keys(env: &TestEnv) -> usize {
    env.json(&["keys", "list", "--all"])["items"]
        .as_array()
        .unwrap()
        .len()
}

fn one_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    lines[0]
}

#[test]
fn unknown_permission_and_environment_are_refused_without_change() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let before = count_keys(&env);

    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--env",
            "staging",
            "--permission",
            "orders:fly",
        ],
        2,
    );
    let line = one_line(&err);
    assert!(
        line.contains("orders:fly") && line.contains("catalog"),
        "{line}"
    );

    let err = env.fails(&["keys", "create", "--name", "x", "--env", "moon"], 2);
    let line = one_line(&err);
    assert!(
        line.contains("\"moon\"") && line.contains("staging"),
        "{line}"
    );

    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--env",
            "staging",
            "--allow-ip",
            "10.0.0.0/33",
        ],
        2,
    );
    assert!(one_line(&err).contains("10.0.0.0/33"));

    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--type",
            "public",
            "--env",
            "staging",
            "--permission",
            "orders:write",
        ],
        2,
    );
    assert!(one_line(&err).contains("public"));

    assert_eq!(count_keys(&env), before, "nothing was created");

    // A name already taken is a conflict.
    env.ok(&["keys", "create", "--name", "dup", "--env", "staging", "-q"]);
    let err = env.fails(&["keys", "create", "--name", "dup", "--env", "staging"], 5);
    assert!(one_line(&err).contains("dup"));
    assert_eq!(count_keys(&env), before + 1);
}

#[test]
fn mistyped_and_wrong_client_secrets() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let login = |secret: &str, code: i32| {
        let out = env.login_output(&server, &server.admin_id, secret);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };

    // One character changed: the checksum catches it before any request.
    let mut typo = server.admin_secret.clone().into_bytes();
    typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
    let err = login(&String::from_utf8(typo).unwrap(), 2);
    assert!(one_line(&err).contains("checksum"), "{err}");

    // Cut short: malformed.
    let err = login(&server.admin_secret[..20], 2);
    assert!(one_line(&err).contains("49 characters"), "{err}");

    // Well formed but wrong: the server refuses, exit 3.
    let other = {
        let out = TestEnv::new().ok(&["keys", "create", "--name", "elsewhere", "-q"]);
        out.trim().to_owned()
    };
    let err = login(&other, 3);
    assert!(one_line(&err).contains("wrong client secret"), "{err}");
    // No profile was written by the failed logins.
    assert!(!env.config_dir().join("config.toml").exists());
}

#[test]
fn an_unreachable_server_exits_6() {
    let mut env = TestEnv::new();
    // A port this test holds bound but never listens on: connecting is refused, and no other
    // test can take the port meanwhile (a dropped listener's port could be reused at once).
    let (_held, port) = bound_not_listening();
    env.set("KEYWARD_URL", &format!("http://127.0.0.1:{port}"))
        .set("KEYWARD_CLIENT_ID", "key_whatever")
        .set(
            "KEYWARD_CLIENT_SECRET",
            "kw_sk_notreallyasecretbutnoneisneededhere",
        );
    let err = env.fails(&["keys", "list"], 6);
    let line = one_line(&err);
    assert!(
        line.contains("cannot reach") && line.contains(&port.to_string()),
        "{line}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let mut env = TestEnv::new();
    env.set("KEYWARD_URL", "http://keyward.example.com")
        .set("KEYWARD_CLIENT_ID", "key_x")
        .set("KEYWARD_CLIENT_SECRET", "s");
    let err = env.fails(&["keys", "list"], 2);
    assert!(one_line(&err).contains("--insecure-http"), "{err}");
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    let env = TestEnv::new();
    let err = env.fails(&["keys", "list", "--output", "yaml"], 2);
    assert!(err.contains("yaml"), "{err}");
}

#[test]
fn no_credentials_for_a_server_exits_3() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.set("KEYWARD_URL", &server.url);
    let err = env.fails(&["keys", "list"], 3);
    assert!(one_line(&err).contains("keyward login"), "{err}");
}

/// A TCP socket bound to a free loopback port, not listening; closed when dropped.
fn bound_not_listening() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2)/bind(2)/getsockname(2) on a fresh socket this function owns, with
    // a zeroed sockaddr_in of the right size.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        addr.sin_port = 0;
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, (&raw const addr).cast(), len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = len;
        let rc = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        (owned, u16::from_be(addr.sin_port))
    }
}

#[test]
fn every_problem_of_a_create_is_named_at_once() {
    let mut env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    server.as_admin(&mut env);
    let before = count_keys(&env);
    let err = env.fails(
        &[
            "keys",
            "create",
            "--name",
            "all-wrong",
            "--env",
            "moon",
            "--permission",
            "orders:fly",
            "--allow-ip",
            "10.0.0.0/33",
            "--description",
            &"d".repeat(1001),
        ],
        2,
    );
    let line = one_line(&err);
    for part in [
        "\"moon\"",
        "\"orders:fly\"",
        "\"10.0.0.0/33\"",
        "1000 characters",
    ] {
        assert!(line.contains(part), "{part} is not named: {line}");
    }
    assert_eq!(count_keys(&env), before, "nothing was created");
}

#[test]
fn an_unknown_keyring_is_a_usage_error_naming_the_known_ones() {
    let mut env = crate::harness::TestEnv::new();
    env.set("KEYWARD_KEYRING", "bogus");
    let err = env.fails(&["keys", "list"], 2);
    assert!(err.contains("KEYWARD_KEYRING=\"bogus\""), "{err}");
    assert!(err.contains("secret-service, keyutils"), "{err}");
    // Nothing was done: no local store was made.
    assert!(!env.data_dir().join("local.db").exists());
}
