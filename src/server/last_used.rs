//! "Last used" and usage counts without a database write per request: token exchange and
//! verify note the time and address, and verify counts each answer per key, per minute and per
//! code, in memory; a background task writes the batch every few seconds (a minute of staleness
//! is fine, per the design). A batch that cannot be written is kept for the next flush.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::AppState;
use super::store::{StoreResult, UsageCount};
use crate::api::VerifyCode;

/// One minute, the granularity of usage counts.
const MINUTE_MS: i64 = 60_000;
/// One hour: what old minutes are folded into when the database stays away.
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// The most (key, minute, code) counts kept while they cannot be written; past it, minutes
/// before the newest hour are folded into their hour (counted in [`LastUsed::folded`]), so an
/// outage costs precision, not memory.
pub const MAX_PENDING_COUNTS: usize = 100_000;

/// What a usage count counts: verify answers of one code, or credits spent (in cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tally {
    Answer(VerifyCode),
    Spent,
}

/// How credits spent are named in the store's counts: never a verify code (those are upper
/// case on the wire).
pub const SPENT: &str = "spent";

impl Tally {
    fn as_str(self) -> &'static str {
        match self {
            Tally::Answer(code) => code.as_str(),
            Tally::Spent => SPENT,
        }
    }

    fn parse(text: &str) -> Option<Tally> {
        if text == SPENT {
            return Some(Tally::Spent);
        }
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .ok()
            .map(Tally::Answer)
    }
}

#[derive(Default, Debug)]
struct Pending {
    /// When and from where, per key id.
    last: HashMap<String, (Timestamp, Option<String>)>,
    /// Verify answers per key id, per (minute, code), and credits spent.
    counts: HashMap<String, HashMap<(i64, Tally), i64>>,
}

#[derive(Clone, Default, Debug)]
pub struct LastUsed {
    pending: Arc<Mutex<Pending>>,
    /// Counts folded into their hour during outages, so far (a metric).
    folded: Arc<std::sync::atomic::AtomicU64>,
    /// Held while a batch is written, so that a flush returns only once every use noted before
    /// it is in the database, even when another flush had taken them first.
    writing: Arc<tokio::sync::Mutex<()>>,
}

/// One key's latest use.
pub type Use = (String, Timestamp, Option<String>);

impl Pending {
    fn note_use(&mut self, key_id: &str, at: Timestamp, ip: Option<String>) {
        // A key used again before the flush (the common case under load) costs no allocation.
        match self.last.get_mut(key_id) {
            Some(entry) if at >= entry.0 => *entry = (at, ip),
            Some(_) => {}
            None => {
                self.last.insert(key_id.to_owned(), (at, ip));
            }
        }
    }

    /// How many (key, minute, code) counts are waiting.
    fn counts_len(&self) -> usize {
        self.counts.values().map(HashMap::len).sum()
    }

    /// Folds every count before the newest hour into its hour's first minute; returns how
    /// many counts were folded away.
    fn fold_old_minutes(&mut self) -> u64 {
        let Some(newest) = self
            .counts
            .values()
            .flat_map(|m| m.keys())
            .map(|(m, _)| *m)
            .max()
        else {
            return 0;
        };
        let cut = newest.div_euclid(HOUR_MS) * HOUR_MS;
        let before = self.counts_len();
        for per_key in self.counts.values_mut() {
            let old: Vec<((i64, Tally), i64)> = per_key
                .iter()
                .filter(|((minute, _), _)| *minute < cut)
                .map(|(k, v)| (*k, *v))
                .collect();
            // All taken out first: an hour's first minute is one of the old minutes too.
            for (minute_code, _) in &old {
                per_key.remove(minute_code);
            }
            for ((minute, code), n) in old {
                *per_key
                    .entry((minute.div_euclid(HOUR_MS) * HOUR_MS, code))
                    .or_default() += n;
            }
        }
        (before - self.counts_len()) as u64
    }

    fn count(&mut self, key_id: &str, minute: i64, code: Tally, n: i64) {
        let per_key = match self.counts.get_mut(key_id) {
            Some(per_key) => per_key,
            None => self.counts.entry(key_id.to_owned()).or_default(),
        };
        *per_key.entry((minute, code)).or_default() += n;
    }
}

