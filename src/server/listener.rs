//! Accepting connections so that slow or idle clients cannot take the server down.
//!
//! - **Header timeout**: hyper's header read timeout, which also runs while a kept-alive
//!   connection waits for its next request: a connection that has not sent a whole request head
//!   within it is closed, whether it sends a byte a second or nothing at all.
//! - **A bound on open connections**: past it, the connection that has waited longest for a
//!   request is closed to make room for the new one (it holds a file descriptor and does
//!   nothing), so a flood of idle or slow connections cannot keep a well-behaved client out.
//!   When every open connection is in the middle of a request, the new one is closed instead.
//!
//! - **TLS** (`--tls-cert`): the handshake counts against the header timeout; a client that
//!   speaks plain HTTP to the TLS port is told, in plain HTTP, to use https://.
//!
//! The request timeout (a request that takes too long once its head has arrived) is a layer of
//! the router (see `routes`), so the embedded store has it too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// How long a connection may take to send a request head, or stay idle between requests.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections may be open at once (lowered to what the process's file limit allows).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The most a request head (request line and headers) may hold; past it, 431.
pub const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A request's connection, in its extensions: the router says when the request is whole and
/// at work ([`Connection::at_work`]); until then the connection may be closed to make room.
#[derive(Clone)]
pub struct Connection(Arc<Open>);

impl Connection {
    /// The request's head and body have arrived: the connection is at work, no longer waiting
    /// for its client, and is not closed to make room until its answer is sent. False when it
    /// was chosen to make room meanwhile: the request must not be acted on.
    pub fn at_work(&self) -> bool {
        match self
            .0
            .state
            .compare_exchange(WAITING, BUSY, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) => now == BUSY,
        }
    }
}

/// A connection's states: waiting for its client (a request head, a body, or the next request
/// on a kept-alive connection), at work on a request until its answer is sent, or closed to make
/// room. Waiting becomes busy or evicted by compare-and-swap only, so a request whose body
/// arrives just as its connection is chosen to make room is either answered or not acted on.
const WAITING: u8 = 0;
const BUSY: u8 = 1;
const EVICTED: u8 = 2;

/// What the accept loop knows of one open connection.
struct Open {
    /// [`WAITING`], [`BUSY`] or [`EVICTED`].
    state: AtomicU8,
    /// When it last started waiting for a request, in ms since the server started.
    waiting_since: AtomicU64,
    /// Told to close when it must make room.
    evict: tokio::sync::Notify,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Arc<Open>>,
}

impl Registry {
    /// Makes room for one more connection; false when every open one is busy.
    fn make_room(&mut self, max: usize) -> bool {
        if self.open.len() < max {
            return true;
        }
        // A connection may turn busy between the choice and the swap: then choose again.
        for _ in 0..self.open.len() {
            let longest_waiting = self
                .open
                .iter()
                .filter(|(_, c)| c.state.load(Ordering::Acquire) == WAITING)
                // Ties (many accepted within the same millisecond) go to the older connection.
                .min_by_key(|(id, c)| (c.waiting_since.load(Ordering::Relaxed), **id))
                .map(|(id, c)| (*id, c.clone()));
            let Some((id, chosen)) = longest_waiting else {
                return false;
            };
            if chosen
                .state
                .compare_exchange(WAITING, EVICTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.open.remove(&id);
                chosen.evict.notify_one();
                return true;
            }
        }
        false
    }
}

/// A streamed response's body, which marks its connection as waiting again once it is sent (or
/// dropped): a long answer streaming out (`audit verify`, an export) is work, not waiting.
struct Answering {
    inner: axum::body::Body,
    open: Arc<Open>,
    started: Instant,
}

impl http_body::Body for Answering {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        waiting_again(&self.open, self.started);
    }
}

/// The connection's answer is sent (or about to be, all at once): it waits for its client again.
fn waiting_again(open: &Open, started: Instant) {
    open.waiting_since
        .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    let _ = open
        .state
        .compare_exchange(BUSY, WAITING, Ordering::AcqRel, Ordering::Acquire);
}

