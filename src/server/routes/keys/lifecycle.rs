//! `POST /v1/keys/{id}/disable | enable | rotate | revoke`.

use crate::api::actions;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};

use super::edit::{optional_if_match, stale};
use super::{audit, key_response, revoked, rules, set_key_headers, visible_key};
use crate::api::{
    EnableKey, KeyStatus, KeyWithSecret, MAX_ROTATION_GRACE_SECS, PERM_KEYS_REVOKE,
    PERM_KEYS_WRITE, RotateKey,
};
use crate::secret::Secret;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::{Body, no_store};
use crate::server::store::{KeyRecord, RevokedFingerprints};
use crate::server::{AppState, SharedState};

/// Applies `change` to the key and writes it, re-reading and retrying if another writer got
/// there first. `change` returns whether anything changed and, if so, a time by which the key's
/// access tokens must expire. With `based_on` (the request's optional `If-Match`), a key at
/// another version is left as it is: 412.
async fn apply(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: &str,
    based_on: Option<i64>,
    action: &'static str,
    mut change: impl FnMut(&mut KeyRecord, Timestamp) -> ApiResult<Option<Option<Timestamp>>>,
) -> ApiResult<KeyRecord> {
    for _ in 0..5 {
        let current = visible_key(state, caller, id).await?;
        rules::within_caller(caller, &current)?;
        if let Some(based_on) = based_on.filter(|v| *v != current.version) {
            return Err(stale(based_on, current.version));
        }
        if current.status == KeyStatus::Revoked {
            return Err(revoked());
        }
        let now = state.now();
        let mut next = current.clone();
        let Some(cap_tokens_at) = change(&mut next, now)? else {
            return Ok(current);
        };
        next.version += 1;
        next.updated_at = now;
        let event = audit(caller, meta, action, &next, now);
        if state
            .store
            .update_key(&next, current.version, cap_tokens_at, &event)
            .await?
        {
            return Ok(next);
        }
    }
    Err(busy())
}

/// Reversible; the key and every token it issued stop at once.
#[utoipa::path(post, path = "/v1/keys/{id}/disable", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)"), 
        ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "Optional: the ETag (version) of the key as it was read; the action is then taken only on that version")
    ),
    responses(
        (status = 200, description = "Disabled (needs `keys:write`); disabling a disabled key changes nothing", body = crate::api::Key),
        (status = 409, description = "`key_revoked`, `busy`, or `last_super_admin` (the last active super-admin key)", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: `If-Match` was sent and the key changed since it was read", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let record = apply(
        &state,
        &caller,
        &meta,
        &id,
        optional_if_match(&headers)?,
        actions::KEY_DISABLE,
        |k, now| {
            if k.status == KeyStatus::Disabled {
                return Ok(None);
            }
            k.status = KeyStatus::Disabled;
            Ok(Some(Some(now)))
        },
    )
    .await?;
    Ok(key_response(&record, state.now()))
}

/// Brings back a disabled or expired key, optionally with a new expiry.
#[utoipa::path(post, path = "/v1/keys/{id}/enable", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)"), 
        ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "Optional: the ETag (version) of the key as it was read; the action is then taken only on that version")
    ),
    request_body = crate::api::EnableKey,
    responses(
        (status = 200, description = "Enabled (needs `keys:write`)", body = crate::api::Key),
        (status = 409, description = "`key_revoked` or `busy`", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: `If-Match` was sent and the key changed since it was read", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn enable(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(req): Body<EnableKey>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let record = apply(
        &state,
        &caller,
        &meta,
        &id,
        optional_if_match(&headers)?,
        actions::KEY_ENABLE,
        |k, now| {
            let expired = k.expires_at <= now;
            let new_expiry = req.expires_at.is_some() || req.expires_in_seconds.is_some();
            if k.status == KeyStatus::Active && !expired && !new_expiry {
                return Ok(None);
            }
            k.status = KeyStatus::Active;
            if new_expiry || expired {
                k.expires_at =
                    rules::expiry(&state, &caller, now, req.expires_at, req.expires_in_seconds)?;
            }
            rules::restrictions(&caller, k.expires_at, &k.allowed_ips)?;
            Ok(Some(None))
        },
    )
    .await?;
    Ok(key_response(&record, state.now()))
}

