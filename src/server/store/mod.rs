//! The storage interface, split by job ([`Keys`], [`Environments`], [`Tokens`], [`AuditLog`],
//! [`ChangeFeed`], [`Usage`], [`Maintenance`]; [`Credentials`] for what verify and token
//! authentication read). Each invariant that spans several rows (a change, its audit event and
//! its change-feed row) is written once in [`core`], over the small [`engine::Engine`] trait
//! that each backend (SQLite, PostgreSQL) implements with its own SQL. [`open`] chooses the
//! backend by the URL; nothing outside this module knows which database is underneath.

mod cache;
pub mod chain;
mod core;
mod engine;
mod filter;
mod jobs;
mod postgres;
mod records;
mod rows;
mod schema;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

pub use cache::{CacheSettings, CacheStats, Cached};
pub use chain::{Checkpoint, PRUNE_BATCH, Verification};
pub use jobs::*;
pub use records::*;

use self::core::Core;

/// Opens the database `url` names, creating the schema or bringing it up to date:
/// `sqlite:PATH`, `sqlite::memory:`, or `postgres://…` (`postgresql://…`).
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with_idle_timeout(url, DEFAULT_IDLE_TIMEOUT).await
}

/// [`open`] with the time after which an idle connection is closed.
pub async fn open_with_idle_timeout(url: &str, idle: Duration) -> StoreResult<Arc<dyn Store>> {
    open_pool(url, Pool::Requests { idle }).await
}

/// The change feed of the database `url` names, on a connection of its own: a flood of
/// requests that takes every pooled connection cannot keep the follower from reading it.
/// An in-memory SQLite database has no second connection: its feed is `store`'s.
pub async fn open_feed(url: &str, store: &Arc<dyn Store>) -> StoreResult<Arc<dyn ChangeFeed>> {
    if url.contains(":memory:") {
        let feed: Arc<dyn ChangeFeed> = store.clone().feed();
        return Ok(feed);
    }
    let own = open_pool(url, Pool::Follower).await?;
    Ok(own.feed())
}

/// How many connections a store keeps, and for whom.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pool {
    /// Requests and background writes; idle connections close after `idle`.
    Requests { idle: Duration },
    /// The change-feed follower alone: one connection for reads, and on PostgreSQL one
    /// more that listens.
    Follower,
}

async fn open_pool(url: &str, pool: Pool) -> StoreResult<Arc<dyn Store>> {
    match Backend::of(url) {
        Some(Backend::Postgres) => {
            let db = postgres::PostgresDb::open(url, pool).await?;
            schema::record(&db).await?;
            Ok(Arc::new(Core::new(db)))
        }
        Some(Backend::Sqlite) => {
            let db = sqlite::SqliteDb::open(url, pool).await?;
            schema::record(&db).await?;
            Ok(Arc::new(Core::new(db)))
        }
        None => Err(StoreError::Database(
            "the database URL starts with neither sqlite: nor postgres://".into(),
        )),
    }
}

