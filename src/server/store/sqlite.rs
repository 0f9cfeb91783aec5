//! The SQLite backend: one file, WAL, `synchronous=FULL`, migrations embedded in the binary.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::filter::{
    AUDIT_FIELDS, Dialect, LIVE_ONLY_THERE, Search, key_counts, push_audit_filter,
    push_environment_counts, push_key_filter,
};
use super::rows::{
    EnvironmentRow, IdempotencyRow, KeyRow, SET_TABLES, TokenRow, allowed_ips_column, key_sets, ms,
};
use super::{
    AUDIT_ANCHOR, AuditEvent, AuditFilter, ChainSlot, Change, Conflict, EnvironmentDeletion,
    IdempotencyRecord, KeyFilter, KeyRecord, KeySort, PRUNE_BATCH, RevokedFingerprints, Store,
    StoreError, StoreResult, TokenRecord, UsageCount, decode_anchor, encode_anchor, moved_event,
    prune_end,
};
use crate::api::{Environment, KeyCounts};
use crate::server::audit::{AuditRow, ChainKey};

pub struct SqliteStore {
    pool: SqlitePool,
    chain: ChainSlot,
}

impl SqliteStore {
    /// How the list `f` searches for `q`, decided in the transaction `tx` that will read it.
    /// The FTS index is asked first, for at most [`common_fragment`] + 1 keys: when it finds
    /// no more, the list reads exactly those keys; when it finds more, SQLite cannot walk the
    /// FTS index in the list's order, and reading keys in order, testing each, fills a page
    /// sooner than sorting every match. That test is `LIKE`, which folds the case of ASCII
    /// letters only where the trigram index folds every letter: a fragment with other
    /// letters stays with the index, so both ways find the same keys.
    async fn search_for(
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        f: &KeyFilter,
    ) -> StoreResult<Dialect> {
        let search = match f.q.as_deref().map(|q| (q, super::filter::fts5_match(q))) {
            None | Some((_, None)) => Search::Like,
            Some((q, Some(query))) => {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT rowid FROM keys_search WHERE keys_search MATCH ? LIMIT ?",
                )
                .bind(query)
                .bind(common_fragment(f.sort) + 1)
                .fetch_all(&mut **tx)
                .await
                .map_err(db)?;
                if ids.len() <= common_fragment(f.sort) as usize {
                    Search::Ids(ids)
                } else if q.is_ascii() {
                    Search::Like
                } else {
                    Search::Fts5
                }
            }
        };
        Ok(Dialect {
            like: "LIKE",
            search,
        })
    }

    /// Opens (creating if needed) the database at `url` (`sqlite:PATH` or `sqlite::memory:`)
    /// and brings its schema up to date. An idle file connection is closed after
    /// `idle_timeout`; an in-memory database ignores it: it lives exactly as long as its one
    /// connection, so that connection is never closed for idleness or age (`keyward server
    /// --dev` once lost its whole database after ten idle minutes).
    pub async fn open(url: &str, idle_timeout: Duration) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = if url.contains(":memory:") {
            SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .idle_timeout(idle_timeout)
        };
        let pool = pool.connect_with(options).await.map_err(db)?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(SqliteStore {
            pool,
            chain: ChainSlot::default(),
        })
    }
}

const PEPPER_CHECK: &str = "pepper_check";

/// How many keys a fragment must match to be searched by scanning keys in the list's order.
/// Asking the FTS index for each match costs time in proportion to the matches (about 1.5 ms
/// per 1,000 for a fragment made of common trigrams, at a million keys), and so does reading
/// keys in order until a page is full (about 2 ms per 10,000 keys read). In creation order a
/// fragment's keys are spread evenly, so past 1,000 matches in a million the scan fills a page
/// within about 50,000 keys. Other orders can hold a fragment's keys together (by name, all
/// of `ledger-cron-…` sit in one stretch), so there the index keeps up to 5,000.
fn common_fragment(sort: KeySort) -> i64 {
    match sort {
        KeySort::CreatedAsc | KeySort::CreatedDesc => 1_000,
        KeySort::ExpiresAsc | KeySort::NameAsc => 5_000,
    }
}

