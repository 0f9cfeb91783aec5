//! The PostgreSQL backend: a pool of connections to one database that any number of replicas
//! share; migrations (migrations/postgres) embedded in the binary, applied under sqlx's advisory
//! lock so replicas starting together migrate once.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder};

use super::filter::{
    AUDIT_FIELDS, Dialect, LIVE_ONLY_THERE, Search, key_counts, push_audit_filter,
    push_environment_counts, push_key_filter, push_order, push_pg_contains,
};
use super::rows::{
    EnvironmentRow, IdempotencyRow, KeyRow, SET_TABLES, TokenRow, allowed_ips_column, key_sets, ms,
};
use super::{
    AUDIT_ANCHOR, AuditEvent, AuditFilter, ChainSlot, Change, Conflict, EnvironmentDeletion,
    IdempotencyRecord, KeyFilter, KeyRecord, PRUNE_BATCH, RevokedFingerprints, Store, StoreError,
    StoreResult, TokenRecord, UsageCount, decode_anchor, encode_anchor, moved_event, prune_end,
};
use crate::api::{Environment, KeyCounts};
use crate::server::audit::{AuditRow, ChainKey};

pub struct PostgresStore {
    pool: PgPool,
    /// False behind a transaction-mode pooler (`?pgbouncer=true`): statements are unnamed
    /// there, since a named one would outlive its transaction on a server connection that
    /// another client gets next.
    persistent: bool,
    chain: ChainSlot,
}

/// How long a request waits for a connection before answering 503: a database that is down
/// must be said quickly, not after sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The URL parameter (keyward's, removed before the URL reaches the driver) that says a
/// transaction-mode pooler such as PgBouncer sits between keyward and PostgreSQL.
const PGBOUNCER_PARAM: &str = "pgbouncer";

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    ///
    /// With `?pgbouncer=true` (PgBouncer in transaction mode, which hands each transaction to
    /// any server connection): every statement runs inside a transaction and is unnamed, no
    /// LISTEN is attempted (the poll carries the change feed), and migrations run in one
    /// transaction that leaves no prepared statement behind.
    pub async fn open(url: &str, idle_timeout: Duration) -> StoreResult<Self> {
        let (url, pooled) = strip_pgbouncer(url)?;
        let mut options = PgConnectOptions::from_str(&url).map_err(db)?;
        if pooled {
            options = options.statement_cache_capacity(0);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(idle_timeout)
            .connect_with(options)
            .await
            .map_err(db)?;
        let migrator = sqlx::migrate!("migrations/postgres");
        let migrated = if pooled {
            // sqlx's migrator names its statements; they are dropped before the commit, and
            // before the first one too, in case a failed run left some on this connection.
            let mut tx = pool.begin().await.map_err(db)?;
            // Held to the commit, so a replica starting at the same moment waits, then finds the
            // schema done (sqlx's own lock is released before this transaction commits).
            sqlx::raw_sql("SELECT pg_advisory_xact_lock(7171706172640001); DEALLOCATE ALL")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let run = migrator.run(&mut *tx).await;
            sqlx::raw_sql("DEALLOCATE ALL")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            match run {
                Ok(()) => tx.commit().await.map_err(db),
                Err(e) => Err(StoreError::Database(Box::new(e))),
            }
        } else {
            migrator
                .run(&pool)
                .await
                .map_err(|e| StoreError::Database(Box::new(e)))
        };
        migrated?;
        Ok(PostgresStore {
            pool,
            persistent: !pooled,
            chain: ChainSlot::default(),
        })
    }

    /// A connection for reads: from the pool, or behind a transaction-mode pooler a
    /// transaction, so that its statements reach one server connection.
    async fn conn(&self) -> StoreResult<Conn> {
        Ok(if self.persistent {
            Conn::Pooled(self.pool.acquire().await.map_err(db)?)
        } else {
            Conn::Transaction(self.pool.begin().await.map_err(db)?)
        })
    }
}

