//! When a key's credits refill: every day at 00:00 UTC, or every month on a day (the month's
//! last day where it has fewer) at 00:00 UTC. A refill sets the balance; it is made by the
//! first spend after its time (see the store's `spend_credits`), never by a timer.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::api::{Refill, RefillInterval};

/// The latest refill time at or before `now`.
pub fn last(refill: &Refill, now: Timestamp) -> Timestamp {
    let today = day_of(now);
    let date = match refill.interval {
        RefillInterval::Day => today,
        RefillInterval::Month => {
            let this_month = in_month(today, refill.day);
            if this_month <= today {
                this_month
            } else {
                in_month(shift_months(today, -1), refill.day)
            }
        }
    };
    midnight(date)
}

/// The first refill time after `now`.
pub fn next(refill: &Refill, now: Timestamp) -> Timestamp {
    let today = day_of(now);
    let date = match refill.interval {
        RefillInterval::Day => today.tomorrow().unwrap_or(today),
        RefillInterval::Month => {
            let this_month = in_month(today, refill.day);
            if this_month > today {
                this_month
            } else {
                in_month(shift_months(today, 1), refill.day)
            }
        }
    };
    midnight(date)
}

fn day_of(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

fn midnight(date: Date) -> Timestamp {
    date.to_zoned(TimeZone::UTC)
        .map_or(Timestamp::MAX, |z| z.timestamp())
}

fn shift_months(date: Date, months: i32) -> Date {
    date.first_of_month()
        .checked_add(months.months())
        .unwrap_or(date)
}

/// The refill day in `date`'s month: `day` (default 1), or the month's last day.
fn in_month(date: Date, day: Option<u64>) -> Date {
    let wanted = i8::try_from(day.unwrap_or(1)).unwrap_or(1).clamp(1, 31);
    let day = wanted.min(date.days_in_month());
    Date::new(date.year(), date.month(), day).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn monthly(day: u64) -> Refill {
        Refill {
            amount: 1000,
            interval: RefillInterval::Month,
            day: Some(day),
        }
    }

    #[test]
    fn a_monthly_refill_falls_on_its_day_or_the_months_last() {
        let r = monthly(1);
        assert_eq!(
            last(&r, at("2026-12-07T10:00:00Z")),
            at("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            next(&r, at("2026-12-07T10:00:00Z")),
            at("2027-01-01T00:00:00Z")
        );
        // On the day itself, from midnight on.
        assert_eq!(
            last(&r, at("2026-12-01T00:00:00Z")),
            at("2026-12-01T00:00:00Z")
        );
        let r = monthly(31);
        assert_eq!(
            last(&r, at("2027-02-10T00:00:00Z")),
            at("2027-01-31T00:00:00Z")
        );
        assert_eq!(
            next(&r, at("2027-02-10T00:00:00Z")),
            at("2027-02-28T00:00:00Z")
        );
        assert_eq!(
            last(&r, at("2027-03-01T00:00:00Z")),
            at("2027-02-28T00:00:00Z")
        );
        let r = monthly(15);
        assert_eq!(
            last(&r, at("2027-01-03T00:00:00Z")),
            at("2026-12-15T00:00:00Z")
        );
    }

    #[test]
    fn a_daily_refill_falls_at_midnight_utc() {
        let r = Refill {
            amount: 5,
            interval: RefillInterval::Day,
            day: None,
        };
        assert_eq!(
            last(&r, at("2026-12-07T23:59:59Z")),
            at("2026-12-07T00:00:00Z")
        );
        assert_eq!(
            next(&r, at("2026-12-07T23:59:59Z")),
            at("2026-12-08T00:00:00Z")
        );
    }
}
