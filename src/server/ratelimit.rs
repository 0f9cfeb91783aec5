//! Per-key rate limits, counted in memory on the verify path (no database write per verify)
//! and shared between replicas through the database every `ratelimit_sync`
//! (see [`crate::server::workers::ratelimit_sync`]).
//!
//! **The count.** Each limit counts in fixed windows aligned to the epoch (a multiple of its
//! length). A window's admissions are assumed spread evenly between the first and the last of
//! them; the estimate at `t` is the share of each window's admissions that lies after
//! `t − window`. That is the usual sliding window (the current window plus a weighted share of
//! the previous one), but weighted by when the previous window's uses actually happened rather
//! than by the whole window: a burst at one instant leaves the window exactly one window later.
//!
//! **Across replicas.** Each replica knows its own admissions at once and the others' as of its
//! last sync, and hears every sync how many replicas are alive (N). Between two syncs a
//! replica admits at most its share of the room it saw at the last one: the larger of
//! ⌈room / N⌉ and ⌈limit × sync / window⌉. So N replicas flooded at once together give about
//! the limit, not N times it; what one replica admits without the others knowing is at most
//! ⌈limit × sync / window⌉ per sync, and a replica's counts reach the others within two syncs.
//! The bound, stated in docs/keys.md and measured by bench/ratelimit.sh: in any window, at
//! most limit + (N − 1) × 2 × ⌈limit × sync / window⌉ + N uses pass. The price: a burst at one
//! replica of several gets its whole limit over a few syncs rather than at once. With one
//! replica alive there is no share. Losing the database only makes the others' counts older:
//! verify never waits for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use jiff::Timestamp;

use crate::api::{RateLimit, RateLimitAnswer};
use crate::server::store::RateCount;

impl From<&RateCount> for Span {
    fn from(r: &RateCount) -> Span {
        Span {
            count: r.count,
            first: r.first_at,
            last: r.last_at,
        }
    }
}

/// The admissions of one window: how many (in cost), and the first and last time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub count: u64,
    pub first: i64,
    pub last: i64,
}

impl Span {
    fn add(&mut self, cost: u64, at: i64) {
        if self.count == 0 {
            self.first = at;
            self.last = at;
        } else {
            self.first = self.first.min(at);
            self.last = self.last.max(at);
        }
        self.count += cost;
    }

    fn joined(self, other: Span) -> Span {
        match (self.count, other.count) {
            (0, _) => other,
            (_, 0) => self,
            _ => Span {
                count: self.count + other.count,
                first: self.first.min(other.first),
                last: self.last.max(other.last),
            },
        }
    }

    /// How much of this span still counts when everything at or before `cutoff` has left.
    fn after(self, cutoff: i64) -> f64 {
        if self.count == 0 || self.last <= cutoff {
            0.0
        } else if self.first > cutoff {
            self.count as f64
        } else {
            self.count as f64 * (self.last - cutoff) as f64 / (self.last - self.first) as f64
        }
    }
}

/// One window of one limit: this replica's admissions, the others' as last read, and how many
/// of this replica's the database has.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: i64,
    local: Span,
    remote: Span,
    synced: u64,
}

impl Window {
    fn new(start: i64) -> Window {
        Window {
            start,
            ..Window::default()
        }
    }

    fn total(&self) -> Span {
        self.local.joined(self.remote)
    }
}

/// One limit of one key.
#[derive(Debug, Clone)]
struct Counter {
    name: String,
    window_ms: i64,
    current: Window,
    previous: Window,
    /// The limit as last used (0: not used here yet, only seen in the others' counts).
    limit: u64,
    /// What was left of the limit at the last sync (`None`: not synced since it was made).
    room_at_sync: Option<f64>,
    /// Admitted here since the last sync.
    since_sync: u64,
}

impl Counter {
    fn new(name: &str, window_ms: i64, now: i64) -> Counter {
        let start = now.div_euclid(window_ms) * window_ms;
        Counter {
            name: name.to_owned(),
            window_ms,
            current: Window::new(start),
            previous: Window::new(start - window_ms),
            limit: 0,
            room_at_sync: None,
            since_sync: 0,
        }
    }

