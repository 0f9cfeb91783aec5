//! The audit log's tamper evidence: each event carries an HMAC over its own fields and the
//! previous event's HMAC, keyed with a key derived from the pepper. Someone who can only write
//! to the database cannot make a changed, inserted or removed event fit the chain again: they
//! would need the pepper. Appends are serialised by the store (SQLite's write lock, a
//! PostgreSQL advisory lock), so the chain never forks, whatever the number of replicas.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Pepper;

/// The HMAC key of the chain: HMAC(pepper, "keyward-audit-chain"), never the pepper itself.
#[derive(Clone)]
pub struct ChainKey(Hmac<Sha256>);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

impl ChainKey {
    pub fn from_pepper(pepper: &Pepper) -> Self {
        let derived = pepper.digest("keyward-audit-chain");
        ChainKey(Hmac::new_from_slice(&derived).expect("HMAC accepts keys of any length"))
    }

    /// The link of `event` after an event whose link is `previous` (`None` for the first).
    pub fn link(&self, previous: Option<&[u8]>, event: &AuditRow) -> Vec<u8> {
        let mut mac = self.0.clone();
        field(&mut mac, previous);
        field(&mut mac, Some(event.id.to_string().as_bytes()));
        field(&mut mac, Some(event.at.to_string().as_bytes()));
        for text in [
            Some(event.actor.as_str()),
            event.actor_name.as_deref(),
            Some(event.action.as_str()),
            event.key_id.as_deref(),
            Some(event.environments.as_str()),
            event.source_ip.as_deref(),
            event.request_id.as_deref(),
            Some(event.outcome.as_str()),
            event.error_code.as_deref(),
            Some(event.changed.as_str()),
        ] {
            field(&mut mac, text.map(str::as_bytes));
        }
        mac.finalize().into_bytes().to_vec()
    }
}

/// One field, length first, so that no two different events hash the same bytes (a missing
/// field is not an empty one).
fn field(mac: &mut Hmac<Sha256>, bytes: Option<&[u8]>) {
    match bytes {
        None => mac.update(&[0]),
        Some(b) => {
            mac.update(&[1]);
            mac.update(&(b.len() as u64).to_be_bytes());
            mac.update(b);
        }
    }
}

/// An event as the database stores it. Lists (environments, changed fields) are kept as
/// comma-separated text: neither an environment name nor a field name holds a comma.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub actor: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub key_id: Option<String>,
    pub environments: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub changed: String,
    /// `None` only for an event the chain has not reached (see [`crate::server::store::Store::seal_audit`]).
    pub hash: Option<Vec<u8>>,
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// This event's fields or link are not what the chain says: it was changed, inserted, or
    /// an event just before it was removed.
    Broken { id: i64 },
    /// This event carries no link although events before it do.
    Unlinked { id: i64 },
}

/// Walks events in the order they were written, continuing from `previous` (the link of the
/// last event already checked); returns the last link, or where the chain breaks.
pub fn walk(
    key: &ChainKey,
    mut previous: Option<Vec<u8>>,
    events: &[AuditRow],
) -> Result<Option<Vec<u8>>, ChainBreak> {
    for event in events {
        let Some(stored) = &event.hash else {
            return Err(ChainBreak::Unlinked { id: event.id });
        };
        let expected = key.link(previous.as_deref(), event);
        if !crate::secret::digests_equal(&expected, stored) {
            return Err(ChainBreak::Broken { id: event.id });
        }
        previous = Some(expected);
    }
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, actor: &str) -> AuditRow {
        AuditRow {
            id,
            at: 1_700_000_000_000 + id,
            actor: actor.to_owned(),
            actor_name: None,
            action: "key.create".to_owned(),
            key_id: Some("key_abc".to_owned()),
            environments: "production".to_owned(),
            source_ip: None,
            request_id: Some("r1".to_owned()),
            outcome: "success".to_owned(),
            error_code: None,
            changed: String::new(),
            hash: None,
        }
    }

    fn chained(key: &ChainKey, rows: &mut [AuditRow]) {
        let mut previous: Option<Vec<u8>> = None;
        for r in rows.iter_mut() {
            let link = key.link(previous.as_deref(), r);
            r.hash = Some(link.clone());
            previous = Some(link);
        }
    }

    #[test]
    fn a_chain_verifies_and_each_kind_of_tampering_names_the_event() {
        let key = ChainKey::from_pepper(&Pepper::new(vec![7; 32]));
        let mut rows: Vec<AuditRow> = (1..=5).map(|i| row(i, "key:key_a")).collect();
        chained(&key, &mut rows);
        assert!(walk(&key, None, &rows).is_ok());

        let mut changed = rows.clone();
        changed[2].actor = "key:key_b".to_owned();
        assert_eq!(
            walk(&key, None, &changed),
            Err(ChainBreak::Broken { id: 3 })
        );

        let mut removed = rows.clone();
        removed.remove(1);
        assert_eq!(
            walk(&key, None, &removed),
            Err(ChainBreak::Broken { id: 3 })
        );

        let mut inserted = rows.clone();
        let mut forged = row(6, "key:key_evil");
        forged.hash = Some(vec![0; 32]);
        inserted.insert(2, forged);
        assert_eq!(
            walk(&key, None, &inserted),
            Err(ChainBreak::Broken { id: 6 })
        );

        // A chain made with another pepper does not verify.
        let other = ChainKey::from_pepper(&Pepper::new(vec![8; 32]));
        assert_eq!(walk(&other, None, &rows), Err(ChainBreak::Broken { id: 1 }));

        // A missing field is not an empty one.
        let mut empty = rows.clone();
        empty[0].actor_name = Some(String::new());
        assert_eq!(walk(&key, None, &empty), Err(ChainBreak::Broken { id: 1 }));
    }
}
