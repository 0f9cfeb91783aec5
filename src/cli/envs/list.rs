//! `keyward envs list`.

use crate::cli::Ctx;
use crate::output;

pub async fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let envs = ctx.client().await?.environments().await?;
    if ctx.json() {
        return output::print_json_items(&envs);
    }
    if ctx.quiet() {
        for e in &envs {
            output::print_line(&e.name)?;
        }
        return Ok(());
    }
    let rows = envs
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.description.clone(),
                output::day(e.created_at),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["NAME", "DESCRIPTION", "CREATED"],
        rows,
    ))
}