    /// How much this replica may admit before the next sync, with `replicas` alive and a sync
    /// every `sync_ms`.
    fn share(&self, limit: u64, replicas: usize, sync_ms: i64, now: i64) -> u64 {
        if replicas <= 1 {
            return u64::MAX;
        }
        let room = self
            .room_at_sync
            .unwrap_or_else(|| limit as f64 - self.estimate_at(now))
            .max(0.0);
        let of_room = (room / replicas as f64 - EPSILON).ceil().max(0.0) as u64;
        let of_rate = (limit as f64 * sync_ms as f64 / self.window_ms as f64 - EPSILON).ceil();
        of_room.max(of_rate as u64).max(1)
    }

    /// Moves the windows on to the one holding `now`.
    fn roll(&mut self, now: i64) {
        let start = now.div_euclid(self.window_ms) * self.window_ms;
        if start == self.current.start {
            return;
        }
        self.previous = if start - self.window_ms == self.current.start {
            self.current
        } else {
            Window::new(start - self.window_ms)
        };
        self.current = Window::new(start);
    }

    /// The uses still inside the window at `t`.
    fn estimate_at(&self, t: i64) -> f64 {
        let cutoff = t - self.window_ms;
        self.current.total().after(cutoff) + self.previous.total().after(cutoff)
    }

    /// When everything counted has left the window.
    fn reset(&self, now: i64) -> i64 {
        [self.current.total(), self.previous.total()]
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| s.last + self.window_ms)
            .max()
            .unwrap_or(now)
            .max(now)
    }

    /// The first time from `now` at which `need` more fits under `limit`, if nothing else is
    /// admitted meanwhile. The estimate only falls with time, so a binary search finds it.
    fn next_fit(&self, limit: u64, need: u64, now: i64) -> i64 {
        let fits = |t: i64| self.estimate_at(t) + need as f64 <= limit as f64 + EPSILON;
        let (mut lo, mut hi) = (now, self.reset(now));
        if fits(lo) {
            return lo;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) { hi = mid } else { lo = mid }
        }
        hi
    }
}

/// Rounding slack: estimates are fractions, limits whole numbers.
const EPSILON: f64 = 1e-9;

/// A verify's outcome on a key's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Whether the use was admitted (and counted).
    pub admitted: bool,
    /// The tightest limit: the one that refused, or the one with the least left.
    pub answer: RateLimitAnswer,
}

/// The counters of every rate-limited key this replica has seen lately.
#[derive(Debug)]
pub struct RateLimiter {
    /// This process's name in the shared counts (random: a restarted replica is a new one,
    /// and its old counts are read back as another replica's).
    replica: String,
    counters: Mutex<HashMap<String, Vec<Counter>>>,
    /// Replicas alive at the last sync, this one included.
    replicas: AtomicUsize,
    /// The sync interval, in milliseconds.
    sync_ms: AtomicI64,
    /// Whether the other replicas' counts were read at least once: until then a verify of a
    /// rate-limited key reads them first (a restarted server, the embedded store).
    has_synced: AtomicBool,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            replica: format!("r_{}", crate::secret::random_base62(12)),
            counters: Mutex::default(),
            replicas: AtomicUsize::new(1),
            sync_ms: AtomicI64::new(1000),
            has_synced: AtomicBool::new(false),
        }
    }
}

impl RateLimiter {
    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn has_synced(&self) -> bool {
        self.has_synced.load(Ordering::Acquire)
    }

