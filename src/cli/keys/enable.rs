//! `keyward keys enable`: brings back a disabled or expired key.

use clap::Args;

use super::expiry::ExpiryArgs;
use super::resolve;
use crate::api::EnableKey;
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
#[command(
    after_help = "An expired key enabled without a new expiry gets the longest allowed (365 days)."
)]
pub struct EnableArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: Option<String>,

    #[command(flatten)]
    pub expiry: ExpiryArgs,
}

pub async fn run(ctx: &Ctx, args: EnableArgs) -> anyhow::Result<()> {
    let expires_at = args.expiry.resolve()?;
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    let key = client
        .enable_key(
            &id,
            &EnableKey {
                expires_at: expires_at.at,
                expires_in_seconds: expires_at.in_seconds,
            },
        )
        .await?;
    if ctx.json() {
        output::print_json(&key)?;
    } else if ctx.quiet() {
        output::print_line(&key.id)?;
    }
    ctx.say(&format!(
        "Key {} ({}) enabled until {} {}.",
        key.name,
        key.id,
        output::day(key.expires_at),
        client.target().describe()
    ));
    Ok(())
}
