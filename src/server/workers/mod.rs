//! Work beside the request path, each worker a file with one job, all started and stopped by
//! one supervisor ([`start`], [`Workers::stop`]):
//!
//! - [`follower`]: reads the change feed on its own connection and keeps the cache right;
//! - [`flusher`]: writes last-used times, usage counts, queued audit events in batches, and
//!   the counts of failed authentications ([`failure_tally`]) when their interval is over;
//! - [`ratelimit_sync`]: shares rate-limit counts with the other servers;
//! - [`purger`]: deletes what has expired, prunes the audit log by retention;
//! - [`checkpoints`]: appends the audit log's head to a file now and then.

pub mod audit_queue;
pub mod checkpoints;
pub mod failure_tally;
pub mod flusher;
pub mod follower;
pub mod purger;
pub mod ratelimit_sync;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::SharedState;

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    running: Vec<JoinHandle<()>>,
}

/// Starts every worker `state` calls for.
pub fn start(state: &SharedState) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let mut running = vec![
        tokio::spawn(flusher::run(state.clone(), stopped.clone())),
        tokio::spawn(purger::every(state.clone(), stopped.clone())),
        tokio::spawn(ratelimit_sync::run(state.clone(), stopped.clone())),
    ];
    if let Some(cache) = &state.cache {
        running.push(tokio::spawn(follower::run(
            cache.feed.clone(),
            cache.cached.clone(),
            cache.poll_every,
            stopped.clone(),
        )));
    }
    if let Some(file) = &state.timing.audit_checkpoint_file {
        running.push(tokio::spawn(checkpoints::run(
            state.clone(),
            file.clone(),
            stopped.clone(),
        )));
    }
    Workers { stop, running }
}

impl Workers {
    /// Asks every worker to stop and waits for each to finish what it was doing: an abort
    /// mid-flush would drop a batch it had already taken from memory. Then writes what is
    /// still pending.
    pub async fn stop(self, state: &SharedState) {
        let _ = self.stop.send(true);
        for worker in self.running {
            let _ = worker.await;
        }
        flusher::write_counts(state, true);
        flusher::flush(state).await;
        ratelimit_sync::sync(state).await;
    }
}
