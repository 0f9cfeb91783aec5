//! `keyward keys disable`: reversible; the key and its tokens stop at once.

use clap::Args;

use super::resolve;
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    pub key: Option<String>,
}

pub async fn run(ctx: &Ctx, args: DisableArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
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
