//! `keyward keys disable`: reversible; the key and its tokens stop at once. Asks first on a
//! terminal. Several keys, or the list filters, disable in bulk.

use clap::Args;

use super::bulk::{self, Change, Plan, Selection};
use super::resolve;
use crate::cli::{Ctx, prompt};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys disable ci-deploy
  keyward keys disable old-1 old-2 --yes
  keyward keys disable --unused-for 90d --env staging --dry-run

A disabled key, and every token it issued, stops working at once; `keyward keys enable` brings
it back. On a terminal keyward asks first (--yes skips). In bulk, without a terminal, --yes is
required. Revoked keys are left out (and counted). Each key's outcome is reported (disabled,
already disabled, changed, failed); a name that matches no key is one failed outcome and the
others go on. A key changed since the preview (or since it was read) is left as it is and
reported. The exit code is 9 when any failed or changed.

The key this command is logged in with is disabled only when its name is typed back on a
terminal, or with --force (needed without a terminal; --yes is not enough).")]
pub struct DisableArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// Also act on the key this command is logged in with, without asking for its name (and
    /// skip the other questions, as --yes does)
    #[arg(long)]
    pub force: bool,
}

pub async fn run(ctx: &Ctx, args: DisableArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let force = args.force;
    if args.selection.is_bulk() {
        let plan = Plan {
            change: Change::Disable,
            enable: Default::default(),
            force,
            after: |_: &crate::api::Key| {},
        };
        return bulk::run(ctx, client, plan, args.selection).await;
    }
    let id = resolve(ctx, client, args.selection.keys.into_iter().next()).await?;
    // The key this command is logged in with: its name typed back, or --force.
    if bulk::own_key_id(client).await?.as_deref() == Some(id.as_str()) && !force {
        let key = client.get_key(&id).await?;
        if !Change::Disable.already(&key) {
            if !ctx.can_prompt() {
                return Err(bulk::own_key_refusal(Change::Disable, &key).into());
            }
            bulk::confirm_own_key(client, Change::Disable, &key)?;
        }
    } else if !ctx.global.yes && !force && ctx.can_prompt() {
        // Disabling breaks whatever uses the key, at once: on a terminal, ask.
        let key = client.get_key(&id).await?;
        let question = format!(
            "Disable {} ({}) {}? It and its tokens stop working at once",
            key.name,
            key.id,
            client.target().describe()
        );
        if !prompt::confirm(&question, false)? {
            ctx.say("Nothing disabled.");
            return Ok(());
        }
    }
    crate::cli::note_in_flight("the disable", "`keyward keys show KEY` tells");
    let key = client.disable_key(&id, None).await?;
    if ctx.json() {
        output::print_json(&key)?;
    } else if ctx.quiet() {
        output::print_line(&key.id)?;
    }
    ctx.say(&format!(
        "Key {} ({}) disabled {}; `keyward keys enable {}` brings it back.",
        key.name,
        key.id,
        client.target().describe(),
        key.name
    ));
    Ok(())
}