/// `url` fit to show: a password in it replaced by `***`, and its query string (which may carry
/// `password=` or `passfile=`) left out. The user part is found by the last `@` before the
/// path or query, as a driver would, not by a URL parser: an unencoded password with a `/` in
/// it must not make the whole user part look like a host.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // `sqlite:PATH`: no user part; a query string still goes.
        return match url.split_once('?') {
            Some((path, _)) => format!("{path}?…"),
            None => url.to_owned(),
        };
    };
    let strip_query = |text: &str| match text.split_once('?') {
        Some((before, _)) => format!("{before}?…"),
        None => text.to_owned(),
    };
    // The user part ends at the last `@`, wherever it is: a password may hold `?`, `/` or `@`
    // unencoded. When in doubt, more is masked, never less.
    match rest.rsplit_once('@') {
        Some((user, host)) if user.contains([':', '/', '?', '#']) => {
            let name = user.split([':', '/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{name}:***@{}", strip_query(host))
        }
        Some((user, host)) => format!("{scheme}://{user}@{}", strip_query(host)),
        None => format!("{scheme}://{}", strip_query(rest)),
    }
}

/// Whether `url`'s user part is plain enough that the driver reads host and port where a person
/// would: a password holding `/`, `?` or `#` unencoded makes part of it read as the host.
pub(super) fn authority_is_plain(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.rsplit_once('@')
        .is_none_or(|(user, _)| !user.contains(['/', '?', '#']))
}

#[cfg(test)]
mod redaction {
    use super::redacted;

    #[test]
    fn no_password_is_ever_shown() {
        for (url, shown) in [
            (
                "postgres://keyward:hunter2@db/keyward",
                "postgres://keyward:***@db/keyward",
            ),
            (
                "postgres://keyward:12/34@secret@db:5432/k",
                "postgres://keyward:***@db:5432/k",
            ),
            (
                "postgres://keyward@db/k?password=hunter2",
                "postgres://keyward@db/k?…",
            ),
            (
                "postgres://db/k?sslmode=require&passfile=x",
                "postgres://db/k?…",
            ),
            ("postgres://keyward@db/k", "postgres://keyward@db/k"),
            (
                "sqlite:/var/lib/keyward/keyward.db",
                "sqlite:/var/lib/keyward/keyward.db",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            (
                "postgres://kw:hunter2?secret@db/k",
                "postgres://kw:***@db/k",
            ),
            (
                "postgres://kw:4821?secret@db/k?sslmode=require",
                "postgres://kw:***@db/k?…",
            ),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
            assert!(!redacted(url).contains("hunter2") && !redacted(url).contains("secret"));
        }
    }
}

/// sqlx's own default.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The databases keyward can store keys in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL names, if any.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }
}

/// Which uniqueness rule a write broke, read from the database's constraint names (PostgreSQL)
/// or the columns it names (SQLite), never from free text in a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Another live key has this name.
    KeyName,
    /// An environment of this name exists.
    Environment,
    /// An environment the key names was deleted (after the request checked it).
    EnvironmentGone,
    /// This caller's Idempotency-Key was used already.
    Idempotency,
    /// Another key has this secret.
    Secret,
    /// The write would leave no active super-admin key.
    LastSuperAdmin,
    /// Any other unique rule.
    Other,
}

impl Conflict {
    /// The thing that already exists, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Conflict::KeyName => "name",
            Conflict::Environment => "environment",
            Conflict::EnvironmentGone => "deleted environment",
            Conflict::Idempotency => "idempotency key",
            Conflict::Secret => "secret",
            Conflict::LastSuperAdmin => "last active super-admin key",
            Conflict::Other => "record",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken.
    #[error("conflict on {}", .0.what())]
    Conflict(Conflict),
    /// The database cannot be reached now (down, restarting, the pool exhausted): the request
    /// may succeed later, and nothing is guessed meanwhile.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A newer keyward migrated this database past what this one knows.
    #[error(transparent)]
    NewerSchema(schema::NewerSchema),
}

impl StoreError {
    /// Sorts a sqlx error: a unique violation becomes the [`Conflict`] `conflict` names, a lost
    /// connection [`StoreError::Unavailable`], anything else a database error.
    pub(super) fn from_sqlx(
        e: sqlx::Error,
        conflict: fn(&dyn sqlx::error::DatabaseError) -> Conflict,
    ) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(conflict(d.as_ref()))
            }
            // SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shutting down
            // or starting up).
            // SQLite: SQLITE_BUSY and SQLITE_LOCKED (and their extended codes) after the busy
            // timeout: another writer held the file too long, and a retry may succeed.
            sqlx::Error::Database(d)
                if d.code().is_some_and(|c| {
                    c.starts_with("08")
                        || c.starts_with("57P")
                        || matches!(c.as_ref(), "5" | "6" | "261" | "262" | "517" | "773")
                }) =>
            {
                StoreError::Unavailable(Box::new(e))
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
            _ => StoreError::Database(Box::new(e)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a search fragment looks like part of a hint (`kw_sk_…abcd`): the prefix, or at least
/// four characters after the ellipsis (`...` is taken for `…`). Returns the fragment as the
/// hint would spell it.
pub fn looks_like_hint(q: &str) -> Option<String> {
    let q = q.replace("...", "…");
    let tail_ok = q
        .split_once('…')
        .is_some_and(|(_, tail)| tail.chars().count() >= 4);
    (q.starts_with("kw_") || tail_ok).then_some(q)
}

/// The names of every environment.
pub async fn environment_names(
    store: &dyn Store,
) -> StoreResult<std::collections::BTreeSet<String>> {
    Ok(store
        .list_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect())
}