/// Removes a connection from the registry when its task ends, however it ends (a handler
/// that panics included): a slot is never held by a connection that is gone.
struct Registered {
    registry: Arc<Mutex<Registry>>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.open.remove(&self.id);
        }
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves; then
/// stops accepting, lets each connection finish the request it is in, and returns when all have
/// closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let started = Instant::now();
    let registry = Arc::new(Mutex::new(Registry::default()));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors, say: wait a little rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let now = started.elapsed().as_millis() as u64;
        let (id, open) = {
            let mut registry = registry.lock().expect("connection registry");
            if !registry.make_room(limits.max_connections) {
                tracing::warn!(%peer, "every connection is busy: refusing a new one");
                continue;
            }
            registry.next_id += 1;
            let id = registry.next_id;
            let open = Arc::new(Open {
                state: AtomicU8::new(WAITING),
                waiting_since: AtomicU64::new(now),
                evict: tokio::sync::Notify::new(),
            });
            registry.open.insert(id, open.clone());
            (id, open)
        };
        let hsts = tls.is_some();
        let service = {
            let (starts, ends) = (open.clone(), open.clone());
            app.clone()
                .map_request(move |mut request: axum::extract::Request| {
                    // Not at work yet: the body may still be trickling in (see `Connection`).
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.extensions_mut().insert(Connection(starts.clone()));
                    request
                })
                .map_response({
                    let open = ends;
                    move |mut response: axum::response::Response| {
                        if hsts {
                            response
                                .headers_mut()
                                .insert(header::STRICT_TRANSPORT_SECURITY, HSTS.clone());
                        }
                        // A body of known size is written out at once: the connection
                        // waits again now. A streamed one is work until it is sent.
                        if http_body::Body::size_hint(response.body())
                            .exact()
                            .is_some()
                        {
                            waiting_again(&open, started);
                            return response;
                        }
                        let open = open.clone();
                        response.map(|inner| {
                            axum::body::Body::new(Answering {
                                inner,
                                open,
                                started,
                            })
                        })
                    }
                })
        };
        let registered = Registered {
            registry: registry.clone(),
            id,
        };
        let mut stopping = stopping.clone();
        let tls = tls.clone();
        tasks.spawn(async move {
            let _registered = registered;
            let served = async {
                let io: Box<dyn Io> = match &tls {
                    None => Box::new(stream),
                    // The handshake counts against the header timeout, like a request head.
                    Some(acceptor) => {
                        match tokio::time::timeout(
                            limits.header_timeout,
                            handshake(acceptor, stream),
                        )
                        .await
                        {
                            Ok(Some(secured)) => Box::new(secured),
                            _ => return,
                        }
                    }
                };
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    // A request head (its URL and headers) may hold 64 KiB, not hyper's ~400 KiB:
                    // held by every open connection, the bound's worth of it must fit in memory.
                    .max_buf_size(MAX_HEAD)
                    .serve_connection(
                        TokioIo::new(super::refusals::Refusals::new(io)),
                        TowerToHyperService::new(service.map_request(
                            |r: hyper::Request<hyper::body::Incoming>| r.map(axum::body::Body::new),
                        )),
                    );
                tokio::pin!(connection);
                let mut closing = false;
                loop {
                    tokio::select! {
                        _ = connection.as_mut() => break,
                        changed = stopping.changed(), if !closing => {
                            closing = true;
                            if changed.is_ok() {
                                connection.as_mut().graceful_shutdown();
                            }
                        }
                    }
                }
            };
            tokio::select! {
                () = served => {}
                () = open.evict.notified() => {}
            }
        });
        // Reap finished connection tasks as we go.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// A connection's byte stream, plain or TLS: one type, so one connection loop serves both.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// Browsers that reached the API over TLS once must not fall back to plain HTTP for a year.
static HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Accepts a TLS connection. A client that speaks plain HTTP instead is answered in plain HTTP
/// that this port needs https://, and closed.
async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    mut stream: TcpStream,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await.ok()? == 0 {
        return None;
    }
    if first[0] != super::tls::HANDSHAKE_RECORD {
        // Read the request head first: closing with unread bytes would reset the connection
        // before the client reads the answer.
        let mut head = vec![0u8; 16 * 1024];
        let _ = stream.read(&mut head).await;
        let _ = stream.write_all(&super::tls::plain_http_answer()).await;
        let _ = stream.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while matches!(stream.read(&mut head).await, Ok(n) if n > 0) {}
        })
        .await;
        return None;
    }
    match acceptor.accept(stream).await {
        Ok(secured) => Some(secured),
        Err(e) => {
            tracing::debug!(error = %e, "a TLS handshake failed");
            None
        }
    }
}

/// Raises this process's limit of open files to the most it may have, and returns it: the
/// default soft limit (1,024 on many systems) would let a few idle sockets exhaust it.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        // rlim_t is u64 on Linux and macOS but not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
