//! The Keyward API's routes, one module per resource.

mod audit;
mod authz;
mod environments;
mod extract;
mod keys;
mod meta;
pub mod openapi;
mod token;
mod verify;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{BODY_LIMIT, Body, FormBody, Params};

use super::SharedState;
use super::error::ApiError;

/// Every endpoint, each registered with its OpenAPI description (see `openapi`).
fn api_router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::readyz))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(token::exchange))
        .routes(routes!(meta::whoami))
        .routes(routes!(meta::permissions))
        .routes(routes!(environments::list, environments::create))
        .routes(routes!(environments::delete))
        .routes(routes!(keys::list, keys::create::create))
        .routes(routes!(keys::show, keys::edit::edit))
        .routes(routes!(keys::lifecycle::disable))
        .routes(routes!(keys::lifecycle::enable))
        .routes(routes!(keys::lifecycle::rotate))
        .routes(routes!(keys::lifecycle::revoke))
        .routes(routes!(keys::credits::credits))
        .routes(routes!(keys::usage::usage))
        .routes(routes!(verify::verify))
        .routes(routes!(authz::authz))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::checkpoint))
}

pub fn router(state: SharedState) -> Router {
    let (api, _) = api_router().split_for_parts();
    // Forward auth takes whatever method the client's request had (nginx and Envoy keep it),
    // and, for Envoy, any path below it.
    let forward = axum::routing::post(authz::authz)
        .put(authz::authz)
        .patch(authz::authz)
        .delete(authz::authz)
        .options(authz::authz);
    let api = api
        .route("/v1/authz", forward)
        .route("/v1/authz/", axum::routing::any(authz::authz))
        .route("/v1/authz/{*rest}", axum::routing::any(authz::authz));
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        super::metrics::count,
    ))
    .fallback(|| async { ApiError::NotFound("endpoint") })
    .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
    .layer(axum::middleware::from_fn_with_state(state.clone(), frame))
    .with_state(state)
}

/// Around every request, in one layer (each layer is a cost on verify's path): the request's
/// id (echoed in `X-Request-Id`, carried by its log lines and audit events), a NUL in the URL
/// refused (`%00`; a raw one cannot be in a URL), as it is in bodies (see
/// [`extract::nul_refused`]), the request timeout (a request that takes longer once its head
/// has arrived, a body trickling in say, is answered 408 and its work dropped), problem+json
/// for whatever the framework answered by itself, and the safety headers: no content sniffing
/// on any answer (a browser shown a key's description must not run it as HTML), no caching of
/// any `/v1` answer by a browser or proxy.
async fn frame(
    axum::extract::State(state): axum::extract::State<SharedState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument;
    let id = super::auth::start_request(&mut request);
    let path = request.uri().path();
    let is_v1 = path.starts_with("/v1/");
    // The path only: query strings are not logged (they carry search text, not secrets, but
    // nothing in a request is logged that need not be).
    let span = tracing::info_span!("request", id = %id, method = %request.method(), path = %path);
    let nul = request
        .uri()
        .path_and_query()
        .is_some_and(|p| p.as_str().contains("%00"));
    let response = async {
        if nul {
            return extract::nul_refused().into_response();
        }
        let request = match whole_body(request, state.connections.header_timeout).await {
            Ok(request) => request,
            Err(refused) => return refused.into_response(),
        };
        tracing::debug!("request received");
        let response =
            match tokio::time::timeout(state.timing.request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::Status(axum::http::StatusCode::REQUEST_TIMEOUT).into_response(),
            };
        tracing::debug!(status = response.status().as_u16(), "request answered");
        response
    }
    .instrument(span)
    .await;
    let mut response = problem_everywhere(response);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_v1 {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The request with its body read whole, within `deadline` of its head: a body trickling in
/// slower than that is answered 408 at once, rather than holding a connection for the whole
/// request timeout. Until then the connection counts as waiting for its client, so past the
/// bound on open connections it may be closed to make room, as one trickling its head may (see
/// `listener`); from here on it is at work.
async fn whole_body(
    request: axum::extract::Request,
    deadline: std::time::Duration,
) -> Result<axum::extract::Request, ApiError> {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    let (parts, mut body) = request.into_parts();
    // Refused before a byte is read (and before hyper says `100 Continue`).
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return Err(ApiError::PayloadTooLarge);
    }
    // Copied into one buffer as it comes: a body sent as many tiny chunks costs its bytes, not
    // a stored frame (and a read buffer) per chunk. A body of one frame (most are) is kept as
    // it came, uncopied; an empty one is not read at all.
    let mut first: Option<bytes::Bytes> = None;
    let mut more = bytes::BytesMut::new();
    if !body.is_end_stream() {
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame
                    .map_err(|_| ApiError::BadRequest("the request body was cut off".to_owned()))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let held = first.as_ref().map_or(0, bytes::Bytes::len) + more.len();
                if held + data.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge);
                }
                match &first {
                    None => first = Some(data),
                    Some(head) => {
                        if more.is_empty() {
                            more.reserve(declared.unwrap_or(0).max(head.len() + data.len()));
                            more.extend_from_slice(head);
                        }
                        more.extend_from_slice(&data);
                    }
                }
            }
            Ok(())
        };
        match tokio::time::timeout(deadline, read).await {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => return Err(refused),
            Err(_) => return Err(ApiError::Status(axum::http::StatusCode::REQUEST_TIMEOUT)),
        }
    }
    let whole = if more.is_empty() {
        first.unwrap_or_default()
    } else {
        more.freeze()
    };
    if let Some(connection) = parts.extensions.get::<super::listener::Connection>() {
        // Chosen to make room meanwhile: do nothing, the connection is being closed.
        if !connection.at_work() {
            return Err(ApiError::Status(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ));
        }
    }
    Ok(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(whole),
    ))
}

/// A JSON answer that must not be cached: it carries a secret or a token.
pub fn no_store<T: Serialize>(status: axum::http::StatusCode, body: &T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Every error answer is problem+json. The handlers' own errors already are; this catches what
/// the framework answers by itself, so a client never has to parse text/plain or an empty body.
fn problem_everywhere(response: Response) -> Response {
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
