//! A server's own cache of what verify and token authentication read ([`Credentials`]), kept
//! right by the change feed and bounded in staleness.
//!
//! Keys are cached by secret digest and access tokens (with their key) by token digest, so a
//! hit touches no database. Each change drops what is cached of its key: on the server that
//! wrote it at once ([`KeyChanged`]), on the others when their follower reads the feed
//! ([`crate::server::workers::follower`]). A look-up that started before a change never puts
//! the old record back after the change dropped it: inserts carry the cache's generation from
//! before the database read, and a drop of the same key since (or too many drops to tell)
//! refuses them.
//!
//! The cache answers only while the feed was read within `max_staleness`: past it, a look-up
//! reads the database, and fails (503) when it cannot. A revocation therefore reaches every
//! replica within `max_staleness`, whatever happened to its follower.
//!
//! Past its capacity the cache makes room by CLOCK (second chance): keys in the order they
//! were cached, a key used since it was last passed over is kept once more, so the keys verify
//! sees most stay.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Credentials, KeyChanged, KeyRecord, StoreResult, TokenRecord};

/// How the cache is sized, how often the feed is read, and how stale an answer may be.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// The most entries (keys and tokens together) kept; past it, others make room.
    pub capacity: usize,
    /// How often the change feed is read when no notification woke the follower first.
    pub poll_every: Duration,
    /// The oldest the cache may be (since the feed was last read) and still answer.
    pub max_staleness: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            capacity: DEFAULT_CAPACITY,
            poll_every: DEFAULT_POLL,
            max_staleness: DEFAULT_MAX_STALENESS,
        }
    }
}

/// About 300 bytes an entry (measured with two environments, three permissions and a short
/// name), so some 150 MB at most: within docs/design.md's memory target, with room for the rest.
/// Keys past it are read from the database.
pub const DEFAULT_CAPACITY: usize = 500_000;
/// The most bytes of keys' `meta` and `owner` the cache holds (each key entry counts its key's,
/// up to 4 KiB and 512 bytes; a token entry keeps neither): past it, entries make room as past
/// the capacity. Without it, keys made with large `meta` could grow the cache to gigabytes
/// within its entry count. With [`DEFAULT_CAPACITY`]'s 150 MB, about 180 MB at most.
pub const META_BUDGET: usize = 32 * 1024 * 1024;
/// The poll that bounds propagation where notifications do not arrive.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);
/// docs/design.md's default: an answer from the cache is never older than this.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(5);
/// How many drops are remembered to tell whether a look-up's key was dropped while it ran; a
/// look-up that saw more go by is not cached.
const RECENT_DROPS: u64 = 4096;

/// The cache in front of a store's [`Credentials`].
pub struct Cached {
    inner: Arc<dyn Credentials>,
    cache: Cache,
    max_staleness: Duration,
}

impl Cached {
    pub fn new(inner: Arc<dyn Credentials>, settings: &CacheSettings) -> Arc<Cached> {
        Arc::new(Cached {
            inner,
            cache: Cache::new(settings.capacity),
            max_staleness: settings.max_staleness,
        })
    }

    /// Hits, misses and entries so far.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// How long since the follower last read the change feed (`None` before it first has).
    pub fn feed_age(&self) -> Option<Duration> {
        // Nanoseconds after the cache was made (0: never); one atomic load on every verify.
        match self.cache.last_read.load(Ordering::Acquire) {
            0 => None,
            at => Some(
                self.cache
                    .made
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(at)),
            ),
        }
    }

    /// The oldest the cache may be and still answer.
    pub fn max_staleness(&self) -> Duration {
        self.max_staleness
    }

    /// Whether the cache may answer: the feed was read within `max_staleness`.
    fn fresh(&self) -> bool {
        self.feed_age().is_some_and(|age| age <= self.max_staleness)
    }

    /// The follower applied every change committed before `began` (when its read began).
    pub fn feed_read(&self, began: Instant) {
        self.cache.following.store(true, Ordering::Release);
        let at = began.saturating_duration_since(self.cache.made).as_nanos();
        let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
        self.cache.last_read.fetch_max(at, Ordering::AcqRel);
    }

    /// Drops everything: the follower may have missed changes. Every look-up in flight is
    /// refused too.
    pub fn clear(&self) {
        self.cache.clear();
    }

    /// Drops what is cached of `key_id` (it changed).
    pub fn drop_key(&self, key_id: &str) {
        self.cache.drop_key(key_id);
    }

    /// Where the cache's changes stand: take it before reading a key that [`Cached::remember`]
    /// will keep, so a change committed meanwhile keeps the old record out.
    pub fn generation(&self) -> u64 {
        self.cache.generation()
    }

    /// Keeps `key`, read from the database since `generation`, under the digest of a secret it
    /// accepted (as a verify of that secret would).
    pub fn remember(&self, digest: &[u8], key: &KeyRecord, generation: u64) {
        if self.fresh() {
            self.cache.put(digest, Entry::Key(key.clone()), generation);
        }
    }

    /// The key cached under this secret's digest, without asking the database; `None` when
    /// there is none or the cache is not fresh.
    pub fn cached_key(&self, digest: &[u8]) -> Option<Arc<KeyRecord>> {
        if !self.fresh() {
            return None;
        }
        self.cache.key(digest)
    }
}

