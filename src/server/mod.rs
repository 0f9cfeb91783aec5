//! `keyward server`: the Keyward API on axum. The embedded local store runs this same router
//! in-process (see [`crate::client`]), so every rule here holds in both modes.

mod auth;
pub mod clock;
pub mod config;
pub mod dev;
mod error;
mod ipmatch;
pub(crate) mod last_used;
mod mint;
mod routes;
pub mod store;
pub(crate) mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use jiff::{SignedDuration, Timestamp};

pub use auth::LocalRoot;
pub use clock::Clock;
pub use config::Catalog;
pub use error::{ApiError, ApiResult};
pub use last_used::LastUsed;

use crate::secret::Pepper;
use store::Store;

/// The longest a key may live, from the change that sets its expiry.
pub const MAX_KEY_LIFETIME_DAYS: i64 = 365;

/// What every handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub pepper: Pepper,
    pub catalog: Catalog,
    /// At most [`MAX_KEY_LIFETIME_DAYS`]; a server may be configured shorter.
    pub max_key_lifetime: SignedDuration,
    pub clock: Clock,
    /// Proxies whose `X-Forwarded-For` is believed at token exchange.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub last_used: LastUsed,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, pepper: Pepper, catalog: Catalog) -> Self {
        AppState {
            store,
            pepper,
            catalog,
            max_key_lifetime: SignedDuration::from_hours(24 * MAX_KEY_LIFETIME_DAYS),
            clock: Clock::system(),
            trusted_proxies: Vec::new(),
            last_used: LastUsed::default(),
        }
    }

    /// The time rules are judged against, in the millisecond precision the store keeps, so
    /// that an answer and a later read of the same key agree.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// Parses a CIDR or address as the API does (canonical, host bits cleared).
pub fn parse_cidr(entry: &str) -> Result<ipnet::IpNet, String> {
    validate::cidr(entry)
}

/// `t` truncated to whole milliseconds.
pub fn millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

pub type SharedState = Arc<AppState>;

/// The whole API as one router.
pub fn router(state: SharedState) -> Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` resolves (SIGTERM or Ctrl-C in `keyward server`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Last-used times are written in batches, and once more on the way out.
    let flusher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LAST_USED_FLUSH);
            loop {
                tick.tick().await;
                if let Err(e) = last_used::flush(&state).await {
                    tracing::warn!(error = %e, "could not record last-used times");
                }
            }
        })
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    flusher.abort();
    if let Err(e) = last_used::flush(&state).await {
        tracing::warn!(error = %e, "could not record last-used times");
    }
    served
}

/// How often noted uses reach the database.
pub const LAST_USED_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes the noted last-used times now (the embedded store does after each request).
pub async fn flush_last_used(state: &AppState) {
    if let Err(e) = last_used::flush(state).await {
        tracing::warn!(error = %e, "could not record last-used times");
    }
}
