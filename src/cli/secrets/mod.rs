//! `keyward secrets …`: secrets this machine keeps in the OS keyring.

mod delete;
mod get;
mod list;

use clap::{Args, Subcommand};

use super::{CliFailure, Ctx};
use crate::keyring;
use crate::stored::Index;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a stored secret on stdout
    Get(KeyArg),
    /// List the keys' and login secrets this machine keeps (never their values)
    #[command(visible_alias = "ls")]
    List,
    /// Remove a stored secret from the keyring (the key itself is untouched)
    Delete(KeyArg),
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// The key's id or name
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: String,
}

pub async fn run(ctx: &Ctx, cmd: SecretsCommand) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::Get(a) => get::run(ctx, &a.key),
        SecretsCommand::List => list::run(ctx),
        SecretsCommand::Delete(a) => delete::run(ctx, &a.key),
    }
}

/// The keyring profile: the local store's own, or the profile in effect for a server.
pub(super) fn profile(ctx: &Ctx) -> String {
    if ctx.server_url().is_some() {
        ctx.profile.clone()
    } else {
        "local".to_owned()
    }
}

/// Removes this machine's stored secret of `key_id` under `profile` from the keyring and the
/// index; returns whether there was one. The keyring is not opened when nothing is indexed.
pub(crate) fn forget(profile: &str, key_id: &str) -> anyhow::Result<bool> {
    let (mut index, _lock) = Index::load_for_update()?;
    let Some(stored) = index.find(profile, key_id) else {
        return Ok(false);
    };
    stored
        .keyring()?
        .delete(&keyring::secret_user(profile, key_id))?;
    index.remove(profile, key_id);
    index.save()?;
    Ok(true)
}

pub(super) fn not_stored(key: &str, profile: &str) -> anyhow::Error {
    CliFailure::NotFound(format!(
        "no secret for {key:?} is stored on this machine (profile {profile:?})"
    ))
    .into()
}
