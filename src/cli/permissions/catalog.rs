//! The embedded store's permission catalog: `catalog.toml` in the config directory, in the same
//! `[[permissions]]` form as a server's config, so local trials can match production.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config;
use crate::server::config::CatalogEntry;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalCatalog {
    #[serde(default)]
    pub permissions: Vec<CatalogEntry>,
}

impl LocalCatalog {
    pub fn path() -> anyhow::Result<PathBuf> {
        Ok(config::config_dir()?.join("catalog.toml"))
    }

    /// The catalog, or an empty one when there is no file.
    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| config::InvalidConfig::toml(&path, "catalog", &text, &e).into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The catalog as it is now, and the lock that keeps it so until the returned lock drops
    /// (see [`crate::config::Config::load_for_update`]).
    pub fn load_for_update() -> anyhow::Result<(Self, crate::fsutil::FileLock)> {
        let path = Self::path()?;
        let dir = path.parent().expect("the catalog has a parent directory");
        crate::fsutil::ensure_private_dir(dir)?;
        let lock = crate::fsutil::lock(&path)
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok((Self::load()?, lock))
    }

    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        let dir = path.parent().expect("the catalog has a parent directory");
        crate::fsutil::ensure_private_dir(dir)?;
        let text = toml::to_string(self).context("cannot serialise the catalog")?;
        crate::fsutil::write_private(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}
