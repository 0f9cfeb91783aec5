//! `keyward keys rotate`: a new secret for the same key, shown once; the old one keeps working
//! for the grace period, so CI can swap secrets without an outage.

use anyhow::Context;
use clap::Args;

use super::expiry::ExpiryArgs;
use super::{SecretSource, resolve, reveal_secret};
use crate::api::{KeyWithSecret, RotateKey};
use crate::cli::ctx::env_secret;
use crate::cli::time::parse_seconds;
use crate::cli::{Ctx, prompt};
use crate::client::{Client, Target};
use crate::keyring::{self, Keyring};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys rotate ci-deploy --grace 1h -q --no-store    prints only the new secret
  keyward keys rotate ci-deploy                             the old secret stops at once

Without --grace the old secret stops at once; on a terminal keyward asks first (--yes skips).")]
pub struct RotateArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: Option<String>,

    /// How long the old secret keeps working, e.g. 30m, 1d (at most 7d)
    #[arg(long, value_name = "DURATION", default_value = "0")]
    pub grace: String,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    /// Store the new secret in the OS keyring without asking
    #[arg(long, conflicts_with = "no_store")]
    pub store: bool,

    /// Do not store the new secret and do not ask
    #[arg(long)]
    pub no_store: bool,
}

pub async fn run(ctx: &Ctx, args: RotateArgs) -> anyhow::Result<()> {
    let grace_seconds = parse_seconds(&args.grace, "--grace")?;
    let expires_at = args.expiry.resolve()?;
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    // Without grace the old secret dies now, and with it whatever still uses it: on a
    // terminal, ask.
    if grace_seconds == 0 && !ctx.global.yes && ctx.can_prompt() {
        let key = client.get_key(&id).await?;
        let question = format!(
            "Rotate {} ({}) {} with no grace? Whatever uses the old secret stops at once",
            key.name,
            key.id,
            client.target().describe()
        );
        if !prompt::confirm(&question, false)? {
            ctx.say("Nothing rotated; --grace 1h keeps the old secret working for an hour.");
            return Ok(());
        }
    }
    crate::cli::note_in_flight(
        "the rotation",
        "`keyward keys show KEY` tells (a new version and hint); if it was, rotate again to see a secret",
    );
    let rotated = client
        .rotate_key(
            &id,
            &RotateKey {
                grace_seconds,
                expires_at: expires_at.at,
                expires_in_seconds: expires_at.in_seconds,
            },
        )
        .await?;
    let store = match (args.store, args.no_store) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    reveal_secret(
        ctx,
        client,
        &rotated,
        SecretSource::Generated,
        store,
        "rotated",
    )
    .await?;
    keep_login_working(ctx, client, &rotated)?;
    let old = if grace_seconds == 0 {
        "the old secret no longer works".to_owned()
    } else {
        format!("the old secret works for {} more", args.grace)
    };
    ctx.say(&format!(
        "Rotated key {} ({}) {}; {old}.",
        rotated.key.name,
        rotated.key.id,
        client.target().describe()
    ));
    Ok(())
}

/// Rotating the key this machine is logged in with would lock the login out once the old
/// secret dies: the login secret in the keyring moves to the new one.
fn keep_login_working(ctx: &Ctx, client: &Client, rotated: &KeyWithSecret) -> anyhow::Result<()> {
    let logged_in_as = ctx
        .config
        .profiles
        .get(&ctx.profile)
        .and_then(|p| p.client_id.as_deref());
    let from_keyring = env_secret().is_none() && matches!(client.target(), Target::Remote { .. });
    let (Some(secret), true, true) = (
        &rotated.secret,
        logged_in_as == Some(rotated.key.id.as_str()),
        from_keyring,
    ) else {
        return Ok(());
    };
    let ring = Keyring::open()?;
    ring.set(
        &keyring::secret_user(&ctx.profile, &rotated.key.id),
        secret.expose(),
    )
    .context("the key was rotated, but the login secret in the OS keyring could not be updated")?;
    // A cached token from the old secret dies with its grace; the next command gets a new one.
    let _ = ring.delete(&keyring::token_user(&ctx.profile, &rotated.key.id));
    ctx.say(&format!(
        "Profile {:?} logs in with this key: its login secret now is the new one.",
        ctx.profile
    ));
    Ok(())
}
