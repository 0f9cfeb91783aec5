//! The PostgreSQL backend: a pool of connections to one database that any number of replicas
//! share; migrations (migrations/postgres) embedded in the binary, applied under sqlx's advisory
//! lock so replicas starting together migrate once. Its SQL only: the invariants are written
//! once above it ([`super::core`]).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use super::core::key_fields;
use super::engine::{Engine, Row, Sql, Words, arguments, numbered};
use super::filter::{Dialect, Search, push_key_filter, push_order, push_pg_contains};
use super::rows::{KeyRow, SET_TABLES, allowed_ips_column, key_sets, ms};
use super::{Conflict, KeyFilter, KeyRecord, StoreError, StoreResult};
use super::{Pool, schema};

pub struct PostgresDb {
    pool: PgPool,
    /// False behind a transaction-mode pooler (`?pgbouncer=true`): statements are unnamed
    /// there, since a named one would outlive its transaction on a server connection that
    /// another client gets next.
    persistent: bool,
    /// This open applied migration 0008, which creates the audit chain.
    chain_created: bool,
}

type Tx = sqlx::Transaction<'static, Postgres>;

/// How long a request waits for a connection before answering 503: a database that is down
/// must be said quickly, not after sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The URL parameter (keyward's, removed before the URL reaches the driver) that says a
/// transaction-mode pooler such as PgBouncer sits between keyward and PostgreSQL.
const PGBOUNCER_PARAM: &str = "pgbouncer";

impl PostgresDb {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    ///
    /// With `?pgbouncer=true` (PgBouncer in transaction mode, which hands each transaction to
    /// any server connection): every statement runs inside a transaction and is unnamed, no
    /// LISTEN is attempted (the poll carries the change feed), and migrations run in one
    /// transaction that leaves no prepared statement behind.
    pub async fn open(url: &str, use_: Pool) -> StoreResult<Self> {
        let (url, pooled) = strip_pgbouncer(url)?;
        let mut options = PgConnectOptions::from_str(&url).map_err(db)?;
        if pooled {
            options = options.statement_cache_capacity(0);
        }
        let pool = match use_ {
            // Each connection is pinged before a request gets it, inside the acquire timeout.
            // On a stalled database the ping waits out the stall and the request answers 503
            // after 3 s (the soak bench's failed writes); without it, a connection to a host
            // that vanished silently (a failover) would hang its request for the request
            // timeout and keep its pool slot until TCP gives up, minutes later. The ping, with
            // its timeout, is what drops such a connection at once.
            Pool::Requests { idle } => PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .idle_timeout(idle),
            // The follower's reads, and its LISTEN (which holds a connection of its own).
            // No ping before each read: a failed read is retried at the next poll anyway, and
            // a round trip less is a read sooner on a loaded database.
            Pool::Follower => PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false),
        };
        // One connection first, outside the pool: a database that refuses or cannot be found
        // is said at once and in its own words, where the pool would retry until its acquire
        // timeout and say only that it timed out.
        let first = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(|e| cannot_connect(&options, super::authority_is_plain(&url), e))?;
        sqlx::Connection::close(first).await.ok();
        let pool = pool.connect_with(options).await.map_err(db)?;
        // Whether this open creates the audit chain (see `Engine::chain_created`).
        let sealed_before: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM _sqlx_migrations WHERE version = 8 AND success",
        )
        .persistent(false)
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
        let migrator = sqlx::migrate!("migrations/postgres");
        // Before the first migration neither table exists: nothing to refuse.
        let applied = sqlx::query_scalar(schema::APPLIED)
            .persistent(false)
            .fetch_one(&pool)
            .await
            .ok()
            .flatten();
        let written_by = sqlx::query_scalar(schema::READ_WRITTEN_BY)
            .persistent(false)
            .fetch_optional(&pool)
            .await
            .ok()
            .flatten();
        schema::check(applied, &migrator, written_by)?;
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
        Ok(PostgresDb {
            pool,
            persistent: !pooled,
            chain_created: sealed_before == 0,
        })
    }
}

/// A failed first connection, naming where: "connection refused at HOST:PORT".
fn cannot_connect(options: &PgConnectOptions, plain: bool, e: sqlx::Error) -> StoreError {
    let sqlx::Error::Io(io) = &e else {
        return db(e);
    };
    let why = match io.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        std::io::ErrorKind::TimedOut => "timed out".to_owned(),
        std::io::ErrorKind::NotFound => "no such host or socket".to_owned(),
        // getaddrinfo's failure comes as an uncategorised error with its own text.
        _ if io.to_string().contains("lookup address") => "no such host".to_owned(),
        _ => io.to_string(),
    };
    // Where the driver went is part of the password when that holds `/`, `?` or `#`: said
    // without it.
    let said = if plain {
        format!("{why} at {}:{}", options.get_host(), options.get_port())
    } else {
        format!("{why}; if the URL's password holds / ? or #, percent-encode them (%2F %3F %23)")
    };
    StoreError::Unavailable(said.into())
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

