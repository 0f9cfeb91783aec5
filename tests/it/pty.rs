//! Interactive prompts through a real pseudo-terminal: what a person at a terminal sees and types.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Server, TestEnv};

/// `keyward` running on the slave side of a pseudo-terminal.
pub(crate) struct Terminal {
    child: Child,
    master: std::fs::File,
    output: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Terminal {
    pub(crate) fn spawn(env: &TestEnv, args: &[&str]) -> Terminal {
        Self::spawn_sized(env, args, 24, 120)
    }

    /// On a terminal of `rows` × `cols`.
    pub(crate) fn spawn_sized(env: &TestEnv, args: &[&str], rows: u16, cols: u16) -> Terminal {
        let (mut master_fd, mut slave_fd) = (-1, -1);
        // SAFETY: openpty writes two fds into the given pointers; the rest may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut slave_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the winsize struct it is given; the fd is the open slave.
        unsafe { libc::ioctl(slave_fd, libc::TIOCSWINSZ, &size) };
        // Other tests spawn processes concurrently: they must not inherit this terminal.
        for fd in [master_fd, slave_fd] {
            // SAFETY: fcntl on fds just opened here.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: both fds were just opened and are owned here alone.
        let (master, slave) = unsafe {
            (
                OwnedFd::from_raw_fd(master_fd),
                OwnedFd::from_raw_fd(slave_fd),
            )
        };
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .envs(env.vars())
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn keyward on a pty");
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            child,
            master,
            output: rx,
            seen: Vec::new(),
        }
    }

    /// Waits until the screen shows `text`.
    pub(crate) fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !String::from_utf8_lossy(&self.seen).contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!(
                    "never saw {text:?}; the terminal showed:\n{}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    /// Whether the terminal echoes what is typed (a hidden prompt turns it off).
    fn echoes(&self) -> bool {
        // SAFETY: tcgetattr fills the termios struct it is given; the fd is the open master,
        // which reports the terminal's settings.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.master.as_raw_fd(), &mut t), 0);
            t.c_lflag & libc::ECHO != 0
        }
    }

    /// Waits until the program has turned echo off, as a hidden prompt does. Keys typed before
    /// that would be thrown away: the prompt switches modes with TCSAFLUSH.
    fn wait_for_hidden_input(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // SAFETY: tcgetattr fills the termios struct it is given; the fd is the open master,
            // which reports the terminal's settings.
            let echo = unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                assert_eq!(libc::tcgetattr(self.master.as_raw_fd(), &mut t), 0);
                t.c_lflag & libc::ECHO != 0
            };
            if !echo {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the prompt never turned echo off"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Sends SIGINT to the process itself, as a Ctrl-C does when no prompt reads keys.
    pub(crate) fn interrupt(&self) {
        // SAFETY: kill(2) on the pid of a child this terminal spawned and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
    }

    /// Waits for exit and returns the code and everything the terminal showed.
    pub(crate) fn finish(self) -> (i32, String) {
        let (code, screen, _) = self.finish_keeping_terminal();
        (code, screen)
    }

    /// [`Terminal::finish`], handing back the terminal to look at its settings afterwards.
    fn finish_keeping_terminal(mut self) -> (i32, String, Terminal) {
        // A prompt that ignores a key would wait for ever: fail instead of hanging.
        let give_up = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > give_up {
                let _ = self.child.kill();
                while let Ok(chunk) = self.output.try_recv() {
                    self.seen.extend(chunk);
                }
                panic!(
                    "still running after 30 s; the terminal showed:\n{}",
                    String::from_utf8_lossy(&self.seen)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(chunk) = self
            .output
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.extend(chunk);
        }
        let screen = String::from_utf8_lossy(&self.seen).into_owned();
        (status.code().unwrap_or(-1), screen, self)
    }
}

#[test]
fn on_a_terminal_missing_name_is_asked_and_the_keyring_offer_is_made() {
    let env = TestEnv::new();
    let mut term = Terminal::spawn(&env, &["keys", "create"]);
    term.expect("Name");
    term.send("from-the-prompt\r");
    // The wizard: type, (the only environment), permissions, expiry, allowed IPs, summary.
    term.expect("Type");
    term.send("\r");
    term.expect("Permissions");
    term.send("\r");
    term.expect("Expires in");
    term.send("\r");
    term.expect("Allowed IPs");
    term.send("\r");
    term.expect("Create this key");
    term.send("y");
    term.expect("will not show this secret again");
    term.expect("Store this secret in the OS keyring");
    term.send("y");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Stored in the Linux kernel keyring"),
        "{screen}"
    );
    let secret = crate::harness::find_secret(&screen);
    assert_eq!(
        env.ok(&["secrets", "get", "from-the-prompt"]).trim(),
        secret
    );
}

#[test]
fn declining_the_offer_stores_nothing() {
    let env = TestEnv::new();
    let mut term = Terminal::spawn(&env, &["keys", "create", "--name", "declined"]);
    term.expect("Store this secret in the OS keyring");
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Stored in"), "{screen}");
    env.fails(&["secrets", "get", "declined"], 4);
}

#[test]
fn revoke_asks_before_it_acts() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "asked", "--no-store", "-q"]);
    // A y pressed by habit, or another name, revokes nothing: the key's name must be typed.
    // It is no success either (exit 11): `revoke && deploy` must not go on.
    for typed in ["y", "asked-not"] {
        let mut term = Terminal::spawn(&env, &["keys", "revoke", "asked"]);
        term.expect("cannot be undone");
        term.expect("Type the key's name");
        term.send(&format!("{typed}\r"));
        let (code, screen) = term.finish();
        assert_eq!(code, 11, "{screen}");
        assert!(screen.contains("nothing revoked"), "{screen}");
        assert_eq!(env.json(&["keys", "show", "asked"])["status"], "active");
    }

    let mut term = Terminal::spawn(&env, &["keys", "revoke", "asked"]);
    term.expect("Type the key's name");
    term.send("asked\r");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(env.json(&["keys", "show", "asked"])["status"], "revoked");
}

