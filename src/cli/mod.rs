//! The clap tree: one folder per command group, one file per leaf command.

mod audit;
pub(crate) mod complete;
mod ctx;
mod envs;
mod generate;
mod keys;
mod login;
mod logout;
mod permissions;
mod profiles;
mod prompt;
mod ready_check;
mod secrets;
mod server;
mod time;
mod token_cache;
mod whoami;

use clap::{Args, Parser, Subcommand};

pub use ctx::Ctx;

use crate::env_vars;
use crate::output::{ColorChoice, OutputFormat};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  error (also: interrupted while a change was on its way; it may have been made)
  2  usage error or invalid input (a missing flag, a value the server refused, a config
     file keyward cannot take)
  3  not authenticated or not allowed
  4  not found
  5  conflict (a name already taken, a stale edit, a revoked key)
  6  server unreachable, or it cannot reach its database now (try again)
  7  the key was created or rotated and its secret printed, but it was not stored in the OS
     keyring (--store failed, or the keyring offer was cancelled or interrupted); copy it now
  8  keys check: some keys need attention (they are listed); audit verify: the audit log
     does not verify (the first event that breaks it is named)
  9  a bulk disable, enable or revoke failed for some keys, or some changed since they were
     previewed and were left alone (each key's outcome is listed), or it was interrupted
     after changing some
  10  keys verify: the key is not valid for that use (the code printed says why)
  11  the name typed back at a prompt did not match; nothing was done
  130  cancelled at a prompt (Escape) or interrupted (Ctrl-C); nothing was done

With no profile or --url, keyward works on the embedded local store, a SQLite file in your data
directory. `keyward whoami` tells which store or server is in use.";

/// Manage API keys: generate, list, inspect and revoke them; each secret is shown once and can be
/// kept in the OS keyring.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, each backed by its `KEYWARD_*` variable. In a command's help they
/// come after its own options, one short line each (the variables are in the man page's
/// ENVIRONMENT section).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Profile in config.toml to use [env: KEYWARD_PROFILE]
    #[arg(long, global = true, env = env_vars::KEYWARD_PROFILE, value_name = "NAME", hide_env = true)]
    pub profile: Option<String>,

    /// Server URL (overrides the profile's) [env: KEYWARD_URL]
    #[arg(long, global = true, env = env_vars::KEYWARD_URL, value_name = "URL", hide_env = true)]
    pub url: Option<String>,

    /// Also trust the CA certificates in this PEM file [env: KEYWARD_CA_CERT]
    #[arg(long, global = true, env = env_vars::KEYWARD_CA_CERT, value_name = "FILE", hide_env = true)]
    pub ca_cert: Option<std::path::PathBuf>,

    /// Use the embedded local store, whatever the profile or URL [env: KEYWARD_LOCAL]
    #[arg(long, global = true, env = env_vars::KEYWARD_LOCAL, value_parser = clap::builder::FalseyValueParser::new(), hide_env = true)]
    pub local: bool,

    /// table for people, json for scripts, jsonl for one object per line [env: KEYWARD_OUTPUT]
    #[arg(long, global = true, env = env_vars::KEYWARD_OUTPUT, value_enum, default_value_t = OutputFormat::Table, hide_env = true, hide_possible_values = true, value_name = "table|json|jsonl", hide_default_value = true)]
    pub output: OutputFormat,

    /// JSON with only these fields (comma-separated, e.g. id,name,status); a new secret is
    /// always kept
    #[arg(long, global = true, value_name = "FIELDS", value_delimiter = ',')]
    pub json: Option<Vec<String>>,

    /// When to colour tables
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, hide_possible_values = true, value_name = "auto|always|never", hide_default_value = true)]
    pub color: ColorChoice,

    /// Answer yes to confirmations (needed for destructive commands without a terminal)
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// Print only the essential value: the secret after create, ids after list
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// More detail on stderr (-v info, -vv debug)
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Allow plain HTTP to a host that is not loopback (the secret would cross in clear)
    #[arg(long, global = true)]
    pub insecure_http: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a keyward server with a private key's id and secret
    Login(login::LoginArgs),
    /// Forget the profile's login: its secret and cached token leave the keyring
    Logout(logout::LogoutArgs),
    /// Show who you are and which store or server is in use
    Whoami(whoami::WhoamiArgs),
    /// Create, list, show, edit, disable, enable, rotate, revoke and check keys
    #[command(subcommand)]
    Keys(Box<keys::KeysCommand>),
    /// Secrets this machine keeps in the OS keyring
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Server profiles: list them, pick the one commands use, show it
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Environments keys belong to
    #[command(subcommand)]
    Envs(envs::EnvsCommand),
    /// The permissions keys may hold
    #[command(subcommand)]
    Permissions(permissions::PermissionsCommand),
    /// The audit log: who did what to which key, from where; export, follow, verify
    Audit(audit::AuditArgs),
    /// Run the Keyward API server
    Server(server::ServerArgs),
    /// Print the shell completion script for SHELL (docs/install.md says where it goes)
    #[command(after_help = "\
