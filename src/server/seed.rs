//! Benchmarks only: fills a database with a million realistic keys in minutes
//! (`keyward server --seed-keys N`, hidden). Each key is minted as a real create mints it (a
//! random id and secret, the secret's digest under the server's pepper) and written through
//! the store in batches, so search and every index see it as any key; no secret is kept or
//! shown. The mix of names, descriptions, environments, permissions, statuses and ages is
//! fixed, so the benchmarks in bench/ can name fragments and filters that match few or many keys.

use crate::api::actions;
use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use crate::api::{KeyStatus, KeyType};
use crate::secret::{Pepper, Secret};
use crate::server::mint::{NewKey, mint};
use crate::server::store::{AuditEvent, Store, StoreResult};

/// The environments seeded keys live in; `eu-audit` is rare (1 %), for a selective filter.
pub const ENVIRONMENTS: [&str; 4] = ["production", "staging", "development", "eu-audit"];

const SERVICES: [&str; 24] = [
    "billing",
    "checkout",
    "search",
    "ledger",
    "catalog",
    "shipping",
    "invoices",
    "payroll",
    "inventory",
    "pricing",
    "reports",
    "accounts",
    "identity",
    "mailer",
    "analytics",
    "gateway",
    "fraud",
    "loyalty",
    "support",
    "partners",
    "storage",
    "media",
    "tax",
    "webhooks",
];
const ROLES: [&str; 8] = [
    "worker", "api", "cron", "export", "webhook", "etl", "ci", "mobile",
];
const TEAMS: [&str; 12] = [
    "atlas", "borealis", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo",
    "juniper", "kestrel", "lumen",
];

/// A small fixed-seed generator (SplitMix64): the same mix on every run, and no dependency.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

/// Key number `i` of `total`, created over the year before `now` in order. Its name ends in
/// `i + offset`, so seeding twice makes no name twice.
fn seeded_key(
    (i, offset): (u64, u64),
    total: u64,
    now: Timestamp,
    mix: &mut Mix,
    pepper: &Pepper,
) -> crate::server::store::KeyRecord {
    let day = SignedDuration::from_hours(24);
    let year_ms = 365 * day.as_millis() as i64;
    let created_at = now - SignedDuration::from_millis(year_ms - year_ms * i as i64 / total as i64);
    let service = mix.pick(&SERVICES);
    let role = mix.pick(&ROLES);
    let team = mix.pick(&TEAMS);
    let key_type = if mix.chance(15) {
        KeyType::Public
    } else {
        KeyType::Private
    };
    let environments: BTreeSet<String> = match mix.below(100) {
        0 => ["eu-audit"].as_slice(),
        1..=40 => &["production"],
        41..=65 => &["staging"],
        66..=94 => &["development"],
        _ => &["staging", "development"],
    }
    .iter()
    .map(|e| (*e).to_owned())
    .collect();
    let mut permissions = BTreeSet::from(["orders:read".to_owned()]);
    if mix.chance(40) {
        permissions.insert("catalog:read".to_owned());
    }
    if key_type == KeyType::Private {
        if mix.chance(30) {
            permissions.insert("orders:write".to_owned());
        }
        if mix.chance(2) {
            permissions.insert("payments:refund".to_owned());
        }
    }
    let allowed_ips = if mix.chance(20) {
        vec![format!("10.{}.{}.0/24", mix.below(256), mix.below(256))]
    } else {
        Vec::new()
    };
    let expires_at = if mix.chance(8) {
        now - SignedDuration::from_millis(1 + mix.below(30 * day.as_millis() as u64) as i64)
    } else {
        now + SignedDuration::from_millis(1 + mix.below(365 * day.as_millis() as u64) as i64)
    };
    let secret = Secret::generate(key_type.secret_prefix());
    let (mut key, _) = mint(
        NewKey {
            name: format!("{service}-{role}-{:07}", i + offset),
            description: format!(
                "{role} for {service}, owned by team {team}; ticket OPS-{:05}",
                mix.below(100_000)
            ),
            owner: None,
            meta: None,
            credits: None,
            ratelimits: Vec::new(),
            key_type,
            environments,
            permissions,
            allowed_ips,
            expires_at,
            created_by: "local:seed".to_owned(),
            secret: Some(secret),
        },
        created_at,
        pepper,
    );
    if mix.chance(70) {
        key.last_used_at =
            Some(now - SignedDuration::from_millis(mix.below(120 * day.as_millis() as u64) as i64));
        key.last_used_ip = Some(format!(
            "10.{}.{}.{}",
            mix.below(256),
            mix.below(256),
            mix.below(256)
        ));
    }
    match mix.below(100) {
        0..=2 => key.status = KeyStatus::Disabled,
        3..=12 => {
            key.status = KeyStatus::Revoked;
            let digest = key.secret_digest.take();
            key.revoked_fingerprint = digest.map(|d| pepper.fingerprint(&d));
        }
        _ => {}
    }
    key
}

/// Writes `total` seeded keys, `BATCH` per transaction, reporting progress through `progress`.
/// The caller refreshes the planner's statistics after (see `Store::analyze`).
pub async fn seed(
    store: &dyn Store,
    pepper: &Pepper,
    total: u64,
    now: Timestamp,
    mut progress: impl FnMut(u64),
) -> StoreResult<()> {
    const BATCH: u64 = 2_000;
    let mut mix = Mix(0x006b_6579_7761_7264); // "keyward"
    let offset = u64::try_from(store.count_keys().await?).unwrap_or(0);
    let mut done = 0;
    while done < total {
        let n = BATCH.min(total - done);
        let keys: Vec<_> = (done..done + n)
            .map(|i| seeded_key((i, offset), total, now, &mut mix, pepper))
            .collect();
        store.seed_keys(&keys).await?;
        done += n;
        progress(done);
    }
    Ok(())
}

/// Appends `total` audit events (failed token exchanges of made-up clients, from made-up
/// addresses), chained as any event is, 1,000 per transaction: a long log to verify.
pub async fn seed_audit(
    store: &dyn Store,
    total: u64,
    now: Timestamp,
    mut progress: impl FnMut(u64),
) -> StoreResult<()> {
    const BATCH: u64 = 1_000;
    let mut mix = Mix(0x0061_7564_6974_0001);
    let mut done = 0;
    while done < total {
        let n = BATCH.min(total - done);
        let events: Vec<AuditEvent> = (0..n)
            .map(|_| {
                let mut event = AuditEvent::success(now, "key:<seeded>", actions::TOKEN_EXCHANGE);
                event.outcome = "failure";
                event.error_code = Some("invalid_client");
                event.source_ip = Some(format!("198.18.{}.{}", mix.below(256), mix.below(256)));
                event.request_id = Some(format!("req_seeded{:010}", mix.below(10_000_000_000)));
                event
            })
            .collect();
        store.record_audit(&events).await?;
        done += n;
        progress(done);
    }
    Ok(())
}
