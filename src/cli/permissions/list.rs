//! `keyward permissions list`.

use crate::cli::Ctx;
use crate::output;

pub async fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let perms = ctx.client().await?.permissions().await?;
    if ctx.json() {
        return output::print_json_items(&perms);
    }
    if ctx.quiet() {
        for p in &perms {
            output::print_line(&p.name)?;
        }
        return Ok(());
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let rows = perms
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.description.clone(),
                yes_no(p.public_safe),
                yes_no(p.builtin),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["NAME", "DESCRIPTION", "PUBLIC-SAFE", "BUILT-IN"],
        rows,
    ))
}
