//! The store's interface, one trait per job. Handlers and workers name the job they need;
//! [`Store`] is all of them, as one database provides them.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreResult;
use super::chain::{ChainKey, Checkpoint, Verification};
use super::records::{
    AuditEvent, AuditFilter, AuditRow, Change, CreditState, EnvironmentDeletion, IdempotencyRecord,
    KeyFilter, KeyRecord, RateCount, RateRound, RevokedFingerprints, Spent, TokenRecord,
    UsageCount,
};
use crate::api::{Environment, KeyCounts, Refill};

/// What verify and token authentication read on every request: the part a cache serves.
#[async_trait]
pub trait Credentials: Send + Sync + 'static {
    /// The key whose current or rotated-out secret has this digest. A cache may serve it
    /// without its `description`, which verify never shows.
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>>;
    /// An access token and the key it was issued to. A cache may serve the key without its
    /// `description`.
    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>>;
}

/// Told at once, in this process, of every key a committed write changed (the cache drops
/// it); other processes learn it from the change feed.
pub trait KeyChanged: Send + Sync + 'static {
    fn key_changed(&self, key_id: &str);
}

#[async_trait]
pub trait Keys: Send + Sync + 'static {
    async fn count_keys(&self) -> StoreResult<i64>;
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
    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>>;
    async fn list_keys(&self, filter: &KeyFilter) -> StoreResult<Vec<KeyRecord>>;
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
    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>>;
    /// Spends `cost` of the key's credits if at least `need` remain (a refill due by `now`
    /// made first, going by `refill`), in one statement: of any number of spends at once, on
    /// any number of replicas, no more succeed than the balance allows. No new version, no
    /// change-feed row.
    async fn spend_credits(
        &self,
        key_id: &str,
        cost: i64,
        need: i64,
        refill: Option<&Refill>,
        now: Timestamp,
    ) -> StoreResult<Spent>;
    /// Sets, adds to or subtracts from (down to zero) the key's credits (a refill due made
    /// first). A new version of the key, with `audit` and a change-feed row, in one
    /// transaction. Returns the credits after, or `None` (changing nothing) when the key is
    /// revoked, gone, or has no credits.
    async fn change_credits(
        &self,
        key_id: &str,
        change: CreditChange,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CreditState>>;
}

/// A change of a key's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditChange {
    Set(i64),
    Add(i64),
    Subtract(i64),
}

#[async_trait]
pub trait Environments: Send + Sync + 'static {
    async fn list_environments(&self) -> StoreResult<Vec<Environment>>;
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()>;
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
}

#[async_trait]
pub trait Tokens: Send + Sync + 'static {
    async fn insert_token(&self, token: &TokenRecord, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>>;
    /// Deletes access tokens that expired before `tokens_before` and idempotency records made
    /// before `idempotency_before`; returns how many of each.
    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)>;
}

/// The audit log and its chain (see [`super::chain`]).
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Gives the store the key that links each audit event to the one before. Set once, before
    /// the first write: a write that must record an event fails without it rather than leave
    /// an event out of the chain.
    fn set_chain_key(&self, key: ChainKey);
    /// Seals the chain if it was never sealed (a new database, or a log an older keyward
    /// wrote); returns how many events were linked. Never again after that.
    async fn seal_audit(&self, at: Timestamp) -> StoreResult<u64>;
    /// Events that go with no change (failed authentications), appended together.
    async fn record_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// Retention: deletes the oldest events written before `before` and appends `audit.prune`
    /// at `at`; returns how many were deleted.
    async fn prune_audit(&self, before: Timestamp, at: Timestamp) -> StoreResult<u64>;
    /// Events matching `filter`, in its order.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>>;
    /// The newest event's id and link.
    async fn audit_head(&self) -> StoreResult<Option<Checkpoint>>;
    /// Walks the chain from one consistent view, telling `progress` how far it got after each
    /// batch; it stops early when `progress` answers false (nobody waits for the answer).
    async fn verify_audit(
        &self,
        checkpoint: Option<&Checkpoint>,
        progress: &(dyn Fn(u64) -> bool + Send + Sync),
    ) -> StoreResult<Verification>;
}

#[async_trait]
pub trait ChangeFeed: Send + Sync + 'static {
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
    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()>;
    /// Whom to tell, in this process, of each key a write changes.
    fn on_key_changed(&self, observer: Arc<dyn KeyChanged>);
}

#[async_trait]
pub trait Usage: Send + Sync + 'static {
    /// Adds a batch of verify counts to the stored ones, in one transaction.
    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()>;
    /// A key's verify counts from `since` until before `until`, oldest first.
    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>>;
    /// Writes a batch of last-used times (key id, when, from where); an older time never
    /// overwrites a newer one.
    async fn record_last_used(
        &self,
        uses: &[(String, Timestamp, Option<String>)],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait RateCounts: Send + Sync + 'static {
    /// One rate-limit round, in a write transaction that rounds of other servers wait for:
    /// notes `replica` alive at `now`, reads the other servers' counts still in use (a
    /// reservation only from servers alive within `alive_ms`) and how many are alive, hands
    /// them to `plan`, and writes the rows it returns (each replacing what `replica` wrote
    /// before for its window). Deletes counts whose windows are of no use.
    async fn rate_round(
        &self,
        replica: &str,
        now: Timestamp,
        alive_ms: i64,
        plan: &(dyn for<'r> Fn(&'r RateRound) -> Vec<RateCount> + Send + Sync),
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait Maintenance: Send + Sync + 'static {
    /// Whether the database answers (readiness).
    async fn ping(&self) -> StoreResult<()>;
    /// The stored check value of the pepper, if one was stored.
    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `check` unless a check value is stored already; returns the one stored now (the
    /// first writer wins, so two servers started at once with different peppers cannot both win).
    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>>;
    /// Keeps the planner's statistics current as keys come and go, cheaply (run by the
    /// purger). PostgreSQL's autovacuum does this by itself.
    async fn optimize(&self) -> StoreResult<()>;
    /// Database connections open and idle, when the backend pools them (for metrics).
    fn pool_use(&self) -> Option<(u32, usize)>;
}

/// For benchmarks and the tests that check plans, not for requests.
#[async_trait]
pub trait Bench: Send + Sync + 'static {
    /// Inserts finished keys, all their columns as given, in one transaction, with no audit
    /// event and no change in the feed (`keyward server --seed-keys`).
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()>;
    /// Refreshes the query planner's statistics, as after a bulk load.
    async fn analyze(&self) -> StoreResult<()>;
    /// The database's plan for [`Keys::list_keys`] with `filter`, one line per step, so tests
    /// can check that every filter is served by an index.
    async fn list_plan(&self, filter: &KeyFilter) -> StoreResult<String>;
}

/// Every job, as one database provides them.
pub trait Store:
    Credentials
    + Keys
    + Environments
    + Tokens
    + AuditLog
    + ChangeFeed
    + Usage
    + RateCounts
    + Maintenance
    + Bench
{
    /// This store as its change feed alone.
    fn feed(self: Arc<Self>) -> Arc<dyn ChangeFeed>;
    /// This store as the credentials it reads.
    fn credentials(self: Arc<Self>) -> Arc<dyn Credentials>;
}

impl<T> Store for T
where
    T: Credentials
        + Keys
        + Environments
        + Tokens
        + AuditLog
        + ChangeFeed
        + Usage
        + RateCounts
        + Maintenance
        + Bench,
{
    fn feed(self: Arc<Self>) -> Arc<dyn ChangeFeed> {
        self
    }
    fn credentials(self: Arc<Self>) -> Arc<dyn Credentials> {
        self
    }
}
