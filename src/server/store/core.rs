//! The store's invariants, written once for every database: a change, its audit event and its
//! change-feed row in one transaction; bootstrap, revoke, rotate, environment delete; the
//! uniqueness rules checked under the write lock. [`Core`] implements the store's jobs over
//! any [`Engine`]; the engines hold only their SQL.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use jiff::Timestamp;

use super::chain::{self, ChainKey, Checkpoint, Verification};
use super::engine::{Engine, Row, Sql};
use super::filter::{AUDIT_FIELDS, LIVE_ONLY_THERE, key_counts, push_environment_counts};
use super::jobs::{
    AuditLog, Bench, ChangeFeed, Credentials, CreditChange, Environments, KeyChanged, Keys,
    Maintenance, RateCounts, Tokens, Usage,
};
use super::records::{
    AuditEvent, AuditFilter, AuditRow, Change, CreditState, EnvironmentDeletion, IdempotencyRecord,
    KeyFilter, KeyRecord, RateCount, RateRound, RevokedFingerprints, Spent, TokenRecord,
    UsageCount,
};
use super::rows::{
    EnvironmentRow, IdempotencyRow, KeyRow, SET_TABLES, TokenRow, allowed_ips_column, key_sets, ms,
    ratelimits_column,
};
use super::{Conflict, StoreError, StoreResult};
use crate::api::{Environment, KeyCounts, Meta, Refill, RefillInterval};

/// Rows per statement when a batch is written (PostgreSQL allows 65,535 bound values; SQLite
/// 32,766).
const CHUNK: usize = 500;

pub(super) struct Core<E> {
    engine: E,
    chain: OnceLock<ChainKey>,
    observers: RwLock<Vec<Arc<dyn KeyChanged>>>,
}

impl<E: Engine> Core<E> {
    pub fn new(engine: E) -> Self {
        Core {
            engine,
            chain: OnceLock::new(),
            observers: RwLock::default(),
        }
    }

    fn chain(&self) -> StoreResult<&ChainKey> {
        self.chain
            .get()
            .ok_or_else(|| StoreError::Database("the audit chain key was not set".into()))
    }

    /// Ends an audited write: appends `events` to the audit chain, a change-feed row for each
    /// key in `keys` (and one for the environments, when `environments` changed), and commits,
    /// all in `tx`: the one shape of every audited change. Observers in this process hear of
    /// the changed keys once the change has committed.
    async fn finish(
        &self,
        mut tx: E::Tx,
        events: &[&AuditEvent],
        keys: &[String],
        environments: bool,
    ) -> StoreResult<()> {
        let e = &self.engine;
        chain::append(e, &mut tx, self.chain()?, events).await?;
        let at = events.last().map_or(0, |a| ms(a.at));
        let change = |kind: &str, key: Option<&String>| {
            Sql::new(E::WORDS.change_insert)
                .bind(at)
                .bind(kind)
                .bind(key.cloned())
        };
        for key in keys {
            e.execute(&mut tx, &change("key", Some(key))).await?;
        }
        if environments {
            e.execute(&mut tx, &change("environment", None)).await?;
        }
        e.commit(tx).await?;
        let observers = self.observers.read().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            for o in observers.iter() {
                o.key_changed(key);
            }
        }
        Ok(())
    }

    /// A write transaction, once the chain key is known to be there (so that no write can
    /// happen whose event could not be recorded).
    async fn begin(&self) -> StoreResult<E::Tx> {
        self.chain()?;
        self.engine.begin_write().await
    }

    async fn read<T: Row>(&self, sql: Sql) -> StoreResult<Vec<T>> {
        self.engine.read(&sql).await
    }

    async fn read_one<T: Row>(&self, sql: Sql) -> StoreResult<Option<T>> {
        Ok(self.engine.read(&sql).await?.into_iter().next())
    }

    /// The key `condition` (on `keys k`, its values bound in `sql`) finds.
    async fn key_where(
        &self,
        condition: &str,
        bind: impl FnOnce(Sql) -> Sql + Send,
    ) -> StoreResult<Option<KeyRecord>> {
        let sql = bind(Sql::new(format!(
            "{} WHERE {condition}",
            key_columns::<E>()
        )));
        Ok(self.read_one::<KeyRow>(sql).await?.map(KeyRecord::from))
    }
}

/// A key's credits folded into one text (see `rows::credit_state`), from `key_credits c`.
const CREDITS_TEXT: &str = "CAST(c.remaining AS TEXT) || ',' || CAST(c.refilled_at AS TEXT) || ',' || \
     coalesce(CAST(c.refill_amount AS TEXT), '') || ',' || coalesce(c.refill_interval, '') || ',' || \
     coalesce(CAST(c.refill_day AS TEXT), '')";

/// `key_credits`' balance with a refill due made: `CASE … END`, binding the last refill time
/// and the refill's amount, in that order.
const REFILLED: &str = "CASE WHEN refilled_at < ? THEN ? ELSE remaining END";

/// The key's credits as `tx` sees them.
async fn credits_in<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    key_id: &str,
) -> StoreResult<Option<CreditState>> {
    let sql = Sql::new(format!(
        "SELECT {CREDITS_TEXT} AS credits FROM key_credits c WHERE c.key_id = ?"
    ))
    .bind(key_id);
    let rows: Vec<(String,)> = e.fetch(tx, &sql).await?;
    Ok(rows
        .first()
        .and_then(|(text,)| super::rows::credit_state(text)))
}

