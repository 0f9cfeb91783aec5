//! `keyward permissions …`.

mod add;
pub(crate) mod catalog;
mod list;

use clap::Subcommand;

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// The catalog: built-in permissions and the product's own
    #[command(visible_alias = "ls")]
    List,
    /// Add a permission to the local store's catalog (a server's is in its config file)
    Add(add::AddArgs),
}

pub async fn run(ctx: &Ctx, cmd: PermissionsCommand) -> anyhow::Result<()> {
    match cmd {
        PermissionsCommand::List => list::run(ctx).await,
        PermissionsCommand::Add(args) => add::run(ctx, args).await,
    }
}