    /// Counts a use costing `cost` against every one of `limits` if all of them have room for
    /// `max(cost, 1)` (a cost of 0 only checks); counts nothing if one has not.
    pub fn acquire(
        &self,
        key_id: &str,
        limits: &[RateLimit],
        cost: u64,
        now: Timestamp,
    ) -> Option<Outcome> {
        if limits.is_empty() {
            return None;
        }
        let at = now.as_millisecond();
        let need = cost.max(1);
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        // A key used for the first time since it was seen costs one allocation; after that,
        // a lookup by `&str`.
        let counters = match all.get_mut(key_id) {
            Some(c) => c,
            None => all.entry(key_id.to_owned()).or_default(),
        };
        let mut picked = Vec::with_capacity(limits.len());
        for limit in limits {
            let window_ms = window_ms(limit);
            let i = match counters
                .iter()
                .position(|c| c.name == limit.name && c.window_ms == window_ms)
            {
                Some(i) => i,
                None => {
                    counters.push(Counter::new(&limit.name, window_ms, at));
                    counters.len() - 1
                }
            };
            let c = &mut counters[i];
            c.roll(at);
            // The room a share is taken of, fixed until the next sync.
            if c.room_at_sync.is_none() {
                c.room_at_sync = Some(limit.limit as f64 - c.estimate_at(at));
            }
            picked.push(i);
        }
        let replicas = self.replicas.load(Ordering::Relaxed);
        let sync_ms = self.sync_ms.load(Ordering::Relaxed);
        let mut refused = None;
        for (limit, i) in limits.iter().zip(&picked) {
            let c = &counters[*i];
            if c.estimate_at(at) + need as f64 > limit.limit as f64 + EPSILON {
                refused = Some((limit, *i, c.next_fit(limit.limit, need, at)));
                break;
            }
            // Past this replica's share until the next sync: the others may be using the
            // rest. (A first use always passes, so a cost larger than the share can pass.)
            if c.since_sync > 0 && c.since_sync + need > c.share(limit.limit, replicas, sync_ms, at)
            {
                refused = Some((limit, *i, at + sync_ms));
                break;
            }
        }
        if let Some((limit, i, retry_at)) = refused {
            let counter = &counters[i];
            return Some(Outcome {
                admitted: false,
                answer: RateLimitAnswer {
                    name: limit.name.clone(),
                    limit: limit.limit,
                    remaining: remaining(limit.limit, counter.estimate_at(at)),
                    reset: timestamp(counter.reset(at)),
                    // A cost larger than the limit never fits: no time is given.
                    retry_after_secs: (need <= limit.limit)
                        .then(|| ((retry_at - at).max(1) as u64).div_ceil(1000)),
                },
            });
        }
        let mut tightest: Option<(u64, &RateLimit, usize)> = None;
        for (limit, i) in limits.iter().zip(&picked) {
            let counter = &mut counters[*i];
            counter.limit = limit.limit;
            if cost > 0 {
                counter.current.local.add(cost, at);
                counter.since_sync += cost;
            }
            let left = remaining(limit.limit, counter.estimate_at(at));
            if tightest.is_none_or(|(l, _, _)| left < l) {
                tightest = Some((left, limit, *i));
            }
        }
        let (left, limit, i) = tightest?;
        Some(Outcome {
            admitted: true,
            answer: RateLimitAnswer {
                name: limit.name.clone(),
                limit: limit.limit,
                remaining: left,
                reset: timestamp(counters[i].reset(at)),
                retry_after_secs: None,
            },
        })
    }

    /// Takes back a use [`acquire`](Self::acquire) counted (its credits then ran short).
    pub fn release(&self, key_id: &str, limits: &[RateLimit], cost: u64, now: Timestamp) {
        let at = now.as_millisecond();
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let Some(counters) = all.get_mut(key_id) else {
            return;
        };
        for limit in limits {
            let window_ms = window_ms(limit);
            if let Some(c) = counters
                .iter_mut()
                .find(|c| c.name == limit.name && c.window_ms == window_ms)
            {
                c.roll(at);
                c.current.local.count = c.current.local.count.saturating_sub(cost);
                c.since_sync = c.since_sync.saturating_sub(cost);
            }
        }
    }

    /// This replica's counts the database does not have yet, for the windows still in use.
    pub fn unsynced(&self, now: Timestamp) -> Vec<RateCount> {
        let at = now.as_millisecond();
        let all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (key_id, counters) in all.iter() {
            for c in counters {
                for w in [&c.previous, &c.current] {
                    if w.local.count != w.synced && w.start + 2 * c.window_ms > at {
                        out.push(RateCount {
                            key_id: key_id.clone(),
                            name: c.name.clone(),
                            window_start: w.start,
                            window_ms: c.window_ms,
                            count: w.local.count,
                            first_at: w.local.first,
                            last_at: w.local.last,
                        });
                    }
                }
            }
        }
        out
    }

    /// Notes that the database now holds `written` (counts taken by [`unsynced`](Self::unsynced)).
    pub fn synced(&self, written: &[RateCount]) {
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for w in written {
            if let Some(window) = all.get_mut(&w.key_id).and_then(|cs| {
                cs.iter_mut()
                    .find(|c| c.name == w.name && c.window_ms == w.window_ms)
                    .and_then(|c| {
                        [&mut c.current, &mut c.previous]
                            .into_iter()
                            .find(|win| win.start == w.window_start)
                    })
            }) {
                window.synced = w.count;
            }
        }
    }

