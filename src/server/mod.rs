//! `keyward server`: the Keyward API on axum. The embedded local store runs this same router
//! in-process (see [`crate::client`]), so every rule here holds in both modes.

mod auth;
pub mod clock;
pub mod config;
pub mod dev;
mod error;
mod gateway;
mod ipmatch;
pub(crate) mod last_used;
pub mod listener;
pub mod metrics;
mod mint;
pub mod ratelimit;
pub mod refill;
mod refusals;
mod routes;
pub mod seed;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod tls;
pub(crate) mod validate;
mod verdict;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use jiff::{SignedDuration, Timestamp};

pub use auth::LocalRoot;
pub use clock::Clock;
pub use config::Catalog;
pub use error::{ApiError, ApiResult};
pub use last_used::LastUsed;

use crate::secret::Pepper;
use store::{CacheSettings, Cached, ChangeFeed, Credentials, Store};

/// The longest a key may live, from the change that sets its expiry.
pub const MAX_KEY_LIFETIME_DAYS: i64 = 365;

/// What every handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// What verify and token authentication read: the cache when there is one, else `store`.
    pub credentials: Arc<dyn Credentials>,
    pub pepper: Pepper,
    pub catalog: Catalog,
    /// At most [`MAX_KEY_LIFETIME_DAYS`]; a server may be configured shorter.
    pub max_key_lifetime: SignedDuration,
    pub clock: Clock,
    /// Proxies whose `X-Forwarded-For` is believed at token exchange.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub last_used: LastUsed,
    pub timing: Timing,
    /// A list page stops adding keys past this many bytes of JSON (and says where to go on).
    pub page_bytes: usize,
    /// Failed token exchanges, per client id and address.
    pub throttle: throttle::Throttle,
    /// Header timeout and connection bound (a served API; the embedded store has none).
    pub connections: listener::Limits,
    /// Set when the API is served over TLS (`--tls-cert`, `--tls-key`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Counted as requests come (see `metrics`).
    pub metrics: metrics::Metrics,
    /// The cache in front of the store's credentials, and the feed that keeps it right.
    pub cache: Option<CacheHandle>,
    /// Audit events of failed authentications, waiting to be appended in a batch.
    pub audit_queue: workers::audit_queue::AuditQueue,
    /// Failed authentications counted per client id and source network, not itemized.
    pub failures: workers::failure_tally::FailureTally,
    /// One audit verify at a time (each holds a connection and a long read snapshot).
    pub audit_verify: Arc<tokio::sync::Semaphore>,
    /// Rate-limit counters of the keys verified lately, shared with other servers in batches.
    pub ratelimits: ratelimit::RateLimiter,
}

/// A server's cache, and what its follower reads.
pub struct CacheHandle {
    pub cached: Arc<Cached>,
    pub feed: Arc<dyn ChangeFeed>,
    pub poll_every: Duration,
}

/// How often background work runs, and how long things are kept.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often noted last-used times reach the database.
    pub last_used_flush: Duration,
    /// How often expired access tokens and old idempotency records are deleted.
    pub purge_every: Duration,
    /// How long an Idempotency-Key is remembered (a retry after that mints a new key).
    pub idempotency_retention: SignedDuration,
    /// How long audit events are kept (`None`: for ever).
    pub audit_retention: Option<SignedDuration>,
    /// On shutdown, how long requests in flight get before every connection is closed.
    pub shutdown_deadline: Duration,
    /// How long a request may take once its head has arrived.
    pub request_timeout: Duration,
    /// Where the audit log's head is appended now and then (`None`: nowhere).
    pub audit_checkpoint_file: Option<std::path::PathBuf>,
    /// How often.
    pub audit_checkpoint_every: Duration,
    /// How often rate-limit counts are shared with the other servers through the database.
    pub ratelimit_sync: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            last_used_flush: Duration::from_secs(10),
            purge_every: Duration::from_secs(600),
            idempotency_retention: SignedDuration::from_hours(24),
            audit_retention: None,
            shutdown_deadline: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            audit_checkpoint_file: None,
            audit_checkpoint_every: Duration::from_secs(600),
            ratelimit_sync: Duration::from_secs(1),
        }
    }
}

/// The default bound on a list page's size in bytes.
pub const PAGE_BYTES: usize = 1024 * 1024;

impl AppState {
    pub fn new(store: Arc<dyn Store>, pepper: Pepper, catalog: Catalog) -> Self {
        store.set_chain_key(store::chain::ChainKey::from_pepper(&pepper));
        AppState {
            credentials: store.clone().credentials(),
            store,
            pepper,
            catalog,
            max_key_lifetime: SignedDuration::from_hours(24 * MAX_KEY_LIFETIME_DAYS),
            clock: Clock::system(),
            trusted_proxies: Vec::new(),
            last_used: LastUsed::default(),
            timing: Timing::default(),
            page_bytes: PAGE_BYTES,
            throttle: throttle::Throttle::default(),
            connections: listener::Limits::default(),
            tls: None,
            metrics: metrics::Metrics::default(),
            cache: None,
            audit_queue: Default::default(),
            failures: Default::default(),
            audit_verify: Arc::new(tokio::sync::Semaphore::new(1)),
            ratelimits: ratelimit::RateLimiter::default(),
        }
    }

    /// Puts a cache in front of the credentials verify and token authentication read (as
    /// they are now: the store's, or something a test put before them), kept
    /// right by `feed` (a connection of its own, see [`store::open_feed`]) once the server's
    /// workers run.
    pub fn with_cache(mut self, feed: Arc<dyn ChangeFeed>, settings: CacheSettings) -> Self {
        let cached = Cached::new(self.credentials.clone(), &settings);
        // This server's own writes drop what it cached at once, before they answer.
        self.store.on_key_changed(cached.clone());
        self.credentials = cached.clone();
        self.cache = Some(CacheHandle {
            cached,
            feed,
            poll_every: settings.poll_every,
        });
        self
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

/// The API's OpenAPI 3.1 document, as `GET /v1/openapi.json` answers it.
pub fn openapi_document() -> &'static str {
    routes::openapi::served()
}

/// The whole API as one router.
pub fn router(state: SharedState) -> Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` resolves (SIGTERM or Ctrl-C in `keyward server`),
/// then gives requests in flight the shutdown deadline to finish and closes what is left: a
/// client stalled mid-request cannot keep the server from stopping.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let workers = workers::start(&state);
    let signalled = Arc::new(tokio::sync::Notify::new());
    let graceful = {
        let signalled = signalled.clone();
        async move {
            shutdown.await;
            signalled.notify_one();
        }
    };
    let deadline = async {
        signalled.notified().await;
        tokio::time::sleep(state.timing.shutdown_deadline).await;
    };
    let served = tokio::select! {
        served = listener::serve(listener, app, state.connections, state.tls.clone(), graceful) => served,
        () = deadline => {
            tracing::warn!(
                deadline = ?state.timing.shutdown_deadline,
                "closing the connections still open at the shutdown deadline"
            );
            Ok(())
        }
    };
    workers.stop(&state).await;
    served
}

/// Writes what the request path noted in memory (last-used times, usage counts, queued audit
/// events) now: the embedded store does after each request, and a read of usage or of the
/// audit log first. In a task of its own, so that a request cancelled meanwhile loses none of
/// what the flush had taken.
pub async fn flush_pending(state: &SharedState) {
    let state = state.clone();
    let _ = tokio::spawn(async move {
        workers::flusher::flush(&state).await;
        if !state.ratelimits.is_empty() {
            workers::ratelimit_sync::sync(&state).await;
        }
    })
    .await;
}
