//! `keyward keys enable`: brings back a disabled or expired key.

use clap::Args;

use super::resolve;
use crate::api::EnableKey;
use crate::cli::Ctx;
use crate::cli::time::{parse_date, parse_duration_from_now};
use crate::output;

#[derive(Debug, Args)]
#[command(
    after_help = "An expired key enabled without a new expiry gets the longest allowed (365 days)."
)]
pub struct EnableArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    pub key: Option<String>,

    /// A new expiry, this long from now (at most 365 days)
    #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
    pub expires_in: Option<String>,

    /// A new expiry at this date or time
    #[arg(long, value_name = "DATE")]
    pub expires_at: Option<String>,
}

pub async fn run(ctx: &Ctx, args: EnableArgs) -> anyhow::Result<()> {
    let expires_at = match (&args.expires_in, &args.expires_at) {
        (Some(d), _) => Some(parse_duration_from_now(d, "--expires-in")?),
        (None, Some(d)) => Some(parse_date(d, "--expires-at")?),
        (None, None) => None,
    };
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    let key = client.enable_key(&id, &EnableKey { expires_at }).await?;
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
