//! Audit events that go with no change (failed and refused authentications), appended in
//! batches: group commit. A request queues its event and then waits (holding no database
//! connection and no lock of the database's) until a batch that holds its event is written;
//! whoever gets to write next writes every event queued by then, in one transaction that takes
//! the audit log's append lock once. A flood of failed exchanges so costs one append per batch
//! instead of one per request, and a correct secret, which queues nothing, waits for none of
//! it. The [`super::flusher`] writes what a failed write left behind. The queue is bounded:
//! past [`MAX_QUEUED`] events waiting,
//! further events are counted instead of itemized, and the count is written as one event
//! (`detail` says how many), so a flood cannot grow the server's memory or the log without
//! limit, and nothing goes unrecorded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;

use crate::server::store::{AuditEvent, Store, StoreResult};

/// Events waiting at most; past it they are counted.
pub const MAX_QUEUED: usize = 10_000;
/// Events appended in one transaction.
const BATCH: usize = 1_000;

#[derive(Default)]
pub struct AuditQueue {
    pending: Mutex<Pending>,
    wake: tokio::sync::Notify,
    /// Held while a batch is written, so that [`AuditQueue::write`] returns only once every
    /// event queued before it is in the database, even when another writer had taken them.
    writing: tokio::sync::Mutex<()>,
    /// Every event up to this ticket is written (or counted in a written event).
    written: AtomicU64,
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
            self.folded += 1;
            self.folded_at = Some(self.folded_at.map_or(event.at, |at| at.max(event.at)));
        }
    }
}

impl AuditQueue {
    /// Queues `event` and waits until it is written, in whatever batch gets there first. An
    /// event past the queue's bound is counted and does not wait.
    pub async fn record(&self, store: &dyn Store, event: AuditEvent) -> StoreResult<()> {
        let ticket = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let kept = pending.events.len() < MAX_QUEUED;
            pending.push(event);
            pending.pushed += 1;
            kept.then_some(pending.pushed)
        };
        let Some(ticket) = ticket else {
            self.wake.notify_one();
            return Ok(());
        };
        let _writing = self.writing.lock().await;
        if self.written.load(Ordering::Acquire) >= ticket {
            // A batch written while this request waited held its event.
            return Ok(());
        }
        self.write_queued(store).await
    }

    /// Resolves when an event was queued since the last call.
    pub async fn queued(&self) {
        self.wake.notified().await;
    }

    /// Appends every queued event. On failure the events not written are queued again.
    pub async fn write(&self, store: &dyn Store) -> StoreResult<()> {
        let _writing = self.writing.lock().await;
        self.write_queued(store).await
    }

    /// [`AuditQueue::write`], the writing lock held.
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
        if let Some(at) = folded_at {
            let mut summary = AuditEvent::success(at, "server", "token.exchange");
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
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let newer = std::mem::take(&mut pending.events);
                for event in events.drain(written..).chain(newer) {
                    pending.push(event);
                }
                return Err(e);
            }
            written += batch.len();
        }
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
            pending.push(AuditEvent::success(at, "key:key_x", "token.exchange"));
        }
        assert_eq!(pending.events.len(), MAX_QUEUED);
        assert_eq!(pending.folded, 5);
        assert_eq!(pending.folded_at, Some(at));
    }
}
