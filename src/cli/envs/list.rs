//! `keyward envs list`.

use crate::cli::Ctx;
use crate::output;

pub async fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let envs = ctx.client().await?.environments_with_counts().await?;
    if ctx.json() {
        return output::print_json_items(&envs);
    }
    if ctx.quiet() {
        for e in &envs {
            output::print_line(&e.name)?;
        }
        return Ok(());
    }
    // Counts come to callers that may read keys.
    if envs.iter().all(|e| e.keys.is_some()) && !envs.is_empty() {
        let rows = envs
            .iter()
            .map(|e| {
                let k = e.keys.unwrap_or_default();
                [
                    e.name.clone(),
                    k.active.to_string(),
                    k.disabled.to_string(),
                    k.expired.to_string(),
                    k.revoked.to_string(),
                    k.expiring_within_30_days.to_string(),
                    e.description.clone(),
                ]
            })
            .collect();
        return output::print_line(&output::simple_table(
            [
                "NAME",
                "ACTIVE",
                "DISABLED",
                "EXPIRED",
                "REVOKED",
                "EXPIRING ≤30D",
                "DESCRIPTION",
            ],
            rows,
        ));
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
