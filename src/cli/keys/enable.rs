//! `keyward keys enable`: brings back a disabled or expired key. Several keys, or the list
//! filters, enable in bulk.

use clap::Args;

use super::bulk::{self, Change, Plan, Selection};
use super::expiry::ExpiryArgs;
use super::resolve;
use crate::api::EnableKey;
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys enable ci-deploy --expires-in 90d
  keyward keys enable --status disabled --env staging --dry-run
  keyward keys enable old-1 old-2 --yes

An expired key enabled without a new expiry gets the longest allowed (365 days). In bulk,
disabled and expired keys are enabled (a new expiry, if given, applies to each); active ones
are left as they are (`keyward keys edit --expires-in` changes an active key's expiry), and
revoked ones are left out (and counted). On a terminal keyward shows the keys and asks once;
without one, --yes is required. Each key's outcome is reported; a name that matches no key is
one failed outcome and the others go on. A key changed since the preview (or since it was
read) is left as it is and reported. The exit code is 9 when any failed or changed.")]
pub struct EnableArgs {
    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub expiry: ExpiryArgs,
}

pub async fn run(ctx: &Ctx, args: EnableArgs) -> anyhow::Result<()> {
    let expires_at = args.expiry.resolve()?;
    let request = EnableKey {
        expires_at: expires_at.at,
        expires_in_seconds: expires_at.in_seconds,
    };
    let client = ctx.client().await?;
    if args.selection.is_bulk() {
        let plan = Plan {
            change: Change::Enable,
            enable: request,
            force: false,
            after: |_: &crate::api::Key| {},
        };
        return bulk::run(ctx, client, plan, args.selection).await;
    }
    let id = resolve(ctx, client, args.selection.keys.into_iter().next()).await?;
    crate::cli::note_in_flight("the enable", "`keyward keys show KEY` tells");
    let key = client.enable_key(&id, &request, None).await?;
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