/// `url` without keyward's `pgbouncer` parameter, and whether it was `true`.
fn strip_pgbouncer(url: &str) -> StoreResult<(String, bool)> {
    let mut parsed = url::Url::parse(url).map_err(|e| StoreError::Database(Box::new(e)))?;
    let mut pooled = false;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, v)| {
            if k == PGBOUNCER_PARAM {
                pooled = v == "true" || v == "1";
                false
            } else {
                true
            }
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((parsed.to_string(), pooled))
}

enum Conn {
    Pooled(sqlx::pool::PoolConnection<Postgres>),
    Transaction(sqlx::Transaction<'static, Postgres>),
}

impl Conn {
    fn get(&mut self) -> &mut sqlx::PgConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Transaction(t) => t,
        }
    }

    /// Ends the reads: commits the transaction, if there is one.
    async fn done(self) -> StoreResult<()> {
        if let Conn::Transaction(t) = self {
            t.commit().await.map_err(db)?;
        }
        Ok(())
    }
}

fn q(persistent: bool, sql: &str) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    sqlx::query(sql).persistent(persistent)
}

fn qa<T>(persistent: bool, sql: &str) -> sqlx::query::QueryAs<'_, Postgres, T, PgArguments>
where
    T: for<'r> sqlx::FromRow<'r, PgRow>,
{
    sqlx::query_as(sql).persistent(persistent)
}

fn qs<T>(persistent: bool, sql: &str) -> sqlx::query::QueryScalar<'_, Postgres, T, PgArguments>
where
    (T,): for<'r> sqlx::FromRow<'r, PgRow>,
{
    sqlx::query_scalar(sql).persistent(persistent)
}

const PEPPER_CHECK: &str = "pepper_check";

const DIALECT: Dialect = Dialect {
    like: "ILIKE",
    search: Search::Lowered,
};

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

/// A key's columns, its environments and permissions folded in, read from `keys k`.
macro_rules! key_fields {
    () => {
        "SELECT k.id, k.name, k.description, k.key_type, k.allowed_ips, k.status, \
     k.created_at, k.created_by, k.updated_at, k.expires_at, k.last_used_at, k.last_used_ip, \
     k.hint, k.version, k.secret_digest, k.previous_digest, k.previous_expires_at, \
     k.revoked_fingerprint, k.revoked_previous_fingerprint, \
     (SELECT string_agg(environment, ',') FROM key_environments WHERE key_id = k.id) AS envs, \
     (SELECT string_agg(permission, ',') FROM key_permissions WHERE key_id = k.id) AS perms"
    };
}
/// For lists, whose filter says which tables they read (see `push_key_filter`).
const KEY_FIELDS: &str = key_fields!();
const KEY_COLUMNS: &str = concat!(key_fields!(), " FROM keys k");

