//! Failed authentications, aggregated: one audit event per client id and source network per
//! interval, with a count. The first failure of a group in an interval is written as it happens
//! (with its request id and address); the others are counted in memory and written as one event
//! when the interval is over (`detail`: `repeated=N …`). An interval holds at most
//! [`MAX_GROUPS`] groups; failures of further groups that name no key are counted in one more
//! event, and those that name a key in one group per key and answer (the first written at
//! once): a flood of junk client ids cannot hide what was tried against a real key. So however
//! many addresses a flood rotates over, an interval costs at most `2 × MAX_GROUPS + 1` audit
//! rows, plus two per real key and answer past the bound, and a counted failure costs no
//! database write at all.
//!
//! A source network is an IPv4 /24 or an IPv6 /48 (of the address the trusted-proxy rules give),
//! or `unknown`. The counts are written by whichever failure first sees the interval over, by
//! the flusher's tick, and at shutdown.

use crate::api::actions;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use crate::server::store::AuditEvent;

/// How long an interval lasts.
pub const INTERVAL: SignedDuration = SignedDuration::from_secs(60);
/// Groups (client id, source network, answer) an interval tracks; past it, one count for all.
pub const MAX_GROUPS: usize = 1_000;

/// Whether a failure is written now, or counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noted {
    /// The first of its group this interval: write its event.
    First,
    /// Counted; written with its group's count when the interval is over.
    Counted,
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct GroupKey {
    actor: String,
    network: String,
    error_code: Option<&'static str>,
}

struct Group {
    /// The first event of the group, as a template for the count's event.
    first: AuditEvent,
    repeated: u64,
    last_at: Timestamp,
}

