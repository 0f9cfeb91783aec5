//! completions/ and man/ are generated and committed; this keeps them fresh.

use std::path::Path;

use crate::harness::BIN;

const REFRESH: &str = "refresh them with: ./scripts/generate";

#[test]
fn committed_completions_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in [
        ("bash", "keyward.bash"),
        ("zsh", "_keyward"),
        ("fish", "keyward.fish"),
        ("powershell", "keyward.ps1"),
        ("elvish", "keyward.elv"),
    ] {
        let out = std::process::Command::new(BIN)
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let committed = std::fs::read(root.join("completions").join(file))
            .unwrap_or_else(|_| panic!("completions/{file} is missing; {REFRESH}"));
        assert!(
            committed == out.stdout,
            "completions/{file} is stale; {REFRESH}"
        );
    }
}

#[test]
fn committed_man_pages_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["generate", "man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut generated: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    generated.sort();
    assert!(generated.contains(&"keyward-keys-create.1".to_owned()));
    let mut committed: Vec<String> = std::fs::read_dir(root.join("man"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    committed.sort();
    assert_eq!(
        committed, generated,
        "man/ has other pages than keyward generates; {REFRESH}"
    );
    for name in generated {
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        let old = std::fs::read(root.join("man").join(&name)).unwrap();
        assert!(fresh == old, "man/{name} is stale; {REFRESH}");
    }
    // The exit codes are documented in the man page.
    let main = std::fs::read_to_string(root.join("man").join("keyward.1")).unwrap();
    assert!(main.contains("server unreachable"));
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES"] {
        assert!(
            main.contains(&format!(".SH {section}"))
                || main.contains(&format!(".SH \"{section}\"")),
            "no {section} section"
        );
    }
    // Listed once: in EXIT STATUS, not again among the help text's extra paragraphs.
    assert_eq!(main.matches("server unreachable").count(), 1, "{main}");
    // A subcommand's SYNOPSIS: its own flags, then the global ones, not interleaved.
    let create = std::fs::read_to_string(root.join("man").join("keyward-keys-create.1")).unwrap();
    let synopsis = create
        .split(".SH SYNOPSIS")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .unwrap();
    let at = |flag: &str| {
        synopsis
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} not in {synopsis}"))
    };
    for own in ["\\-\\-name", "\\-\\-expires\\-in", "\\-\\-no\\-store"] {
        for global in ["\\-\\-profile", "\\-\\-output", "\\-\\-insecure\\-http"] {
            assert!(at(own) < at(global), "{own} after {global}: {synopsis}");
        }
    }
    // Every documented exit code of --help is in the man page, and the other way round.
    let help = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for code in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "130"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code}  "))),
            "exit code {code} missing from --help"
        );
        assert!(
            main.contains(&format!("\\fB{code}\\fR")),
            "exit code {code} missing from the man page"
        );
    }
}

/// Completes `words` (the last being the word under the cursor) in a real bash with the
/// committed completions/keyward.bash loaded, as a user's TAB would; returns the candidates.
fn bash_complete(env: &crate::harness::TestEnv, words: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(BIN).parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_keyward keyward '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        root.join("completions/keyward.bash").display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(env.vars())
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), env.vars()["PATH"]),
        )
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Options are offered beside values; the tests look at the values.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_the_stores_own_key_names() {
    let env = crate::harness::TestEnv::new();
    // Before any store exists, completing a key creates none.
    assert!(bash_complete(&env, &["keyward", "keys", "show", ""]).is_empty());
    assert!(!env.data_dir().join("local.db").exists());

    let mut subcommands = bash_complete(&env, &["keyward", "keys", "r"]);
    subcommands.sort();
    assert_eq!(subcommands, vec!["revoke", "rotate"]);
    assert_eq!(
        bash_complete(&env, &["keyward", "keys", "re"]),
        vec!["revoke"]
    );
    // The hidden generator is not among the commands offered.
    let commands = bash_complete(&env, &["keyward", ""]);
    assert!(commands.contains(&"keys".to_owned()), "{commands:?}");
    assert!(!commands.contains(&"generate".to_owned()), "{commands:?}");

    env.ok(&["keys", "create", "--name", "alpha", "-q"]);
    env.ok(&["keys", "create", "--name", "beta", "-q"]);
    env.ok(&["keys", "create", "--name", "gone", "-q"]);
    env.ok(&["keys", "revoke", "gone", "--yes"]);
    let mut names = bash_complete(&env, &["keyward", "keys", "show", ""]);
    names.sort();
    assert_eq!(names, vec!["alpha", "beta"], "live keys only");
    assert_eq!(
        bash_complete(&env, &["keyward", "keys", "revoke", "al"]),
        vec!["alpha"]
    );
    // --env completes environments, never file names.
    assert_eq!(
        bash_complete(&env, &["keyward", "keys", "create", "--env", ""]),
        vec!["default"]
    );
}

#[test]
fn completion_prints_the_committed_scripts_and_version_prints_the_version() {
    let env = crate::harness::TestEnv::new();
    for (shell, file) in [
        ("bash", "keyward.bash"),
        ("zsh", "_keyward"),
        ("fish", "keyward.fish"),
        ("powershell", "keyward.ps1"),
        ("elvish", "keyward.elv"),
    ] {
        let printed = env.ok(&["completion", shell]);
        let committed =
            std::fs::read_to_string(format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        assert_eq!(printed, committed, "keyward completion {shell}");
    }
    let err = env.fails(&["completion", "tcsh"], 2);
    assert!(err.contains("bash"), "{err}");
    assert_eq!(
        env.ok(&["version"]),
        format!("keyward {}\n", env!("CARGO_PKG_VERSION"))
    );
    // Nothing was created: neither prints from a store.
    assert!(!env.data_dir().exists() && !env.config_dir().exists());
}
