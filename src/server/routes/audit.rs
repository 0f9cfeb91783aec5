//! `GET /v1/audit` (the audit log, filtered and paged) and `GET /v1/audit/verify` (walks the
//! tamper-evident chain). Nothing in the API changes or deletes an event.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;

use crate::api::{AuditEvent, AuditVerification, ListAudit, PERM_AUDIT_READ, Page};
use crate::server::SharedState;
use crate::server::audit::{self, AuditRow, ChainBreak, ChainKey};
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Params;
use crate::server::store::AuditFilter;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;
/// The most events one request reads for a caller scoped to some environments, whose events
/// may be few among many: past it, the page ends early and its cursor goes on from there.
const MAX_SCANNED: usize = 10_000;

#[utoipa::path(get, path = "/v1/audit", tag = "audit", security(("bearer" = [])),
    params(crate::api::ListAudit),
    responses(
        (status = 200, description = "One page of events, newest first (needs `audit:read`); a caller scoped to some environments sees only events of keys inside them, and a page may then end early with a cursor", body = Page<crate::api::AuditEvent>),
        (status = 422, description = "`invalid_limit`, `invalid_filter` or `invalid_cursor`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Principal,
    Params(query): Params<ListAudit>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    caller.require(PERM_AUDIT_READ)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let oldest_first = match query.order.as_deref() {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(_) => return Err(invalid_filter("order is not one of: newest, oldest")),
    };
    if let Some(outcome) = query.outcome.as_deref() {
        if !matches!(outcome, "success" | "failure") {
            return Err(invalid_filter("outcome is not one of: success, failure"));
        }
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut filter = AuditFilter {
        actor: query.actor,
        key_id: query.key,
        action: query.action,
        outcome: query.outcome,
        since: query.since,
        until: query.until,
        after,
        oldest_first,
        limit: limit + 1,
    };
    let within = caller.environments.as_ref();
    let mut items: Vec<AuditRow> = Vec::new();
    let mut scanned = 0;
    let mut last_scanned = None;
    loop {
        let batch = state.store.list_audit(&filter).await?;
        let exhausted = batch.len() < filter.limit as usize;
        for row in batch {
            scanned += 1;
            last_scanned = Some(row.id);
            if within.is_none_or(|w| visible(&row, w)) {
                items.push(row);
                if items.len() > limit as usize {
                    break;
                }
            }
        }
        if items.len() > limit as usize || exhausted || scanned >= MAX_SCANNED {
            break;
        }
        filter.after = last_scanned;
    }
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|row| row.id.to_string())
    } else if scanned >= MAX_SCANNED {
        last_scanned.map(|id| id.to_string())
    } else {
        None
    };
    Ok(Json(Page {
        items: items.into_iter().map(to_api).collect(),
        next_cursor,
    }))
}

/// A scoped caller sees an event only if it names environments, all of them its own: an event
/// about no key (a failed exchange by an unknown client) is the super admins' to read.
fn visible(row: &AuditRow, within: &BTreeSet<String>) -> bool {
    !row.environments.is_empty() && row.environments.split(',').all(|e| within.contains(e))
}

fn invalid_filter(detail: &str) -> ApiError {
    ApiError::invalid("invalid_filter", detail)
}

fn decode_cursor(cursor: &str) -> ApiResult<i64> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_cursor",
                "the cursor is not one this server gave out; pass next_cursor as it came",
            )
        })
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn to_api(row: AuditRow) -> AuditEvent {
    AuditEvent {
        id: row.id,
        at: jiff::Timestamp::from_millisecond(row.at).unwrap_or_default(),
        actor: row.actor,
        actor_name: row.actor_name,
        action: row.action,
        key_id: row.key_id,
        environments: split(&row.environments),
        source_ip: row.source_ip,
        request_id: row.request_id,
        outcome: row.outcome,
        error_code: row.error_code,
        changed: split(&row.changed),
    }
}

/// Walks every event from the oldest; needs `audit:read` and a caller that reaches every
/// environment (the chain runs through all of them).
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether the chain of events is intact, and if not the first event that breaks it (needs `audit:read` over every environment)", body = crate::api::AuditVerification),
    ))]
pub async fn verify(
    State(state): State<SharedState>,
    caller: Principal,
) -> ApiResult<Json<AuditVerification>> {
    caller.require(PERM_AUDIT_READ)?;
    if caller.environments.is_some() {
        return Err(ApiError::Forbidden(
            "verifying the audit log needs a key that reaches every environment".to_owned(),
        ));
    }
    let key = ChainKey::from_pepper(&state.pepper);
    let mut filter = AuditFilter {
        oldest_first: true,
        limit: 1_000,
        ..AuditFilter::default()
    };
    // After retention deleted the oldest events, the chain goes on from the last one deleted.
    let mut previous = state.store.audit_anchor().await?.map(|(_, link)| link);
    let mut checked = 0;
    loop {
        let batch = state.store.list_audit(&filter).await?;
        let Some(last) = batch.last() else { break };
        filter.after = Some(last.id);
        match audit::walk(&key, previous.take(), &batch) {
            Ok(link) => {
                previous = link;
                checked += batch.len() as u64;
            }
            Err(broken) => {
                let (id, detail) = match broken {
                    ChainBreak::Broken { id } => (
                        id,
                        format!(
                            "event {id} does not follow from the event before it: it was changed or inserted, or an event just before it was removed"
                        ),
                    ),
                    ChainBreak::Unlinked { id } => (
                        id,
                        format!("event {id} carries no link although events before it do"),
                    ),
                };
                let position = batch.iter().position(|e| e.id == id).unwrap_or(0);
                return Ok(Json(AuditVerification {
                    intact: false,
                    checked: checked + position as u64,
                    first_broken: Some(id),
                    detail: Some(detail),
                }));
            }
        }
    }
    Ok(Json(AuditVerification {
        intact: true,
        checked,
        first_broken: None,
        detail: None,
    }))
}
