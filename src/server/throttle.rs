//! Throttling failed token exchanges (unknown client ids and wrong secrets), per client id and
//! per source address, and failed verifies (`INVALID`) per the address the key came from (docs/design.md: 429 with
//! `Retry-After`, no database write for a throttled request, no hard lockout).
//!
//! Each subject has a bucket of failures it may make: a client id 10, refilled one every 6 s
//! (10 a minute); an address 100, refilled one every 0.6 s (100 a minute). A failure takes one;
//! an empty bucket answers 429 before the secret is read, and says when one comes back. A
//! throttled request is not a failure (it was never checked), so a client hammering its own id
//! does not use up its address's bucket for other clients there. Buckets live in this
//! server's memory: with several replicas, each throttles what reaches it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// Who failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A token exchange's client id.
    Client(String),
    /// A token exchange's source address.
    Address(IpAddr),
    /// The address a service reports a key was presented from (verify's `ip`). Verify is not
    /// throttled per calling service: anyone could then make a service's verifies fail for all
    /// its users by sending it bad keys.
    Presenter(IpAddr),
}

/// `burst` failures, then one more every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub burst: u32,
    pub every: Duration,
}

pub const CLIENT_LIMIT: Limit = Limit {
    burst: 10,
    every: Duration::from_secs(6),
};
pub const ADDRESS_LIMIT: Limit = Limit {
    burst: 100,
    every: Duration::from_millis(600),
};

/// At most this many buckets are kept; past it, full ones (no recent failure) are dropped.
const MAX_BUCKETS: usize = 100_000;

/// Failures left, as of a time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    left: f64,
    at: Timestamp,
}

#[derive(Debug, Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<Subject, Bucket>>,
}

fn limit_of(subject: &Subject) -> Limit {
    match subject {
        Subject::Client(_) => CLIENT_LIMIT,
        Subject::Address(_) | Subject::Presenter(_) => ADDRESS_LIMIT,
    }
}

impl Bucket {
    /// The bucket refilled up to `now`.
    fn at(self, now: Timestamp, limit: Limit) -> Bucket {
        let elapsed = now.duration_since(self.at).as_secs_f64().max(0.0);
        let refill = elapsed / limit.every.as_secs_f64();
        Bucket {
            left: (self.left + refill).min(f64::from(limit.burst)),
            at: now,
        }
    }
}

impl Throttle {
    /// `None` when every subject may fail again; otherwise how long until all may.
    pub fn check(&self, subjects: &[Subject], now: Timestamp) -> Option<Duration> {
        // Verify's hot path mostly names no subject: no lock then.
        if subjects.is_empty() {
            return None;
        }
        let buckets = self.buckets.lock().expect("throttle lock");
        subjects
            .iter()
            .filter_map(|s| {
                let limit = limit_of(s);
                let bucket = buckets.get(s)?.at(now, limit);
                (bucket.left < 1.0)
                    .then(|| limit.every.mul_f64((1.0 - bucket.left).clamp(0.0, 1.0)))
            })
            .max()
    }

    /// Counts a failure against each subject.
    pub fn failed(&self, subjects: &[Subject], now: Timestamp) {
        if subjects.is_empty() {
            return;
        }
        let mut buckets = self.buckets.lock().expect("throttle lock");
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|s, b| b.at(now, limit_of(s)).left < f64::from(limit_of(s).burst));
        }
        for s in subjects {
            let limit = limit_of(s);
            let full = Bucket {
                left: f64::from(limit.burst),
                at: now,
            };
            let bucket = buckets.get(s).map_or(full, |b| b.at(now, limit));
            buckets.insert(
                s.clone(),
                Bucket {
                    left: (bucket.left - 1.0).max(0.0),
                    at: now,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval_and_back_to_full() {
        let t = Throttle::default();
        let me = [Subject::Client("key_a".into())];
        let other = [Subject::Client("key_b".into())];
        let start = Timestamp::from_second(1_800_000_000).unwrap();
        for _ in 0..CLIENT_LIMIT.burst {
            assert_eq!(t.check(&me, start), None);
            t.failed(&me, start);
        }
        let wait = t.check(&me, start).expect("the eleventh failure waits");
        assert_eq!(wait, CLIENT_LIMIT.every);
        assert_eq!(
            t.check(&other, start),
            None,
            "another client is not throttled"
        );
        // One failure comes back per interval.
        let later = start + CLIENT_LIMIT.every;
        assert_eq!(t.check(&me, later), None);
        t.failed(&me, later);
        assert!(t.check(&me, later).is_some());
        // No hard lockout: after a quiet minute the whole burst is back.
        let quiet = later + Duration::from_secs(60);
        for _ in 0..CLIENT_LIMIT.burst {
            assert_eq!(t.check(&me, quiet), None);
            t.failed(&me, quiet);
        }
    }
}
