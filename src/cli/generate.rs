//! `keyward generate completions SHELL | man DIR` (hidden). Their output is committed in
//! completions/ and man/, and a test keeps it fresh.

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Subcommand, ValueEnum};
use clap_complete::env::EnvCompleter;

use super::Cli;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Print the completion script for SHELL on stdout
    Completions { shell: Shell },
    /// Write man pages (keyward.1, keyward-keys-create.1, …) into DIR
    Man { dir: PathBuf },
    /// Print the API's OpenAPI 3.1 document (what GET /v1/openapi.json answers)
    Openapi,
}

pub fn run(cmd: GenerateCommand) -> anyhow::Result<()> {
    match cmd {
        GenerateCommand::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            completions(shell, &mut out)?;
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
        GenerateCommand::Openapi => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(crate::server::openapi_document().as_bytes())?;
            Ok(())
        }
    }
}

/// The shells keyward completes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        use clap_complete::env::{Bash, Elvish, Fish, Powershell, Zsh};
        match self {
            Shell::Bash => &Bash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Powershell => &Powershell,
            Shell::Elvish => &Elvish,
        }
    }
}

/// The shell's completion script. It asks `keyward` itself for candidates at each TAB (with
/// KEYWARD_COMPLETE set), so key names, environments and permissions come from the store in
/// effect, and the script never goes stale as commands change.
pub fn completions(shell: Shell, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    shell.completer().write_registration(
        crate::env_vars::KEYWARD_COMPLETE,
        "keyward",
        "keyward",
        "keyward",
        out,
    )
}

/// Every man page as `(file name, contents)`: one for keyward and one per visible subcommand.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, "keyward", &mut pages)?;
    Ok(pages)
}

/// What the main page says beyond the options: exit codes, environment, files.
const ROOT_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
success
.TP
\fB1\fR
error (also: interrupted while a change was on its way to the server; it may have been made, and the message says how to tell)
.TP
\fB2\fR
usage error or invalid input (a missing flag, a value the server refused, a config file keyward cannot take)
.TP
\fB3\fR
not authenticated or not allowed (also a login key that is disabled or expired)
.TP
\fB4\fR
not found
.TP
\fB5\fR
conflict (a name already taken, a stale edit, a revoked key)
.TP
\fB6\fR
server unreachable (a TLS failure is named as one), or it cannot reach its database now (503)
.TP
\fB7\fR
the key was created or rotated and its secret printed, but it was not stored in the OS keyring (\-\-store failed, or the keyring offer was cancelled or interrupted); copy it now
.TP
\fB8\fR
keys check: some keys need attention (they are listed); audit verify: the audit log does not verify (the first event that breaks it is named)
.TP
\fB9\fR
a bulk disable, enable or revoke failed for some keys, or some changed since they were previewed and were left alone (each key's outcome is listed), or it was interrupted after changing some
.TP
\fB10\fR
keys verify: the key is not valid for that use (the code printed says why)
.TP
\fB11\fR
the name typed back at a prompt did not match; nothing was done
.TP
\fB130\fR
cancelled at a prompt (Escape) or interrupted (Ctrl\-C); nothing was done
.SH ENVIRONMENT
.TP
\fBKEYWARD_URL\fR, \fBKEYWARD_PROFILE\fR, \fBKEYWARD_OUTPUT\fR, \fBKEYWARD_LOCAL\fR, \fBKEYWARD_CA_CERT\fR
the same as \-\-url, \-\-profile, \-\-output, \-\-local and \-\-ca\-cert
.TP
\fBKEYWARD_CLIENT_ID\fR, \fBKEYWARD_CLIENT_SECRET\fR
credentials for scripts and CI, instead of a login kept in the OS keyring; they go to whatever server \-\-url or KEYWARD_URL names, where a profile's kept login and token go only to the profile's own server (another is refused, exit 2); the access token they get is kept in the OS keyring for the next commands (bound to the server's origin, the client id and the secret; never in a file), so a CI job makes one token exchange
.TP
\fBKEYWARD_KEYRING\fR
which OS keyring to use: auto (default), secret\-service or keyutils
.TP
\fBKEYWARD_LOG\fR
log filter (EnvFilter syntax) for stderr, e.g. keyward=debug
.TP
\fBNO_COLOR\fR
no colour unless \-\-color always says otherwise
.TP
\fBCI\fR
when set, keyward never prompts: a missing value is a usage error naming its flag
.TP
\fBVISUAL\fR, \fBEDITOR\fR
the editor of keys edit without flags
.TP
\fBKEYWARD_DATABASE_URL\fR, \fBKEYWARD_PEPPER_FILE\fR, \fBKEYWARD_SERVER_CONFIG\fR, \fBKEYWARD_LISTEN\fR
keyward server's \-\-database, \-\-pepper\-file, \-\-config and \-\-listen
.SH FILES
.TP
\fI~/.config/keyward/config.toml\fR
profiles (server URL and client id, never a secret) and the profile in use; mode 0600
.TP
\fI~/.config/keyward/secrets.toml\fR
the index of secrets this machine keeps in the OS keyring (ids, names, which keyring); never a secret
.TP
\fI~/.config/keyward/catalog.toml\fR
the local store's permission catalog ([[permissions]])
.TP
\fI~/.local/share/keyward/local.db\fR, \fI~/.local/share/keyward/pepper\fR
the embedded local store and the pepper that keys its digests
"#;

fn collect(
    cmd: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    // The SYNOPSIS lists the command's own flags first, then the global ones (each keeps its
    // order; left alone, clap interleaves them by their positions in two different lists).
    let mut global = 10_000;
    let mut page = cmd.clone().name(name.to_owned()).mut_args(|arg| {
        if arg.is_global_set() {
            global += 1;
            arg.display_order(global)
        } else {
            arg
        }
    });
    // The main page's EXIT STATUS section lists the exit codes: not its EXTRA section again.
    if let Some(extra) = page
        .get_after_help()
        .map(|h| without_exit_codes(&h.to_string()))
    {
        page = page.after_help(extra);
    }
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .context("cannot render a man page")?;
    if name == "keyward" {
        buf.extend_from_slice(ROOT_SECTIONS.as_bytes());
    }
    pages.push((format!("{name}.1"), buf));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

/// `help` without its "Exit codes:" paragraph (up to the next blank line).
fn without_exit_codes(help: &str) -> String {
    let Some(start) = help.find("Exit codes:") else {
        return help.to_owned();
    };
    let end = help[start..]
        .find("\n\n")
        .map_or(help.len(), |n| start + n + 2);
    format!("{}{}", &help[..start], &help[end..])
}