impl KeyChanged for Cached {
    fn key_changed(&self, key_id: &str) {
        self.cache.drop_key(key_id);
    }
}

#[async_trait]
impl Credentials for Cached {
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        if !self.fresh() {
            self.cache.count(false);
            return self.inner.find_key_by_digest(digest).await;
        }
        if let Some(key) = self.cache.key(digest) {
            return Ok(Some(KeyRecord::clone(&key)));
        }
        let generation = self.cache.generation();
        let found = self.inner.find_key_by_digest(digest).await?;
        if let Some(key) = &found {
            self.cache.put(digest, Entry::Key(key.clone()), generation);
        }
        Ok(found)
    }

    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        if !self.fresh() {
            self.cache.count(false);
            return self.inner.token_and_key(digest).await;
        }
        if let Some((token, key)) = self.cache.token(digest) {
            return Ok(Some((token, KeyRecord::clone(&key))));
        }
        let generation = self.cache.generation();
        let found = self.inner.token_and_key(digest).await?;
        if let Some((token, key)) = &found {
            self.cache
                .put(digest, Entry::Token(token.clone(), key.clone()), generation);
        }
        Ok(found)
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

/// What is put in the cache.
enum Entry {
    Key(KeyRecord),
    Token(TokenRecord, KeyRecord),
}

/// A key's place in the cache: the digests it is cached under (each marked `true` for a
/// token) and whether it was used since CLOCK last passed it.
struct Slot {
    digests: Vec<(bool, Vec<u8>)>,
    used: Arc<AtomicBool>,
}

#[derive(Default)]
struct Entries {
    /// By secret digest (current or rotated-out).
    keys: HashMap<Vec<u8>, (Arc<KeyRecord>, Arc<AtomicBool>)>,
    /// By access token digest.
    tokens: HashMap<Vec<u8>, (TokenRecord, Arc<KeyRecord>, Arc<AtomicBool>)>,
    /// What to drop when a key changes.
    by_key: HashMap<String, Slot>,
    /// Key ids in the order CLOCK visits them (a dropped key's id stays until visited).
    clock: VecDeque<String>,
    /// The latest drops, with the generation each one made, oldest first.
    recent_drops: VecDeque<(u64, String)>,
    /// The bytes of `meta` the entries hold, counted once per entry.
    meta_bytes: usize,
}

/// What an entry of `key` counts against [`META_BUDGET`].
fn meta_weight(key: &KeyRecord) -> usize {
    key.meta.as_ref().map_or(0, |m| m.as_str().len()) + key.owner.as_ref().map_or(0, String::len)
}

impl Entries {
    fn len(&self) -> usize {
        self.keys.len() + self.tokens.len()
    }

    fn drop_key(&mut self, key_id: &str) {
        let Some(slot) = self.by_key.remove(key_id) else {
            return;
        };
        for (token, digest) in slot.digests {
            let removed = if token {
                self.tokens.remove(&digest).map(|(_, key, _)| key)
            } else {
                self.keys.remove(&digest).map(|(key, _)| key)
            };
            if let Some(key) = removed {
                self.meta_bytes -= meta_weight(&key);
            }
        }
    }