fn q(persistent: bool, sql: &str) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sql).persistent(persistent)
}

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

/// The advisory lock that makes appends to the audit log one at a time, across replicas.
const AUDIT_LOCK: i64 = 0x006b_7761_7564_6974; // "kwaudit"

/// The channel a committed change is announced on (also named in `WORDS.change_insert`).
const CHANNEL: &str = "keyward_changes";

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

impl PostgresDb {
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
            let mut qb = QueryBuilder::<Postgres>::new(&key_fields::<Self>());
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
        let mut qb =
            QueryBuilder::<Postgres>::new(format!("{} FROM (SELECT k.*", key_fields::<Self>()));
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
impl Engine for PostgresDb {
    type Tx = Tx;
    const WORDS: Words = Words {
        override_id: "OVERRIDING SYSTEM VALUE",
        next_audit_id: "nextval(pg_get_serial_sequence('audit_events', 'id'))",
        for_share: " FOR SHARE",
        lock_keys: "LOCK TABLE keys IN SHARE ROW EXCLUSIVE MODE",
        lock_rows: ") ORDER BY id FOR UPDATE",
        // 0x6b77_7261_7465 is "kwrate": rate-limit rounds take turns across replicas.
        lock_ratelimits: "SELECT pg_advisory_xact_lock(118160764269669)",
        // PostgreSQL sends the notification when (and only if) the transaction commits.
        change_insert: "WITH c AS (INSERT INTO changes (at, kind, key_id) VALUES (?, ?, ?) \
                        RETURNING seq) SELECT pg_notify('keyward_changes', seq::text) FROM c",
        ..Words::STANDARD
    };

    fn chain_created(&self) -> bool {
        self.chain_created
    }

    async fn begin_write(&self) -> StoreResult<Tx> {
        // Read committed, whatever the cluster's default: the invariants counted under the
        // audit append lock (no lockout of the last super admin) must see what the write that
        // held the lock before committed. Said in the BEGIN itself: no round trip more.
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(db)
    }

    async fn begin_snapshot(&self) -> StoreResult<Tx> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        q(
            self.persistent,
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Ok(tx)
    }

    async fn commit(&self, tx: Tx) -> StoreResult<()> {
        tx.commit().await.map_err(db)
    }

    async fn lock_audit(&self, tx: &mut Tx) -> StoreResult<()> {
        // Held until the transaction ends. Under READ COMMITTED each statement sees what
        // committed before it: the event read after the lock is the last one appended.
        let sql = Sql::new("SELECT pg_advisory_xact_lock(?)").bind(AUDIT_LOCK);
        self.execute(tx, &sql).await.map(drop)
    }

    async fn execute(&self, tx: &mut Tx, sql: &Sql) -> StoreResult<u64> {
        let text = numbered(&sql.text);
        let args = arguments::<Postgres>(&sql.args)?;
        let done = sqlx::query_with(&text, args)
            .persistent(self.persistent)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn fetch<T: Row>(&self, tx: &mut Tx, sql: &Sql) -> StoreResult<Vec<T>> {
        let text = numbered(&sql.text);
        let args = arguments::<Postgres>(&sql.args)?;
        sqlx::query_as_with(&text, args)
            .persistent(self.persistent)
            .fetch_all(&mut **tx)
            .await
            .map_err(db)
    }

    async fn read<T: Row>(&self, sql: &Sql) -> StoreResult<Vec<T>> {
        if self.persistent {
            let text = numbered(&sql.text);
            let args = arguments::<Postgres>(&sql.args)?;
            return sqlx::query_as_with(&text, args)
                .fetch_all(&self.pool)
                .await
                .map_err(db);
        }
        // Behind a transaction-mode pooler, in a transaction: its statements reach one server
        // connection.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let rows = self.fetch(&mut tx, sql).await?;
        tx.commit().await.map_err(db)?;
        Ok(rows)
    }

    async fn write(&self, sql: &Sql) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let n = self.execute(&mut tx, sql).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        if let Some(q) = &f.q {
            return self.search(f, q).await;
        }
        let mut qb = QueryBuilder::<Postgres>::new(key_fields::<Self>());
        push_key_filter(&mut qb, f, &DIALECT);
        let query = qb.build_query_as().persistent(self.persistent);
        let rows: Vec<KeyRow> = if self.persistent {
            query.fetch_all(&self.pool).await.map_err(db)?
        } else {
            let mut tx = self.pool.begin().await.map_err(db)?;
            let rows = query.fetch_all(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            rows
        };
        Ok(rows.into_iter().map(KeyRecord::from).collect())
    }

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
        let mut qb = QueryBuilder::<Postgres>::new(format!("EXPLAIN {}", key_fields::<Self>()));
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

    async fn optimize(&self) -> StoreResult<()> {
        // Autovacuum keeps the statistics.
        Ok(())
    }

    fn pool_use(&self) -> Option<(u32, usize)> {
        Some((self.pool.size(), self.pool.num_idle()))
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
}
