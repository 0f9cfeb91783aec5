//! The purger: access tokens past their expiry, Idempotency-Key records past their retention,
//! change feed rows every server has long read and, with a retention set, old audit events are
//! deleted on a schedule, so no table grows for ever; and the query planner's statistics are
//! kept current.

use jiff::SignedDuration;

use crate::server::AppState;

/// How long change feed rows are kept. A follower reads the feed every fraction of a second;
/// one cut off for longer starts afresh anyway (see `follower`).
const CHANGE_RETENTION: SignedDuration = SignedDuration::from_hours(1);

/// Deletes what has expired as of now; failures are logged and retried at the next tick.
pub async fn run(state: &AppState) {
    let now = state.now();
    match state
        .store
        .purge(now, now - state.timing.idempotency_retention)
        .await
    {
        Ok((tokens, idempotency)) if tokens + idempotency > 0 => {
            tracing::info!(tokens, idempotency, "purged expired records");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not purge expired records"),
    }
    if let Some(retention) = state.timing.audit_retention {
        match state.store.prune_audit(now - retention, now).await {
            Ok(0) => {}
            Ok(events) => tracing::info!(events, "deleted audit events past their retention"),
            Err(e) => tracing::warn!(error = %e, "could not delete old audit events"),
        }
    }
    if let Err(e) = state.store.purge_changes(now - CHANGE_RETENTION).await {
        tracing::warn!(error = %e, "could not purge the change feed");
    }
    if let Err(e) = state.store.optimize().await {
        tracing::warn!(error = %e, "could not refresh the query planner's statistics");
    }
}

/// Runs the purger every `purge_every` until told to stop.
pub async fn every(
    state: crate::server::SharedState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(state.timing.purge_every);
    loop {
        tokio::select! {
            _ = tick.tick() => run(&state).await,
            _ = stop.changed() => return,
        }
    }
}