/// `keyward login` as the dev super admin, waiting at the hidden secret prompt.
fn login_at_the_hidden_prompt(env: &TestEnv, server: &Server) -> Terminal {
    let mut term = Terminal::spawn(
        env,
        &[
            "login",
            "--url",
            &server.url,
            "--client-id",
            &server.admin_id,
        ],
    );
    // The prompt names where the secret goes.
    term.expect(&format!("Client secret (sent to {})", server.url));
    term.wait_for_hidden_input();
    term
}

#[test]
fn login_reads_the_secret_from_a_hidden_prompt() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let mut term = login_at_the_hidden_prompt(&env, &server);
    term.send(&format!("{}\r", server.admin_secret));
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Logged in"), "{screen}");
    // Hidden: what was typed never appeared on the screen.
    assert!(!screen.contains(&server.admin_secret[6..]), "{screen}");
    assert_eq!(env.json(&["whoami"])["key_id"], server.admin_id.as_str());
}

/// Writes an editor script for `keys edit` that sets the description, after running `before`.
fn editor_script(env: &TestEnv, before: &str) -> String {
    let path = env.dir.path().join("editor.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n{before}\nsed -i 's/^description = .*/description = \"from the editor\"/' \"$1\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path.display().to_string()
}

#[test]
fn edit_without_flags_opens_the_editor_on_the_fields() {
    let mut env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "edited", "--no-store", "-q"]);
    let editor = editor_script(&env, "");
    env.set("EDITOR", &editor);
    let term = Terminal::spawn(&env, &["keys", "edit", "edited"]);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    let shown = env.json(&["keys", "show", "edited"]);
    assert_eq!(shown["description"], "from the editor");
    assert_eq!(shown["version"], 2);
}

#[test]
fn an_edit_overtaken_while_in_the_editor_says_what_changed() {
    let mut env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "contested", "--no-store", "-q"]);
    // While the editor is open, someone else changes the key.
    let editor = editor_script(
        &env,
        &format!("{BIN} keys edit contested --description sneaky >/dev/null 2>&1 </dev/null"),
    );
    env.set("EDITOR", &editor);
    let term = Terminal::spawn(&env, &["keys", "edit", "contested"]);
    let (code, screen) = term.finish();
    assert_eq!(code, 5, "{screen}");
    assert!(
        screen.contains("someone else changed key contested"),
        "{screen}"
    );
    assert!(screen.contains("\"sneaky\""), "{screen}");
    // Nothing of the overtaken edit was written.
    assert_eq!(
        env.json(&["keys", "show", "contested"])["description"],
        "sneaky"
    );
}

#[test]
fn environments_and_keys_are_picked_from_lists_on_a_terminal() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    // Three environments: create asks which one, from the server's own list.
    let mut term = Terminal::spawn(&env, &["keys", "create", "--name", "picked"]);
    term.expect("Environment");
    term.expect("staging");
    term.send("stag\r");
    term.expect("Store this secret in the OS keyring");
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        env.json(&["keys", "show", "picked"])["environments"],
        serde_json::json!(["staging"])
    );

    // A key left out of `keys show` is picked by fuzzy search.
    let mut term = Terminal::spawn(&env, &["keys", "show", "--output", "json"]);
    term.expect("Key");
    term.send("picked\r");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\"name\": \"picked\""), "{screen}");
}