/// A new secret for the same key; the old one works for the grace period, then dies with the
/// tokens it issued.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    request_body = crate::api::RotateKey,
    responses(
        (status = 200, description = "A new secret, shown this once (needs `keys:write`)", body = crate::api::KeyWithSecret),
        (status = 409, description = "`key_revoked` or `busy`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    Body(req): Body<RotateKey>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    if req.grace_seconds > MAX_ROTATION_GRACE_SECS {
        return Err(ApiError::invalid(
            "invalid_grace",
            format!(
                "a grace period is at most 7 days, not {}",
                spoken(req.grace_seconds)
            ),
        ));
    }
    let grace = SignedDuration::from_secs(req.grace_seconds as i64);
    let mut secret = None;
    let record = apply(
        &state,
        &caller,
        &meta,
        &id,
        None,
        actions::KEY_ROTATE,
        |k, now| {
            if req.expires_at.is_some() || req.expires_in_seconds.is_some() {
                k.expires_at =
                    rules::expiry(&state, &caller, now, req.expires_at, req.expires_in_seconds)?;
            }
            // Whoever rotates a key holds its new secret: only a key within the caller's bounds.
            rules::restrictions(&caller, k.expires_at, &k.allowed_ips)?;
            let fresh = Secret::generate(k.key_type.secret_prefix());
            let old = k.secret_digest.take();
            if grace.is_zero() {
                k.previous_digest = None;
                k.previous_expires_at = None;
            } else {
                k.previous_digest = old;
                k.previous_expires_at = Some(now + grace);
            }
            k.secret_digest = Some(state.pepper.digest(fresh.expose()));
            k.hint = fresh.hint();
            secret = Some(fresh);
            Ok(Some(Some(now + grace)))
        },
    )
    .await?;
    let mut response = no_store(
        StatusCode::OK,
        &KeyWithSecret {
            key: record.to_api(state.now()),
            secret,
        },
    );
    set_key_headers(&mut response, &record);
    Ok(response)
}

/// Final and idempotent: revoking a revoked key answers with the tombstone again, and records
/// nothing. The fingerprints are computed from the digests of the version the write is
/// conditioned on, so a rotate that lands first makes this revoke read the key again, and the
/// new secret answers REVOKED too.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)"), 
        ("If-Match" = Option<String>, Header, pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#, description = "Optional: the ETag (version) of the key as it was read; the action is then taken only on that version")
    ),
    responses(
        (status = 200, description = "Revoked for good (needs `keys:revoke`)", body = crate::api::Key),
        (status = 409, description = "`busy`, or `last_super_admin` (the last active super-admin key)", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: `If-Match` was sent and the key changed since it was read", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_REVOKE)?;
    let based_on = optional_if_match(&headers)?;
    for _ in 0..5 {
        let record = visible_key(&state, &caller, &id).await?;
        rules::within_caller(&caller, &record)?;
        if let Some(based_on) = based_on.filter(|v| *v != record.version) {
            return Err(stale(based_on, record.version));
        }
        let now = state.now();
        if record.status == KeyStatus::Revoked {
            return Ok(key_response(&record, now));
        }
        let fingerprint = |d: &[u8]| state.pepper.fingerprint(d);
        let in_grace = record.previous_expires_at.is_some_and(|until| now < until);
        let fingerprints = RevokedFingerprints {
            current: record.secret_digest.as_deref().map(fingerprint),
            previous: record
                .previous_digest
                .as_deref()
                .filter(|_| in_grace)
                .map(fingerprint),
        };
        let event = audit(&caller, &meta, actions::KEY_REVOKE, &record, now);
        if state
            .store
            .revoke_key(&record.id, record.version, now, &fingerprints, &event)
            .await?
        {
            let record = visible_key(&state, &caller, &id).await?;
            return Ok(key_response(&record, now));
        }
    }
    Err(busy())
}

fn busy() -> ApiError {
    ApiError::Conflict {
        code: "busy",
        detail: "the key kept changing under this request; try again".to_owned(),
    }
}

/// A length of time as people say it: whole days, or hours, or minutes, or seconds.
fn spoken(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
