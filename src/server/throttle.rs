//! Throttling failed token exchanges (unknown client ids and wrong secrets), per client id *and*
//! source, and per source, and failed verifies (`INVALID`) per the address the key came from
//! (docs/design.md: 429 with `Retry-After`, no database write for a throttled request, no hard
//! lockout; another address's failures never keep a key's owner out).
//!
//! Each subject has a bucket of failures it may make: a client id from one source 10, refilled
//! one every 6 s (10 a minute); a source 100, refilled one every 0.6 s (100 a minute). A failure
//! takes one; an empty bucket answers 429 before the secret is read, and says when one comes
//! back. A throttled request is not a failure (it was never checked), so a client hammering its
//! own id does not use up its address's bucket for other clients there.
//!
//! A source is an IPv4 address (an IPv4-mapped IPv6 address counts as the IPv4 one), an IPv6
//! /64 (one subscriber's usual allocation), or "unknown" (an `X-Forwarded-For` from a trusted
//! proxy that does not parse): every unknown source shares one bucket. Buckets live in this
//! server's memory, at most [`MAX_BUCKETS`] of them in a map that evicts the least recently used
//! one: every look-up and insertion is O(1), and nothing scans the map. A bucket's key is a
//! fixed-size (a keyed hash of the client id, the source), so the cap bounds the bytes too (see
//! docs/server.md for the measured resident memory). With several replicas, each throttles what
//! reaches it.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Duration;

use hashlink::LruCache;
use jiff::Timestamp;

/// Where failures come from, canonicalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(u32),
    /// The first 64 bits of an IPv6 address: its /64.
    V6(u64),
    /// An address that is not known (an unparsable forwarded address): one shared source.
    Unknown,
}

impl Source {
    pub fn of(ip: Option<IpAddr>) -> Source {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Source::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => Source::V6((u128::from(v6) >> 64) as u64),
            None => Source::Unknown,
        }
    }

    /// The source of an address as text (a request's `source_ip`); one that does not parse is
    /// unknown.
    pub fn parse(text: Option<&str>) -> Source {
        Source::of(text.and_then(|t| t.parse().ok()))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::V4(v4) => write!(f, "{}", std::net::Ipv4Addr::from(*v4)),
            Source::V6(net) => write!(f, "{}/64", Ipv6Addr::from(u128::from(*net) << 64)),
            Source::Unknown => f.write_str("unknown"),
        }
    }
}

/// Who failures are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A token exchange's client id, from one source. A client id that is not shaped like a key
    /// id is counted as [`MALFORMED_CLIENT`].
    Client(&'a str, Source),
    /// A token exchange's source.
    Address(Source),
    /// The source a service reports a key was presented from (verify's `ip`). Verify is not
    /// throttled per calling service: anyone could then make a service's verifies fail for all
    /// its users by sending it bad keys.
    Presenter(Source),
}

/// What every client id that is not shaped like a key id is counted as.
pub const MALFORMED_CLIENT: &str = "<malformed client id>";

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

/// At most this many buckets are kept; past it, the least recently used one is dropped (its
/// subject starts again with a full allowance).
pub const MAX_BUCKETS: usize = 250_000;

/// A bucket's key: fixed-size, whatever the client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Slot {
    kind: u8,
    client: u64,
    source: Source,
}

/// Failures left, as of a time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    left: f64,
    at: Timestamp,
}

pub struct Throttle {
    buckets: Mutex<LruCache<Slot, Bucket, RandomState>>,
    /// Hashes client ids into slots (keyed per process: nobody can aim two ids at one slot).
    ids: RandomState,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_capacity(MAX_BUCKETS)
    }
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