/// The last refill time and amount to bind for [`REFILLED`]: with no refill, a time no row is
/// before.
fn refill_binds(refill: Option<&Refill>, now: Timestamp) -> (i64, i64) {
    match refill {
        Some(r) => (
            ms(crate::server::refill::last(r, now)),
            i64::try_from(r.amount).unwrap_or(i64::MAX),
        ),
        None => (i64::MIN, 0),
    }
}

/// A key's columns, its environments and permissions folded in, read from `keys k`.
pub(super) fn key_fields<E: Engine>() -> String {
    let agg = E::WORDS.aggregate;
    format!(
        "SELECT k.id, k.name, k.description, k.owner, k.meta, k.ratelimits, k.key_type, k.allowed_ips, k.status, \
         k.created_at, k.created_by, k.updated_at, k.expires_at, k.last_used_at, k.last_used_ip, \
         k.hint, k.version, k.secret_digest, k.previous_digest, k.previous_expires_at, \
         k.revoked_fingerprint, k.revoked_previous_fingerprint, \
         (SELECT {agg}(environment, ',') FROM key_environments WHERE key_id = k.id) AS envs, \
         (SELECT {agg}(permission, ',') FROM key_permissions WHERE key_id = k.id) AS perms, \
         (SELECT {CREDITS_TEXT} FROM key_credits c WHERE c.key_id = k.id) AS credits"
    )
}

pub(super) fn key_columns<E: Engine>() -> String {
    format!("{} FROM keys k", key_fields::<E>())
}

/// Whether a `SELECT 1 …` finds a row, in `tx`.
async fn found<E: Engine>(e: &E, tx: &mut E::Tx, sql: Sql) -> StoreResult<bool> {
    Ok(!e.fetch::<(i64,)>(tx, &sql).await?.is_empty())
}

/// The conflict writing `k` (and `idempotency`) would run into, if any: a live key with its
/// name, a key with one of its secrets, or the caller's Idempotency-Key used already. Asked
/// under the write lock, by name of rule; a database that names its constraints (PostgreSQL)
/// also maps a violation that slips past to the same [`Conflict`].
async fn check_unique<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    let live_name = Sql::new(
        "SELECT CAST(1 AS BIGINT) FROM keys WHERE name = ? AND status <> 'revoked' AND id <> ?",
    )
    .bind(&k.name)
    .bind(&k.id);
    if found(e, tx, live_name).await? {
        return Err(StoreError::Conflict(Conflict::KeyName));
    }
    for digest in [&k.secret_digest, &k.previous_digest].into_iter().flatten() {
        let secret = Sql::new(
            "SELECT CAST(1 AS BIGINT) FROM keys WHERE (secret_digest = ? OR previous_digest = ?) AND id <> ?",
        )
        .bind(digest.as_slice())
        .bind(digest.as_slice())
        .bind(&k.id);
        if found(e, tx, secret).await? {
            return Err(StoreError::Conflict(Conflict::Secret));
        }
    }
    if let Some(i) = idempotency {
        let used = Sql::new(
            "SELECT CAST(1 AS BIGINT) FROM idempotency_keys WHERE actor = ? AND idem_key = ?",
        )
        .bind(&i.actor)
        .bind(&i.idem_key);
        if found(e, tx, used).await? {
            return Err(StoreError::Conflict(Conflict::Idempotency));
        }
    }
    Ok(())
}

/// Replaces a key's environment and permission rows. Its environments must still be there:
/// one deleted since the request checked it (`envs delete` racing a create) is a conflict.
/// Where the database has row locks, the environments are locked for share, so a deletion
/// waits for this write, or this write for it.
async fn write_sets<E: Engine>(e: &E, tx: &mut E::Tx, k: &KeyRecord) -> StoreResult<()> {
    let live: Vec<(i64,)> = e
        .fetch(
            tx,
            &Sql::new(
                "SELECT CAST(1 AS BIGINT) FROM environments WHERE deleted_at IS NULL AND name IN (",
            )
            .list(k.environments.iter())
            .push(")")
            .push(E::WORDS.for_share),
        )
        .await?;
    if live.len() != k.environments.len() {
        return Err(StoreError::Conflict(Conflict::EnvironmentGone));
    }
    for ((table, column), values) in SET_TABLES.iter().zip(key_sets(k)) {
        e.execute(
            tx,
            &Sql::new(format!("DELETE FROM {table} WHERE key_id = ?")).bind(&k.id),
        )
        .await?;
        // One statement, whatever the number of rows: every statement is a round trip.
        let values: Vec<&String> = values.iter().collect();
        for chunk in values.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "INSERT INTO {table} (key_id, {column}, key_created_at) VALUES "
            ));
            for (i, v) in chunk.iter().enumerate() {
                sql = sql
                    .push(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" })
                    .bind(&k.id)
                    .bind(*v)
                    .bind(ms(k.created_at));
            }
            e.execute(tx, &sql).await?;
        }
    }
    Ok(())
}

