//! Minting a key: a fresh id and secret, and the record that keeps only the secret's digest.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::api::{KeyStatus, KeyType, Meta, RateLimit, Refill};
use crate::secret::{self, Pepper, Secret};
use crate::server::store::{CreditState, KeyRecord};

/// What a new key is made of, already validated.
pub struct NewKey {
    pub name: String,
    pub description: String,
    pub owner: Option<String>,
    pub meta: Option<Meta>,
    /// The starting balance and refill, if the key has credits.
    pub credits: Option<(i64, Option<Refill>)>,
    pub ratelimits: Vec<RateLimit>,
    pub key_type: KeyType,
    pub environments: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    pub allowed_ips: Vec<String>,
    pub expires_at: Timestamp,
    pub created_by: String,
    /// A secret the caller brought (already checked); `None`: generate one.
    pub secret: Option<Secret>,
}

/// Returns the record to store and the secret to show once (`None` for a brought secret: the
/// caller has it already).
pub fn mint(new: NewKey, now: Timestamp, pepper: &Pepper) -> (KeyRecord, Option<Secret>) {
    let brought = new.secret.is_some();
    let secret = new
        .secret
        .unwrap_or_else(|| Secret::generate(new.key_type.secret_prefix()));
    let record = KeyRecord {
        id: format!("key_{}", secret::random_base62(16)),
        name: new.name,
        description: new.description,
        owner: new.owner,
        meta: new.meta,
        credits: new.credits.map(|(remaining, refill)| CreditState {
            remaining,
            refilled_at: now,
            refill,
        }),
        ratelimits: new.ratelimits,
        key_type: new.key_type,
        environments: new.environments,
        permissions: new.permissions,
        allowed_ips: new.allowed_ips,
        status: KeyStatus::Active,
        created_at: now,
        created_by: new.created_by,
        updated_at: now,
        expires_at: new.expires_at,
        last_used_at: None,
        last_used_ip: None,
        hint: secret.hint(),
        version: 1,
        secret_digest: Some(pepper.digest(secret.expose())),
        previous_digest: None,
        previous_expires_at: None,
        revoked_fingerprint: None,
        revoked_previous_fingerprint: None,
    };
    (record, (!brought).then_some(secret))
}
