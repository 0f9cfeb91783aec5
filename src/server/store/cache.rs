//! A server's own cache of what verify and token authentication need, kept right by following
//! the change feed.
//!
//! Keys are cached by secret digest and access tokens (with their key) by token digest, so a
//! hit touches no database. Each change in the feed drops what is cached of its key, on every
//! server: the one that wrote it at once, the others when their follower reads the feed (woken
//! by PostgreSQL's NOTIFY, and polling in any case). A look-up that started before a change
//! never puts the old record back after the change dropped it: inserts carry the cache's
//! generation from before the database read, and a drop of the same key since (or too many
//! drops to tell) refuses them.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;

use super::{
    AuditEvent, AuditFilter, Change, EnvironmentDeletion, IdempotencyRecord, KeyFilter, KeyRecord,
    RevokedFingerprints, Store, StoreResult, TokenRecord, UsageCount,
};
use crate::api::{Environment, KeyCounts};
use crate::server::audit::{AuditRow, ChainKey};

/// How the cache is sized and how often the feed is read.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// The most entries (keys and tokens together) kept; past it, older ones make room.
    pub capacity: usize,
    /// How often the change feed is read when no notification woke the follower first.
    pub poll_every: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            capacity: DEFAULT_CAPACITY,
            poll_every: DEFAULT_POLL,
        }
    }
}

/// About 300 bytes an entry (measured with two environments, three permissions and a short
/// name), so some 150 MB at most: within DESIGN.md's memory target, with room for the rest.
/// Keys past it are read from the database.
pub const DEFAULT_CAPACITY: usize = 500_000;
/// The poll that bounds propagation where notifications do not arrive.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);
/// How many drops are remembered to tell whether a look-up's key was dropped while it ran; a
/// look-up that saw more go by is not cached.
const RECENT_DROPS: u64 = 4096;
/// How long a gap in the feed's sequence numbers is waited for (a transaction that took a
/// number and has not committed yet) before it is taken for a rollback and passed over.
const GAP_WAIT: Duration = Duration::from_secs(10);
/// Rows read from the feed at a time.
const FEED_BATCH: i64 = 1000;

/// Wraps `inner` in a cache; returns the store to serve from and the follower that keeps it
/// right, to be spawned on the server's runtime. The feed's position is read first, so no
/// change made after anything was cached can go unseen; until it can be read (the database is
/// down at start), nothing is cached.
pub async fn cached(
    inner: Arc<dyn Store>,
    settings: CacheSettings,
) -> (Arc<CachedStore>, impl Future<Output = ()> + Send + 'static) {
    let position = inner.last_change().await.ok().map(FeedPosition::new);
    let cache = Cache::new(settings.capacity);
    cache.following.store(position.is_some(), Ordering::Release);
    if position.is_some() {
        *cache.last_read.lock().expect("feed clock") = Some(Instant::now());
    }
    let store = Arc::new(CachedStore {
        inner,
        cache: Arc::new(cache),
    });
    let follower = follow(store.clone(), settings.poll_every, position);
    (store, follower)
}

pub struct CachedStore {
    inner: Arc<dyn Store>,
    cache: Arc<Cache>,
}

impl CachedStore {
    /// Hits, misses and entries so far.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// How long since the follower last read the change feed (`None` before it first has).
    pub fn feed_age(&self) -> Option<Duration> {
        self.cache
            .last_read
            .lock()
            .expect("feed clock")
            .map(|at| at.elapsed())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    /// Keys dropped because they changed.
    pub evictions: u64,
}

#[derive(Default)]
struct Entries {
    /// By secret digest (current or rotated-out).
    keys: HashMap<Vec<u8>, Arc<KeyRecord>>,
    /// By access token digest.
    tokens: HashMap<Vec<u8>, (TokenRecord, Arc<KeyRecord>)>,
    /// What to drop when a key changes: the digests it is cached under, each marked `true`
    /// for a token.
    by_key: HashMap<String, Vec<(bool, Vec<u8>)>>,
    /// The latest drops, with the generation each one made, oldest first.
    recent_drops: std::collections::VecDeque<(u64, String)>,
}

impl Entries {
    fn len(&self) -> usize {
        self.keys.len() + self.tokens.len()
    }

    fn drop_key(&mut self, key_id: &str) {
        for (token, digest) in self.by_key.remove(key_id).unwrap_or_default() {
            if token {
                self.tokens.remove(&digest);
            } else {
                self.keys.remove(&digest);
            }
        }
    }