/// Whether the key `id`, at `version`, is an active super-admin key at `now`: not disabled, not
/// revoked, not expired, holding `admin`.
async fn is_active_super_admin<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    id: &str,
    version: i64,
    now: Timestamp,
) -> StoreResult<bool> {
    let sql = Sql::new(format!(
        "SELECT CAST(1 AS BIGINT) FROM keys k WHERE k.id = ? AND k.version = ? AND {ACTIVE_SUPER_ADMIN}"
    ))
    .bind(id)
    .bind(version)
    .bind(ms(now));
    found(e, tx, sql).await
}

/// How long at least a super-admin key must still live to count as one left.
const LOCKOUT_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// `keys k` is an active super-admin key at the bound time.
const ACTIVE_SUPER_ADMIN: &str = "k.status = 'active' AND k.expires_at > ? AND EXISTS \
     (SELECT 1 FROM key_permissions p WHERE p.key_id = k.id AND p.permission = 'admin')";

/// No lockout: a write that took a key out of the active super admins (it was one before the
/// write, which is already made in `tx`) is refused when no other is left. Counted under the
/// audit log's append lock, which every audited write takes before it commits: of two writes
/// that each take out one of the last two, the second counts after the first committed, and
/// is refused.
async fn keep_a_super_admin<E: Engine>(e: &E, tx: &mut E::Tx, now: Timestamp) -> StoreResult<()> {
    e.lock_audit(tx).await?;
    // One that is about to expire does not count: an edit that leaves the last super admin a
    // few seconds to live is a lockout too, only later.
    let left = Sql::new(format!(
        "SELECT CAST(1 AS BIGINT) FROM keys k WHERE {ACTIVE_SUPER_ADMIN} LIMIT 1"
    ))
    .bind(ms(now + LOCKOUT_MARGIN));
    if found(e, tx, left).await? {
        Ok(())
    } else {
        Err(StoreError::Conflict(Conflict::LastSuperAdmin))
    }
}

/// A new key's rows, and the record of the Idempotency-Key that minted it.
async fn insert_key_rows<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    let (extra_column, extra_value) = match E::WORDS.key_extra {
        Some((c, v)) => (format!(", {c}"), format!(", {v}")),
        None => (String::new(), String::new()),
    };
    let sql = Sql::new(format!(
        "INSERT INTO keys (id, name, description, owner, meta, ratelimits, key_type, \
         allowed_ips, status, created_at, created_by, updated_at, expires_at, hint, version, \
         secret_digest{extra_column}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{extra_value})"
    ))
    .bind(&k.id)
    .bind(&k.name)
    .bind(&k.description)
    .bind(&k.owner)
    .bind(k.meta.as_ref().map(Meta::as_str))
    .bind(ratelimits_column(k))
    .bind(k.key_type.as_str())
    .bind(allowed_ips_column(k))
    .bind(k.status.as_str())
    .bind(ms(k.created_at))
    .bind(&k.created_by)
    .bind(ms(k.updated_at))
    .bind(ms(k.expires_at))
    .bind(&k.hint)
    .bind(k.version)
    .bind(&k.secret_digest);
    e.execute(tx, &sql).await?;
    write_sets(e, tx, k).await?;
    if let Some(c) = &k.credits {
        let refill = c.refill.as_ref();
        let sql = Sql::new(
            "INSERT INTO key_credits (key_id, remaining, refilled_at, refill_amount, \
             refill_interval, refill_day) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.id)
        .bind(c.remaining)
        .bind(ms(c.refilled_at))
        .bind(refill.map(|r| i64::try_from(r.amount).unwrap_or(i64::MAX)))
        .bind(refill.map(|r| match r.interval {
            RefillInterval::Day => "day",
            RefillInterval::Month => "month",
        }))
        .bind(
            refill
                .and_then(|r| r.day)
                .map(|d| i64::try_from(d).unwrap_or(1)),
        );
        e.execute(tx, &sql).await?;
    }
    if let Some(i) = idempotency {
        let sql = Sql::new(
            "INSERT INTO idempotency_keys (actor, idem_key, request_hash, key_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&i.actor)
        .bind(&i.idem_key)
        .bind(i.request_hash.as_slice())
        .bind(&i.key_id)
        .bind(ms(i.created_at));
        e.execute(tx, &sql).await?;
    }
    Ok(())
}

const PEPPER_CHECK: &str = "pepper_check";

#[async_trait]
impl<E: Engine> Credentials for Core<E> {
    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        self.key_where("k.secret_digest = ? OR k.previous_digest = ?", |s| {
            s.bind(digest).bind(digest)
        })
        .await
    }

    async fn token_and_key(&self, digest: &[u8]) -> StoreResult<Option<(TokenRecord, KeyRecord)>> {
        let Some(token) = self.get_token(digest).await? else {
            return Ok(None);
        };
        Ok(self.get_key(&token.key_id).await?.map(|key| (token, key)))
    }
}

#[async_trait]
impl<E: Engine> Keys for Core<E> {
    async fn count_keys(&self) -> StoreResult<i64> {
        let n: Option<(i64,)> = self.read_one(Sql::new("SELECT count(*) FROM keys")).await?;
        Ok(n.map_or(0, |(n,)| n))
    }

