//! The audit log's chain, in one place: append, seal, prune, verify, checkpoint.
//!
//! Each event carries an HMAC over its own fields and the previous event's HMAC (its link),
//! keyed with a key derived from the pepper. Someone who can write to the database but does
//! not hold the pepper cannot make a changed, inserted or removed event fit the chain again.
//!
//! - **Append**: under the append lock ([`Engine::lock_audit`]), so the chain never forks,
//!   whatever the number of replicas; the event is linked to the one just below its id.
//! - **Seal, once**: a log written before the chain existed is linked when the chain is
//!   created, and never again. Only the process that applies the migration bringing the chain
//!   (it marks it "to be sealed": `audit_chain` in `server_meta`, empty) seals: it links the
//!   older events, writes a chained `audit.seal` event, and replaces the mark with an HMAC of
//!   that event's id. A link found empty later is a break; a mark found empty later is too.
//! - **Prune**: retention deletes the oldest events and appends a chained `audit.prune` event
//!   saying where the chain now starts and the link of the last event deleted. Its own link
//!   covers both, so a forged starting point fails.
//! - **Verify** walks every event from one consistent view (a read transaction), in batches.
//! - **Checkpoint**: the newest event's id and link, kept elsewhere; verify against it fails
//!   when that event is gone or changed (the newest events were removed).

use crate::api::actions;
use std::fmt;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use super::engine::{Engine, Sql};
use super::filter::AUDIT_FIELDS;
use super::records::{AuditEvent, AuditRow};
use super::rows::ms;
use super::{StoreError, StoreResult};
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
        // Fields added later are written only where the event has them, so events written
        // before them keep their links. Without a key name: the detail, if any, as before.
        // With one: the detail as a field of its own (a missing one marked, so no detail can
        // pass for a name), then the name. Read back from after the fields above, the bytes
        // say which of the three forms they are.
        match (&event.detail, &event.key_name) {
            (None, None) => {}
            (Some(detail), None) => field(&mut mac, Some(detail.as_bytes())),
            (detail, Some(name)) => {
                field(&mut mac, detail.as_deref().map(str::as_bytes));
                field(&mut mac, Some(name.as_bytes()));
            }
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// The seal mark: proof, by the pepper's holder, that the chain was sealed by event `id`.
    fn seal_mark(&self, id: i64) -> Vec<u8> {
        let mut mac = self.0.clone();
        field(&mut mac, Some(b"keyward-audit-sealed"));
        field(&mut mac, Some(&id.to_be_bytes()));
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

/// `event` as the row stored with `id` (its link not yet computed).
pub(super) fn row_of(event: &AuditEvent, id: i64) -> AuditRow {
    AuditRow {
        id,
        at: ms(event.at),
        actor: event.actor.clone(),
        actor_name: event.actor_name.clone(),
        action: event.action.to_owned(),
        key_id: event.key_id.clone(),
        key_name: event.key_name.clone(),
        environments: event.environments.join(","),
        source_ip: event.source_ip.clone(),
        request_id: event.request_id.clone(),
        outcome: event.outcome.to_owned(),
        error_code: event.error_code.map(str::to_owned),
        changed: event.changed.join(","),
        detail: event.detail.clone(),
        hash: None,
    }
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// This event's fields or link are not what the chain says: it was changed, inserted, or
    /// an event just before it was removed.
    Broken { id: i64 },
    /// This event carries no link: its link was erased.
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

/// An event's id and link, kept outside the database to detect removed tail events. Written
/// `ID:LINK`, the link in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: i64,
    pub link: Vec<u8>,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.id, hex(&self.link))
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a checkpoint: expected ID:LINK, as `keyward audit checkpoint` prints it"
            )
        };
        let (id, link) = s.trim().split_once(':').ok_or_else(bad)?;
        let id = id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(bad)?;
        let link = unhex(link).filter(|l| l.len() == 32).ok_or_else(bad)?;
        Ok(Checkpoint { id, link })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// What verifying the whole log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub checked: u64,
    /// The first event that breaks the chain, and why, in words.
    pub broken: Option<(i64, String)>,
}

