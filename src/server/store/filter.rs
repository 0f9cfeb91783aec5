//! What the filters of `GET /v1/keys` mean, written once as SQL both backends understand. The
//! only difference a backend brings is its [`Dialect`].

use std::collections::BTreeSet;

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::engine::Sql;
use super::rows::ms;
use super::{AuditFilter, KeyFilter, KeySort, SortValue};
use crate::api::{KeyCounts, KeyStatus};

/// The few words in which the two databases differ here.
pub(super) struct Dialect {
    /// A case-insensitive `LIKE`: SQLite's `LIKE` already is (for ASCII); PostgreSQL's is not,
    /// its `ILIKE` is.
    pub like: &'static str,
    /// How a fragment search finds its keys without reading every one.
    pub search: Search,
}

/// How `q` finds its keys.
pub(super) enum Search {
    /// SQLite: `LIKE '%…%'` over each searched column, reading keys in the list's order (a
    /// fragment too short for the index, or found in very many keys).
    Like,
    /// PostgreSQL: `LIKE '%…%'` in the `search` column, which holds the searched columns already
    /// lowered (migrations/postgres/0004); pg_trgm's GIN index serves it.
    Lowered,
    /// SQLite: the FTS5 trigram table `keys_search` answers, inside the query.
    Fts5,
    /// SQLite: the `search_id`s the FTS5 table found already (in the same transaction).
    Ids(Vec<i64>),
}

/// A trigram index finds fragments of three characters or more; shorter ones are read from
/// the keys themselves.
const MIN_INDEXED_FRAGMENT: usize = 3;

/// An FTS5 string literal: `text` in double quotes, its own double quotes doubled. Inside one,
/// nothing is query syntax.
fn fts5_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The FTS5 query for keys whose name, description or allowed IPs contain `q`, or whose hint
/// contains it when `q` looks like part of a hint; `None` when `q` is too short for a trigram
/// index.
pub(super) fn fts5_match(q: &str) -> Option<String> {
    let indexed = |text: &str| text.chars().count() >= MIN_INDEXED_FRAGMENT;
    if !indexed(q) {
        return None;
    }
    let mut query = format!("{{name description allowed_ips}} : {}", fts5_string(q));
    if let Some(hint) = super::looks_like_hint(q) {
        query.push_str(" OR hint : ");
        query.push_str(&fts5_string(&hint));
    }
    Some(query)
}

/// `%text%` with the `LIKE` wildcards in `text` escaped by `\`.
fn contains_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// `q` as `LIKE '%q%'` over the searched columns (the hint's only when `hint` is given).
fn push_like_search<'a, DB>(qb: &mut QueryBuilder<'a, DB>, q: &str, hint: Option<&str>, d: &Dialect)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" AND (");
    push_like_columns(qb, q, d);
    push_like_hint(qb, hint, d);
    qb.push(")");
}

/// `(name LIKE '%q%' OR description LIKE … OR allowed_ips LIKE …)`.
fn push_like_columns<'a, DB>(qb: &mut QueryBuilder<'a, DB>, q: &str, d: &Dialect)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    let pattern = contains_pattern(q);
    qb.push("(");
    for (i, col) in ["k.name", "k.description", "k.allowed_ips"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push(*col)
            .push(" ")
            .push(d.like)
            .push(" ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\'");
    }
    qb.push(")");
}

/// ` OR hint LIKE '%hint%'` when the fragment looks like part of a hint.
fn push_like_hint<'a, DB>(qb: &mut QueryBuilder<'a, DB>, hint: Option<&str>, d: &Dialect)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    if let Some(hint) = hint {
        qb.push(" OR k.hint ")
            .push(d.like)
            .push(" ")
            .push_bind(contains_pattern(hint))
            .push(" ESCAPE '\\'");
    }
}

/// PostgreSQL: `q` as `LIKE '%q%'` in the lowered `search` column, one trigram index scan. The
/// column joins the fields with newlines, so a fragment holding one is also tested against each
/// field: it must not match across two.
fn push_lowered_search<'a, DB>(
    qb: &mut QueryBuilder<'a, DB>,
    q: &str,
    hint: Option<&str>,
    d: &Dialect,
) where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" AND ((k.search LIKE lower(CAST(")
        .push_bind(contains_pattern(q))
        .push(" AS text)) ESCAPE '\\'");
    if q.contains('\n') {
        qb.push(" AND ");
        push_like_columns(qb, q, d);
    }
    qb.push(")");
    push_like_hint(qb, hint, d);
    qb.push(")");
}

