//! `POST /v1/verify`: a service asks whether a key someone presented is good for a use. Needs
//! `keys:verify`. An unknown key and a wrong secret get the same bytes back.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::Body;
use crate::api::{
    CreditsAnswer, KeyStatus, MAX_COST, PERM_ADMIN, PERM_KEYS_VERIFY, VerifyCode, VerifyRequest,
    VerifyResponse,
};
use crate::secret;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::Spent;
use crate::server::throttle::{Source, Subject};
use crate::server::{SharedState, ipmatch, refill};

#[utoipa::path(post, path = "/v1/verify", tag = "verify", security(("bearer" = [])),
    request_body = crate::api::VerifyRequest,
    responses(
        (status = 200, description = "The verdict; for an unknown key or wrong secret exactly `{\"valid\":false,\"code\":\"INVALID\"}` (needs `keys:verify`)", body = crate::api::VerifyResponse),
        (status = 429, description = "`too_many_failures`: too many INVALID answers for the address the service reported", body = crate::api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is counted"))),
    ))]
pub async fn verify(
    State(state): State<SharedState>,
    caller: Principal,
    _meta: RequestMeta,
    Body(req): Body<VerifyRequest>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_VERIFY)?;
    let reported_ip = match req.ip.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
            ApiError::invalid(
                "invalid_ip",
                "ip is not an IPv4 or IPv6 address, such as 203.0.113.7 or 2001:db8::1",
            )
        })?),
    };
    let cost = req.cost.unwrap_or(1);
    if cost > MAX_COST {
        return Err(ApiError::invalid(
            "invalid_cost",
            "cost must be a whole number from 0 to 1,000,000,000",
        ));
    }
    let presented = req.key.expose();
    let now = state.now();
    // Keys that open nothing, presented from one address, are throttled there (before any
    // work on the key); verifies that report no address are not.
    // Counted per source: an IPv4-mapped address as its IPv4 address, IPv6 per /64.
    let presenter: Vec<Subject> = reported_ip
        .map(|ip| Subject::Presenter(Source::of(Some(ip))))
        .into_iter()
        .collect();
    if let Some(wait) = state.throttle.check(&presenter, now) {
        return Err(ApiError::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    if presented.starts_with("kw_") && secret::check_format(presented).is_err() {
        state.throttle.failed(&presenter, now);
        return Ok(answer(&state, VerifyResponse::invalid()));
    }
    let digest = state.pepper.digest(presented);
    let found = match state.credentials.find_key_by_digest(&digest).await? {
        Some(k) if k.accepts(&digest, now) => Some(k),
        // A rotated-out secret past its grace is no longer this key's.
        Some(_) => None,
        None => {
            state
                .store
                .find_key_by_fingerprint(&state.pepper.fingerprint(&digest))
                .await?
        }
    };
    // A key outside the caller's environments answers like one that does not exist.
    let Some(key) = found.filter(|k| caller.sees(&k.environments)) else {
        state.throttle.failed(&presenter, now);
        return Ok(answer(&state, VerifyResponse::invalid()));
    };

    let admin = key.permissions.contains(PERM_ADMIN);
    let code = match key.status_at(now) {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Disabled => VerifyCode::Disabled,
        KeyStatus::Expired => VerifyCode::Expired,
        KeyStatus::Active => {
            let ip_ok = ipmatch::permits(&key.id, reported_ip, &key.allowed_ips);
            if !ip_ok {
                VerifyCode::IpNotAllowed
            } else if req
                .environment
                .as_ref()
                .is_some_and(|e| !admin && !key.environments.contains(e))
            {
                VerifyCode::EnvironmentDenied
            } else if req
                .permission
                .as_ref()
                .is_some_and(|p| !admin && !key.permissions.contains(p))
            {
                VerifyCode::PermissionDenied
            } else {
                VerifyCode::Valid
            }
        }
    };
    // Rate limits next, in memory; a refused use spends no credits.
    let mut ratelimit = None;
    let code = match code {
        VerifyCode::Valid if !key.ratelimits.is_empty() => {
            if !state.ratelimits.has_synced() {
                // The first since this server started: the others' counts first.
                crate::server::workers::ratelimit_sync::sync(&state).await;
            }
            match state
                .ratelimits
                .acquire(&key.id, &key.ratelimits, cost, now)
            {
                Some(outcome) => {
                    ratelimit = Some(outcome.answer);
                    if outcome.admitted {
                        VerifyCode::Valid
                    } else {
                        VerifyCode::RateLimited
                    }
                }
                None => VerifyCode::Valid,
            }
        }
        code => code,
    };
    // Credits are spent last, by a use that is otherwise allowed: in the database, so that
    // replicas together never give more than the balance.
    let (code, credits) = match (&key.credits, code) {
        (Some(c), VerifyCode::Valid) => {
            let give_back = || {
                state
                    .ratelimits
                    .release(&key.id, &key.ratelimits, cost, now)
            };
            let cost = i64::try_from(cost).unwrap_or(i64::MAX);
            let spent = state
                .store
                .spend_credits(&key.id, cost, cost.max(1), c.refill.as_ref(), now)
                .await
                .inspect_err(|_| give_back())?;
            let reset = c.refill.map(|r| refill::next(&r, now));
            match spent {
                Spent::Spent(remaining) => {
                    (VerifyCode::Valid, Some(CreditsAnswer { remaining, reset }))
                }
                Spent::Short(remaining) => {
                    // Not used after all: the rate limits get the use back.
                    give_back();
                    (
                        VerifyCode::UsageExceeded,
                        Some(CreditsAnswer { remaining, reset }),
                    )
                }
                // Taken away since the key was read: nothing to spend.
                Spent::NoCredits => (VerifyCode::Valid, None),
            }
        }
        (_, code) => (code, None),
    };
    state.last_used.record_verify(
        &key.id,
        now,
        reported_ip.map(|ip| ip.to_canonical().to_string()),
        code,
    );
    Ok(answer(
        &state,
        VerifyResponse {
            valid: code == VerifyCode::Valid,
            code,
            key_id: Some(key.id.clone()),
            name: Some(key.name.clone()),
            key_type: Some(key.key_type),
            environments: Some(key.environments.clone()),
            permissions: Some(key.permissions.clone()),
            expires_at: Some(key.expires_at),
            owner: key.owner.clone(),
            meta: key.meta.clone(),
            ratelimit,
            credits,
        },
    ))
}

fn answer(state: &crate::server::AppState, body: VerifyResponse) -> Response {
    state.metrics.verified(body.code);
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
