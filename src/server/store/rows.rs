//! What both backends share: the rows their queries return, and how a row becomes a record.
//! Both schemas keep times as Unix milliseconds in a 64-bit integer and digests as bytes, so
//! one mapping serves both; each backend holds only its SQL.

use jiff::Timestamp;

use super::{CreditState, IdempotencyRecord, KeyRecord, TokenRecord};
use crate::api::{Environment, KeyStatus, KeyType, Meta, Refill, RefillInterval};

pub(super) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(super) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// A key's row with its environments and permissions aggregated into comma-separated lists
/// (`envs`, `perms`): names of both are validated to hold no comma.
#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    id: String,
    name: String,
    description: String,
    owner: Option<String>,
    meta: Option<String>,
    ratelimits: Option<String>,
    key_type: String,
    allowed_ips: String,
    status: String,
    created_at: i64,
    created_by: String,
    updated_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    hint: String,
    version: i64,
    secret_digest: Option<Vec<u8>>,
    previous_digest: Option<Vec<u8>>,
    previous_expires_at: Option<i64>,
    revoked_fingerprint: Option<Vec<u8>>,
    revoked_previous_fingerprint: Option<Vec<u8>>,
    envs: Option<String>,
    perms: Option<String>,
    /// `remaining,refilled_at,refill_amount,refill_interval,refill_day` (the last three empty
    /// without a refill), or NULL for a key without credits.
    credits: Option<String>,
}

/// A key's credits, from the text [`KeyRow`] folds them into.
pub(super) fn credit_state(text: &str) -> Option<CreditState> {
    let mut parts = text.split(',');
    let remaining = parts.next()?.parse().ok()?;
    let refilled_at = ts(parts.next()?.parse().ok()?);
    let amount: Option<u64> = parts.next()?.parse().ok();
    let interval = match parts.next()? {
        "day" => Some(RefillInterval::Day),
        "month" => Some(RefillInterval::Month),
        _ => None,
    };
    let day = parts.next().and_then(|d| d.parse().ok());
    let refill = amount.zip(interval).map(|(amount, interval)| Refill {
        amount,
        interval,
        day,
    });
    Some(CreditState {
        remaining,
        refilled_at,
        refill,
    })
}

fn split_list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',').filter(|p| !p.is_empty()).map(str::to_owned)
}

impl From<KeyRow> for KeyRecord {
    fn from(r: KeyRow) -> Self {
        KeyRecord {
            key_type: match r.key_type.as_str() {
                "public" => KeyType::Public,
                _ => KeyType::Private,
            },
            status: match r.status.as_str() {
                "disabled" => KeyStatus::Disabled,
                "revoked" => KeyStatus::Revoked,
                _ => KeyStatus::Active,
            },
            environments: split_list(r.envs.as_deref().unwrap_or_default()).collect(),
            permissions: split_list(r.perms.as_deref().unwrap_or_default()).collect(),
            allowed_ips: split_list(&r.allowed_ips).collect(),
            id: r.id,
            name: r.name,
            description: r.description,
            owner: r.owner,
            meta: r.meta.and_then(Meta::from_stored),
            credits: r.credits.as_deref().and_then(credit_state),
            ratelimits: r
                .ratelimits
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default(),
            created_at: ts(r.created_at),
            created_by: r.created_by,
            updated_at: ts(r.updated_at),
            expires_at: ts(r.expires_at),
            last_used_at: r.last_used_at.map(ts),
            last_used_ip: r.last_used_ip,
            hint: r.hint,
            version: r.version,
            secret_digest: r.secret_digest,
            previous_digest: r.previous_digest,
            previous_expires_at: r.previous_expires_at.map(ts),
            revoked_fingerprint: r.revoked_fingerprint,
            revoked_previous_fingerprint: r.revoked_previous_fingerprint,
        }
    }
}

/// How a key's allowlist is stored: one comma-separated text column.
/// The tables that hold a key's sets, and each one's value column, in [`key_sets`]' order.
/// Each row also carries its key's creation time, so a filtered list reads its rows in order.
pub(super) const SET_TABLES: [(&str, &str); 2] = [
    ("key_environments", "environment"),
    ("key_permissions", "permission"),
];

/// A key's environments and permissions, in [`SET_TABLES`]' order.
pub(super) fn key_sets(k: &KeyRecord) -> [&std::collections::BTreeSet<String>; 2] {
    [&k.environments, &k.permissions]
}

pub(super) fn allowed_ips_column(k: &KeyRecord) -> String {
    k.allowed_ips.join(",")
}

#[derive(sqlx::FromRow)]
pub(super) struct TokenRow {
    digest: Vec<u8>,
    key_id: String,
    created_at: i64,
    expires_at: i64,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            digest: r.digest,
            key_id: r.key_id,
            created_at: ts(r.created_at),
            expires_at: ts(r.expires_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct IdempotencyRow {
    actor: String,
    idem_key: String,
    request_hash: Vec<u8>,
    key_id: String,
    created_at: i64,
}

impl From<IdempotencyRow> for IdempotencyRecord {
    fn from(r: IdempotencyRow) -> Self {
        IdempotencyRecord {
            actor: r.actor,
            idem_key: r.idem_key,
            request_hash: r.request_hash,
            key_id: r.key_id,
            created_at: ts(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EnvironmentRow {
    name: String,
    description: String,
    created_at: i64,
}

impl From<EnvironmentRow> for Environment {
    fn from(r: EnvironmentRow) -> Self {
        Environment {
            name: r.name,
            description: r.description,
            created_at: ts(r.created_at),
            keys: None,
        }
    }
}

/// The `ratelimits` column: a JSON array, NULL for none.
pub(super) fn ratelimits_column(k: &KeyRecord) -> Option<String> {
    (!k.ratelimits.is_empty()).then(|| serde_json::to_string(&k.ratelimits).unwrap_or_default())
}
