//! The typed client of the Keyward API: one method per endpoint, no printing.
//!
//! Requests go either over HTTP to a server, or, for the embedded local store, straight into the
//! server's own router in-process: the same handlers, the same rules, no socket.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tower::ServiceExt;

use crate::api::{
    AuditEvent, AuditVerification, CreateEnvironment, CreateKey, DeletedEnvironment, EditKey,
    EnableKey, Environment, Key, KeyUsage, KeyWithSecret, ListAudit, ListKeys, Page, Permission,
    Problem, RotateKey, TokenResponse, UsageQuery, VerifyRequest, VerifyResponse, Whoami,
};
use crate::secret::Secret;
use crate::server::LocalRoot;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem.
    #[error("{detail}")]
    Api {
        status: u16,
        code: String,
        detail: String,
    },
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        /// The request may have reached the server (a timeout or a cut connection), so a retry
        /// must be idempotent.
        maybe_delivered: bool,
    },
    #[error("the server's answer could not be read: {0}")]
    Decode(String),
    #[error(
        "not logged in to {url}: run `keyward login --url {url}`, or set KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET"
    )]
    NotLoggedIn { url: String },
    /// The profile's own key may not get a token now (disabled, expired, revoked, a public key, or an
    /// address its allowlist refuses).
    #[error(
        "the login key {client_id} cannot get an access token: {detail}; {}, or log in with another key (`keyward login`, or KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET)",
        login_remedy(.code, .client_id)
    )]
    LoginRefused {
        client_id: String,
        code: String,
        detail: String,
    },
}

pub type ClientResult<T> = Result<T, ClientError>;

/// What may bring a refused login key back, by the refusal's code.
fn login_remedy(code: &str, client_id: &str) -> String {
    match code {
        "key_revoked" => "a revoked key never works again".to_owned(),
        "key_disabled" | "key_expired" => {
            format!("ask an admin to enable it (`keyward keys enable {client_id}`)")
        }
        _ => "ask an admin to fix it".to_owned(),
    }
}

impl ClientError {
    /// A token endpoint's refusal of a known client, said as what it is: the login key itself
    /// may not be used now (exit 3, not a usage error).
    pub fn for_login(self, client_id: &str) -> ClientError {
        match self {
            ClientError::Api {
                status: 400,
                code,
                detail,
            } if matches!(
                code.as_str(),
                "key_disabled" | "key_expired" | "key_revoked" | "public_key" | "ip_not_allowed"
            ) =>
            {
                ClientError::LoginRefused {
                    client_id: client_id.to_owned(),
                    code,
                    detail,
                }
            }
            other => other,
        }
    }
}

/// Where requests go.
#[derive(Clone)]
pub enum Target {
    /// A server at this base URL (no trailing slash).
    Remote {
        url: String,
        /// CA certificates trusted besides the system's (`--ca-cert`).
        ca_certs: Vec<reqwest::Certificate>,
    },
    /// The embedded store: the server's router over a SQLite file.
    Local {
        path: PathBuf,
        router: axum::Router,
        state: crate::server::SharedState,
        os_user: String,
    },
}

impl Target {
    /// Where a change lands, for the last line of human output.
    pub fn describe(&self) -> String {
        match self {
            Target::Remote { url, .. } => format!("on {url}"),
            Target::Local { path, .. } => format!("in the local store at {}", path.display()),
        }
    }
}

/// How a remote client gets its bearer token.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
}

const IDEMPOTENCY_KEY: header::HeaderName = header::HeaderName::from_static("idempotency-key");

/// The `If-Match` header for a write based on `version`, if any.
fn if_match(version: Option<i64>) -> Vec<(header::HeaderName, String)> {
    version
        .map(|v| (header::IF_MATCH, format!("\"{v}\"")))
        .into_iter()
        .collect()
}

/// Called when the client obtains a new access token, so the CLI can cache it.
pub type TokenSink = Arc<dyn Fn(&str, i64) + Send + Sync>;

