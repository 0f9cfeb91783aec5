//! `keyward keys revoke`: final and immediate; asks first on a terminal, needs --yes elsewhere.

use clap::Args;

use super::resolve;
use crate::api::KeyStatus;
use crate::cli::{Ctx, UsageError, prompt};
use crate::output;

#[derive(Debug, Args)]
#[command(
    after_help = "Revoking cannot be undone: the key and every token it issued stop working at once.
Without a terminal, --yes is required."
)]
pub struct RevokeArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    pub key: Option<String>,
}

pub async fn run(ctx: &Ctx, args: RevokeArgs) -> anyhow::Result<()> {
    if !ctx.global.yes && !ctx.can_prompt() {
        return Err(UsageError(
            "refusing to revoke without --yes: revoking cannot be undone, and there is no terminal to ask on"
                .to_owned(),
        )
        .into());
    }
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    let key = client.get_key(&id).await?;
    if key.status != KeyStatus::Revoked && !ctx.global.yes {
        let question = format!(
            "Revoke {} ({}) {}? This cannot be undone",
            key.name,
            key.id,
            client.target().describe()
        );
        if !prompt::confirm(&question, false)? {
            ctx.say("Nothing revoked.");
            return Ok(());
        }
    }
    let already = key.status == KeyStatus::Revoked;
    let key = client.revoke_key(&id).await?;
    if ctx.json() {
        output::print_json(&key)?;
    } else if ctx.quiet() {
        output::print_line(&key.id)?;
    }
    // A revoked key's secret is of no use any more; keeping it would only let a reused name
    // hand it out again.
    let profile = super::reveal::keyring_profile(ctx, client.target());
    match crate::cli::secrets::forget(&profile, &key.id) {
        Ok(true) => ctx.say("Removed its secret from this machine's OS keyring."),
        Ok(false) => {}
        Err(e) => ctx.warn(&format!(
            "the key is revoked, but its stored secret could not be removed from this machine's keyring: {e:#}; `keyward secrets delete {}` tries again",
            key.id
        )),
    }
    let verb = if already {
        "was already revoked"
    } else {
        "revoked"
    };
    ctx.say(&format!(
        "Key {} ({}) {verb} {}.",
        key.name,
        key.id,
        client.target().describe()
    ));
    Ok(())
}
