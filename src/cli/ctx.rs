//! Flags, environment and config resolved once into the settings every command reads, and the
//! client built lazily, only by commands that talk to a store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::sync::OnceCell;

use super::token_cache::TokenCache;
use super::{GlobalArgs, UsageError, prompt};
use crate::client::{Client, Credentials, Target};
use crate::config::{self, Config, DEFAULT_PROFILE, LOCAL_PROFILE};
use crate::env_vars;
use crate::keyring::{self, Keyring};
use crate::output::OutputFormat;
use crate::secret::Secret;
use crate::server::{self, AppState, Catalog};

pub struct Ctx {
    pub global: GlobalArgs,
    pub profile: String,
    pub config: Config,
    client: OnceCell<Client>,
}

impl Ctx {
    /// `creating_profile`: the command (login) may name a profile that does not exist yet.
    pub fn new(mut global: GlobalArgs, creating_profile: bool) -> anyhow::Result<Self> {
        let config = Config::load()?;
        let profile = global
            .profile
            .clone()
            // `login` after `profiles use local` logs in to the default profile.
            .or_else(|| {
                config
                    .current
                    .clone()
                    .filter(|c| !(creating_profile && c == LOCAL_PROFILE))
            })
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        // Naming a profile that does not exist is a mistake, not a request for the local store.
        if global.profile.is_some()
            && profile != LOCAL_PROFILE
            && !creating_profile
            && global.url.is_none()
            && !config.profiles.contains_key(&profile)
        {
            bail!(UsageError(format!(
                "no profile named {profile:?} in {}; `keyward login --profile {profile} --url URL` creates it",
                Config::path()?.display()
            )));
        }
        crate::output::init_color(global.color);
        // `--json FIELDS` asks for JSON; `--output jsonl` keeps its lines.
        if global.json.is_some() && global.output == OutputFormat::Table {
            global.output = OutputFormat::Json;
        }
        crate::output::init_json(global.output == OutputFormat::Jsonl, global.json.clone());
        Ok(Ctx {
            global,
            profile,
            config,
            client: OnceCell::new(),
        })
    }

    pub fn json(&self) -> bool {
        matches!(self.global.output, OutputFormat::Json | OutputFormat::Jsonl)
    }

    /// `--output jsonl`: one object per line.
    pub fn json_lines(&self) -> bool {
        self.global.output == OutputFormat::Jsonl
    }

    pub fn quiet(&self) -> bool {
        self.global.quiet
    }

    pub fn can_prompt(&self) -> bool {
        prompt::can_prompt()
    }

    /// A message for people, on stderr; silent with `-q`.
    pub fn say(&self, message: &str) {
        if !self.global.quiet {
            eprintln!("{}", crate::output::printable_text(message));
        }
    }

    /// A warning on stderr, even with `-q`.
    pub fn warn(&self, message: &str) {
        eprintln!("warning: {}", crate::output::printable_text(message));
    }

    /// The server URL in effect: `--url`/`KEYWARD_URL`, else the profile's; `None` means the
    /// embedded local store.
    pub fn server_url(&self) -> Option<String> {
        if self.uses_local_store() {
            return None;
        }
        self.global
            .url
            .clone()
            .or_else(|| {
                self.config
                    .profiles
                    .get(&self.profile)
                    .map(|p| p.url.clone())
            })
            .map(|u| u.trim_end_matches('/').to_owned())
    }

    /// The CA certificates to trust besides the system's: `--ca-cert` (or KEYWARD_CA_CERT), else
    /// the one the profile was logged in with.
    pub fn ca_certs(&self) -> anyhow::Result<Vec<reqwest::Certificate>> {
        let path = self.global.ca_cert.clone().or_else(|| {
            self.config
                .profiles
                .get(&self.profile)
                .and_then(|p| p.ca_cert.clone())
        });
        match path {
            Some(path) => read_ca_certs(&path),
            None => Ok(Vec::new()),
        }
    }

    /// Whether commands go to the embedded store: `--local`, or the `local` profile picked by
    /// `keyward profiles use local`.
    pub fn uses_local_store(&self) -> bool {
        self.global.local
            || (self.profile == LOCAL_PROFILE
                && self.global.url.is_none()
                && !self.config.profiles.contains_key(LOCAL_PROFILE))
    }

    /// The client for the store in effect, built on first use.
    pub async fn client(&self) -> anyhow::Result<&Client> {
        self.client.get_or_try_init(|| self.build_client()).await
    }

