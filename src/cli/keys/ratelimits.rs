//! The `--ratelimit NAME=LIMIT/WINDOW` flags of `keys create` and `keys edit` (written back the
//! same way by `RateLimit`'s `Display`).

use crate::api::RateLimit;
use crate::cli::UsageError;
use crate::output;

/// `NAME=LIMIT/WINDOW`, the window a number and a unit: `s`, `m`, `h` or `d` (`100/1m`,
/// `10000/1d`, `5/30s`).
pub fn parse(text: &str) -> Result<RateLimit, UsageError> {
    let bad = || {
        UsageError(format!(
            "--ratelimit {:?} is not NAME=LIMIT/WINDOW with a window in s, m, h or d (e.g. requests=100/1m)",
            output::printable(text)
        ))
    };
    let (name, rest) = text.split_once('=').ok_or_else(bad)?;
    let (limit, window) = rest.split_once('/').ok_or_else(bad)?;
    let limit: u64 = limit.trim().parse().map_err(|_| bad())?;
    let window = window.trim();
    let unit_at = window.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (count, unit) = window.split_at(unit_at);
    let count: u64 = if count.is_empty() {
        1
    } else {
        count.parse().map_err(|_| bad())?
    };
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(RateLimit {
        name: name.trim().to_owned(),
        limit,
        window_secs: count.checked_mul(per).ok_or_else(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_and_show_as_written() {
        for (text, secs) in [
            ("requests=100/1m", 60),
            ("daily=10000/1d", 86_400),
            ("burst=5/30s", 30),
            ("hourly=7/2h", 7200),
        ] {
            let l = parse(text).unwrap();
            assert_eq!(l.window_secs, secs, "{text}");
            assert_eq!(l.to_string(), text);
        }
        assert_eq!(parse("r=10/m").unwrap().window_secs, 60);
        assert_eq!(parse("r=10/90s").unwrap().to_string(), "r=10/90s");
        for bad in [
            "100/1m",
            "r=100",
            "r=x/1m",
            "r=10/1w",
            "r=10/",
            "r=-1/1m",
            "r=1/99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
