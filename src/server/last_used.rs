//! "Last used" without a database write per request: token exchange and verify note the time
//! and address in memory, and a background task writes the batch every few seconds (a minute
//! of staleness is fine, per the design).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::AppState;
use super::store::StoreResult;

/// When and from where, per key id.
type Pending = HashMap<String, (Timestamp, Option<String>)>;

#[derive(Clone, Default, Debug)]
pub struct LastUsed {
    pending: Arc<Mutex<Pending>>,
    /// Held while a batch is written, so that a flush returns only once every use noted before
    /// it is in the database, even when another flush had taken them first.
    writing: Arc<tokio::sync::Mutex<()>>,
}

/// One key's latest use.
pub type Use = (String, Timestamp, Option<String>);

impl LastUsed {
    pub fn record(&self, key_id: &str, at: Timestamp, ip: Option<String>) {
        let mut pending = self.pending.lock().expect("last-used lock");
        // A key used again before the flush (the common case under load) costs no allocation.
        match pending.get_mut(key_id) {
            Some(entry) if at >= entry.0 => *entry = (at, ip),
            Some(_) => {}
            None => {
                pending.insert(key_id.to_owned(), (at, ip));
            }
        }
    }

    fn take(&self) -> Vec<Use> {
        let mut pending = self.pending.lock().expect("last-used lock");
        pending.drain().map(|(id, (at, ip))| (id, at, ip)).collect()
    }
}

/// Writes what has been noted since the last flush.
pub async fn flush(state: &AppState) -> StoreResult<()> {
    let _writing = state.last_used.writing.lock().await;
    let batch = state.last_used.take();
    if batch.is_empty() {
        return Ok(());
    }
    state.store.record_last_used(&batch).await
}
