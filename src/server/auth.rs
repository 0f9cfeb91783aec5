//! Who is calling: the [`Principal`] extractor, and the request's source and id for the audit log.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use jiff::Timestamp;

use super::error::{ApiError, ApiResult};
use super::ipmatch;
use super::{AppState, SharedState};
use crate::api::{KeyStatus, PERM_ADMIN};
use crate::secret;

/// Put into a request's extensions by the embedded client only: the caller is the local root,
/// the OS user running the CLI. A request from the network can never carry it.
#[derive(Debug, Clone)]
pub struct LocalRoot {
    pub os_user: String,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `key:<id>` or `local:<os user>`: the audit log's `actor`.
    pub actor: String,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub permissions: BTreeSet<String>,
    /// `None`: every environment.
    pub environments: Option<BTreeSet<String>>,
    pub token_expires_at: Option<Timestamp>,
    /// When the calling key itself expires.
    pub key_expires_at: Option<Timestamp>,
    /// The calling key's own IP allowlist (empty: any address).
    pub allowed_ips: Vec<String>,
    /// The calling key has rate limits or credits: it may not manage keys (see
    /// `rules::metering`; this holds for a key made before that rule too).
    pub metered: bool,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.permissions.contains(PERM_ADMIN)
    }

    pub fn holds(&self, permission: &str) -> bool {
        self.is_admin() || self.permissions.contains(permission)
    }

    /// 403 unless the caller holds `permission` (and, for `keys:write`, is not metered).
    pub fn require(&self, permission: &str) -> ApiResult<()> {
        if permission == crate::api::PERM_KEYS_WRITE && self.metered {
            return Err(ApiError::Forbidden(
                "your key has rate limits or credits, and a metered key cannot manage keys: the keys it made or changed would not be bound by its limits".to_owned(),
            ));
        }
        if self.holds(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {permission} permission, which your key does not hold"
            )))
        }
    }

    pub fn reaches(&self, environment: &str) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|envs| envs.contains(environment))
    }

    /// A key is visible only when every environment it belongs to is within the caller's.
    pub fn sees(&self, key_environments: &BTreeSet<String>) -> bool {
        key_environments.iter().all(|e| self.reaches(e))
    }
}

impl FromRequestParts<SharedState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
        if let Some(root) = parts.extensions.get::<LocalRoot>() {
            return Ok(Principal {
                actor: format!("local:{}", root.os_user),
                key_id: None,
                key_name: None,
                permissions: BTreeSet::from([PERM_ADMIN.to_owned()]),
                environments: None,
                token_expires_at: None,
                key_expires_at: None,
                allowed_ips: Vec::new(),
                metered: false,
            });
        }
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthenticated(
            "send Authorization: Bearer <access token>; get one from POST /v1/oauth/token",
        ))?;
        let from = source_address(parts, state);
        authenticate_token(state, token, from).await
    }
}

/// The credential in `Authorization: Bearer …`: an access token for the API, a client's key at
/// forward auth.
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The address a request came from, as token exchange and the audit log see it.
pub(super) fn source_address(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
    client_address(peer, parts, &state.trusted_proxies)
}

async fn authenticate_token(
    state: &AppState,
    token: &str,
    from: Option<IpAddr>,
) -> ApiResult<Principal> {
    const REFUSED: ApiError =
        ApiError::Unauthenticated("the access token is invalid or expired; get a new one");
    if secret::check_token_format(token).is_err() {
        return Err(REFUSED);
    }
    let digest = state.pepper.digest(token);
    let now = state.now();
    let (record, key) = state
        .credentials
        .token_and_key(&digest)
        .await?
        .ok_or(REFUSED)?;
    if record.expires_at <= now {
        return Err(REFUSED);
    }
    // The key's state is checked on every request, so disabling or revoking it stops its
    // tokens at once.
    if key.status_at(now) != KeyStatus::Active {
        return Err(REFUSED);
    }
    // And its allowlist, from the same cached key: a token works only from where its key may
    // be used now, so narrowing the list ends it elsewhere within the revocation bound.
    if !ipmatch::permits(&key.id, from, &key.allowed_ips) {
        return Err(REFUSED);
    }
    let admin = key.permissions.contains(PERM_ADMIN);
    let metered = !key.ratelimits.is_empty() || key.credits.is_some();
    Ok(Principal {
        metered,
        actor: format!("key:{}", key.id),
        key_id: Some(key.id),
        key_name: Some(key.name),
        permissions: key.permissions,
        environments: (!admin).then_some(key.environments),
        token_expires_at: Some(record.expires_at),
        key_expires_at: Some(key.expires_at),
        allowed_ips: key.allowed_ips,
    })
}

