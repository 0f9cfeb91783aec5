//! `keyward keys usage`: a key's verifications over time, by the code verify answered.

use clap::Args;
use jiff::Timestamp;

use super::resolve;
use crate::api::{UsageQuery, VerifyCode};
use crate::cli::{Ctx, time};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys usage ci-deployer                       the last 24 hours, by hour
  keyward keys usage ci-deployer --since 30d --by day
  keyward keys usage ci-deployer --since 1h --by minute --output json

Counts are kept per minute on the server and written every few seconds; the server answering
includes its own counts not yet written. Times in the table are UTC. A key with credits gets a
column of the credits its verifies spent; a bar per row above the table shows the trend.")]
pub struct UsageArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: Option<String>,
    /// From this long ago (24h, 7d) or this date or time [default: 24h]
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Until this long ago or this date or time [default: now]
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// One row per minute, hour or day
    #[arg(long = "by", value_enum, default_value_t = Bucket::Hour)]
    pub bucket: Bucket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

/// The codes in the order the table shows them.
const CODES: [VerifyCode; 10] = [
    VerifyCode::Valid,
    VerifyCode::Invalid,
    VerifyCode::Expired,
    VerifyCode::Disabled,
    VerifyCode::Revoked,
    VerifyCode::IpNotAllowed,
    VerifyCode::EnvironmentDenied,
    VerifyCode::PermissionDenied,
    VerifyCode::RateLimited,
    VerifyCode::UsageExceeded,
];

pub async fn run(ctx: &Ctx, args: UsageArgs) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let (since, until) = time::parse_window(args.since.as_deref(), args.until.as_deref(), now)?;
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key).await?;
    let bucket = match args.bucket {
        Bucket::Minute => "minute",
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    let usage = client
        .key_usage(
            &id,
            &UsageQuery {
                since,
                until,
                bucket: Some(bucket.to_owned()),
            },
        )
        .await?;
    if ctx.json() {
        return output::print_json(&usage);
    }
    if ctx.quiet() {
        return output::print_line(&usage.totals.values().sum::<u64>().to_string());
    }
    if usage.buckets.is_empty() {
        ctx.say(&format!(
            "No verifications of {id} from {} to {}.",
            usage.since.strftime("%Y-%m-%d %H:%M UTC"),
            usage.until.strftime("%Y-%m-%d %H:%M UTC")
        ));
        return Ok(());
    }
    // Only the codes that happened get a column.
    let codes: Vec<&str> = CODES
        .iter()
        .map(|c| c.as_str())
        .filter(|c| usage.totals.contains_key(*c))
        .collect();
    let format = match args.bucket {
        Bucket::Day => "%Y-%m-%d",
        _ => "%Y-%m-%d %H:%M",
    };
    let mut header = vec![
        format!("{} (UTC)", bucket.to_uppercase()),
        "TOTAL".to_owned(),
    ];
    header.extend(codes.iter().map(|c| (*c).to_owned()));
    // Credits spent, where any were: a column of their own after the answers.
    let spent = usage.credits_spent > 0;
    if spent {
        header.push("CREDITS SPENT".to_owned());
    }
    let mut rows: Vec<Vec<String>> = usage
        .buckets
        .iter()
        .map(|b| {
            let mut row = vec![
                b.start.strftime(format).to_string(),
                b.counts.values().sum::<u64>().to_string(),
            ];
            row.extend(
                codes
                    .iter()
                    .map(|c| b.counts.get(*c).copied().unwrap_or(0).to_string()),
            );
            if spent {
                row.push(b.credits_spent.to_string());
            }
            row
        })
        .collect();
    let mut total = vec![
        "total".to_owned(),
        usage.totals.values().sum::<u64>().to_string(),
    ];
    total.extend(codes.iter().map(|c| usage.totals[*c].to_string()));
    if spent {
        total.push(usage.credits_spent.to_string());
    }
    rows.push(total);
    let step = match args.bucket {
        Bucket::Minute => 60,
        Bucket::Hour => 3600,
        Bucket::Day => 86_400,
    };
    output::print_line(&format!(
        "Verifications per {bucket}, oldest first: {}",
        sparkline(&usage.buckets, usage.since, usage.until, step)
    ))?;
    output::print_line(&output::rows_table(&header, rows))
}

/// The most buckets the line shows (the newest), to fit a terminal's width.
const SPARK_WIDTH: usize = 60;

/// Each bucket from `since` to `until`, `step` seconds long, as one bar of `▁▂▃▄▅▆▇█` by its
/// total against the largest (a space for none); then the largest, so the bars have a scale.
fn sparkline(
    buckets: &[crate::api::UsageBucket],
    since: Timestamp,
    until: Timestamp,
    step: i64,
) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let start = since.as_second().div_euclid(step) * step;
    let slots = usize::try_from((until.as_second() - start + step - 1) / step)
        .unwrap_or(0)
        .clamp(1, 10_000);
    let mut totals = vec![0_u64; slots];
    for b in buckets {
        let i = (b.start.as_second() - start).div_euclid(step);
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| totals.get_mut(i)) {
            *slot += b.counts.values().sum::<u64>();
        }
    }
    let shown = &totals[totals.len().saturating_sub(SPARK_WIDTH)..];
    let max = shown.iter().copied().max().unwrap_or(0).max(1);
    let line: String = shown
        .iter()
        .map(|&n| {
            if n == 0 {
                ' '
            } else {
                BARS[((n * 8 - 1) / max).min(7) as usize]
            }
        })
        .collect();
    format!("|{line}| (max {max})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::UsageBucket;

    #[test]
    fn the_sparkline_scales_to_the_largest_and_leaves_empty_buckets_blank() {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let bucket = |s: i64, n: u64| UsageBucket {
            start: at(s),
            counts: [("VALID".to_owned(), n)].into(),
            credits_spent: 0,
        };
        let line = sparkline(
            &[bucket(0, 8), bucket(120, 1), bucket(180, 4)],
            at(0),
            at(240),
            60,
        );
        assert_eq!(line, "|█ ▁▄| (max 8)");
    }
}