/// PostgreSQL: appends ` AND (…)`, the keys of `k` whose own text holds the fragment `q`, for
/// lists that read keys one by one: `strpos` in the lowered `search` column, what
/// [`Search::Lowered`] finds, with no per-key `lower()` (most of what such a list paid).
pub(super) fn push_pg_contains<'a>(qb: &mut QueryBuilder<'a, sqlx::Postgres>, q: &str) {
    qb.push(" AND ((strpos(k.search, lower(CAST(")
        .push_bind(q.to_owned())
        .push(" AS text))) > 0");
    if q.contains('\n') {
        // Not across two fields (see push_lowered_search): each lowered under its column's
        // collation, as `ILIKE` lowers them (`name` is `C`).
        qb.push(" AND (");
        for (i, (col, collate)) in [
            ("k.name", " COLLATE \"C\""),
            ("k.description", ""),
            ("k.allowed_ips", ""),
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push(format!("strpos(lower({col}), lower(CAST("))
                .push_bind(q.to_owned())
                .push(format!(" AS text){collate})) > 0"));
        }
        qb.push(")");
    }
    qb.push(")");
    if let Some(hint) = super::looks_like_hint(q) {
        qb.push(" OR strpos(lower(k.hint), lower(")
            .push_bind(hint)
            .push(")) > 0");
    }
    qb.push(")");
}

/// Appends ` ORDER BY … LIMIT …` in the list's order over `k`'s own columns (for a query that
/// reads keys already filtered, from a subquery named `k`).
pub(super) fn push_order<'a, DB>(qb: &mut QueryBuilder<'a, DB>, sort: KeySort, limit: u32)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
{
    let (column, order) = match sort {
        KeySort::CreatedAsc => ("k.created_at", ""),
        KeySort::CreatedDesc => ("k.created_at", " DESC"),
        KeySort::ExpiresAsc => ("k.expires_at", ""),
        KeySort::NameAsc => ("k.name", ""),
    };
    qb.push(format!(" ORDER BY {column}{order}, k.id{order} LIMIT "))
        .push_bind(i64::from(limit));
}

/// Appends ` FROM … WHERE … ORDER BY … LIMIT …` for `f` to a query selecting from `keys k`.
pub(super) fn push_key_filter<'a, DB>(qb: &mut QueryBuilder<'a, DB>, f: &KeyFilter, d: &Dialect)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
{
    // In the default order, a list of one environment's (or permission's) keys reads that
    // value's rows in creation order from their own index and stops at the page's end; any
    // other list reads keys.
    let by_created = matches!(f.sort, KeySort::CreatedAsc | KeySort::CreatedDesc);
    let driver = match (&f.environment, &f.permission) {
        (Some(env), _) if by_created => Some(("key_environments", "environment", env)),
        (None, Some(perm)) if by_created => Some(("key_permissions", "permission", perm)),
        _ => None,
    };
    match driver {
        Some((table, column, value)) => {
            qb.push(format!(
                " FROM {table} d JOIN keys k ON k.id = d.key_id WHERE d.{column} = "
            ))
            .push_bind(value.clone());
        }
        None => {
            qb.push(" FROM keys k WHERE 1 = 1");
        }
    }
    let driven_by = |table: &str| driver.is_some_and(|(t, ..)| t == table);
    if let Some(name) = &f.name {
        qb.push(" AND k.name = ").push_bind(name.clone());
    }
    if let Some(q) = &f.q {
        match (&d.search, fts5_match(q)) {
            (Search::Ids(ids), _) if ids.is_empty() => {
                qb.push(" AND 0 = 1");
            }
            (Search::Ids(ids), _) => {
                qb.push(" AND k.search_id IN (");
                let mut each = qb.separated(", ");
                for id in ids {
                    each.push_bind(*id);
                }
                qb.push(")");
            }
            (Search::Fts5, Some(query)) => {
                qb.push(
                    " AND k.search_id IN (SELECT rowid FROM keys_search WHERE keys_search MATCH ",
                )
                .push_bind(query)
                .push(")");
            }
            (Search::Lowered, _) => {
                push_lowered_search(qb, q, super::looks_like_hint(q).as_deref(), d);
            }
            _ => push_like_search(qb, q, super::looks_like_hint(q).as_deref(), d),
        }
    }
    match f.status {
        None => {}
        // `+` keeps the planner on the status index, read in the list's order: going by
        // expiry instead would read every expired key and sort them.
        Some(KeyStatus::Expired) => {
            qb.push(" AND k.status = 'active' AND +k.expires_at <= ")
                .push_bind(ms(f.now));
        }
        Some(KeyStatus::Active) => {
            qb.push(" AND k.status = 'active' AND +k.expires_at > ")
                .push_bind(ms(f.now));
        }
        Some(s) => {
            qb.push(" AND k.status = ").push_bind(s.as_str().to_owned());
        }
    }
    if let Some(owner) = &f.owner {
        qb.push(" AND k.owner = ").push_bind(owner.clone());
    }
    if let Some(t) = f.key_type {
        qb.push(" AND k.key_type = ")
            .push_bind(t.as_str().to_owned());
    }
    if let Some(env) = f
        .environment
        .as_ref()
        .filter(|_| !driven_by("key_environments"))
    {
        qb.push(" AND EXISTS (SELECT 1 FROM key_environments e WHERE e.key_id = k.id AND e.environment = ")
            .push_bind(env.clone())
            .push(")");
    }
    if let Some(perm) = f
        .permission
        .as_ref()
        .filter(|_| !driven_by("key_permissions"))
    {
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
    if (f.expires_before.is_some() || f.unused_since.is_some() || f.hide_revoked) && !asks_revoked {
        qb.push(" AND k.status <> 'revoked'");
    }
    // The driving rows carry the key's creation time and id: ordering by them lets the
    // database read the index in order (they equal k.created_at and k.id).
    let (created, id_column) = match driver {
        Some(_) => ("d.key_created_at", "d.key_id"),
        None => ("k.created_at", "k.id"),
    };
    let (column, descending) = match f.sort {
        KeySort::CreatedAsc => (created, false),
        KeySort::CreatedDesc => (created, true),
        KeySort::ExpiresAsc => ("k.expires_at", false),
        KeySort::NameAsc => ("k.name", false),
    };
    let (beyond, order) = if descending {
        (" < ", " DESC")
    } else {
        (" > ", "")
    };
    if let Some((value, id)) = &f.after {
        let bind = |qb: &mut QueryBuilder<'a, DB>| match value {
            SortValue::Time(t) => {
                qb.push_bind(ms(*t));
            }
            SortValue::Text(s) => {
                qb.push_bind(s.clone());
            }
        };
        qb.push(" AND (").push(column).push(beyond);
        bind(qb);
        qb.push(" OR (").push(column).push(" = ");
        bind(qb);
        qb.push(" AND ")
            .push(id_column)
            .push(beyond)
            .push_bind(id.clone())
            .push("))");
    }
    qb.push(" ORDER BY ")
        .push(column)
        .push(order)
        .push(", ")
        .push(id_column)
        .push(order)
        .push(" LIMIT ")
        .push_bind(i64::from(f.limit));
}

