//! `keyward keys revoke`: final and immediate; asks first on a terminal, needs --yes elsewhere.
//! Several keys, or the list filters, revoke in bulk.

use clap::Args;

use super::bulk::{self, Change, Plan, Selection};
use super::resolve;
use crate::api::{Key, KeyStatus};
use crate::cli::{Ctx, UsageError, prompt};
use crate::client::Target;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys revoke ci-deploy
  keyward keys revoke old-1 old-2 old-3 --yes
  keyward keys revoke --unused-for 90d --env staging --dry-run
  keyward keys revoke --status expired --yes --output json

Revoking cannot be undone: the key and every token it issued stop working at once, and this
machine's stored secret of it is removed from the keyring. Without a terminal, --yes is
required. In bulk, keys revoked already are left out (and counted), and each key's outcome is
reported; one failure does not stop the rest, and a name that matches no key is one failed
outcome. A key changed since the preview (or since it was read) is left as it is and
reported. The exit code is 9 when any failed or changed.

The key this command is logged in with is revoked only when its name is typed back on a
terminal, or with --force (needed without a terminal; --yes is not enough).

Also as `keyward keys delete` and `keyward keys rm`.")]
pub struct RevokeArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// Also act on the key this command is logged in with, without asking for its name (and
    /// skip the other questions, as --yes does)
    #[arg(long)]
    pub force: bool,
}

pub async fn run(ctx: &Ctx, args: RevokeArgs) -> anyhow::Result<()> {
    let force = args.force;
    if args.selection.is_bulk() {
        let client = ctx.client().await?;
        let profile = super::reveal::keyring_profile(ctx, client.target());
        let plan = Plan {
            change: Change::Revoke,
            enable: Default::default(),
            force,
            after: |key: &Key| forget_secret(ctx, &profile, key),
        };
        return bulk::run(ctx, client, plan, args.selection).await;
    }
    if !ctx.global.yes && !force && !ctx.can_prompt() {
        return Err(UsageError(
            "refusing to revoke without --yes (--force for the key this command is logged in with): revoking cannot be undone, and there is no terminal to ask on"
                .to_owned(),
        )
        .into());
    }
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.selection.keys.into_iter().next()).await?;
    let key = client.get_key(&id).await?;
    let own = bulk::own_key_id(client).await?.as_deref() == Some(key.id.as_str());
    if own && key.status != KeyStatus::Revoked && !force {
        // The key this command is logged in with: its name typed back even with --yes.
        if !ctx.can_prompt() {
            return Err(bulk::own_key_refusal(Change::Revoke, &key).into());
        }
        bulk::confirm_own_key(client, Change::Revoke, &key)?;
    } else if key.status != KeyStatus::Revoked && !ctx.global.yes && !force {
        // The name typed back, as GitHub asks before deleting a repository: a y pressed by
        // habit cannot revoke the wrong key.
        eprintln!(
            "Revoking {} ({}) {} cannot be undone.",
            output::printable(&key.name),
            key.id,
            client.target().describe()
        );
        prompt::type_back("Type the key's name to revoke it", &key.name, "revoked")?;
    }
    let already = key.status == KeyStatus::Revoked;
    crate::cli::note_in_flight("the revoke", "`keyward keys show KEY` tells");
    let key = client.revoke_key(&id, None).await?;
    if ctx.json() {
        output::print_json(&key)?;
    } else if ctx.quiet() {
        output::print_line(&key.id)?;
    }
    forget_secret(ctx, &profile_of(ctx, client.target()), &key);
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

fn profile_of(ctx: &Ctx, target: &Target) -> String {
    super::reveal::keyring_profile(ctx, target)
}

/// A revoked key's secret is of no use any more; keeping it would only let a reused name hand
/// it out again.
fn forget_secret(ctx: &Ctx, profile: &str, key: &Key) {
    match crate::cli::secrets::forget(profile, &key.id) {
        Ok(true) => ctx.say(&format!(
            "Removed the secret of {} from this machine's OS keyring.",
            key.name
        )),
        Ok(false) => {}
        Err(e) => ctx.warn(&format!(
            "{} is revoked, but its stored secret could not be removed from this machine's keyring: {e:#}; `keyward secrets delete {}` tries again",
            key.name, key.id
        )),
    }
}
