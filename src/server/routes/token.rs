//! `POST /v1/oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4). The key id is
//! the client id and its secret the client secret, sent with HTTP Basic or in the form body.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use jiff::SignedDuration;
use serde::Deserialize;

use super::no_store;
use crate::api::{ACCESS_TOKEN_TTL_SECS, KeyStatus, KeyType, TokenResponse};
use crate::secret::{self, Secret};
use crate::server::SharedState;
use crate::server::auth::RequestMeta;
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::{AuditEvent, TokenRecord};

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

pub async fn exchange(
    State(state): State<SharedState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
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
    let mut audit = AuditEvent {
        at: now,
        actor: format!("key:{client_id}"),
        action: "token.exchange",
        key_id: None,
        environment: None,
        source_ip: meta.source_ip,
        request_id: meta.request_id,
        outcome: "failure",
    };

    // A mistyped keyward secret is refused before any look-up.
    let candidate = client_secret.expose();
    let well_formed = !candidate.starts_with("kw_") || secret::check_format(candidate).is_ok();
    let key = if well_formed {
        state.store.get_key(&client_id).await?
    } else {
        None
    };
    let digest = state.pepper.digest(candidate);
    let matches = key.as_ref().is_some_and(|k| {
        k.secret_digest
            .as_deref()
            .is_some_and(|stored| secret::digests_equal(stored, &digest))
    });
    let Some(key) = key.filter(|_| matches) else {
        state.store.record_audit(&audit).await?;
        return Err(ApiError::InvalidClient);
    };
    audit.key_id = Some(key.id.clone());
    if key.key_type == KeyType::Public {
        state.store.record_audit(&audit).await?;
        return Err(ApiError::UnauthorizedClient(
            "public keys cannot obtain access tokens; use a private key".to_owned(),
        ));
    }
    let status = key.status_at(now);
    if status != KeyStatus::Active {
        state.store.record_audit(&audit).await?;
        return Err(ApiError::UnauthorizedClient(format!(
            "the key is {}",
            status.as_str()
        )));
    }

    let token = Secret::generate(secret::TOKEN_PREFIX);
    let record = TokenRecord {
        digest: state.pepper.digest(token.expose()),
        key_id: key.id.clone(),
        created_at: now,
        expires_at: now + SignedDuration::from_secs(ACCESS_TOKEN_TTL_SECS),
    };
    audit.outcome = "success";
    state.store.insert_token(&record, &audit).await?;
    Ok(no_store(
        StatusCode::OK,
        &TokenResponse {
            access_token: token.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: ACCESS_TOKEN_TTL_SECS,
        },
    ))
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
