//! The PostgreSQL backend: a pool of connections to one database that any number of replicas
//! share; migrations (migrations/postgres) embedded in the binary, applied under sqlx's advisory
//! lock so replicas starting together migrate once.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use super::filter::{Dialect, push_key_filter};
use super::rows::{EnvironmentRow, IdempotencyRow, KeyRow, TokenRow, allowed_ips_column, ms};
use super::{
    AuditEvent, Change, Conflict, IdempotencyRecord, KeyFilter, KeyRecord, RevokedFingerprints,
    Store, StoreError, StoreResult, TokenRecord,
};
use crate::api::Environment;

pub struct PostgresStore {
    pool: PgPool,
}

/// How long a request waits for a connection before answering 503: a database that is down
/// must be said quickly, not after sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    pub async fn open(url: &str, idle_timeout: Duration) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(idle_timeout)
            .connect_with(options)
            .await
            .map_err(db)?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(PostgresStore { pool })
    }
}

const PEPPER_CHECK: &str = "pepper_check";

const DIALECT: Dialect = Dialect { like: "ILIKE" };

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e, conflict)
}

/// PostgreSQL names the constraint or unique index a write broke (see migrations/postgres).
fn conflict(e: &dyn sqlx::error::DatabaseError) -> Conflict {
    match e.constraint().unwrap_or_default() {
        "keys_live_name" => Conflict::KeyName,
        "environments_pkey" => Conflict::Environment,
        "keys_secret_digest" | "keys_previous_digest" => Conflict::Secret,
        "idempotency_keys_pkey" => Conflict::Idempotency,
        _ => Conflict::Other,
    }
}

const KEY_COLUMNS: &str = "SELECT k.id, k.name, k.description, k.key_type, k.allowed_ips, k.status, \
     k.created_at, k.created_by, k.updated_at, k.expires_at, k.last_used_at, k.last_used_ip, \
     k.hint, k.version, k.secret_digest, k.previous_digest, k.previous_expires_at, \
     k.revoked_fingerprint, k.revoked_previous_fingerprint, \
     (SELECT string_agg(environment, ',') FROM key_environments WHERE key_id = k.id) AS envs, \
     (SELECT string_agg(permission, ',') FROM key_permissions WHERE key_id = k.id) AS perms \
     FROM keys k";