    async fn insert_first_key(
        &self,
        k: &KeyRecord,
        environment: Option<(&Environment, &AuditEvent)>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        // The lock is taken before the count, so a second bootstrap waits for the first to
        // commit and then sees its key.
        if !E::WORDS.lock_keys.is_empty() {
            e.execute(&mut tx, &Sql::new(E::WORDS.lock_keys)).await?;
        }
        if found(
            e,
            &mut tx,
            Sql::new("SELECT CAST(1 AS BIGINT) FROM keys LIMIT 1"),
        )
        .await?
        {
            return Ok(false);
        }
        let mut events = Vec::new();
        if let Some((env, env_audit)) = environment {
            let sql = Sql::new(
                "INSERT INTO environments (name, description, created_at) \
                 VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at));
            e.execute(&mut tx, &sql).await?;
            events.push(env_audit);
        }
        insert_key_rows(e, &mut tx, k, None).await?;
        events.push(audit);
        self.finish(tx, &events, std::slice::from_ref(&k.id), false)
            .await?;
        Ok(true)
    }

    async fn insert_key(
        &self,
        k: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        check_unique(e, &mut tx, k, idempotency).await?;
        insert_key_rows(e, &mut tx, k, idempotency).await?;
        self.finish(tx, &[audit], std::slice::from_ref(&k.id), false)
            .await
    }

    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        self.key_where("k.id = ?", |s| s.bind(id)).await
    }

    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        self.key_where(
            "k.revoked_fingerprint = ? OR k.revoked_previous_fingerprint = ?",
            |s| s.bind(fingerprint).bind(fingerprint),
        )
        .await
    }

    async fn list_keys(&self, filter: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        self.engine.list_keys(filter).await
    }

    async fn update_key(
        &self,
        k: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        check_unique(e, &mut tx, k, None).await?;
        let now = k.updated_at;
        let was_super_admin =
            is_active_super_admin(e, &mut tx, &k.id, expected_version, now).await?;
        let sql = Sql::new(
            "UPDATE keys SET name = ?, description = ?, owner = ?, meta = ?, ratelimits = ?, \
             allowed_ips = ?, \
             status = ?, updated_at = ?, expires_at = ?, hint = ?, version = ?, \
             secret_digest = ?, previous_digest = ?, previous_expires_at = ? \
             WHERE id = ? AND version = ? AND status <> 'revoked'",
        )
        .bind(&k.name)
        .bind(&k.description)
        .bind(&k.owner)
        .bind(k.meta.as_ref().map(Meta::as_str))
        .bind(ratelimits_column(k))
        .bind(allowed_ips_column(k))
        .bind(k.status.as_str())
        .bind(ms(k.updated_at))
        .bind(ms(k.expires_at))
        .bind(&k.hint)
        .bind(k.version)
        .bind(&k.secret_digest)
        .bind(&k.previous_digest)
        .bind(k.previous_expires_at.map(ms))
        .bind(&k.id)
        .bind(expected_version);
        if e.execute(&mut tx, &sql).await? == 0 {
            return Ok(false);
        }
        write_sets(e, &mut tx, k).await?;
        // Leaving is also being left less than the margin to live.
        if was_super_admin
            && !is_active_super_admin(e, &mut tx, &k.id, k.version, now + LOCKOUT_MARGIN).await?
        {
            keep_a_super_admin(e, &mut tx, now).await?;
        }
        if let Some(cap) = cap_tokens_at {
            // A CASE: SQLite's two-argument min() is PostgreSQL's least().
            let cap = ms(cap);
            let sql = Sql::new(
                "UPDATE access_tokens SET expires_at = \
                 CASE WHEN expires_at < ? THEN expires_at ELSE ? END WHERE key_id = ?",
            )
            .bind(cap)
            .bind(cap)
            .bind(&k.id);
            e.execute(&mut tx, &sql).await?;
        }
        self.finish(tx, &[audit], std::slice::from_ref(&k.id), false)
            .await?;
        Ok(true)
    }

    async fn revoke_key(
        &self,
        id: &str,
        expected_version: i64,
        at: Timestamp,
        fingerprints: &RevokedFingerprints,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        let was_super_admin = is_active_super_admin(e, &mut tx, id, expected_version, at).await?;
        let sql = Sql::new(
            "UPDATE keys SET status = 'revoked', secret_digest = NULL, previous_digest = NULL, \
             previous_expires_at = NULL, revoked_fingerprint = ?, \
             revoked_previous_fingerprint = ?, updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ? AND status <> 'revoked'",
        )
        .bind(&fingerprints.current)
        .bind(&fingerprints.previous)
        .bind(ms(at))
        .bind(id)
        .bind(expected_version);
        if e.execute(&mut tx, &sql).await? == 0 {
            return Ok(false);
        }
        if was_super_admin {
            keep_a_super_admin(e, &mut tx, at).await?;
        }
        let tokens = Sql::new("DELETE FROM access_tokens WHERE key_id = ?").bind(id);
        e.execute(&mut tx, &tokens).await?;
        self.finish(tx, &[audit], &[id.to_owned()], false).await?;
        Ok(true)
    }

    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let row: Option<IdempotencyRow> = self
            .read_one(
                Sql::new(
                    "SELECT actor, idem_key, request_hash, key_id, created_at \
                     FROM idempotency_keys WHERE actor = ? AND idem_key = ?",
                )
                .bind(actor)
                .bind(idem_key),
            )
            .await?;
        Ok(row.map(IdempotencyRecord::from))
    }

    async fn spend_credits(
        &self,
        key_id: &str,
        cost: i64,
        need: i64,
        refill: Option<&Refill>,
        now: Timestamp,
    ) -> StoreResult<Spent> {
        let e = &self.engine;
        let (last, amount) = refill_binds(refill, now);
        let mut tx = e.begin_write().await?;
        let spend = Sql::new(format!(
            "UPDATE key_credits SET remaining = {REFILLED} - ?, \
             refilled_at = CASE WHEN refilled_at < ? THEN ? ELSE refilled_at END \
             WHERE key_id = ? AND {REFILLED} >= ? RETURNING remaining"
        ))
        .bind(last)
        .bind(amount)
        .bind(cost)
        .bind(last)
        .bind(ms(now))
        .bind(key_id)
        .bind(last)
        .bind(amount)
        .bind(need);
        let spent: Vec<(i64,)> = e.fetch(&mut tx, &spend).await?;
        let found = match spent.first() {
            Some((left,)) => Spent::Spent(*left),
            None => {
                let left = Sql::new(format!(
                    "SELECT {REFILLED} FROM key_credits WHERE key_id = ?"
                ))
                .bind(last)
                .bind(amount)
                .bind(key_id);
                let left: Vec<(i64,)> = e.fetch(&mut tx, &left).await?;
                left.first()
                    .map_or(Spent::NoCredits, |(left,)| Spent::Short(*left))
            }
        };
        e.commit(tx).await?;
        Ok(found)
    }

    async fn change_credits(
        &self,
        key_id: &str,
        change: CreditChange,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> StoreResult<Option<CreditState>> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        let bumped = Sql::new(
            "UPDATE keys SET version = version + 1, updated_at = ? \
             WHERE id = ? AND status <> 'revoked'",
        )
        .bind(ms(now))
        .bind(key_id);
        if e.execute(&mut tx, &bumped).await? == 0 {
            return Ok(None);
        }
        let refill = credits_in(e, &mut tx, key_id).await?.and_then(|c| c.refill);
        let (last, amount) = refill_binds(refill.as_ref(), now);
        let max = i64::try_from(crate::api::MAX_CREDITS).unwrap_or(i64::MAX);
        let sql = match change {
            // From now: the next refill comes at its next time, not at once.
            CreditChange::Set(n) => {
                Sql::new("UPDATE key_credits SET remaining = ?, refilled_at = ? WHERE key_id = ?")
                    .bind(n)
                    .bind(ms(now))
                    .bind(key_id)
            }
            CreditChange::Add(n) | CreditChange::Subtract(n) => {
                let (op, n) = match change {
                    CreditChange::Add(_) => ("+", n),
                    _ => ("-", n),
                };
                // Clamped to 0 and MAX_CREDITS: the sum is computed once, in a subquery-free
                // CASE that repeats it (both databases fold it).
                Sql::new(format!(
                    "UPDATE key_credits SET remaining = CASE \
                     WHEN {REFILLED} {op} ? < 0 THEN 0 \
                     WHEN {REFILLED} {op} ? > ? THEN ? \
                     ELSE {REFILLED} {op} ? END, \
                     refilled_at = CASE WHEN refilled_at < ? THEN ? ELSE refilled_at END \
                     WHERE key_id = ?"
                ))
                .bind(last)
                .bind(amount)
                .bind(n)
                .bind(last)
                .bind(amount)
                .bind(n)
                .bind(max)
                .bind(max)
                .bind(last)
                .bind(amount)
                .bind(n)
                .bind(last)
                .bind(ms(now))
                .bind(key_id)
            }
        };
        if e.execute(&mut tx, &sql).await? == 0 {
            return Ok(None);
        }
        let state = credits_in(e, &mut tx, key_id).await?;
        self.finish(tx, &[audit], &[key_id.to_owned()], false)
            .await?;
        Ok(state)
    }
}

