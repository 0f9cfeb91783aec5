//! The storage interface. Handlers speak only to [`Store`]; each backend (SQLite, PostgreSQL)
//! lives in its own module, [`open`] chooses one by the URL, and nothing outside this module
//! knows which database is underneath.

mod cache;
mod filter;
mod postgres;
mod rows;
mod sqlite;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::api::{Environment, Key, KeyCounts, KeyStatus, KeyType};
use crate::server::audit::{AuditRow, ChainKey};

pub use cache::{CacheSettings, CacheStats, CachedStore, cached};

/// Opens the database `url` names, creating the schema or bringing it up to date:
/// `sqlite:PATH`, `sqlite::memory:`, or `postgres://…` (`postgresql://…`).
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with_idle_timeout(url, DEFAULT_IDLE_TIMEOUT).await
}

/// [`open`] with the time after which an idle connection is closed.
pub async fn open_with_idle_timeout(url: &str, idle: Duration) -> StoreResult<Arc<dyn Store>> {
    match Backend::of(url) {
        Some(Backend::Postgres) => Ok(Arc::new(postgres::PostgresStore::open(url, idle).await?)),
        Some(Backend::Sqlite) => Ok(Arc::new(sqlite::SqliteStore::open(url, idle).await?)),
        None => Err(StoreError::Database(
            "the database URL starts with neither sqlite: nor postgres://".into(),
        )),
    }
}

/// `url` fit to show: a password in it replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        // An unparsable URL with an `@` may still hold a password: show none of its user part.
        Err(_) if url.contains('@') => match url.split_once("://") {
            Some((scheme, rest)) => {
                format!(
                    "{scheme}://***@{}",
                    rest.rsplit_once('@').map_or("", |(_, h)| h)
                )
            }
            None => "the database URL".to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// sqlx's own default.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The databases keyward can store keys in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL names, if any.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }
}

/// Which uniqueness rule a write broke, read from the database's constraint names (PostgreSQL)
/// or the columns it names (SQLite), never from free text in a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Another live key has this name.
    KeyName,
    /// An environment of this name exists.
    Environment,
    /// An environment the key names was deleted (after the request checked it).
    EnvironmentGone,
    /// This caller's Idempotency-Key was used already.
    Idempotency,
    /// Another key has this secret.
    Secret,
    /// Any other unique rule.
    Other,
}

