//! Per-key rate limits, counted in memory on the verify path (no database write per verify)
//! and shared between servers through the database every `ratelimit_sync`
//! (see [`crate::server::workers::ratelimit_sync`]).
//!
//! **The count.** Each limit counts in fixed windows aligned to the epoch (a multiple of its
//! length). A window's admissions are taken as spread evenly between the first and the last of
//! them; the estimate at `t` is the share of each window's admissions that lies after
//! `t − window`. That is the usual sliding window (the current window plus a weighted share of
//! the previous one), weighted by when the previous window's uses happened rather than by the
//! whole window: a burst at one instant leaves the window exactly one window later.
//!
//! **Across servers: reservations.** Every `ratelimit_sync` each server takes part in a round,
//! one server at a time (a write transaction under a lock of its own): it reads what the others
//! counted and what each has *reserved*, writes its own counts, and reserves for itself part of
//! the room left (the limit, less every use counted, less the others' reservations): its fair
//! share, the room over the number of servers alive, at least one use where there is room.
//! Until its next round it admits only what it reserved. Since rounds take turns and every use
//! happens inside a reservation every other server could see, the servers together never
//! admit more than one server alone would: **no overshoot**, however the traffic is spread,
//! bursts included. The price: a server's first use of a limit waits for a round (one database
//! transaction), a burst at one of several servers gets its whole limit over a few rounds as
//! the others' unused reservations come back, and a server not heard from for three rounds is
//! taken as gone (its reservation is given back to the others).
//!
//! **Without the database** a server goes on counting, as if it were alone, once its last round
//! is three rounds old: accuracy suffers (each server may then admit the limit), verify never
//! waits. With one server alive there is nothing to share and it admits by its count alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::api::{RateLimit, RateLimitAnswer};
use crate::server::store::{RateCount, RateRound};

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
    /// The limit as last used here (0: not used here, only seen in the others' counts).
    limit: u64,
    /// Every use admitted here, ever (less those given back): what a reservation is spent from.
    admitted: u64,
    /// What the last round reserved for this server, and `admitted` as that round counted it.
    reserved: Option<(u64, u64)>,
    /// When a verify here last asked about it.
    touched: i64,
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
            admitted: 0,
            reserved: None,
            touched: now,
        }
    }

    /// Moves the windows on to the one holding `now`; never back: a time read before a wait
    /// (a round, a credits write) may belong to a window already left, and its use then counts
    /// in the current one.
    fn roll(&mut self, now: i64) {
        let start = now.div_euclid(self.window_ms) * self.window_ms;
        if start <= self.current.start {
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

    /// What is left of this server's reservation, if it has one.
    fn unreserved(&self) -> Option<u64> {
        self.reserved
            .map(|(reserved, at)| reserved.saturating_sub(self.admitted.saturating_sub(at)))
    }
}

/// Rounding slack: estimates are fractions, limits whole numbers.
const EPSILON: f64 = 1e-9;

/// A verify's outcome on a key's limits.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The use was admitted (and counted); the tightest limit.
    Admitted(RateLimitAnswer),
    /// Refused, nothing counted; the limit that refused.
    Refused(RateLimitAnswer),
    /// Several servers share the limit and this one holds no reservation for it yet: a round
    /// must come first (then [`RateLimiter::acquire`] again, with `after_round`).
    NeedsRound,
}

/// A counter's name: key id, limit name, window in milliseconds.
type CounterId = (String, String, i64);

/// What a round planned, applied once its transaction has committed.
#[derive(Debug)]
struct Plan {
    /// The round's number (see [`RateLimiter::begin_round`]): only its own round applies or
    /// drops a plan.
    seq: u64,
    /// When the round began, before it waited for its turn: the others see this server alive
    /// from then, so it trusts its reservations from then too.
    started: Instant,
    /// When the round read.
    at: i64,
    replicas: usize,
    /// Per counter (key id, limit name, window): the reservation (`None`: given back, the next
    /// use asks for a round) and `admitted` when counted.
    reserved: Vec<(CounterId, Option<u64>, u64)>,
    /// The counts written, per counter window: so the next round writes only what changed.
    written: Vec<(CounterId, i64, u64)>,
}

