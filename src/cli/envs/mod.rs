//! `keyward envs …`.

mod create;
mod delete;
mod list;

use clap::Subcommand;

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// The environments you reach, with their keys by state
    #[command(visible_alias = "ls")]
    List,
    /// Create an environment (super admins)
    Create(create::CreateArgs),
    /// Delete an environment no live key depends on (super admins)
    Delete(delete::DeleteArgs),
}

pub async fn run(ctx: &Ctx, cmd: EnvsCommand) -> anyhow::Result<()> {
    match cmd {
        EnvsCommand::List => list::run(ctx).await,
        EnvsCommand::Create(args) => create::run(ctx, args).await,
        EnvsCommand::Delete(args) => delete::run(ctx, args).await,
    }
}