impl Conflict {
    /// The thing that already exists, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Conflict::KeyName => "name",
            Conflict::Environment => "environment",
            Conflict::EnvironmentGone => "deleted environment",
            Conflict::Idempotency => "idempotency key",
            Conflict::Secret => "secret",
            Conflict::Other => "record",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken.
    #[error("conflict on {}", .0.what())]
    Conflict(Conflict),
    /// The database cannot be reached now (down, restarting, the pool exhausted): the request
    /// may succeed later, and nothing is guessed meanwhile.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Sorts a sqlx error: a unique violation becomes the [`Conflict`] `conflict` names, a lost
    /// connection [`StoreError::Unavailable`], anything else a database error.
    fn from_sqlx(
        e: sqlx::Error,
        conflict: fn(&dyn sqlx::error::DatabaseError) -> Conflict,
    ) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(conflict(d.as_ref()))
            }
            // SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shutting down
            // or starting up).
            sqlx::Error::Database(d)
                if d.code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(Box::new(e))
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
            _ => StoreError::Database(Box::new(e)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A key row as stored. `status` is never `Expired`: that is derived from `expires_at`.
#[derive(Clone)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub key_type: KeyType,
    pub environments: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    pub allowed_ips: Vec<String>,
    pub status: KeyStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub hint: String,
    pub version: i64,
    pub secret_digest: Option<Vec<u8>>,
    /// The rotated-out secret's digest, accepted until `previous_expires_at`.
    pub previous_digest: Option<Vec<u8>>,
    pub previous_expires_at: Option<Timestamp>,
    /// Set on revoke: a one-way fingerprint of the forgotten digest, so verify can say REVOKED.
    pub revoked_fingerprint: Option<Vec<u8>>,
    /// Set on revoke when a rotated-out secret was still inside its grace: its fingerprint.
    pub revoked_previous_fingerprint: Option<Vec<u8>>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// The status a caller sees at `now`: an active key past its expiry is `Expired`.
    pub fn status_at(&self, now: Timestamp) -> KeyStatus {
        match self.status {
            KeyStatus::Active if self.expires_at <= now => KeyStatus::Expired,
            s => s,
        }
    }

    /// Does `digest` open this key at `now`: its current secret, or the rotated-out one while
    /// its grace lasts? Compared in constant time.
    pub fn accepts(&self, digest: &[u8], now: Timestamp) -> bool {
        let current = self
            .secret_digest
            .as_deref()
            .is_some_and(|d| crate::secret::digests_equal(d, digest));
        let previous = self.previous_digest.as_deref().is_some_and(|d| {
            crate::secret::digests_equal(d, digest)
                && self.previous_expires_at.is_some_and(|until| now < until)
        });
        current | previous
    }

    /// Whether `digest` is the rotated-out secret (rather than the current one).
    pub fn is_previous(&self, digest: &[u8]) -> bool {
        self.previous_digest
            .as_deref()
            .is_some_and(|d| crate::secret::digests_equal(d, digest))
    }

    pub fn to_api(&self, now: Timestamp) -> Key {
        Key {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            key_type: self.key_type,
            environments: self.environments.clone(),
            permissions: self.permissions.clone(),
            allowed_ips: self.allowed_ips.clone(),
            status: self.status_at(now),
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip.clone(),
            hint: self.hint.clone(),
            version: self.version,
        }
    }
}

/// An access token row: only its digest is kept.
#[derive(Clone)]
pub struct TokenRecord {
    pub digest: Vec<u8>,
    pub key_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One audit event, written in the same transaction as the change it records. It never holds
/// a secret or a digest of one.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// `key:<id>` or `local:<os user>`.
    pub actor: String,
    /// The acting key's name, when the actor is a key that was found.
    pub actor_name: Option<String>,
    pub action: &'static str,
    pub key_id: Option<String>,
    /// The target key's environments (or the environment an environment event is about).
    pub environments: Vec<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub outcome: &'static str,
    /// Why a failure failed, as the API's error code (`invalid_client`, `key_disabled`, …).
    pub error_code: Option<&'static str>,
    /// An edit's changed fields, by name (never their values).
    pub changed: Vec<&'static str>,
}

impl AuditEvent {
    /// A successful `action` by `actor` at `at`, about nothing yet.
    pub fn success(at: Timestamp, actor: &str, action: &'static str) -> Self {
        AuditEvent {
            at,
            actor: actor.to_owned(),
            actor_name: None,
            action,
            key_id: None,
            environments: Vec::new(),
            source_ip: None,
            request_id: None,
            outcome: "success",
            error_code: None,
            changed: Vec::new(),
        }
    }

    /// The event as the row stored with `id` (its link not yet computed).
    pub fn row(&self, id: i64) -> crate::server::audit::AuditRow {
        crate::server::audit::AuditRow {
            id,
            at: rows::ms(self.at),
            actor: self.actor.clone(),
            actor_name: self.actor_name.clone(),
            action: self.action.to_owned(),
            key_id: self.key_id.clone(),
            environments: self.environments.join(","),
            source_ip: self.source_ip.clone(),
            request_id: self.request_id.clone(),
            outcome: self.outcome.to_owned(),
            error_code: self.error_code.map(str::to_owned),
            changed: self.changed.join(","),
            hash: None,
        }
    }
}

/// Which events `GET /v1/audit` lists. The scoping rule (a caller scoped to some
/// environments sees only their keys' events) is applied by the caller of the store.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub key_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only events past this id, in the list's order.
    pub after: Option<i64>,
    pub oldest_first: bool,
    pub limit: u32,
}