/// Replaces a key's environment and permission rows.
async fn write_sets(tx: &mut sqlx::Transaction<'_, Postgres>, k: &KeyRecord) -> StoreResult<()> {
    sqlx::query("DELETE FROM key_environments WHERE key_id = $1")
        .bind(&k.id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    sqlx::query("DELETE FROM key_permissions WHERE key_id = $1")
        .bind(&k.id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    for env in &k.environments {
        sqlx::query("INSERT INTO key_environments (key_id, environment) VALUES ($1, $2)")
            .bind(&k.id)
            .bind(env)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    for perm in &k.permissions {
        sqlx::query("INSERT INTO key_permissions (key_id, permission) VALUES ($1, $2)")
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
    tx: &mut sqlx::Transaction<'_, Postgres>,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO keys (id, name, description, key_type, allowed_ips, status, created_at, \
         created_by, updated_at, expires_at, hint, version, secret_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
             VALUES ($1, $2, $3, $4, $5)",
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
    E: sqlx::Executor<'c, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, key_id, environment, source_ip, request_id, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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

/// The channel a committed change is announced on.
const CHANNEL: &str = "keyward_changes";

/// Appends to the change feed and announces it, in the writing transaction: PostgreSQL sends
/// the notification when (and only if) the transaction commits.
async fn record_change(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    kind: &str,
    key_id: Option<&str>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "WITH c AS (INSERT INTO changes (at, kind, key_id) VALUES ($1, $2, $3) RETURNING seq) \
         SELECT pg_notify($4, seq::text) FROM c",
    )
    .bind(ms(at))
    .bind(kind)
    .bind(key_id)
    .bind(CHANNEL)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        let rows: Vec<EnvironmentRow> =
            sqlx::query_as("SELECT name, description, created_at FROM environments ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        Ok(rows.into_iter().map(Environment::from).collect())
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("INSERT INTO environments (name, description, created_at) VALUES ($1, $2, $3)")
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut *tx, audit).await?;
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
        sqlx::query_scalar("SELECT value FROM server_meta WHERE name = $1")
            .bind(PEPPER_CHECK)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO server_meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(PEPPER_CHECK)
            .bind(check)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM server_meta WHERE name = $1")
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
        // The lock is taken before the count and conflicts with itself, so a second bootstrap
        // waits for the first to commit and then sees its key.
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("LOCK TABLE keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM keys")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if count > 0 {
            return Ok(false);
        }
        if let Some((env, env_audit)) = environment {
            sqlx::query(
                "INSERT INTO environments (name, description, created_at) VALUES ($1, $2, $3) \
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        insert_key_rows(&mut tx, k, idempotency).await?;
        insert_audit(&mut *tx, audit).await?;
        record_change(&mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)
    }

    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(KeyRecord::from))
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        let mut qb = QueryBuilder::<Postgres>::new(KEY_COLUMNS);
        push_key_filter(&mut qb, f, &DIALECT);
        let rows: Vec<KeyRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
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
             previous_expires_at = NULL, revoked_fingerprint = $1, \
             revoked_previous_fingerprint = $2, updated_at = $3, version = version + 1 \
             WHERE id = $4 AND version = $5 AND status <> 'revoked'",
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
        sqlx::query("DELETE FROM access_tokens WHERE key_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut *tx, audit).await?;
        record_change(&mut tx, "key", Some(id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_token(&self, t: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO access_tokens (digest, key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
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
        let tokens = sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
            .bind(ms(tokens_before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        let idempotency = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(ms(idempotency_before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        Ok((tokens, idempotency))
    }

    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT digest, key_id, created_at, expires_at FROM access_tokens WHERE digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(TokenRecord::from))
    }

    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "{KEY_COLUMNS} WHERE k.secret_digest = $1 OR k.previous_digest = $2"
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
            "{KEY_COLUMNS} WHERE k.revoked_fingerprint = $1 OR k.revoked_previous_fingerprint = $2"
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE keys SET name = $1, description = $2, allowed_ips = $3, status = $4, \
             updated_at = $5, expires_at = $6, hint = $7, version = $8, secret_digest = $9, \
             previous_digest = $10, previous_expires_at = $11 \
             WHERE id = $12 AND version = $13 AND status <> 'revoked'",
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
                "UPDATE access_tokens SET expires_at = LEAST(expires_at, $1) WHERE key_id = $2",
            )
            .bind(ms(cap))
            .bind(&k.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        insert_audit(&mut *tx, audit).await?;
        record_change(&mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn record_last_used(&self, uses: &[crate::server::last_used::Use]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for (id, at, ip) in uses {
            sqlx::query(
                "UPDATE keys SET last_used_at = $1, last_used_ip = $2 \
                 WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $4)",
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
             WHERE actor = $1 AND idem_key = $2",
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
            sqlx::query_as("SELECT seq, key_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
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

    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(db)?;
        listener.listen(CHANNEL).await.map_err(db)?;
        // Whatever committed before the LISTEN took effect is read by the poll this wakes.
        wake.notify_one();
        loop {
            // `None`: the connection was lost, and notifications with it.
            match listener.try_recv().await.map_err(db)? {
                Some(_) => wake.notify_one(),
                None => {
                    return Err(StoreError::Unavailable(
                        "the connection listening for changes was lost".into(),
                    ));
                }
            }
        }
    }

    async fn purge_changes(&self, before: Timestamp) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM changes WHERE at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected())
    }

    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        insert_audit(&self.pool, audit).await
    }
}
