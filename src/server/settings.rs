//! `keyward server`'s settings, resolved once: its flags (each with its `KEYWARD_*` variable),
//! then the config file, then the defaults, into one validated value (ripgrep's low-level args
//! into high-level args, uv's settings). Everything is checked here, before anything is opened
//! or created; the rest of the server reads the result.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::SignedDuration;

use super::config::{CatalogEntry, ServerConfig};
use super::store::CacheSettings;
use super::{AppState, MAX_KEY_LIFETIME_DAYS, listener};

/// What the flags (and their variables) said, before the config file fills the gaps.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub listen: Option<String>,
    pub metrics_listen: Option<String>,
    pub metrics_token_file: Option<PathBuf>,
    pub database: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub pepper_file: Option<PathBuf>,
    /// `$CREDENTIALS_DIRECTORY` (systemd): its `pepper` is the pepper file when none is named.
    pub credentials_directory: Option<PathBuf>,
    pub shutdown_timeout: Option<u64>,
    pub dev: bool,
}

/// The name of the pepper among systemd's credentials (`LoadCredential=pepper:/etc/keyward/pepper`).
pub const PEPPER_CREDENTIAL: &str = "pepper";

/// A setting that cannot be: the user's words, for a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// The server's settings, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    /// The file of the bearer token `/metrics` requires, if any.
    pub metrics_token_file: Option<PathBuf>,
    /// The TLS certificate chain and its key, both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The database as given (it may hold a password: show it through `store::redacted`).
    pub database: String,
    pub pepper_file: Option<PathBuf>,
    pub dev: bool,
    pub max_key_lifetime: Option<SignedDuration>,
    pub audit_retention: Option<SignedDuration>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub cache: CacheSettings,
    pub connections: listener::Limits,
    pub request_timeout: Duration,
    pub shutdown_deadline: Option<Duration>,
    pub last_used_flush: Option<Duration>,
    pub ratelimit_sync: Option<Duration>,
    pub audit_checkpoint_file: Option<PathBuf>,
    pub audit_checkpoint_every: Option<Duration>,
    /// The product's own permissions.
    pub permissions: Vec<CatalogEntry>,
}