impl LastUsed {
    /// A use that is not a verify (a token exchange): its time and address.
    pub fn record(&self, key_id: &str, at: Timestamp, ip: Option<String>) {
        let mut pending = self.pending.lock().expect("last-used lock");
        pending.note_use(key_id, at, ip);
    }

    /// A verify of `key_id` answered `code` and spent `spent` credits: counted, and a use
    /// unless the key is revoked (a revoked key is not used, only presented).
    pub fn record_verify(
        &self,
        key_id: &str,
        at: Timestamp,
        ip: Option<String>,
        code: VerifyCode,
        spent: u64,
    ) {
        let minute = at.as_millisecond().div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut pending = self.pending.lock().expect("last-used lock");
        pending.count(key_id, minute, Tally::Answer(code), 1);
        if spent > 0 {
            let spent = i64::try_from(spent).unwrap_or(i64::MAX);
            pending.count(key_id, minute, Tally::Spent, spent);
        }
        if code != VerifyCode::Revoked {
            pending.note_use(key_id, at, ip);
        }
    }

    fn take(&self) -> (Vec<Use>, Vec<UsageCount>) {
        let mut pending = self.pending.lock().expect("last-used lock");
        let uses = pending
            .last
            .drain()
            .map(|(id, (at, ip))| (id, at, ip))
            .collect();
        let counts = pending
            .counts
            .drain()
            .flat_map(|(key_id, per_key)| {
                per_key
                    .into_iter()
                    .map(move |((minute, code), count)| UsageCount {
                        key_id: key_id.clone(),
                        minute,
                        code: code.as_str().to_owned(),
                        count,
                    })
            })
            .collect();
        (uses, counts)
    }

    /// Puts back a batch that could not be written, under what was noted meanwhile.
    fn restore(&self, uses: Vec<Use>, counts: Vec<UsageCount>) {
        let mut pending = self.pending.lock().expect("last-used lock");
        for (id, at, ip) in uses {
            pending.note_use(&id, at, ip);
        }
        for c in counts {
            if let Some(tally) = Tally::parse(&c.code) {
                pending.count(&c.key_id, c.minute, tally, c.count);
            }
        }
        if pending.counts_len() > MAX_PENDING_COUNTS {
            let folded = pending.fold_old_minutes();
            self.folded
                .fetch_add(folded, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                folded,
                "usage counts kept for a database that does not answer: minutes before the last hour folded into their hour"
            );
        }
    }

    /// Usage counts folded into their hour during database outages, since the server started.
    pub fn folded(&self) -> u64 {
        self.folded.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Writes what has been noted since the last flush.
pub async fn flush(state: &AppState) -> StoreResult<()> {
    let _writing = state.last_used.writing.lock().await;
    let (uses, counts) = state.last_used.take();
    if uses.is_empty() && counts.is_empty() {
        return Ok(());
    }
    let written = async {
        if !uses.is_empty() {
            state.store.record_last_used(&uses).await?;
        }
        if !counts.is_empty() {
            state.store.record_usage(&counts).await?;
        }
        Ok(())
    }
    .await;
    if written.is_err() {
        // All of it goes back: last-used times only move forward, so writing them twice is
        // harmless, and the counts are one transaction, so none of them was written.
        state.last_used.restore(uses, counts);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_kept_through_an_outage_are_folded_into_their_hour_past_the_bound() {
        let mut pending = Pending::default();
        // Three hours of minutes for one key, and the newest minute.
        for minute in 0..180 {
            pending.count(
                "key_a",
                minute * MINUTE_MS,
                Tally::Answer(VerifyCode::Valid),
                2,
            );
        }
        assert_eq!(pending.counts_len(), 180);
        let folded = pending.fold_old_minutes();
        // The newest hour keeps its minutes; the two before become one count each.
        assert_eq!(pending.counts_len(), 60 + 2);
        assert_eq!(folded, 118);
        let total: i64 = pending.counts["key_a"].values().sum();
        assert_eq!(total, 360, "no verify was lost in the folding");
        assert_eq!(
            pending.counts["key_a"][&(0, Tally::Answer(VerifyCode::Valid))],
            120
        );
    }
}