/// The `key.edit` event of a key that left a deleted environment: `template` (the deletion's
/// actor and request) about `key_id`, whose environments were `before`.
fn moved_event(template: &AuditEvent, key_id: &str, before: Vec<String>) -> AuditEvent {
    AuditEvent {
        key_id: Some(key_id.to_owned()),
        environments: before,
        changed: vec!["environments"],
        ..template.clone()
    }
}

/// The most events one retention pass deletes (the purger runs again soon).
pub const PRUNE_BATCH: i64 = 10_000;

/// Where the retention anchor is kept in `server_meta`: the id (8 bytes, big-endian) and the
/// link of the newest deleted event.
const AUDIT_ANCHOR: &str = "audit_anchor";

fn encode_anchor(id: i64, link: &[u8]) -> Vec<u8> {
    let mut value = id.to_be_bytes().to_vec();
    value.extend_from_slice(link);
    value
}

fn decode_anchor(value: &[u8]) -> Option<(i64, Vec<u8>)> {
    let (id, link) = value.split_first_chunk::<8>()?;
    Some((i64::from_be_bytes(*id), link.to_vec()))
}

/// Of the oldest events (id, time, link), the run written before `before`: what retention
/// deletes. Returns the last of them.
fn prune_end(oldest: &[(i64, i64, Option<Vec<u8>>)], before: i64) -> Option<(i64, Vec<u8>)> {
    oldest
        .iter()
        .take_while(|(_, at, _)| *at < before)
        .last()
        .map(|(id, _, link)| (*id, link.clone().unwrap_or_default()))
}

/// What deleting an environment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentDeletion {
    /// Deleted; these keys left it (their caches must let go of them).
    Deleted {
        moved: Vec<String>,
    },
    NotFound,
    /// This many keys that are not revoked live only there.
    InUse {
        keys: u64,
    },
}

/// How many verifies of one key answered one code in one minute.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageCount {
    pub key_id: String,
    /// The minute's start, in milliseconds since the Unix epoch.
    pub minute: i64,
    /// The verify code as on the wire (`VALID`, `EXPIRED`, …).
    pub code: String,
    pub count: i64,
}

/// Where a store keeps the chain key it was given.
#[derive(Default)]
struct ChainSlot(std::sync::OnceLock<ChainKey>);

impl ChainSlot {
    fn set(&self, key: ChainKey) {
        // The first key stays: a store serves one pepper.
        let _ = self.0.set(key);
    }

    fn get(&self) -> StoreResult<&ChainKey> {
        self.0
            .get()
            .ok_or_else(|| StoreError::Database("the audit chain key was not set".into()))
    }
}

/// Whether a search fragment looks like part of a hint (`kw_sk_…abcd`): the prefix, or at least
/// four characters after the ellipsis (`...` is taken for `…`). Returns the fragment as the
/// hint would spell it.
pub fn looks_like_hint(q: &str) -> Option<String> {
    let q = q.replace("...", "…");
    let tail_ok = q
        .split_once('…')
        .is_some_and(|(_, tail)| tail.chars().count() >= 4);
    (q.starts_with("kw_") || tail_ok).then_some(q)
}

/// The orders `GET /v1/keys` can list in; each pages by `(value, id)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySort {
    #[default]
    CreatedAsc,
    CreatedDesc,
    ExpiresAsc,
    NameAsc,
}

/// A page boundary: the sort value and id of the previous page's last key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Time(Timestamp),
    Text(String),
}

/// The one-way fingerprints a revoke keeps of the secrets it forgets (see
/// [`crate::secret::Pepper::fingerprint`]), so verify can answer REVOKED rather than INVALID.
#[derive(Debug, Clone, Default)]
pub struct RevokedFingerprints {
    /// Of the current secret.
    pub current: Option<Vec<u8>>,
    /// Of a rotated-out secret still inside its grace at the moment of the revoke.
    pub previous: Option<Vec<u8>>,
}

