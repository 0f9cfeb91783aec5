//! `/v1/authz`: forward auth for gateways (nginx `auth_request`, Traefik ForwardAuth, Envoy's
//! HTTP `ext_authz`). The gateway authenticates with its own key ([`Gateway`]) and passes on its
//! client's request headers; the key the client presented is judged as verify judges it, and the
//! answer is a status a gateway understands: 200 (pass, with `Keyward-Key-Id`, `Keyward-Owner` and
//! rate-limit headers for the upstream), 401, 403 or 429 (with `Retry-After`).
//!
//! Where the gateway says what is needed: at `/v1/authz` exactly, in the query
//! (`?permission=orders:read&environment=production&cost=1`), which the gateway's config fixes
//! (nginx and Traefik). Below it (`/v1/authz/…`, Envoy appends the client's own path and query
//! there) the query is the client's and is ignored: the gateway sets `Keyward-Permission`,
//! `Keyward-Environment` and `Keyward-Cost` headers instead. Headers of those names at the exact
//! path are ignored, since a gateway passes on the headers its client sent.
//!
//! The client's address: `Keyward-Client-IP` when the gateway sets it, else the rightmost
//! `X-Forwarded-For` entry (the one the gateway appended); with neither, unknown, which no
//! allowlist admits.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::api::{MAX_COST, VerifyCode};
use crate::server::SharedState;
use crate::server::error::{ApiError, ApiResult};
use crate::server::gateway::Gateway;
use crate::server::verdict::{self, Use, Verdict};

/// The headers that say what is needed, below `/v1/authz`.
const NEED_HEADERS: [&str; 3] = ["keyward-permission", "keyward-environment", "keyward-cost"];

/// What the gateway needs of the presented key.
#[derive(Debug, Default)]
struct Needs {
    permission: Option<String>,
    environment: Option<String>,
    cost: Option<String>,
}

#[utoipa::path(get, path = "/v1/authz", tag = "verify", security(("gateway" = [])),
    params(
        ("permission" = Option<String>, Query, description = "The permission the request needs"),
        ("environment" = Option<String>, Query, description = "The environment the upstream runs in"),
        ("cost" = Option<u64>, Query, description = "What the request spends of the key's rate limits and credits (default 1)"),
        ("Authorization" = Option<String>, Header, description = "The client's key: `Bearer KEY` (or `X-API-Key`)"),
        ("X-API-Key" = Option<String>, Header, description = "The client's key, where it is not in Authorization"),
        ("Keyward-Client-IP" = Option<String>, Header, description = "The client's address as the gateway saw it (else the rightmost X-Forwarded-For entry)"),
    ),
    responses(
        (status = 200, description = "Pass: `Keyward-Key-Id`, `Keyward-Key-Name`, `Keyward-Owner` (percent-encoded beyond printable ASCII), `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `Keyward-Credits-Remaining` where they apply",
            headers(("Keyward-Key-Id" = String), ("Keyward-Code" = String))),
        (status = 401, description = "`key_invalid` (no key, an unknown one, or one expired, disabled or revoked: `Keyward-Code` says which), or the gateway's own key refused", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`key_denied`: the key lacks the permission or environment, or is not allowed from the client's address; or the gateway's key holds more than keys:verify", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_parameter`, `repeated_parameter` or `invalid_cost`: the gateway asked for something keyward does not know; `needs_in_query_below`: below /v1/authz the query names what is needed but no Keyward-Permission header does (a gateway configured with a slash too many); `needs_in_headers_here`: at /v1/authz itself a Keyward-Permission, -Environment or -Cost header came", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` or `usage_exceeded` (the key's limit or credits), or `too_many_failures`", body = crate::api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the request could pass"))),
    ))]
pub async fn authz(
    State(state): State<SharedState>,
    Gateway(gateway): Gateway,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // Exactly this path: `/v1/authz/` and `/v1/authz//` are below it, where the query is the
    // client's (Envoy asks there for a client's `/` and `//`).
    let needs = if uri.path() == "/v1/authz" {
        // A gateway sending its needs in headers here would ask for nothing: refused, so that
        // the mistake shows at once. (A client sending such headers only refuses itself.)
        if NEED_HEADERS.iter().any(|h| headers.contains_key(*h)) {
            return Err(ApiError::invalid(
                "needs_in_headers_here",
                "on forward auth's own path what is needed comes in the query (permission, environment, cost); the Keyward-Permission, Keyward-Environment and Keyward-Cost headers are for the paths below it",
            ));
        }
        from_query(uri.query().unwrap_or_default())?
    } else {
        below(&headers, uri.query().unwrap_or_default())?
    };
    let cost = match needs.cost.as_deref() {
        None => 1,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|c| *c <= MAX_COST)
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalid_cost",
                    "cost must be a whole number from 0 to 1,000,000,000",
                )
            })?,
    };
    let Some(presented) = presented_key(&headers) else {
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "key_missing",
            "no key: send it as Authorization: Bearer KEY or X-API-Key: KEY",
            None,
        ));
    };
    let verdict = verdict::judge(
        &state,
        &gateway,
        Use {
            presented,
            permission: needs.permission.as_deref(),
            environment: needs.environment.as_deref(),
            ip: client_ip(&headers),
            cost,
        },
    )
    .await?;
    Ok(answer(&verdict, state.now()))
}