/// Where the seal mark is kept in `server_meta`: empty until the chain is sealed, then the
/// sealing event's id (8 bytes, big-endian) and [`ChainKey::seal_mark`] of it.
const SEAL_MARK: &str = "audit_chain";
/// Where an older keyward kept its retention anchor (the id and link of the newest deleted
/// event, unauthenticated); a seal carries it into the chain once and removes it.
const LEGACY_ANCHOR: &str = "audit_anchor";
/// Events read at a time by verify and the seal.
const BATCH: i64 = 1_000;
/// The most events one retention pass deletes (the purger runs again soon).
pub const PRUNE_BATCH: i64 = 10_000;

/// Appends `events` to the chain in `tx`, under the append lock (held until `tx` ends). Each
/// event's id is drawn under the lock and it links to the event just below that id, so the
/// chain runs in id order, even past a row someone inserted by hand.
pub(super) async fn append<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    key: &ChainKey,
    events: &[&AuditEvent],
) -> StoreResult<Vec<i64>> {
    e.lock_audit(tx).await?;
    let mut ids = Vec::with_capacity(events.len());
    let mut previous: Option<Option<Vec<u8>>> = None;
    for event in events {
        let (id, before): (i64, Option<Vec<u8>>) = one(
            e.fetch(
                tx,
                &Sql::new(format!(
                    "SELECT n, (SELECT hash FROM audit_events WHERE id < n ORDER BY id DESC LIMIT 1) \
                     FROM (SELECT {} AS n) drawn",
                    E::WORDS.next_audit_id
                )),
            )
            .await?,
        )?;
        // Within one append, the previous link is the one just computed.
        let before = previous.take().unwrap_or(before);
        let row = row_of(event, id);
        let link = key.link(before.as_deref(), &row);
        insert_row(e, tx, &row, &link).await?;
        previous = Some(Some(link));
        ids.push(id);
    }
    Ok(ids)
}

async fn insert_row<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    row: &AuditRow,
    link: &[u8],
) -> StoreResult<()> {
    let sql = Sql::new(format!(
        "INSERT INTO audit_events (id, at, actor, actor_name, action, key_id, key_name, \
         environment, environments, source_ip, request_id, outcome, error_code, changed, detail, \
         hash) {} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        E::WORDS.override_id
    ))
    .bind(row.id)
    .bind(row.at)
    .bind(&row.actor)
    .bind(&row.actor_name)
    .bind(row.action.as_str())
    .bind(&row.key_id)
    .bind(&row.key_name)
    .bind(row.environments.split(',').next().filter(|e| !e.is_empty()))
    .bind(row.environments.as_str())
    .bind(&row.source_ip)
    .bind(&row.request_id)
    .bind(row.outcome.as_str())
    .bind(&row.error_code)
    .bind(row.changed.as_str())
    .bind(&row.detail)
    .bind(link);
    e.execute(tx, &sql).await?;
    Ok(())
}

fn one<T>(rows: Vec<T>) -> StoreResult<T> {
    rows.into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("a query that returns one row returned none".into()))
}

async fn meta<E: Engine>(e: &E, tx: &mut E::Tx, name: &str) -> StoreResult<Option<Vec<u8>>> {
    let rows: Vec<(Vec<u8>,)> = e
        .fetch(
            tx,
            &Sql::new("SELECT value FROM server_meta WHERE name = ?").bind(name),
        )
        .await?;
    Ok(rows.into_iter().next().map(|(v,)| v))
}

