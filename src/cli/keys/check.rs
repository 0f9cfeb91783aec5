//! `keyward keys check`: the keys that need attention, for CI: it exits 8 when there are any.

use std::collections::BTreeMap;

use clap::Args;

use jiff::Timestamp;
use serde::Serialize;

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

Exits 0 when no key needs attention, and 8 when some do (they are listed, each with every
reason, with the time when it is within a day). With --output json each key carries `reasons`:
{\"reason\": \"expiring\", \"expires_at\"} or {\"reason\": \"unused\", \"last_used_at\" (null: never),
\"created_at\"}. Revoked keys never need attention.")]
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

    /// Only keys of this owner (exact)
    #[arg(long, value_name = "ID")]
    pub owner: Option<String>,
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
        owner: args.owner.clone(),
        sort: Some("expires_at".to_owned()),
        ..ListKeys::default()
    };
    // Why each key needs attention, by id, in the order found.
    let mut found: BTreeMap<String, (Key, Vec<Reason>)> = BTreeMap::new();
    let expiring_keys = client
        .list_all_keys(&ListKeys {
            expiring_within_seconds: Some(expiring),
            ..base.clone()
        })
        .await?;
    for key in expiring_keys {
        let reason = Reason::Expiring {
            expires_at: key.expires_at,
        };
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
            let reason = Reason::Unused {
                last_used_at: key.last_used_at,
                created_at: key.created_at,
            };
            found
                .entry(key.id.clone())
                .or_insert((key, Vec::new()))
                .1
                .push(reason);
        }
    }
    let mut flagged: Vec<(Key, Vec<Reason>)> = found.into_values().collect();
    flagged.sort_by(|a, b| (a.0.expires_at, &a.0.id).cmp(&(b.0.expires_at, &b.0.id)));
    let count = flagged.len();
    if ctx.json() {
        output::print_json(&Page {
            items: flagged
                .iter()
                .map(|(key, reasons)| Flagged { key, reasons })
                .collect::<Vec<_>>(),
            next_cursor: None,
        })?;
    } else if ctx.quiet() {
        for (k, _) in &flagged {
            output::print_line(&k.id)?;
        }
    } else if count > 0 {
        let rows = flagged
            .iter()
            .map(|(k, why)| {
                let now = Timestamp::now();
                let why: Vec<String> = why.iter().map(|r| r.describe(now)).collect();
                [k.name.clone(), k.id.clone(), why.join("; ")]
            })
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

/// Why a key needs attention, with the times that make it so (`--output json` carries them
/// exact, so CI can tell an expiring key from an unused one).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "reason", rename_all = "lowercase")]
enum Reason {
    /// It expires within `--expiring-within`.
    Expiring { expires_at: Timestamp },
    /// It was made before `--unused-for` and not used since (`last_used_at` null: never used).
    Unused {
        last_used_at: Option<Timestamp>,
        created_at: Timestamp,
    },
}

impl Reason {
    /// For the table: the date, and the hour and minute too when it is within a day.
    fn describe(&self, now: Timestamp) -> String {
        match self {
            Reason::Expiring { expires_at } => format!("expires {}", when(*expires_at, now)),
            Reason::Unused {
                last_used_at: Some(at),
                ..
            } => format!("unused since {}", when(*at, now)),
            Reason::Unused {
                last_used_at: None,
                created_at,
            } => format!("never used (made {})", when(*created_at, now)),
        }
    }
}

/// A date; within a day of `now`, the local time too, and how far it is.
fn when(t: Timestamp, now: Timestamp) -> String {
    if (t - now).get_seconds().unsigned_abs() < 86_400 {
        let local = t.to_zoned(jiff::tz::TimeZone::system());
        format!(
            "{} ({})",
            local.strftime("%Y-%m-%d %H:%M"),
            output::relative(t, now)
        )
    } else {
        output::day(t)
    }
}

/// A flagged key in JSON: the key's own fields and why it needs attention.
#[derive(Serialize)]
struct Flagged<'a> {
    #[serde(flatten)]
    key: &'a Key,
    reasons: &'a [Reason],
}
