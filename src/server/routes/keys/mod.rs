//! `/v1/keys`: create, list, show, edit, the lifecycle (disable, enable, rotate, revoke), and
//! credits.

pub(super) mod create;
pub(super) mod credits;
pub(super) mod edit;
pub(super) mod lifecycle;
pub(super) mod rules;
pub(super) mod usage;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;

use crate::api::{Key, KeyStatus, ListKeys, PERM_KEYS_READ, Page};
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Params;
use crate::server::store::{AuditEvent, KeyFilter, KeyRecord, KeySort, SortValue};
use crate::server::{AppState, SharedState};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    params(crate::api::ListKeys),
    responses(
        (status = 200, description = "One page of the keys the caller may see (needs `keys:read`)", body = Page<crate::api::Key>),
        (status = 422, description = "`invalid_limit`, `invalid_sort`, `invalid_filter` or `invalid_cursor`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Principal,
    Params(query): Params<ListKeys>,
) -> ApiResult<Json<Page<Key>>> {
    caller.require(PERM_KEYS_READ)?;
    let now = state.now();
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let sort = match query.sort.as_deref() {
        None | Some("created_at") => KeySort::CreatedAsc,
        Some("-created_at") => KeySort::CreatedDesc,
        Some("expires_at") => KeySort::ExpiresAsc,
        Some("name") => KeySort::NameAsc,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_sort",
                "sort is not one of: created_at, -created_at, expires_at, name",
            ));
        }
    };
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c, sort))
        .transpose()?;
    if query.hide_revoked && query.status == Some(KeyStatus::Revoked) {
        return Err(ApiError::invalid(
            "invalid_filter",
            "hide_revoked and status=revoked cannot both be given",
        ));
    }
    let filter = KeyFilter {
        q: query.q.filter(|q| !q.is_empty()),
        name: query.name,
        status: query.status,
        hide_revoked: query.hide_revoked,
        key_type: query.key_type,
        environment: query.environment,
        permission: query.permission,
        owner: query.owner,
        within_environments: caller.environments.clone(),
        expires_before: relative(
            "expiring_within_seconds",
            query.expires_before,
            query.expiring_within_seconds,
            |secs| now.checked_add(secs),
        )?,
        unused_since: relative(
            "unused_for_seconds",
            query.unused_since,
            query.unused_for_seconds,
            |secs| now.checked_sub(secs),
        )?,
        sort,
        after,
        limit: limit + 1,
        now,
    };
    let records = state.store.list_keys(&filter).await?;
    // A page ends at `limit` keys or at the byte bound, whichever comes first (always at least
    // one key, so paging moves on); the cursor then points after its last key.
    let mut items = Vec::with_capacity(records.len().min(limit as usize));
    let mut bytes = 0;
    for record in records.iter().take(limit as usize) {
        let key = record.to_api(now);
        bytes += serde_json::to_vec(&key).map_or(0, |v| v.len() + 1);
        if !items.is_empty() && bytes > state.page_bytes {
            break;
        }
        items.push(key);
    }
    let next_cursor =
        (records.len() > items.len()).then(|| encode_cursor(&records[items.len() - 1], sort));
    Ok(Json(Page { items, next_cursor }))
}

/// A time filter given as a time, or as seconds from the server's own now (so the client's clock
/// does not matter).
fn relative(
    field: &str,
    at: Option<Timestamp>,
    seconds: Option<u64>,
    from_now: impl Fn(jiff::SignedDuration) -> Result<Timestamp, jiff::Error>,
) -> ApiResult<Option<Timestamp>> {
    match (at, seconds) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "invalid_filter",
            format!("{field} and the time it stands for cannot both be given"),
        )),
        (Some(at), None) => Ok(Some(at)),
        (None, Some(secs)) => Ok(Some(
            i64::try_from(secs)
                .ok()
                .and_then(|s| from_now(jiff::SignedDuration::from_secs(s)).ok())
                .ok_or_else(|| {
                    ApiError::invalid("invalid_filter", format!("{field} is out of range"))
                })?,
        )),
        (None, None) => Ok(None),
    }
}

