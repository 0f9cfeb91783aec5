//! The Keyward API's routes, one module per resource.

mod environments;
mod extract;
mod keys;
mod meta;
mod token;
mod verify;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

pub use extract::{BODY_LIMIT, Body, FormBody, Params};

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
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::metrics::count,
        ))
        .fallback(|| async { ApiError::NotFound("endpoint") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            time_limit,
        ))
        .layer(axum::middleware::from_fn(refuse_nul_in_url))
        .layer(axum::middleware::map_response(problem_everywhere))
        .layer(axum::middleware::map_response(safety_headers))
        .layer(axum::middleware::from_fn(super::auth::request_id))
        .with_state(state)
}

/// A request that takes longer than the request timeout once its head has arrived (a body
/// trickling in, say) is answered 408 and its work dropped.
async fn time_limit(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(state.timing.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Status(axum::http::StatusCode::REQUEST_TIMEOUT).into_response(),
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

/// A NUL in the path or query (`%00`; a raw one cannot be in a URL) is refused before any
/// handler sees it, as it is in bodies (see [`extract::nul_refused`]).
async fn refuse_nul_in_url(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let uri = request.uri();
    let path_and_query = uri.path_and_query().map_or("", |p| p.as_str());
    if path_and_query.contains("%00") {
        return extract::nul_refused().into_response();
    }
    next.run(request).await
}

/// On every answer: no content sniffing (a browser shown a key's description must not run it as
/// HTML); on every `/v1` answer, no caching by any browser or proxy (keys, tokens, lists).
async fn safety_headers(uri: axum::http::Uri, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if uri.path().starts_with("/v1/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Every error answer is problem+json. The handlers' own errors already are; this catches what
/// the framework answers by itself, so a client never has to parse text/plain or an empty body.
async fn problem_everywhere(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if status.as_u16() < 400 || is_problem {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut problem = ApiError::Status(status).into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}
