//! Friendly durations (`90d`, `12h`, `6 months`) and dates (`2027-01-31`) from flags.

use jiff::{Span, Timestamp, Zoned, civil::Date, tz::TimeZone};

use super::UsageError;

/// `now + duration`, with `flag` named in the error.
pub fn parse_duration_from_now(text: &str, flag: &str) -> Result<Timestamp, UsageError> {
    let bad = || {
        UsageError(format!(
            "{flag} {text:?} is not a duration; write it like 90d, 12h, 2w or \"6 months\""
        ))
    };
    let span: Span = text.trim().parse().map_err(|_| bad())?;
    if span.is_negative() || span.is_zero() {
        return Err(bad());
    }
    let now = Zoned::now().with_time_zone(TimeZone::UTC);
    now.checked_add(span)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

/// A duration in whole seconds (`0`, `30m`, `2d`), for grace periods and windows.
pub fn parse_seconds(text: &str, flag: &str) -> Result<u64, UsageError> {
    if text.trim() == "0" {
        return Ok(0);
    }
    let bad = || {
        UsageError(format!(
            "{flag} {text:?} is not a duration; write it like 0, 30m, 12h or 7d"
        ))
    };
    let span: Span = text.trim().parse().map_err(|_| bad())?;
    if span.is_negative() {
        return Err(bad());
    }
    let now = Zoned::now().with_time_zone(TimeZone::UTC);
    let later = now.checked_add(span).map_err(|_| bad())?;
    Ok(later.timestamp().duration_since(now.timestamp()).as_secs() as u64)
}

/// `now - duration`, for "not used for 90d".
pub fn parse_duration_ago(text: &str, flag: &str) -> Result<Timestamp, UsageError> {
    let secs = parse_seconds(text, flag)?;
    Ok(Timestamp::now() - jiff::SignedDuration::from_secs(secs as i64))
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
    fn durations() {
        let now = Timestamp::now();
        let t = parse_duration_from_now("90d", "--x").unwrap();
        let days = (t - now).get_seconds() / 86_400;
        assert!((89..=90).contains(&days), "{days}");
        assert!(parse_duration_from_now("6 months", "--x").is_ok());
        assert!(parse_duration_from_now("soon", "--x").is_err());
        assert!(parse_duration_from_now("0d", "--x").is_err());
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