#[test]
fn a_brought_secret_typed_at_a_terminal_is_hidden() {
    let env = TestEnv::new();
    let mine = keyward::secret::random_base62(48);
    let mut term = Terminal::spawn(
        &env,
        &["keys", "create", "--name", "typed", "--secret-stdin"],
    );
    term.expect("Secret to use");
    term.wait_for_hidden_input();
    term.send(&format!("{mine}\r"));
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains(&mine), "{screen}");
    assert!(screen.contains("the secret you brought"), "{screen}");
}

/// Whether the cursor is visible at the end of `screen`: the last show (`ESC[?25h`) comes after
/// the last hide (`ESC[?25l`).
fn cursor_visible_at_the_end(screen: &str) -> bool {
    let shown = screen.rfind("\u{1b}[?25h");
    let hidden = screen.rfind("\u{1b}[?25l");
    match (shown, hidden) {
        (_, None) => true,
        (Some(s), Some(h)) => s > h,
        (None, Some(_)) => false,
    }
}

#[test]
fn escape_and_ctrl_c_leave_a_picker_with_the_cursor_back_and_nothing_done() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "pickable", "--no-store", "-q"]);
    for (key, what) in [("\u{1b}", "Escape"), ("\u{3}", "Ctrl-C")] {
        let mut term = Terminal::spawn(&env, &["keys", "revoke"]);
        term.expect("Key");
        term.expect("pickable");
        // Let the picker hide the cursor and wait for keys before pressing one.
        std::thread::sleep(Duration::from_millis(300));
        term.send(key);
        let (code, screen) = term.finish();
        assert_eq!(code, 130, "{what}: {screen}");
        assert!(
            cursor_visible_at_the_end(&screen),
            "{what} left the cursor hidden: {screen:?}"
        );
    }
    assert_eq!(env.json(&["keys", "show", "pickable"])["status"], "active");
}

#[test]
fn a_long_confirmation_on_a_narrow_terminal_is_drawn_once() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "narrow", "--no-store", "-q"]);
    let mut term = Terminal::spawn_sized(&env, &["keys", "disable", "narrow"], 24, 40);
    term.expect("[y/N]");
    std::thread::sleep(Duration::from_millis(200));
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(screen.matches("Disable narrow").count(), 1, "{screen:?}");
    assert_eq!(env.json(&["keys", "show", "narrow"])["status"], "active");
}

#[test]
fn rotating_without_grace_asks_first_on_a_terminal() {
    let env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "live", "--no-store", "-q"]);
    let mut term = Terminal::spawn(&env, &["keys", "rotate", "live"]);
    term.expect("with no grace");
    std::thread::sleep(Duration::from_millis(200));
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        env.json(&["keys", "show", "live"])["version"],
        1,
        "nothing rotated"
    );

    // With a grace period the old secret keeps working: no question but the keyring offer.
    let mut term = Terminal::spawn(&env, &["keys", "rotate", "live", "--grace", "1h"]);
    term.expect("Store this secret in the OS keyring");
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("with no grace"), "{screen}");
    assert_eq!(env.json(&["keys", "show", "live"])["version"], 2);
}

