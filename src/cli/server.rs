//! `keyward server`: run the Keyward API.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use super::{GlobalArgs, UsageError};
use crate::env_vars;
use crate::output;
use crate::secret::Pepper;
use crate::server::config::{ServerConfig, check_pepper, open_pepper};
use crate::server::settings::{Flags, Settings};
use crate::server::store as store_backend;
use crate::server::{self, AppState, Catalog, dev};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward server --dev
      Loopback, a throwaway in-memory database, sample environments and catalog; prints a
      super-admin key once with the `keyward login` line to paste.
  keyward server --database sqlite:/var/lib/keyward/keyward.db \\
    --pepper-file /etc/keyward/pepper --bootstrap
      On an empty database, mints the first super-admin key, prints it once, and exits.
  keyward server --config /etc/keyward/server.toml
  keyward server --database sqlite:/var/lib/keyward/keyward.db \\
    --pepper-file /etc/keyward/pepper --break-glass
      When every super-admin key is lost: mints a new one, prints it once, records it in the
      audit log, and exits. Needs the database and its pepper, so only the server's operator can.

The pepper file keys every stored digest and lives outside the database: back it up and keep it
private. It is created (random, mode 0600) only for an empty database; on a database that holds
keys, a missing pepper file or a different pepper is refused, since either would make every
secret invalid.")]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = env_vars::KEYWARD_LISTEN, value_name = "ADDR", hide_env_values = true)]
    pub listen: Option<String>,

    /// Serve Prometheus metrics at http://ADDR/metrics, apart from the API (keep it private) [default: none]
    #[arg(long, env = env_vars::KEYWARD_METRICS_LISTEN, value_name = "ADDR", hide_env_values = true)]
    pub metrics_listen: Option<String>,

    /// Require this file's bearer token on /metrics (Prometheus' credentials_file) [default: none]
    #[arg(long, env = env_vars::KEYWARD_METRICS_TOKEN_FILE, value_name = "FILE", hide_env_values = true)]
    pub metrics_token_file: Option<PathBuf>,

    /// Database URL: sqlite:PATH (or a plain path to a SQLite file), or postgres://USER@HOST/DB for replicas sharing one PostgreSQL
    // Its value may hold a password: help never shows it.
    #[arg(long, env = env_vars::KEYWARD_DATABASE_URL, value_name = "URL", hide_env_values = true)]
    pub database: Option<String>,

    /// Serve HTTPS with this PEM certificate chain (leaf first); read again on SIGHUP. Needs --tls-key
    #[arg(long, env = env_vars::KEYWARD_TLS_CERT, value_name = "FILE", requires = "tls_key", hide_env_values = true)]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (keep it private: chmod 600)
    #[arg(long, env = env_vars::KEYWARD_TLS_KEY, value_name = "FILE", requires = "tls_cert", hide_env_values = true)]
    pub tls_key: Option<PathBuf>,

    /// Server configuration file (TOML): listen, database, pepper_file, max_key_lifetime_days, shutdown_timeout_secs, last_used_flush_secs, audit_retention_days, audit_checkpoint_file, audit_checkpoint_minutes, cache_entries, change_poll_ms, max_staleness_secs, ratelimit_sync_ms, header_timeout_secs, request_timeout_secs, max_connections, metrics_listen, metrics_token_file, tls_cert, tls_key, trusted_proxies, [[permissions]]
    #[arg(long, env = env_vars::KEYWARD_SERVER_CONFIG, value_name = "FILE", hide_env_values = true)]
    pub config: Option<PathBuf>,

    /// File holding the pepper that keys every digest
    #[arg(long, env = env_vars::KEYWARD_PEPPER_FILE, value_name = "FILE", hide_env_values = true)]
    pub pepper_file: Option<PathBuf>,

    /// Development server: loopback, sample data, a super-admin key printed once; a throwaway in-memory database unless --database names one (kept)
    #[arg(long)]
    pub dev: bool,

    /// Mint the first super-admin key of an empty database, print it once, and exit
    #[arg(long, conflicts_with = "dev")]
    pub bootstrap: bool,

    /// Break glass: mint a new super-admin key when all are lost, print it once, audit it, and exit
    #[arg(long, conflicts_with_all = ["dev", "bootstrap"])]
    pub break_glass: bool,

    /// Benchmarks only: add N generated keys to the database and exit (see bench/)
    #[arg(long, hide = true, value_name = "N", conflicts_with_all = ["dev", "bootstrap", "break_glass"])]
    pub seed_keys: Option<u64>,

    /// Benchmarks only: append N audit events (token exchanges, chained as any) and exit
    #[arg(long, hide = true, value_name = "N", conflicts_with_all = ["dev", "bootstrap", "break_glass", "seed_keys"])]
    pub seed_audit_events: Option<u64>,

    /// Ask the server listening at --listen (or the config's `listen`) on this host whether it is ready (GET /readyz): exit 0 if so, 6 if not. For health checks
    #[arg(long, conflicts_with_all = ["dev", "bootstrap", "break_glass", "seed_keys", "seed_audit_events"])]
    pub ready_check: bool,

    /// On SIGTERM, how long to wait for requests in flight before closing every connection [default: 10]
    #[arg(long, env = env_vars::KEYWARD_SHUTDOWN_TIMEOUT, value_name = "SECONDS", hide_env_values = true)]
    pub shutdown_timeout: Option<u64>,
}

