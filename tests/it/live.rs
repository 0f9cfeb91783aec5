//! A real keyward server on 127.0.0.1:0, run in this test process on a manual clock, so rules
//! about time can be checked to the second. It is the same router and store backends as
//! `keyward server`; only the clock is the test's.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use keyward::api::KeyWithSecret;
use keyward::secret::Pepper;
use keyward::server::config::CatalogEntry;
use keyward::server::store::{self, Credentials};
use keyward::server::{self, AppState, Catalog, Clock, SharedState, dev};

use crate::harness::{HttpResponse, TestEnv, http};

pub struct LiveServer {
    pub url: String,
    /// The URL of the database under the server.
    pub db: String,
    pub clock: Clock,
    pub state: SharedState,
    pub admin_id: String,
    pub admin_secret: String,
    runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Default)]
pub struct Options {
    /// How long audit events are kept (`None`: for ever).
    pub audit_retention: Option<SignedDuration>,
    pub trusted_proxies: Vec<&'static str>,
    /// A shorter maximum key lifetime than 365 days.
    pub max_lifetime_days: Option<i64>,
    /// How often the purger runs (default: the server's).
    pub purge_every: Option<std::time::Duration>,
    /// A smaller byte bound on list pages.
    pub page_bytes: Option<usize>,
    /// Where, and how often, the audit log's head is appended.
    pub audit_checkpoints: Option<(std::path::PathBuf, std::time::Duration)>,
    /// Wraps what verify and authentication read from the database, before the server's
    /// cache does (to slow it down, say).
    pub wrap_credentials: Option<WrapCredentials>,
    /// The server cache's settings (default: the server's).
    pub cache: Option<store::CacheSettings>,
}

/// Puts something between the server's cache and its database.
pub type WrapCredentials = fn(Arc<dyn Credentials>) -> Arc<dyn Credentials>;

impl LiveServer {
    pub fn start(env: &TestEnv) -> LiveServer {
        Self::start_with(env, Options::default())
    }

    pub fn start_with(env: &TestEnv, options: Options) -> LiveServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let clock = Clock::manual(Timestamp::now());
        let db = env.database(&format!("live-{}.db", keyward::secret::random_base62(8)));
        let (state, listener, admin) = runtime.block_on(async {
            let store = store::open(&db).await.unwrap();
            let feed = store::open_feed(&db, &store).await.unwrap();
            let mut catalog = dev::sample_catalog();
            catalog.push(CatalogEntry {
                name: "reports:read".into(),
                description: "Read reports".into(),
                public_safe: false,
            });
            let mut state = AppState::new(store, Pepper::random(), Catalog::new(&catalog).unwrap());
            if let Some(wrap) = options.wrap_credentials {
                state.credentials = wrap(state.credentials);
            }
            let mut state = state.with_cache(feed, options.cache.unwrap_or_default());
            state.clock = clock.clone();
            if let Some(every) = options.purge_every {
                state.timing.purge_every = every;
            }
            state.timing.audit_retention = options.audit_retention;
            if let Some((file, every)) = options.audit_checkpoints.clone() {
                state.timing.audit_checkpoint_file = Some(file);
                state.timing.audit_checkpoint_every = every;
            }
            if let Some(bytes) = options.page_bytes {
                state.page_bytes = bytes;
            }
            if let Some(days) = options.max_lifetime_days {
                state.max_key_lifetime = SignedDuration::from_hours(24 * days);
            }
            state.trusted_proxies = options
                .trusted_proxies
                .iter()
                .map(|p| server::parse_cidr(p).unwrap())
                .collect();
            let state = Arc::new(state);
            state.store.seal_audit(state.now()).await.unwrap();
            for (name, description) in dev::SAMPLE_ENVIRONMENTS {
                dev::ensure_environment(&state, name, description, "test")
                    .await
                    .unwrap();
            }
            let admin: KeyWithSecret = dev::mint_first_admin(&state, "admin", "test")
                .await
                .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (state, listener, admin)
        });
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(server::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        LiveServer {
            url,
            db,
            clock,
            state,
            admin_id: admin.key.id.clone(),
            admin_secret: admin.secret.unwrap().expose().to_owned(),
            runtime,
            shutdown: Some(tx),
        }
    }

    /// Runs `f` on the server's runtime (for the store and the server's own functions).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Runs `f` in the background on the server's runtime (tests/pg's forwarder).
    #[allow(dead_code)]
    pub fn state_runtime_spawn<F>(&self, f: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(f);
    }

    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Writes the noted last-used times now instead of at the next tick.
    pub fn flush_last_used(&self) {
        self.runtime.block_on(server::flush_pending(&self.state));
    }

    /// Token exchange with the form body; returns the status, token and whole response.
    pub fn token(&self, id: &str, secret: &str) -> (u16, Option<String>, HttpResponse) {
        self.token_with(id, secret, &[])
    }

    pub fn token_with(
        &self,
        id: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Option<String>, HttpResponse) {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        let resp = http(
            self.authority(),
            "POST",
            "/v1/oauth/token",
            &headers,
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
                .as_bytes(),
        );
        let token = serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned));
        (resp.status, token, resp)
    }

    /// Token exchange from another loopback source address (`127.x.y.z`).
    pub fn token_from(
        &self,
        source: std::net::Ipv4Addr,
        id: &str,
        secret: &str,
    ) -> (u16, Option<String>, HttpResponse) {
        let resp = crate::harness::http_from(
            source,
            self.authority(),
            "POST",
            "/v1/oauth/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
                .as_bytes(),
        );
        let token = serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned));
        (resp.status, token, resp)
    }

    pub fn admin_token(&self) -> String {
        let (status, token, resp) = self.token(&self.admin_id, &self.admin_secret);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp.body));
        token.unwrap()
    }

    /// A JSON call with a bearer token.
    pub fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> HttpResponse {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str())];
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        headers.extend_from_slice(extra);
        http(self.authority(), method, path, &headers, &bytes)
    }

    /// Creates a key as `token`; panics unless it is created. Returns (id, secret).
    pub fn create(&self, token: &str, body: serde_json::Value) -> (String, String) {
        let resp = self.call(token, "POST", "/v1/keys", Some(&body), &[]);
        assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        (
            v["id"].as_str().unwrap().to_owned(),
            v["secret"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// `POST /v1/verify` as `token`: status and body bytes.
    pub fn verify(&self, token: &str, body: serde_json::Value) -> (u16, Vec<u8>) {
        let r = self.call(token, "POST", "/v1/verify", Some(&body), &[]);
        (r.status, r.body)
    }

    /// A CLI environment pointed at this server with the key `id` / `secret` in the
    /// environment, as a script would run.
    pub fn cli_as(&self, id: &str, secret: &str) -> TestEnv {
        let mut cli = TestEnv::new();
        cli.set("KEYWARD_URL", &self.url)
            .set("KEYWARD_CLIENT_ID", id)
            .set("KEYWARD_CLIENT_SECRET", secret);
        cli
    }

    /// Points `env` at this server as the super admin.
    pub fn as_admin(&self, env: &mut TestEnv) {
        env.set("KEYWARD_URL", &self.url)
            .set("KEYWARD_CLIENT_ID", &self.admin_id)
            .set("KEYWARD_CLIENT_SECRET", &self.admin_secret);
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The JSON of a response body.
pub fn json(resp: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&resp.body)))
}
