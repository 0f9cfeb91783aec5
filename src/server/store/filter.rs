//! What the filters of `GET /v1/keys` mean, written once as SQL both backends understand. The
//! only difference a backend brings is its [`Dialect`].

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::rows::ms;
use super::{KeyFilter, KeySort, SortValue};
use crate::api::KeyStatus;

/// The few words in which the two databases differ here.
pub(super) struct Dialect {
    /// A case-insensitive `LIKE`: SQLite's `LIKE` already is (for ASCII); PostgreSQL's is not,
    /// its `ILIKE` is.
    pub like: &'static str,
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

/// Appends ` WHERE …  ORDER BY … LIMIT …` for `f` to a query selecting from `keys k`.
pub(super) fn push_key_filter<'a, DB>(qb: &mut QueryBuilder<'a, DB>, f: &KeyFilter, d: &Dialect)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if let Some(name) = &f.name {
        qb.push(" AND k.name = ").push_bind(name.clone());
    }
    if let Some(q) = &f.q {
        let pattern = contains_pattern(q);
        qb.push(" AND (");
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
        if let Some(hint) = super::looks_like_hint(q) {
            qb.push(" OR k.hint ")
                .push(d.like)
                .push(" ")
                .push_bind(contains_pattern(&hint))
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
            qb.push(" AND k.status = ").push_bind(s.as_str().to_owned());
        }
    }
    if let Some(t) = f.key_type {
        qb.push(" AND k.key_type = ")
            .push_bind(t.as_str().to_owned());
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
}
