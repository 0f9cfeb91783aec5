//! `--expires-in` / `--expires-at`, shared by create, edit, enable and rotate.

use clap::Args;
use jiff::Timestamp;

use crate::cli::UsageError;
use crate::cli::time::{parse_date, parse_positive_seconds};

#[derive(Debug, Clone, Args)]
pub struct ExpiryArgs {
    /// Expire this long from now by the server's clock, e.g. 90d, 12h, "6 months" (30 days each), 1y (365 days, the most)
    #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
    pub expires_in: Option<String>,

    /// Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z
    #[arg(long, value_name = "DATE")]
    pub expires_at: Option<String>,
}

/// The expiry asked for: a time, or a duration the server adds to its own clock (so a client
/// clock that runs ahead cannot push `365d` past the maximum).
#[derive(Debug, Clone, Copy, Default)]
pub struct Expiry {
    pub at: Option<Timestamp>,
    pub in_seconds: Option<u64>,
}

impl ExpiryArgs {
    pub fn resolve(&self) -> Result<Expiry, UsageError> {
        match (&self.expires_in, &self.expires_at) {
            (Some(d), _) => Ok(Expiry {
                at: None,
                in_seconds: Some(parse_positive_seconds(d, "--expires-in")?),
            }),
            (None, Some(d)) => Ok(Expiry {
                at: Some(parse_date(d, "--expires-at")?),
                in_seconds: None,
            }),
            (None, None) => Ok(Expiry::default()),
        }
    }
}
