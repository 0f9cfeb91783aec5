//! How a gateway (nginx, Traefik, Envoy) authenticates itself to `/v1/authz`: with a key of its
//! own in `Keyward-Gateway-Key`, sent on every request. Not an access token: a gateway's config
//! is static, and a token lasts a day, while a key lasts until it expires (up to a year) and is
//! rotated with a grace period (`keys rotate gateway --grace 7d`: both secrets work while the
//! config is changed). Since the secret sits in a config file, the key may hold `keys:verify`
//! and no other built-in permission: a leaked gateway config can ask about keys, never change
//! one. Failures are throttled per source address, like token exchanges.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::auth::{Principal, source_address};
use super::error::{ApiError, ApiResult};
use super::throttle::{Source, Subject};
use super::{SharedState, ipmatch};
use crate::api::{BUILTIN_PERMISSIONS, KeyStatus, KeyType, PERM_KEYS_VERIFY};
use crate::secret;

/// The header a gateway's own key travels in.
pub const GATEWAY_KEY_HEADER: &str = "keyward-gateway-key";

/// The gateway calling, as the principal its key makes it.
pub struct Gateway(pub Principal);

const REFUSED: ApiError = ApiError::Unauthenticated(
    "the gateway's key (Keyward-Gateway-Key) is missing, invalid, expired, disabled or not allowed from this address",
);

impl FromRequestParts<SharedState> for Gateway {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
        let from = source_address(parts, state);
        let here = [Subject::Address(Source::of(from))];
        let now = state.now();
        if let Some(wait) = state.throttle.check(&here, now) {
            return Err(ApiError::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        let presented = parts
            .headers
            .get(GATEWAY_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(REFUSED)?;
        let refuse = || {
            state.throttle.failed(&here, now);
            REFUSED
        };
        if presented.starts_with("kw_") && secret::check_format(presented).is_err() {
            return Err(refuse());
        }
        let digest = state.pepper.digest(presented);
        let key = match state.credentials.find_key_by_digest(&digest).await? {
            Some(k) if k.accepts(&digest, now) => k,
            _ => return Err(refuse()),
        };
        if key.status_at(now) != KeyStatus::Active
            || key.key_type != KeyType::Private
            || !ipmatch::permits(&key.id, from, &key.allowed_ips)
        {
            return Err(refuse());
        }
        // Told apart from a wrong secret: the operator holds the right one, in the wrong place.
        let only_verify = key.permissions.contains(PERM_KEYS_VERIFY)
            && BUILTIN_PERMISSIONS
                .iter()
                .all(|(p, _)| *p == PERM_KEYS_VERIFY || !key.permissions.contains(*p));
        if !only_verify {
            return Err(ApiError::Forbidden(
                "a gateway's key must hold keys:verify and no other built-in permission: its secret sits in a config file, where a key that can change keys does not belong".to_owned(),
            ));
        }
        Ok(Gateway(Principal {
            actor: format!("key:{}", key.id),
            key_id: Some(key.id),
            key_name: Some(key.name),
            permissions: key.permissions,
            environments: Some(key.environments),
            token_expires_at: None,
            key_expires_at: Some(key.expires_at),
            allowed_ips: key.allowed_ips,
            metered: false,
        }))
    }
}
