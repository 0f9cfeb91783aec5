//! The Keyward API's routes, one module per resource.

mod environments;
mod keys;
mod meta;
mod token;
mod verify;

use axum::Router;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::SharedState;
use super::error::ApiError;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/v1/oauth/token", post(token::exchange))
        .route("/v1/whoami", get(meta::whoami))
        .route("/v1/permissions", get(meta::permissions))
        .route(
            "/v1/environments",
            get(environments::list).post(environments::create),
        )
        .route("/v1/keys", get(keys::list).post(keys::create))
        .route("/v1/keys/{id}", get(keys::show).patch(keys::edit))
        .route("/v1/keys/{id}/disable", post(keys::disable))
        .route("/v1/keys/{id}/enable", post(keys::enable))
        .route("/v1/keys/{id}/rotate", post(keys::rotate))
        .route("/v1/keys/{id}/revoke", post(keys::revoke))
        .route("/v1/verify", post(verify::verify))
        .fallback(|| async { ApiError::NotFound("endpoint") })
        .layer(axum::middleware::from_fn(super::auth::request_id))
        .with_state(state)
}

/// A JSON body whose rejection is a problem+json that never echoes the values it was sent
/// (they might be secrets): it names a missing or unknown field, or says the JSON is malformed.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                let text = rejection.body_text();
                let safe = ["missing field", "unknown field", "unknown variant"]
                    .iter()
                    .find_map(|p| text.find(p).map(|i| &text[i..]));
                Err(ApiError::BadRequest(match safe {
                    Some(what) => format!("the request body was refused: {what}"),
                    None => {
                        "the request body must be a JSON object of the documented shape".to_owned()
                    }
                }))
            }
        }
    }
}

/// A JSON answer that must not be cached: it carries a secret or a token.
pub fn no_store<T: Serialize>(status: axum::http::StatusCode, body: &T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