/// A cursor names the sort it belongs to, so it cannot be replayed against another order.
fn encode_cursor(last: &KeyRecord, sort: KeySort) -> String {
    let (tag, value) = match sort {
        KeySort::CreatedAsc => ("c", last.created_at.as_millisecond().to_string()),
        KeySort::CreatedDesc => ("C", last.created_at.as_millisecond().to_string()),
        KeySort::ExpiresAsc => ("e", last.expires_at.as_millisecond().to_string()),
        KeySort::NameAsc => ("n", last.name.clone()),
    };
    URL_SAFE_NO_PAD.encode(format!("{tag}\n{}\n{value}", last.id))
}

fn decode_cursor(cursor: &str, sort: KeySort) -> ApiResult<(SortValue, String)> {
    let bad = || {
        ApiError::invalid(
            "invalid_cursor",
            "the cursor is not one this server handed out for this sort; start again without it",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let mut parts = text.splitn(3, '\n');
    let (tag, id, value) = (
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
    );
    let time = || {
        value
            .parse::<i64>()
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map(SortValue::Time)
            .ok_or_else(bad)
    };
    let value = match (sort, tag) {
        (KeySort::CreatedAsc, "c") | (KeySort::CreatedDesc, "C") | (KeySort::ExpiresAsc, "e") => {
            time()?
        }
        (KeySort::NameAsc, "n") => SortValue::Text(value.to_owned()),
        _ => return Err(bad()),
    };
    Ok((value, id.to_owned()))
}

/// The key, if it exists and the caller may see it; otherwise the same 404 either way.
pub(super) async fn visible_key(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> ApiResult<KeyRecord> {
    match state.store.get_key(id).await? {
        Some(k) if caller.sees(&k.environments) => Ok(k),
        _ => Err(ApiError::NotFound("key")),
    }
}

#[utoipa::path(get, path = "/v1/keys/{id}", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    responses((status = 200, description = "The key (needs `keys:read`)", body = crate::api::Key)))]
pub async fn show(
    State(state): State<SharedState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_READ)?;
    let record = visible_key(&state, &caller, &id).await?;
    Ok(key_response(&record, state.now()))
}

/// A key as JSON with its `ETag` (the version) and `Location`.
fn key_response(record: &KeyRecord, now: Timestamp) -> Response {
    let mut response = Json(record.to_api(now)).into_response();
    set_key_headers(&mut response, record);
    response
}

fn set_key_headers(response: &mut Response, record: &KeyRecord) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", record.version)) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/keys/{}", record.id)) {
        headers.insert(header::LOCATION, v);
    }
}

/// The answer to any change of a revoked key.
fn revoked() -> ApiError {
    ApiError::Conflict {
        code: "key_revoked",
        detail: "the key is revoked, which is final".to_owned(),
    }
}

/// The audit event of a change to `record` by `caller`.
fn audit(
    caller: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    record: &KeyRecord,
    now: Timestamp,
) -> AuditEvent {
    AuditEvent {
        actor_name: caller.key_name.clone(),
        key_id: Some(record.id.clone()),
        key_name: Some(record.name.clone()),
        environments: record.environments.iter().cloned().collect(),
        source_ip: meta.source_ip.clone(),
        request_id: meta.request_id.clone(),
        ..AuditEvent::success(now, &caller.actor, action)
    }
}

/// The audit event of a create or edit of `key` refused with `refused`. It names no key: the
/// key was not made, or the refusal came from another key the caller may not see; an edit sets
/// the id of the key it edits.
fn refusal(
    caller: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    key: &KeyRecord,
    refused: &ApiError,
    now: Timestamp,
) -> AuditEvent {
    AuditEvent {
        key_id: None,
        key_name: None,
        outcome: "failure",
        error_code: Some(refused.code()),
        ..audit(caller, meta, action, key, now)
    }
}