/// Seals the chain when this process created it (applied the migration that brought it): links
/// the events an older keyward wrote without links (those older than every linked event),
/// carries an older keyward's retention anchor into the chain, and appends `audit.seal`.
/// Returns how many events it linked. Does nothing in any other process, whatever the seal
/// mark says (a blanked mark is reported by verify, never acted on), and nothing once sealed.
pub(super) async fn seal<E: Engine>(e: &E, key: &ChainKey, at: Timestamp) -> StoreResult<u64> {
    if !e.chain_created() {
        // The chain existed before this process opened the database: whatever the mark says
        // now (someone may have blanked it), nothing is linked again.
        return Ok(0);
    }
    let mut tx = e.begin_write().await?;
    e.lock_audit(&mut tx).await?;
    match meta(e, &mut tx, SEAL_MARK).await? {
        Some(mark) if mark.is_empty() => {}
        _ => return Ok(0),
    }
    let legacy: Vec<AuditRow> = e
        .fetch(
            &mut tx,
            &Sql::new(format!(
                "{AUDIT_FIELDS} WHERE hash IS NULL AND id < \
                 (SELECT coalesce(min(id), 9223372036854775807) FROM audit_events \
                  WHERE hash IS NOT NULL) ORDER BY id"
            )),
        )
        .await?;
    let anchor = meta(e, &mut tx, LEGACY_ANCHOR)
        .await?
        .and_then(|v| v.get(8..).map(<[u8]>::to_vec));
    let mut previous = anchor.clone();
    for event in &legacy {
        let link = key.link(previous.as_deref(), event);
        e.execute(
            &mut tx,
            &Sql::new("UPDATE audit_events SET hash = ? WHERE id = ?")
                .bind(link.clone())
                .bind(event.id),
        )
        .await?;
        previous = Some(link);
    }
    let mut detail = format!("linked={}", legacy.len());
    if let Some(anchor) = &anchor {
        let first: Vec<(i64,)> = e
            .fetch(&mut tx, &Sql::new("SELECT min(id) FROM audit_events"))
            .await?;
        if let Some((first,)) = first.first() {
            detail.push_str(&format!(" from={first} after={}", hex(anchor)));
        }
    }
    let mut event = AuditEvent::success(at, "server", actions::AUDIT_SEAL);
    event.detail = Some(detail);
    let ids = append(e, &mut tx, key, &[&event]).await?;
    let mut mark = ids[0].to_be_bytes().to_vec();
    mark.extend(key.seal_mark(ids[0]));
    e.execute(
        &mut tx,
        &Sql::new("UPDATE server_meta SET value = ? WHERE name = ?")
            .bind(mark)
            .bind(SEAL_MARK),
    )
    .await?;
    e.execute(
        &mut tx,
        &Sql::new("DELETE FROM server_meta WHERE name = ?").bind(LEGACY_ANCHOR),
    )
    .await?;
    e.commit(tx).await?;
    Ok(legacy.len() as u64)
}

/// Retention: deletes the oldest events written before `before` (at most [`PRUNE_BATCH`],
/// never the newest) and appends `audit.prune`, whose detail names the first event kept and
/// the link of the last one deleted. Returns how many were deleted.
pub(super) async fn prune<E: Engine>(
    e: &E,
    key: &ChainKey,
    before: Timestamp,
    at: Timestamp,
) -> StoreResult<u64> {
    let mut tx = e.begin_write().await?;
    e.lock_audit(&mut tx).await?;
    let oldest: Vec<(i64, i64, Option<Vec<u8>>)> = e
        .fetch(
            &mut tx,
            &Sql::new(
                "SELECT id, at, hash FROM audit_events \
                 WHERE id < (SELECT max(id) FROM audit_events) ORDER BY id LIMIT ?",
            )
            .bind(PRUNE_BATCH),
        )
        .await?;
    let Some((last, link)) = oldest
        .iter()
        .take_while(|(_, t, _)| *t < ms(before))
        .last()
        .map(|(id, _, link)| (*id, link.clone().unwrap_or_default()))
    else {
        return Ok(0);
    };
    let deleted = e
        .execute(
            &mut tx,
            &Sql::new("DELETE FROM audit_events WHERE id <= ?").bind(last),
        )
        .await?;
    let (first,): (i64,) = one(e
        .fetch(&mut tx, &Sql::new("SELECT min(id) FROM audit_events"))
        .await?)?;
    let mut event = AuditEvent::success(at, "server", actions::AUDIT_PRUNE);
    event.detail = Some(format!(
        "deleted={deleted} from={first} after={}",
        hex(&link)
    ));
    append(e, &mut tx, key, &[&event]).await?;
    e.commit(tx).await?;
    Ok(deleted)
}

/// The newest event's id and link.
pub(super) async fn head<E: Engine>(e: &E) -> StoreResult<Option<Checkpoint>> {
    let rows: Vec<(i64, Option<Vec<u8>>)> = e
        .read(&Sql::new(
            "SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1",
        ))
        .await?;
    Ok(rows.into_iter().next().map(|(id, link)| Checkpoint {
        id,
        link: link.unwrap_or_default(),
    }))
}