    /// After a sync: replaces the other replicas' counts with `others` (their sums per window,
    /// as just read; a window not among them has none), notes how many replicas are alive and
    /// how often they sync, starts each counter's share afresh, and forgets counters whose
    /// windows are all over.
    pub fn merge_remote(
        &self,
        others: &[RateCount],
        replicas: usize,
        every: std::time::Duration,
        now: Timestamp,
    ) {
        self.replicas.store(replicas.max(1), Ordering::Relaxed);
        self.sync_ms.store(
            i64::try_from(every.as_millis()).unwrap_or(1000).max(1),
            Ordering::Relaxed,
        );
        let at = now.as_millisecond();
        let mut by_window: HashMap<(&str, &str, i64, i64), Span> = HashMap::new();
        for r in others {
            by_window.insert(
                (
                    r.key_id.as_str(),
                    r.name.as_str(),
                    r.window_ms,
                    r.window_start,
                ),
                Span::from(r),
            );
        }
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        // Counters this replica has not seen yet: a verify here must know the others' uses.
        for r in others {
            let counters = all.entry(r.key_id.clone()).or_default();
            if !counters
                .iter()
                .any(|c| c.name == r.name && c.window_ms == r.window_ms)
            {
                counters.push(Counter::new(&r.name, r.window_ms, at));
            }
        }
        for (key_id, counters) in all.iter_mut() {
            for c in counters.iter_mut() {
                c.roll(at);
                for w in [&mut c.current, &mut c.previous] {
                    w.remote = by_window
                        .get(&(key_id.as_str(), c.name.as_str(), c.window_ms, w.start))
                        .copied()
                        .unwrap_or_default();
                }
                c.since_sync = 0;
                c.room_at_sync = (c.limit > 0).then(|| c.limit as f64 - c.estimate_at(at));
            }
            counters.retain(|c| {
                [&c.current, &c.previous]
                    .iter()
                    .any(|w| w.total().count > 0 || w.local.count != w.synced)
            });
        }
        all.retain(|_, counters| !counters.is_empty());
        self.has_synced.store(true, Ordering::Release);
    }

    /// Whether no counter is kept (nothing to share).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many counters are kept (a metric).
    pub fn len(&self) -> usize {
        let all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        all.values().map(Vec::len).sum()
    }
}