    /// Makes room for one entry by dropping a key, with its tokens.
    fn make_room(&mut self, capacity: usize) {
        while self.len() >= capacity.max(1) {
            let Some(victim) = self.by_key.keys().next().cloned() else {
                return;
            };
            self.drop_key(&victim);
        }
    }
}

/// What the cache keeps of a key: all but its description (up to 1,000 characters, and never
/// needed by verify or authentication).
fn slim(mut key: KeyRecord) -> KeyRecord {
    key.description = String::new();
    key
}

struct Cache {
    entries: RwLock<Entries>,
    /// Whether the follower knows where it stands in the feed: only then may entries be added.
    following: std::sync::atomic::AtomicBool,
    /// When the follower last read the feed.
    last_read: std::sync::Mutex<Option<Instant>>,
    /// Moves on every drop; an insert prepared before a drop is refused.
    generation: AtomicU64,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl Cache {
    fn new(capacity: usize) -> Cache {
        Cache {
            entries: RwLock::default(),
            following: std::sync::atomic::AtomicBool::new(true),
            last_read: std::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn key(&self, digest: &[u8]) -> Option<Arc<KeyRecord>> {
        let found = self.read().keys.get(digest).cloned();
        self.count(found.is_some());
        found
    }

    fn token(&self, digest: &[u8]) -> Option<(TokenRecord, Arc<KeyRecord>)> {
        let found = self.read().tokens.get(digest).cloned();
        self.count(found.is_some());
        found
    }

    /// Caches `key` under `digest`, unless it was dropped since `generation`.
    fn put_key(&self, digest: &[u8], key: KeyRecord, generation: u64) {
        let key = slim(key);
        let mut entries = self.write();
        if self.stale(&entries, &key.id, generation) {
            return;
        }
        entries.make_room(self.capacity);
        entries
            .by_key
            .entry(key.id.clone())
            .or_default()
            .push((false, digest.to_vec()));
        entries.keys.insert(digest.to_vec(), Arc::new(key));
    }

    fn put_token(&self, digest: &[u8], token: TokenRecord, key: KeyRecord, generation: u64) {
        let key = slim(key);
        let mut entries = self.write();
        if self.stale(&entries, &key.id, generation) {
            return;
        }
        entries.make_room(self.capacity);
        entries
            .by_key
            .entry(key.id.clone())
            .or_default()
            .push((true, digest.to_vec()));
        entries
            .tokens
            .insert(digest.to_vec(), (token, Arc::new(key)));
    }

    /// Whether a record of `key_id` read by a look-up that began at `generation` may be out of
    /// date: the key was dropped since, too many drops went by to tell, or the follower does
    /// not know where it stands. Called under the write lock.
    fn stale(&self, entries: &Entries, key_id: &str, generation: u64) -> bool {
        let now = self.generation();
        !self.following.load(Ordering::Acquire)
            || now - generation > RECENT_DROPS
            || entries
                .recent_drops
                .iter()
                .rev()
                .take_while(|(g, _)| *g > generation)
                .any(|(_, k)| k == key_id)
    }

    /// Drops what is cached of `key_id`.
    fn drop_key(&self, key_id: &str) {
        let mut entries = self.write();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        entries.drop_key(key_id);
        entries
            .recent_drops
            .push_back((generation, key_id.to_owned()));
        if entries.recent_drops.len() as u64 > RECENT_DROPS {
            entries.recent_drops.pop_front();
        }
        self.evictions.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops everything: the follower may have missed changes. Every look-up in flight is
    /// refused too.
    fn clear(&self) {
        let mut entries = self.write();
        self.generation
            .fetch_add(RECENT_DROPS + 1, Ordering::AcqRel);
        *entries = Entries::default();
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.read().len(),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

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

    fn advance(&mut self) {
        while self.applied.first() == Some(&(self.done_upto + 1)) {
            self.applied.pop_first();
            self.done_upto += 1;
        }
    }
}

/// Follows the change feed for as long as the server runs.
async fn follow(store: Arc<CachedStore>, poll_every: Duration, start: Option<FeedPosition>) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let listener = {
        let inner = store.inner.clone();
        let wake = wake.clone();
        async move {
            loop {
                match inner.listen_for_changes(&wake).await {
                    // No notifications on this database: the poll alone serves.
                    Ok(()) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "not listening for changes; polling");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    };
    let listening = tokio::spawn(listener);
    let mut position = start;
    // Set when the database could not be read: changes may have gone by unseen.
    let mut lost = false;
    let mut reported = store.stats();
    let mut last_report = Instant::now();
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll_every) => {}
        }
        let read = match &position {
            None => store.inner.last_change().await.map(|last| {
                position = Some(FeedPosition::new(last));
                store.cache.following.store(true, Ordering::Release);
                Vec::new()
            }),
            Some(p) => store.inner.changes_after(p.done_upto, FEED_BATCH).await,
        };
        let rows = match read {
            Ok(rows) => {
                *store.cache.last_read.lock().expect("feed clock") = Some(Instant::now());
                rows
            }
            Err(e) => {
                if !lost {
                    tracing::warn!(error = %e, "cannot read the change feed; serving what is cached");
                }
                lost = true;
                continue;
            }
        };
        if lost {
            // Back after an outage: whatever was cached may have changed meanwhile (the
            // database may even have been restored from a backup), so start afresh.
            tracing::info!("the change feed is readable again; the cache starts afresh");
            store.cache.clear();
            lost = false;
            if let Ok(last) = store.inner.last_change().await {
                if position.as_ref().is_some_and(|p| p.done_upto > last) {
                    position = Some(FeedPosition::new(last));
                }
            }
        }
        let Some(p) = position.as_mut() else {
            continue;
        };
        let actions = p.accept(&rows, Instant::now());
        if actions.clear {
            tracing::warn!("a gap in the change feed did not fill; the cache starts afresh");
            store.cache.clear();
        }
        for key in &actions.keys {
            tracing::debug!(key, "changed elsewhere: dropped from the cache");
            store.cache.drop_key(key);
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            let now = store.stats();
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
        if listening.is_finished() && rows.len() as i64 == FEED_BATCH {
            // More waiting and nobody to wake us: read on at once.
            wake.notify_one();
        }
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        if let Some(key) = self.cache.key(digest) {
            return Ok(Some(KeyRecord::clone(&key)));
        }
        let generation = self.cache.generation();
        let found = self.inner.find_key_by_digest(digest).await?;
        if let Some(key) = &found {
            self.cache.put_key(digest, key.clone(), generation);
        }
        Ok(found)
    }

    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        if let Some((token, key)) = self.cache.token(digest) {
            return Ok(Some((token, KeyRecord::clone(&key))));
        }
        let generation = self.cache.generation();
        let found = self.inner.token_and_key(digest).await?;
        if let Some((token, key)) = &found {
            self.cache
                .put_token(digest, token.clone(), key.clone(), generation);
        }
        Ok(found)
    }

    async fn update_key(
        &self,
        key: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let done = self
            .inner
            .update_key(key, expected_version, cap_tokens_at, audit)
            .await?;
        if done {
            // This server sees its own change at once; the others when they read the feed.
            self.cache.drop_key(&key.id);
        }
        Ok(done)
    }

    async fn revoke_key(
        &self,
        id: &str,
        expected_version: i64,
        at: Timestamp,
        fingerprints: &RevokedFingerprints,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let done = self
            .inner
            .revoke_key(id, expected_version, at, fingerprints, audit)
            .await?;
        if done {
            self.cache.drop_key(id);
        }
        Ok(done)
    }

    // Everything else goes to the database as it is.

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        self.inner.seed_keys(keys).await
    }
    async fn analyze(&self) -> StoreResult<()> {
        self.inner.analyze().await
    }
    fn pool_use(&self) -> Option<(u32, usize)> {
        self.inner.pool_use()
    }
    async fn optimize(&self) -> StoreResult<()> {
        self.inner.optimize().await
    }
    async fn list_plan(&self, filter: &KeyFilter) -> StoreResult<String> {
        self.inner.list_plan(filter).await
    }
    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        self.inner.list_environments().await
    }
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.create_environment(env, audit).await
    }
    async fn count_keys(&self) -> StoreResult<i64> {
        self.inner.count_keys().await
    }
    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>> {
        self.inner.pepper_check().await
    }
    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        self.inner.adopt_pepper_check(check).await
    }
    async fn insert_first_key(
        &self,
        key: &KeyRecord,
        environment: Option<(&Environment, &AuditEvent)>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.inner.insert_first_key(key, environment, audit).await
    }
    async fn insert_key(
        &self,
        key: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.insert_key(key, idempotency, audit).await
    }
    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        self.inner.get_key(id).await
    }
    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        self.inner.find_key_by_fingerprint(fingerprint).await
    }
    async fn list_keys(&self, filter: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        self.inner.list_keys(filter).await
    }
    async fn record_last_used(
        &self,
        uses: &[(String, Timestamp, Option<String>)],
    ) -> StoreResult<()> {
        self.inner.record_last_used(uses).await
    }
    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.inner.get_idempotency(actor, idem_key).await
    }
    async fn insert_token(&self, token: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.insert_token(token, audit).await
    }
    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        self.inner.get_token(digest).await
    }
    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        self.inner.purge(tokens_before, idempotency_before).await
    }
    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.record_audit(audit).await
    }
    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, KeyCounts)>> {
        self.inner.environment_counts(now, soon, within).await
    }
    async fn delete_environment(
        &self,
        name: &str,
        audit: &AuditEvent,
        moved: &AuditEvent,
    ) -> StoreResult<EnvironmentDeletion> {
        let done = self.inner.delete_environment(name, audit, moved).await?;
        if let EnvironmentDeletion::Deleted { moved } = &done {
            for id in moved {
                self.cache.drop_key(id);
            }
        }
        Ok(done)
    }
    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        self.inner.prune_audit(before).await
    }
    async fn audit_anchor(&self) -> StoreResult<Option<(i64, Vec<u8>)>> {
        self.inner.audit_anchor().await
    }
    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()> {
        self.inner.record_usage(counts).await
    }
    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>> {
        self.inner.usage(key_id, since, until).await
    }
    fn set_chain_key(&self, key: ChainKey) {
        self.inner.set_chain_key(key)
    }
    async fn seal_audit(&self) -> StoreResult<u64> {
        self.inner.seal_audit().await
    }
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        self.inner.list_audit(filter).await
    }
    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
        self.inner.changes_after(seq, limit).await
    }
    async fn last_change(&self) -> StoreResult<i64> {
        self.inner.last_change().await
    }
    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64> {
        self.inner.purge_changes(before).await
    }
    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        self.inner.listen_for_changes(wake).await
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

    #[test]
    fn a_drop_during_a_look_up_keeps_the_old_record_out() {
        let cache = Cache::new(10);
        let before = cache.generation();
        // The look-up read the key; meanwhile the key changed and was dropped.
        cache.drop_key("key_1");
        let mut key = sample("key_1");
        key.version = 1;
        cache.put_key(b"digest", key, before);
        assert!(cache.key(b"digest").is_none(), "the stale record came back");
        // A look-up that starts after the drop is cached.
        cache.put_key(b"digest", sample("key_1"), cache.generation());
        assert!(cache.key(b"digest").is_some());
    }

    #[test]
    fn a_drop_of_another_key_does_not_keep_a_look_up_out() {
        let cache = Cache::new(10);
        let before = cache.generation();
        cache.drop_key("key_2");
        cache.put_key(b"digest", sample("key_1"), before);
        assert!(cache.key(b"digest").is_some());
        // A clear refuses every look-up in flight.
        let before = cache.generation();
        cache.clear();
        cache.put_key(b"digest", sample("key_1"), before);
        assert!(cache.key(b"digest").is_none());
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = Cache::new(3);
        for i in 0..10 {
            let id = format!("key_{i}");
            cache.put_key(id.as_bytes(), sample(&id), cache.generation());
        }
        assert!(cache.stats().entries <= 3);
    }

    fn sample(id: &str) -> KeyRecord {
        let now = Timestamp::now();
        KeyRecord {
            id: id.to_owned(),
            name: id.to_owned(),
            description: String::new(),
            key_type: crate::api::KeyType::Private,
            environments: BTreeSet::new(),
            permissions: BTreeSet::new(),
            allowed_ips: Vec::new(),
            status: crate::api::KeyStatus::Active,
            created_at: now,
            created_by: "test".to_owned(),
            updated_at: now,
            expires_at: now,
            last_used_at: None,
            last_used_ip: None,
            hint: String::new(),
            version: 0,
            secret_digest: None,
            previous_digest: None,
            previous_expires_at: None,
            revoked_fingerprint: None,
            revoked_previous_fingerprint: None,
        }
    }
}
