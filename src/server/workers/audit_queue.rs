//! Audit events that go with no change (failed and refused authentications), appended in
//! batches: group commit. A request queues its event and then waits (holding no database
//! connection and no lock of the database's) until a batch that holds its event is written;
//! whoever gets to write next writes every event queued by then, in one transaction that takes
//! the audit log's append lock once. A flood of failed exchanges so costs one append per batch
//! instead of one per request, and a correct secret, which queues nothing, waits for none of
//! it. The writing runs in a task of its own: a request that is cancelled (its client hung up,
//! its timeout fired) loses nothing it had queued. The [`super::flusher`] writes what a failed
//! write left behind. The queue is bounded: past [`MAX_QUEUED`] events waiting, further events
//! are counted instead of itemized, and the count is written as one event (`detail` says how
//! many), so a flood cannot grow the server's memory or the log without limit, and nothing
//! goes unrecorded.

use crate::api::actions;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::server::store::{AuditEvent, Store, StoreError, StoreResult};

/// Events waiting at most; past it they are counted.
pub const MAX_QUEUED: usize = 10_000;
/// Events appended in one transaction.
const BATCH: usize = 1_000;
/// After a failed write, how long requests are answered at once with its failure rather
/// than each trying the database again in turn.
const FAIL_FAST: Duration = Duration::from_secs(1);

#[derive(Clone, Default)]
pub struct AuditQueue(Arc<Inner>);

#[derive(Default)]
struct Inner {
    pending: Mutex<Pending>,
    wake: tokio::sync::Notify,
    /// Held while a batch is written, so that a write returns only once every event queued
    /// before it is in the database, even when another writer had taken them.
    writing: tokio::sync::Mutex<()>,
    /// Every event up to this ticket is written (or counted in a written event).
    written: AtomicU64,
    /// When a write last failed (cleared by the next that succeeds).
    failed_at: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Pending {
    /// Tickets handed out: the newest event's.
    pushed: u64,
    events: Vec<AuditEvent>,
    /// Events past the bound: how many, and the newest one's time.
    folded: u64,
    folded_at: Option<Timestamp>,
}

impl Pending {
    fn push(&mut self, event: AuditEvent) {
        if self.events.len() < MAX_QUEUED {
            self.events.push(event);
        } else {
            self.fold(1, event.at);
        }
    }

    fn fold(&mut self, n: u64, at: Timestamp) {
        self.folded += n;
        self.folded_at = Some(self.folded_at.map_or(at, |t| t.max(at)));
    }
}

impl AuditQueue {
    /// Queues `event` and waits until it is written, in whatever batch gets there first. An
    /// event past the queue's bound is counted and does not wait.
    pub async fn record(&self, store: Arc<dyn Store>, event: AuditEvent) -> StoreResult<()> {
        let ticket = {
            let mut pending = self.0.pending.lock().unwrap_or_else(|e| e.into_inner());
            let kept = pending.events.len() < MAX_QUEUED;
            pending.push(event);
            pending.pushed += 1;
            kept.then_some(pending.pushed)
        };
        let Some(ticket) = ticket else {
            self.0.wake.notify_one();
            return Ok(());
        };
        let inner = self.0.clone();
        // Not cancelled with the request: what it takes from the queue, it writes or puts back.
        let writer = tokio::spawn(async move {
            let _writing = inner.writing.lock().await;
            if inner.written.load(Ordering::Acquire) >= ticket {
                // A batch written while this request waited held its event.
                return Ok(());
            }
            let failed_recently = inner
                .failed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|at| at.elapsed() < FAIL_FAST);
            if failed_recently {
                return Err(StoreError::Unavailable(
                    "the audit log could not be written a moment ago".into(),
                ));
            }
            inner.write_queued(store.as_ref()).await
        });
        writer
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?
    }

    /// Queues `event` without waiting for it to be written: the next batch (a request's, or
    /// the flusher's, which this wakes) holds it. For events no request waits on (the counts of
    /// failed authentications).
    pub fn queue(&self, event: AuditEvent) {
        {
            let mut pending = self.0.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.push(event);
            pending.pushed += 1;
        }
        self.0.wake.notify_one();
    }

    /// Resolves when an event past the bound was counted, or an event was queued that no
    /// request waits on, since the last call.
    pub async fn queued(&self) {
        self.0.wake.notified().await;
    }

    /// Appends every queued event (the flusher's retry: it does not fail fast). On failure the
    /// events not written are queued again.
    pub async fn write(&self, store: &dyn Store) -> StoreResult<()> {
        let _writing = self.0.writing.lock().await;
        self.0.write_queued(store).await
    }
}

impl Inner {
    /// Writes what is queued, the writing lock held.
    async fn write_queued(&self, store: &dyn Store) -> StoreResult<()> {
        let (upto, mut events, folded, folded_at) = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let pushed = pending.pushed;
            let taken = std::mem::replace(
                &mut *pending,
                Pending {
                    pushed,
                    ..Pending::default()
                },
            );
            (pushed, taken.events, taken.folded, taken.folded_at)
        };
        let itemized = events.len();
        if let Some(at) = folded_at {
            let mut summary = AuditEvent::success(at, "server", actions::TOKEN_EXCHANGE);
            summary.outcome = "failure";
            summary.error_code = Some("invalid_client");
            summary.detail = Some(format!(
                "folded={folded} (failed authentications past the queue's bound of {MAX_QUEUED}, counted, not itemized)"
            ));
            events.push(summary);
        }
        let mut written = 0;
        for batch in events.chunks(BATCH) {
            if let Err(e) = store.record_audit(batch).await {
                *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let newer = std::mem::take(&mut pending.events);
                // The itemized events not written go back first, then the ones queued since;
                // the count of folded ones goes back as a count.
                let unwritten: Vec<AuditEvent> =
                    events.drain(written.min(itemized)..itemized).collect();
                for event in unwritten.into_iter().chain(newer) {
                    pending.push(event);
                }
                if let (Some(at), true) = (folded_at, written <= itemized) {
                    pending.fold(folded, at);
                }
                return Err(e);
            }
            written += batch.len();
        }
        *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.written.store(upto, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_events_are_counted_not_kept() {
        let mut pending = Pending::default();
        let at = Timestamp::UNIX_EPOCH;
        for _ in 0..MAX_QUEUED + 5 {
            pending.push(AuditEvent::success(
                at,
                "key:key_x",
                actions::TOKEN_EXCHANGE,
            ));
        }
        assert_eq!(pending.events.len(), MAX_QUEUED);
        assert_eq!(pending.folded, 5);
        assert_eq!(pending.folded_at, Some(at));
    }
}
