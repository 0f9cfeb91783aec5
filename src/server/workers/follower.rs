//! The change-feed follower: reads the feed (woken by PostgreSQL's NOTIFY, polling in any
//! case) on a connection of its own, and drops from this server's cache every key changed
//! elsewhere. Each successful read renews the cache's licence to answer (see
//! [`crate::server::store::Cached`]): a follower that cannot read for longer than
//! `max_staleness` sends verify and token authentication to the database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::server::store::{Cached, Change, ChangeFeed, StoreError, StoreResult};

/// How long a gap in the feed's sequence numbers is waited for (a transaction that took a
/// number and has not committed yet) before it is taken for a rollback and passed over.
const GAP_WAIT: Duration = Duration::from_secs(10);
/// Rows read from the feed at a time.
const FEED_BATCH: i64 = 1000;
/// The longest a read of the feed may take before it is given up, and its connection with it
/// (a connection whose peer vanished may otherwise wait for TCP to notice, for minutes).
/// Generous: giving up costs a new connection, which a loaded database is slow to make, and
/// `max_staleness` already bounds what a slow read can cost (the cache stops answering).
const READ_LIMIT: Duration = Duration::from_secs(30);

/// Where a follower stands in the change feed. Sequence numbers can become visible out of
/// order on PostgreSQL (a transaction that took a lower number commits after one that took a
/// higher), so the feed is read again from below the first gap until the gap fills, or until
/// it has waited [`GAP_WAIT`] (a rolled-back transaction leaves a number unused for ever).
#[derive(Debug)]
struct FeedPosition {
    /// Every change up to this one was applied (or passed over).
    done_upto: i64,
    /// Changes above `done_upto` applied already, waiting for the gap below them to fill.
    applied: BTreeSet<i64>,
    /// Since when the gap at `done_upto + 1` has been open.
    gap_since: Option<Instant>,
}

/// What a batch of the feed asks of the cache.
#[derive(Debug, Default, PartialEq, Eq)]
struct FeedActions {
    /// Keys to drop.
    keys: Vec<String>,
    /// A gap was passed over: a change may have been missed, so drop everything.
    clear: bool,
}

impl FeedPosition {
    fn new(done_upto: i64) -> FeedPosition {
        FeedPosition {
            done_upto,
            applied: BTreeSet::new(),
            gap_since: None,
        }
    }

    fn accept(&mut self, rows: &[Change], now: Instant) -> FeedActions {
        let mut actions = FeedActions::default();
        for row in rows {
            if row.seq <= self.done_upto || !self.applied.insert(row.seq) {
                continue;
            }
            if let Some(key) = &row.key_id {
                actions.keys.push(key.clone());
            }
        }
        self.advance();
        match (self.applied.first(), self.gap_since) {
            (None, _) => self.gap_since = None,
            (Some(_), None) => self.gap_since = Some(now),
            (Some(&first), Some(since)) if now.duration_since(since) >= GAP_WAIT => {
                self.done_upto = first - 1;
                self.advance();
                self.gap_since = (!self.applied.is_empty()).then_some(now);
                actions.clear = true;
            }
            (Some(_), Some(_)) => {}
        }
        actions
    }

    /// The highest change seen so far: reading on from here finds what is new, while a gap
    /// below it stays open.
    fn highest(&self) -> i64 {
        self.applied.last().copied().unwrap_or(self.done_upto)
    }

    fn advance(&mut self) {
        while self.applied.first() == Some(&(self.done_upto + 1)) {
            self.applied.pop_first();
            self.done_upto += 1;
        }
    }
}