/// One row of the change feed: something about `key_id` (or, without one, about an
/// environment) changed in the transaction that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub key_id: Option<String>,
}

/// Which request minted which key, for Idempotency-Key replays.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub actor: String,
    pub idem_key: String,
    /// SHA-256 of the request body: a replay must carry the same request.
    pub request_hash: Vec<u8>,
    pub key_id: String,
    pub created_at: Timestamp,
}

/// Filters of `GET /v1/keys`, already validated.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// A fragment of the name, description or allowed IPs; of the hint too, but only when it
    /// looks like a secret's prefix or tail (see [`looks_like_hint`]), so that a single letter
    /// does not match every random hint.
    pub q: Option<String>,
    pub name: Option<String>,
    pub status: Option<KeyStatus>,
    pub key_type: Option<KeyType>,
    pub environment: Option<String>,
    pub permission: Option<String>,
    /// Only keys whose environments all lie in this set (a scoped caller); `None` sees all.
    pub within_environments: Option<BTreeSet<String>>,
    /// Keys that will expire before this time: not yet expired (unless `status` asks for
    /// expired keys) and not revoked (unless `status` asks for revoked keys).
    pub expires_before: Option<Timestamp>,
    /// Keys unused since this time: created before it and not used since (never-used keys
    /// included), and not revoked (unless `status` asks for revoked keys). A key made
    /// yesterday has not been "unused for 90 days".
    pub unused_since: Option<Timestamp>,
    pub sort: KeySort,
    /// Position after which to start.
    pub after: Option<(SortValue, String)>,
    pub limit: u32,
    /// For the derived `expired` status.
    pub now: Timestamp,
}

