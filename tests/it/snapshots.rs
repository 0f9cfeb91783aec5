//! What people read, snapshotted (insta): the help of every command, and the key tables at 80
//! and 160 columns, with ids, hints and times filtered. A change to any of them shows up as a
//! reviewable diff (`cargo insta review`, or INSTA_UPDATE=always then read `git diff`).

use clap::CommandFactory;
use keyward::cli::Cli;

use crate::harness::TestEnv;

/// Every command's path, the root first: `keyward`, `keyward keys`, `keyward keys create`, ...
fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        command_paths(sub, &path, out);
    }
}

#[test]
fn the_help_of_every_command() {
    let mut root = Cli::command().term_width(100);
    root.build();
    let mut paths = Vec::new();
    command_paths(&root, &[], &mut paths);
    assert!(
        paths.len() >= 30,
        "every command is covered: {}",
        paths.len()
    );
    for path in paths {
        let mut cmd = &mut root;
        for name in &path {
            cmd = cmd.find_subcommand_mut(name).unwrap();
        }
        let help = cmd.render_long_help().to_string();
        let name = if path.is_empty() {
            "help-keyward".to_owned()
        } else {
            format!("help-keyward-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, help);
    }
}

/// Replaces what changes from run to run (ids, hints, times, paths) with placeholders.
fn stable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                if w.starts_with("key_") && w.len() == 20 {
                    "key_[ID]".to_owned()
                } else if let Some(i) = w.find('…') {
                    format!("{}…[HINT]", &w[..i])
                } else if w.len() == 10 && w.as_bytes()[4] == b'-' && w.as_bytes()[7] == b'-' {
                    "[DATE]".to_owned()
                } else if w.len() == 5 && w.as_bytes()[2] == b':' {
                    "[TIME]".to_owned()
                } else if w.starts_with("/tmp/") || w.starts_with("local:") {
                    "[WHERE]".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn key_tables_at_80_and_160_columns() {
    let mut env = TestEnv::new();
    env.ok(&["permissions", "add", "orders:read", "--public-safe"]);
    env.ok(&[
        "keys",
        "create",
        "--name",
        "ci-deploy",
        "--description",
        "Deploys the shop from CI; rotated every quarter by the release pipeline",
        "--permission",
        "orders:read",
        "--allow-ip",
        "203.0.113.0/24",
        "--expires-in",
        "90d",
        "-q",
    ]);
    env.ok(&["keys", "create", "--name", "web", "--type", "public", "-q"]);
    env.ok(&["keys", "create", "--name", "old", "-q"]);
    env.ok(&["keys", "revoke", "old", "--yes"]);
    for columns in ["80", "160"] {
        env.set("COLUMNS", columns);
        let list = env.ok(&["keys", "list", "--all-statuses"]);
        insta::assert_snapshot!(format!("keys-list-{columns}"), stable(&list));
        let show = env.ok(&["keys", "show", "ci-deploy"]);
        insta::assert_snapshot!(format!("keys-show-{columns}"), stable(&show));
    }
}