    async fn build_client(&self) -> anyhow::Result<Client> {
        let Some(url) = self.server_url() else {
            return open_local().await;
        };
        check_url(&url, self.global.insecure_http)?;
        let target = Target::Remote {
            url,
            ca_certs: self.ca_certs()?,
        };
        let client_id = std::env::var(env_vars::KEYWARD_CLIENT_ID)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| {
                self.config
                    .profiles
                    .get(&self.profile)
                    .and_then(|p| p.client_id.clone())
            });
        let Some(client_id) = client_id else {
            return Ok(Client::new(target, None));
        };
        let from_env = std::env::var(env_vars::KEYWARD_CLIENT_ID)
            .ok()
            .is_some_and(|s| !s.is_empty());
        if let Some(secret) = env_secret() {
            // Scripts and CI: the secret is the environment's; only the access token is kept,
            // so that a job's commands share one exchange (see token_cache).
            let credentials = Credentials {
                client_id,
                client_secret: secret,
            };
            let Target::Remote { url, .. } = &target else {
                unreachable!("a server target")
            };
            let cache = TokenCache::for_environment(url, &credentials);
            let cached = cache.get();
            return Ok(
                Client::new(target, Some(credentials)).with_cached_token(cached, cache.into_sink())
            );
        }
        // Half of a script's credentials: say which half is missing rather than "not logged in".
        let half = || {
            UsageError(format!(
                "KEYWARD_CLIENT_ID is set but KEYWARD_CLIENT_SECRET is not, and no login secret for {client_id} is kept in the keyring; set KEYWARD_CLIENT_SECRET too (or unset KEYWARD_CLIENT_ID and `keyward login`)"
            ))
        };
        // The keyring holds the secrets of earlier logins and of keys kept with `--store`, each
        // made on some server; only the profile's own login goes to the profile's server.
        let profile_login = self
            .config
            .profiles
            .get(&self.profile)
            .and_then(|p| p.client_id.as_deref());
        if profile_login != Some(client_id.as_str()) {
            bail!(UsageError(format!(
                "KEYWARD_CLIENT_ID is set but KEYWARD_CLIENT_SECRET is not, and {client_id} is not the login key of profile {:?}: a secret kept for it may belong to another server and is not sent; set KEYWARD_CLIENT_SECRET too (or unset KEYWARD_CLIENT_ID)",
                self.profile
            )));
        }
        let ring = match Keyring::open() {
            Ok(ring) => ring,
            Err(_) if from_env => bail!(half()),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot read the login secret of profile {:?} from the OS keyring",
                    self.profile
                )));
            }
        };
        let secret = ring
            .get(&keyring::secret_user(&self.profile, &client_id))
            .context("cannot read the login secret from the OS keyring")?;
        let Some(secret) = secret else {
            if from_env {
                bail!(half());
            }
            return Ok(Client::new(target, None));
        };
        let Target::Remote { url, .. } = &target else {
            unreachable!("a server target")
        };
        self.check_bound(url)?;
        let token_user = keyring::token_user(&self.profile, &client_id);
        let credentials = Credentials {
            client_id,
            client_secret: Secret::new(secret),
        };
        let cache = TokenCache::new(Some(ring), token_user, url, &credentials);
        let cached = cache.get();
        Ok(Client::new(target, Some(credentials)).with_cached_token(cached, cache.into_sink()))
    }
}

impl Ctx {
    /// A profile's stored login secret and cached token go only to the origin (scheme, host
    /// and port) the profile names: `--url` or `KEYWARD_URL` pointing elsewhere (a typo, an
    /// injected CI variable, an `.envrc`) must not hand them to another host. Credentials given
    /// in the environment for the run are the caller's to send anywhere.
    fn check_bound(&self, url: &str) -> anyhow::Result<()> {
        let profile_url = self
            .config
            .profiles
            .get(&self.profile)
            .map(|p| p.url.as_str());
        if profile_url.is_some_and(|p| same_origin(p, url)) {
            return Ok(());
        }
        let flag = match std::env::var(env_vars::KEYWARD_URL) {
            Ok(v) if self.global.url.as_deref() == Some(v.as_str()) => "KEYWARD_URL",
            _ => "--url",
        };
        let issued = match profile_url {
            Some(p) => format!("was stored for {}", p.trim_end_matches('/')),
            None => "belongs to no profile's server".to_owned(),
        };
        bail!(UsageError(format!(
            "refusing to send the login secret of profile {:?} to {url}: it {issued}, and {flag} points elsewhere. \
             Drop {flag} to use the profile's server; `keyward login --profile NAME --url {url}` to log in there; \
             or give that server's credentials for this run in KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET",
            self.profile
        )))
    }
}