#[async_trait]
impl<E: Engine> Environments for Core<E> {
    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        let rows: Vec<EnvironmentRow> = self
            .read(Sql::new(
                "SELECT name, description, created_at FROM environments \
                 WHERE deleted_at IS NULL ORDER BY name",
            ))
            .await?;
        Ok(rows.into_iter().map(Environment::from).collect())
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        let existing: Vec<(Option<i64>,)> = e
            .fetch(
                &mut tx,
                &Sql::new("SELECT deleted_at FROM environments WHERE name = ?").bind(&env.name),
            )
            .await?;
        let sql = match existing.first() {
            Some((None,)) => return Err(StoreError::Conflict(Conflict::Environment)),
            // A deleted environment's name comes back (its revoked keys still carry it).
            Some((Some(_),)) => {
                "UPDATE environments SET description = ?, created_at = ?, \
                                 deleted_at = NULL WHERE name = ?"
            }
            None => "INSERT INTO environments (description, created_at, name) VALUES (?, ?, ?)",
        };
        let sql = Sql::new(sql)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .bind(&env.name);
        e.execute(&mut tx, &sql).await?;
        self.finish(tx, &[audit], &[], true).await
    }

    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, KeyCounts)>> {
        let (now, soon) = (ms(now), ms(soon));
        let mut sql = Sql::new(
            "SELECT e.environment, SUM(CASE WHEN k.status = 'active' AND k.expires_at > ? \
             THEN 1 ELSE 0 END), SUM(CASE WHEN k.status = 'disabled' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN k.status = 'active' AND k.expires_at <= ? THEN 1 ELSE 0 END), \
             SUM(CASE WHEN k.status = 'revoked' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN k.status <> 'revoked' AND k.expires_at > ? AND k.expires_at <= ? \
             THEN 1 ELSE 0 END) FROM key_environments e JOIN keys k ON k.id = e.key_id",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(soon);
        sql = push_environment_counts(sql, within);
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = self.read(sql).await?;
        Ok(rows.into_iter().map(key_counts).collect())
    }

    async fn delete_environment(
        &self,
        name: &str,
        audit: &AuditEvent,
        moved: &AuditEvent,
    ) -> StoreResult<EnvironmentDeletion> {
        let e = &self.engine;
        let mut tx = self.begin().await?;
        let live = Sql::new(
            "SELECT CAST(1 AS BIGINT) FROM environments WHERE name = ? AND deleted_at IS NULL",
        )
        .bind(name);
        if !found(e, &mut tx, live).await? {
            return Ok(EnvironmentDeletion::NotFound);
        }
        let only_there: Vec<(i64,)> = e
            .fetch(&mut tx, &Sql::new(LIVE_ONLY_THERE).bind(name))
            .await?;
        if let Some(&(keys @ 1..,)) = only_there.first() {
            return Ok(EnvironmentDeletion::InUse { keys: keys as u64 });
        }
        // The keys that leave, each with its environments before: one read, then one
        // statement per table, whatever the number of keys.
        let rows: Vec<(String, String, String)> = e
            .fetch(
                &mut tx,
                &Sql::new(
                    "SELECT o.key_id, k.name, o.environment FROM key_environments o \
                     JOIN key_environments e ON e.key_id = o.key_id \
                     JOIN keys k ON k.id = o.key_id \
                     WHERE e.environment = ? AND k.status <> 'revoked' \
                     ORDER BY o.key_id, o.environment",
                )
                .bind(name),
            )
            .await?;
        let mut before: Vec<(String, String, Vec<String>)> = Vec::new();
        for (key, key_name, env) in rows {
            match before.last_mut() {
                Some((k, _, envs)) if *k == key => envs.push(env),
                _ => before.push((key, key_name, vec![env])),
            }
        }
        let ids: Vec<String> = before.iter().map(|(k, _, _)| k.clone()).collect();
        for chunk in ids.chunks(CHUNK) {
            let bump =
                Sql::new("UPDATE keys SET version = version + 1, updated_at = ? WHERE id IN (")
                    .bind(ms(moved.at))
                    .list(chunk)
                    .push(")");
            e.execute(&mut tx, &bump).await?;
            let leave =
                Sql::new("DELETE FROM key_environments WHERE environment = ? AND key_id IN (")
                    .bind(name)
                    .list(chunk)
                    .push(")");
            e.execute(&mut tx, &leave).await?;
        }
        let gone = Sql::new("UPDATE environments SET deleted_at = ? WHERE name = ?")
            .bind(ms(audit.at))
            .bind(name);
        e.execute(&mut tx, &gone).await?;
        let events: Vec<AuditEvent> = before
            .into_iter()
            .map(|(key, key_name, envs)| AuditEvent {
                key_id: Some(key),
                key_name: Some(key_name),
                environments: envs,
                changed: vec!["environments"],
                ..moved.clone()
            })
            .collect();
        let mut all: Vec<&AuditEvent> = events.iter().collect();
        all.push(audit);
        self.finish(tx, &all, &ids, true).await?;
        Ok(EnvironmentDeletion::Deleted { moved: ids })
    }
}

