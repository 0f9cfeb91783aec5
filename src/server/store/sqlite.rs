//! The SQLite backend: one file, WAL, `synchronous=FULL`, migrations embedded in the binary.
//! Its SQL only: the invariants are written once above it ([`super::core`]).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::core::key_fields;
use super::engine::{Engine, Row, Sql, Words, arguments};
use super::filter::{Dialect, Search, push_key_filter};
use super::rows::{KeyRow, SET_TABLES, allowed_ips_column, key_sets, ms};
use super::{Conflict, KeyFilter, KeyRecord, KeySort, StoreError, StoreResult};
use super::{Pool, schema};

pub struct SqliteDb {
    pool: SqlitePool,
    /// This open applied migration 0009, which creates the audit chain.
    chain_created: bool,
}

type Tx = sqlx::Transaction<'static, Sqlite>;

impl SqliteDb {
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
    /// and brings its schema up to date. An idle file connection is closed after a while; an
    /// in-memory database lives exactly as long as its one connection, so that connection is
    /// never closed for idleness or age (`keyward server --dev` once lost its whole database
    /// after ten idle minutes).
    pub async fn open(url: &str, use_: Pool) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = match use_ {
            _ if url.contains(":memory:") => SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            Pool::Requests { idle } => SqlitePoolOptions::new()
                .max_connections(4)
                .idle_timeout(idle),
            Pool::Follower => SqlitePoolOptions::new().max_connections(1),
        };
        let pool = pool.connect_with(options).await.map_err(db)?;
        // Whether this open creates the audit chain (see `Engine::chain_created`).
        let sealed_before: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM _sqlx_migrations WHERE version = 9 AND success")
                .fetch_optional(&pool)
                .await
                .unwrap_or(None);
        let migrator = sqlx::migrate!("migrations/sqlite");
        let applied = sqlx::query_scalar(schema::APPLIED)
            .fetch_one(&pool)
            .await
            .ok()
            .flatten();
        let written_by = sqlx::query_scalar(schema::READ_WRITTEN_BY)
            .fetch_optional(&pool)
            .await
            .ok()
            .flatten();
        schema::check(applied, &migrator, written_by)?;
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(SqliteDb {
            pool,
            chain_created: sealed_before.is_none(),
        })
    }
}

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
    // `core::check_unique`), and a unique violation left over is only known to be one.
    StoreError::from_sqlx(e, |_| Conflict::Other)
}

#[async_trait]
impl Engine for SqliteDb {
    type Tx = Tx;
    const WORDS: Words = Words {
        aggregate: "group_concat",
        // AUTOINCREMENT's counter as well as the table: an id is never drawn twice, even
        // after the newest events were deleted.
        next_audit_id: "(SELECT max(coalesce((SELECT seq FROM sqlite_sequence \
                        WHERE name = 'audit_events'), 0), \
                        coalesce((SELECT max(id) FROM audit_events), 0)) + 1)",
        // The full-text index's row id.
        key_extra: Some((
            "search_id",
            "(SELECT coalesce(max(search_id), 0) + 1 FROM keys)",
        )),
        // `BEGIN IMMEDIATE` holds the one write lock: no row locks to take, and followers
        // poll (see migrations/sqlite/0004).
        ..Words::STANDARD
    };

    fn chain_created(&self) -> bool {
        self.chain_created
    }

    async fn begin_write(&self) -> StoreResult<Tx> {
        // `BEGIN IMMEDIATE` takes the one write lock at once: it is also the audit lock.
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    async fn begin_snapshot(&self) -> StoreResult<Tx> {
        // In WAL mode a read transaction sees the database as of its first read throughout.
        self.pool.begin().await.map_err(db)
    }

    async fn commit(&self, tx: Tx) -> StoreResult<()> {
        tx.commit().await.map_err(db)
    }

    async fn lock_audit(&self, _tx: &mut Tx) -> StoreResult<()> {
        Ok(())
    }

    async fn execute(&self, tx: &mut Tx, sql: &Sql) -> StoreResult<u64> {
        let args = arguments::<Sqlite>(&sql.args)?;
        let done = sqlx::query_with(&sql.text, args)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn fetch<T: Row>(&self, tx: &mut Tx, sql: &Sql) -> StoreResult<Vec<T>> {
        let args = arguments::<Sqlite>(&sql.args)?;
        sqlx::query_as_with(&sql.text, args)
            .fetch_all(&mut **tx)
            .await
            .map_err(db)
    }

    async fn read<T: Row>(&self, sql: &Sql) -> StoreResult<Vec<T>> {
        let args = arguments::<Sqlite>(&sql.args)?;
        sqlx::query_as_with(&sql.text, args)
            .fetch_all(&self.pool)
            .await
            .map_err(db)
    }

    async fn write(&self, sql: &Sql) -> StoreResult<u64> {
        let args = arguments::<Sqlite>(&sql.args)?;
        let done = sqlx::query_with(&sql.text, args)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>> {
        // One read transaction: the search and the page see the same keys.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let dialect = Self::search_for(&mut tx, f).await?;
        let mut qb = QueryBuilder::<Sqlite>::new(key_fields::<Self>());
        push_key_filter(&mut qb, f, &dialect);
        let rows: Vec<KeyRow> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(rows.into_iter().map(KeyRecord::from).collect())
    }

    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        // Many rows per statement: each statement is a trip to sqlx's connection thread.
        const ROWS: usize = 500;
        let mut tx = self.begin_write().await?;
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
        let mut qb =
            QueryBuilder::<Sqlite>::new(format!("EXPLAIN QUERY PLAN {}", key_fields::<Self>()));
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

    async fn listen_for_changes(&self, _wake: &tokio::sync::Notify) -> StoreResult<()> {
        // SQLite announces nothing: followers poll.
        Ok(())
    }
}
