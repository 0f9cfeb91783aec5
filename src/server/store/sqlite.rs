//! The SQLite backend: one file, WAL, `synchronous=FULL`, migrations embedded in the binary.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{
    AuditEvent, IdempotencyRecord, KeyFilter, KeyRecord, KeySort, RevokedFingerprints, SortValue,
    Store, StoreError, StoreResult, TokenRecord,
};
use crate::api::{Environment, KeyStatus, KeyType};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite:PATH` or `sqlite::memory:`)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with_idle_timeout(url, DEFAULT_IDLE_TIMEOUT).await
    }

    /// [`SqliteStore::open`] with the time after which an idle file connection is closed. An
    /// in-memory database ignores it: it lives exactly as long as its one connection, so that
    /// connection is never closed for idleness or age (`keyward server --dev` once lost its
    /// whole database after ten idle minutes).
    pub async fn open_with_idle_timeout(url: &str, idle_timeout: Duration) -> StoreResult<Self> {
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
        Ok(SqliteStore { pool })
    }
}

/// sqlx's own default.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

const PEPPER_CHECK: &str = "pepper_check";

fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            let msg = d.message();
            if msg.contains("keys.name") {
                return StoreError::Conflict("name");
            }
            if msg.contains("environments.name") {
                return StoreError::Conflict("environment");
            }
            if msg.contains("idempotency_keys") {
                return StoreError::Conflict("idempotency");
            }
            return StoreError::Conflict("unique");
        }
    }
    StoreError::Database(Box::new(e))
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

fn split_set(s: Option<String>) -> BTreeSet<String> {
    s.unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

const KEY_COLUMNS: &str = "SELECT k.id, k.name, k.description, k.key_type, k.allowed_ips, k.status, \
     k.created_at, k.created_by, k.updated_at, k.expires_at, k.last_used_at, k.last_used_ip, \
     k.hint, k.version, k.secret_digest, k.previous_digest, k.previous_expires_at, \
     k.revoked_fingerprint, k.revoked_previous_fingerprint, \
     (SELECT group_concat(environment, ',') FROM key_environments WHERE key_id = k.id) AS envs, \
     (SELECT group_concat(permission, ',') FROM key_permissions WHERE key_id = k.id) AS perms \
     FROM keys k";

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<KeyRecord> {
    let key_type = match row.try_get::<String, _>("key_type").map_err(db)?.as_str() {
        "public" => KeyType::Public,
        _ => KeyType::Private,
    };
    let status = match row.try_get::<String, _>("status").map_err(db)?.as_str() {
        "disabled" => KeyStatus::Disabled,
        "revoked" => KeyStatus::Revoked,
        _ => KeyStatus::Active,
    };
    let allowed: String = row.try_get("allowed_ips").map_err(db)?;
    Ok(KeyRecord {
        id: row.try_get("id").map_err(db)?,
        name: row.try_get("name").map_err(db)?,
        description: row.try_get("description").map_err(db)?,
        key_type,
        environments: split_set(row.try_get("envs").map_err(db)?),
        permissions: split_set(row.try_get("perms").map_err(db)?),
        allowed_ips: allowed
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        status,
        created_at: ts(row.try_get("created_at").map_err(db)?),
        created_by: row.try_get("created_by").map_err(db)?,
        updated_at: ts(row.try_get("updated_at").map_err(db)?),
        expires_at: ts(row.try_get("expires_at").map_err(db)?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")
            .map_err(db)?
            .map(ts),
        last_used_ip: row.try_get("last_used_ip").map_err(db)?,
        hint: row.try_get("hint").map_err(db)?,
        version: row.try_get("version").map_err(db)?,
        secret_digest: row.try_get("secret_digest").map_err(db)?,
        previous_digest: row.try_get("previous_digest").map_err(db)?,
        previous_expires_at: row
            .try_get::<Option<i64>, _>("previous_expires_at")
            .map_err(db)?
            .map(ts),
        revoked_fingerprint: row.try_get("revoked_fingerprint").map_err(db)?,
        revoked_previous_fingerprint: row.try_get("revoked_previous_fingerprint").map_err(db)?,
    })
}

/// Replaces a key's environment and permission rows.
async fn write_sets(tx: &mut sqlx::Transaction<'_, Sqlite>, k: &KeyRecord) -> StoreResult<()> {
    sqlx::query("DELETE FROM key_environments WHERE key_id = ?")
        .bind(&k.id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    sqlx::query("DELETE FROM key_permissions WHERE key_id = ?")
        .bind(&k.id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    for env in &k.environments {
        sqlx::query("INSERT INTO key_environments (key_id, environment) VALUES (?, ?)")
            .bind(&k.id)
            .bind(env)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    for perm in &k.permissions {
        sqlx::query("INSERT INTO key_permissions (key_id, permission) VALUES (?, ?)")
            .bind(&k.id)
            .bind(perm)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
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
         created_by, updated_at, expires_at, hint, version, secret_digest) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&k.id)
    .bind(&k.name)
    .bind(&k.description)
    .bind(k.key_type.as_str())
    .bind(k.allowed_ips.join(","))
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

async fn insert_audit<'c, E>(exec: E, a: &AuditEvent) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, key_id, environment, source_ip, request_id, outcome) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ms(a.at))
    .bind(&a.actor)
    .bind(a.action)
    .bind(&a.key_id)
    .bind(&a.environment)
    .bind(&a.source_ip)
    .bind(&a.request_id)
    .bind(a.outcome)
    .execute(exec)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        let rows =
            sqlx::query("SELECT name, description, created_at FROM environments ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Environment {
                    name: r.try_get("name").map_err(db)?,
                    description: r.try_get("description").map_err(db)?,
                    created_at: ts(r.try_get("created_at").map_err(db)?),
                })
            })
            .collect()
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("INSERT INTO environments (name, description, created_at) VALUES (?, ?, ?)")
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut *tx, audit).await?;
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
        // IMMEDIATE takes the write lock before the count, so a second bootstrap waits for the
        // first to commit and then sees its key.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
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
            insert_audit(&mut *tx, env_audit).await?;
        }
        insert_key_rows(&mut tx, k, None).await?;
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_key(
        &self,
        k: &KeyRecord,
        idempotency: Option<&IdempotencyRecord>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        insert_key_rows(&mut tx, k, idempotency).await?;
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        let row = sqlx::query(&format!("{KEY_COLUMNS} WHERE k.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        let mut qb = QueryBuilder::<Sqlite>::new(KEY_COLUMNS);
        qb.push(" WHERE 1 = 1");
        if let Some(name) = &f.name {
            qb.push(" AND k.name = ").push_bind(name.clone());
        }
        if let Some(q) = &f.q {
            let like = |text: &str| {
                format!(
                    "%{}%",
                    text.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            };
            qb.push(" AND (");
            for (i, col) in ["k.name", "k.description", "k.allowed_ips"]
                .iter()
                .enumerate()
            {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push(*col)
                    .push(" LIKE ")
                    .push_bind(like(q))
                    .push(" ESCAPE '\\'");
            }
            if let Some(hint) = super::looks_like_hint(q) {
                qb.push(" OR k.hint LIKE ")
                    .push_bind(like(&hint))
                    .push(" ESCAPE '\\'");
            }
            qb.push(")");
        }
        match f.status {
            None => {}
            Some(KeyStatus::Expired) => {
                qb.push(" AND k.status = 'active' AND k.expires_at <= ")
                    .push_bind(ms(f.now));
            }
            Some(KeyStatus::Active) => {
                qb.push(" AND k.status = 'active' AND k.expires_at > ")
                    .push_bind(ms(f.now));
            }
            Some(s) => {
                qb.push(" AND k.status = ").push_bind(s.as_str());
            }
        }
        if let Some(t) = f.key_type {
            qb.push(" AND k.key_type = ").push_bind(t.as_str());
        }
        if let Some(env) = &f.environment {
            qb.push(" AND EXISTS (SELECT 1 FROM key_environments e WHERE e.key_id = k.id AND e.environment = ")
                .push_bind(env.clone())
                .push(")");
        }
        if let Some(perm) = &f.permission {
            qb.push(" AND EXISTS (SELECT 1 FROM key_permissions p WHERE p.key_id = k.id AND p.permission = ")
                .push_bind(perm.clone())
                .push(")");
        }
        if let Some(within) = &f.within_environments {
            qb.push(" AND NOT EXISTS (SELECT 1 FROM key_environments e WHERE e.key_id = k.id");
            if !within.is_empty() {
                qb.push(" AND e.environment NOT IN (");
                let mut sep = qb.separated(", ");
                for env in within {
                    sep.push_bind(env.clone());
                }
                qb.push(")");
            }
            qb.push(")");
        }
        let asks_revoked = f.status == Some(KeyStatus::Revoked);
        if let Some(before) = f.expires_before {
            qb.push(" AND k.expires_at < ").push_bind(ms(before));
            if f.status != Some(KeyStatus::Expired) {
                qb.push(" AND k.expires_at > ").push_bind(ms(f.now));
            }
        }
        if let Some(since) = f.unused_since {
            qb.push(" AND k.created_at < ")
                .push_bind(ms(since))
                .push(" AND (k.last_used_at IS NULL OR k.last_used_at < ")
                .push_bind(ms(since))
                .push(")");
        }
        if (f.expires_before.is_some() || f.unused_since.is_some()) && !asks_revoked {
            qb.push(" AND k.status <> 'revoked'");
        }
        let (column, descending) = match f.sort {
            KeySort::CreatedAsc => ("k.created_at", false),
            KeySort::CreatedDesc => ("k.created_at", true),
            KeySort::ExpiresAsc => ("k.expires_at", false),
            KeySort::NameAsc => ("k.name", false),
        };
        let (beyond, order) = if descending {
            (" < ", " DESC")
        } else {
            (" > ", "")
        };
        if let Some((value, id)) = &f.after {
            let bind = |qb: &mut QueryBuilder<'_, Sqlite>| match value {
                SortValue::Time(t) => {
                    qb.push_bind(ms(*t));
                }
                SortValue::Text(s) => {
                    qb.push_bind(s.clone());
                }
            };
            qb.push(" AND (").push(column).push(beyond);
            bind(&mut qb);
            qb.push(" OR (").push(column).push(" = ");
            bind(&mut qb);
            qb.push(" AND k.id")
                .push(beyond)
                .push_bind(id.clone())
                .push("))");
        }
        qb.push(" ORDER BY ")
            .push(column)
            .push(order)
            .push(", k.id")
            .push(order)
            .push(" LIMIT ")
            .push_bind(i64::from(f.limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(key_from_row).collect()
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
        insert_audit(&mut *tx, audit).await?;
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
        insert_audit(&mut *tx, audit).await?;
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
        let row = sqlx::query(
            "SELECT digest, key_id, created_at, expires_at FROM access_tokens WHERE digest = ?",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(TokenRecord {
                digest: r.try_get("digest").map_err(db)?,
                key_id: r.try_get("key_id").map_err(db)?,
                created_at: ts(r.try_get("created_at").map_err(db)?),
                expires_at: ts(r.try_get("expires_at").map_err(db)?),
            })
        })
        .transpose()
    }

    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let row = sqlx::query(&format!(
            "{KEY_COLUMNS} WHERE k.secret_digest = ? OR k.previous_digest = ?"
        ))
        .bind(digest)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let row = sqlx::query(&format!(
            "{KEY_COLUMNS} WHERE k.revoked_fingerprint = ? OR k.revoked_previous_fingerprint = ?"
        ))
        .bind(fingerprint)
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn update_key(
        &self,
        k: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE keys SET name = ?, description = ?, allowed_ips = ?, status = ?, \
             updated_at = ?, expires_at = ?, hint = ?, version = ?, secret_digest = ?, \
             previous_digest = ?, previous_expires_at = ? \
             WHERE id = ? AND version = ? AND status <> 'revoked'",
        )
        .bind(&k.name)
        .bind(&k.description)
        .bind(k.allowed_ips.join(","))
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
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
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
        let row = sqlx::query(
            "SELECT actor, idem_key, request_hash, key_id, created_at FROM idempotency_keys \
             WHERE actor = ? AND idem_key = ?",
        )
        .bind(actor)
        .bind(idem_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(IdempotencyRecord {
                actor: r.try_get("actor").map_err(db)?,
                idem_key: r.try_get("idem_key").map_err(db)?,
                request_hash: r.try_get("request_hash").map_err(db)?,
                key_id: r.try_get("key_id").map_err(db)?,
                created_at: ts(r.try_get("created_at").map_err(db)?),
            })
        })
        .transpose()
    }

    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        insert_audit(&self.pool, audit).await
    }
}
