//! `keyward keys show`.

use clap::Args;

use super::resolve;
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "Also as `keyward keys get` and `keyward keys view`.")]
pub struct ShowArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: Option<String>,
}

pub async fn run(ctx: &Ctx, args: ShowArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    let key = client.get_key(&id).await?;
    if ctx.json() {
        output::print_json(&key)
    } else if ctx.quiet() {
        output::print_line(&key.id)
    } else {
        output::print_line(&output::key_details(&key))
    }
}
