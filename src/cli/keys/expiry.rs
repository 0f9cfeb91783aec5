//! `--expires-in` / `--expires-at`, shared by create, edit, enable and rotate.

use clap::Args;
use jiff::Timestamp;

use crate::cli::UsageError;
use crate::cli::time::{parse_date, parse_duration_from_now};

#[derive(Debug, Clone, Args)]
pub struct ExpiryArgs {
    /// Expire this long from now, e.g. 90d, 12h, "6 months" (at most 365 days)
    #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
    pub expires_in: Option<String>,

    /// Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z
    #[arg(long, value_name = "DATE")]
    pub expires_at: Option<String>,
}

impl ExpiryArgs {
    /// The expiry asked for, if any.
    pub fn resolve(&self) -> Result<Option<Timestamp>, UsageError> {
        match (&self.expires_in, &self.expires_at) {
            (Some(d), _) => parse_duration_from_now(d, "--expires-in").map(Some),
            (None, Some(d)) => parse_date(d, "--expires-at").map(Some),
            (None, None) => Ok(None),
        }
    }
}
