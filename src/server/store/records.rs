//! The records the store reads and writes, as the rest of the server sees them.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::api::{Credits, Key, KeyStatus, KeyType, Meta, RateLimit, Refill};

/// A key row as stored. `status` is never `Expired`: that is derived from `expires_at`.
#[derive(Clone)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: Option<String>,
    pub meta: Option<Meta>,
    /// Where the key has credits: its balance as last read (the database's is the one that
    /// counts; verify spends there) and its refill.
    pub credits: Option<CreditState>,
    /// Named rate limits verify enforces (counted in memory, see `server::ratelimit`).
    pub ratelimits: Vec<RateLimit>,
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
            owner: self.owner.clone(),
            meta: self.meta.clone(),
            credits: self.credits.as_ref().map(|c| c.to_api(now)),
            ratelimits: self.ratelimits.clone(),
            key_type: self.key_type,
            environments: self.environments.clone(),
            all_environments: self.permissions.contains(crate::api::PERM_ADMIN),
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

/// A key's credits as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditState {
    pub remaining: i64,
    /// When the balance was last refilled (or set, at first).
    pub refilled_at: Timestamp,
    pub refill: Option<Refill>,
}

impl CreditState {
    /// What remains at `now`: a refill due by then counts as made.
    pub fn remaining_at(&self, now: Timestamp) -> i64 {
        match &self.refill {
            Some(r) if self.refilled_at < crate::server::refill::last(r, now) => {
                i64::try_from(r.amount).unwrap_or(i64::MAX)
            }
            _ => self.remaining,
        }
    }

    pub fn to_api(&self, now: Timestamp) -> Credits {
        Credits {
            remaining: self.remaining_at(now),
            refill: self.refill,
            next_refill_at: self.refill.map(|r| crate::server::refill::next(&r, now)),
        }
    }
}

/// What a spend of credits found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// Spent; this remains.
    Spent(i64),
    /// Not enough: this remains, untouched.
    Short(i64),
    /// The key has no credits (they were taken away since it was read).
    NoCredits,
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
    /// The target key's name as it is when the event is written.
    pub key_name: Option<String>,
    /// The target key's environments (or the environment an environment event is about).
    pub environments: Vec<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub outcome: &'static str,
    /// Why a failure failed, as the API's error code (`invalid_client`, `key_disabled`, …).
    pub error_code: Option<&'static str>,
    /// An edit's changed fields, by name (never their values).
    pub changed: Vec<&'static str>,
    /// What the audit log says of itself (`audit.prune`, `audit.seal`): where the chain now
    /// starts, how many events were linked; and what a credits change did (`add 500`). `None`
    /// for every other event.
    pub detail: Option<String>,
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
            key_name: None,
            environments: Vec::new(),
            source_ip: None,
            request_id: None,
            outcome: "success",
            error_code: None,
            changed: Vec::new(),
            detail: None,
        }
    }
}

/// Which events `GET /v1/audit` lists. The scoping rule (a caller scoped to some
/// environments sees only their keys' events) is applied by the caller of the store.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub key_id: Option<String>,
    /// Only these actions (all when empty).
    pub actions: Vec<String>,
    /// Not these actions.
    pub exclude_actions: Vec<String>,
    pub outcome: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only events past this id, in the list's order.
    pub after: Option<i64>,
    pub oldest_first: bool,
    pub limit: u32,
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
    /// looks like a secret's prefix or tail (see [`super::looks_like_hint`]), so that a single letter
    /// does not match every random hint.
    pub q: Option<String>,
    pub name: Option<String>,
    pub status: Option<KeyStatus>,
    /// Leave revoked keys out.
    pub hide_revoked: bool,
    pub key_type: Option<KeyType>,
    pub environment: Option<String>,
    pub permission: Option<String>,
    pub owner: Option<String>,
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

/// An event as the database stores it. Lists (environments, changed fields) are kept as
/// comma-separated text: neither an environment name nor a field name holds a comma.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub actor: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub environments: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub changed: String,
    pub detail: Option<String>,
    /// The event's link in the chain; `None` only for an event written before the chain
    /// existed and not yet sealed into it (see [`super::chain`]).
    pub hash: Option<Vec<u8>>,
}

/// One server's rate-limit count for one window of one limit of one key, and what it reserved
/// of the limit (see `server::ratelimit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCount {
    pub key_id: String,
    pub name: String,
    /// The server that counted (read back only; a write is always the writer's own).
    pub replica: String,
    /// The window's start, milliseconds since the epoch (a multiple of `window_ms`).
    pub window_start: i64,
    pub window_ms: i64,
    /// Uses counted, in cost.
    pub count: u64,
    /// The first and last use counted, milliseconds since the epoch.
    pub first_at: i64,
    pub last_at: i64,
    /// On the server's newest window of the limit: how many more uses it may admit before its
    /// next round. Read back as 0 for a server not heard from lately.
    pub reserved: u64,
}

/// What a rate-limit round reads, one server at a time: the other servers' counts and
/// reservations, and how many servers are alive (this one included).
#[derive(Debug, Clone, Default)]
pub struct RateRound {
    pub others: Vec<RateCount>,
    pub replicas: usize,
    /// Another server alive counted alone at its last round (it may admit by limits it has not
    /// published).
    pub others_alone: bool,
}
