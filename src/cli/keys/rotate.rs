//! `keyward keys rotate`: a new secret for the same key, shown once; the old one keeps working
//! for the grace period, so CI can swap secrets without an outage.

use clap::Args;

use super::expiry::ExpiryArgs;
use super::{SecretSource, resolve, reveal_secret};
use crate::api::RotateKey;
use crate::cli::Ctx;
use crate::cli::time::parse_seconds;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys rotate ci-deploy --grace 1h -q --no-store    prints only the new secret
  keyward keys rotate ci-deploy                             the old secret stops at once")]
pub struct RotateArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    pub key: Option<String>,

    /// How long the old secret keeps working, e.g. 30m, 1d (default 0; at most 7d)
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
    let rotated = client
        .rotate_key(
            &id,
            &RotateKey {
                grace_seconds,
                expires_at,
            },
        )
        .await?;
    let store = match (args.store, args.no_store) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    reveal_secret(ctx, client, &rotated, SecretSource::Generated, store).await?;
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
