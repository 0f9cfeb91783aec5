//! Rate-limit rounds, every `ratelimit_sync`: this server's counts out, the others' counts and
//! reservations in, and its own reservations for the time until the next round, one server at
//! a time (see [`crate::server::ratelimit`]). A failed round is logged and tried again at the
//! next tick: verify goes on, by the reservations it holds, then (once they are three rounds
//! old) as if this server were alone.

use std::time::Duration;

use tokio::sync::watch;

use crate::server::{AppState, SharedState};

/// A round every `ratelimit_sync` until told to stop.
pub async fn run(state: SharedState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.timing.ratelimit_sync);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => sync(&state).await,
            _ = stop.changed() => return,
        }
    }
}

/// A round for a verify that needs one (this server's first rate-limited verify, or a use of a
/// shared limit this server holds no room for): skipped while rounds are failing, and given at
/// most half a second (its turn included), so that a database that is away or slow delays such a
/// verify that long at most. Without a round the verify is refused until one gives room.
pub async fn sync_for_verify(state: &AppState) {
    if state.ratelimits.failing() {
        return;
    }
    if tokio::time::timeout(Duration::from_millis(500), sync(state))
        .await
        .is_err()
    {
        tracing::warn!("a rate-limit round for a verify took over 0.5 s");
    }
}

/// Ends a round however it ends: committed (`done`), failed, or dropped at a verify's timeout;
/// a round that did not commit drops its own plan, never another's.
struct EndRound<'a> {
    limiter: &'a crate::server::ratelimit::RateLimiter,
    seq: u64,
    done: bool,
}

impl Drop for EndRound<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.abandoned(self.seq);
        }
        self.limiter.end_round(self.seq);
    }
}

/// One round, one at a time in this process. A caller that waited while others ran skips its
/// own when one that began after it asked has committed (many first uses at once share one
/// round, rather than queueing one each). Bounded by a timeout, so that a database that hangs
/// delays rounds, never a verify past it.
pub async fn sync(state: &AppState) {
    let limiter = &state.ratelimits;
    let asked = limiter.rounds_begun();
    let _one = limiter.round_lock.lock().await;
    if limiter.round_since(asked) {
        return;
    }
    let seq = limiter.begin_round();
    let mut ended = EndRound {
        limiter,
        seq,
        done: false,
    };
    // A server not heard from for three rounds is taken as gone.
    let every = state.timing.ratelimit_sync;
    limiter.set_every(every);
    let alive_ms = i64::try_from(every.as_millis() * 3).unwrap_or(i64::MAX);
    let now = state.now();
    let started = std::time::Instant::now();
    // The round plans with the time it reads at, once it has its turn.
    let plan = |round: &crate::server::store::RateRound| {
        limiter.plan_round(round, state.now(), seq, started)
    };
    let round = state
        .store
        .rate_round(limiter.replica(), now, alive_ms, &plan);
    match tokio::time::timeout(Duration::from_secs(5), round).await {
        Ok(Ok(())) => {
            limiter.committed(every, seq);
            ended.done = true;
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not share rate-limit counts"),
        Err(_) => tracing::warn!("a rate-limit round took over 5 seconds; trying again"),
    }
}