/// Where the server listens when nothing says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Settings {
    /// `flags` over `config` over the defaults, each value checked.
    pub fn resolve(flags: Flags, config: ServerConfig) -> Result<Settings, SettingsError> {
        let listen = flags
            .listen
            .or(config.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let addr: SocketAddr = listen.parse().map_err(|_| {
            SettingsError(format!(
                "--listen {listen:?} is not an address; write it like 127.0.0.1:8080 or [::1]:8080"
            ))
        })?;
        if flags.dev && !addr.ip().is_loopback() {
            return Err(SettingsError(format!(
                "--dev listens on loopback only, and {addr} is not loopback"
            )));
        }
        let metrics_addr = match flags.metrics_listen.or(config.metrics_listen.clone()) {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                SettingsError(format!(
                    "--metrics-listen {text:?} is not an address; write it like 127.0.0.1:9090"
                ))
            })?),
        };
        let metrics_token_file = flags
            .metrics_token_file
            .or(config.metrics_token_file.clone());
        if metrics_token_file.is_some() && metrics_addr.is_none() {
            return Err(SettingsError(
                "a metrics token file is given, but no --metrics-listen address to serve metrics on"
                    .to_owned(),
            ));
        }
        let tls = match (flags.tls_cert, flags.tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => match (&config.tls_cert, &config.tls_key) {
                (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
                (None, None) => None,
                _ => {
                    return Err(SettingsError(
                        "the server config names one of tls_cert and tls_key: give both, or neither"
                            .to_owned(),
                    ));
                }
            },
        };
        let days = |value: Option<i64>, name: &str, max: i64, hint: &str| match value {
            Some(d) if !(1..=max).contains(&d) => Err(SettingsError(format!(
                "{name} in the server config must be between 1 and {max}, not {d}{hint}"
            ))),
            d => Ok(d.map(|d| SignedDuration::from_hours(24 * d))),
        };
        let max_key_lifetime = days(
            config.max_key_lifetime_days,
            "max_key_lifetime_days",
            MAX_KEY_LIFETIME_DAYS,
            "",
        )?;
        let audit_retention = days(
            config.audit_retention_days,
            "audit_retention_days",
            36_500,
            "; leave it out to keep every event",
        )?;
        let audit_checkpoint_every = match config.audit_checkpoint_minutes {
            Some(m) if !(1..=1440).contains(&m) => {
                return Err(SettingsError(format!(
                    "audit_checkpoint_minutes in the server config must be between 1 and 1440, not {m}"
                )));
            }
            m => m.map(|m| Duration::from_secs(60 * m)),
        };
        let ratelimit_sync = match config.ratelimit_sync_ms {
            Some(ms) if !(50..=10_000).contains(&ms) => {
                return Err(SettingsError(format!(
                    "ratelimit_sync_ms in the server config must be between 50 and 10000, not {ms}"
                )));
            }
            ms => ms.map(Duration::from_millis),
        };
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|p| {
                super::parse_cidr(p).map_err(|why| {
                    SettingsError(format!(
                        "trusted_proxies entry {p:?} in the server config: {why}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cache = cache_settings(&config)?;
        let (connections, request_timeout) = connection_limits(&config)?;
        let database = match flags.database.or(config.database.clone()) {
            Some(database) => database,
            None if flags.dev => "sqlite::memory:".to_owned(),
            None => {
                return Err(SettingsError(
                    "keyward server needs --database (or KEYWARD_DATABASE_URL, or `database` in --config); --dev runs on a throwaway one".to_owned(),
                ));
            }
        };
        // A named file wins; else systemd's credential, which systemd made and keyward only
        // reads (so it must exist: keyward never creates a pepper there).
        let credential = flags
            .credentials_directory
            .map(|dir| dir.join(PEPPER_CREDENTIAL))
            .filter(|path| path.is_file());
        let pepper_file = flags
            .pepper_file
            .or(config.pepper_file.clone())
            .or(credential);
        if !flags.dev && pepper_file.is_none() {
            return Err(SettingsError(
                "keyward server needs --pepper-file (or KEYWARD_PEPPER_FILE, `pepper_file` in --config, or a systemd credential named pepper): the pepper is kept outside the database".to_owned(),
            ));
        }
        Ok(Settings {
            addr,
            metrics_addr,
            metrics_token_file,
            tls,
            database,
            pepper_file,
            dev: flags.dev,
            max_key_lifetime,
            audit_retention,
            trusted_proxies,
            cache,
            connections,
            request_timeout,
            shutdown_deadline: flags
                .shutdown_timeout
                .or(config.shutdown_timeout_secs)
                .map(Duration::from_secs),
            last_used_flush: config
                .last_used_flush_secs
                .map(|s| Duration::from_secs(s.max(1))),
            ratelimit_sync,
            audit_checkpoint_file: config.audit_checkpoint_file.clone(),
            audit_checkpoint_every,
            permissions: config.permissions,
        })
    }

    /// Sets what the settings say on `state`.
    pub fn apply(&self, state: &mut AppState) {
        if let Some(max) = self.max_key_lifetime {
            state.max_key_lifetime = max;
        }
        state.trusted_proxies = self.trusted_proxies.clone();
        state.connections = self.connections;
        let timing = &mut state.timing;
        timing.request_timeout = self.request_timeout;
        timing.audit_retention = self.audit_retention;
        timing.audit_checkpoint_file = self.audit_checkpoint_file.clone();
        if let Some(every) = self.audit_checkpoint_every {
            timing.audit_checkpoint_every = every;
        }
        if let Some(deadline) = self.shutdown_deadline {
            timing.shutdown_deadline = deadline;
        }
        if let Some(flush) = self.last_used_flush {
            timing.last_used_flush = flush;
        }
        if let Some(sync) = self.ratelimit_sync {
            timing.ratelimit_sync = sync;
        }
    }
}

/// The header timeout, the connection bound and the request timeout, from the server config.
/// The bound stays below the process's open-file limit (raised to its maximum first), leaving
/// room for the database's connections and files.
fn connection_limits(config: &ServerConfig) -> Result<(listener::Limits, Duration), SettingsError> {
    let seconds = |value: Option<u64>, name: &str, range: std::ops::RangeInclusive<u64>| match value
    {
        Some(v) if !range.contains(&v) => Err(SettingsError(format!(
            "{name} in the server config must be between {} and {}, not {v}",
            range.start(),
            range.end()
        ))),
        v => Ok(v.map(Duration::from_secs)),
    };
    let mut limits = listener::Limits::default();
    if let Some(t) = seconds(config.header_timeout_secs, "header_timeout_secs", 1..=300)? {
        limits.header_timeout = t;
    }
    let request_timeout = seconds(config.request_timeout_secs, "request_timeout_secs", 1..=600)?
        .unwrap_or(Duration::from_secs(30));
    if let Some(max) = config.max_connections {
        if max == 0 {
            return Err(SettingsError(
                "max_connections in the server config must be at least 1".to_owned(),
            ));
        }
        limits.max_connections = max;
    }
    if let Some(files) = listener::raise_open_file_limit() {
        let room = usize::try_from(files.saturating_sub(100))
            .unwrap_or(usize::MAX)
            .max(1);
        if limits.max_connections > room {
            tracing::info!(
                files,
                room,
                "the connection bound is lowered to the open-file limit"
            );
            limits.max_connections = room;
        }
    }
    Ok((limits, request_timeout))
}

/// The verify cache's size, the change feed's poll and the staleness bound, from the server
/// config.
fn cache_settings(config: &ServerConfig) -> Result<CacheSettings, SettingsError> {
    let mut settings = CacheSettings::default();
    if let Some(entries) = config.cache_entries {
        if entries == 0 {
            return Err(SettingsError(
                "cache_entries in the server config must be at least 1".to_owned(),
            ));
        }
        settings.capacity = entries;
    }
    if let Some(ms) = config.change_poll_ms {
        // Past 250 ms the poll alone could not keep docs/design.md's one-second bound with room to
        // spare (a SQLite file, PgBouncer, a lost LISTEN).
        if !(10..=250).contains(&ms) {
            return Err(SettingsError(format!(
                "change_poll_ms in the server config must be between 10 and 250, not {ms}"
            )));
        }
        settings.poll_every = Duration::from_millis(ms);
    }
    if let Some(secs) = config.max_staleness_secs {
        if !(1..=60).contains(&secs) {
            return Err(SettingsError(format!(
                "max_staleness_secs in the server config must be between 1 and 60, not {secs}"
            )));
        }
        settings.max_staleness = Duration::from_secs(secs);
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> ServerConfig {
        toml::from_str(toml_text).unwrap()
    }

    /// deploy/server.toml, the sample operators start from, names every setting: with each
    /// commented-out setting uncommented it parses with the server's own parser, gives every
    /// setting a value, and resolves. (The pattern below names every field with no `..`, so a
    /// setting added to `ServerConfig` does not compile here until it is listed, and then
    /// fails until the sample has its line.)
    #[test]
    fn the_sample_config_names_every_setting_and_resolves() {
        let sample = include_str!("../../deploy/server.toml");
        let as_is = config(sample);
        assert!(
            as_is.listen.is_none() && as_is.permissions.is_empty(),
            "as it stands the sample sets nothing"
        );
        let uncommented: Vec<&str> = sample
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => {
                    rest
                }
                _ => line,
            })
            .collect();
        let full = config(&uncommented.join("\n"));
        let ServerConfig {
            listen,
            database,
            pepper_file,
            max_key_lifetime_days,
            shutdown_timeout_secs,
            last_used_flush_secs,
            audit_retention_days,
            cache_entries,
            change_poll_ms,
            ratelimit_sync_ms,
            max_staleness_secs,
            audit_checkpoint_file,
            audit_checkpoint_minutes,
            header_timeout_secs,
            request_timeout_secs,
            max_connections,
            metrics_listen,
            metrics_token_file,
            tls_cert,
            tls_key,
            trusted_proxies,
            permissions,
        } = &full;
        let given = [
            ("listen", listen.is_some()),
            ("database", database.is_some()),
            ("pepper_file", pepper_file.is_some()),
            ("max_key_lifetime_days", max_key_lifetime_days.is_some()),
            ("shutdown_timeout_secs", shutdown_timeout_secs.is_some()),
            ("last_used_flush_secs", last_used_flush_secs.is_some()),
            ("audit_retention_days", audit_retention_days.is_some()),
            ("cache_entries", cache_entries.is_some()),
            ("change_poll_ms", change_poll_ms.is_some()),
            ("ratelimit_sync_ms", ratelimit_sync_ms.is_some()),
            ("max_staleness_secs", max_staleness_secs.is_some()),
            ("audit_checkpoint_file", audit_checkpoint_file.is_some()),
            (
                "audit_checkpoint_minutes",
                audit_checkpoint_minutes.is_some(),
            ),
            ("header_timeout_secs", header_timeout_secs.is_some()),
            ("request_timeout_secs", request_timeout_secs.is_some()),
            ("max_connections", max_connections.is_some()),
            ("metrics_listen", metrics_listen.is_some()),
            ("metrics_token_file", metrics_token_file.is_some()),
            ("tls_cert", tls_cert.is_some()),
            ("tls_key", tls_key.is_some()),
            ("trusted_proxies", !trusted_proxies.is_empty()),
            ("permissions", !permissions.is_empty()),
        ];
        let missing: Vec<&str> = given
            .iter()
            .filter(|(_, given)| !given)
            .map(|(name, _)| *name)
            .collect();
        assert!(
            missing.is_empty(),
            "deploy/server.toml has no line for {missing:?}"
        );
        if let Err(e) = Settings::resolve(Flags::default(), full) {
            panic!("the sample's values do not resolve: {e}");
        }
    }

    #[test]
    fn a_flag_wins_over_the_config_and_the_config_over_the_default() {
        let flags = Flags {
            listen: Some("127.0.0.1:9000".into()),
            database: Some("sqlite:/tmp/a.db".into()),
            pepper_file: Some("/tmp/pepper".into()),
            ..Flags::default()
        };
        let settings = Settings::resolve(
            flags,
            config(
                "listen = \"127.0.0.1:7000\"\ndatabase = \"sqlite:/tmp/b.db\"\nmax_staleness_secs = 3",
            ),
        )
        .unwrap();
        assert_eq!(settings.addr.port(), 9000);
        assert_eq!(settings.database, "sqlite:/tmp/a.db");
        assert_eq!(settings.cache.max_staleness, Duration::from_secs(3));
        assert_eq!(settings.audit_retention, None);
    }

    #[test]
    fn every_value_out_of_range_is_refused_in_the_users_words() {
        let flags = || Flags {
            database: Some("sqlite:/tmp/a.db".into()),
            pepper_file: Some("/tmp/pepper".into()),
            ..Flags::default()
        };
        for (text, said) in [
            (
                "max_key_lifetime_days = 400",
                "max_key_lifetime_days in the server config",
            ),
            ("audit_retention_days = 0", "audit_retention_days"),
            ("audit_checkpoint_minutes = 0", "audit_checkpoint_minutes"),
            ("max_staleness_secs = 0", "max_staleness_secs"),
            ("change_poll_ms = 5", "change_poll_ms"),
            ("cache_entries = 0", "cache_entries"),
            ("trusted_proxies = [\"nonsense\"]", "trusted_proxies"),
            ("tls_cert = \"/tmp/cert.pem\"", "give both, or neither"),
        ] {
            let err = Settings::resolve(flags(), config(text)).unwrap_err();
            assert!(err.0.contains(said), "{text}: {err}");
        }
        let err = Settings::resolve(Flags::default(), config("")).unwrap_err();
        assert!(err.0.contains("--database"), "{err}");
    }
}