/// The names of every environment.
pub async fn environment_names(store: &dyn Store) -> StoreResult<BTreeSet<String>> {
    Ok(store
        .list_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect())
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers (readiness).
    async fn ping(&self) -> StoreResult<()>;

    async fn list_environments(&self) -> StoreResult<Vec<Environment>>;
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()>;

    async fn count_keys(&self) -> StoreResult<i64>;
    /// The stored check value of the pepper, if one was stored.
    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `check` unless a check value is stored already; returns the one stored now (the
    /// first writer wins, so two servers started at once with different peppers cannot both win).
    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>>;
    /// Inserts the first key of an empty database (and `environment`, when given), in one
    /// transaction that holds the write lock from the start; returns false, writing nothing,
    /// when the database already holds a key. Two bootstraps at once mint one key.
    async fn insert_first_key(
        &self,
        key: &KeyRecord,
        environment: Option<(&Environment, &AuditEvent)>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Inserts a new key; with `idempotency`, also records which request minted it, in the same
    /// transaction (a second insert with the same actor and Idempotency-Key is a `Conflict`).
    async fn insert_key(
        &self,
        key: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>>;
    /// The key whose current or rotated-out secret has this digest, for verify. A cache may
    /// serve it without its `description`, which verify never shows.
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>>;
    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>>;
    async fn list_keys(&self, filter: &KeyFilter) -> StoreResult<Vec<KeyRecord>>;
    /// The database's plan for [`Store::list_keys`] with `filter`, one line per step, so tests
    /// can check that every filter is served by an index. PostgreSQL plans with sequential
    /// scans and plain index scans turned off: on a small table it would rightly read the
    /// table, or an index in the list's order, instead; the question asked is which index
    /// finds the filter's keys.
    async fn list_plan(&self, filter: &KeyFilter) -> StoreResult<String>;
    /// Writes every field of `key` if the stored version is still `expected_version`; returns
    /// false (and changes nothing) when someone else changed it first. With `cap_tokens_at`, the
    /// key's access tokens expire no later than that.
    async fn update_key(
        &self,
        key: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// If the stored version is still `expected_version` and the key is not revoked: marks it
    /// revoked, forgets its secret digests (keeping the `fingerprints` computed from them),
    /// deletes its access tokens and writes `audit`, in one transaction. Returns false, changing
    /// nothing, when the key changed first (the caller reads it again and decides again).
    async fn revoke_key(
        &self,
        id: &str,
        expected_version: i64,
        at: Timestamp,
        fingerprints: &RevokedFingerprints,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Adds a batch of verify counts to the stored ones, in one transaction.
    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()>;
    /// A key's verify counts from `since` until before `until`, oldest first.
    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>>;
    /// Writes a batch of last-used times; an older time never overwrites a newer one.
    async fn record_last_used(
        &self,
        uses: &[(String, Timestamp, Option<String>)],
    ) -> StoreResult<()>;

    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>>;

    async fn insert_token(&self, token: &TokenRecord, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>>;

    /// Deletes access tokens that expired before `tokens_before` and idempotency records made
    /// before `idempotency_before`; returns how many of each.
    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)>;

    /// An audit event that goes with no change (a failed authentication, say).
    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()>;
    /// Gives the store the key that links each audit event to the one before (see
    /// [`crate::server::audit`]). Set once, before the first write: a write that must record an
    /// event fails without it rather than leave an event out of the chain.
    fn set_chain_key(&self, key: ChainKey);
    /// Links the events written before the chain existed (no link, older than every linked
    /// event), oldest first, under the append lock; returns how many.
    async fn seal_audit(&self) -> StoreResult<u64>;
    /// Per environment, its keys by state at `now` (expiring: before `soon`); with `within`,
    /// only keys whose environments all lie in it (what a scoped caller may see).
    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, KeyCounts)>>;
    /// Deletes the environment `name`, in one transaction, unless a key that is not revoked
    /// lives only there. Keys that also live elsewhere leave it (a new version each, audited
    /// as `key.edit` from the template `moved`); revoked keys keep it as a name (the row is
    /// marked deleted, so they keep their place and scoped callers' view of them is unchanged).
    async fn delete_environment(
        &self,
        name: &str,
        audit: &AuditEvent,
        moved: &AuditEvent,
    ) -> StoreResult<EnvironmentDeletion>;
    /// Retention: deletes the oldest events written before `before`, at most [`PRUNE_BATCH`]
    /// at a time and never the newest, and keeps the last deleted one's id and link as the
    /// anchor the chain is verified from ([`Store::audit_anchor`]); returns how many.
    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64>;
    /// The id and link of the newest event retention deleted, if any.
    async fn audit_anchor(&self) -> StoreResult<Option<(i64, Vec<u8>)>>;
    /// Events matching `filter`, in its order.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>>;

    /// Benchmarks only (`keyward server --seed-keys`): inserts finished keys, all their
    /// columns as given, in one transaction, with no audit event and no change in the feed.
    /// Search and every index see them as they see any key.
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()>;
    /// Refreshes the query planner's statistics, as after a bulk load.
    async fn analyze(&self) -> StoreResult<()>;
    /// Database connections open and idle, when the backend pools them (for metrics).
    fn pool_use(&self) -> Option<(u32, usize)> {
        None
    }
    /// Keeps the planner's statistics current as keys come and go, cheaply (run by the
    /// purger). PostgreSQL's autovacuum does this by itself.
    async fn optimize(&self) -> StoreResult<()> {
        Ok(())
    }

    /// An access token and the key it was issued to, for authenticating a request. A cache may
    /// serve the key without its `description`.
    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        let Some(token) = self.get_token(digest).await? else {
            return Ok(None);
        };
        Ok(self.get_key(&token.key_id).await?.map(|key| (token, key)))
    }

    /// The change feed after `seq`, oldest first, at most `limit` rows. Every write that
    /// changes what verify or token authentication would answer appends to it in its own
    /// transaction.
    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>>;
    /// The highest sequence number in the change feed (0 when empty).
    async fn last_change(&self) -> StoreResult<i64>;
    /// Deletes change feed rows written before `before`; returns how many.
    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64>;
    /// Wakes `wake` whenever a change commits, until the connection that listens is lost (an
    /// error). A database that cannot announce changes answers `Ok` at once: its followers poll.
    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }
}
