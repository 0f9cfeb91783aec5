//! `keyward keys disable`: reversible; the key and its tokens stop at once. Asks first on a
//! terminal. Several keys, or the list filters, disable in bulk.

use clap::Args;

use super::bulk::{self, Change, Selection};
use super::resolve;
use crate::cli::{Ctx, prompt};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys disable ci-deploy
  keyward keys disable --unused-for 90d --env staging --dry-run

A disabled key, and every token it issued, stops working at once; `keyward keys enable` brings
it back. On a terminal keyward asks first (--yes skips). In bulk, without a terminal, --yes is
required; each key's outcome is reported, and the exit code is 9 when any failed.")]
pub struct DisableArgs {
    /// Keys by id or name (a key is picked from a list on a terminal when none is given)
    #[command(flatten)]
    pub selection: Selection,
}

pub async fn run(ctx: &Ctx, args: DisableArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    if args.selection.is_bulk() {
        return bulk::run(ctx, client, Change::Disable, args.selection, |_| {}).await;
    }
    let id = resolve(ctx, client, args.selection.keys.into_iter().next()).await?;
    // Disabling breaks whatever uses the key, at once: on a terminal, ask.
    if !ctx.global.yes && ctx.can_prompt() {
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
    let key = client.disable_key(&id).await?;
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