/// Follows `feed` for `cache` until `stop` says so.
pub async fn run(
    feed: Arc<dyn ChangeFeed>,
    cache: Arc<Cached>,
    poll_every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let listening = tokio::spawn({
        let feed = feed.clone();
        let wake = wake.clone();
        async move {
            loop {
                match feed.listen_for_changes(&wake).await {
                    // No notifications on this database: the poll alone serves.
                    Ok(()) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "not listening for changes; polling");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    });
    let mut position: Option<FeedPosition> = None;
    // Set when the database could not be read: changes may have gone by unseen.
    let mut lost = false;
    let mut reported = cache.stats();
    let mut last_report = Instant::now();
    loop {
        // What a read finds was committed by the time it began: the cache is as fresh as that.
        let started = Instant::now();
        let read = tokio::time::timeout(READ_LIMIT, async {
            match &position {
                None => start_position(feed.as_ref())
                    .await
                    .map(|p| (Some(p), Vec::new(), false)),
                Some(p) => read_changes(feed.as_ref(), p)
                    .await
                    .map(|(rows, more)| (None, rows, more)),
            }
        })
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the change feed did not answer in time".into(),
            ))
        })
        .map(|(start, rows, more)| {
            if start.is_some() {
                position = start;
            }
            (rows, more)
        });
        let (rows, more) = match read {
            Ok(read) => read,
            Err(e) => {
                if !lost {
                    tracing::warn!(error = %e, "cannot read the change feed; the cache answers until it is too stale");
                }
                lost = true;
                if sleep_or_stop(&wake, poll_every, &mut stop).await {
                    break;
                }
                continue;
            }
        };
        if lost {
            // Back after an outage: whatever was cached may have changed meanwhile (the
            // database may even have been restored from a backup), so start afresh.
            tracing::info!("the change feed is readable again; the cache starts afresh");
            cache.clear();
            lost = false;
            if let Ok(last) = feed.last_change().await {
                if position.as_ref().is_some_and(|p| p.done_upto > last) {
                    position = start_position(feed.as_ref()).await.ok();
                }
            }
        }
        if let Some(p) = position.as_mut() {
            let actions = p.accept(&rows, Instant::now());
            if actions.clear {
                tracing::warn!("a gap in the change feed did not fill; the cache starts afresh");
                cache.clear();
            }
            for key in &actions.keys {
                tracing::debug!(key, "changed elsewhere: dropped from the cache");
                cache.drop_key(key);
            }
        }
        // Everything committed before this read began is applied, unless a full batch says
        // there is more: only then may the cache answer for that moment.
        if !more {
            cache.feed_read(started);
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            let now = cache.stats();
            if now != reported {
                tracing::info!(
                    hits = now.hits,
                    misses = now.misses,
                    entries = now.entries,
                    evictions = now.evictions,
                    "verify cache"
                );
                reported = now;
            }
            last_report = Instant::now();
        }
        if more {
            // More waiting: read on at once.
            wake.notify_one();
        }
        if sleep_or_stop(&wake, poll_every, &mut stop).await {
            break;
        }
    }
    listening.abort();
}

/// Where a follower starts: below the newest change by a batch (or at the oldest change kept),
/// so that a change that took its number before the newest and has not committed yet is a gap
/// to wait for, not a change passed over for good.
async fn start_position(feed: &dyn ChangeFeed) -> StoreResult<FeedPosition> {
    let last = feed.last_change().await?;
    let first = feed
        .changes_after(0, 1)
        .await?
        .first()
        .map_or(last + 1, |c| c.seq);
    Ok(FeedPosition::new((last - FEED_BATCH).max(first - 1)))
}

/// The changes after `p`: while a gap is open, both those just above it (to fill it) and those
/// past the newest seen (so that new changes are not held up behind it). Also says whether a
/// full batch came back, so that there may be more.
async fn read_changes(feed: &dyn ChangeFeed, p: &FeedPosition) -> StoreResult<(Vec<Change>, bool)> {
    let mut rows = feed.changes_after(p.done_upto, FEED_BATCH).await?;
    let mut more = rows.len() as i64 == FEED_BATCH;
    if p.highest() > p.done_upto {
        let tail = feed.changes_after(p.highest(), FEED_BATCH).await?;
        more = tail.len() as i64 == FEED_BATCH;
        rows.extend(tail);
    }
    Ok((rows, more))
}

/// Waits for a notification or the poll; true when told to stop.
async fn sleep_or_stop(
    wake: &tokio::sync::Notify,
    poll_every: Duration,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        () = wake.notified() => false,
        () = tokio::time::sleep(poll_every) => false,
        _ = stop.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64, key: &str) -> Change {
        Change {
            seq,
            key_id: Some(key.to_owned()),
        }
    }

    #[test]
    fn a_change_that_becomes_visible_late_is_still_applied() {
        let start = Instant::now();
        let mut p = FeedPosition::new(10);
        // 11 is not visible yet (its transaction has not committed); 12 is.
        let a = p.accept(&[change(12, "b")], start);
        assert_eq!(a.keys, ["b"]);
        assert_eq!(p.done_upto, 10, "the feed is read again from below the gap");
        // Read again: 12 is not applied twice, and 11 shows up now.
        let a = p.accept(&[change(11, "a"), change(12, "b")], start);
        assert_eq!(a.keys, ["a"]);
        assert!(!a.clear);
        assert_eq!(p.done_upto, 12);
    }

    #[test]
    fn a_gap_that_never_fills_is_passed_over_and_the_cache_cleared() {
        let start = Instant::now();
        let mut p = FeedPosition::new(0);
        assert!(!p.accept(&[change(2, "b")], start).clear);
        assert!(!p.accept(&[change(2, "b")], start + GAP_WAIT / 2).clear);
        let a = p.accept(&[change(2, "b")], start + GAP_WAIT);
        assert!(a.clear, "a change may have been missed");
        assert_eq!(p.done_upto, 2);
        assert_eq!(p.gap_since, None);
    }
}
