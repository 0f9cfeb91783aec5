//! The purger: access tokens past their expiry and Idempotency-Key records past their retention
//! are deleted on a schedule, so neither table grows for ever.

use super::AppState;

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
}
