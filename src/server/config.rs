//! The server's configuration file (`--config FILE`, TOML), its permission catalog, and the
//! pepper file that keys every digest and is kept outside the database.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::api::{BUILTIN_PERMISSIONS, Permission};
use crate::secret::Pepper;
use crate::server::store::Store;

/// `keyward server --config FILE`. Every field may also be given as a flag, which wins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub pepper_file: Option<PathBuf>,
    /// Lower than 365 to shorten the longest a key may live.
    pub max_key_lifetime_days: Option<i64>,
    /// On SIGTERM, how long requests in flight get before every connection is closed.
    pub shutdown_timeout_secs: Option<u64>,
    /// How often noted last-used times are written (default 10).
    pub last_used_flush_secs: Option<u64>,
    /// Audit events older than this many days are deleted by the purger, oldest first (the
    /// chain stays verifiable from the oldest kept event). Default: every event is kept.
    pub audit_retention_days: Option<i64>,
    /// The most keys and tokens each server caches for verify and authentication.
    pub cache_entries: Option<usize>,
    /// How often each server reads the change feed when no notification woke it (10 to 250,
    /// default 200).
    pub change_poll_ms: Option<u64>,
    /// How often each server takes part in a rate-limit round: writes its counts, reads the
    /// other servers', and reserves its share of each limit until the next round (50 to 10,000,
    /// default 1,000; docs/keys.md).
    pub ratelimit_sync_ms: Option<u64>,
    /// How old this server's cache may be (since it last read the change feed) and still
    /// answer verify and token authentication; past it they read the database, and answer 503
    /// when they cannot (1 to 60, default 5).
    pub max_staleness_secs: Option<u64>,
    /// A file the audit log's head (`ID:LINK`) is appended to every
    /// `audit_checkpoint_minutes`, for `keyward audit verify --checkpoint`. None by default.
    pub audit_checkpoint_file: Option<PathBuf>,
    /// How often (1 to 1440, default 10).
    pub audit_checkpoint_minutes: Option<u64>,
    /// How long a connection may take to send a request head, or stay idle between requests
    /// (1 to 300, default 10).
    pub header_timeout_secs: Option<u64>,
    /// How long a request may take once its head has arrived (1 to 600, default 30).
    pub request_timeout_secs: Option<u64>,
    /// The most connections open at once (default 10,000, and below the process's file limit).
    pub max_connections: Option<usize>,
    /// Where to serve `GET /metrics` (Prometheus); none unless given.
    pub metrics_listen: Option<String>,
    /// A file holding the bearer token `GET /metrics` requires; none: no token asked.
    pub metrics_token_file: Option<PathBuf>,
    /// Serve the API over TLS: a PEM certificate chain (leaf first) and its PEM private key,
    /// read again on SIGHUP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Proxies (CIDRs) whose `X-Forwarded-For` is believed when checking allowlists.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<CatalogEntry>,
}

/// One of the product's own permissions, from `[[permissions]]` in the config file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// May a public key hold it?
    #[serde(default)]
    pub public_safe: bool,
}

impl ServerConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the server config {}", path.display()))?;
        // One line naming the file, the line and the problem (the TOML error's own text is a
        // drawing of the line over several).
        toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!(" line {line}:")
            });
            anyhow::anyhow!(
                "{} is not a valid keyward server config:{} {}",
                path.display(),
                at.unwrap_or_default(),
                e.message().trim_end()
            )
        })
    }
}

/// The permissions a key may hold: the built-ins and the product's catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: BTreeMap<String, Permission>,
}

impl Catalog {
    pub fn new(product: &[CatalogEntry]) -> anyhow::Result<Self> {
        let mut entries: BTreeMap<String, Permission> = BUILTIN_PERMISSIONS
            .iter()
            .map(|(name, description)| {
                let p = Permission {
                    name: (*name).to_owned(),
                    description: (*description).to_owned(),
                    public_safe: false,
                    builtin: true,
                };
                ((*name).to_owned(), p)
            })
            .collect();
        for e in product {
            if let Err(why) = super::validate::permission_name(&e.name) {
                bail!("catalog permission {:?}: {why}", e.name);
            }
            if entries.contains_key(&e.name) {
                bail!(
                    "catalog permission {:?} is listed twice or is built in",
                    e.name
                );
            }
            entries.insert(
                e.name.clone(),
                Permission {
                    name: e.name.clone(),
                    description: e.description.clone(),
                    public_safe: e.public_safe,
                    builtin: false,
                },
            );
        }
        Ok(Catalog { entries })
    }

    pub fn get(&self, name: &str) -> Option<&Permission> {
        self.entries.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Permission> {
        self.entries.values()
    }
}

/// Why the server will not start with the pepper it was given.
#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    #[error(
        "the pepper file {path} does not exist, but the database already holds keys; start with the pepper file it was created with (a new pepper would make every secret invalid), or use an empty database"
    )]
    Missing { path: String },
    #[error(
        "the pepper in {path} is not the one this database was created with; start with the original pepper file (a different pepper would make every secret invalid)"
    )]
    Mismatch { path: String },
    #[error("the pepper file {path} holds fewer than 32 bytes; it is not a keyward pepper")]
    TooShort { path: String },
}

/// The pepper for `store`, read from `path`. A pepper file is created (random, mode 0600) only
/// for an empty database; a database that holds keys, or a stored check value, must be given
/// the pepper it was made with. The database keeps a non-secret check value of its pepper
/// ([`Pepper::check_value`]), stored on first use. Returns whether the file was created, so the
/// caller can tell the operator to keep it safe.
pub async fn open_pepper(store: &dyn Store, path: &Path) -> anyhow::Result<(Pepper, bool)> {
    let shown = path.display().to_string();
    let stored = store.pepper_check().await?;
    let (pepper, created) = match read_pepper(path)? {
        Some(pepper) => (pepper, false),
        None => {
            if stored.is_some() || store.count_keys().await? > 0 {
                bail!(PepperError::Missing { path: shown });
            }
            (create_pepper(path)?, true)
        }
    };
    check_pepper(store, &pepper, &shown).await?;
    Ok((pepper, created))
}

/// The permission bits that let users other than the owner read or write a private file (the
/// pepper, a TLS key), if any (Unix; elsewhere `None`).
pub fn private_file_exposed(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Refuses a pepper other than the one the database recognises; adopts it when the database has
/// none recorded yet.
pub async fn check_pepper(store: &dyn Store, pepper: &Pepper, path: &str) -> anyhow::Result<()> {
    let check = pepper.check_value();
    let stored = store.adopt_pepper_check(&check).await?;
    if !crate::secret::digests_equal(&stored, &check) {
        bail!(PepperError::Mismatch {
            path: path.to_owned()
        });
    }
    Ok(())
}

fn read_pepper(path: &Path) -> anyhow::Result<Option<Pepper>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(Some(Pepper::new(bytes))),
        Ok(_) => bail!(PepperError::TooShort {
            path: path.display().to_string()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the pepper file {}", path.display())),
    }
}

fn create_pepper(path: &Path) -> anyhow::Result<Pepper> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(dir)?;
    }
    let pepper = Pepper::random();
    let mut file = crate::fsutil::create_private_file(path)
        .with_context(|| format!("cannot create the pepper file {}", path.display()))?;
    file.write_all(pepper.as_bytes())?;
    file.sync_all()?;
    Ok(pepper)
}
