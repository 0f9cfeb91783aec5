//! `POST /v1/verify`: a service asks whether a key someone presented is good for a use. Needs
//! `keys:verify`. An unknown key and a wrong secret get the same bytes back.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::Body;
use crate::api::{MAX_COST, PERM_KEYS_VERIFY, VerifyCode, VerifyRequest, VerifyResponse};
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::verdict::{self, Use};

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
    let verdict = verdict::judge(
        &state,
        &caller,
        Use {
            presented: req.key.expose(),
            permission: req.permission.as_deref(),
            environment: req.environment.as_deref(),
            ip: reported_ip,
            cost,
        },
    )
    .await?;
    let Some(key) = verdict.key else {
        return Ok(answer(VerifyResponse::invalid()));
    };
    let code = verdict.code;
    Ok(answer(VerifyResponse {
        valid: code == VerifyCode::Valid,
        code,
        key_id: Some(key.id),
        name: Some(key.name),
        key_type: Some(key.key_type),
        environments: Some(key.environments),
        permissions: Some(key.permissions),
        expires_at: Some(key.expires_at),
        owner: key.owner,
        meta: key.meta,
        ratelimit: verdict.ratelimit,
        credits: verdict.credits,
    }))
}

fn answer(body: VerifyResponse) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