fn window_ms(limit: &RateLimit) -> i64 {
    i64::try_from(limit.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}

fn remaining(limit: u64, estimate: f64) -> u64 {
    let left = limit as f64 - estimate + EPSILON;
    if left <= 0.0 {
        0
    } else {
        (left.floor() as u64).min(limit)
    }
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(name: &str, limit: u64, window_secs: u64) -> RateLimit {
        RateLimit {
            name: name.to_owned(),
            limit,
            window_secs,
        }
    }

    const ONE_SECOND: std::time::Duration = std::time::Duration::from_secs(1);

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn admitted(r: &RateLimiter, limits: &[RateLimit], cost: u64, t: i64) -> bool {
        r.acquire("key_a", limits, cost, at(t)).unwrap().admitted
    }

    #[test]
    fn a_burst_gets_the_limit_and_leaves_one_window_later() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        let t0 = 1_700_000_030_500;
        let passed = (0..12).filter(|_| admitted(&r, &limits, 1, t0)).count();
        assert_eq!(passed, 10);
        let refused = r.acquire("key_a", &limits, 1, at(t0)).unwrap();
        assert_eq!(refused.answer.remaining, 0);
        assert_eq!(refused.answer.reset, at(t0 + 60_000));
        assert_eq!(refused.answer.retry_after_secs, Some(60));
        assert!(!admitted(&r, &limits, 1, t0 + 59_999));
        assert!(admitted(&r, &limits, 1, t0 + 60_000));
    }

    #[test]
    fn steady_use_slides_rather_than_resetting_at_the_boundary() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 60, 60)];
        // One a second for a minute fills the limit.
        let start = 1_700_000_040_000;
        for s in 0..60 {
            assert!(admitted(&r, &limits, 1, start + s * 1000), "second {s}");
        }
        // A fixed window would start afresh at the boundary; the sliding one lets through
        // about as many as have left.
        let later = start + 70_000;
        let passed = (0..60).filter(|_| admitted(&r, &limits, 1, later)).count();
        assert!((9..=11).contains(&passed), "{passed}");
    }

    #[test]
    fn every_limit_must_have_room_and_a_refusal_counts_nothing() {
        let r = RateLimiter::default();
        let limits = [limit("burst", 3, 1), limit("daily", 5, 86_400)];
        let t = 1_700_000_000_000;
        assert!((0..3).all(|_| admitted(&r, &limits, 1, t)));
        let refused = r.acquire("key_a", &limits, 1, at(t)).unwrap();
        assert!(!refused.admitted);
        assert_eq!(refused.answer.name, "burst");
        // A second later the burst limit has room; the daily one has two left, not fewer.
        let ok = r.acquire("key_a", &limits, 1, at(t + 1000)).unwrap();
        assert!(ok.admitted);
        assert_eq!((ok.answer.name.as_str(), ok.answer.remaining), ("daily", 1));
    }

    #[test]
    fn cost_zero_checks_and_a_cost_is_spent_whole() {
        let r = RateLimiter::default();
        let limits = [limit("units", 10, 60)];
        let t = 1_700_000_000_000;
        assert!(admitted(&r, &limits, 7, t));
        assert!(!admitted(&r, &limits, 4, t));
        assert!(admitted(&r, &limits, 0, t));
        assert!(admitted(&r, &limits, 3, t));
        assert!(!admitted(&r, &limits, 0, t));
        r.release("key_a", &limits, 3, at(t));
        assert!(admitted(&r, &limits, 0, t));
    }

    #[test]
    fn other_replicas_counts_take_room_and_are_replaced_each_read() {
        let a = RateLimiter::default();
        let b = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        let t = 1_700_000_000_000;
        assert!((0..6).all(|_| admitted(&a, &limits, 1, t)));
        let counts = a.unsynced(at(t));
        assert_eq!(counts.len(), 1);
        assert_eq!(counts[0].count, 6);
        a.synced(&counts);
        assert!(a.unsynced(at(t)).is_empty());
        b.merge_remote(&counts, 1, ONE_SECOND, at(t + 10));
        let passed = (0..10).filter(|_| admitted(&b, &limits, 1, t + 20)).count();
        assert_eq!(passed, 4);
        // The others' counts are replaced, not added to, by the next read.
        b.merge_remote(&counts, 1, ONE_SECOND, at(t + 30));
        assert!(!admitted(&b, &limits, 1, t + 40));
    }

    #[test]
    fn idle_counters_are_forgotten() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 10, 1)];
        let t = 1_700_000_000_000;
        assert!(admitted(&r, &limits, 1, t));
        r.synced(&r.unsynced(at(t)));
        r.merge_remote(&[], 1, ONE_SECOND, at(t + 5_000));
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn two_replicas_flooded_at_once_share_the_limit() {
        let a = RateLimiter::default();
        let b = RateLimiter::default();
        let limits = [limit("requests", 100, 60)];
        let t = 1_700_000_000_000;
        // Both know of the other from a first sync with nothing counted.
        a.merge_remote(&[], 2, ONE_SECOND, at(t));
        b.merge_remote(&[], 2, ONE_SECOND, at(t));
        let passed =
            |r: &RateLimiter, t: i64| (0..200).filter(|_| admitted(r, &limits, 1, t)).count();
        let (at_a, at_b) = (passed(&a, t + 1), passed(&b, t + 1));
        assert_eq!((at_a, at_b), (50, 50));
        // A sync later each knows the other's: nothing more fits.
        let (ca, cb) = (a.unsynced(at(t + 1000)), b.unsynced(at(t + 1000)));
        a.merge_remote(&cb, 2, ONE_SECOND, at(t + 1000));
        b.merge_remote(&ca, 2, ONE_SECOND, at(t + 1000));
        assert_eq!(passed(&a, t + 1001) + passed(&b, t + 1001), 0);
    }

    #[test]
    fn a_burst_at_one_of_two_replicas_gets_its_share_then_the_rest_over_syncs() {
        let a = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        let t = 1_700_000_000_000;
        a.merge_remote(&[], 2, ONE_SECOND, at(t));
        let passed = (0..12).filter(|_| admitted(&a, &limits, 1, t + 1)).count();
        assert_eq!(passed, 5);
        let refused = a.acquire("key_a", &limits, 1, at(t + 1)).unwrap();
        assert_eq!(refused.answer.retry_after_secs, Some(1));
        let mut total = passed;
        for sync in 1..=10 {
            a.merge_remote(&[], 2, ONE_SECOND, at(t + sync * 1000));
            total += (0..12)
                .filter(|_| admitted(&a, &limits, 1, t + sync * 1000 + 1))
                .count();
        }
        assert_eq!(total, 10);
    }
}