#[test]
fn the_create_wizard_asks_everything_from_the_servers_lists() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    env.ok(&[
        "keys",
        "create",
        "--name",
        "taken",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let mut term = Terminal::spawn(&env, &["keys", "create"]);
    term.expect("Name");
    term.send("taken\r");
    term.expect("is taken");
    term.send("wizarded\r");
    term.expect("Type");
    // public: the second entry.
    term.send("\u{1b}[B");
    std::thread::sleep(Duration::from_millis(100));
    term.send("\r");
    // development, production, staging: mark staging.
    term.expect("Environments");
    term.expect("staging");
    term.send("\u{1b}[B");
    std::thread::sleep(Duration::from_millis(100));
    term.send("\u{1b}[B");
    std::thread::sleep(Duration::from_millis(100));
    term.send(" ");
    std::thread::sleep(Duration::from_millis(100));
    term.send("\r");
    // A public key is offered only the public-safe permissions: catalog:read, orders:read.
    term.expect("Permissions");
    term.expect("orders:read");
    std::thread::sleep(Duration::from_millis(100));
    term.send("\u{1b}[B");
    std::thread::sleep(Duration::from_millis(100));
    term.send(" ");
    std::thread::sleep(Duration::from_millis(100));
    term.send("\r");
    term.expect("Expires in");
    term.send("90d\r");
    term.expect("Allowed IPs");
    term.send("10.0.0.0/8\r");
    term.expect("Create this key");
    term.send("y");
    term.expect("Store this secret in the OS keyring");
    term.send("n");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("orders:write"),
        "a private permission was offered: {screen}"
    );
    let key = env.json(&["keys", "show", "wizarded"]);
    assert_eq!(key["type"], "public");
    assert_eq!(key["environments"], serde_json::json!(["staging"]));
    assert_eq!(key["permissions"], serde_json::json!(["orders:read"]));
    assert_eq!(key["allowed_ips"], serde_json::json!(["10.0.0.0/8"]));
    let expires: jiff::Timestamp = key["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
    assert!((89..=90).contains(&days), "{days}");
}

#[test]
fn without_a_working_keyring_the_offer_says_why_instead_of_asking() {
    let mut env = TestEnv::new();
    env.set("KEYWARD_KEYRING", "secret-service");
    let mut term = Terminal::spawn(&env, &["keys", "create", "--name", "nowhere"]);
    term.expect("Not offering to store it");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("D-Bus"), "{screen}");
    assert!(
        !screen.contains("Store this secret in the OS keyring"),
        "{screen}"
    );
    crate::harness::find_secret(&screen);
}

#[test]
fn the_editor_reopens_on_the_users_text_with_the_error_on_top() {
    let mut env = TestEnv::new();
    env.ok(&["keys", "create", "--name", "retried", "--no-store", "-q"]);
    // First save: a broken line and an unknown environment. Second: the TOML is fixed but the
    // environment is still unknown. Third: both fixed, and a relative expiry.
    let runs = env.dir.path().join("runs");
    let script = env.dir.path().join("editor.sh");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
n=$(cat '{runs}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{runs}'
cp "$1" "$1.seen.$n"
case $n in
1) sed -i 's/^description = .*/description = "fixed later/' "$1"
   sed -i 's/^environments = .*/environments = ["moon"]/' "$1" ;;
2) sed -i 's/^description = .*/description = "fixed later"/' "$1" ;;
3) sed -i 's/^environments = .*/environments = ["default"]/' "$1"
   sed -i 's/^expires_at = .*/expires_at = "30d"/' "$1" ;;
esac
"#,
            runs = runs.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.set("EDITOR", &script.display().to_string());
    let term = Terminal::spawn(&env, &["keys", "edit", "retried"]);
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    let seen = |n: u32| {
        std::fs::read_to_string(
            env.dir.path().join("config/keyward/edit").join(
                std::fs::read_dir(env.dir.path().join("config/keyward/edit"))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .find(|f| f.ends_with(&format!(".seen.{n}")))
                    .unwrap(),
            ),
        )
        .unwrap()
    };
    // The second opening showed the TOML error above the user's own broken text.
    let second = seen(2);
    assert!(
        second.contains("# ERROR: the file is not valid TOML"),
        "{second}"
    );
    assert!(second.contains("environments = [\"moon\"]"), "{second}");
    // The third showed the server's refusal, naming the environment the user typed.
    let third = seen(3);
    assert!(
        third.contains("# ERROR:") && third.contains("moon"),
        "{third}"
    );
    // In the file's words: the field the user typed, not a flag they did not.
    assert!(third.contains("environments: \"moon\" unknown"), "{third}");
    assert!(!third.contains("--env"), "{third}");
    let key = env.json(&["keys", "show", "retried"]);
    assert_eq!(key["description"], "fixed later");
    assert_eq!(key["version"], 2, "only the last save was written");
    let expires: jiff::Timestamp = key["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
    assert!((29..=30).contains(&days), "{days}");
}

#[test]
fn ctrl_c_at_a_hidden_prompt_gives_the_terminal_its_echo_back() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let mut term = login_at_the_hidden_prompt(&env, &server);
    assert!(!term.echoes());
    term.send("\u{3}");
    let (code, screen, term) = term.finish_keeping_terminal();
    assert_eq!(code, 130, "{screen}");
    assert!(term.echoes(), "the terminal was left without echo");
    assert!(
        !env.config_dir().join("config.toml").exists(),
        "nothing was saved"
    );
}

