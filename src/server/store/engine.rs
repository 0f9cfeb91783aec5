//! What a database must provide for the store's invariants to be written once, above it: how to
//! begin and commit a transaction, how to take the audit log's append lock, how to run a
//! statement, and the few words of SQL in which SQLite and PostgreSQL differ. Each backend
//! implements [`Engine`] with its own SQL; [`super::core`] says what must happen together.
//!
//! Statements are written once with `?` placeholders ([`Sql`]); a backend that numbers its
//! placeholders (PostgreSQL's `$1`) renumbers them ([`numbered`]). No `sqlx::Any`: its types
//! and placeholders cover neither database fully.

use async_trait::async_trait;
use sqlx::{Arguments, Database, Encode, Type};

use super::{KeyFilter, KeyRecord, StoreResult};

/// One value bound to a statement. NULLs keep their type (PostgreSQL checks it).
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Arg { fn from($v: $t) -> Arg { $e } })*
    };
}

arg_from! {
    i64 => |v| Arg::Int(Some(v)),
    Option<i64> => |v| Arg::Int(v),
    &str => |v| Arg::Text(Some(v.to_owned())),
    String => |v| Arg::Text(Some(v)),
    &String => |v| Arg::Text(Some(v.clone())),
    Option<&str> => |v| Arg::Text(v.map(str::to_owned)),
    Option<String> => |v| Arg::Text(v),
    &Option<String> => |v| Arg::Text(v.clone()),
    &[u8] => |v| Arg::Bytes(Some(v.to_vec())),
    Vec<u8> => |v| Arg::Bytes(Some(v)),
    Option<Vec<u8>> => |v| Arg::Bytes(v),
    &Option<Vec<u8>> => |v| Arg::Bytes(v.clone()),
}

/// A statement and the values bound to its `?` placeholders, in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next `?`.
    pub fn bind(mut self, value: impl Into<Arg>) -> Sql {
        self.args.push(value.into());
        self
    }

    /// Appends text (which may hold placeholders bound after it).
    pub fn push(mut self, text: &str) -> Sql {
        self.text.push_str(text);
        self
    }

    /// Appends `?, ?, …`, one for each of `values`, bound to them.
    pub fn list<T: Into<Arg>>(mut self, values: impl IntoIterator<Item = T>) -> Sql {
        for (i, v) in values.into_iter().enumerate() {
            self.text.push_str(if i == 0 { "?" } else { ", ?" });
            self.args.push(v.into());
        }
        self
    }
}

/// `sql` with each `?` replaced by `$1`, `$2`, …, for a database that numbers its
/// placeholders. keyward's statements hold no `?` of their own (no string literal with one, no
/// JSON operator).
pub(super) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `args` as a database's bound arguments.
pub(super) fn arguments<'q, DB>(args: &'q [Arg]) -> StoreResult<DB::Arguments<'q>>
where
    DB: Database,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
{
    let mut out = DB::Arguments::<'q>::default();
    for a in args {
        let added = match a {
            Arg::Int(v) => out.add(*v),
            Arg::Text(v) => out.add(v.as_deref()),
            Arg::Bytes(v) => out.add(v.as_deref()),
        };
        added.map_err(super::StoreError::Database)?;
    }
    Ok(out)
}

/// A row type both databases can decode.
pub(super) trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
    + 'static
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
        + 'static
{
}

