//! `/v1/keys`: create, list, show, revoke.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;

use super::{Body, no_store};
use crate::api::{
    CreateKey, Key, KeyStatus, KeyType, KeyWithSecret, ListKeys, PERM_KEYS_READ, PERM_KEYS_REVOKE,
    PERM_KEYS_WRITE, Page,
};
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::mint::{NewKey, mint};
use crate::server::store::{AuditEvent, KeyFilter, KeyRecord, StoreError};
use crate::server::{AppState, SharedState, validate};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

pub async fn create(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Body(req): Body<CreateKey>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let now = state.now();
    validate::key_name(&req.name).map_err(|d| ApiError::invalid("invalid_name", d))?;
    let key_type = req.key_type.unwrap_or(KeyType::Private);
    let environments = choose_environments(&state, &caller, req.environments).await?;
    check_permissions(&state, &caller, key_type, &req.permissions)?;
    let allowed_ips = req
        .allowed_ips
        .iter()
        .map(|e| validate::cidr(e).map(|n| n.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|d| ApiError::invalid("invalid_ip", d))?;
    let expires_at = check_expiry(&state, now, req.expires_at)?;

    let (record, secret) = mint(
        NewKey {
            name: req.name,
            description: req.description,
            key_type,
            environments,
            permissions: req.permissions,
            allowed_ips,
            expires_at,
            created_by: caller.actor.clone(),
        },
        now,
        &state.pepper,
    );
    let audit = AuditEvent {
        at: now,
        actor: caller.actor.clone(),
        action: "key.create",
        key_id: Some(record.id.clone()),
        environment: record.environments.iter().next().cloned(),
        source_ip: meta.source_ip,
        request_id: meta.request_id,
        outcome: "success",
    };
    match state.store.insert_key(&record, &audit).await {
        Ok(()) => {}
        Err(StoreError::Conflict("name")) => {
            return Err(ApiError::Conflict {
                code: "name_taken",
                detail: format!(
                    "a key named {:?} already exists; names are unique among keys that are not revoked",
                    record.name
                ),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let key = record.to_api(now);
    let mut response = no_store(StatusCode::CREATED, &KeyWithSecret { key, secret });
    set_key_headers(&mut response, &record);
    Ok(response)
}

/// The requested environments, or the caller's only one when none were named.
async fn choose_environments(
    state: &AppState,
    caller: &Principal,
    requested: BTreeSet<String>,
) -> ApiResult<BTreeSet<String>> {
    let known: BTreeSet<String> = state
        .store
        .list_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    if requested.is_empty() {
        let reachable: Vec<&String> = known.iter().filter(|e| caller.reaches(e)).collect();
        return match reachable.as_slice() {
            [only] => Ok(BTreeSet::from([(*only).clone()])),
            _ => Err(ApiError::invalid(
                "environment_required",
                format!(
                    "name at least one environment; the caller reaches: {}",
                    join_or_none(reachable.iter().map(|s| s.as_str()))
                ),
            )),
        };
    }
    for env in &requested {
        if !known.contains(env) {
            return Err(ApiError::invalid(
                "unknown_environment",
                format!(
                    "environment {env:?} does not exist; known environments: {}",
                    join_or_none(
                        known
                            .iter()
                            .filter(|e| caller.reaches(e))
                            .map(String::as_str)
                    )
                ),
            ));
        }
        if !caller.reaches(env) {
            return Err(ApiError::Forbidden(format!(
                "the caller cannot grant environment {env:?}, which it does not reach"
            )));
        }
    }
    Ok(requested)
}

fn check_permissions(
    state: &AppState,
    caller: &Principal,
    key_type: KeyType,
    permissions: &BTreeSet<String>,
) -> ApiResult<()> {
    for name in permissions {
        let Some(p) = state.catalog.get(name) else {
            return Err(ApiError::invalid(
                "unknown_permission",
                format!(
                    "permission {name:?} is not in the catalog; `keyward permissions list` shows the catalog"
                ),
            ));
        };
        if key_type == KeyType::Public && (p.builtin || !p.public_safe) {
            return Err(ApiError::invalid(
                "permission_not_public_safe",
                format!(
                    "a public key may hold only public-safe permissions, and {name:?} is not one"
                ),
            ));
        }
        if !caller.holds(name) {
            return Err(ApiError::Forbidden(format!(
                "the caller cannot grant {name:?}, which it does not hold"
            )));
        }
    }
    Ok(())
}

fn check_expiry(
    state: &AppState,
    now: Timestamp,
    requested: Option<Timestamp>,
) -> ApiResult<Timestamp> {
    let latest = now + state.max_key_lifetime;
    match requested {
        None => Ok(latest),
        Some(at) if at <= now => Err(ApiError::invalid(
            "invalid_expiry",
            format!("expires_at {at} is not in the future"),
        )),
        Some(at) if at > latest => Err(ApiError::invalid(
            "invalid_expiry",
            format!(
                "expires_at {at} is too far ahead: a key may live at most {} days, until {latest}",
                state.max_key_lifetime.as_hours() / 24
            ),
        )),
        Some(at) => Ok(crate::server::millis(at)),
    }
}

fn join_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

pub async fn list(
    State(state): State<SharedState>,
    caller: Principal,
    Query(query): Query<ListKeys>,
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
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = KeyFilter {
        q: query.q.filter(|q| !q.is_empty()),
        name: query.name,
        status: query.status,
        key_type: query.key_type,
        environment: query.environment,
        permission: query.permission,
        within_environments: caller.environments.clone(),
        after,
        limit: limit + 1,
        now,
    };
    let mut records = state.store.list_keys(&filter).await?;
    let next_cursor = if records.len() > limit as usize {
        records.truncate(limit as usize);
        records.last().map(encode_cursor)
    } else {
        None
    };
    Ok(Json(Page {
        items: records.iter().map(|r| r.to_api(now)).collect(),
        next_cursor,
    }))
}

fn encode_cursor(last: &KeyRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", last.created_at.as_millisecond(), last.id))
}

fn decode_cursor(cursor: &str) -> ApiResult<(Timestamp, String)> {
    let bad = || {
        ApiError::invalid(
            "invalid_cursor",
            "the cursor is not one this server handed out; start again without it",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    let at = at
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(bad)?;
    Ok((at, id.to_owned()))
}

/// The key, if it exists and the caller may see it; otherwise the same 404 either way.
async fn visible_key(state: &AppState, caller: &Principal, id: &str) -> ApiResult<KeyRecord> {
    match state.store.get_key(id).await? {
        Some(k) if caller.sees(&k.environments) => Ok(k),
        _ => Err(ApiError::NotFound("key")),
    }
}

pub async fn show(
    State(state): State<SharedState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_READ)?;
    let record = visible_key(&state, &caller, &id).await?;
    let mut response = Json(record.to_api(state.now())).into_response();
    set_key_headers(&mut response, &record);
    Ok(response)
}

/// Final and idempotent: revoking a revoked key answers with the tombstone again.
pub async fn revoke(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_REVOKE)?;
    let record = visible_key(&state, &caller, &id).await?;
    let now = state.now();
    if record.status != KeyStatus::Revoked {
        let audit = AuditEvent {
            at: now,
            actor: caller.actor.clone(),
            action: "key.revoke",
            key_id: Some(record.id.clone()),
            environment: record.environments.iter().next().cloned(),
            source_ip: meta.source_ip,
            request_id: meta.request_id,
            outcome: "success",
        };
        state.store.revoke_key(&record.id, now, &audit).await?;
    }
    let record = visible_key(&state, &caller, &id).await?;
    let mut response = Json(record.to_api(now)).into_response();
    set_key_headers(&mut response, &record);
    Ok(response)
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
