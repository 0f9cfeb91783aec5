//! The CLI's profiles: `config.toml` in the user's config directory, created 0600 in a 0700
//! directory. A profile is a server URL and a client id, never a secret; secrets and cached
//! tokens live in the OS keyring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde::{Deserialize, Serialize};

use crate::fsutil;

pub const DEFAULT_PROFILE: &str = "default";
/// The name `profiles use` takes for the embedded local store; no profile may have it.
pub const LOCAL_PROFILE: &str = "local";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile commands use when none is named (`keyward profiles use`); `local` for the
    /// embedded store. Absent: `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: String,
    pub client_id: Option<String>,
    /// The CA certificates `keyward login --ca-cert` was given, trusted for this profile's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

/// `~/.config/keyward` (or the platform's equivalent).
pub fn config_dir() -> anyhow::Result<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("keyward"))
        .ok_or_else(|| anyhow!("cannot find a config directory: set HOME"))
}

/// `~/.local/share/keyward` (or the platform's equivalent): the embedded store lives here.
pub fn data_dir() -> anyhow::Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("keyward"))
        .ok_or_else(|| anyhow!("cannot find a data directory: set HOME"))
}

impl Config {
    pub fn path() -> anyhow::Result<PathBuf> {
        Ok(config_dir()?.join("config.toml"))
    }

    /// The config, or an empty one when the file does not exist yet.
    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| InvalidConfig::toml(&path, "config", &text, &e).into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The config as it is now, and the lock that keeps it so until the returned lock drops:
    /// for a change saved with [`Config::save`], so that two commands changing it at once (two
    /// logins) each keep the other's change.
    pub fn load_for_update() -> anyhow::Result<(Self, fsutil::FileLock)> {
        let path = Self::path()?;
        let dir = path.parent().expect("config.toml has a parent directory");
        fsutil::ensure_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let lock =
            fsutil::lock(&path).with_context(|| format!("cannot lock {}", path.display()))?;
        Ok((Self::load()?, lock))
    }

    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        save_to(self, &path)?;
        Ok(path)
    }
}

/// A file of the user's settings (config.toml, the local store's catalog.toml) that keyward
/// cannot take: the user's to correct, like a wrong flag (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path} is not a valid keyward {what}:{at} {why}")]
pub struct InvalidConfig {
    path: String,
    /// `config`, `catalog`.
    what: &'static str,
    /// ` line N:`, when the parser says where.
    at: String,
    why: String,
}

impl InvalidConfig {
    /// `path` (a `what`) refused for `why`.
    pub fn new(path: &Path, what: &'static str, why: String) -> Self {
        InvalidConfig {
            path: path.display().to_string(),
            what,
            at: String::new(),
            why,
        }
    }

    /// `text`, read from `path` (a `what`), does not parse: one line naming the file, the line
    /// and the problem (the TOML error's own text is a drawing of the line over several).
    pub fn toml(path: &Path, what: &'static str, text: &str, e: &toml::de::Error) -> Self {
        let at = e
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!(" line {line}:")
            })
            .unwrap_or_default();
        InvalidConfig {
            at,
            ..Self::new(path, what, e.message().trim_end().to_owned())
        }
    }
}

fn save_to(config: &Config, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().expect("config.toml has a parent directory");
    fsutil::ensure_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let text = toml::to_string(config).context("cannot serialise the config")?;
    fsutil::write_private(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
