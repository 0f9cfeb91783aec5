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

/// A round for a verify that needs one (this server's first rate-limited verify, or its first
/// use of a limit shared with other servers): skipped while rounds are failing, and given at
/// most half a second, so that a database that is away or slow delays such a verify that long
/// at most, and once; the verify then counts as if this server were alone.
pub async fn sync_for_verify(state: &AppState) {
    if state.ratelimits.failing() {
        return;
    }
    if tokio::time::timeout(Duration::from_millis(500), sync(state))
        .await
        .is_err()
    {
        state.ratelimits.abandoned();
        tracing::warn!("a rate-limit round for a verify took over 0.5 s; counting alone");
    }
}

/// Marks a round ended however it ends (committed, failed, or dropped at a verify's timeout).
struct EndRound<'a>(&'a crate::server::ratelimit::RateLimiter, u64);

impl Drop for EndRound<'_> {
    fn drop(&mut self) {
        self.0.end_round(self.1);
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
    let _ended = EndRound(limiter, seq);
    // A server not heard from for three rounds is taken as gone.
    let every = state.timing.ratelimit_sync;
    let alive_ms = i64::try_from(every.as_millis() * 3).unwrap_or(i64::MAX);
    let now = state.now();
    // The round plans with the time it reads at, once it has its turn.
    let plan = |round: &crate::server::store::RateRound| limiter.plan_round(round, state.now());
    let round = state
        .store
        .rate_round(limiter.replica(), now, alive_ms, &plan);
    match tokio::time::timeout(Duration::from_secs(5), round).await {
        Ok(Ok(())) => limiter.committed(every),
        Ok(Err(e)) => {
            limiter.abandoned();
            tracing::warn!(error = %e, "could not share rate-limit counts");
        }
        Err(_) => {
            limiter.abandoned();
            tracing::warn!("a rate-limit round took over 5 seconds; trying again");
        }
    }
}