/// `permission`, `environment` and `cost` from a query string; anything else there is refused
/// (a misspelt `permision=` must not silently ask for nothing).
fn from_query(query: &str) -> ApiResult<Needs> {
    let mut needs = Needs::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "permission" => &mut needs.permission,
            "environment" => &mut needs.environment,
            "cost" => &mut needs.cost,
            other => {
                return Err(ApiError::invalid(
                    "unknown_parameter",
                    format!(
                        "forward auth takes permission, environment and cost, not {:?}",
                        crate::output::printable(other)
                    ),
                ));
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(ApiError::invalid(
                "repeated_parameter",
                format!("{name} is given twice"),
            ));
        }
    }
    Ok(needs)
}

/// What is needed below `/v1/authz`: the gateway's headers. A query there naming what is needed,
/// with no `Keyward-Permission` header, is most likely a gateway configured with a slash too
/// many (`/v1/authz/?permission=…`), which would otherwise ask for nothing: refused, so that the
/// mistake shows at once. (A client adding such a query only refuses itself.)
fn below(headers: &HeaderMap, query: &str) -> ApiResult<Needs> {
    let needs = Needs {
        permission: header_text(headers, "keyward-permission"),
        environment: header_text(headers, "keyward-environment"),
        cost: header_text(headers, "keyward-cost"),
    };
    let names_a_need = form_urlencoded::parse(query.as_bytes())
        .any(|(name, _)| matches!(name.as_ref(), "permission" | "environment" | "cost"));
    if needs.permission.is_none() && names_a_need {
        return Err(ApiError::invalid(
            "needs_in_query_below",
            "below forward auth's own path what is needed comes in the Keyward-Permission, Keyward-Environment and Keyward-Cost headers; a gateway that names it in the query must call the path itself, without a trailing slash",
        ));
    }
    Ok(needs)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The client's key: `Authorization: Bearer KEY`, else `X-API-Key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    crate::server::auth::bearer(headers)
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        })
        .filter(|k| !k.is_empty())
}

