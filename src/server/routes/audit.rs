//! `GET /v1/audit` (the audit log, filtered and paged) and `GET /v1/audit/verify` (walks the
//! tamper-evident chain), `GET /v1/audit/checkpoint` (its head). Nothing in the API changes or deletes an event.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::api::{
    AuditCheckpoint, AuditEvent, AuditProgress, AuditVerification, ListAudit, PERM_AUDIT_READ,
    Page, VerifyAudit, actions,
};
use crate::server::SharedState;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Params;
use crate::server::store::{AuditFilter, AuditRow, Checkpoint, Verification};

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
    // Events queued by failed authentications are listed as soon as they happened.
    crate::server::flush_pending(&state).await;
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
        actions: action_list("action", query.action.as_deref())?,
        exclude_actions: action_list("exclude_action", query.exclude_action.as_deref())?,
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

/// The actions a comma-separated filter names; one that is not an action is refused, with the
/// list of those that are.
fn action_list(parameter: &str, list: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    if let Some(unknown) = actions::unknown(list) {
        return Err(invalid_filter(&format!(
            "{parameter} names {unknown:?}, which is not an action; the actions are: {}",
            actions::ALL.join(", ")
        )));
    }
    // Each action once: no list longer than the actions there are.
    let mut named: Vec<String> = Vec::new();
    for action in list.split(',').map(str::trim) {
        if !named.iter().any(|a| a == action) {
            named.push(action.to_owned());
        }
    }
    Ok(named)
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
        key_name: row.key_name,
        environments: split(&row.environments),
        source_ip: row.source_ip,
        request_id: row.request_id,
        outcome: row.outcome,
        error_code: row.error_code,
        changed: split(&row.changed),
        detail: row.detail,
    }
}

/// Walks every event from the oldest, from one consistent view of the log, however long it is:
/// the answer is streamed (see [`VerifyAudit`]), so no request timeout cuts it short. Needs
/// `audit:read` and a caller that reaches every environment (the chain runs through all of
/// them).
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    params(crate::api::VerifyAudit),
    responses(
        (status = 200, description = "Whether the chain of events is intact, and if not the first event that breaks it (needs `audit:read` over every environment); with `progress=true`, JSON Lines: progress, then the result", content(
            (crate::api::AuditVerification = "application/json"),
            (String = "application/jsonl"),
        )),
        (status = 409, description = "`verify_in_progress`: another audit verify is running on this server", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_checkpoint`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(state): State<SharedState>,
    caller: Principal,
    Params(query): Params<VerifyAudit>,
) -> ApiResult<Response> {
    require_whole_log(&caller)?;
    let checkpoint = query
        .checkpoint
        .as_deref()
        .map(|text| {
            text.parse::<Checkpoint>()
                .map_err(|why| ApiError::invalid("invalid_checkpoint", why))
        })
        .transpose()?;
    // One walk at a time on a server: each holds a connection and a long read snapshot.
    let Ok(running) = state.audit_verify.clone().try_acquire_owned() else {
        return Err(ApiError::Conflict {
            code: "verify_in_progress",
            detail:
                "another audit verify is running on this server; try again when it has finished"
                    .to_owned(),
        });
    };
    // Events queued by failed authentications are part of the log being verified.
    crate::server::flush_pending(&state).await;
    let progress = query.progress.unwrap_or(false);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let last = std::sync::Mutex::new(std::time::Instant::now());
        let tell = |checked: u64| {
            // Something after every batch: a client that hung up is noticed when the write
            // fails, and no proxy's idle timer runs out. A progress line at most four times
            // a second (a terminal rewrites it in place), a blank line otherwise.
            let mut at = last.lock().unwrap_or_else(|e| e.into_inner());
            let line = if progress && at.elapsed() >= std::time::Duration::from_millis(250) {
                *at = std::time::Instant::now();
                json_line(&AuditProgress { checked })
            } else {
                Bytes::from_static(b"\n")
            };
            let _ = tx.try_send(line);
            // The client hung up: the walk stops.
            !tx.is_closed()
        };
        let found = state.store.verify_audit(checkpoint.as_ref(), &tell).await;
        // Free before the answer goes out: a client that asks again at once is not refused.
        drop(running);
        let end = match found {
            Ok(found) => json_line(&to_answer(found)),
            Err(e) => {
                tracing::warn!(error = %e, "audit verify could not read the log");
                json_line(&AuditVerification {
                    intact: false,
                    checked: 0,
                    first_broken: None,
                    detail: Some("the audit log could not be read to the end: the database is unavailable; try again".to_owned()),
                })
            }
        };
        let _ = tx.send(end).await;
    });
    let content_type = if progress {
        "application/jsonl"
    } else {
        "application/json"
    };
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        axum::body::Body::from_stream(Lines(rx)),
    )
        .into_response())
}

/// The audit log's newest event, as a checkpoint to keep elsewhere.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses(
        (status = 200, description = "The newest event's id and link (needs `audit:read` over every environment)", body = crate::api::AuditCheckpoint),
        (status = 404, description = "The log holds no event yet", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint(
    State(state): State<SharedState>,
    caller: Principal,
) -> ApiResult<Json<AuditCheckpoint>> {
    require_whole_log(&caller)?;
    crate::server::flush_pending(&state).await;
    let head = state
        .store
        .audit_head()
        .await?
        .ok_or(ApiError::NotFound("audit event"))?;
    let checkpoint = head.to_string();
    Ok(Json(AuditCheckpoint {
        id: head.id,
        link: checkpoint
            .split_once(':')
            .map(|(_, l)| l.to_owned())
            .unwrap_or_default(),
        checkpoint,
    }))
}

fn require_whole_log(caller: &Principal) -> ApiResult<()> {
    caller.require(PERM_AUDIT_READ)?;
    if caller.environments.is_some() {
        return Err(ApiError::Forbidden(
            "the audit chain runs through every environment: this needs a key that reaches all of them".to_owned(),
        ));
    }
    Ok(())
}

fn to_answer(found: Verification) -> AuditVerification {
    let (first_broken, detail) = match found.broken {
        None => (None, None),
        Some((0, why)) => (None, Some(why)),
        Some((id, why)) => (Some(id), Some(why)),
    };
    AuditVerification {
        intact: detail.is_none(),
        checked: found.checked,
        first_broken,
        detail,
    }
}

fn json_line<T: serde::Serialize>(value: &T) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// The lines a verify sends, as a body stream.
struct Lines(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|line| line.map(Ok))
    }
}
