//! `keyward envs …`.

mod create;
mod list;

use clap::Subcommand;

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// The environments you reach
    #[command(visible_alias = "ls")]
    List,
    /// Create an environment (super admins)
    Create(create::CreateArgs),
}

pub async fn run(ctx: &Ctx, cmd: EnvsCommand) -> anyhow::Result<()> {
    match cmd {
        EnvsCommand::List => list::run(ctx).await,
        EnvsCommand::Create(args) => create::run(ctx, args).await,
    }
}