Examples:
  keyward completion bash > ~/.local/share/bash-completion/completions/keyward
  keyward completion zsh > ~/.zfunc/_keyward        # with fpath+=~/.zfunc before compinit
  keyward completion fish > ~/.config/fish/completions/keyward.fish

The script asks keyward for candidates as you type, so it completes your own key names,
environments and permissions, and never goes stale as keyward changes.")]
    Completion {
        #[arg(value_enum)]
        shell: generate::Shell,
    },
    /// Print keyward's version
    Version,
    /// Generate shell completions or man pages
    #[command(hide = true, subcommand)]
    Generate(generate::GenerateCommand),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The server and the generators never read profiles or credentials.
    match cli.command {
        Command::Server(args) => return server::run(args, &cli.global).await,
        Command::Generate(cmd) => return generate::run(cmd),
        Command::Completion { shell } => {
            return Ok(generate::completions(shell, &mut std::io::stdout().lock())?);
        }
        Command::Version => {
            return crate::output::print_line(concat!("keyward ", env!("CARGO_PKG_VERSION")));
        }
        _ => {}
    }
    if let Some(why) = crate::keyring::unknown_choice() {
        return Err(UsageError(why).into());
    }
    let ctx = Ctx::new(cli.global, matches!(cli.command, Command::Login(_)))?;
    match cli.command {
        Command::Login(args) => login::run(&ctx, args).await,
        Command::Logout(args) => logout::run(&ctx, args).await,
        Command::Whoami(args) => whoami::run(&ctx, args).await,
        Command::Keys(cmd) => keys::run(&ctx, *cmd).await,
        Command::Secrets(cmd) => secrets::run(&ctx, cmd).await,
        Command::Envs(cmd) => envs::run(&ctx, cmd).await,
        Command::Profiles(cmd) => profiles::run(&ctx, cmd).await,
        Command::Permissions(cmd) => permissions::run(&ctx, cmd).await,
        Command::Audit(args) => audit::run(&ctx, args).await,
        Command::Server(_)
        | Command::Generate(_)
        | Command::Completion { .. }
        | Command::Version => unreachable!("dispatched above"),
    }
}

/// A usage error of keyward's own (beyond what clap checks): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A failure the CLI finds itself (not an answer of the API), with its exit code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CliFailure {
    /// Exit 4: nothing by that id or name.
    #[error("{0}")]
    NotFound(String),
    /// Exit 5: the state of things forbids it.
    #[error("{0}")]
    Conflict(String),
    /// Exit 7: the change happened and its secret was printed, but `--store` could not keep it.
    #[error("{0}")]
    NotStored(String),
    /// Exit 8: `keys check` found keys that need attention, or `audit verify` a broken chain.
    #[error("{0}")]
    NeedsAttention(String),
    /// Exit 9: a bulk change failed for some keys (each key's outcome is listed).
    #[error("{0}")]
    PartlyFailed(String),
    /// Exit 10: `keys verify` got an answer, and it is not VALID (the code says why).
    #[error("{0}")]
    KeyNotValid(String),
    /// Exit 11: a name typed back at a prompt did not match; nothing was done.
    #[error("{0}")]
    NotConfirmed(String),
    /// Exit 1: interrupted while a change was on its way to the server, which may have made it.
    #[error("{0}")]
    MaybeDone(String),
    /// Exit 130: the user cancelled a prompt.
    #[error("cancelled; nothing was done")]
    Cancelled,
}

/// What an interrupt must report once something has been done that "interrupted; nothing was
/// done" (130) would deny: a key created, its secret printed.
static DONE: std::sync::Mutex<Option<CliFailure>> = std::sync::Mutex::new(None);

/// From now on, an interrupt (Ctrl-C while no prompt reads keys) reports `failure`, and exits
/// with its code, instead of 130. It stays so for the rest of the command, unless replaced or
/// cleared: a command that leaves by an error just after (the same Ctrl-C ending a prompt
/// early) must not race the interrupt handler into saying nothing was done.
pub fn note_done(failure: CliFailure) {
    *DONE.lock().unwrap_or_else(|p| p.into_inner()) = Some(failure);
}

/// From now on, an interrupt says that the change `what` (e.g. "the key being rotated") may have
/// been made, and how to find out, instead of "nothing was done" (130): the request is on its
/// way. Call it just before sending a change.
pub fn note_in_flight(what: &str, check: &str) {
    note_done(CliFailure::MaybeDone(format!(
        "interrupted while {what} was on its way to the server: it may have been made; {check}"
    )));
}

/// Forgets the note of [`note_done`] (what it said is no longer true).
pub fn clear_done() {
    *DONE.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// What an interrupt now must report, if anything (see [`note_done`]).
pub fn done_so_far() -> Option<anyhow::Error> {
    DONE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .map(anyhow::Error::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