pub struct Client {
    target: Target,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    token: Mutex<Option<String>>,
    on_new_token: Option<TokenSink>,
}

struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
}

impl Client {
    pub fn new(target: Target, credentials: Option<Credentials>) -> Self {
        let http = http_client(match &target {
            Target::Remote { ca_certs, .. } => ca_certs,
            Target::Local { .. } => &[],
        });
        Client {
            target,
            http,
            credentials,
            token: Mutex::new(None),
            on_new_token: None,
        }
    }

    /// Starts with a cached token (refreshed from the credentials when the server refuses it).
    pub fn with_cached_token(self, token: Option<String>, sink: TokenSink) -> Self {
        Client {
            token: Mutex::new(token),
            on_new_token: Some(sink),
            ..self
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    // --- endpoints -------------------------------------------------------------------------

    /// `POST /v1/oauth/token` with HTTP Basic credentials.
    pub async fn token(&self, credentials: &Credentials) -> ClientResult<TokenResponse> {
        let form = b"grant_type=client_credentials".to_vec();
        let mut headers = HeaderMap::new();
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!(
                "{}:{}",
                credentials.client_id,
                credentials.client_secret.expose()
            ),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| ClientError::Api {
                status: 400,
                code: "invalid_client".to_owned(),
                detail: "the client id or secret holds characters HTTP headers cannot carry"
                    .to_owned(),
            })?,
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let answer = self
            .send(Method::POST, "/v1/oauth/token", headers, form, None)
            .await?;
        decode(answer)
    }

    pub async fn whoami(&self) -> ClientResult<Whoami> {
        self.call(Method::GET, "/v1/whoami", None::<&()>).await
    }

    pub async fn permissions(&self) -> ClientResult<Vec<Permission>> {
        self.call(Method::GET, "/v1/permissions", None::<&()>).await
    }

    pub async fn environments(&self) -> ClientResult<Vec<Environment>> {
        self.call(Method::GET, "/v1/environments", None::<&()>)
            .await
    }

    /// [`Client::environments`] with each one's keys counted by state (reads every key).
    pub async fn environments_with_counts(&self) -> ClientResult<Vec<Environment>> {
        self.call(Method::GET, "/v1/environments?counts=true", None::<&()>)
            .await
    }

    pub async fn delete_environment(&self, name: &str) -> ClientResult<DeletedEnvironment> {
        let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
        self.call(
            Method::DELETE,
            &format!("/v1/environments/{name}"),
            None::<&()>,
        )
        .await
    }

    pub async fn create_environment(&self, req: &CreateEnvironment) -> ClientResult<Environment> {
        self.call(Method::POST, "/v1/environments", Some(req)).await
    }

    /// Creates a key under `idempotency_key`; a request that may have reached the server but
    /// got no answer is sent again with the same key, so it never mints two.
    pub async fn create_key(
        &self,
        req: &CreateKey,
        idempotency_key: &str,
    ) -> ClientResult<KeyWithSecret> {
        let headers = [(IDEMPOTENCY_KEY, idempotency_key.to_owned())];
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .call_with(Method::POST, "/v1/keys", Some(req), &headers)
                .await
            {
                Err(ClientError::Unreachable {
                    maybe_delivered: true,
                    ..
                }) if attempt < 3 => {
                    tokio::time::sleep(std::time::Duration::from_millis(300 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// `PATCH /v1/keys/{id}` based on `version` (sent as `If-Match`).
    pub async fn edit_key(&self, id: &str, version: i64, edit: &EditKey) -> ClientResult<Key> {
        self.call_with(
            Method::PATCH,
            &format!("/v1/keys/{}", segment(id)),
            Some(edit),
            &if_match(Some(version)),
        )
        .await
    }

    /// `POST /v1/keys/{id}/disable`; with `version`, only if the key is still at that version
    /// (a 412 otherwise).
    pub async fn disable_key(&self, id: &str, version: Option<i64>) -> ClientResult<Key> {
        self.call_with(
            Method::POST,
            &format!("/v1/keys/{}/disable", segment(id)),
            None::<&()>,
            &if_match(version),
        )
        .await
    }

    /// `POST /v1/keys/{id}/enable`; with `version`, only if the key is still at that version.
    pub async fn enable_key(
        &self,
        id: &str,
        req: &EnableKey,
        version: Option<i64>,
    ) -> ClientResult<Key> {
        self.call_with(
            Method::POST,
            &format!("/v1/keys/{}/enable", segment(id)),
            Some(req),
            &if_match(version),
        )
        .await
    }

    pub async fn rotate_key(&self, id: &str, req: &RotateKey) -> ClientResult<KeyWithSecret> {
        self.call(
            Method::POST,
            &format!("/v1/keys/{}/rotate", segment(id)),
            Some(req),
        )
        .await
    }

    pub async fn change_credits(
        &self,
        id: &str,
        req: &crate::api::ChangeCredits,
    ) -> ClientResult<Key> {
        self.call(
            Method::POST,
            &format!("/v1/keys/{}/credits", segment(id)),
            Some(req),
        )
        .await
    }

    pub async fn verify(&self, req: &VerifyRequest) -> ClientResult<VerifyResponse> {
        self.call(Method::POST, "/v1/verify", Some(req)).await
    }

    pub async fn audit(&self, query: &ListAudit) -> ClientResult<Page<AuditEvent>> {
        let qs = serde_urlencoded::to_string(query)
            .map_err(|e| ClientError::Decode(format!("cannot encode the query: {e}")))?;
        self.call(Method::GET, &format!("/v1/audit?{qs}"), None::<&()>)
            .await
    }

    pub async fn key_usage(&self, id: &str, query: &UsageQuery) -> ClientResult<KeyUsage> {
        let qs = serde_urlencoded::to_string(query)
            .map_err(|e| ClientError::Decode(format!("cannot encode the query: {e}")))?;
        self.call(
            Method::GET,
            &format!("/v1/keys/{id}/usage?{qs}"),
            None::<&()>,
        )
        .await
    }

    /// Walks the audit chain, however long it is; `progress` hears how many events were
    /// checked as the server goes on. With `checkpoint` (`ID:LINK`), also fails when that event
    /// is gone or changed.
    pub async fn verify_audit(
        &self,
        checkpoint: Option<&str>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> ClientResult<AuditVerification> {
        let query = crate::api::VerifyAudit {
            checkpoint: checkpoint.map(str::to_owned),
            progress: Some(true),
        };
        let qs = serde_urlencoded::to_string(&query)
            .map_err(|e| ClientError::Decode(format!("cannot encode the query: {e}")))?;
        let lines = |line: &[u8]| {
            if let Ok(p) = serde_json::from_slice::<crate::api::AuditProgress>(line) {
                progress(p.checked);
            }
        };
        self.call_streaming(
            Method::GET,
            &format!("/v1/audit/verify?{qs}"),
            None::<&()>,
            &[],
            Some(&lines),
        )
        .await
    }

    /// The audit log's newest event, as a checkpoint.
    pub async fn audit_checkpoint(&self) -> ClientResult<crate::api::AuditCheckpoint> {
        self.call(Method::GET, "/v1/audit/checkpoint", None::<&()>)
            .await
    }

    pub async fn list_keys(&self, query: &ListKeys) -> ClientResult<Page<Key>> {
        let qs = serde_urlencoded::to_string(query)
            .map_err(|e| ClientError::Decode(format!("cannot encode the query: {e}")))?;
        let path = if qs.is_empty() {
            "/v1/keys".to_owned()
        } else {
            format!("/v1/keys?{qs}")
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// Every key matching `query`, page after page.
    pub async fn list_all_keys(&self, query: &ListKeys) -> ClientResult<Vec<Key>> {
        let mut query = query.clone();
        query.limit = Some(1000);
        let mut keys = Vec::new();
        loop {
            let page = self.list_keys(&query).await?;
            keys.extend(page.items);
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => return Ok(keys),
            }
        }
    }

    pub async fn get_key(&self, id: &str) -> ClientResult<Key> {
        self.call(
            Method::GET,
            &format!("/v1/keys/{}", segment(id)),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/keys/{id}/revoke`; with `version`, only if the key is still at that version.
    pub async fn revoke_key(&self, id: &str, version: Option<i64>) -> ClientResult<Key> {
        self.call_with(
            Method::POST,
            &format!("/v1/keys/{}/revoke", segment(id)),
            None::<&()>,
            &if_match(version),
        )
        .await
    }

    // --- plumbing --------------------------------------------------------------------------

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> ClientResult<T> {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        extra_headers: &[(header::HeaderName, String)],
    ) -> ClientResult<T> {
        self.call_streaming(method, path, body, extra_headers, None)
            .await
    }

    /// An authenticated JSON call; on a refused cached token, gets a fresh one and retries once.
    /// With `lines`, the answer is JSON Lines read as they arrive, with no time limit: each
    /// line but the last goes to `lines`, and the last is the answer.
    async fn call_streaming<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        extra_headers: &[(header::HeaderName, String)],
        lines: Option<&Lines<'_>>,
    ) -> ClientResult<T> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        let mut fresh = false;
        loop {
            let mut headers = HeaderMap::new();
            if body.is_some() {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            for (name, value) in extra_headers {
                let value = HeaderValue::from_str(value)
                    .map_err(|_| ClientError::Decode(format!("bad {name} header value")))?;
                headers.insert(name.clone(), value);
            }
            if let Target::Remote { url, .. } = &self.target {
                let token = self.bearer(url, fresh).await?;
                let value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| ClientError::Decode("malformed access token".to_owned()))?;
                headers.insert(header::AUTHORIZATION, value);
            }
            let answer = self
                .send(method.clone(), path, headers, bytes.clone(), lines)
                .await?;
            if answer.status == StatusCode::UNAUTHORIZED && !fresh && self.credentials.is_some() {
                fresh = true;
                continue;
            }
            return decode(answer);
        }
    }

    /// The bearer token to send: the cached one, or a new one from the credentials.
    async fn bearer(&self, url: &str, force_new: bool) -> ClientResult<String> {
        let mut cached = self.token.lock().await;
        if !force_new {
            if let Some(t) = cached.as_ref() {
                return Ok(t.clone());
            }
        }
        let credentials = self.credentials.as_ref().ok_or(ClientError::NotLoggedIn {
            url: url.to_owned(),
        })?;
        let answer = self
            .token(credentials)
            .await
            .map_err(|e| e.for_login(&credentials.client_id))?;
        if let Some(sink) = &self.on_new_token {
            sink(&answer.access_token, answer.expires_in);
        }
        *cached = Some(answer.access_token.clone());
        Ok(answer.access_token)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        lines: Option<&Lines<'_>>,
    ) -> ClientResult<Answer> {
        match &self.target {
            Target::Remote { url, .. } => {
                let method_shown = method.clone();
                let mut request = self
                    .http
                    .request(method, format!("{url}{path}"))
                    .headers(headers)
                    .body(body);
                if lines.is_some() {
                    // The server sends a line at least every second: the walk may take long.
                    request = request.timeout(STREAMED_ANSWER_LIMIT);
                }
                let mut response = request.send().await.map_err(|e| ClientError::Unreachable {
                    url: url.clone(),
                    reason: transport_reason(&e),
                    maybe_delivered: !e.is_connect(),
                })?;
                let status = response.status();
                if status.is_redirection() {
                    return Err(redirected(url, status, response.headers()));
                }
                // -v: each request's method, path, status and request id (never a header or a
                // body, which may carry a secret).
                tracing::info!(
                    method = %method_shown,
                    path = %path_shown(path),
                    status = status.as_u16(),
                    request_id = %response
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-"),
                    "request"
                );
                let mut reader = LineReader::new(lines.filter(|_| status.is_success()));
                loop {
                    let chunk = response
                        .chunk()
                        .await
                        .map_err(|e| ClientError::Unreachable {
                            url: url.clone(),
                            reason: transport_reason(&e),
                            maybe_delivered: true,
                        })?;
                    match chunk {
                        Some(chunk) => reader.push(&chunk),
                        None => break,
                    }
                }
                Ok(Answer {
                    status,
                    body: reader.finish(),
                })
            }
            Target::Local {
                router,
                state,
                os_user,
                ..
            } => {
                let mut request = Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::from(body))
                    .map_err(|e| ClientError::Decode(e.to_string()))?;
                *request.headers_mut() = headers;
                request.extensions_mut().insert(LocalRoot {
                    os_user: os_user.clone(),
                });
                let response = router
                    .clone()
                    .oneshot(request)
                    .await
                    .expect("the router never fails");
                let status = response.status();
                let mut reader = LineReader::new(lines.filter(|_| status.is_success()));
                let mut stream = response.into_body().into_data_stream();
                while let Some(chunk) = std::future::poll_fn(|cx| {
                    futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
                })
                .await
                {
                    reader.push(&chunk.map_err(|e| ClientError::Decode(e.to_string()))?);
                }
                let body = reader.finish();
                // No background task outlives a CLI command: write last-used times now.
                crate::server::flush_pending(state).await;
                Ok(Answer { status, body })
            }
        }
    }
}

/// What a streamed answer's lines are handed to, as they arrive.
type Lines<'a> = dyn Fn(&[u8]) + Send + Sync + 'a;

/// The longest a streamed answer may take (an audit verify of a very long log).
const STREAMED_ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Reads an answer as it arrives; with a line sink, hands it each complete line but keeps only
/// the last (the answer), so that a long stream of progress costs no memory.
struct LineReader<'a> {
    lines: Option<&'a Lines<'a>>,
    body: Vec<u8>,
}

impl<'a> LineReader<'a> {
    fn new(lines: Option<&'a Lines<'a>>) -> Self {
        LineReader {
            lines,
            body: Vec::new(),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.body.extend_from_slice(chunk);
        let Some(lines) = self.lines else { return };
        // Every complete line but the newest goes out: the newest may be the answer.
        while let Some(end) = self.body.iter().position(|b| *b == b'\n') {
            if self.body[end + 1..].is_empty() {
                break;
            }
            let line: Vec<u8> = self.body.drain(..=end).collect();
            lines(&line[..line.len() - 1]);
        }
    }

    fn finish(self) -> bytes::Bytes {
        bytes::Bytes::from(self.body)
    }
}

/// The HTTP client: the system's trusted roots, plus `ca_certs` (`--ca-cert`). It follows no
/// redirect: every request carries a secret or a token (reqwest would send a 307's or 308's
/// body on to wherever the server points, and a same-host redirect's headers too).
fn http_client(ca_certs: &[reqwest::Certificate]) -> reqwest::Client {
    // One crypto provider for rustls, chosen here rather than by feature unification.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(ca_certs.iter().cloned())
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("the HTTP client builds")
}

/// A redirect, said as what it is: keyward sends nothing on to where it points, and names only
/// the origin it points to (its path and query are the other server's, and no use here).
fn redirected(url: &str, status: StatusCode, headers: &HeaderMap) -> ClientError {
    let from = reqwest::Url::parse(url).ok();
    let to = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| from.as_ref()?.join(location).ok())
        .filter(|to| matches!(to.scheme(), "http" | "https"))
        // Another path on the same server is no server to move to.
        .filter(|to| {
            from.as_ref()
                .is_some_and(|from| from.origin() != to.origin())
        })
        .map(|to| to.origin().ascii_serialization());
    let detail = match to {
        Some(to) => format!(
            "{url} answered with a redirect ({}) to {to}; keyward follows no redirect, so that its secret or token never goes anywhere it was not sent. If you trust {to}, use it as the server's URL (`keyward login --url {to}`, or KEYWARD_URL)",
            status.as_u16()
        ),
        _ => format!(
            "{url} answered with a redirect ({}); keyward follows no redirect, so that its secret or token never goes anywhere it was not sent. Is the URL that of a keyward server (not a proxy's or a login page's)?",
            status.as_u16()
        ),
    };
    ClientError::Api {
        status: status.as_u16(),
        code: "redirect".to_owned(),
        detail,
    }
}

/// A short, secret-free reason for a transport failure.
fn transport_reason(e: &reqwest::Error) -> String {
    if let Some(tls) = tls_failure(e) {
        return match &tls {
            // webpki's own error, which rustls passes on only as text.
            rustls::Error::InvalidCertificate(_) if tls.to_string().contains("CaUsedAsEndEntity") => {
                "TLS: the server presents a CA certificate (basicConstraints CA:TRUE) as its own, which no client accepts; give the server a certificate made with basicConstraints CA:FALSE (the README shows the openssl command)".to_owned()
            }
            rustls::Error::InvalidCertificate(problem) => format!(
                "TLS: the server's certificate is not trusted: {}; if it is self-signed or your own CA signed it, pass --ca-cert FILE (or set KEYWARD_CA_CERT)",
                certificate_problem(problem)
            ),
            // What a plain-HTTP server sends back to a TLS hello is no TLS record at all.
            rustls::Error::InvalidMessage(_) => {
                "TLS: the server did not answer in TLS; if it serves plain HTTP, use an http:// URL"
                    .to_owned()
            }
            _ => format!("TLS: the handshake failed ({tls})"),
        };
    }
    if e.is_connect() {
        "connection refused or host unreachable".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        reason
    }
}

/// What is wrong with a certificate, in words (rustls' own text is its debug form, with the
/// bytes of the algorithm's identifier).
fn certificate_problem(problem: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as E;
    match problem {
        E::Expired | E::ExpiredContext { .. } => "it has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet",
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "it does not name the host in the URL"
        }
        E::Revoked => "it was revoked",
        E::UnknownIssuer => "it is self-signed, or signed by a CA this machine does not trust",
        _ => {
            "it is self-signed or signed by a CA this machine does not trust, or cannot be checked"
        }
    }
}

/// The TLS error behind a transport failure, if that is what it was: an https:// URL against a
/// plain-HTTP server fails in the handshake, not with a refused connection.
fn tls_failure(e: &reqwest::Error) -> Option<rustls::Error> {
    std::error::Error::source(e).and_then(find_tls)
}

fn find_tls(e: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls.clone());
    }
    // An io::Error's source() skips the error it wraps, which is where rustls puts its own
    // (sometimes an io::Error inside an io::Error).
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(found) = find_tls(inner) {
            return Some(found);
        }
    }
    e.source().and_then(find_tls)
}

/// The path without its query string (search text is the user's, not the log's).
fn path_shown(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Percent-encodes one path segment (ids are plain, names might not be).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode<T: DeserializeOwned>(answer: Answer) -> ClientResult<T> {
    if answer.status.is_success() {
        return serde_json::from_slice(&answer.body)
            .map_err(|e| ClientError::Decode(e.to_string()));
    }
    match serde_json::from_slice::<Problem>(&answer.body) {
        Ok(p) => Err(ClientError::Api {
            status: answer.status.as_u16(),
            code: p.code,
            detail: p.detail,
        }),
        Err(_) => Err(ClientError::Api {
            status: answer.status.as_u16(),
            code: "http_error".to_owned(),
            detail: format!(
                "the server answered {} without a problem document; is the URL that of a keyward server?",
                answer.status
            ),
        }),
    }
}