/// Whether two URLs have one origin: scheme, host and port (a default port written out or
/// left out is the same port).
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host() == b.host()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// `KEYWARD_CLIENT_SECRET`, when set and not empty.
pub fn env_secret() -> Option<Secret> {
    std::env::var(env_vars::KEYWARD_CLIENT_SECRET)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

/// The certificates of a PEM file given as `--ca-cert`; one that cannot be read or holds none is
/// a usage error naming the file.
pub fn read_ca_certs(path: &std::path::Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).map_err(|e| {
        UsageError(format!(
            "cannot read the CA certificate file {} (--ca-cert or KEYWARD_CA_CERT): {e}",
            path.display()
        ))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default();
    if certs.is_empty() {
        bail!(UsageError(format!(
            "the CA certificate file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// Refuses a URL keyward cannot or should not use: not http(s), or plain HTTP to a host that is
/// not loopback (the client secret would cross the network in clear) unless allowed.
pub fn check_url(url: &str, insecure_http: bool) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        UsageError(format!(
            "{url:?} is not a URL; give one like https://keyward.example.com"
        ))
    })?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback || insecure_http {
                Ok(())
            } else {
                Err(UsageError(format!(
                    "refusing plain HTTP to {url}: secrets would cross the network in clear; use https, or --insecure-http if you must"
                ))
                .into())
            }
        }
        other => Err(UsageError(format!(
            "{url:?} uses {other}:, keyward speaks https (or http on loopback)"
        ))
        .into()),
    }
}

/// Whether the embedded store has been created on this machine.
pub fn local_store_exists() -> bool {
    config::data_dir().is_ok_and(|d| d.join("local.db").exists())
}

/// The embedded store: the server's router over a SQLite file in the user's data directory.
async fn open_local() -> anyhow::Result<Client> {
    let dir = config::data_dir()?;
    crate::fsutil::ensure_private_dir(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let path: PathBuf = dir.join("local.db");
    let fresh = !path.exists();
    if fresh {
        // Private from its first byte; SQLite would create it with the umask's mode.
        crate::fsutil::create_private_file(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    let store = server::store::open(&format!("sqlite:{}", path.display()))
        .await
        .with_context(|| format!("cannot open the local store {}", path.display()))?;
    let (pepper, _) = server::config::open_pepper(store.as_ref(), &dir.join("pepper")).await?;
    let catalog = super::permissions::catalog::LocalCatalog::load()?;
    let state = Arc::new(AppState::new(
        store,
        pepper,
        Catalog::new(&catalog.permissions).map_err(|e| {
            let path = super::permissions::catalog::LocalCatalog::path().unwrap_or_default();
            config::InvalidConfig::new(&path, "catalog", format!("{e:#}"))
        })?,
    ));
    // No background task outlives a CLI command: what a server purges on a schedule, the
    // embedded store purges when it opens. A new store's audit chain is sealed (once).
    state.store.seal_audit(state.now()).await?;
    server::workers::purger::run(&state).await;
    let os_user = env_vars::os_user();
    if fresh || state.store.list_environments().await?.is_empty() {
        server::dev::ensure_environment(
            &state,
            "default",
            "The local store's first environment",
            &format!("local:{os_user}"),
        )
        .await?;
    }
    Ok(Client::new(
        Target::Local {
            path,
            router: server::router(state.clone()),
            state,
            os_user,
        },
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert!(same_origin(
            "https://keyward.example.com",
            "HTTPS://Keyward.Example.com:443/"
        ));
        assert!(same_origin(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/v"
        ));
        assert!(!same_origin(
            "https://keyward.example.com",
            "http://keyward.example.com"
        ));
        assert!(!same_origin(
            "https://keyward.example.com",
            "https://keyward.example.com:8443"
        ));
        assert!(!same_origin(
            "https://keyward.example.com",
            "https://keyward.example.com.evil.example"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8080",
            "http://localhost:8080"
        ));
        assert!(!same_origin("https://keyward.example.com", "not a url"));
    }
}
