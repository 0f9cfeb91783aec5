//! `keyward envs delete`.

use clap::Args;

use crate::cli::{Ctx, prompt};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Refused (exit 5) while a key that is not revoked lives only in the environment: revoke it, or
give it another environment first (`keyward keys list --env NAME` lists them). Keys that also
live elsewhere leave it, each recorded in the audit log as a key.edit; revoked keys keep it as a
name. Creating the environment again brings the name back. On a terminal keyward asks first
(--yes skips). Super admins only.")]
pub struct DeleteArgs {
    /// The environment's name
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub name: String,
}

pub async fn run(ctx: &Ctx, args: DeleteArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    if !ctx.global.yes && ctx.can_prompt() {
        let question = format!(
            "Delete environment {} {}? Keys that also live elsewhere leave it",
            args.name,
            client.target().describe()
        );
        if !prompt::confirm(&question, false)? {
            ctx.say("Nothing deleted.");
            return Ok(());
        }
    }
    let deleted = client.delete_environment(&args.name).await?;
    if ctx.json() {
        output::print_json(&deleted)?;
    } else if ctx.quiet() {
        output::print_line(&deleted.name)?;
    }
    let moved = match deleted.moved_keys.len() {
        0 => String::new(),
        1 => "; 1 key that also lived elsewhere left it".to_owned(),
        n => format!("; {n} keys that also lived elsewhere left it"),
    };
    ctx.say(&format!(
        "Deleted environment {} {}{moved}.",
        deleted.name,
        client.target().describe()
    ));
    Ok(())
}
