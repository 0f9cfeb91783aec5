//! The CLI's own files on this machine: its config and data directories are owner-only after
//! every command that writes them, and writers never share a temporary file.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{Server, TestEnv};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn loosen(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_config_and_data_directories_are_tightened_to_0700_by_the_commands_that_write_them() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let config = env.config_dir();
    let data = env.data_dir();

    // Directories made by hand (or by an older keyward, or a dotfiles installer) with 0755.
    loosen(&config);
    env.login_as_admin(&server);
    assert_eq!(mode(&config), 0o700, "after login");

    let profile_writes: [&[&str]; 3] = [
        &["profiles", "use", "local"],
        &["profiles", "use", "default"],
        &["logout"],
    ];
    for args in profile_writes {
        loosen(&config);
        env.ok(args);
        assert_eq!(mode(&config), 0o700, "after {args:?}");
    }

    // The local store's commands: the catalog and the secrets index beside config.toml, the
    // store itself in the data directory.
    loosen(&config);
    env.ok(&["permissions", "add", "orders:read"]);
    assert_eq!(mode(&config), 0o700, "after permissions add");
    loosen(&config);
    loosen(&data);
    env.ok(&["keys", "create", "--name", "kept", "--store", "-q"]);
    assert_eq!(mode(&config), 0o700, "after keys create --store");
    assert_eq!(mode(&data), 0o700, "after keys create");
    for file in ["config.toml", "secrets.toml", "catalog.toml"] {
        assert_eq!(mode(&config.join(file)), 0o600, "{file}");
    }
}

#[test]
fn logins_never_write_into_another_writers_temporary_file() {
    let env = TestEnv::new();
    let server = Server::dev(&env, None, "info");
    let config = env.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    // Another keyward saving its config at this moment, through the temporary file a fixed
    // name would give it: a login must neither truncate it nor rename it away.
    let theirs = config.join("config.tmp");
    std::fs::write(&theirs, "# another keyward's config, half written\n").unwrap();
    env.login_as_admin(&server);
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "# another keyward's config, half written\n"
    );
    std::fs::remove_file(&theirs).unwrap();

    // Logins at once, each to a profile of its own: every one succeeds, none loses another's
    // profile, and no temporary file is left behind.
    let children: Vec<_> = (0..8)
        .map(|i| {
            std::process::Command::new(crate::harness::BIN)
                .env_clear()
                .envs(env.vars())
                .env("KEYWARD_CLIENT_SECRET", &server.admin_secret)
                .args(["login", "--profile", &format!("p{i}"), "--url", &server.url])
                .args(["--client-id", &server.admin_id])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent login failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(config.join("config.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let profiles = parsed["profiles"].as_table().unwrap();
    for i in 0..8 {
        assert!(
            profiles.contains_key(&format!("p{i}")),
            "p{i} was lost: {text}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