fn limit_of(subject: &Subject) -> Limit {
    match subject {
        Subject::Client(..) => CLIENT_LIMIT,
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
    /// A throttle that keeps at most `capacity` buckets.
    pub fn with_capacity(capacity: usize) -> Throttle {
        Throttle {
            buckets: Mutex::new(LruCache::with_hasher(capacity, RandomState::new())),
            ids: RandomState::new(),
        }
    }

    fn slot(&self, subject: &Subject) -> Slot {
        match *subject {
            Subject::Client(id, source) => Slot {
                kind: 0,
                client: self.ids.hash_one(id),
                source,
            },
            Subject::Address(source) => Slot {
                kind: 1,
                client: 0,
                source,
            },
            Subject::Presenter(source) => Slot {
                kind: 2,
                client: 0,
                source,
            },
        }
    }

    /// `None` when every subject may fail again; otherwise how long until all may.
    pub fn check(&self, subjects: &[Subject], now: Timestamp) -> Option<Duration> {
        // Verify's hot path mostly names no subject: no lock then.
        if subjects.is_empty() {
            return None;
        }
        let slots: Vec<Slot> = subjects.iter().map(|s| self.slot(s)).collect();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for (s, slot) in subjects.iter().zip(&slots) {
            let limit = limit_of(s);
            // A look-up marks the bucket used: one that is being tried is not the one dropped.
            let Some(bucket) = buckets.get(slot) else {
                continue;
            };
            let bucket = bucket.at(now, limit);
            if bucket.left < 1.0 {
                wait = wait.max(Some(
                    limit.every.mul_f64((1.0 - bucket.left).clamp(0.0, 1.0)),
                ));
            }
        }
        wait
    }

    /// Counts a failure against each subject.
    pub fn failed(&self, subjects: &[Subject], now: Timestamp) {
        if subjects.is_empty() {
            return;
        }
        let slots: Vec<Slot> = subjects.iter().map(|s| self.slot(s)).collect();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for (s, slot) in subjects.iter().zip(slots) {
            let limit = limit_of(s);
            let bucket = buckets.get(&slot).map_or(
                Bucket {
                    left: f64::from(limit.burst),
                    at: now,
                },
                |b| b.at(now, limit),
            );
            // Inserting past the capacity drops the least recently used bucket: O(1).
            buckets.insert(
                slot,
                Bucket {
                    left: (bucket.left - 1.0).max(0.0),
                    at: now,
                },
            );
        }
    }

    /// How many buckets are kept.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn src(text: &str) -> Source {
        Source::parse(Some(text))
    }

    #[test]
    fn a_burst_then_one_per_interval_and_back_to_full() {
        let t = Throttle::default();
        let here = src("203.0.113.9");
        let me = [Subject::Client("key_a", here)];
        let other = [Subject::Client("key_b", here)];
        let start = start();
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

    #[test]
    fn a_client_id_is_throttled_per_source() {
        let t = Throttle::default();
        let attacker = src("198.51.100.66");
        let owner = src("203.0.113.9");
        for _ in 0..1000 {
            t.failed(
                &[
                    Subject::Client("key_victim", attacker),
                    Subject::Address(attacker),
                ],
                start(),
            );
        }
        assert!(
            t.check(&[Subject::Client("key_victim", attacker)], start())
                .is_some()
        );
        assert_eq!(
            t.check(
                &[
                    Subject::Client("key_victim", owner),
                    Subject::Address(owner)
                ],
                start()
            ),
            None,
            "the owner's address is not held back by another address's failures"
        );
    }

    #[test]
    fn sources_are_canonical_and_ipv6_counts_per_64() {
        assert_eq!(src("::ffff:203.0.113.9"), src("203.0.113.9"));
        assert_eq!(
            src("2001:db8:1:2::1"),
            src("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(src("2001:db8:1:2::1"), src("2001:db8:1:3::1"));
        assert_eq!(src("not an address"), Source::Unknown);
        assert_eq!(Source::parse(None), Source::Unknown);
        assert_eq!(src("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(src("::ffff:203.0.113.9").to_string(), "203.0.113.9");

        let t = Throttle::default();
        for i in 0..ADDRESS_LIMIT.burst {
            // Another address in the same /64 each time.
            let ip = format!("2001:db8:1:2::{i:x}");
            t.failed(&[Subject::Presenter(src(&ip))], start());
        }
        assert!(
            t.check(&[Subject::Presenter(src("2001:db8:1:2:abcd::1"))], start())
                .is_some()
        );
        for _ in 0..ADDRESS_LIMIT.burst {
            t.failed(&[Subject::Presenter(src("203.0.113.9"))], start());
        }
        assert!(
            t.check(&[Subject::Presenter(src("::ffff:203.0.113.9"))], start())
                .is_some(),
            "an IPv4-mapped address is the IPv4 address"
        );
    }

    #[test]
    fn the_map_is_capped_and_evicts_the_least_recently_used() {
        let t = Throttle::with_capacity(1000);
        let now = start();
        let busy = [Subject::Address(src("203.0.113.9"))];
        for _ in 0..ADDRESS_LIMIT.burst {
            t.failed(&busy, now);
        }
        for i in 0..100_000u32 {
            t.failed(&[Subject::Address(Source::V4(i))], now);
            if i % 100 == 0 {
                // The throttled address keeps trying: its bucket stays in use, and stays.
                assert!(t.check(&busy, now).is_some(), "after {i}");
            }
        }
        assert_eq!(t.len(), 1000);
        // The oldest of the flood were dropped: they start again full.
        assert_eq!(t.check(&[Subject::Address(Source::V4(0))], now), None);
    }
}
