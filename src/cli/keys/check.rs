//! `keyward keys check`: the keys that need attention, for CI: it exits 8 when there are any.

use std::collections::BTreeMap;

use clap::Args;

use crate::api::{Key, ListKeys, Page};
use crate::cli::time::parse_positive_seconds;
use crate::cli::{CliFailure, Ctx};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys check
      Keys that will expire within 30 days.
  keyward keys check --expiring-within 14d --unused-for 90d --env production

Exits 0 when no key needs attention, and 8 when some do (they are listed). Revoked keys never
need attention.")]
pub struct CheckArgs {
    /// Keys that will expire within this long need attention
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub expiring_within: String,

    /// Keys older than this and not used for this long need attention too, e.g. 90d
    #[arg(long, value_name = "DURATION")]
    pub unused_for: Option<String>,

    /// Only keys in this environment
    #[arg(long = "env", value_name = "ENV", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub environment: Option<String>,
}

pub async fn run(ctx: &Ctx, args: CheckArgs) -> anyhow::Result<()> {
    let expiring = parse_positive_seconds(&args.expiring_within, "--expiring-within")?;
    let unused = args
        .unused_for
        .as_deref()
        .map(|d| parse_positive_seconds(d, "--unused-for"))
        .transpose()?;
    let client = ctx.client().await?;
    let base = ListKeys {
        environment: args.environment.clone(),
        sort: Some("expires_at".to_owned()),
        ..ListKeys::default()
    };
    // Why each key needs attention, by id, in the order found.
    let mut found: BTreeMap<String, (Key, Vec<String>)> = BTreeMap::new();
    let expiring_keys = client
        .list_all_keys(&ListKeys {
            expiring_within_seconds: Some(expiring),
            ..base.clone()
        })
        .await?;
    for key in expiring_keys {
        let reason = format!("expires {}", output::day(key.expires_at));
        found
            .entry(key.id.clone())
            .or_insert((key, Vec::new()))
            .1
            .push(reason);
    }
    if let Some(secs) = unused {
        let unused_keys = client
            .list_all_keys(&ListKeys {
                unused_for_seconds: Some(secs),
                ..base.clone()
            })
            .await?;
        for key in unused_keys {
            let reason = match key.last_used_at {
                Some(at) => format!("last used {}", output::day(at)),
                None => "never used".to_owned(),
            };
            found
                .entry(key.id.clone())
                .or_insert((key, Vec::new()))
                .1
                .push(reason);
        }
    }
    let mut flagged: Vec<(Key, Vec<String>)> = found.into_values().collect();
    flagged.sort_by(|a, b| (a.0.expires_at, &a.0.id).cmp(&(b.0.expires_at, &b.0.id)));
    let count = flagged.len();
    if ctx.json() {
        output::print_json(&Page {
            items: flagged.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            next_cursor: None,
        })?;
    } else if ctx.quiet() {
        for (k, _) in &flagged {
            output::print_line(&k.id)?;
        }
    } else if count > 0 {
        let rows = flagged
            .iter()
            .map(|(k, why)| [k.name.clone(), k.id.clone(), why.join("; ")])
            .collect();
        output::print_line(&output::simple_table(
            ["NAME", "ID", "NEEDS ATTENTION"],
            rows,
        ))?;
    }
    if count == 0 {
        ctx.say(&format!(
            "No key needs attention {}.",
            client.target().describe()
        ));
        return Ok(());
    }
    Err(CliFailure::NeedsAttention(format!(
        "{count} key{} need{} attention {}",
        if count == 1 { "" } else { "s" },
        if count == 1 { "s" } else { "" },
        client.target().describe()
    ))
    .into())
}