/// The words of SQL in which the two databases differ.
pub(super) struct Words {
    /// Joins a column's values with commas: `group_concat(x, ',')`, `string_agg(x, ',')`.
    pub aggregate: &'static str,
    /// Between an insert's column list and its values when it names `audit_events.id`.
    pub override_id: &'static str,
    /// An expression for the next audit event's id (drawn under the append lock).
    pub next_audit_id: &'static str,
    /// Appended to a read whose rows must not be deleted before the transaction ends.
    pub for_share: &'static str,
    /// A statement that makes bootstraps wait for each other ("" where the write
    /// transaction already does).
    pub lock_keys: &'static str,
    /// A column a new key row carries besides the common ones, and its value.
    pub key_extra: Option<(&'static str, &'static str)>,
    /// Locks the rows of `keys` whose ids follow, in id order (`FOR UPDATE`), before a batch
    /// writes them: two batches over the same keys then wait instead of deadlocking. ""
    /// where the write transaction already holds the only write lock.
    pub lock_rows: &'static str,
    /// A statement that makes rate-limit rounds take turns until the transaction ends ("" where
    /// the write transaction already does).
    pub lock_ratelimits: &'static str,
    /// Appends a row to the change feed (`at`, `kind`, `key_id` bound in that order), and
    /// has it announced when the transaction commits where the database can announce.
    pub change_insert: &'static str,
}

impl Words {
    /// Where a database says it the standard way, or needs nothing said.
    pub const STANDARD: Words = Words {
        aggregate: "string_agg",
        override_id: "",
        next_audit_id: "(SELECT coalesce(max(id), 0) + 1 FROM audit_events)",
        for_share: "",
        lock_keys: "",
        key_extra: None,
        lock_rows: "",
        lock_ratelimits: "",
        change_insert: "INSERT INTO changes (at, kind, key_id) VALUES (?, ?, ?)",
    };
}

/// A database, as the store's invariants need it. Methods that take a transaction run inside
/// it; [`Engine::read`] and [`Engine::write`] run one statement on their own.
#[async_trait]
pub(super) trait Engine: Send + Sync + 'static {
    type Tx: Send;
    const WORDS: Words;

    /// Whether opening this database created the audit chain (applied the migration that
    /// brought it): only then may a seal link events. A database writer can make a log look
    /// as if it had never been sealed, but cannot make this process have migrated it.
    fn chain_created(&self) -> bool;

    /// A transaction that writes. SQLite takes its write lock at once, so what it reads first
    /// stays true until it commits.
    async fn begin_write(&self) -> StoreResult<Self::Tx>;
    /// A transaction that only reads, seeing one consistent view of the database throughout.
    async fn begin_snapshot(&self) -> StoreResult<Self::Tx>;
    async fn commit(&self, tx: Self::Tx) -> StoreResult<()>;
    /// Makes appends to the audit log one at a time until the transaction ends, across
    /// processes and replicas.
    async fn lock_audit(&self, tx: &mut Self::Tx) -> StoreResult<()>;
    async fn execute(&self, tx: &mut Self::Tx, sql: &Sql) -> StoreResult<u64>;
    async fn fetch<T: Row>(&self, tx: &mut Self::Tx, sql: &Sql) -> StoreResult<Vec<T>>;
    /// One read statement, outside any transaction of the caller's.
    async fn read<T: Row>(&self, sql: &Sql) -> StoreResult<Vec<T>>;
    /// One write statement, committed on its own; returns the rows it touched.
    async fn write(&self, sql: &Sql) -> StoreResult<u64>;

    /// The list `f`, searched the way this database searches best.
    async fn list_keys(&self, f: &KeyFilter) -> StoreResult<Vec<KeyRecord>>;
    /// The plan for [`Engine::list_keys`], one line per step.
    async fn list_plan(&self, f: &KeyFilter) -> StoreResult<String>;
    /// Inserts finished keys as given, for benchmarks.
    async fn seed_keys(&self, keys: &[KeyRecord]) -> StoreResult<()>;
    /// Keeps the planner's statistics current.
    async fn optimize(&self) -> StoreResult<()>;
    /// Connections open and idle.
    fn pool_use(&self) -> Option<(u32, usize)>;
    /// Wakes `wake` whenever a change commits (see [`super::ChangeFeed::listen_for_changes`]).
    async fn listen_for_changes(&self, wake: &tokio::sync::Notify) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("SELECT ? FROM t WHERE a = ? AND b IN (?, ?)"),
            "SELECT $1 FROM t WHERE a = $2 AND b IN ($3, $4)"
        );
    }
}