/// Replaces a key's environment and permission rows. Its environments must still be there:
/// one deleted since the request checked it (`envs delete` racing a create) is a conflict. The
/// rows are locked for share, so a deletion waits for this write, or this write for it.
async fn write_sets(
    p: bool,
    tx: &mut sqlx::Transaction<'_, Postgres>,
    k: &KeyRecord,
) -> StoreResult<()> {
    let envs: Vec<&str> = k.environments.iter().map(String::as_str).collect();
    let (live,): (i64,) = qa(
        p,
        "SELECT count(*) FROM (SELECT 1 FROM environments \
         WHERE name = ANY($1) AND deleted_at IS NULL FOR SHARE) live",
    )
    .bind(&envs)
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?;
    if live as usize != envs.len() {
        return Err(StoreError::Conflict(Conflict::EnvironmentGone));
    }
    for ((table, column), values) in SET_TABLES.iter().zip(key_sets(k)) {
        q(p, &format!("DELETE FROM {table} WHERE key_id = $1"))
            .bind(&k.id)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        // One statement, whatever the number of rows: every statement is a round trip.
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        q(
            p,
            &format!(
                "INSERT INTO {table} (key_id, {column}, key_created_at) \
                 SELECT $1, unnest($2::text[]), $3"
            ),
        )
        .bind(&k.id)
        .bind(&values)
        .bind(ms(k.created_at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// A new key's rows, and the record of the Idempotency-Key that minted it.
async fn insert_key_rows(
    p: bool,
    tx: &mut sqlx::Transaction<'_, Postgres>,
    k: &KeyRecord,
    idempotency: Option<&IdempotencyRecord>,
) -> StoreResult<()> {
    q(
        p,
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
    write_sets(p, tx, k).await?;
    if let Some(i) = idempotency {
        q(
            p,
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

/// The advisory lock that makes appends to the audit log one at a time, across replicas.
const AUDIT_LOCK: i64 = 0x006b_7761_7564_6974; // "kwaudit"

/// Appends `a` to the audit log, linked to the event before it, in the caller's transaction.
/// The advisory lock is held until that transaction ends, so no other event comes between this
/// one and the one it links to; its id is drawn under the lock and it links to the event just
/// below that id, so the chain runs in id order (even past a row someone inserted by hand).
/// (Under READ COMMITTED each statement sees what committed before it: the event read after
/// the lock is the last one appended.)
async fn insert_audit(
    p: bool,
    conn: &mut PgConnection,
    chain: &ChainKey,
    a: &AuditEvent,
) -> StoreResult<()> {
    q(p, "SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let (id, previous): (i64, Option<Vec<u8>>) = qa(
        p,
        "SELECT n, (SELECT hash FROM audit_events WHERE id < n ORDER BY id DESC LIMIT 1) \
         FROM (SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) AS n) drawn",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let link = chain.link(previous.as_deref(), &a.row(id));
    q(
        p,
        "INSERT INTO audit_events (id, at, actor, actor_name, action, key_id, environment, \
         environments, source_ip, request_id, outcome, error_code, changed, hash) \
         OVERRIDING SYSTEM VALUE \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
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
    .bind(link)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The channel a committed change is announced on.
const CHANNEL: &str = "keyward_changes";

/// Appends to the change feed and announces it, in the writing transaction: PostgreSQL sends
/// the notification when (and only if) the transaction commits.
async fn record_change(
    p: bool,
    tx: &mut sqlx::Transaction<'_, Postgres>,
    kind: &str,
    key_id: Option<&str>,
    at: Timestamp,
) -> StoreResult<()> {
    q(
        p,
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

/// How a list with `q` is read. PostgreSQL's planner cannot know how many keys hold a fragment
/// (pg_trgm guesses from column statistics), and each of its two plans is a disaster where the
/// other shines: reading keys in the list's order until the page is full costs 2–3 ms for a
/// fragment in 0.5 % of a million keys (one `strpos` per key in the lowered `search` column;
/// lowering three columns per key cost 10 ms) and a second for one in ten keys (it reads them
/// all); asking the trigram index for every match and sorting them is the reverse (30 ms
/// against 5 ms), and the statistics it guesses from are a sample (a fragment that happens to be in it
/// looks common). So keyward measures instead of guessing: it reads the first [`PROBE`] keys in
/// order; a page found there is the answer; [`DENSE`] matches or more say the fragment is
/// common, and up to [`SCAN`] keys are read in order; otherwise, or if that scan does not fill
/// the page, the trigram index answers, with the in-order plan ruled out.
const PROBE: u32 = 2_000;
/// Matches among the first [`PROBE`] keys (0.2 %) that make reading in order worth it.
const DENSE: usize = 4;
/// The most keys read in order before the index is asked instead.
const SCAN: u32 = 50_000;

impl PostgresStore {
    async fn search(&self, f: &KeyFilter, q: &str) -> StoreResult<Vec<KeyRecord>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut found = Self::in_order(&mut tx, f, q, PROBE).await?;
        if found.len() < f.limit as usize && found.len() >= DENSE {
            found = Self::in_order(&mut tx, f, q, SCAN).await?;
        }
        if found.len() < f.limit as usize {
            // For this transaction only (one round trip): the trigram index, not a scan.
            sqlx::query(
                "SELECT set_config('enable_seqscan', 'off', true), \
                 set_config('enable_indexscan', 'off', true)",
            )
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let mut qb = QueryBuilder::<Postgres>::new(KEY_FIELDS);
            push_key_filter(&mut qb, f, &DIALECT);
            found = qb
                .build_query_as()
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(found.into_iter().map(KeyRecord::from).collect())
    }

    /// The first keys of the list `f` that hold `q`, looking at no more than the first
    /// `window` keys of the list without `q`, in the list's order.
    async fn in_order(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        f: &KeyFilter,
        q: &str,
        window: u32,
    ) -> StoreResult<Vec<KeyRow>> {
        let mut unsearched = f.clone();
        unsearched.q = None;
        unsearched.limit = window;
        // The key's sets are read only for the keys that make the page.
        let mut qb = QueryBuilder::<Postgres>::new(format!("{KEY_FIELDS} FROM (SELECT k.*"));
        push_key_filter(&mut qb, &unsearched, &DIALECT);
        qb.push(") k WHERE 1 = 1");
        push_pg_contains(&mut qb, q);
        push_order(&mut qb, f.sort, f.limit);
        // Planned for its own values every time: a prepared statement may settle on one
        // generic plan for every value after five runs.
        qb.build_query_as()
            .persistent(false)
            .fetch_all(&mut **tx)
            .await
            .map_err(db)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        // One statement per table for the whole batch: columns travel as arrays.
        fn col<T>(keys: &[KeyRecord], f: impl Fn(&KeyRecord) -> T) -> Vec<T> {
            keys.iter().map(f).collect()
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        q(
            self.persistent,
            "INSERT INTO keys (id, name, description, key_type, allowed_ips, status, created_at, \
             created_by, updated_at, expires_at, last_used_at, last_used_ip, hint, version, \
             secret_digest, previous_digest, previous_expires_at, revoked_fingerprint, \
             revoked_previous_fingerprint) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::int8[], $8::text[], $9::int8[], $10::int8[], $11::int8[], \
             $12::text[], $13::text[], $14::int8[], $15::bytea[], $16::bytea[], $17::int8[], \
             $18::bytea[], $19::bytea[])",
        )
        .bind(col(keys, |k| k.id.clone()))
        .bind(col(keys, |k| k.name.clone()))
        .bind(col(keys, |k| k.description.clone()))
        .bind(col(keys, |k| k.key_type.as_str()))
        .bind(col(keys, allowed_ips_column))
        .bind(col(keys, |k| k.status.as_str()))
        .bind(col(keys, |k| ms(k.created_at)))
        .bind(col(keys, |k| k.created_by.clone()))
        .bind(col(keys, |k| ms(k.updated_at)))
        .bind(col(keys, |k| ms(k.expires_at)))
        .bind(col(keys, |k| k.last_used_at.map(ms)))
        .bind(col(keys, |k| k.last_used_ip.clone()))
        .bind(col(keys, |k| k.hint.clone()))
        .bind(col(keys, |k| k.version))
        .bind(col(keys, |k| k.secret_digest.clone()))
        .bind(col(keys, |k| k.previous_digest.clone()))
        .bind(col(keys, |k| k.previous_expires_at.map(ms)))
        .bind(col(keys, |k| k.revoked_fingerprint.clone()))
        .bind(col(keys, |k| k.revoked_previous_fingerprint.clone()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        for (i, (table, column)) in SET_TABLES.iter().enumerate() {
            let (mut ids, mut values, mut created) = (Vec::new(), Vec::new(), Vec::new());
            for k in keys {
                for v in key_sets(k)[i] {
                    ids.push(k.id.as_str());
                    values.push(v.as_str());
                    created.push(ms(k.created_at));
                }
            }
            q(
                self.persistent,
                &format!(
                    "INSERT INTO {table} (key_id, {column}, key_created_at) \
                     SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])"
                ),
            )
            .bind(ids)
            .bind(values)
            .bind(created)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn list_plan(&self, f: &KeyFilter) -> StoreResult<String> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for setting in ["enable_seqscan", "enable_indexscan"] {
            q(self.persistent, &format!("SET LOCAL {setting} = off"))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let mut qb = QueryBuilder::<Postgres>::new(format!("EXPLAIN {KEY_FIELDS}"));
        push_key_filter(&mut qb, f, &DIALECT);
        let steps: Vec<(String,)> = qb
            .build_query_as()
            .persistent(self.persistent)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        tx.rollback().await.map_err(db)?;
        Ok(steps
            .into_iter()
            .map(|(line,)| line)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    fn pool_use(&self) -> Option<(u32, usize)> {
        Some((self.pool.size(), self.pool.num_idle()))
    }

    async fn analyze(&self) -> StoreResult<()> {
        q(self.persistent, "ANALYZE")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let out = {
            q(self.persistent, "SELECT 1")
                .execute(c.get())
                .await
                .map_err(db)?;
            Ok(())
        };
        c.done().await?;
        out
    }

    async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
        let mut c = self.conn().await?;
        let out = {
            let rows: Vec<EnvironmentRow> = qa(
                self.persistent,
                "SELECT name, description, created_at FROM environments \
                 WHERE deleted_at IS NULL ORDER BY name",
            )
            .fetch_all(c.get())
            .await
            .map_err(db)?;
            Ok(rows.into_iter().map(Environment::from).collect())
        };
        c.done().await?;
        out
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // A deleted environment's name comes back (its revoked keys still carry it); a live
        // one is left alone, and that is the conflict.
        let written = q(
            self.persistent,
            "INSERT INTO environments (name, description, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
             created_at = excluded.created_at, deleted_at = NULL \
             WHERE environments.deleted_at IS NOT NULL",
        )
        .bind(&env.name)
        .bind(&env.description)
        .bind(ms(env.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::Conflict(Conflict::Environment));
        }
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        record_change(self.persistent, &mut tx, "environment", None, audit.at).await?;
        tx.commit().await.map_err(db)
    }

    async fn count_keys(&self) -> StoreResult<i64> {
        let mut c = self.conn().await?;
        let out = {
            qs(self.persistent, "SELECT count(*) FROM keys")
                .fetch_one(c.get())
                .await
                .map_err(db)
        };
        c.done().await?;
        out
    }

    async fn pepper_check(&self) -> StoreResult<Option<Vec<u8>>> {
        let mut c = self.conn().await?;
        let out = {
            qs(
                self.persistent,
                "SELECT value FROM server_meta WHERE name = $1",
            )
            .bind(PEPPER_CHECK)
            .fetch_optional(c.get())
            .await
            .map_err(db)
        };
        c.done().await?;
        out
    }

    async fn adopt_pepper_check(&self, check: &[u8]) -> StoreResult<Vec<u8>> {
        let mut c = self.conn().await?;
        let out = {
            q(
                self.persistent,
                "INSERT INTO server_meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(PEPPER_CHECK)
            .bind(check)
            .execute(c.get())
            .await
            .map_err(db)?;
            qs(
                self.persistent,
                "SELECT value FROM server_meta WHERE name = $1",
            )
            .bind(PEPPER_CHECK)
            .fetch_one(c.get())
            .await
            .map_err(db)
        };
        c.done().await?;
        out
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
        q(
            self.persistent,
            "LOCK TABLE keys IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let count: i64 = qs(self.persistent, "SELECT count(*) FROM keys")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if count > 0 {
            return Ok(false);
        }
        if let Some((env, env_audit)) = environment {
            q(
                self.persistent,
                "INSERT INTO environments (name, description, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&env.name)
            .bind(&env.description)
            .bind(ms(env.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            insert_audit(self.persistent, &mut tx, self.chain.get()?, env_audit).await?;
        }
        insert_key_rows(self.persistent, &mut tx, k, None).await?;
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        record_change(self.persistent, &mut tx, "key", Some(&k.id), audit.at).await?;
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
        insert_key_rows(self.persistent, &mut tx, k, idempotency).await?;
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        record_change(self.persistent, &mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)
    }

    async fn get_key(&self, id: &str) -> StoreResult<Option<KeyRecord>> {
        let mut c = self.conn().await?;
        let out = {
            let row: Option<KeyRow> =
                qa(self.persistent, &format!("{KEY_COLUMNS} WHERE k.id = $1"))
                    .bind(id)
                    .fetch_optional(c.get())
                    .await
                    .map_err(db)?;
            Ok(row.map(KeyRecord::from))
        };
        c.done().await?;
        out
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        if let Some(q) = &f.q {
            return self.search(f, q).await;
        }
        let mut c = self.conn().await?;
        let out = {
            let mut qb = QueryBuilder::<Postgres>::new(KEY_FIELDS);
            push_key_filter(&mut qb, f, &DIALECT);
            let rows: Vec<KeyRow> = qb
                .build_query_as()
                .persistent(self.persistent)
                .fetch_all(c.get())
                .await
                .map_err(db)?;
            Ok(rows.into_iter().map(KeyRecord::from).collect())
        };
        c.done().await?;
        out
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
        let done = q(
            self.persistent,
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
        q(
            self.persistent,
            "DELETE FROM access_tokens WHERE key_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        record_change(self.persistent, &mut tx, "key", Some(id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_token(&self, t: &TokenRecord, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        q(self.persistent,
            "INSERT INTO access_tokens (digest, key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&t.digest)
        .bind(&t.key_id)
        .bind(ms(t.created_at))
        .bind(ms(t.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        tx.commit().await.map_err(db)
    }

    async fn purge(
        &self,
        tokens_before: Timestamp,
        idempotency_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let mut c = self.conn().await?;
        let out = {
            let tokens = q(
                self.persistent,
                "DELETE FROM access_tokens WHERE expires_at < $1",
            )
            .bind(ms(tokens_before))
            .execute(c.get())
            .await
            .map_err(db)?
            .rows_affected();
            let idempotency = q(
                self.persistent,
                "DELETE FROM idempotency_keys WHERE created_at < $1",
            )
            .bind(ms(idempotency_before))
            .execute(c.get())
            .await
            .map_err(db)?
            .rows_affected();
            Ok((tokens, idempotency))
        };
        c.done().await?;
        out
    }

    async fn get_token(&self, digest: &[u8]) -> StoreResult<Option<TokenRecord>> {
        let mut c = self.conn().await?;
        let out = {
            let row: Option<TokenRow> = qa(self.persistent,
                "SELECT digest, key_id, created_at, expires_at FROM access_tokens WHERE digest = $1",
            )
            .bind(digest)
            .fetch_optional(c.get())
            .await
            .map_err(db)?;
            Ok(row.map(TokenRecord::from))
        };
        c.done().await?;
        out
    }

    async fn find_key_by_digest(&self, digest: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let mut c = self.conn().await?;
        let out = {
            let row: Option<KeyRow> = qa(
                self.persistent,
                &format!("{KEY_COLUMNS} WHERE k.secret_digest = $1 OR k.previous_digest = $2"),
            )
            .bind(digest)
            .bind(digest)
            .fetch_optional(c.get())
            .await
            .map_err(db)?;
            Ok(row.map(KeyRecord::from))
        };
        c.done().await?;
        out
    }

    async fn find_key_by_fingerprint(&self, fingerprint: &[u8]) -> StoreResult<Option<KeyRecord>> {
        let mut c = self.conn().await?;
        let out = {
            let row: Option<KeyRow> = qa(self.persistent, &format!(
                "{KEY_COLUMNS} WHERE k.revoked_fingerprint = $1 OR k.revoked_previous_fingerprint = $2"
            ))
            .bind(fingerprint)
            .bind(fingerprint)
            .fetch_optional(c.get())
            .await
            .map_err(db)?;
            Ok(row.map(KeyRecord::from))
        };
        c.done().await?;
        out
    }

    async fn update_key(
        &self,
        k: &KeyRecord,
        expected_version: i64,
        cap_tokens_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = q(
            self.persistent,
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
        write_sets(self.persistent, &mut tx, k).await?;
        if let Some(cap) = cap_tokens_at {
            q(
                self.persistent,
                "UPDATE access_tokens SET expires_at = LEAST(expires_at, $1) WHERE key_id = $2",
            )
            .bind(ms(cap))
            .bind(&k.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        record_change(self.persistent, &mut tx, "key", Some(&k.id), audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn environment_counts(
        &self,
        now: Timestamp,
        soon: Timestamp,
        within: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, KeyCounts)>> {
        let mut qb = QueryBuilder::<Postgres>::new("");
        push_environment_counts(&mut qb, ms(now), ms(soon), within);
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = qb
            .build_query_as()
            .persistent(self.persistent)
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
        let p = self.persistent;
        let chain = self.chain.get()?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The row locked first: a key created into it meanwhile waits for this to end, and
        // then finds it gone.
        let live: Option<i32> = qa(
            p,
            "SELECT 1 FROM environments WHERE name = $1 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .map(|(one,): (i32,)| one);
        if live.is_none() {
            return Ok(EnvironmentDeletion::NotFound);
        }
        let (only_there,): (i64,) = qa(p, &LIVE_ONLY_THERE.replace("{name}", "$1"))
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if only_there > 0 {
            return Ok(EnvironmentDeletion::InUse {
                keys: only_there as u64,
            });
        }
        let keys: Vec<(String,)> = qa(
            p,
            "SELECT e.key_id FROM key_environments e JOIN keys k ON k.id = e.key_id \
             WHERE e.environment = $1 AND k.status <> 'revoked' ORDER BY e.key_id FOR UPDATE OF k",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let keys: Vec<String> = keys.into_iter().map(|(id,)| id).collect();
        for id in &keys {
            let before: Vec<(String,)> = qa(
                p,
                "SELECT environment FROM key_environments WHERE key_id = $1 ORDER BY environment",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            q(
                p,
                "DELETE FROM key_environments WHERE key_id = $1 AND environment = $2",
            )
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            q(
                p,
                "UPDATE keys SET version = version + 1, updated_at = $1 WHERE id = $2",
            )
            .bind(ms(moved.at))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let before = before.into_iter().map(|(e,)| e).collect();
            insert_audit(p, &mut tx, chain, &moved_event(moved, id, before)).await?;
            record_change(p, &mut tx, "key", Some(id), moved.at).await?;
        }
        q(p, "UPDATE environments SET deleted_at = $1 WHERE name = $2")
            .bind(ms(audit.at))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(p, &mut tx, chain, audit).await?;
        record_change(p, &mut tx, "environment", None, audit.at).await?;
        tx.commit().await.map_err(db)?;
        Ok(EnvironmentDeletion::Deleted { moved: keys })
    }

    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        let p = self.persistent;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Under the append lock: no event is being linked meanwhile.
        q(p, "SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let oldest: Vec<(i64, i64, Option<Vec<u8>>)> = qa(
            p,
            "SELECT id, at, hash FROM audit_events \
             WHERE id < (SELECT max(id) FROM audit_events) ORDER BY id LIMIT $1",
        )
        .bind(PRUNE_BATCH)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let Some((last, link)) = prune_end(&oldest, ms(before)) else {
            return Ok(0);
        };
        let deleted = q(p, "DELETE FROM audit_events WHERE id <= $1")
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        q(
            p,
            "INSERT INTO server_meta (name, value) VALUES ($1, $2) \
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
        let value: Option<(Vec<u8>,)> = qa(
            self.persistent,
            "SELECT value FROM server_meta WHERE name = $1",
        )
        .bind(AUDIT_ANCHOR)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(value.and_then(|(v,)| decode_anchor(&v)))
    }

    async fn record_usage(&self, counts: &[UsageCount]) -> StoreResult<()> {
        // One statement for the batch: columns travel as arrays.
        fn col<T>(counts: &[UsageCount], f: impl Fn(&UsageCount) -> T) -> Vec<T> {
            counts.iter().map(f).collect()
        }
        q(
            self.persistent,
            "INSERT INTO key_usage (key_id, minute, code, count) \
             SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[]) \
             ON CONFLICT (key_id, minute, code) DO UPDATE SET count = key_usage.count + excluded.count",
        )
        .bind(col(counts, |c| c.key_id.clone()))
        .bind(col(counts, |c| c.minute))
        .bind(col(counts, |c| c.code.clone()))
        .bind(col(counts, |c| c.count))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn usage(
        &self,
        key_id: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<UsageCount>> {
        qa(
            self.persistent,
            "SELECT key_id, minute, code, count FROM key_usage \
             WHERE key_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute, code",
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
            q(
                self.persistent,
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
        let mut c = self.conn().await?;
        let out = {
            let row: Option<IdempotencyRow> = qa(
                self.persistent,
                "SELECT actor, idem_key, request_hash, key_id, created_at FROM idempotency_keys \
                 WHERE actor = $1 AND idem_key = $2",
            )
            .bind(actor)
            .bind(idem_key)
            .fetch_optional(c.get())
            .await
            .map_err(db)?;
            Ok(row.map(IdempotencyRecord::from))
        };
        c.done().await?;
        out
    }

    async fn changes_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>> {
        let mut c = self.conn().await?;
        let out = {
            let rows: Vec<(i64, Option<String>)> = qa(
                self.persistent,
                "SELECT seq, key_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(seq)
            .bind(limit)
            .fetch_all(c.get())
            .await
            .map_err(db)?;
            Ok(rows
                .into_iter()
                .map(|(seq, key_id)| Change { seq, key_id })
                .collect())
        };
        c.done().await?;
        out
    }

    async fn last_change(&self) -> StoreResult<i64> {
        let mut c = self.conn().await?;
        let out = {
            let last: Option<i64> = qs(self.persistent, "SELECT max(seq) FROM changes")
                .fetch_one(c.get())
                .await
                .map_err(db)?;
            Ok(last.unwrap_or(0))
        };
        c.done().await?;
        out
    }

    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()> {
        if !self.persistent {
            // A transaction-mode pooler hands LISTEN to a server connection that is then
            // someone else's: no notifications here, the poll alone serves.
            return Ok(());
        }
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
        let mut c = self.conn().await?;
        let out = {
            Ok(q(self.persistent, "DELETE FROM changes WHERE at < $1")
                .bind(ms(before))
                .execute(c.get())
                .await
                .map_err(db)?
                .rows_affected())
        };
        c.done().await?;
        out
    }

    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        insert_audit(self.persistent, &mut tx, self.chain.get()?, audit).await?;
        tx.commit().await.map_err(db)
    }

    fn set_chain_key(&self, key: ChainKey) {
        self.chain.set(key);
    }

    async fn seal_audit(&self) -> StoreResult<u64> {
        let chain = self.chain.get()?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        q(self.persistent, "SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // Only events older than every linked one: an unlinked event after a linked one was
        // unlinked by someone else, and `keyward audit verify` must say so, not seal it.
        let unlinked: Vec<AuditRow> = qa(
            self.persistent,
            &format!(
                "{AUDIT_FIELDS} WHERE hash IS NULL AND id < \
                 (SELECT coalesce(min(id), 9223372036854775807) FROM audit_events \
                  WHERE hash IS NOT NULL) ORDER BY id"
            ),
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut previous: Option<Vec<u8>> = None;
        for event in &unlinked {
            let link = chain.link(previous.as_deref(), event);
            q(
                self.persistent,
                "UPDATE audit_events SET hash = $1 WHERE id = $2",
            )
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
        let mut qb = QueryBuilder::<Postgres>::new(AUDIT_FIELDS);
        push_audit_filter(&mut qb, filter);
        qb.build_query_as()
            .persistent(self.persistent)
            .fetch_all(&self.pool)
            .await
            .map_err(db)
    }
}