#[async_trait]
impl<E: Engine> Tokens for Core<E> {
    async fn insert_token(&self, t: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let sql = Sql::new(
            "INSERT INTO access_tokens (digest, key_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(t.digest.as_slice())
        .bind(&t.key_id)
        .bind(ms(t.created_at))
        .bind(ms(t.expires_at));
        self.engine.execute(&mut tx, &sql).await?;
        // A new token changes no answer anything cached: no change-feed row.
        self.finish(tx, &[audit], &[], false).await
    }

    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        let row: Option<TokenRow> = self
            .read_one(
                Sql::new(
                    "SELECT digest, key_id, created_at, expires_at FROM access_tokens \
                     WHERE digest = ?",
                )
                .bind(digest),
            )
            .await?;
        Ok(row.map(TokenRecord::from))
    }

    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let e = &self.engine;
        let tokens = e
            .write(
                &Sql::new("DELETE FROM access_tokens WHERE expires_at < ?").bind(ms(tokens_before)),
            )
            .await?;
        let idempotency = e
            .write(
                &Sql::new("DELETE FROM idempotency_keys WHERE created_at < ?")
                    .bind(ms(idempotency_before)),
            )
            .await?;
        Ok((tokens, idempotency))
    }
}

#[async_trait]
impl<E: Engine> AuditLog for Core<E> {
    fn set_chain_key(&self, key: ChainKey) {
        // The first key stays: a store serves one pepper.
        let _ = self.chain.set(key);
    }

    async fn seal_audit(&self, at: Timestamp) -> StoreResult<u64> {
        chain::seal(&self.engine, self.chain()?, at).await
    }