fn db(e: sqlx::Error) -> StoreError {
    // SQLite names no constraint in its errors, only its columns in message text, which
    // keyward does not read: each write asks first which rule it would break (see
    // `check_unique`), and a unique violation left over is only known to be one.
    StoreError::from_sqlx(e, |_| Conflict::Other)
}

/// `BEGIN IMMEDIATE` takes the write lock at once, so what a write checks first stays true
/// until it commits (SQLite has one writer at a time).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Whether a `SELECT 1 …` query finds a row.
async fn found<'q>(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    query: sqlx::query::QueryScalar<'q, Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>>,
) -> StoreResult<bool> {
    Ok(query.fetch_optional(&mut **tx).await.map_err(db)?.is_some())
}

/// The conflict writing `k` (and `idempotency`) would run into, if any: a live key with its
/// name, a key with one of its secrets, or the caller's Idempotency-Key used already.
async fn check_unique(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    let live_name =
        sqlx::query_scalar("SELECT 1 FROM keys WHERE name = ? AND status <> 'revoked' AND id <> ?")
            .bind(&k.name)
            .bind(&k.id);
    if found(tx, live_name).await? {
        return Err(StoreError::Conflict(Conflict::KeyName));
    }
    for digest in [&k.secret_digest, &k.previous_digest].into_iter().flatten() {
        let secret = sqlx::query_scalar(
            "SELECT 1 FROM keys WHERE (secret_digest = ? OR previous_digest = ?) AND id <> ?",
        )
        .bind(digest)
        .bind(digest)
        .bind(&k.id);
        if found(tx, secret).await? {
            return Err(StoreError::Conflict(Conflict::Secret));
        }
    }
    if let Some(i) = idempotency {
        let used =
            sqlx::query_scalar("SELECT 1 FROM idempotency_keys WHERE actor = ? AND idem_key = ?")
                .bind(&i.actor)
                .bind(&i.idem_key);
        if found(tx, used).await? {
            return Err(StoreError::Conflict(Conflict::Idempotency));
        }
    }
    Ok(())
}

/// A key's columns, its environments and permissions folded in, read from `keys k`.
macro_rules! key_fields {
    () => {
        "SELECT k.id, k.name, k.description, k.key_type, k.allowed_ips, k.status, \
     k.created_at, k.created_by, k.updated_at, k.expires_at, k.last_used_at, k.last_used_ip, \
     k.hint, k.version, k.secret_digest, k.previous_digest, k.previous_expires_at, \
     k.revoked_fingerprint, k.revoked_previous_fingerprint, \
     (SELECT group_concat(environment, ',') FROM key_environments WHERE key_id = k.id) AS envs, \
     (SELECT group_concat(permission, ',') FROM key_permissions WHERE key_id = k.id) AS perms"
    };
}
/// For lists, whose filter says which tables they read (see `push_key_filter`).
const KEY_FIELDS: &str = key_fields!();
const KEY_COLUMNS: &str = concat!(key_fields!(), " FROM keys k");

/// Replaces a key's environment and permission rows. Its environments must still be there:
/// one deleted since the request checked it (`envs delete` racing a create) is a conflict.
async fn write_sets(tx: &mut sqlx::Transaction<'_, Sqlite>, k: &KeyRecord) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Sqlite>::new(
        "SELECT count(*) FROM environments WHERE deleted_at IS NULL AND name IN (",
    );
    let mut each = qb.separated(", ");
    for env in &k.environments {
        each.push_bind(env);
    }
    qb.push(")");
    let live: i64 = qb
        .build_query_scalar()
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
    if live as usize != k.environments.len() {
        return Err(StoreError::Conflict(Conflict::EnvironmentGone));
    }
    for ((table, column), values) in SET_TABLES.iter().zip(key_sets(k)) {
        sqlx::query(&format!("DELETE FROM {table} WHERE key_id = ?"))
            .bind(&k.id)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        for value in values {
            sqlx::query(&format!(
                "INSERT INTO {table} (key_id, {column}, key_created_at) VALUES (?, ?, ?)"
            ))
            .bind(&k.id)
            .bind(value)
            .bind(ms(k.created_at))
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        }
    }
    Ok(())
}

