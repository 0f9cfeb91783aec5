//! `POST /v1/oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4). The key id is
//! the client id and its secret the client secret, sent with HTTP Basic or in the form body.

use crate::api::actions;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use jiff::SignedDuration;
use serde::Deserialize;

use super::{FormBody, no_store};
use crate::api::{ACCESS_TOKEN_TTL_SECS, KeyStatus, KeyType, TokenResponse};
use crate::secret::{self, Secret};
use crate::server::auth::RequestMeta;
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::{AuditEvent, StoreResult, TokenRecord};
use crate::server::throttle::{MALFORMED_CLIENT, Source, Subject};
use crate::server::workers::failure_tally::Noted;
use crate::server::{AppState, SharedState, ipmatch};

/// The token request's form (RFC 6749 §4.4.2).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    #[schema(value_type = String, pattern = "^client_credentials$")]
    grant_type: Option<String>,
    /// The private key's id, when not sent as HTTP Basic credentials.
    client_id: Option<String>,
    /// The private key's secret, when not sent as HTTP Basic credentials.
    client_secret: Option<String>,
}

#[utoipa::path(post, path = "/v1/oauth/token", tag = "auth",
    security((), ("client" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded",
        description = "`grant_type=client_credentials`; the private key's id and secret as HTTP Basic credentials, or as `client_id` and `client_secret` here"),
    responses(
        (status = 200, description = "An access token (RFC 6749 §5.1)", body = crate::api::TokenResponse),
        (status = 400, description = "`unsupported_grant_type`, or a known key that may not get a token: `key_disabled`, `key_expired`, `key_revoked`, `public_key`, `ip_not_allowed` (RFC 6749 `error`: `unauthorized_client`)", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`: unknown client id or wrong secret", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_failures` from this client id or address", body = crate::api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is counted"))),
    ))]