#[derive(Default)]
struct Interval {
    started: Option<Timestamp>,
    groups: HashMap<GroupKey, Group>,
    /// Failures of groups past [`MAX_GROUPS`] that name no key (unknown client ids), and the
    /// newest one's time.
    overflow: u64,
    overflow_at: Option<Timestamp>,
    /// Failures past [`MAX_GROUPS`] that name a key, by key and answer: a flood of junk client
    /// ids never hides what was tried against a real key, nor what a right secret was told
    /// (bounded by the keys that exist).
    overflow_by_key: HashMap<(String, Option<&'static str>), Group>,
}

#[derive(Default)]
pub struct FailureTally {
    interval: Mutex<Interval>,
}

/// The source network an address belongs to, as written in the count's event.
pub fn network_of(source_ip: Option<&str>) -> String {
    match source_ip
        .and_then(|t| t.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
    {
        Some(ip @ IpAddr::V4(_)) => ipnet::IpNet::new(ip, 24).map(|n| n.trunc().to_string()),
        Some(ip @ IpAddr::V6(_)) => ipnet::IpNet::new(ip, 48).map(|n| n.trunc().to_string()),
        None => return "unknown".to_owned(),
    }
    .unwrap_or_else(|_| "unknown".to_owned())
}

impl FailureTally {
    /// Notes a failed authentication described by `event` (its time is now). Returns whether
    /// to write it, and the counts of the interval that `event` ended, if it ended one.
    pub fn note(&self, event: &AuditEvent) -> (Noted, Vec<AuditEvent>) {
        let mut interval = self.interval.lock().unwrap_or_else(|e| e.into_inner());
        let due = interval.take_due(event.at, false);
        interval.started.get_or_insert(event.at);
        let key = GroupKey {
            actor: event.actor.clone(),
            network: network_of(event.source_ip.as_deref()),
            error_code: event.error_code,
        };
        let noted = if let Some(group) = interval.groups.get_mut(&key) {
            group.repeated += 1;
            group.last_at = group.last_at.max(event.at);
            Noted::Counted
        } else if interval.groups.len() < MAX_GROUPS {
            let mut first = event.clone();
            first.source_ip = Some(key.network.clone());
            first.request_id = None;
            interval.groups.insert(
                key,
                Group {
                    first,
                    repeated: 0,
                    last_at: event.at,
                },
            );
            Noted::First
        } else if let Some(key_id) = &event.key_id {
            match interval
                .overflow_by_key
                .entry((key_id.clone(), event.error_code))
            {
                std::collections::hash_map::Entry::Occupied(mut group) => {
                    let group = group.get_mut();
                    group.repeated += 1;
                    group.last_at = group.last_at.max(event.at);
                    Noted::Counted
                }
                // The first against this key in a flooded interval is written at once too.
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let mut first = event.clone();
                    first.source_ip = None;
                    first.request_id = None;
                    slot.insert(Group {
                        first,
                        repeated: 0,
                        last_at: event.at,
                    });
                    Noted::First
                }
            }
        } else {
            interval.overflow += 1;
            interval.overflow_at = Some(interval.overflow_at.map_or(event.at, |t| t.max(event.at)));
            Noted::Counted
        };
        (noted, due)
    }

    /// The counts of an interval that is over by `now` (or of the current one, when `all`, as
    /// at shutdown), as events to write; the tally starts afresh.
    pub fn take(&self, now: Timestamp, all: bool) -> Vec<AuditEvent> {
        self.interval
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_due(now, all)
    }
}

impl Interval {
    fn take_due(&mut self, now: Timestamp, all: bool) -> Vec<AuditEvent> {
        let Some(started) = self.started else {
            return Vec::new();
        };
        if !all && now < started + INTERVAL {
            return Vec::new();
        }
        let over = std::mem::take(self);
        let mut events: Vec<AuditEvent> = over
            .groups
            .into_values()
            .filter(|g| g.repeated > 0)
            .map(|g| {
                let network = g.first.source_ip.clone().unwrap_or_default();
                AuditEvent {
                    at: g.last_at,
                    detail: Some(format!(
                        "repeated={} since={started} (failures after the first from {network}, counted, not itemized)",
                        g.repeated
                    )),
                    ..g.first
                }
            })
            .collect();
        events.extend(
            over.overflow_by_key
                .into_values()
                .filter(|g| g.repeated > 0)
                .map(|g| AuditEvent {
                    at: g.last_at,
                    detail: Some(format!(
                        "repeated={} since={started} (failures after the first against this key, from networks past the interval's bound of {MAX_GROUPS} groups, counted, not itemized)",
                        g.repeated
                    )),
                    ..g.first
                }),
        );
        events.sort_by_key(|e| e.at);
        if let Some(at) = over.overflow_at {
            let mut summary = AuditEvent::success(at, "server", actions::TOKEN_EXCHANGE);
            summary.outcome = "failure";
            summary.error_code = Some("invalid_client");
            summary.detail = Some(format!(
                "repeated={} since={started} (failures from client ids and networks past the interval's bound of {MAX_GROUPS} groups, counted, not itemized)",
                over.overflow
            ));
            events.push(summary);
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(at: Timestamp, client: &str, ip: &str) -> AuditEvent {
        AuditEvent {
            source_ip: Some(ip.to_owned()),
            request_id: Some("req".into()),
            outcome: "failure",
            error_code: Some("invalid_client"),
            ..AuditEvent::success(at, &format!("key:{client}"), actions::TOKEN_EXCHANGE)
        }
    }

    #[test]
    fn networks() {
        assert_eq!(network_of(Some("203.0.113.9")), "203.0.113.0/24");
        assert_eq!(network_of(Some("::ffff:203.0.113.9")), "203.0.113.0/24");
        assert_eq!(network_of(Some("2001:db8:1:2::1")), "2001:db8:1::/48");
        assert_eq!(network_of(Some("garbage")), "unknown");
        assert_eq!(network_of(None), "unknown");
    }

    #[test]
    fn one_event_per_group_and_interval_then_its_count() {
        let tally = FailureTally::default();
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let mut written = 0;
        for i in 0..10_000u32 {
            let at = t0 + SignedDuration::from_millis(i64::from(i));
            // Rotating over 10 /24s, and 2 client ids.
            let ip = format!("198.51.{}.{}", i % 10, i % 200);
            let client = if i % 2 == 0 { "key_a" } else { "key_b" };
            let (noted, due) = tally.note(&failure(at, client, &ip));
            assert!(due.is_empty());
            written += usize::from(noted == Noted::First);
        }
        assert_eq!(
            written, 10,
            "one per client id and network (10 /24s × 2 ids, halves)"
        );
        let counts = tally.take(t0 + INTERVAL, false);
        assert_eq!(counts.len(), 10);
        let total: u64 = counts
            .iter()
            .map(|e| {
                let d = e.detail.as_deref().unwrap();
                d["repeated=".len()..d.find(' ').unwrap()]
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(total + 10, 10_000, "every failure is written or counted");
        assert!(counts.iter().all(|e| e.request_id.is_none()));
        assert!(tally.take(t0 + INTERVAL * 2, true).is_empty(), "taken once");
    }

    #[test]
    fn past_the_bound_groups_are_one_count() {
        let tally = FailureTally::default();
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let mut first = 0;
        for i in 0..(MAX_GROUPS as u32 + 500) {
            let ip = std::net::Ipv4Addr::from(0x0A00_0000 + (i << 8)).to_string();
            let (noted, _) = tally.note(&failure(t0, "key_a", &ip));
            first += usize::from(noted == Noted::First);
        }
        assert_eq!(first, MAX_GROUPS);
        // The next failure, an interval later, ends it: its counts come back to be written.
        let (noted, due) = tally.note(&failure(t0 + INTERVAL, "key_a", "10.0.0.1"));
        assert_eq!(noted, Noted::First);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].actor, "server");
        assert!(
            due[0]
                .detail
                .as_deref()
                .unwrap()
                .starts_with("repeated=500 ")
        );
    }

    #[test]
    fn a_flood_of_junk_ids_never_hides_what_was_tried_against_a_real_key() {
        let tally = FailureTally::default();
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        // The interval's groups are filled with client ids that name no key.
        for i in 0..(MAX_GROUPS as u32) {
            let ip = std::net::Ipv4Addr::from(0x0A00_0000 + (i << 8)).to_string();
            tally.note(&failure(t0, &format!("key_junk{i}"), &ip));
        }
        // Then a real key: guessed at three times, and its right secret refused once.
        let against = |code: &'static str| AuditEvent {
            key_id: Some("key_victim".into()),
            error_code: Some(code),
            ..failure(t0, "key_victim", "192.0.2.7")
        };
        let noted: Vec<Noted> = [
            "invalid_client",
            "invalid_client",
            "invalid_client",
            "key_disabled",
        ]
        .map(|code| tally.note(&against(code)).0)
        .to_vec();
        // The first of each answer is written at once, the rest counted under the key.
        assert_eq!(
            noted,
            [Noted::First, Noted::Counted, Noted::Counted, Noted::First]
        );
        let due = tally.take(t0 + INTERVAL, false);
        let counted: Vec<&AuditEvent> = due
            .iter()
            .filter(|e| e.key_id.as_deref() == Some("key_victim"))
            .collect();
        assert_eq!(counted.len(), 1, "{due:?}");
        assert_eq!(counted[0].error_code, Some("invalid_client"));
        assert!(
            counted[0]
                .detail
                .as_deref()
                .unwrap()
                .starts_with("repeated=2 ")
        );
        assert!(
            due.iter().all(|e| e.actor != "server"),
            "no junk overflowed"
        );
    }
}