/// Where a start-declaring event (`audit.prune`, `audit.seal`) says the chain starts: the
/// first event kept, and the link of the event before it.
fn declared_start(detail: &str) -> Option<(i64, Vec<u8>)> {
    let value = |name: &str| {
        detail
            .split(' ')
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
    };
    Some((value("from")?.parse().ok()?, unhex(value("after")?)?))
}

/// Walks the whole log from one consistent view, in batches, calling `progress` with the
/// number checked so far after each (and stopping when it answers false); with `checkpoint`,
/// also fails when that event is gone or its link differs.
pub(super) async fn verify<E: Engine>(
    e: &E,
    key: &ChainKey,
    checkpoint: Option<&Checkpoint>,
    progress: &(dyn Fn(u64) -> bool + Send + Sync),
) -> StoreResult<Verification> {
    let mut tx = e.begin_snapshot().await?;
    let found = walk_all(e, &mut tx, key, checkpoint, progress).await;
    e.commit(tx).await?;
    found
}

async fn walk_all<E: Engine>(
    e: &E,
    tx: &mut E::Tx,
    key: &ChainKey,
    checkpoint: Option<&Checkpoint>,
    progress: &(dyn Fn(u64) -> bool + Send + Sync),
) -> StoreResult<Verification> {
    let broken = |checked, id, why: String| {
        Ok(Verification {
            checked,
            broken: Some((id, why)),
        })
    };
    // Every id keyward gives is positive: a row at or below zero was put there by hand (and
    // would otherwise sit before every batch the walk reads).
    let lowest: Vec<(Option<i64>,)> = e
        .fetch(tx, &Sql::new("SELECT min(id) FROM audit_events"))
        .await?;
    if let Some(&(Some(id),)) = lowest.first() {
        if id <= 0 {
            return broken(
                0,
                id,
                format!("event {id} has an id keyward never gives: it was inserted by hand"),
            );
        }
    }
    // The newest start a prune (or the seal of an older log) declared. It is believed only
    // because the walk reaches it and checks its own link, and only for a start before it.
    let starts: Vec<(i64, Option<String>)> = e
        .fetch(
            tx,
            &Sql::new(
                "SELECT id, detail FROM audit_events WHERE action IN ('audit.prune', 'audit.seal') \
                 AND detail LIKE '%from=%' ORDER BY id DESC LIMIT 1",
            ),
        )
        .await?;
    let declared = starts.into_iter().next().and_then(|(id, d)| {
        declared_start(&d.unwrap_or_default()).map(|(from, link)| (id, from, link))
    });
    if let Some((id, from, _)) = &declared {
        if from > id {
            return broken(
                0,
                *id,
                format!(
                    "event {id} declares that the log starts after it, at event {from}: it was forged"
                ),
            );
        }
    }
    let start = declared.map(|(_, from, link)| (from, link));
    let mut previous = None;
    let mut after = 0;
    let mut checked = 0u64;
    let mut first = true;
    let mut seen_checkpoint = false;
    loop {
        let batch: Vec<AuditRow> = e
            .fetch(
                tx,
                &Sql::new(format!("{AUDIT_FIELDS} WHERE id > ? ORDER BY id LIMIT ?"))
                    .bind(after)
                    .bind(BATCH),
            )
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        if first {
            first = false;
            if let Some((from, link)) = &start {
                if batch[0].id != *from {
                    return broken(
                        0,
                        batch[0].id,
                        format!(
                            "event {} is the oldest in the log, but the last retention pass kept the log from event {from} on: events were removed or inserted before it",
                            batch[0].id
                        ),
                    );
                }
                previous = Some(link.clone());
            }
        }
        match walk(key, previous.take(), &batch) {
            Ok(link) => previous = link,
            Err(b) => {
                let (id, why) = match b {
                    ChainBreak::Broken { id } => (
                        id,
                        format!(
                            "event {id} does not follow from the event before it: it was changed or inserted, or an event just before it was removed"
                        ),
                    ),
                    ChainBreak::Unlinked { id } => (
                        id,
                        format!("event {id} carries no link: its link was erased"),
                    ),
                };
                let position = batch.iter().position(|r| r.id == id).unwrap_or(0);
                return broken(checked + position as u64, id, why);
            }
        }
        if let Some(cp) = checkpoint {
            if let Some(row) = batch.iter().find(|r| r.id == cp.id) {
                seen_checkpoint = true;
                let same = row
                    .hash
                    .as_deref()
                    .is_some_and(|h| crate::secret::digests_equal(h, &cp.link));
                if !same {
                    return broken(
                        checked,
                        cp.id,
                        format!(
                            "event {} differs from the checkpoint: it was changed",
                            cp.id
                        ),
                    );
                }
            }
        }
        checked += batch.len() as u64;
        if !progress(checked) {
            return Ok(Verification {
                checked,
                broken: Some((0, "stopped: nobody waits for the answer".to_owned())),
            });
        }
    }
    if let Some(cp) = checkpoint {
        let pruned = start.as_ref().is_some_and(|(from, _)| cp.id < *from);
        if !seen_checkpoint && !pruned {
            return broken(
                checked,
                cp.id,
                format!(
                    "event {} of the checkpoint is gone: the newest events were removed",
                    cp.id
                ),
            );
        }
    }
    // The seal mark: missing or forged means someone reset the chain's seal by hand.
    let mark = meta(e, tx, SEAL_MARK).await?.unwrap_or_default();
    let genuine = mark.split_first_chunk::<8>().is_some_and(|(id, mac)| {
        crate::secret::digests_equal(mac, &key.seal_mark(i64::from_be_bytes(*id)))
    });
    if !genuine && checked > 0 {
        return Ok(Verification {
            checked,
            broken: Some((
                0,
                "the chain's seal mark is missing or forged: it was reset by hand, and the log could be sealed again over erased links"
                    .to_owned(),
            )),
        });
    }
    Ok(Verification {
        checked,
        broken: None,
    })
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
            action: actions::KEY_CREATE.to_owned(),
            key_id: Some("key_abc".to_owned()),
            key_name: None,
            environments: "production".to_owned(),
            source_ip: None,
            request_id: Some("r1".to_owned()),
            outcome: "success".to_owned(),
            error_code: None,
            changed: String::new(),
            detail: None,
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

        let mut erased = rows.clone();
        erased[3].hash = None;
        assert_eq!(
            walk(&key, None, &erased),
            Err(ChainBreak::Unlinked { id: 4 })
        );

        // A chain made with another pepper does not verify.
        let other = ChainKey::from_pepper(&Pepper::new(vec![8; 32]));
        assert_eq!(walk(&other, None, &rows), Err(ChainBreak::Broken { id: 1 }));

        // A missing field is not an empty one, and a detail counts.
        let mut empty = rows.clone();
        empty[0].actor_name = Some(String::new());
        assert_eq!(walk(&key, None, &empty), Err(ChainBreak::Broken { id: 1 }));
        let mut detailed = rows.clone();
        detailed[0].detail = Some(String::new());
        assert_eq!(
            walk(&key, None, &detailed),
            Err(ChainBreak::Broken { id: 1 })
        );

        // A key name counts, and cannot be passed off as a detail or the other way round.
        let mut named = rows.clone();
        named[0].key_name = Some("payments".to_owned());
        chained(&key, &mut named);
        assert!(walk(&key, None, &named).is_ok());
        let mut renamed = named.clone();
        renamed[0].key_name = Some("billing".to_owned());
        assert_eq!(
            walk(&key, None, &renamed),
            Err(ChainBreak::Broken { id: 1 })
        );
        let mut moved = named.clone();
        moved[0].detail = moved[0].key_name.take();
        assert_eq!(walk(&key, None, &moved), Err(ChainBreak::Broken { id: 1 }));
    }

    #[test]
    fn a_checkpoint_reads_back_as_written_and_nonsense_is_refused() {
        let cp = Checkpoint {
            id: 42,
            link: vec![0xab; 32],
        };
        assert_eq!(cp.to_string().parse::<Checkpoint>(), Ok(cp.clone()));
        for bad in ["", "42", "42:zz", "x:abab", "0:abab", "42:abab"] {
            assert!(bad.parse::<Checkpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_declared_start_is_read_from_its_detail() {
        assert_eq!(
            declared_start("deleted=3 from=17 after=00ff"),
            Some((17, vec![0, 255]))
        );
        assert_eq!(declared_start("linked=3"), None);
    }
}
