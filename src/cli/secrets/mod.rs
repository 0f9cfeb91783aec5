//! `keyward secrets …`: secrets this machine keeps in the OS keyring.

use clap::{Args, Subcommand};

use super::Ctx;
use crate::client::ClientError;
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::Index;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a stored secret on stdout
    Get(KeyArg),
    /// List the secrets stored on this machine (never their values)
    #[command(visible_alias = "ls")]
    List,
    /// Remove a stored secret from the keyring (the key itself is untouched)
    Delete(KeyArg),
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// The key's id or name
    pub key: String,
}

pub async fn run(ctx: &Ctx, cmd: SecretsCommand) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::Get(a) => get(ctx, &a.key),
        SecretsCommand::List => list(ctx),
        SecretsCommand::Delete(a) => delete(ctx, &a.key),
    }
}

/// The keyring profile: the local store's own, or the profile in effect for a server.
fn profile(ctx: &Ctx) -> String {
    if ctx.server_url().is_some() {
        ctx.profile.clone()
    } else {
        "local".to_owned()
    }
}

fn not_stored(key: &str, profile: &str) -> anyhow::Error {
    ClientError::Api {
        status: 404,
        code: "not_found".to_owned(),
        detail: format!("no secret for {key:?} is stored on this machine (profile {profile:?})"),
    }
    .into()
}

fn get(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let index = Index::load()?;
    let id = index
        .find(&profile, key)
        .map(|s| s.key_id.clone())
        .unwrap_or_else(|| key.to_owned());
    let ring = Keyring::open()?;
    match ring.get(&keyring::secret_user(&profile, &id))? {
        Some(secret) => output::print_line(&secret),
        None => Err(not_stored(key, &profile)),
    }
}

fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let index = Index::load()?;
    if ctx.json() {
        return output::print_json(&index.secrets);
    }
    if ctx.quiet() {
        for s in &index.secrets {
            output::print_line(&s.key_id)?;
        }
        return Ok(());
    }
    if index.secrets.is_empty() {
        ctx.say("No secrets stored on this machine.");
        return Ok(());
    }
    let rows = index
        .secrets
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.key_id.clone(),
                s.profile.clone(),
                s.origin.clone(),
                output::day(s.stored_at),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["NAME", "ID", "PROFILE", "FROM", "STORED"],
        rows,
    ))
}

fn delete(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let mut index = Index::load()?;
    let id = index
        .find(&profile, key)
        .map(|s| s.key_id.clone())
        .unwrap_or_else(|| key.to_owned());
    let ring = Keyring::open()?;
    let existed = ring.delete(&keyring::secret_user(&profile, &id))?;
    let indexed = index.find(&profile, &id).is_some();
    if !existed && !indexed {
        return Err(not_stored(key, &profile));
    }
    index.remove(&profile, &id);
    index.save()?;
    ctx.say(&format!(
        "Deleted the stored secret of {id} from this machine's keyring."
    ));
    Ok(())
}
