//! Shares this server's rate-limit counts with the others every `ratelimit_sync`: writes what
//! it counted since the last time, reads what the others counted (see [`crate::server::ratelimit`]).
//! A failed round is logged and retried at the next tick: verify goes on counting locally.

use std::time::Duration;

use tokio::sync::watch;

use crate::server::{AppState, SharedState};

/// Shares counts every `ratelimit_sync` until told to stop.
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

/// One round: this server's new counts out, the others' in. Bounded by a timeout, so that a
/// database that hangs delays the next round, never a verify.
pub async fn sync(state: &AppState) {
    let limiter = &state.ratelimits;
    let now = state.now();
    let counts = limiter.unsynced(now);
    // A replica not heard from for three rounds is taken as gone.
    let every = state.timing.ratelimit_sync;
    let alive_ms = i64::try_from(every.as_millis() * 3).unwrap_or(i64::MAX);
    let round = state
        .store
        .share_rate_counts(limiter.replica(), &counts, now, alive_ms);
    match tokio::time::timeout(Duration::from_secs(5), round).await {
        Ok(Ok((others, replicas))) => {
            limiter.synced(&counts);
            limiter.merge_remote(&others, replicas, every, state.now());
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not share rate-limit counts"),
        Err(_) => tracing::warn!("sharing rate-limit counts took over 5 seconds; retrying"),
    }
}