    async fn record_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let chain = self.chain()?;
        let e = &self.engine;
        let mut tx = e.begin_write().await?;
        let all: Vec<&AuditEvent> = events.iter().collect();
        chain::append(e, &mut tx, chain, &all).await?;
        e.commit(tx).await
    }

    async fn prune_audit(&self, before: Timestamp, at: Timestamp) -> StoreResult<u64> {
        chain::prune(&self.engine, self.chain()?, before, at).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        self.read(super::filter::audit_filter(Sql::new(AUDIT_FIELDS), filter))
            .await
    }

    async fn audit_head(&self) -> StoreResult<Option<Checkpoint>> {
        chain::head(&self.engine).await
    }

    async fn verify_audit(
        &self,
        checkpoint: Option<&Checkpoint>,
        progress: &(dyn Fn(u64) -> bool + Send + Sync),
    ) -> StoreResult<Verification> {
        chain::verify(&self.engine, self.chain()?, checkpoint, progress).await
    }
}

#[async_trait]
impl<E: Engine> ChangeFeed for Core<E> {
    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
        let rows: Vec<(i64, Option<String>)> = self
            .read(
                Sql::new("SELECT seq, key_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?")
                    .bind(seq)
                    .bind(limit),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, key_id)| Change { seq, key_id })
            .collect())
    }

    async fn last_change(&self) -> StoreResult<i64> {
        let last: Option<(Option<i64>,)> = self
            .read_one(Sql::new("SELECT max(seq) FROM changes"))
            .await?;
        Ok(last.and_then(|(l,)| l).unwrap_or(0))
    }

    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64> {
        self.engine
            .write(&Sql::new("DELETE FROM changes WHERE at < ?").bind(ms(before)))
            .await
    }

    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        self.engine.listen_for_changes(wake).await
    }

    fn on_key_changed(&self, observer: Arc<dyn KeyChanged>) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }
}

#[async_trait]
impl<E: Engine> Usage for Core<E> {
    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()> {
        let e = &self.engine;
        let mut tx = e.begin_write().await?;
        for chunk in counts.chunks(CHUNK) {
            let mut sql = Sql::new("INSERT INTO key_usage (key_id, minute, code, count) VALUES ");
            for (i, c) in chunk.iter().enumerate() {
                sql = sql
                    .push(if i == 0 {
                        "(?, ?, ?, ?)"
                    } else {
                        ", (?, ?, ?, ?)"
                    })
                    .bind(&c.key_id)
                    .bind(c.minute)
                    .bind(&c.code)
                    .bind(c.count);
            }
            sql = sql.push(
                " ON CONFLICT (key_id, minute, code) \
                 DO UPDATE SET count = key_usage.count + excluded.count",
            );
            e.execute(&mut tx, &sql).await?;
        }
        e.commit(tx).await
    }

    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>> {
        self.read(
            Sql::new(
                "SELECT key_id, minute, code, count FROM key_usage \
                 WHERE key_id = ? AND minute >= ? AND minute < ? ORDER BY minute, code",
            )
            .bind(key_id)
            .bind(ms(since))
            .bind(ms(until)),
        )
        .await
    }

