//! `POST /v1/keys`, idempotent under an `Idempotency-Key` header.
//!
//! A retry with the same Idempotency-Key and the same request gets `200` with the key minted
//! the first time, `Idempotent-Replayed: true`, and `"secret": null`: no plaintext secret is
//! kept to replay it. The same Idempotency-Key with a different request is refused (422).

use crate::api::actions;
use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::{audit, refusal, rules, set_key_headers};
use crate::api::{CreateKey, KeyType, KeyWithSecret, PERM_KEYS_WRITE};
use crate::secret;
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::mint::{NewKey, mint};
use crate::server::routes::{Body, no_store};
use crate::server::store::{Conflict, IdempotencyRecord, StoreError};
use crate::server::throttle::{Source, Subject};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1 to 255 visible ASCII characters. A retry with the same value and body within 24 hours answers the key minted the first time")),
    request_body = crate::api::CreateKey,
    responses(
        (status = 201, description = "Created; the secret is shown this once (needs `keys:write`)", body = crate::api::KeyWithSecret),
        (status = 200, description = "An Idempotency-Key replay: the key minted the first time, `secret` null", body = crate::api::KeyWithSecret,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        (status = 409, description = "`name_taken`", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_failures`: too many brought secrets refused as in use; `Retry-After` says when to try again", body = crate::api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a brought secret is checked again"))),
    ))]
pub async fn create(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    headers: HeaderMap,
    Body(req): Body<CreateKey>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let now = state.now();
    let idem_key = idempotency_key(&headers)?;
    let request_hash = request_hash(&state.pepper, &req);
    if let Some(k) = &idem_key {
        if let Some(done) = state.store.get_idempotency(&caller.actor, k).await? {
            return replay(&state, &caller, &done, &request_hash).await;
        }
    }
    // Bringing secrets is also a way to guess them: one that another key holds is refused,
    // and such refusals are counted against the caller (see `secret_in_use`).
    let guesser = format!("brought-secret:{}", caller.actor);
    let guesses = [Subject::Client(&guesser, Source::Unknown)];
    if req.secret.is_some() {
        if let Some(wait) = state.throttle.check(&guesses, now) {
            return Err(ApiError::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
    }

    // Every value is checked before any answer, so one refusal does not hide the next.
    let mut problems = rules::Problems::default();
    problems.check(rules::name(&req.name));
    problems.check(rules::description(&req.description));
    if let Some(owner) = &req.owner {
        problems.check(rules::owner(owner));
    }
    if let Some(meta) = &req.meta {
        problems.check(rules::meta(meta));
    }
    let credits = problems.check(rules::credits(req.credits, req.refill.as_ref()));
    problems.check(rules::ratelimits(&req.ratelimits));
    problems.check(rules::metering(
        &req.permissions,
        &req.ratelimits,
        req.credits.is_some() || req.refill.is_some(),
    ));
    let key_type = req.key_type.unwrap_or(KeyType::Private);
    let environments = problems.check(rules::environments(&state, &caller, req.environments).await);
    problems.check(rules::permissions(
        &state,
        &caller,
        key_type,
        &req.permissions,
        &BTreeSet::new(),
    ));
    let allowed_ips = problems.check(rules::allowed_ips(&req.allowed_ips));
    let expires_at = problems.check(rules::expiry(
        &state,
        &caller,
        now,
        req.expires_at,
        req.expires_in_seconds,
    ));
    if let (Some(ips), Some(at)) = (&allowed_ips, expires_at) {
        problems.check(rules::restrictions(&caller, at, ips));
    }
    if let Some(brought) = &req.secret {
        problems.check(brought_secret(brought.expose(), key_type));
    }
    problems.finish()?;
    let (Some(environments), Some(allowed_ips), Some(expires_at)) =
        (environments, allowed_ips, expires_at)
    else {
        return Err(ApiError::Internal("a checked value is missing".into()));
    };

    let (record, secret) = mint(
        NewKey {
            name: req.name,
            description: req.description,
            owner: req.owner,
            meta: req.meta,
            credits: credits.flatten().map(|c| (c, req.refill)),
            ratelimits: req.ratelimits,
            key_type,
            environments,
            permissions: req.permissions,
            allowed_ips,
            expires_at,
            created_by: caller.actor.clone(),
            secret: req.secret,
        },
        now,
        &state.pepper,
    );
    let idempotency = idem_key.map(|k| IdempotencyRecord {
        actor: caller.actor.clone(),
        idem_key: k,
        request_hash: request_hash.clone(),
        key_id: record.id.clone(),
        created_at: now,
    });
    let event = audit(&caller, &meta, actions::KEY_CREATE, &record, now);
    match state
        .store
        .insert_key(&record, idempotency.as_ref(), &event)
        .await
    {
        Ok(()) => {}
        // The same Idempotency-Key may have won a race with this request (its key took the
        // name first, or its record the Idempotency-Key): then this is its replay.
        Err(StoreError::Conflict(conflict @ (Conflict::KeyName | Conflict::Idempotency))) => {
            if let Some(i) = &idempotency {
                if let Some(done) = state.store.get_idempotency(&i.actor, &i.idem_key).await? {
                    return replay(&state, &caller, &done, &request_hash).await;
                }
            }
            if conflict == Conflict::KeyName {
                let refused = rules::name_taken(&record.name);
                let event = refusal(&caller, &meta, actions::KEY_CREATE, &record, &refused, now);
                state.audit_queue.record(state.store.clone(), event).await?;
                return Err(refused);
            }
            return Err(ApiError::Internal("idempotency record vanished".into()));
        }
        // A brought secret that another key already uses: see `secret_in_use`.
        Err(StoreError::Conflict(Conflict::Secret)) => {
            state.throttle.failed(&guesses, now);
            let refused = secret_in_use();
            let event = refusal(&caller, &meta, actions::KEY_CREATE, &record, &refused, now);
            state.audit_queue.record(state.store.clone(), event).await?;
            return Err(refused);
        }
        Err(e) => return Err(e.into()),
    }
    let mut response = no_store(
        StatusCode::CREATED,
        &KeyWithSecret {
            key: record.to_api(now),
            secret,
        },
    );
    set_key_headers(&mut response, &record);
    Ok(response)
}

/// The answer to a brought secret that another key already holds. The same whoever holds it,
/// visible to the caller or not: it names no key, environment or owner. It cannot be the
/// answer a free secret gets (digests are unique, so two keys never share a secret), so it
/// tells the caller one thing, that this exact secret is taken; guessing a secret that passes
/// the entropy check is hopeless, and every such refusal is audited and throttled per caller.
fn secret_in_use() -> ApiError {
    ApiError::invalid(
        "weak_secret",
        "that secret cannot be used; bring another, or let keyward generate one",
    )
}

/// A brought secret: long and random enough, and in keyward's format only with its key type's
/// prefix (a kw_pk_ secret on a private key would look safe to expose to every secret scanner).
fn brought_secret(brought: &str, key_type: KeyType) -> ApiResult<()> {
    secret::check_brought(brought).map_err(|d| ApiError::invalid("weak_secret", d))?;
    let wanted = key_type.secret_prefix();
    if brought.starts_with("kw_") && !brought.starts_with(wanted) {
        return Err(ApiError::invalid(
            "secret_type_mismatch",
            format!(
                "a {} key's secret in keyward's format starts with {wanted}; bring one with that prefix, or let keyward generate one",
                key_type.as_str()
            ),
        ));
    }
    Ok(())
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(v) if (1..=255).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(v.to_owned()))
        }
        _ => Err(ApiError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned(),
        )),
    }
}

/// What makes two creates "the same request": the body, with a brought secret replaced by its
/// keyed digest so that nothing secret is kept.
fn request_hash(pepper: &secret::Pepper, req: &CreateKey) -> Vec<u8> {
    let mut shape = req.clone();
    let brought = shape.secret.take();
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&shape).expect("a request serialises"));
    if let Some(s) = brought {
        hasher.update(pepper.digest(s.expose()));
    }
    hasher.finalize().to_vec()
}

async fn replay(
    state: &SharedState,
    caller: &Principal,
    done: &IdempotencyRecord,
    request_hash: &[u8],
) -> ApiResult<Response> {
    if !secret::digests_equal(&done.request_hash, request_hash) {
        return Err(ApiError::invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        ));
    }
    let record = state
        .store
        .get_key(&done.key_id)
        .await?
        .ok_or(ApiError::Internal("idempotent key vanished".into()))?;
    // The key may have moved out of the caller's reach since: then it answers like any key
    // outside, as missing.
    if !caller.sees(&record.environments) {
        return Err(ApiError::NotFound("key"));
    }
    let mut response = no_store(
        StatusCode::OK,
        &KeyWithSecret {
            key: record.to_api(state.now()),
            secret: None,
        },
    );
    set_key_headers(&mut response, &record);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}
