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
}