pub async fn run(args: ServerArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        // A config that cannot be read or parsed is a usage error (exit 2), before anything.
        Some(path) => ServerConfig::load(path).map_err(|e| UsageError(format!("{e:#}")))?,
        None => ServerConfig::default(),
    };
    if args.ready_check {
        let listen = args
            .listen
            .or(config.listen)
            .unwrap_or_else(|| server::settings::DEFAULT_LISTEN.to_owned());
        let tls = args.tls_cert.is_some() || config.tls_cert.is_some();
        return super::ready_check::run(&listen, tls).await;
    }
    let flags = Flags {
        listen: args.listen,
        metrics_listen: args.metrics_listen,
        metrics_token_file: args.metrics_token_file,
        database: args.database,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        pepper_file: args.pepper_file,
        credentials_directory: std::env::var_os(env_vars::CREDENTIALS_DIRECTORY).map(PathBuf::from),
        shutdown_timeout: args.shutdown_timeout,
        dev: args.dev,
    };
    // The settings are checked whole before anything is opened or created.
    let settings = Settings::resolve(flags, config).map_err(|e| UsageError(e.0))?;
    // The catalog too: a permission it cannot hold is the config's mistake (exit 2), found
    // before the database is opened.
    Catalog::new(&settings.permissions).map_err(|e| {
        UsageError(format!(
            "[[permissions]] in the server config: {}",
            format!("{e:#}").trim_start_matches("catalog ")
        ))
    })?;
    check_checkpoint_file(&settings)?;
    let tls = tls_certificates(&settings)?;
    let metrics_token = metrics_token(&settings)?;
    let mut product = settings.permissions.clone();
    let (addr, metrics_addr) = (settings.addr, settings.metrics_addr);
    let url = database_url(&settings.database)?;
    let pepper_file = settings.pepper_file.clone();
    // A PostgreSQL URL may carry a password: messages show it without.
    let database = store_backend::redacted(&settings.database);
    let store = store_backend::open(&url)
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    let pepper = match &pepper_file {
        Some(path) if !args.dev => {
            let (pepper, created) = open_pepper(store.as_ref(), path).await?;
            if let Some(mode) = crate::server::config::private_file_exposed(path) {
                eprintln!(
                    "warning: the pepper file {} can be read or written by other users (mode {mode:03o}); make it private: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
            if created {
                eprintln!(
                    "Created the pepper file {}: back it up and keep it private; without it no secret can be checked.",
                    path.display()
                );
            }
            pepper
        }
        _ => {
            // A throwaway pepper only suits a database with nothing made under another one.
            if store.pepper_check().await?.is_some() || store.count_keys().await? > 0 {
                bail!(UsageError(format!(
                    "--dev makes a throwaway pepper, and {database} already holds keys made with another; give --dev a new database, or none"
                )));
            }
            product.extend(dev::sample_catalog());
            let pepper = Pepper::random();
            check_pepper(store.as_ref(), &pepper, "--dev").await?;
            pepper
        }
    };
    let feed = store_backend::open_feed(&url, &store)
        .await
        .with_context(|| format!("cannot open the database {database} for the change feed"))?;
    let mut state =
        AppState::new(store, pepper, Catalog::new(&product)?).with_cache(feed, settings.cache);
    settings.apply(&mut state);
    state.tls = tls.as_ref().map(|certificates| certificates.acceptor());
    let state = Arc::new(state);
    let operator = format!("local:{}", env_vars::os_user());
    // A new chain is sealed once: with the events an older keyward wrote, if any.
    let sealed = state.store.seal_audit(state.now()).await?;
    if sealed > 0 {
        eprintln!("Linked {sealed} earlier audit events into the tamper-evident chain.");
    }

    if args.break_glass {
        let created = dev::mint_break_glass_admin(&state, &operator).await?;
        return print_minted(
            &created,
            global,
            &format!(
                "Minted the super-admin key {} in {database}, recorded in the audit log as key.break_glass by {operator}. Log in with:\n  keyward login --url <this server's URL> --client-id {}\nThen revoke the keys you lost control of.",
                created.key.name, created.key.id
            ),
        );
    }
    if let Some(total) = args.seed_audit_events {
        server::seed::seed_audit(state.store.as_ref(), total, state.now(), |done| {
            if done % 100_000 == 0 || done == total {
                eprintln!("appended {done} of {total} audit events");
            }
        })
        .await?;
        return Ok(());
    }
    if let Some(total) = args.seed_keys {
        for name in server::seed::ENVIRONMENTS {
            dev::ensure_environment(&state, name, "Seeded for benchmarks", &operator).await?;
        }
        server::seed::seed(
            state.store.as_ref(),
            &state.pepper,
            total,
            state.now(),
            |done| {
                if done % 100_000 == 0 || done == total {
                    eprintln!("seeded {done} of {total} keys");
                }
            },
        )
        .await?;
        state.store.analyze().await?;
        return Ok(());
    }
    if args.bootstrap {
        let created = dev::mint_first_admin(&state, "super-admin", &operator).await?;
        return print_minted(
            &created,
            global,
            &format!(
                "Minted the first super-admin key {} in {database}. Log in with:\n  keyward login --url <this server's URL> --client-id {}",
                created.key.name, created.key.id
            ),
        );
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{local}");
    if args.dev {
        for (name, description) in dev::SAMPLE_ENVIRONMENTS {
            dev::ensure_environment(&state, name, description, &operator).await?;
        }
        let created = dev::mint_first_admin(&state, "dev-super-admin", &operator).await?;
        // Only the in-memory database is thrown away: a --database given to --dev is kept.
        let kept = if database.contains(":memory:") {
            "throwaway in-memory database".to_owned()
        } else {
            format!("database {database}, kept after exit")
        };
        output::print_line(&format!(
            "keyward dev server on {base} ({kept}; sample environments and catalog)\n\
             Super-admin key, shown once:\n  client id: {}\n  secret:    {}\n\
             Log in with (paste the secret at the prompt):\n  keyward login --url {base} --client-id {}",
            created.key.id,
            created
                .secret
                .as_ref()
                .expect("a minted key has a generated secret")
                .expose(),
            created.key.id
        ))?;
    } else {
        output::print_line(&format!("keyward server on {base}"))?;
    }
    if let Some(metrics_addr) = metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr} for metrics"))?;
        // On stderr, with the log: stdout carries the API's address, which scripts read.
        eprintln!(
            "metrics on {scheme}://{}/metrics",
            metrics_listener.local_addr()?
        );
        let app = server::metrics::router(state.clone(), metrics_token);
        // The API's header and idle timeout, TLS when the API has it, and a bound of its own:
        // idle or slow scrapers cannot take file descriptors the API needs.
        let limits = server::listener::Limits {
            header_timeout: state.connections.header_timeout,
            max_connections: METRICS_MAX_CONNECTIONS,
        };
        let tls = state.tls.clone();
        tokio::spawn(async move {
            let forever = std::future::pending::<()>();
            if let Err(e) =
                server::listener::serve(metrics_listener, app, limits, tls, forever).await
            {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    tracing::info!(%local, "listening");
    // SIGHUP (systemctl reload, logrotate) reloads the TLS files, and never stops the server:
    // its default action would kill it without a graceful shutdown or a last-used flush.
    tokio::spawn(server::tls::on_hangup(tls));
    server::serve(listener, state, shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    tracing::info!("shut down");
    Ok(())
}

/// The most connections the metrics listener keeps open (a scraper needs one or two).
const METRICS_MAX_CONNECTIONS: usize = 64;

/// The bearer token `/metrics` requires, read from its file before anything is opened.
fn metrics_token(settings: &Settings) -> anyhow::Result<Option<server::metrics::MetricsToken>> {
    let Some(path) = &settings.metrics_token_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "cannot read the metrics token file {}: {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.len() < server::metrics::MetricsToken::MIN_LEN {
        bail!(UsageError(format!(
            "the metrics token in {} is shorter than {} characters; make a long random one (head -c 32 /dev/urandom | base64)",
            path.display(),
            server::metrics::MetricsToken::MIN_LEN
        )));
    }
    if let Some(mode) = crate::server::config::private_file_exposed(path) {
        eprintln!(
            "warning: the metrics token file {} can be read or written by other users (mode {mode:03o}); make it private: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    Ok(Some(server::metrics::MetricsToken::new(token)))
}

/// A checkpoint file is appended to for the server's whole life: a directory that does not exist
/// would only show as a warning at each checkpoint, and no checkpoint would be kept.
fn check_checkpoint_file(settings: &Settings) -> anyhow::Result<()> {
    let Some(file) = &settings.audit_checkpoint_file else {
        return Ok(());
    };
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        bail!(UsageError(format!(
            "audit_checkpoint_file in the server config: the directory {} does not exist; create it first (mkdir -m 700 {}), or correct the path",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// The TLS certificate and key, from the flags or else the server config: both or neither. Read
/// and checked before anything else is opened; a key file others may read is warned about.
fn tls_certificates(settings: &Settings) -> anyhow::Result<Option<Arc<server::tls::Certificates>>> {
    let Some((cert, key)) = &settings.tls else {
        return Ok(None);
    };
    let certificates =
        server::tls::Certificates::open(cert, key).map_err(|e| UsageError(e.to_string()))?;
    if let Some(mode) = crate::server::config::private_file_exposed(key) {
        eprintln!(
            "warning: the TLS key file {} can be read or written by other users (mode {mode:03o}); make it private: chmod 600 {}",
            key.display(),
            key.display()
        );
    }
    Ok(Some(certificates))
}

/// Prints a key minted on the server host (bootstrap, break glass) and its secret, once.
fn print_minted(
    created: &crate::api::KeyWithSecret,
    global: &GlobalArgs,
    message: &str,
) -> anyhow::Result<()> {
    if global.output != output::OutputFormat::Table || global.json.is_some() {
        // The same JSON as any command's: --output jsonl on one line, --json FIELDS obeyed
        // (the secret kept).
        output::init_json(
            global.output == output::OutputFormat::Jsonl,
            global.json.clone(),
        );
        return output::print_json(created);
    }
    output::print_line(&format!("client id: {}", created.key.id))?;
    let secret = created
        .secret
        .as_ref()
        .expect("a minted key has a generated secret");
    output::print_line(&output::secret_box(secret.expose()))?;
    eprintln!("{message}");
    Ok(())
}

/// Accepts `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:` or a plain file path; a new file is
/// created private (0600) in a private directory.
/// The URL to open for `--database`: a PostgreSQL URL as given; a SQLite path or URL with its
/// file created (private) when missing.
fn database_url(database: &str) -> anyhow::Result<String> {
    if store_backend::Backend::of(database) == Some(store_backend::Backend::Postgres) {
        return Ok(database.to_owned());
    }
    if database.contains(":memory:") {
        return Ok(database.to_owned());
    }
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    let path = path.split('?').next().unwrap_or(path);
    if path.contains("://") {
        bail!(UsageError(format!(
            "--database {database:?}: keyward stores keys in SQLite or PostgreSQL; give sqlite:PATH or postgres://USER@HOST/DATABASE"
        )));
    }
    let path = PathBuf::from(path);
    if !path.exists() {
        // A mistyped path must not quietly start a new, empty database beside the real one.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !dir.is_dir() {
            bail!(UsageError(format!(
                "--database {database:?}: the directory {} does not exist; create it first (mkdir -m 700 {}), or correct the path",
                dir.display(),
                dir.display()
            )));
        }
        crate::fsutil::create_private_file(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    Ok(format!("sqlite:{}", path.display()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
