//! The one error type of the API. It renders as RFC 9457 problem+json with a stable `code`, and
//! never carries database text or secrets: internal causes are logged by kind, not shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::Problem;
use crate::server::store::{Conflict, StoreError};

/// The most a request body may hold; more answers 413 (said here, where the 413 is).
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug)]
pub enum ApiError {
    /// 401: no valid bearer token.
    Unauthenticated(&'static str),
    /// 401 on the token endpoint (RFC 6749 `invalid_client`): unknown id or wrong secret alike.
    InvalidClient,
    /// 400 on the token endpoint: a known client that may not get a token now (a public,
    /// disabled or expired key, or a refused address); `code` says which.
    UnauthorizedClient { code: &'static str, detail: String },
    /// 400 on the token endpoint: not `grant_type=client_credentials`.
    UnsupportedGrantType,
    /// 403: authenticated but not allowed.
    Forbidden(String),
    /// 404: no such thing, or not visible to this caller (the two answer alike).
    NotFound(&'static str),
    /// 412: the `If-Match` version is stale.
    PreconditionFailed(String),
    /// 428: a write that needs `If-Match` came without one.
    PreconditionRequired,
    /// 409 with a specific code.
    Conflict { code: &'static str, detail: String },
    /// 422: a well-formed request whose values break a rule.
    Invalid { code: &'static str, detail: String },
    /// 400: the request itself is malformed.
    BadRequest(String),
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not of the media type named.
    UnsupportedMediaType(&'static str),
    /// Any other error status the framework answered by itself.
    Status(StatusCode),
    /// 429: too many failed attempts for this client id or address; `Retry-After` says when.
    Throttled { retry_after_secs: u64 },
    /// Forward auth's refusal of the key a gateway's client presented (401, 403 or 429).
    Refused {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    /// 503: the database cannot be reached; logged, and nothing is guessed meanwhile.
    Unavailable(String),
    /// 500: logged, never explained to the caller.
    Internal(String),
}

impl ApiError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// The problem's `code` (what an audit event of a failure records).
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Option<&'static str>) {
        use ApiError::*;
        match self {
            Unauthenticated(d) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                (*d).to_owned(),
                None,
            ),
            InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client id or wrong client secret".to_owned(),
                Some("invalid_client"),
            ),
            UnauthorizedClient { code, detail } => (
                StatusCode::BAD_REQUEST,
                code,
                detail.clone(),
                Some("unauthorized_client"),
            ),
            UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported".to_owned(),
                Some("unsupported_grant_type"),
            ),
            Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d.clone(), None),
            NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {what}"),
                None,
            ),
            Conflict { code, detail } => (StatusCode::CONFLICT, code, detail.clone(), None),
            PreconditionFailed(d) => (
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                d.clone(),
                None,
            ),
            PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if_match_required",
                "send If-Match with the ETag (version) of the key as you read it".to_owned(),
                None,
            ),
            Invalid { code, detail } => {
                (StatusCode::UNPROCESSABLE_ENTITY, code, detail.clone(), None)
            }
            BadRequest(d) => (StatusCode::BAD_REQUEST, "bad_request", d.clone(), None),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method; the Allow header lists the ones it takes"
                    .to_owned(),
                None,
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is over the limit of {} bytes", BODY_LIMIT),
                None,
            ),
            UnsupportedMediaType(wanted) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send the body as {wanted}, with that Content-Type"),
                None,
            ),
            Status(status) => {
                let reason = status.canonical_reason().unwrap_or("error");
                let code = match status.as_u16() {
                    400 => "bad_request",
                    404 => "not_found",
                    405 => "method_not_allowed",
                    408 => "request_timeout",
                    413 => "payload_too_large",
                    414 => "uri_too_long",
                    415 => "unsupported_media_type",
                    422 => "invalid",
                    431 => "headers_too_large",
                    s if s >= 500 => "internal",
                    _ => "error",
                };
                let detail = match status.as_u16() {
                    414 => "the URL is too long".to_owned(),
                    431 => "the request's head (its URL and headers) is over 64 KiB, or has too many headers".to_owned(),
                    _ => format!("{reason}."),
                };
                (*status, code, detail, None)
            }
            Throttled { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                format!(
                    "too many failed attempts from this client id or address; try again in {retry_after_secs} s"
                ),
                None,
            ),
            Refused {
                status,
                code,
                detail,
            } => (*status, code, detail.clone(), None),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the server cannot reach its database now; try again shortly".to_owned(),
                None,
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed; the request id in its log says more".to_owned(),
                None,
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(Conflict::EnvironmentGone) => ApiError::Conflict {
                code: "environment_deleted",
                detail:
                    "an environment of the key was deleted meanwhile; read the environments again"
                        .to_owned(),
            },
            StoreError::Conflict(Conflict::LastSuperAdmin) => last_super_admin(),
            StoreError::Conflict(conflict) => ApiError::Conflict {
                code: "conflict",
                detail: format!("conflicts with an existing {}", conflict.what()),
            },
            StoreError::Unavailable(source) => ApiError::Unavailable(source.to_string()),
            StoreError::Database(source) => ApiError::Internal(source.to_string()),
            // Only opening a database finds this; a request never does.
            e @ StoreError::NewerSchema(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            // Database text goes to the log only, never to the caller.
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let (status, body) = self.problem_json();
        let error = self.parts().3;
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::Throttled { retry_after_secs } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if error.is_some() {
                "Basic realm=\"keyward\""
            } else {
                "Bearer realm=\"keyward\""
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl ApiError {
    /// The status and the problem+json body that answer this error.
    fn problem_json(&self) -> (StatusCode, Vec<u8>) {
        let (status, code, detail, error) = self.parts();
        let problem = Problem {
            type_uri: format!("https://keyward.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail,
            error: error.map(str::to_owned),
        };
        let body = serde_json::to_vec(&problem).expect("a problem always serialises");
        (status, body)
    }
}

/// The problem+json body that answers `status` alone: what the HTTP layer refuses before a
/// request exists (a request line that does not parse, headers too large, a URI too long).
pub fn status_problem(status: StatusCode) -> Vec<u8> {
    ApiError::Status(status).problem_json().1
}

pub type ApiResult<T> = Result<T, ApiError>;

/// No lockout: the answer to disabling, revoking, expiring or taking `admin` from the last
/// active super-admin key.
pub fn last_super_admin() -> ApiError {
    ApiError::Conflict {
        code: "last_super_admin",
        detail: "this is the last active super-admin key, and without it nobody could manage keyward; create another super-admin key first. If every super-admin key is ever lost, `keyward server --break-glass` on the server host mints a new one".to_owned(),
    }
}