/// The counters of every rate-limited key this server has seen lately.
#[derive(Debug)]
pub struct RateLimiter {
    /// This process's name in the shared counts (random: a restarted server is a new one, and
    /// its old counts are read back as another's, its old reservation forgotten with it).
    replica: String,
    counters: Mutex<HashMap<String, Vec<Counter>>>,
    /// How the last round went: servers alive, and when it committed.
    last_round: Mutex<Option<(usize, Instant)>>,
    /// When a round last failed (cleared by one that commits): a verify does not wait on the
    /// database for a round of its own while it is failing.
    last_failure: Mutex<Option<Instant>>,
    /// The round interval (a round older than three of them counts as none).
    every: Mutex<Duration>,
    /// Planned by the round in progress.
    plan: Mutex<Option<Plan>>,
    /// One round at a time in this process.
    pub(crate) round_lock: tokio::sync::Mutex<()>,
    /// Rounds begun here, and the number of the last one that ended (committed or failed): a
    /// verify that waited for a round skips its own when one begun after it asked has ended
    /// meanwhile.
    rounds_begun: AtomicU64,
    round_ended: AtomicU64,
    /// When a verify last had a round run for a reservation that ran short (at most ten a
    /// round interval: a flood past a limit must not make one a verify).
    last_on_demand: Mutex<Option<Instant>>,
    /// Whether a round has committed since this server started.
    has_synced: AtomicBool,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            replica: format!("r_{}", crate::secret::random_base62(12)),
            counters: Mutex::default(),
            last_round: Mutex::default(),
            last_failure: Mutex::default(),
            every: Mutex::new(Duration::from_secs(1)),
            plan: Mutex::default(),
            round_lock: tokio::sync::Mutex::new(()),
            rounds_begun: AtomicU64::new(0),
            round_ended: AtomicU64::new(0),
            last_on_demand: Mutex::default(),
            has_synced: AtomicBool::new(false),
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RateLimiter {
    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn has_synced(&self) -> bool {
        self.has_synced.load(Ordering::Acquire)
    }

    /// Whether several servers share the limits now: the last round saw others alive and is
    /// recent enough to trust.
    fn shared(&self) -> bool {
        let every = *locked(&self.every);
        locked(&self.last_round).is_some_and(|(n, at)| n > 1 && at.elapsed() < every * 3)
    }

    /// Whether a verify may have a round run for a reservation that ran short: at most one
    /// such round every tenth of the round interval.
    fn on_demand_allowed(&self, every_ms: i64) -> bool {
        let mut last = locked(&self.last_on_demand);
        let gap = Duration::from_millis(u64::try_from(every_ms / 10).unwrap_or(100));
        if last.is_some_and(|at| at.elapsed() < gap) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Counts a use costing `cost` against every one of `limits` if all of them have room for
    /// `max(cost, 1)` (a cost of 0 only checks); counts nothing if one has not. Where several
    /// servers share the limits, a use also needs room in this server's reservation; without
    /// one, or short of one while the limit has room, the answer is [`Outcome::NeedsRound`]
    /// (short: at most ten a round interval), unless `after_round` (one was just tried): then
    /// it is refused until a round gives room. Only once rounds have failed for three
    /// intervals does this server count alone.
    pub fn acquire(
        &self,
        key_id: &str,
        limits: &[RateLimit],
        cost: u64,
        now: Timestamp,
        after_round: bool,
    ) -> Option<Outcome> {
        if limits.is_empty() {
            return None;
        }
        let at = now.as_millisecond();
        let need = cost.max(1);
        let every_ms = i64::try_from(locked(&self.every).as_millis()).unwrap_or(1000);
        let mut all = locked(&self.counters);
        // Read under the counters' lock, which a round holds while it makes this server shared.
        let shared = self.shared();
        // A key used for the first time since it was seen costs one allocation; after that,
        // a lookup by `&str`.
        let counters = match all.get_mut(key_id) {
            Some(c) => c,
            None => all.entry(key_id.to_owned()).or_default(),
        };
        let mut picked = Vec::with_capacity(limits.len());
        let mut unreserved = false;
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
            c.limit = limit.limit;
            c.touched = at;
            unreserved |= c.reserved.is_none();
            picked.push(i);
        }
        if shared && unreserved && !after_round {
            return Some(Outcome::NeedsRound);
        }
        for (limit, i) in limits.iter().zip(&picked) {
            let c = &counters[*i];
            let over = c.estimate_at(at) + need as f64 > limit.limit as f64 + EPSILON;
            let short = !over && shared && c.unreserved().is_none_or(|left| left < need);
            if short && !after_round && self.on_demand_allowed(every_ms) {
                // The limit has room, but not this server's reservation: a round may bring
                // some (the others give back what they do not use).
                return Some(Outcome::NeedsRound);
            }
            let retry_at = if over {
                Some(c.next_fit(limit.limit, need, at))
            } else if short {
                // The rest is reserved by other servers, or not yet given out.
                Some(at + every_ms)
            } else {
                None
            };
            if let Some(retry_at) = retry_at {
                // Refused for want of a reservation, the answer says none remains here until
                // the retry, rather than a remaining and a reset that the refusal contradicts.
                let (left, reset) = if short {
                    (0, c.reset(at).max(retry_at))
                } else {
                    (remaining(limit.limit, c.estimate_at(at)), c.reset(at))
                };
                return Some(Outcome::Refused(RateLimitAnswer {
                    name: limit.name.clone(),
                    limit: limit.limit,
                    remaining: left,
                    reset: timestamp(reset),
                    // A cost larger than the limit never fits: no time is given.
                    retry_after_secs: (need <= limit.limit)
                        .then(|| ((retry_at - at).max(1) as u64).div_ceil(1000)),
                }));
            }
        }
        let mut tightest: Option<(u64, &RateLimit, usize)> = None;
        for (limit, i) in limits.iter().zip(&picked) {
            let counter = &mut counters[*i];
            if cost > 0 {
                counter.current.local.add(cost, at);
                counter.admitted += cost;
            }
            let left = remaining(limit.limit, counter.estimate_at(at));
            if tightest.is_none_or(|(l, _, _)| left < l) {
                tightest = Some((left, limit, *i));
            }
        }
        let (left, limit, i) = tightest?;
        Some(Outcome::Admitted(RateLimitAnswer {
            name: limit.name.clone(),
            limit: limit.limit,
            remaining: left,
            reset: timestamp(counters[i].reset(at)),
            retry_after_secs: None,
        }))
    }

    /// Takes back a use [`acquire`](Self::acquire) counted (its credits then ran short).
    pub fn release(&self, key_id: &str, limits: &[RateLimit], cost: u64, now: Timestamp) {
        let at = now.as_millisecond();
        let mut all = locked(&self.counters);
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
                c.admitted = c.admitted.saturating_sub(cost);
            }
        }
    }

    /// A round, inside its transaction: takes in what the other servers counted and reserved
    /// (`round`), plans this server's reservations, and returns the rows to write (this
    /// server's counts and reservations). Nothing changes for verify until [`Self::committed`].
    pub fn plan_round(
        &self,
        round: &RateRound,
        now: Timestamp,
        seq: u64,
        started: Instant,
    ) -> Vec<RateCount> {
        let at = now.as_millisecond();
        let every_ms = i64::try_from(locked(&self.every).as_millis()).unwrap_or(1000);
        let mut counts: HashMap<(&str, &str, i64, i64), Span> = HashMap::new();
        let mut latest: HashMap<(&str, &str, i64, &str), (i64, u64)> = HashMap::new();
        for r in &round.others {
            let span = counts
                .entry((&r.key_id, &r.name, r.window_ms, r.window_start))
                .or_default();
            *span = span.joined(Span::from(r));
            let newest = latest
                .entry((&r.key_id, &r.name, r.window_ms, &r.replica))
                .or_insert((r.window_start, r.reserved));
            if r.window_start > newest.0 {
                *newest = (r.window_start, r.reserved);
            }
        }
        let mut others_reserved: HashMap<(&str, &str, i64), u64> = HashMap::new();
        for ((key, name, window, _), (_, reserved)) in &latest {
            *others_reserved.entry((key, name, *window)).or_default() += reserved;
        }
        let replicas = round.replicas.max(1);
        let mut plan = Plan {
            seq,
            started,
            at,
            replicas,
            reserved: Vec::new(),
            written: Vec::new(),
        };
        let mut rows = Vec::new();
        let mut all = locked(&self.counters);
        // Counters only the others have used: verify here must know their counts.
        for r in &round.others {
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
                    w.remote = counts
                        .get(&(key_id.as_str(), c.name.as_str(), c.window_ms, w.start))
                        .copied()
                        .unwrap_or_default();
                }
                if c.limit == 0 {
                    continue;
                }
                let id: CounterId = (key_id.clone(), c.name.clone(), c.window_ms);
                // The room: the limit less every use counted, less what the others reserved;
                // this server's share of it: the room over the servers alive, at least one.
                let left = (c.limit as f64 - c.estimate_at(at)).max(0.0);
                let theirs = others_reserved
                    .get(&(key_id.as_str(), c.name.as_str(), c.window_ms))
                    .copied()
                    .unwrap_or(0) as f64;
                let room = (left - theirs).max(0.0);
                let share = (left / replicas as f64).max(1.0);
                let reserved = if replicas == 1 {
                    // Alone, a server admits by its count, which later may pass what it could
                    // reserve now (uses leave the window): it reserves the whole limit, so that a
                    // server joining before its next round gets nothing until then.
                    Some(c.limit)
                } else if round.others_alone {
                    // Another server still counts alone, by limits it has not published: none
                    // of the room is known to be free until it has had a round with the others.
                    Some(0)
                } else if c.touched + 2 * every_ms < at {
                    // Not used here for two rounds: what it held goes back to the others, and
                    // its next use here asks for a round.
                    None
                } else {
                    Some((room.min(share) + EPSILON).floor() as u64)
                };
                let publish = reserved.unwrap_or(0);
                // Verifies go on while the round's transaction is open, against what this
                // server published before. What it publishes now counts their uses from here
                // as spent from the new reservation, so until the commit they may spend only
                // what both allow: a reservation shrinks at once, and grows at the commit.
                let before = c.unreserved().unwrap_or(0);
                c.reserved = Some((before.min(publish), c.admitted));
                plan.reserved.push((id.clone(), reserved, c.admitted));
                for w in [&c.previous, &c.current] {
                    let is_current = w.start == c.current.start;
                    if !is_current && w.local.count == w.synced {
                        continue;
                    }
                    plan.written.push((id.clone(), w.start, w.local.count));
                    rows.push(RateCount {
                        key_id: key_id.clone(),
                        name: c.name.clone(),
                        replica: self.replica.clone(),
                        window_start: w.start,
                        window_ms: c.window_ms,
                        count: w.local.count,
                        first_at: w.local.first,
                        last_at: w.local.last,
                        reserved: if is_current { publish } else { 0 },
                    });
                }
            }
        }
        if replicas > 1 {
            // Shared from now: a server that was alone counts by reservations during the
            // transaction too.
            *locked(&self.last_round) = Some((replicas, Instant::now()));
        }
        *locked(&self.plan) = Some(plan);
        rows
    }

    /// The round's transaction committed: its reservations hold from now, and forgotten are
    /// the counters whose windows are all over.
    pub fn committed(&self, every: Duration, seq: u64) {
        let Some(plan) = take_plan(&self.plan, seq) else {
            return;
        };
        *locked(&self.every) = every;
        let mut all = locked(&self.counters);
        for ((key_id, name, window_ms), reserved, admitted) in plan.reserved {
            if let Some(c) = all.get_mut(&key_id).and_then(|cs| {
                cs.iter_mut()
                    .find(|c| c.name == name && c.window_ms == window_ms)
            }) {
                c.reserved = reserved.map(|r| (r, admitted));
            }
        }
        for ((key_id, name, window_ms), start, count) in plan.written {
            if let Some(c) = all.get_mut(&key_id).and_then(|cs| {
                cs.iter_mut()
                    .find(|c| c.name == name && c.window_ms == window_ms)
            }) {
                for w in [&mut c.current, &mut c.previous] {
                    if w.start == start {
                        w.synced = count;
                    }
                }
            }
        }
        for counters in all.values_mut() {
            // Unused here for two windows and nothing counted: forgotten (a reservation
            // lapses with its rows).
            counters.retain(|c| {
                c.touched + 2 * c.window_ms > plan.at
                    || [&c.current, &c.previous]
                        .iter()
                        .any(|w| w.total().count > 0 || w.local.count != w.synced)
            });
        }
        all.retain(|_, counters| !counters.is_empty());
        *locked(&self.last_round) = Some((plan.replicas, plan.started));
        locked(&self.last_failure).take();
        self.has_synced.store(true, Ordering::Release);
    }

    /// The number of the last round begun here: a round numbered above it began later.
    pub fn rounds_begun(&self) -> u64 {
        self.rounds_begun.load(Ordering::Acquire)
    }

    /// A round begins: its number.
    pub fn begin_round(&self) -> u64 {
        self.rounds_begun.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Round `seq` ended, committed or not.
    pub fn end_round(&self, seq: u64) {
        self.round_ended.fetch_max(seq, Ordering::AcqRel);
    }

    /// Whether a round begun after `asked` (a [`Self::rounds_begun`]) has ended.
    pub fn round_since(&self, asked: u64) -> bool {
        self.round_ended.load(Ordering::Acquire) > asked
    }

    /// Round `seq` failed (or was dropped): nothing it planned holds. Another round's plan is
    /// left alone.
    pub fn abandoned(&self, seq: u64) {
        take_plan(&self.plan, seq);
        *locked(&self.last_failure) = Some(Instant::now());
    }

    /// The round interval, as the server is configured (before its first round too).
    pub fn set_every(&self, every: Duration) {
        *locked(&self.every) = every;
    }

    /// Whether a round failed within the last round interval.
    pub fn failing(&self) -> bool {
        let every = *locked(&self.every);
        locked(&self.last_failure).is_some_and(|at| at.elapsed() < every)
    }

    /// Whether no counter is kept (nothing to share).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many counters are kept (a metric).
    pub fn len(&self) -> usize {
        locked(&self.counters).values().map(Vec::len).sum()
    }
}