    /// Makes room for one entry holding `incoming` bytes of `meta`: CLOCK over keys, a key
    /// used since its last visit kept once more.
    fn make_room(&mut self, capacity: usize, meta_budget: usize, incoming: usize) {
        // Each key is visited at most twice before one goes: the loop ends.
        while self.len() >= capacity.max(1) || self.meta_bytes + incoming > meta_budget {
            let Some(id) = self.clock.pop_front() else {
                return;
            };
            let Some(slot) = self.by_key.get(&id) else {
                // Dropped since it was cached.
                continue;
            };
            if slot.used.swap(false, Ordering::Relaxed) {
                self.clock.push_back(id);
            } else {
                self.drop_key(&id);
            }
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
    following: AtomicBool,
    /// When the follower last read the feed, in nanoseconds after `made` (0: never).
    last_read: AtomicU64,
    made: Instant,
    /// Moves on every drop; an insert prepared before a drop is refused.
    generation: AtomicU64,
    capacity: usize,
    meta_budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl Cache {
    fn new(capacity: usize) -> Cache {
        Cache {
            entries: RwLock::default(),
            following: AtomicBool::new(false),
            last_read: AtomicU64::new(0),
            made: Instant::now(),
            generation: AtomicU64::new(0),
            capacity,
            meta_budget: META_BUDGET,
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
        let found = self.read().keys.get(digest).map(|(key, used)| {
            used.store(true, Ordering::Relaxed);
            key.clone()
        });
        self.count(found.is_some());
        found
    }

    fn token(&self, digest: &[u8]) -> Option<(TokenRecord, Arc<KeyRecord>)> {
        let found = self.read().tokens.get(digest).map(|(token, key, used)| {
            used.store(true, Ordering::Relaxed);
            (token.clone(), key.clone())
        });
        self.count(found.is_some());
        found
    }

    /// Caches `entry` under `digest`, unless its key was dropped since `generation`.
    fn put(&self, digest: &[u8], entry: Entry, generation: u64) {
        let (key, token) = match entry {
            Entry::Key(key) => (slim(key), None),
            // Authentication reads neither owner nor meta: a token's copy of its key keeps
            // neither, so minting tokens cannot spend the budget.
            Entry::Token(token, mut key) => {
                key.owner = None;
                key.meta = None;
                (slim(key), Some(token))
            }
        };
        let mut entries = self.write();
        if self.stale(&entries, &key.id, generation) {
            return;
        }
        let weight = meta_weight(&key);
        entries.make_room(self.capacity, self.meta_budget, weight);
        let used = match entries.by_key.get_mut(&key.id) {
            Some(slot) => {
                slot.digests.push((token.is_some(), digest.to_vec()));
                slot.used.clone()
            }
            None => {
                let used = Arc::new(AtomicBool::new(false));
                entries.by_key.insert(
                    key.id.clone(),
                    Slot {
                        digests: vec![(token.is_some(), digest.to_vec())],
                        used: used.clone(),
                    },
                );
                entries.clock.push_back(key.id.clone());
                // A key dropped and cached again leaves its old place in the clock behind:
                // now and then the clock is rebuilt from the keys cached.
                if entries.clock.len() > 2 * entries.by_key.len() + 1024 {
                    let mut seen = std::collections::HashSet::new();
                    let Entries { clock, by_key, .. } = &mut *entries;
                    clock.retain(|id| by_key.contains_key(id) && seen.insert(id.clone()));
                }
                used
            }
        };
        let key = Arc::new(key);
        let replaced = match token {
            Some(token) => entries
                .tokens
                .insert(digest.to_vec(), (token, key, used))
                .map(|(_, key, _)| key),
            None => entries
                .keys
                .insert(digest.to_vec(), (key, used))
                .map(|(key, _)| key),
        };
        entries.meta_bytes += weight;
        if let Some(old) = replaced {
            entries.meta_bytes -= meta_weight(&old);
        }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use jiff::Timestamp;

    use super::*;

    fn following(capacity: usize) -> Cache {
        let cache = Cache::new(capacity);
        cache.following.store(true, Ordering::Release);
        cache
    }

    fn put_key(cache: &Cache, digest: &[u8], key: KeyRecord, generation: u64) {
        cache.put(digest, Entry::Key(key), generation);
    }

    #[test]
    fn a_drop_during_a_look_up_keeps_the_old_record_out() {
        let cache = following(10);
        let before = cache.generation();
        // The look-up read the key; meanwhile the key changed and was dropped.
        cache.drop_key("key_1");
        let mut key = sample("key_1");
        key.version = 1;
        put_key(&cache, b"digest", key, before);
        assert!(cache.key(b"digest").is_none(), "the stale record came back");
        // A look-up that starts after the drop is cached.
        put_key(&cache, b"digest", sample("key_1"), cache.generation());
        assert!(cache.key(b"digest").is_some());
    }

    #[test]
    fn a_drop_of_another_key_does_not_keep_a_look_up_out() {
        let cache = following(10);
        let before = cache.generation();
        cache.drop_key("key_2");
        put_key(&cache, b"digest", sample("key_1"), before);
        assert!(cache.key(b"digest").is_some());
        // A clear refuses every look-up in flight.
        let before = cache.generation();
        cache.clear();
        put_key(&cache, b"digest", sample("key_1"), before);
        assert!(cache.key(b"digest").is_none());
    }

    #[test]
    fn nothing_is_cached_while_the_follower_does_not_know_where_it_stands() {
        let cache = Cache::new(10);
        put_key(&cache, b"digest", sample("key_1"), cache.generation());
        assert!(cache.key(b"digest").is_none());
    }

    #[test]
    fn keys_with_large_meta_stay_within_the_meta_budget() {
        let mut cache = following(1000);
        cache.meta_budget = 10_000;
        let big = |id: &str| {
            let mut key = sample(id);
            let text = format!("{{\"pad\":\"{}\"}}", "x".repeat(3000));
            key.meta = crate::api::Meta::from_stored(text);
            key
        };
        put_key(&cache, b"hot", big("hot"), cache.generation());
        for i in 0..20 {
            assert!(
                cache.key(b"hot").is_some(),
                "the key in use was evicted at {i}"
            );
            let id = format!("key_{i}");
            put_key(&cache, id.as_bytes(), big(&id), cache.generation());
            let held = cache.read().meta_bytes;
            assert!(held <= 10_000, "{held} bytes of meta held after {i}");
        }
        // Three fit: 3 × 3,010 bytes.
        assert_eq!(cache.stats().entries, 3);
        // A key without meta costs the budget nothing.
        put_key(&cache, b"plain", sample("plain"), cache.generation());
        assert_eq!(cache.stats().entries, 4);
        // Dropping gives the bytes back.
        cache.drop_key("hot");
        assert_eq!(cache.read().meta_bytes, 2 * 3010);
        // Tokens of a key with large meta keep none of it: minting them spends nothing.
        for i in 0..10 {
            let token = TokenRecord {
                digest: vec![i],
                key_id: "key_0".to_owned(),
                created_at: Timestamp::now(),
                expires_at: Timestamp::now(),
            };
            let digest = [b't', i];
            cache.put(
                &digest,
                Entry::Token(token, big("key_0")),
                cache.generation(),
            );
        }
        assert_eq!(cache.read().meta_bytes, 2 * 3010);
        assert!(
            cache
                .token(&[b't', 9])
                .is_some_and(|(_, key)| key.meta.is_none())
        );
    }

    #[test]
    fn the_cache_stays_within_its_capacity_and_keeps_the_keys_in_use() {
        let cache = following(3);
        put_key(&cache, b"hot", sample("hot"), cache.generation());
        for i in 0..10 {
            let id = format!("key_{i}");
            // The hot key is used between every two new ones.
            assert!(
                cache.key(b"hot").is_some(),
                "the key in use was evicted at {i}"
            );
            put_key(&cache, id.as_bytes(), sample(&id), cache.generation());
            assert!(cache.stats().entries <= 3);
        }
    }

    #[tokio::test]
    async fn past_max_staleness_the_database_answers_and_its_failure_is_not_hidden() {
        struct Down;
        #[async_trait]
        impl Credentials for Down {
            async fn find_key_by_digest(&self, _: &[u8]) -> StoreResult<Option<KeyRecord>> {
                Err(super::super::StoreError::Unavailable("down".into()))
            }
            async fn token_and_key(
                &self,
                _: &[u8],
            ) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
                Err(super::super::StoreError::Unavailable("down".into()))
            }
        }
        let cached = Cached::new(
            Arc::new(Down),
            &CacheSettings {
                max_staleness: Duration::from_millis(50),
                ..CacheSettings::default()
            },
        );
        cached.feed_read(Instant::now());
        cached.cache.put(
            b"digest",
            Entry::Key(sample("key_1")),
            cached.cache.generation(),
        );
        // Fresh: the cache answers, even with the database down.
        assert!(
            cached
                .find_key_by_digest(b"digest")
                .await
                .unwrap()
                .is_some()
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        // Stale: the database is asked, and its failure is the answer.
        assert!(cached.find_key_by_digest(b"digest").await.is_err());
        cached.feed_read(Instant::now());
        assert!(
            cached
                .find_key_by_digest(b"digest")
                .await
                .unwrap()
                .is_some()
        );
    }

    fn sample(id: &str) -> KeyRecord {
        let now = Timestamp::now();
        KeyRecord {
            id: id.to_owned(),
            name: id.to_owned(),
            description: String::new(),
            owner: None,
            meta: None,
            credits: None,
            ratelimits: Vec::new(),
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