    async fn record_last_used(
        &self,
        uses: &[(String, Timestamp, Option<String>)],
    ) -> StoreResult<()> {
        // In key order, in one statement per chunk: two replicas flushing the same keys lock
        // them in the same order, so neither waits for the other in a cycle (PostgreSQL's
        // deadlock, 40P01).
        let mut sorted: Vec<&(String, Timestamp, Option<String>)> = uses.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let e = &self.engine;
        let mut tx = e.begin_write().await?;
        for chunk in sorted.chunks(CHUNK) {
            if !E::WORDS.lock_rows.is_empty() {
                let lock = Sql::new("SELECT CAST(1 AS BIGINT) FROM keys WHERE id IN (")
                    .list(chunk.iter().map(|u| &u.0))
                    .push(E::WORDS.lock_rows);
                e.fetch::<(i64,)>(&mut tx, &lock).await?;
            }
            let mut sql = Sql::new(
                "UPDATE keys SET last_used_at = u.column2, last_used_ip = u.column3 \
                 FROM (VALUES ",
            );
            for (i, (id, at, ip)) in chunk.iter().enumerate() {
                sql = sql
                    .push(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" })
                    .bind(id)
                    .bind(ms(*at))
                    .bind(ip);
            }
            sql = sql.push(
                ") AS u WHERE keys.id = u.column1 \
                 AND (keys.last_used_at IS NULL OR keys.last_used_at < u.column2)",
            );
            e.execute(&mut tx, &sql).await?;
        }
        e.commit(tx).await
    }
}

#[async_trait]
impl<E: Engine> RateCounts for Core<E> {
    async fn rate_round(
        &self,
        replica: &str,
        now: Timestamp,
        alive_ms: i64,
        plan: &(dyn for<'r> Fn(&'r RateRound) -> Vec<RateCount> + Send + Sync),
    ) -> StoreResult<()> {
        let e = &self.engine;
        let now_ms = ms(now);
        let mut tx = e.begin_write().await?;
        // Rounds take turns: each reads the others' reservations as they stand.
        if !E::WORDS.lock_ratelimits.is_empty() {
            e.execute(&mut tx, &Sql::new(E::WORDS.lock_ratelimits))
                .await?;
        }
        let alive = Sql::new(
            "INSERT INTO ratelimit_replicas (replica, seen_at) VALUES (?, ?) \
             ON CONFLICT (replica) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(replica)
        .bind(now_ms);
        e.execute(&mut tx, &alive).await?;
        // A minute past use, so that a server whose clock is a little behind still finds what
        // it reads.
        let purge =
            Sql::new("DELETE FROM ratelimit_counts WHERE expires_at < ?").bind(now_ms - 60_000);
        e.execute(&mut tx, &purge).await?;
        let gone =
            Sql::new("DELETE FROM ratelimit_replicas WHERE seen_at < ?").bind(now_ms - 3_600_000);
        e.execute(&mut tx, &gone).await?;
        let alive: Vec<(String, i64)> = e
            .fetch(
                &mut tx,
                &Sql::new("SELECT replica, alone FROM ratelimit_replicas WHERE seen_at > ?")
                    .bind(now_ms - alive_ms),
            )
            .await?;
        let replicas = alive.len().max(1);
        let others_alone = alive.iter().any(|(r, alone)| r != replica && *alone != 0);
        // Said before this round's rows are written, in the same transaction: the others read
        // both together.
        let me = Sql::new("UPDATE ratelimit_replicas SET alone = ? WHERE replica = ?")
            .bind(i64::from(replicas == 1))
            .bind(replica);
        e.execute(&mut tx, &me).await?;
        type Row7 = (String, String, String, i64, i64, i64, i64, i64, i64);
        let others: Vec<Row7> = e
            .fetch(
                &mut tx,
                &Sql::new(
                    "SELECT c.key_id, c.name, c.replica, c.window_start, c.window_ms, c.count, \
                     c.first_at, c.last_at, \
                     CASE WHEN r.seen_at > ? THEN c.reserved ELSE 0 END \
                     FROM ratelimit_counts c \
                     LEFT JOIN ratelimit_replicas r ON r.replica = c.replica \
                     WHERE c.replica <> ? AND c.expires_at > ?",
                )
                .bind(now_ms - alive_ms)
                .bind(replica)
                .bind(now_ms - 60_000),
            )
            .await?;
        let round = RateRound {
            others: others
                .into_iter()
                .map(
                    |(key_id, name, replica, window_start, window_ms, count, first, last, res)| {
                        RateCount {
                            key_id,
                            name,
                            replica,
                            window_start,
                            window_ms,
                            count: u64::try_from(count).unwrap_or(0),
                            first_at: first,
                            last_at: last,
                            reserved: u64::try_from(res).unwrap_or(0),
                        }
                    },
                )
                .collect(),
            replicas,
            others_alone,
        };
        let mine = plan(&round);
        let whole = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for chunk in mine.chunks(CHUNK / 4) {
            let mut sql = Sql::new(
                "INSERT INTO ratelimit_counts (key_id, name, window_start, replica, window_ms, \
                 count, first_at, last_at, expires_at, reserved) VALUES ",
            );
            for (i, c) in chunk.iter().enumerate() {
                sql = sql
                    .push(if i == 0 { "(" } else { ", (" })
                    .list([c.key_id.as_str(), c.name.as_str()])
                    .push(", ")
                    .list([c.window_start])
                    .push(", ")
                    .list([replica])
                    .push(", ")
                    .list([
                        c.window_ms,
                        whole(c.count),
                        c.first_at,
                        c.last_at,
                        c.window_start.saturating_add(c.window_ms.saturating_mul(2)),
                        whole(c.reserved),
                    ])
                    .push(")");
            }
            sql = sql.push(
                " ON CONFLICT (key_id, name, window_ms, window_start, replica) DO UPDATE SET \
                 count = excluded.count, first_at = excluded.first_at, \
                 last_at = excluded.last_at, reserved = excluded.reserved",
            );
            e.execute(&mut tx, &sql).await?;
        }
        e.commit(tx).await
    }
}

#[async_trait]
impl<E: Engine> Maintenance for Core<E> {
    async fn ping(&self) -> StoreResult<()> {
        self.read::<(i64,)>(Sql::new("SELECT CAST(1 AS BIGINT)"))
            .await?;
        Ok(())
    }

    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = self
            .read_one(Sql::new("SELECT value FROM server_meta WHERE name = ?").bind(PEPPER_CHECK))
            .await?;
        Ok(row.map(|(v,)| v))
    }

    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        self.engine
            .write(
                &Sql::new(
                    "INSERT INTO server_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(PEPPER_CHECK)
                .bind(check),
            )
            .await?;
        self.pepper_check()
            .await?
            .ok_or_else(|| StoreError::Database("the pepper check value was not stored".into()))
    }

    async fn optimize(&self) -> StoreResult<()> {
        self.engine.optimize().await
    }

    fn pool_use(&self) -> Option<(u32, usize)> {
        self.engine.pool_use()
    }
}

#[async_trait]
impl<E: Engine> Bench for Core<E> {
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        self.engine.seed_keys(keys).await
    }

    async fn analyze(&self) -> StoreResult<()> {
        self.engine.write(&Sql::new("ANALYZE")).await.map(drop)
    }

    async fn list_plan(&self, filter: &KeyFilter) -> StoreResult<String> {
        self.engine.list_plan(filter).await
    }
}
