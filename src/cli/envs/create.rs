//! `keyward envs create`.

use clap::Args;

use crate::api::CreateEnvironment;
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Lowercase letters, digits, '_' or '-', e.g. production
    pub name: String,
    /// What the environment is for
    #[arg(long, default_value = "")]
    pub description: String,
}

pub async fn run(ctx: &Ctx, args: CreateArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let env = client
        .create_environment(&CreateEnvironment {
            name: args.name,
            description: args.description,
        })
        .await?;
    if ctx.json() {
        output::print_json(&env)?;
    } else if ctx.quiet() {
        output::print_line(&env.name)?;
    }
    ctx.say(&format!(
        "Created environment {} {}.",
        env.name,
        client.target().describe()
    ));
    Ok(())
}