/// Where a request came from and its id, for audit events.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
struct RequestId(String);

impl FromRequestParts<SharedState> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta {
            source_ip: source_address(parts, state).map(|ip| ip.to_string()),
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        })
    }
}

/// The address a request came from: the connecting peer, unless that peer is a trusted proxy.
/// Then `X-Forwarded-For` is walked from the right (the entry the nearest proxy wrote) through
/// trusted proxies only; the first untrusted address is the client. An entry that does not
/// parse ends the walk there: the client is that unknown hop (`None`, which no allowlist
/// admits), never an address further left, which anyone could have written.
fn client_address(peer: IpAddr, parts: &Parts, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(&ip.to_canonical()));
    if !is_trusted(peer) {
        return Some(peer);
    }
    // Split as bytes: a stray non-ASCII byte the client wrote into its own entry must not
    // make the whole line unreadable, and with it the entry the proxy appended.
    let entries: Vec<&[u8]> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .collect();
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        let entry = std::str::from_utf8(entry).unwrap_or("\u{0}");
        client = forwarded_address(entry.trim())?.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `203.0.113.7:5555`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:5555`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// A new request id: unique, not secret (it names a request in logs and audit events), so a
/// random prefix drawn once per process and a counter make it, with no system call per request.
fn well_formed_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A new request id, for a request that brought none (or one not well formed).
pub fn next_request_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| secret::random_base62(8));
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("req_{prefix}{}", secret::base62_fixed(n, 8))
}

/// Gives `request` its id (see `routes::frame`, which echoes it in `X-Request-Id` and the log;
/// audit events record it) and returns it: the caller's own `X-Request-Id` when it is well
/// formed (1 to 64 of `A-Z a-z 0-9 . _ : -`, nothing a log line could be forged with), so a
/// request can be followed from the caller's logs into keyward's; otherwise a new one. A caller's
/// id is its own word: two callers may send the same.
pub fn start_request(request: &mut Request) -> String {
    let theirs = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| well_formed_request_id(id));
    let id = match theirs {
        Some(id) => id.to_owned(),
        None => next_request_id(),
    };
    request.extensions_mut().insert(RequestId(id.clone()));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(trusted: &[&str], header: &str) -> Option<IpAddr> {
        walk_bytes(trusted, header.as_bytes())
    }

    fn walk_bytes(trusted: &[&str], header: &[u8]) -> Option<IpAddr> {
        let trusted: Vec<ipnet::IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        let req = axum::http::Request::builder()
            .header(
                "x-forwarded-for",
                axum::http::HeaderValue::from_bytes(header).unwrap(),
            )
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        client_address("127.0.0.1".parse().unwrap(), &parts, &trusted)
    }

    #[test]
    fn forwarded_for_is_walked_from_the_right_and_never_skips() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let lo = ["127.0.0.0/8"];
        assert_eq!(walk(&lo, "10.1.1.1"), ip("10.1.1.1"));
        assert_eq!(walk(&lo, "10.1.1.1, 198.51.100.7"), ip("198.51.100.7"));
        assert_eq!(walk(&lo, "10.1.1.1, 198.51.100.7:5555"), ip("198.51.100.7"));
        assert_eq!(walk(&lo, "10.1.1.1, [2001:db8::1]"), ip("2001:db8::1"));
        assert_eq!(walk(&lo, "10.1.1.1, [2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(walk(&lo, "10.1.1.1, unknown"), None);
        assert_eq!(walk(&lo, "10.1.1.1, _hidden"), None);
        assert_eq!(walk(&lo, "10.1.1.1,,"), None);
        // A stray byte in the client's own entry leaves the proxy's entry readable.
        assert_eq!(walk_bytes(&lo, b"\xff, 198.51.100.8"), ip("198.51.100.8"));
        // Past a trusted proxy to the next hop.
        assert_eq!(
            walk(&["127.0.0.0/8", "192.0.2.0/24"], "10.1.1.1, 192.0.2.9"),
            ip("10.1.1.1")
        );
        assert_eq!(
            walk(&["127.0.0.0/8", "192.0.2.0/24"], "unknown, 192.0.2.9"),
            None
        );
    }
}
