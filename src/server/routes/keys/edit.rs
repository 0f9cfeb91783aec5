//! `PATCH /v1/keys/{id}`: edit name, description, owner, meta, permissions, environments,
//! allowed IPs and expiry. The write carries the version it was based on in `If-Match`; a stale one gets 412.

use crate::api::actions;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;

use super::{audit, key_response, refusal, revoked, rules, visible_key};
use crate::api::{EditKey, KeyStatus, KeyType, PERM_KEYS_WRITE};
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Body;
use crate::server::store::{Conflict, KeyRecord, StoreError};

#[utoipa::path(patch, path = "/v1/keys/{id}", tag = "keys", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The key's id (`key_…`)"),
        ("If-Match" = String, Header, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "The ETag (version) of the key as it was read"),
    ),
    request_body = crate::api::EditKey,
    responses(
        (status = 200, description = "The key as changed (needs `keys:write`)", body = crate::api::Key),
        (status = 409, description = "`name_taken`, `key_revoked`, or `last_super_admin` (the edit would take `admin` from the last active super-admin key)", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: the key changed since it was read", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`if_match_required`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn edit(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(req): Body<EditKey>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let based_on = if_match(&headers)?;
    let current = visible_key(&state, &caller, &id).await?;
    rules::within_caller(&caller, &current)?;
    if current.status == KeyStatus::Revoked {
        return Err(revoked());
    }
    if current.version != based_on {
        return Err(stale(based_on, current.version));
    }
    match req.key_type {
        Some(wanted) if wanted != current.key_type => {
            return Err(match wanted {
                KeyType::Private => ApiError::Forbidden(
                    "a key's type is a restriction and is never loosened: a public key cannot become private; create a private key instead".to_owned(),
                ),
                KeyType::Public => ApiError::invalid(
                    "type_unchangeable",
                    "a key's type cannot change; create a public key instead",
                ),
            });
        }
        _ => {}
    }
    if req.is_empty() {
        return Err(ApiError::invalid(
            "nothing_to_change",
            "the edit names no field to change",
        ));
    }
    let now = state.now();
    let mut next = current.clone();
    // Every value is checked before any answer, so one refusal does not hide the next.
    let mut problems = rules::Problems::default();
    if let Some(name) = req.name {
        problems.check(rules::name(&name));
        next.name = name;
    }
    if let Some(description) = req.description {
        problems.check(rules::description(&description));
        next.description = description;
    }
    if let Some(owner) = req.owner {
        if let Some(owner) = &owner {
            problems.check(rules::owner(owner));
        }
        next.owner = owner;
    }
    if let Some(meta) = req.meta {
        if let Some(meta) = &meta {
            problems.check(rules::meta(meta));
        }
        next.meta = meta;
    }
    if let Some(limits) = req.ratelimits {
        problems.check(rules::ratelimits(&limits));
        next.ratelimits = limits;
    }
    if let Some(envs) = req.environments {
        if envs.is_empty() {
            problems.check::<()>(Err(ApiError::invalid(
                "environment_required",
                "a key belongs to at least one environment",
            )));
        }
        next.environments = envs;
    }
    if let Some(perms) = req.permissions {
        next.permissions = perms;
    }
    if let Some(ips) = req.allowed_ips {
        if let Some(ips) = problems.check(rules::allowed_ips(&ips)) {
            next.allowed_ips = ips;
        }
    }
    if req.expires_at.is_some() || req.expires_in_seconds.is_some() {
        if let Some(at) = problems.check(rules::expiry(
            &state,
            &caller,
            now,
            req.expires_at,
            req.expires_in_seconds,
        )) {
            next.expires_at = at;
        }
    }
    // The edited key as a whole must be within what the caller holds, not only the changes.
    if !next.environments.is_empty() {
        if let Some(envs) =
            problems.check(rules::environments(&state, &caller, next.environments.clone()).await)
        {
            next.environments = envs;
        }
    }
    problems.check(rules::permissions(
        &state,
        &caller,
        next.key_type,
        &next.permissions,
        &current.permissions,
    ));
    problems.check(rules::restrictions(
        &caller,
        next.expires_at,
        &next.allowed_ips,
    ));
    if next.permissions != current.permissions || next.ratelimits != current.ratelimits {
        problems.check(rules::metering(
            &next.permissions,
            &next.ratelimits,
            next.credits.is_some(),
        ));
    }
    problems.finish()?;
    // Rate limits are a restriction: no key changes its own (docs/keys.md).
    if caller.key_id.as_deref() == Some(current.id.as_str())
        && !caller.is_admin()
        && next.ratelimits != current.ratelimits
    {
        return Err(ApiError::Forbidden(
            "your key cannot change its own rate limits: they are a restriction, and only a super admin changes a key's own".to_owned(),
        ));
    }
    // Asked once the edit is otherwise allowed: a restriction refused is the answer first.
    if caller.key_id.as_deref() == Some(current.id.as_str()) {
        rules::keeps_the_caller_in(meta.source_ip.as_deref(), &next.allowed_ips)?;
    }
    next.version += 1;
    next.updated_at = now;

    let mut event = audit(&caller, &meta, actions::KEY_EDIT, &next, now);
    event.changed = changed_fields(&current, &next);
    // Seen by whoever could see the key before or after: a key moved out of an environment
    // leaves its story there.
    for env in &current.environments {
        if !next.environments.contains(env) {
            event.environments.push(env.clone());
        }
    }
    match state.store.update_key(&next, based_on, None, &event).await {
        Ok(true) => Ok(key_response(&next, now)),
        Ok(false) => {
            let latest = state.store.get_key(&id).await?;
            Err(stale(based_on, latest.map_or(based_on + 1, |k| k.version)))
        }
        Err(StoreError::Conflict(Conflict::KeyName)) => {
            let refused = rules::name_taken(&next.name);
            let mut event = refusal(&caller, &meta, actions::KEY_EDIT, &next, &refused, now);
            event.key_id = Some(next.id.clone());
            event.key_name = Some(current.name.clone());
            state.audit_queue.record(state.store.clone(), event).await?;
            Err(refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// The names of the fields an edit changed, for its audit event (never their values).
fn changed_fields(before: &KeyRecord, after: &KeyRecord) -> Vec<&'static str> {
    [
        ("name", before.name != after.name),
        ("description", before.description != after.description),
        ("owner", before.owner != after.owner),
        ("meta", before.meta != after.meta),
        ("ratelimits", before.ratelimits != after.ratelimits),
        ("environments", before.environments != after.environments),
        ("permissions", before.permissions != after.permissions),
        ("allowed_ips", before.allowed_ips != after.allowed_ips),
        ("expires_at", before.expires_at != after.expires_at),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// `If-Match: "3"` (the ETag of a read); a bare or weak `3` is accepted too.
fn if_match(headers: &HeaderMap) -> ApiResult<i64> {
    optional_if_match(headers)?.ok_or(ApiError::PreconditionRequired)
}

/// `If-Match`, where it may be left out (the lifecycle actions): the version the caller read,
/// if it sent one.
pub(super) fn optional_if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest("If-Match must be the ETag of the key as read, like \"3\"".to_owned())
    };
    let value = value.to_str().map_err(|_| bad())?;
    let digits = value.trim().trim_start_matches("W/").trim_matches('"');
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse::<i64>().ok())
        .flatten()
        .map(Some)
        .ok_or_else(bad)
}

pub(super) fn stale(based_on: i64, now_at: i64) -> ApiError {
    ApiError::PreconditionFailed(format!(
        "the key changed since version {based_on} was read; it is now at version {now_at}"
    ))
}
