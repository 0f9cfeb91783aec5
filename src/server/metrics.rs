//! Prometheus metrics (`GET /metrics` on the separate `metrics_listen` address, text format):
//! requests and their latency by route, method and status (one histogram each); verify answers by code; the cache's
//! hits, misses, entries and evictions; database connections in use; how long since the
//! change feed was last read. Counting is a few atomic additions per request; everything
//! else is read when scraped.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::SharedState;
use crate::api::VerifyCode;

// Labels borrow static strings: a request allocates nothing to be counted.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

/// A route pattern as a `&'static str`, each kept once: patterns are the router's own (a
/// dozen), never a request's path.
fn interned(pattern: &str) -> &'static str {
    static PATTERNS: std::sync::RwLock<Vec<&'static str>> = std::sync::RwLock::new(Vec::new());
    if let Some(known) = PATTERNS
        .read()
        .expect("route patterns")
        .iter()
        .find(|p| **p == pattern)
    {
        return known;
    }
    let mut patterns = PATTERNS.write().expect("route patterns");
    if let Some(known) = patterns.iter().find(|p| **p == pattern) {
        return known;
    }
    let leaked: &'static str = Box::leak(pattern.to_owned().into_boxed_str());
    patterns.push(leaked);
    leaked
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

/// What is counted as requests come; read by [`render`].
pub struct Metrics {
    /// One histogram per route, method and status: its `_count` is the number of requests.
    requests: Family<RequestLabels, Histogram>,
    verify: Family<CodeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            // 0.1 ms to about 3 s, doubling.
            requests: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 16))
            }),
            verify: Family::default(),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn verified(&self, code: VerifyCode) {
        self.verify
            .get_or_create(&CodeLabels {
                code: code.as_str(),
            })
            .inc();
    }
}

/// Counts each routed request and its latency, labelled by its route's pattern (never by the
/// path itself: ids would make a series each).
pub async fn count(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| interned(p.as_str()));
    let method = method_label(request.method());
    let start = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .observe(start.elapsed().as_secs_f64());
    response
}

/// The metrics in Prometheus' text format.
pub fn render(state: &SharedState) -> String {
    let metrics = &state.metrics;
    let mut registry = Registry::with_prefix("keyward");
    registry.register(
        "http_request_duration_seconds",
        "Time to answer a request, by route, method and status (its count: requests answered)",
        metrics.requests.clone(),
    );
    registry.register(
        "verify_answers",
        "Verify answers, by code",
        metrics.verify.clone(),
    );
    let gauge = |value: i64| {
        let g: Gauge = Gauge::default();
        g.set(value);
        g
    };
    let counter = |value: u64| {
        let c: Counter = Counter::default();
        c.inc_by(value);
        c
    };
    if let Some(cache) = state.cache.as_ref().map(|c| &c.cached) {
        let stats = cache.stats();
        registry.register("cache_hits", "Cache hits", counter(stats.hits));
        registry.register("cache_misses", "Cache misses", counter(stats.misses));
        registry.register(
            "cache_evictions",
            "Keys dropped from the cache because they changed",
            counter(stats.evictions),
        );
        registry.register(
            "cache_entries",
            "Keys and tokens cached",
            gauge(stats.entries as i64),
        );
        registry.register(
            "change_feed_age_seconds",
            "Seconds since the change feed was last read (grows while it cannot be)",
            gauge(cache.feed_age().map_or(-1, |age| age.as_secs() as i64)),
        );
    }
    registry.register(
        "usage_counts_folded",
        "Usage counts (key, minute, answer) folded into their hour while the database could not be written",
        counter(state.last_used.folded()),
    );
    if let Some((size, idle)) = state.store.pool_use() {
        registry.register(
            "database_connections",
            "Database connections open",
            gauge(i64::from(size)),
        );
        registry.register(
            "database_connections_idle",
            "Database connections open and idle",
            gauge(idle as i64),
        );
    }
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// The bearer token `/metrics` requires (`metrics_token_file`): kept as its SHA-256, compared
/// in constant time, never logged.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// Tokens shorter than this are refused: a scrape credential is still a credential.
    pub const MIN_LEN: usize = 16;

    pub fn new(token: &str) -> Self {
        use sha2::Digest;
        MetricsToken(sha2::Sha256::digest(token.as_bytes()).into())
    }

    fn admits(&self, request: &Request) -> bool {
        use sha2::Digest;
        let presented = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110).
            .and_then(|v| {
                v.get(..7)
                    .filter(|s| s.eq_ignore_ascii_case("bearer "))
                    .map(|_| &v[7..])
            })
            .unwrap_or("");
        let presented: [u8; 32] = sha2::Sha256::digest(presented.as_bytes()).into();
        crate::secret::digests_equal(&presented, &self.0)
    }
}

/// The metrics listener's only route; with a token, a scrape without it is answered 401.
pub fn router(state: SharedState, token: Option<MetricsToken>) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<SharedState>| async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(&state),
                )
                    .into_response()
            }),
        )
        // Every other path and method is a problem+json like the API's, never an empty 4xx.
        .fallback(|| async { super::error::ApiError::NotFound("endpoint") })
        .method_not_allowed_fallback(|| async { super::error::ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let admitted = token.as_ref().is_none_or(|t| t.admits(&request));
                // An admitted scrape is at work: its connection is not closed to make room.
                let at_work = !admitted
                    || request
                        .extensions()
                        .get::<super::listener::Connection>()
                        .is_none_or(|c| c.at_work());
                async move {
                    if admitted && at_work {
                        next.run(request).await
                    } else if admitted {
                        super::error::ApiError::Status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
                            .into_response()
                    } else {
                        (
                            axum::http::StatusCode::UNAUTHORIZED,
                            [(
                                axum::http::header::WWW_AUTHENTICATE,
                                "Bearer realm=\"keyward-metrics\"",
                            )],
                            "a bearer token is required\n",
                        )
                            .into_response()
                    }
                }
            },
        ))
        .with_state(state)
}