/// The plan in `slot`, if it is round `seq`'s.
fn take_plan(slot: &Mutex<Option<Plan>>, seq: u64) -> Option<Plan> {
    let mut slot = locked(slot);
    if slot.as_ref().is_some_and(|p| p.seq == seq) {
        slot.take()
    } else {
        None
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

    const ONE_SECOND: Duration = Duration::from_secs(1);
    const T0: i64 = 1_700_000_000_000;

    fn limit(name: &str, limit: u64, window_secs: u64) -> RateLimit {
        RateLimit {
            name: name.to_owned(),
            limit,
            window_secs,
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    /// Whether a use passes now (running no round: a use that needs one does not pass).
    fn admitted(r: &RateLimiter, limits: &[RateLimit], cost: u64, t: i64) -> bool {
        matches!(
            r.acquire("key_a", limits, cost, at(t), false),
            Some(Outcome::Admitted(_))
        )
    }

    fn answer(outcome: Option<Outcome>) -> RateLimitAnswer {
        match outcome {
            Some(Outcome::Admitted(a) | Outcome::Refused(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    /// The database's rows, as rounds taking turns see them, and which servers counted alone
    /// at their last round.
    #[derive(Default)]
    struct Db {
        rows: Vec<RateCount>,
        alone: HashMap<String, bool>,
    }

    impl Db {
        /// `server`'s round at `t`, `replicas` alive.
        fn round(&mut self, server: &RateLimiter, replicas: usize, t: i64) {
            self.round_with(server, replicas, t, || {});
        }

        /// A round during whose transaction `meanwhile` runs (verifies go on meanwhile).
        fn round_with(
            &mut self,
            server: &RateLimiter,
            replicas: usize,
            t: i64,
            meanwhile: impl FnOnce(),
        ) {
            let others = self
                .rows
                .iter()
                .filter(|r| r.replica != server.replica())
                .cloned()
                .collect();
            let others_alone = self
                .alone
                .iter()
                .any(|(r, alone)| r != server.replica() && *alone && replicas > 1);
            self.alone
                .insert(server.replica().to_owned(), replicas == 1);
            let seq = server.begin_round();
            let round = RateRound {
                others,
                replicas,
                others_alone,
            };
            let mine = server.plan_round(&round, at(t), seq, Instant::now());
            for mut row in mine {
                row.replica = server.replica().to_owned();
                self.rows.retain(|r| {
                    (&r.key_id, &r.name, r.window_ms, r.window_start, &r.replica)
                        != (
                            &row.key_id,
                            &row.name,
                            row.window_ms,
                            row.window_start,
                            &row.replica,
                        )
                });
                self.rows.push(row);
            }
            meanwhile();
            server.committed(ONE_SECOND, seq);
            server.end_round(seq);
        }
    }

    #[test]
    fn a_burst_gets_the_limit_and_leaves_one_window_later() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        let t0 = T0 + 30_500;
        let passed = (0..12).filter(|_| admitted(&r, &limits, 1, t0)).count();
        assert_eq!(passed, 10);
        let refused = answer(r.acquire("key_a", &limits, 1, at(t0), false));
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset, at(t0 + 60_000));
        assert_eq!(refused.retry_after_secs, Some(60));
        assert!(!admitted(&r, &limits, 1, t0 + 59_999));
        assert!(admitted(&r, &limits, 1, t0 + 60_000));
    }

    #[test]
    fn steady_use_slides_rather_than_resetting_at_the_boundary() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 60, 60)];
        let start = T0 + 40_000;
        for s in 0..60 {
            assert!(admitted(&r, &limits, 1, start + s * 1000), "second {s}");
        }
        // A fixed window would start afresh at the boundary; the sliding one lets through
        // about as many as have left.
        let passed = (0..60)
            .filter(|_| admitted(&r, &limits, 1, start + 70_000))
            .count();
        assert!((9..=11).contains(&passed), "{passed}");
    }

    #[test]
    fn every_limit_must_have_room_and_a_refusal_counts_nothing() {
        let r = RateLimiter::default();
        let limits = [limit("burst", 3, 1), limit("daily", 5, 86_400)];
        assert!((0..3).all(|_| admitted(&r, &limits, 1, T0)));
        let refused = r.acquire("key_a", &limits, 1, at(T0), false);
        assert!(matches!(&refused, Some(Outcome::Refused(a)) if a.name == "burst"));
        // A second later the burst limit has room; the daily one has two left, not fewer.
        let ok = answer(r.acquire("key_a", &limits, 1, at(T0 + 1000), false));
        assert_eq!((ok.name.as_str(), ok.remaining), ("daily", 1));
    }

    #[test]
    fn cost_zero_checks_and_a_cost_is_spent_whole() {
        let r = RateLimiter::default();
        let limits = [limit("units", 10, 60)];
        assert!(admitted(&r, &limits, 7, T0));
        assert!(!admitted(&r, &limits, 4, T0));
        assert!(admitted(&r, &limits, 0, T0));
        assert!(admitted(&r, &limits, 3, T0));
        assert!(!admitted(&r, &limits, 0, T0));
        r.release("key_a", &limits, 3, at(T0));
        assert!(admitted(&r, &limits, 0, T0));
        // Larger than the limit: never fits, and no time to retry is given.
        let never = answer(r.acquire("key_a", &limits, 11, at(T0), false));
        assert_eq!(never.retry_after_secs, None);
    }

    #[test]
    fn a_lone_server_reserves_the_whole_limit_and_counts_alone() {
        let db = &mut Db::default();
        let a = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        db.round(&a, 1, T0);
        assert_eq!(
            (0..12).filter(|_| admitted(&a, &limits, 1, T0 + 1)).count(),
            10
        );
        db.round(&a, 1, T0 + 1000);
        assert_eq!(db.rows.len(), 1);
        assert_eq!((db.rows[0].count, db.rows[0].reserved), (10, 10));
    }

    #[test]
    fn a_first_use_among_several_servers_waits_for_a_round() {
        let db = &mut Db::default();
        let a = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        db.round(&a, 2, T0);
        assert_eq!(
            a.acquire("key_a", &limits, 1, at(T0 + 1), false),
            Some(Outcome::NeedsRound)
        );
        db.round(&a, 2, T0 + 2);
        // Its share: half the room, the other half left to the other server.
        let passed = (0..12).filter(|_| admitted(&a, &limits, 1, T0 + 3)).count();
        assert_eq!(passed, 5);
        let refused = answer(a.acquire("key_a", &limits, 1, at(T0 + 3), false));
        assert_eq!(refused.retry_after_secs, Some(1));
        // The database away: after a round was tried and none came, a use without a
        // reservation is refused, not counted alone, while the last round is recent.
        let other = [limit("other", 10, 60)];
        assert_eq!(
            a.acquire("key_b", &other, 1, at(T0 + 4), false),
            Some(Outcome::NeedsRound)
        );
        let refused = a.acquire("key_b", &other, 1, at(T0 + 4), true);
        assert!(
            matches!(&refused, Some(Outcome::Refused(r)) if r.remaining == 0 && r.retry_after_secs == Some(1)),
            "{refused:?}"
        );
        // A server that has had no round for three intervals (here: none at all) counts alone.
        let lone = RateLimiter::default();
        assert!(matches!(
            lone.acquire("key_b", &other, 1, at(T0 + 4), true),
            Some(Outcome::Admitted(_))
        ));
    }

    /// A small deterministic generator, for interleavings.
    struct Mix(u64);

    impl Mix {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn servers_flooded_in_any_interleaving_of_rounds_never_pass_the_limit_together() {
        let limits = [limit("requests", 100, 3600)];
        for seed in 1..=200_u64 {
            let mut mix = Mix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let n = 2 + mix.below(3) as usize;
            let servers: Vec<RateLimiter> = (0..n).map(|_| RateLimiter::default()).collect();
            let db = &mut Db::default();
            for s in &servers {
                db.round(s, n, T0);
            }
            let mut passed = 0;
            let mut t = T0;
            for _ in 0..400 {
                t += 1 + mix.below(50) as i64;
                let s = &servers[mix.below(n as u64) as usize];
                if mix.below(4) == 0 {
                    // Verifies at that server while its round's transaction is open.
                    let during = mix.below(4);
                    let mut counted = 0;
                    db.round_with(s, n, t, || {
                        for _ in 0..during {
                            if let Some(Outcome::Admitted(_)) =
                                s.acquire("key_a", &limits, 1, at(t), false)
                            {
                                counted += 1;
                            }
                        }
                    });
                    passed += counted;
                } else {
                    match s.acquire("key_a", &limits, 1, at(t), false) {
                        Some(Outcome::Admitted(_)) => passed += 1,
                        Some(Outcome::NeedsRound) => db.round(s, n, t),
                        _ => {}
                    }
                }
            }
            assert!(passed <= 100, "seed {seed}, {n} servers: {passed} passed");
            assert!(
                passed >= 90,
                "seed {seed}, {n} servers: only {passed} passed"
            );
        }
    }

    #[test]
    fn a_burst_at_one_of_two_servers_gets_the_rest_as_the_other_gives_it_back() {
        let db = &mut Db::default();
        let (a, b) = (RateLimiter::default(), RateLimiter::default());
        let limits = [limit("requests", 10, 60)];
        db.round(&a, 2, T0);
        db.round(&b, 2, T0);
        let _ = a.acquire("key_a", &limits, 1, at(T0 + 1), false);
        db.round(&a, 2, T0 + 2);
        let mut total = (0..12).filter(|_| admitted(&a, &limits, 1, T0 + 3)).count();
        assert_eq!(total, 5);
        for second in 1..=10 {
            let t = T0 + second * 1000;
            db.round(&b, 2, t);
            db.round(&a, 2, t + 500);
            total += (0..12)
                .filter(|_| admitted(&a, &limits, 1, t + 501))
                .count();
        }
        assert_eq!(total, 10);
    }

    #[test]
    fn a_server_joining_one_that_was_alone_gets_nothing_until_that_ones_next_round() {
        let db = &mut Db::default();
        let (a, b) = (RateLimiter::default(), RateLimiter::default());
        let limits = [limit("requests", 10, 60)];
        db.round(&a, 1, T0);
        assert_eq!(
            (0..10).filter(|_| admitted(&a, &limits, 1, T0 + 1)).count(),
            10
        );
        // A, still alone, rounds while the burst counts; a minute on, the burst has left the
        // window and B joins, before A's next round.
        db.round(&a, 1, T0 + 30_000);
        let _ = b.acquire("key_a", &limits, 1, at(T0 + 60_600), false);
        db.round(&b, 2, T0 + 60_600);
        let at_a = (0..20)
            .filter(|_| admitted(&a, &limits, 1, T0 + 60_700))
            .count();
        let at_b = (0..20)
            .filter(|_| admitted(&b, &limits, 1, T0 + 60_700))
            .count();
        assert!(at_a + at_b <= 10, "{at_a} at A, {at_b} at B");
        assert_eq!(at_b, 0);
    }

    #[test]
    fn a_time_read_before_a_wait_never_forgets_the_window() {
        let r = RateLimiter::default();
        let limits = [limit("requests", 10, 60)];
        let boundary = T0 + 60_000 - T0.rem_euclid(60_000);
        assert!((0..10).all(|_| admitted(&r, &limits, 1, boundary + 10)));
        // A verify whose time was read just before the boundary arrives after it.
        assert!(!admitted(&r, &limits, 1, boundary - 5));
        r.release("key_a", &limits, 0, at(boundary - 5));
        assert!(!admitted(&r, &limits, 1, boundary + 20));
    }

    #[test]
    fn a_limit_whose_window_changed_is_written_as_a_counter_of_its_own() {
        let db = &mut Db::default();
        let r = RateLimiter::default();
        assert!(admitted(&r, &[limit("requests", 5, 60)], 1, T0));
        assert!(admitted(&r, &[limit("requests", 5, 120)], 1, T0));
        db.round(&r, 1, T0 + 1);
        let windows: Vec<i64> = db.rows.iter().map(|r| r.window_ms).collect();
        assert_eq!(windows.len(), 2, "{windows:?}");
        assert!(windows.contains(&60_000) && windows.contains(&120_000));
    }

    #[test]
    fn a_server_joining_one_alone_waits_even_for_a_limit_that_one_never_published() {
        let db = &mut Db::default();
        let (a, b) = (RateLimiter::default(), RateLimiter::default());
        let limits = [limit("requests", 10, 60)];
        // A rounds alone before the key is first used, then admits it by its count.
        db.round(&a, 1, T0);
        assert_eq!(
            (0..10).filter(|_| admitted(&a, &limits, 1, T0 + 1)).count(),
            10
        );
        // B joins: A is still marked alone, so B reserves nothing, whatever A published.
        let _ = b.acquire("key_a", &limits, 1, at(T0 + 2), false);
        db.round(&b, 2, T0 + 2);
        assert_eq!(
            (0..10).filter(|_| admitted(&b, &limits, 1, T0 + 3)).count(),
            0
        );
        // After A's round with B, B's next round sees A's count: still nothing left.
        db.round(&a, 2, T0 + 1000);
        db.round(&b, 2, T0 + 1001);
        assert_eq!(
            (0..10)
                .filter(|_| matches!(
                    b.acquire("key_a", &limits, 1, at(T0 + 1002), true),
                    Some(Outcome::Admitted(_))
                ))
                .count(),
            0
        );
    }

    #[test]
    fn idle_counters_are_forgotten() {
        let db = &mut Db::default();
        let r = RateLimiter::default();
        let limits = [limit("requests", 10, 1)];
        assert!(admitted(&r, &limits, 1, T0));
        db.round(&r, 1, T0);
        db.round(&r, 1, T0 + 5_000);
        assert_eq!(r.len(), 0);
    }
}
