//! `keyward permissions …`.

mod list;

use clap::Subcommand;

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// The catalog: built-in permissions and the product's own
    #[command(visible_alias = "ls")]
    List,
}

pub async fn run(ctx: &Ctx, cmd: PermissionsCommand) -> anyhow::Result<()> {
    match cmd {
        PermissionsCommand::List => list::run(ctx).await,
    }
}
