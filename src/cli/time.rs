//! Friendly durations (`90d`, `12h`, `6 months`) and dates (`2027-01-31`) from flags.

use jiff::{Span, SpanRelativeTo, Timestamp, Unit, civil::Date, tz::TimeZone};

use super::UsageError;

/// A duration in whole seconds (`0`, `30m`, `2d`, `1y`). Calendar units have fixed lengths, so
/// the answer never depends on today's date or this machine's clock: a day is 24 hours, a week
/// 7 days, a month 30 days and a year 365 days (the longest a key may live is `1y` = `365d`,
/// leap year or not).
pub fn parse_seconds(text: &str, flag: &str) -> Result<u64, UsageError> {
    if text.trim() == "0" {
        return Ok(0);
    }
    let bad = || {
        UsageError(format!(
            "{flag} is not a duration; write it like 0, 30m, 12h, 90d, 2w, \"6 months\" or 1y"
        ))
    };
    let span: Span = text.trim().parse().map_err(|_| bad())?;
    if span.is_negative() {
        return Err(UsageError(format!(
            "{flag} is a duration from now and cannot be negative; write it like 90d"
        )));
    }
    let calendar_days = i64::from(span.get_years()) * 365 + i64::from(span.get_months()) * 30;
    let rest = span
        .years(0)
        .months(0)
        .total((Unit::Second, SpanRelativeTo::days_are_24_hours()))
        .map_err(|_| bad())?;
    let secs = calendar_days as f64 * 86_400.0 + rest;
    if !(0.0..=u64::MAX as f64).contains(&secs) {
        return Err(bad());
    }
    Ok(secs as u64)
}

/// A positive duration in whole seconds, for an expiry the server counts from its own clock.
/// Here a month is as likely as a minute, so a bare `m` is refused rather than guessed.
pub fn parse_positive_seconds(text: &str, flag: &str) -> Result<u64, UsageError> {
    let units = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|u| !u.is_empty());
    if units.into_iter().any(|u| u == "m") {
        return Err(UsageError(format!(
            "{flag}: is `m` minutes or months? Write `min` for minutes or `mo` for months, e.g. 30min or 6mo"
        )));
    }
    match parse_seconds(text, flag)? {
        0 => Err(UsageError(format!(
            "{flag} must be longer than zero; write it like 90d or 1y"
        ))),
        secs => Ok(secs),
    }
}

/// A time flag: a date or RFC 3339 time, or a duration ago.
pub fn parse_when(text: &str, flag: &str, now: Timestamp) -> Result<Timestamp, UsageError> {
    if let Ok(at) = parse_date(text, flag) {
        return Ok(at);
    }
    let secs = parse_seconds(text, flag).map_err(|_| {
        UsageError(format!(
            "{flag} is neither a duration ago (24h, 7d) nor a date or time (2026-11-01, 2026-11-01T09:30:00Z)"
        ))
    })?;
    now.checked_sub(jiff::SignedDuration::from_secs(secs as i64))
        .map_err(|_| UsageError(format!("{flag} reaches back too far")))
}

/// `--since` and `--until`, each a duration ago or a date or time (see [`parse_when`]).
pub fn parse_window(
    since: Option<&str>,
    until: Option<&str>,
    now: Timestamp,
) -> Result<(Option<Timestamp>, Option<Timestamp>), UsageError> {
    Ok((
        since.map(|t| parse_when(t, "--since", now)).transpose()?,
        until.map(|t| parse_when(t, "--until", now)).transpose()?,
    ))
}

/// A date (start of that day, UTC) or an RFC 3339 time.
pub fn parse_date(text: &str, flag: &str) -> Result<Timestamp, UsageError> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    text.parse::<Date>()
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            UsageError(format!(
                "{flag} {text:?} is not a date; write it like 2027-01-31 or 2027-01-31T12:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_fixed_lengths() {
        const DAY: u64 = 86_400;
        assert_eq!(parse_positive_seconds("90d", "--x").unwrap(), 90 * DAY);
        assert_eq!(parse_positive_seconds("1y", "--x").unwrap(), 365 * DAY);
        assert_eq!(parse_positive_seconds("365d", "--x").unwrap(), 365 * DAY);
        assert_eq!(
            parse_positive_seconds("6 months", "--x").unwrap(),
            180 * DAY
        );
        assert_eq!(parse_positive_seconds("2w", "--x").unwrap(), 14 * DAY);
        assert!(parse_positive_seconds("soon", "--x").is_err());
        assert!(parse_positive_seconds("0d", "--x").is_err());
        let err = parse_positive_seconds("kw_sk_x", "--x").unwrap_err();
        assert!(err.0.contains("--x") && !err.0.contains("kw_sk_x"));
        // A bare m is ambiguous for an expiry; min and mo are not.
        let err = parse_positive_seconds("1m", "--expires-in").unwrap_err();
        assert!(err.0.contains("minutes or months"), "{}", err.0);
        assert_eq!(parse_positive_seconds("30min", "--x").unwrap(), 1800);
        assert_eq!(parse_positive_seconds("6mo", "--x").unwrap(), 180 * DAY);
        assert!(
            parse_positive_seconds("-5d", "--x")
                .unwrap_err()
                .0
                .contains("negative")
        );
        // A grace period is never months: there 30m stays minutes.
        assert_eq!(parse_seconds("30m", "--grace").unwrap(), 1800);
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("0", "--grace").unwrap(), 0);
        assert_eq!(parse_seconds("30m", "--grace").unwrap(), 1800);
        assert_eq!(parse_seconds("7d", "--grace").unwrap(), 604_800);
        assert!(parse_seconds("-1h", "--grace").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2027-01-31", "--x").unwrap().to_string(),
            "2027-01-31T00:00:00Z"
        );
        assert!(parse_date("2027-01-31T12:00:00Z", "--x").is_ok());
        let err = parse_date("31/01/2027", "--x").unwrap_err();
        assert!(err.0.contains("--x"));
    }
}