/// The columns of an audit event, in [`crate::server::audit::AuditRow`]'s order.
pub(super) const AUDIT_FIELDS: &str = "SELECT id, at, actor, actor_name, action, key_id, \
    key_name, environments, source_ip, request_id, outcome, error_code, changed, detail, hash \
    FROM audit_events";

/// `sql` (which is [`AUDIT_FIELDS`]) with ` WHERE … ORDER BY id … LIMIT …` for `f`.
pub(super) fn audit_filter(mut sql: Sql, f: &AuditFilter) -> Sql {
    sql = sql.push(" WHERE 1 = 1");
    for (column, value) in [
        ("actor", &f.actor),
        ("key_id", &f.key_id),
        ("outcome", &f.outcome),
    ] {
        if let Some(value) = value {
            sql = sql.push(&format!(" AND {column} = ?")).bind(value);
        }
    }
    if !f.actions.is_empty() {
        sql = sql.push(" AND action IN (").list(&f.actions).push(")");
    }
    if !f.exclude_actions.is_empty() {
        sql = sql
            .push(" AND action NOT IN (")
            .list(&f.exclude_actions)
            .push(")");
    }
    if let Some(since) = f.since {
        sql = sql.push(" AND at >= ?").bind(ms(since));
    }
    if let Some(until) = f.until {
        sql = sql.push(" AND at < ?").bind(ms(until));
    }
    let (beyond, order) = if f.oldest_first {
        (" > ", "")
    } else {
        (" < ", " DESC")
    };
    if let Some(after) = f.after {
        sql = sql.push(&format!(" AND id{beyond}?")).bind(after);
    }
    sql.push(&format!(" ORDER BY id{order} LIMIT ?"))
        .bind(i64::from(f.limit))
}

/// The end of the per-environment counts (see [`super::Environments::environment_counts`]):
/// only keys whose environments all lie in `within`, when given, grouped by environment.
pub(super) fn push_environment_counts(mut sql: Sql, within: Option<&BTreeSet<String>>) -> Sql {
    match within {
        None => {}
        Some(within) if within.is_empty() => sql = sql.push(" WHERE 0 = 1"),
        Some(within) => {
            sql = sql
                .push(
                    " WHERE NOT EXISTS (SELECT 1 FROM key_environments o WHERE o.key_id = k.id \
                     AND o.environment NOT IN (",
                )
                .list(within)
                .push("))");
        }
    }
    sql.push(" GROUP BY e.environment")
}

/// A row of [`push_environment_counts`] as counts.
pub(super) fn key_counts(row: (String, i64, i64, i64, i64, i64)) -> (String, KeyCounts) {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    (
        row.0,
        KeyCounts {
            active: n(row.1),
            disabled: n(row.2),
            expired: n(row.3),
            revoked: n(row.4),
            expiring_within_30_days: n(row.5),
        },
    )
}

/// Keys that are not revoked and live only in the environment bound first.
pub(super) const LIVE_ONLY_THERE: &str = "SELECT count(*) FROM key_environments e \
    JOIN keys k ON k.id = e.key_id WHERE e.environment = ? AND k.status <> 'revoked' \
    AND NOT EXISTS (SELECT 1 FROM key_environments o \
    WHERE o.key_id = e.key_id AND o.environment <> e.environment)";
