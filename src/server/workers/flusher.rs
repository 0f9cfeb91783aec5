//! The flusher: what the request path noted in memory reaches the database in batches, every
//! `last_used_flush` (and at once when a request asks, see [`flush`]): last-used times, usage
//! counts, and the audit events of failed authentications.

use tokio::sync::watch;

use crate::server::{AppState, SharedState, last_used};

/// Flushes every `last_used_flush`, and whenever an audit event is queued, until told to stop.
pub async fn run(state: SharedState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.timing.last_used_flush);
    loop {
        tokio::select! {
            _ = tick.tick() => flush(&state).await,
            () = state.audit_queue.queued() => write_audit(&state).await,
            _ = stop.changed() => return,
        }
    }
}

/// Writes what has been noted and queued so far; failures are logged and the batch kept.
pub async fn flush(state: &AppState) {
    write_counts(state, false);
    write_audit(state).await;
    if let Err(e) = last_used::flush(state).await {
        tracing::warn!(error = %e, "could not record last-used times");
    }
}

async fn write_audit(state: &AppState) {
    if let Err(e) = state.audit_queue.write(state.store.as_ref()).await {
        tracing::warn!(error = %e, "could not write queued audit events; they are kept");
    }
}

/// The counts of failed authentications whose interval is over (`all`: every count, as at
/// shutdown). They are queued like any failure's event and written with the next batch.
pub fn write_counts(state: &AppState, all: bool) {
    for event in state.failures.take(state.now(), all) {
        state.audit_queue.queue(event);
    }
}