pub async fn exchange(
    State(state): State<SharedState>,
    meta: RequestMeta,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> ApiResult<Response> {
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(ApiError::UnsupportedGrantType);
    }
    let (client_id, client_secret) = match basic_credentials(&headers) {
        Some(pair) => pair,
        None => match (form.client_id, form.client_secret) {
            (Some(id), Some(secret)) => (id, Secret::new(secret)),
            _ => return Err(ApiError::InvalidClient),
        },
    };
    let now = state.now();
    // Whatever arrived as the client id goes into the audit log only if it looks like a key id:
    // a secret pasted into the wrong field must not be written down.
    let plausible_id = crate::server::validate::key_id(&client_id);
    // Failures count against the client id from this source, and against the source; when
    // either has none left, the request is answered before its secret is read, and nothing is
    // written. Another source's failures never hold this one back. Every client id that is not
    // key-shaped counts as one, and every unknown source (a forwarded address that does not
    // parse) as one: nothing goes unthrottled.
    let source = Source::parse(meta.source_ip.as_deref());
    let counted_id = if plausible_id {
        client_id.as_str()
    } else {
        MALFORMED_CLIENT
    };
    let subjects = [
        Subject::Client(counted_id, source),
        Subject::Address(source),
    ];
    if let Some(wait) = state.throttle.check(&subjects, now) {
        // Others' failures from this source (a NAT, a shared /64, an attacker guessing at this
        // client id) never hold back the right secret of a key this server has exchanged for
        // before: it is checked against the cache, with no database read or write.
        let known_good = plausible_id
            && state.cache.as_ref().is_some_and(|cache| {
                let digest = state.pepper.digest(client_secret.expose());
                cache
                    .cached
                    .cached_key(&digest)
                    .is_some_and(|k| k.id == client_id && k.accepts(&digest, now))
            });
        if !known_good {
            return Err(ApiError::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
    }
    let generation = state.cache.as_ref().map(|cache| cache.cached.generation());
    let actor = if plausible_id {
        format!("key:{client_id}")
    } else {
        "key:<malformed client id>".to_owned()
    };
    let mut audit = AuditEvent {
        source_ip: meta.source_ip.clone(),
        request_id: meta.request_id,
        outcome: "failure",
        error_code: Some("invalid_client"),
        ..AuditEvent::success(now, &actor, actions::TOKEN_EXCHANGE)
    };

    // A mistyped keyward secret is refused whatever key it is sent for; that key is still looked
    // up, to name it in the event.
    let candidate = client_secret.expose();
    let well_formed = !candidate.starts_with("kw_") || secret::check_format(candidate).is_ok();
    let key = if plausible_id {
        state.store.get_key(&client_id).await?
    } else {
        None
    };
    // The event names the key a client id names, even when the secret is wrong: guesses at
    // one key are what an auditor looks for.
    if let Some(k) = &key {
        audit.key_id = Some(k.id.clone());
        audit.key_name = Some(k.name.clone());
        audit.actor_name = Some(k.name.clone());
        audit.environments = k.environments.iter().cloned().collect();
    }
    let digest = state.pepper.digest(candidate);
    // A revoked key forgot its secret but keeps a fingerprint of it: the right secret of a
    // revoked key is told so, like a disabled key's (and only then: a wrong one is a guess).
    let revoked_secret = |k: &crate::server::store::KeyRecord| {
        if k.status_at(now) != KeyStatus::Revoked {
            return false;
        }
        let fingerprint = state.pepper.fingerprint(&digest);
        let same = |f: &Option<Vec<u8>>| {
            f.as_deref()
                .is_some_and(|f| secret::digests_equal(f, &fingerprint))
        };
        same(&k.revoked_fingerprint) | same(&k.revoked_previous_fingerprint)
    };
    let Some(key) = key.filter(|k| well_formed && (k.accepts(&digest, now) || revoked_secret(k)))
    else {
        // An unknown client id or a wrong secret: a guess, counted.
        state.throttle.failed(&subjects, now);
        record_failure(&state, audit).await?;
        return Err(ApiError::InvalidClient);
    };
    let refuse = |code: &'static str, detail: String| ApiError::UnauthorizedClient { code, detail };
    let refusal = if key.key_type == KeyType::Public {
        Some(refuse(
            "public_key",
            "public keys cannot obtain access tokens; use a private key".to_owned(),
        ))
    } else {
        match key.status_at(now) {
            KeyStatus::Active => None,
            KeyStatus::Disabled => Some(refuse("key_disabled", "the key is disabled".to_owned())),
            KeyStatus::Expired => Some(refuse("key_expired", "the key has expired".to_owned())),
            KeyStatus::Revoked => Some(refuse("key_revoked", "the key is revoked".to_owned())),
        }
    };
    let refusal = refusal.or_else(|| {
        let from = meta.source_ip.as_deref().and_then(|ip| ip.parse().ok());
        let allowed = ipmatch::permits(&key.id, from, &key.allowed_ips);
        (!allowed).then(|| {
            refuse(
                "ip_not_allowed",
                format!(
                    "the key may not be used from {}",
                    meta.source_ip.as_deref().unwrap_or("an unknown address")
                ),
            )
        })
    });
    if let Some(refusal) = refusal {
        // The right secret, refused by policy (disabled, expired, revoked, public, address):
        // audited, not throttled: it guesses nothing.
        audit.error_code = Some(refusal.code());
        record_failure(&state, audit).await?;
        return Err(refusal);
    }

    let token = Secret::generate(secret::TOKEN_PREFIX);
    let ttl = SignedDuration::from_secs(ACCESS_TOKEN_TTL_SECS);
    let record = TokenRecord {
        digest: state.pepper.digest(token.expose()),
        key_id: key.id.clone(),
        created_at: now,
        // A token from a rotated-out secret dies with that secret's grace.
        expires_at: match key.previous_expires_at {
            Some(until) if key.is_previous(&digest) => until.min(now + ttl),
            _ => now + ttl,
        },
    };
    state.last_used.record(&key.id, now, meta.source_ip.clone());
    audit.outcome = "success";
    audit.error_code = None;
    state.store.insert_token(&record, &audit).await?;
    // So that this right secret is known the next time, even while others' failures throttle
    // its source.
    if let (Some(cache), Some(generation)) = (&state.cache, generation) {
        cache.cached.remember(&digest, &key, generation);
    }
    Ok(no_store(
        StatusCode::OK,
        &TokenResponse {
            access_token: token.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: record.expires_at.duration_since(now).as_secs(),
        },
    ))
}

/// A failed exchange's event: the first of its client id, source network and answer in the
/// interval is written (in a batch with the other failures of the moment, see `audit_queue`);
/// the others are counted, and written as one event when the interval is over (see
/// `failure_tally`): a flood from many addresses costs a bounded number of rows.
async fn record_failure(state: &AppState, audit: AuditEvent) -> StoreResult<()> {
    let (noted, ended) = state.failures.note(&audit);
    for count in ended {
        state.audit_queue.queue(count);
    }
    match noted {
        Noted::First => state.audit_queue.record(state.store.clone(), audit).await,
        Noted::Counted => Ok(()),
    }
}

/// `Authorization: Basic base64(id:secret)`, if present and well formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), Secret::new(secret.to_owned())))
}
