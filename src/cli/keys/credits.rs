//! `keyward keys credits KEY set|add|subtract N`, and the `--credits` / `--refill` flags of
//! `keys create`.

use clap::{Args, ValueEnum};

use super::resolve;
use crate::api::{ChangeCredits, Refill, RefillInterval};
use crate::cli::{Ctx, UsageError};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys credits acme-prod set 1000
  keyward keys credits acme-prod add 500
  keyward keys credits acme-prod subtract 20

Only a key created with credits (keys create --credits) has a balance to change: each verify
spends its cost (default 1), and the key answers USAGE_EXCEEDED when too few remain.
Subtracting more than remains leaves 0; a refill due is made first. A key cannot raise its own
credits (a super admin's can).")]
pub struct CreditsArgs {
    /// The key's id or name
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: String,

    /// What to do with the balance
    #[arg(value_enum)]
    pub op: CreditsOp,

    /// How many credits
    #[arg(value_name = "N")]
    pub amount: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CreditsOp {
    Set,
    Add,
    Subtract,
}

pub async fn run(ctx: &Ctx, args: CreditsArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let id = resolve(ctx, client, Some(args.key)).await?;
    let n = Some(args.amount);
    let change = match args.op {
        CreditsOp::Set => ChangeCredits {
            set: n,
            ..ChangeCredits::default()
        },
        CreditsOp::Add => ChangeCredits {
            add: n,
            ..ChangeCredits::default()
        },
        CreditsOp::Subtract => ChangeCredits {
            subtract: n,
            ..ChangeCredits::default()
        },
    };
    let key = client.change_credits(&id, &change).await?;
    if ctx.json() {
        output::print_json(&key)?;
    } else if ctx.quiet() {
        let left = key.credits.as_ref().map_or(0, |c| c.remaining);
        output::print_line(&left.to_string())?;
    } else {
        output::print_line(&output::key_details(&key))?;
    }
    Ok(())
}

/// `--refill AMOUNT/day`, `AMOUNT/month` or `AMOUNT/month@DAY`.
pub fn parse_refill(text: &str) -> Result<Refill, UsageError> {
    let bad = || {
        UsageError(format!(
            "--refill {:?} is not AMOUNT/day, AMOUNT/month or AMOUNT/month@DAY (e.g. 1000/month@1)",
            output::printable(text)
        ))
    };
    let (amount, every) = text.split_once('/').ok_or_else(bad)?;
    let amount: u64 = amount.trim().parse().map_err(|_| bad())?;
    let (interval, day) = match every.split_once('@') {
        Some(("month", day)) => (
            RefillInterval::Month,
            Some(day.parse::<u64>().map_err(|_| bad())?),
        ),
        None if every == "month" => (RefillInterval::Month, None),
        None if every == "day" => (RefillInterval::Day, None),
        _ => return Err(bad()),
    };
    Ok(Refill {
        amount,
        interval,
        day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_read_as_written() {
        let r = parse_refill("1000/month@15").unwrap();
        assert_eq!(
            (r.amount, r.interval, r.day),
            (1000, RefillInterval::Month, Some(15))
        );
        let r = parse_refill("50/day").unwrap();
        assert_eq!(
            (r.amount, r.interval, r.day),
            (50, RefillInterval::Day, None)
        );
        assert_eq!(parse_refill("5/month").unwrap().day, None);
        for bad in [
            "1000",
            "x/day",
            "10/week",
            "10/day@3",
            "10/month@x",
            "-1/day",
        ] {
            assert!(parse_refill(bad).is_err(), "{bad}");
        }
    }
}