/// A new key's rows, and the record of the Idempotency-Key that minted it.
async fn insert_key_rows(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO keys (id, name, description, key_type, allowed_ips, status, created_at, \
         created_by, updated_at, expires_at, hint, version, secret_digest, search_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT coalesce(max(search_id), 0) + 1 FROM keys))",
    )
    .bind(&k.id)
    .bind(&k.name)
    .bind(&k.description)
    .bind(k.key_type.as_str())
    .bind(allowed_ips_column(k))
    .bind(k.status.as_str())
    .bind(ms(k.created_at))
    .bind(&k.created_by)
    .bind(ms(k.updated_at))
    .bind(ms(k.expires_at))
    .bind(&k.hint)
    .bind(k.version)
    .bind(&k.secret_digest)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    write_sets(tx, k).await?;
    if let Some(i) = idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (actor, idem_key, request_hash, key_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&i.actor)
        .bind(&i.idem_key)
        .bind(&i.request_hash)
        .bind(&i.key_id)
        .bind(ms(i.created_at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Appends `a` to the audit log, linked to the event before it. Inside a write transaction:
/// the insert takes SQLite's one write lock (if the transaction does not hold it already), so
/// no other event can come between this one and the one it links to.
async fn insert_audit(
    conn: &mut SqliteConnection,
    chain: &ChainKey,
    a: &AuditEvent,
) -> StoreResult<()> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (at, actor, actor_name, action, key_id, environment, \
         environments, source_ip, request_id, outcome, error_code, changed) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(ms(a.at))
    .bind(&a.actor)
    .bind(&a.actor_name)
    .bind(a.action)
    .bind(&a.key_id)
    .bind(a.environments.first())
    .bind(a.environments.join(","))
    .bind(&a.source_ip)
    .bind(&a.request_id)
    .bind(a.outcome)
    .bind(a.error_code)
    .bind(a.changed.join(","))
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let previous: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let link = chain.link(previous.flatten().as_deref(), &a.row(id));
    sqlx::query("UPDATE audit_events SET hash = ? WHERE id = ?")
        .bind(link)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Appends to the change feed, in the writing transaction (see migrations/sqlite/0004).
async fn record_change(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    kind: &str,
    key_id: Option<&str>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO changes (at, kind, key_id) VALUES (?, ?, ?)")
        .bind(ms(at))
        .bind(kind)
        .bind(key_id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        // Many rows per statement: each statement is a trip to sqlx's connection thread.
        const ROWS: usize = 500;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let mut next_search_id: i64 =
            sqlx::query_scalar("SELECT coalesce(max(search_id), 0) + 1 FROM keys")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        for chunk in keys.chunks(ROWS) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO keys (id, name, description, key_type, allowed_ips, status, \
                 created_at, created_by, updated_at, expires_at, last_used_at, last_used_ip, \
                 hint, version, secret_digest, previous_digest, previous_expires_at, \
                 revoked_fingerprint, revoked_previous_fingerprint, search_id) ",
            );
            qb.push_values(chunk, |mut row, k| {
                row.push_bind(k.id.clone())
                    .push_bind(k.name.clone())
                    .push_bind(k.description.clone())
                    .push_bind(k.key_type.as_str())
                    .push_bind(allowed_ips_column(k))
                    .push_bind(k.status.as_str())
                    .push_bind(ms(k.created_at))
                    .push_bind(k.created_by.clone())
                    .push_bind(ms(k.updated_at))
                    .push_bind(ms(k.expires_at))
                    .push_bind(k.last_used_at.map(ms))
                    .push_bind(k.last_used_ip.clone())
                    .push_bind(k.hint.clone())
                    .push_bind(k.version)
                    .push_bind(k.secret_digest.clone())
                    .push_bind(k.previous_digest.clone())
                    .push_bind(k.previous_expires_at.map(ms))
                    .push_bind(k.revoked_fingerprint.clone())
                    .push_bind(k.revoked_previous_fingerprint.clone())
                    .push_bind(next_search_id);
                next_search_id += 1;
            });
            qb.build().execute(&mut *tx).await.map_err(db)?;
            for (i, (table, column)) in SET_TABLES.iter().enumerate() {
                let rows: Vec<(&KeyRecord, &str)> = chunk
                    .iter()
                    .flat_map(|k| key_sets(k)[i].iter().map(move |v| (k, v.as_str())))
                    .collect();
                let mut qb = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO {table} (key_id, {column}, key_created_at) "
                ));
                qb.push_values(rows, |mut row, (k, value)| {
                    row.push_bind(k.id.as_str())
                        .push_bind(value)
                        .push_bind(ms(k.created_at));
                });
                qb.build().execute(&mut *tx).await.map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn list_plan(&self, f: &KeyFilter) -> StoreResult<String> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let dialect = Self::search_for(&mut tx, f).await?;
        let mut qb = QueryBuilder::<Sqlite>::new(format!("EXPLAIN QUERY PLAN {KEY_FIELDS}"));
        push_key_filter(&mut qb, f, &dialect);
        let steps: Vec<(i64, i64, i64, String)> =
            qb.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(steps
            .into_iter()
            .map(|(.., detail)| detail)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    async fn optimize(&self) -> StoreResult<()> {
        // SQLite keeps no statistics unless asked; without them its planner assumes large
        // tables and picks indexes well. Statistics of a nearly empty database would mislead
        // it once keys number in the millions, so the first ANALYZE waits for
        // ANALYZE_FROM_KEYS keys. After it, `optimize` analyzes again only the tables that
        // changed much (0x10000: every table, not only those this connection used).
        // `analysis_limit` makes either a sample: milliseconds, even at a million keys. Other
        // pooled connections read new statistics when they are replaced (sqlx: 30 minutes).
        const ANALYZE_FROM_KEYS: i64 = 10_000;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let analyzed: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        let statement = if analyzed.is_some() {
            "PRAGMA optimize = 0x10002"
        } else {
            // search_id grows with every key: its maximum is a count without a scan.
            let keys: i64 = sqlx::query_scalar("SELECT coalesce(max(search_id), 0) FROM keys")
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
            if keys < ANALYZE_FROM_KEYS {
                return Ok(());
            }
            "ANALYZE"
        };
        for statement in [
            "PRAGMA analysis_limit = 1000",
            statement,
            // The connection goes back to the pool: a later full ANALYZE stays full.
            "PRAGMA analysis_limit = 0",
        ] {
            sqlx::query(statement)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    fn pool_use(&self) -> Option<(u32, usize)> {
        Some((self.pool.size(), self.pool.num_idle()))
    }

    async fn analyze(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        let rows: Vec<EnvironmentRow> = sqlx::query_as(
            "SELECT name, description, created_at FROM environments \
                 WHERE deleted_at IS NULL ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(Environment::from).collect())
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let existing: Option<Option<i64>> =
            sqlx::query_scalar("SELECT deleted_at FROM environments WHERE name = ?")
                .bind(&env.name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let sql = match existing {
            Some(None) => return Err(StoreError::Conflict(Conflict::Environment)),
            // A deleted environment's name comes back (its revoked keys still carry it).
            Some(Some(_)) => {
                "UPDATE environments SET description = ?2, created_at = ?3, deleted_at = NULL \
                 WHERE name = ?1"
            }
            None => "INSERT INTO environments (name, description, created_at) VALUES (?1, ?2, ?3)",
        };
        sqlx::query(sql)
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        record_change(&mut tx, "environment", None, audit.at).await?;
        tx.commit().await.map_err(db)
    }

    async fn count_keys(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM keys")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT value FROM server_meta WHERE name = ?")
            .bind(PEPPER_CHECK)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO server_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(PEPPER_CHECK)
            .bind(check)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM server_meta WHERE name = ?")
            .bind(PEPPER_CHECK)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn insert_first_key(
        &self,
        k: &KeyRecord,
        environment: Option<(&Environment, &AuditEvent)>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        // The write lock is taken before the count, so a second bootstrap waits for the first
        // to commit and then sees its key.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM keys")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if count > 0 {
            return Ok(false);
        }
        if let Some((env, env_audit)) = environment {
            sqlx::query(
                "INSERT INTO environments (name, description, created_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            insert_audit(&mut tx, self.chain.get()?, env_audit).await?;
        }
        insert_key_rows(&mut tx, k, None).await?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        record_change(&mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_key(
        &self,
        k: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        check_unique(&mut tx, k, idempotency).await?;
        insert_key_rows(&mut tx, k, idempotency).await?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        record_change(&mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)
    }

    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} WHERE k.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(KeyRecord::from))
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        // One read transaction: the search and the page see the same keys.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let dialect = Self::search_for(&mut tx, f).await?;
        let mut qb = QueryBuilder::<Sqlite>::new(KEY_FIELDS);
        push_key_filter(&mut qb, f, &dialect);
        let rows: Vec<KeyRow> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(rows.into_iter().map(KeyRecord::from).collect())
    }

    async fn revoke_key(
        &self,
        id: &str,
        expected_version: i64,
        at: Timestamp,
        fingerprints: &RevokedFingerprints,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE keys SET status = 'revoked', secret_digest = NULL, previous_digest = NULL, \
             previous_expires_at = NULL, revoked_fingerprint = ?, \
             revoked_previous_fingerprint = ?, updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ? AND status <> 'revoked'",
        )
        .bind(&fingerprints.current)
        .bind(&fingerprints.previous)
        .bind(ms(at))
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM access_tokens WHERE key_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        record_change(&mut tx, "key", Some(id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_token(&self, t: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO access_tokens (digest, key_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&t.digest)
        .bind(&t.key_id)
        .bind(ms(t.created_at))
        .bind(ms(t.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let tokens = sqlx::query("DELETE FROM access_tokens WHERE expires_at < ?")
            .bind(ms(tokens_before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        let idempotency = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(ms(idempotency_before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        Ok((tokens, idempotency))
    }

    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT digest, key_id, created_at, expires_at FROM access_tokens WHERE digest = ?",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(TokenRecord::from))
    }

    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "{KEY_COLUMNS} WHERE k.secret_digest = ? OR k.previous_digest = ?"
        ))
        .bind(digest)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(KeyRecord::from))
    }

    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "{KEY_COLUMNS} WHERE k.revoked_fingerprint = ? OR k.revoked_previous_fingerprint = ?"
        ))
        .bind(fingerprint)
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(KeyRecord::from))
    }

    async fn update_key(
        &self,
        k: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        check_unique(&mut tx, k, None).await?;
        let done = sqlx::query(
            "UPDATE keys SET name = ?, description = ?, allowed_ips = ?, status = ?, \
             updated_at = ?, expires_at = ?, hint = ?, version = ?, secret_digest = ?, \
             previous_digest = ?, previous_expires_at = ? \
             WHERE id = ? AND version = ? AND status <> 'revoked'",
        )
        .bind(&k.name)
        .bind(&k.description)
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
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        write_sets(&mut tx, k).await?;
        if let Some(cap) = cap_tokens_at {
            sqlx::query(
                "UPDATE access_tokens SET expires_at = min(expires_at, ?) WHERE key_id = ?",
            )
            .bind(ms(cap))
            .bind(&k.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        record_change(&mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, KeyCounts)>> {
        let mut qb = QueryBuilder::<Sqlite>::new("");
        push_environment_counts(&mut qb, ms(now), ms(soon), within);
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(key_counts).collect())
    }

    async fn delete_environment(
        &self,
        name: &str,
        audit: &AuditEvent,
        moved: &AuditEvent,
    ) -> StoreResult<EnvironmentDeletion> {
        let chain = self.chain.get()?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let live =
            sqlx::query_scalar("SELECT 1 FROM environments WHERE name = ? AND deleted_at IS NULL")
                .bind(name);
        if !found(&mut tx, live).await? {
            return Ok(EnvironmentDeletion::NotFound);
        }
        let only_there: i64 = sqlx::query_scalar(&LIVE_ONLY_THERE.replace("{name}", "?"))
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if only_there > 0 {
            return Ok(EnvironmentDeletion::InUse {
                keys: only_there as u64,
            });
        }
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT e.key_id FROM key_environments e JOIN keys k ON k.id = e.key_id \
             WHERE e.environment = ? AND k.status <> 'revoked' ORDER BY e.key_id",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for id in &keys {
            let before: Vec<String> = sqlx::query_scalar(
                "SELECT environment FROM key_environments WHERE key_id = ? ORDER BY environment",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query("DELETE FROM key_environments WHERE key_id = ? AND environment = ?")
                .bind(id)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query("UPDATE keys SET version = version + 1, updated_at = ? WHERE id = ?")
                .bind(ms(moved.at))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            insert_audit(&mut tx, chain, &moved_event(moved, id, before)).await?;
            record_change(&mut tx, "key", Some(id), moved.at).await?;
        }
        sqlx::query("UPDATE environments SET deleted_at = ? WHERE name = ?")
            .bind(ms(audit.at))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut tx, chain, audit).await?;
        record_change(&mut tx, "environment", None, audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(EnvironmentDeletion::Deleted { moved: keys })
    }

    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        let oldest: Vec<(i64, i64, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT id, at, hash FROM audit_events \
             WHERE id < (SELECT max(id) FROM audit_events) ORDER BY id LIMIT ?",
        )
        .bind(PRUNE_BATCH)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let Some((last, link)) = prune_end(&oldest, ms(before)) else {
            return Ok(0);
        };
        let deleted = sqlx::query("DELETE FROM audit_events WHERE id <= ?")
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        sqlx::query(
            "INSERT INTO server_meta (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(AUDIT_ANCHOR)
        .bind(encode_anchor(last, &link))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }

    async fn audit_anchor(&self) -> StoreResult<Option<(i64, Vec<u8>)>> {
        let value: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT value FROM server_meta WHERE name = ?")
                .bind(AUDIT_ANCHOR)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(value.as_deref().and_then(decode_anchor))
    }

    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        for c in counts {
            sqlx::query(
                "INSERT INTO key_usage (key_id, minute, code, count) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (key_id, minute, code) DO UPDATE SET count = count + excluded.count",
            )
            .bind(&c.key_id)
            .bind(c.minute)
            .bind(&c.code)
            .bind(c.count)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>> {
        sqlx::query_as(
            "SELECT key_id, minute, code, count FROM key_usage \
             WHERE key_id = ? AND minute >= ? AND minute < ? ORDER BY minute, code",
        )
        .bind(key_id)
        .bind(ms(since))
        .bind(ms(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    async fn record_last_used(&self, uses: &[crate::server::last_used::Use]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for (id, at, ip) in uses {
            sqlx::query(
                "UPDATE keys SET last_used_at = ?, last_used_ip = ? \
                 WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            )
            .bind(ms(*at))
            .bind(ip)
            .bind(id)
            .bind(ms(*at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn get_idempotency(
        &self,
        actor: &str,
        idem_key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let row: Option<IdempotencyRow> = sqlx::query_as(
            "SELECT actor, idem_key, request_hash, key_id, created_at FROM idempotency_keys \
             WHERE actor = ? AND idem_key = ?",
        )
        .bind(actor)
        .bind(idem_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(IdempotencyRecord::from))
    }

    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
        let rows: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT seq, key_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(seq, key_id)| Change { seq, key_id })
            .collect())
    }

    async fn last_change(&self) -> StoreResult<i64> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM changes")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(last.unwrap_or(0))
    }

    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM changes WHERE at < ?")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected())
    }

    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        insert_audit(&mut tx, self.chain.get()?, audit).await?;
        tx.commit().await.map_err(db)
    }

    fn set_chain_key(&self, key: ChainKey) {
        self.chain.set(key);
    }

    async fn seal_audit(&self) -> StoreResult<u64> {
        let chain = self.chain.get()?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db)?;
        // Only events older than every linked one: an unlinked event after a linked one was
        // unlinked by someone else, and `keyward audit verify` must say so, not seal it.
        let unlinked: Vec<AuditRow> = sqlx::query_as(&format!(
            "{AUDIT_FIELDS} WHERE hash IS NULL AND id < \
             (SELECT coalesce(min(id), 9223372036854775807) FROM audit_events WHERE hash IS NOT NULL) \
             ORDER BY id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut previous: Option<Vec<u8>> = None;
        for event in &unlinked {
            let link = chain.link(previous.as_deref(), event);
            sqlx::query("UPDATE audit_events SET hash = ? WHERE id = ?")
                .bind(&link)
                .bind(event.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            previous = Some(link);
        }
        tx.commit().await.map_err(db)?;
        Ok(unlinked.len() as u64)
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        let mut qb = QueryBuilder::<Sqlite>::new(AUDIT_FIELDS);
        push_audit_filter(&mut qb, filter);
        qb.build_query_as().fetch_all(&self.pool).await.map_err(db)
    }
}