#[test]
fn with_more_keys_than_one_list_holds_the_picker_asks_for_a_search_first() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    env.login_as_admin(&server);
    let (_, token) = server.token(&server.admin_id, &server.admin_secret);
    let auth = format!("Bearer {}", token.unwrap());
    for i in 0..205 {
        let body = format!(r#"{{"name":"crowd-{i:03}","environments":["staging"]}}"#);
        let r = crate::harness::http(
            server.authority(),
            "POST",
            "/v1/keys",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    let mut term = Terminal::spawn(&env, &["keys", "show", "--output", "json"]);
    term.expect("search first");
    term.expect("Search keys");
    // No match: asked again, saying so.
    term.send("nothing-like-this\r");
    term.expect("No key that is not revoked matches");
    term.send("crowd-17\r");
    // The picker lists the matches (crowd-170 … crowd-179); typing narrows them.
    term.expect("crowd-17");
    term.send("crowd-174\r");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\"name\": \"crowd-174\""), "{screen}");
}

#[test]
fn the_login_keys_name_is_typed_back_before_it_is_disabled_or_revoked() {
    let mut admin = TestEnv::new();
    let server = Server::dev(&admin, None, "info");
    server.as_admin(&mut admin);
    let secret = admin
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
            "keys:write",
            "--permission",
            "keys:revoke",
            "--no-store",
            "-q",
        ])
        .trim()
        .to_owned();
    admin.ok(&[
        "keys",
        "create",
        "--name",
        "bystander",
        "--env",
        "staging",
        "-q",
        "--no-store",
    ]);
    let id = admin.json(&["keys", "show", "operator"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut me = TestEnv::new();
    me.set("KEYWARD_URL", &server.url)
        .set("KEYWARD_CLIENT_ID", &id)
        .set("KEYWARD_CLIENT_SECRET", &secret);
    let status = |name: &str| admin.json(&["keys", "show", name])["status"].clone();

    // A y pressed by habit, or --yes, does not cut the profile off: the name must be typed.
    for (args, typed) in [
        (&["keys", "revoke", "operator", "--yes"][..], "y"),
        (
            &["keys", "disable", "operator", "--yes"][..],
            "operator-not",
        ),
    ] {
        let mut term = Terminal::spawn(&me, args);
        term.expect("is the key this command is logged in with");
        term.expect("Type the key's name");
        term.send(&format!("{typed}\r"));
        let (code, screen) = term.finish();
        assert_eq!(code, 11, "{args:?}: {screen}");
        assert!(
            screen.contains("the name typed does not match \"operator\"; nothing"),
            "{screen}"
        );
        assert_eq!(status("operator"), "active", "{args:?}");
    }

    let mut term = Terminal::spawn(&me, &["keys", "disable", "operator"]);
    term.expect("Type the key's name to disable it");
    term.send("operator\r");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(status("operator"), "disabled");
    admin.ok(&["keys", "enable", "operator"]);

    // In bulk, named with another key: the others' question (skipped by --yes), then its name.
    let mut term = Terminal::spawn(&me, &["keys", "revoke", "operator", "bystander", "--yes"]);
    term.expect("Type the key's name to revoke it");
    term.send("operator\r");
    let (code, screen) = term.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(status("bystander"), "revoked");
    assert_eq!(status("operator"), "revoked");
}

#[test]
fn a_key_changed_between_the_preview_and_the_answer_is_reported_not_acted_on() {
    let env = TestEnv::new();
    for name in ["kept-1", "moved", "kept-2"] {
        env.ok(&["keys", "create", "--name", name, "--no-store", "-q"]);
    }
    let mut term = Terminal::spawn(&env, &["keys", "disable", "--env", "default"]);
    term.expect("Disable these 3 keys");
    term.expect("[y/N]");
    // While the question waits, someone else edits one of the keys the preview showed, and
    // creates a key the preview never showed.
    env.ok(&["keys", "edit", "moved", "--description", "meanwhile"]);
    env.ok(&["keys", "create", "--name", "newcomer", "--no-store", "-q"]);
    std::thread::sleep(Duration::from_millis(200));
    term.send("y");
    let (code, screen) = term.finish();
    assert_eq!(code, 9, "{screen}");
    assert!(screen.contains("changed since the preview"), "{screen}");
    assert!(
        screen.contains("2 disabled, 0 already disabled, 2 changed meanwhile"),
        "{screen}"
    );
    assert_eq!(env.json(&["keys", "show", "kept-1"])["status"], "disabled");
    assert_eq!(env.json(&["keys", "show", "kept-2"])["status"], "disabled");
    assert_eq!(env.json(&["keys", "show", "moved"])["status"], "active");
    assert_eq!(env.json(&["keys", "show", "newcomer"])["status"], "active");
}
