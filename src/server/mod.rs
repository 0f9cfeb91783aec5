//! `keyward server`: the Keyward API on axum. The embedded local store runs this same router
//! in-process (see [`crate::client`]), so every rule here holds in both modes.

mod auth;
pub mod config;
pub mod dev;
mod error;
mod mint;
mod routes;
pub mod store;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use jiff::{SignedDuration, Timestamp};

pub use auth::LocalRoot;
pub use config::Catalog;
pub use error::{ApiError, ApiResult};

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
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, pepper: Pepper, catalog: Catalog) -> Self {
        AppState {
            store,
            pepper,
            catalog,
            max_key_lifetime: SignedDuration::from_hours(24 * MAX_KEY_LIFETIME_DAYS),
        }
    }

    /// The time rules are judged against, in the millisecond precision the store keeps, so
    /// that an answer and a later read of the same key agree.
    pub fn now(&self) -> Timestamp {
        millis(Timestamp::now())
    }
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
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
