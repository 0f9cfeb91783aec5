//! `keyward generate completions SHELL | man DIR` (hidden). Their output is committed in
//! completions/ and man/, and a test keeps it fresh.

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Print the completion script for SHELL on stdout
    Completions { shell: Shell },
    /// Write man pages (keyward.1, keyward-keys-create.1, …) into DIR
    Man { dir: PathBuf },
}

pub fn run(cmd: GenerateCommand) -> anyhow::Result<()> {
    match cmd {
        GenerateCommand::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            completions(shell, &mut out);
            Ok(())
        }
        GenerateCommand::Man { dir } => {
            for (name, page) in man_pages()? {
                let path = dir.join(&name);
                std::fs::write(&path, page)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(())
        }
    }
}

pub fn completions(shell: Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "keyward", out);
}

/// Every man page as `(file name, contents)`: one for keyward and one per visible subcommand.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, "keyward", &mut pages)?;
    Ok(pages)
}

fn collect(
    cmd: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_owned()))
        .render(&mut buf)
        .context("cannot render a man page")?;
    pages.push((format!("{name}.1"), buf));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}
