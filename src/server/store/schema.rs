//! Which keyward last brought a database's schema up to date, and the refusal to run on a
//! database that a newer keyward has migrated past what this one knows: an older binary would
//! otherwise fail later, or quietly misread rows it does not understand.

use std::fmt;

use sqlx::migrate::Migrator;

use super::engine::{Engine, Sql};
use super::{StoreError, StoreResult};

/// The newest schema version applied to the database (`None` before the first migration).
pub(super) const APPLIED: &str = "SELECT max(version) FROM _sqlx_migrations WHERE success";

/// The version of the keyward that last migrated the database, in `server_meta`.
const WRITTEN_BY: &str = "keyward_version";

/// Reads [`WRITTEN_BY`] (no placeholder, so one text serves both databases).
pub(super) const READ_WRITTEN_BY: &str =
    "SELECT value FROM server_meta WHERE name = 'keyward_version'";

/// A database a newer keyward has migrated.
#[derive(Debug)]
pub struct NewerSchema {
    applied: i64,
    known: i64,
    written_by: Option<String>,
}

impl fmt::Display for NewerSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match &self.written_by {
            Some(version) => format!("keyward {version} (schema version {})", self.applied),
            None => format!("a newer keyward (schema version {})", self.applied),
        };
        write!(
            f,
            "this database was upgraded by {by}, and this is keyward {} (schema versions up to {}): run keyward {} or newer, or restore the backup taken before the upgrade",
            env!("CARGO_PKG_VERSION"),
            self.known,
            self.written_by.as_deref().unwrap_or("of that version"),
        )
    }
}

impl std::error::Error for NewerSchema {}

/// Refuses a database whose schema is newer than `migrator` knows, before it is touched.
pub(super) fn check(
    applied: Option<i64>,
    migrator: &Migrator,
    written_by: Option<Vec<u8>>,
) -> StoreResult<()> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(applied) if applied > known => Err(StoreError::NewerSchema(NewerSchema {
            applied,
            known,
            // Written by whoever can write the database: shown only when it looks like a version.
            written_by: written_by
                .and_then(|v| String::from_utf8(v).ok())
                .filter(|v| looks_like_version(v)),
        })),
        _ => Ok(()),
    }
}

/// `1.2.3`, `0.2.0-rc.1+build`: 1 to 32 of `0-9 A-Z a-z . + -`.
fn looks_like_version(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
}

/// Notes this keyward's version as the one that brought the schema up to date.
pub(super) async fn record<E: Engine>(engine: &E) -> StoreResult<()> {
    engine
        .write(
            &Sql::new(
                "INSERT INTO server_meta (name, value) VALUES (?, ?) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(WRITTEN_BY)
            .bind(env!("CARGO_PKG_VERSION").as_bytes()),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::looks_like_version;

    #[test]
    fn only_a_version_written_in_the_database_is_repeated_to_the_operator() {
        for ok in ["0.1.0", "2.0.0-rc.1+build.5"] {
            assert!(looks_like_version(ok), "{ok}");
        }
        for hostile in [
            "",
            "2.0 from https://evil",
            "1.0\nerror: fake",
            "1.0\u{202e}",
            &"9".repeat(33),
        ] {
            assert!(!looks_like_version(hostile), "{hostile:?}");
        }
    }
}