/// The client's address as the gateway saw it.
fn client_ip(headers: &HeaderMap) -> Option<IpAddr> {
    if let Some(ip) = headers.get("keyward-client-ip") {
        return ip.to_str().ok()?.trim().parse().ok();
    }
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

fn answer(verdict: &Verdict, now: Timestamp) -> Response {
    let code = verdict.code;
    let mut response = match code {
        VerifyCode::Valid => StatusCode::OK.into_response(),
        VerifyCode::Invalid | VerifyCode::Expired | VerifyCode::Disabled | VerifyCode::Revoked => {
            refusal(
                StatusCode::UNAUTHORIZED,
                "key_invalid",
                "the key is not valid",
                None,
            )
        }
        VerifyCode::IpNotAllowed | VerifyCode::PermissionDenied | VerifyCode::EnvironmentDenied => {
            refusal(
                StatusCode::FORBIDDEN,
                "key_denied",
                "the key is not allowed this request",
                None,
            )
        }
        VerifyCode::RateLimited => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "the key's rate limit is reached; retry later",
            verdict.ratelimit.as_ref().and_then(|r| r.retry_after_secs),
        ),
        VerifyCode::UsageExceeded => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "usage_exceeded",
            "the key has no credits left for this request",
            verdict
                .credits
                .as_ref()
                .and_then(|c| c.reset)
                .map(|at| seconds_until(at, now)),
        ),
    };
    let h = response.headers_mut();
    h.insert("keyward-code", HeaderValue::from_static(code.as_str()));
    if let Some(limit) = &verdict.ratelimit {
        h.insert("ratelimit-limit", HeaderValue::from(limit.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(limit.remaining));
        h.insert(
            "ratelimit-reset",
            HeaderValue::from(seconds_until(limit.reset, now)),
        );
    }
    if let Some(credits) = &verdict.credits {
        h.insert(
            "keyward-credits-remaining",
            HeaderValue::from(credits.remaining),
        );
    }
    // Who the key is, for the upstream, on a pass only; every one of them always (an owner
    // empty where the key has none), so that a gateway copying them replaces any header of
    // that name the client sent.
    if code == VerifyCode::Valid {
        if let Some(key) = &verdict.key {
            for (name, value) in [
                ("keyward-key-id", key.id.as_str()),
                ("keyward-key-name", key.name.as_str()),
                ("keyward-owner", key.owner.as_deref().unwrap_or_default()),
            ] {
                if let Some(value) = header_value(value) {
                    h.insert(HeaderName::from_static(name), value);
                }
            }
        }
    }
    response
}

/// A refusal as problem+json, with `Retry-After` when there is a time to give.
fn refusal(
    status: StatusCode,
    code: &'static str,
    detail: &'static str,
    retry_after: Option<u64>,
) -> Response {
    let mut response = ApiError::Refused {
        status,
        code,
        detail: detail.to_owned(),
    }
    .into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}

fn seconds_until(at: Timestamp, now: Timestamp) -> u64 {
    let ms = at.as_millisecond().saturating_sub(now.as_millisecond());
    u64::try_from(ms).unwrap_or(0).div_ceil(1000)
}

/// A header value for text a caller chose (an owner may hold any printable character): kept as
/// it is when it is printable ASCII, percent-encoded as UTF-8 otherwise (and `%` itself).
fn header_value(text: &str) -> Option<HeaderValue> {
    let plain = text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'%');
    if plain {
        return HeaderValue::from_str(text).ok();
    }
    let encoded: String = text
        .bytes()
        .map(|b| {
            if (b' '..=b'~').contains(&b) && b != b'%' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&encoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_beyond_ascii_are_percent_encoded() {
        assert_eq!(header_value("cus_123").unwrap(), "cus_123");
        assert_eq!(header_value("Zoë 100%").unwrap(), "Zo%C3%AB 100%25");
    }

    #[test]
    fn the_query_names_what_is_needed_and_nothing_else() {
        let needs = from_query("permission=orders%3Aread&environment=production&cost=2").unwrap();
        assert_eq!(needs.permission.as_deref(), Some("orders:read"));
        assert_eq!(needs.environment.as_deref(), Some("production"));
        assert_eq!(needs.cost.as_deref(), Some("2"));
        assert!(from_query("permision=orders:read").is_err());
        assert!(from_query("permission=a:b&permission=c:d").is_err());
    }

    #[test]
    fn the_client_is_where_the_gateway_says() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        assert_eq!(client_ip(&h), Some("203.0.113.7".parse().unwrap()));
        h.insert("keyward-client-ip", "192.0.2.1".parse().unwrap());
        assert_eq!(client_ip(&h), Some("192.0.2.1".parse().unwrap()));
        h.insert("keyward-client-ip", "not an address".parse().unwrap());
        assert_eq!(client_ip(&h), None);
    }
}
