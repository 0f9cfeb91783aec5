//! The index of secrets this machine keeps in the OS keyring: which key, under which profile,
//! from which store. Keyrings cannot all be searched, so keyward keeps this list itself, next to
//! config.toml (0600). It holds ids and names, never a secret.

use std::path::PathBuf;

use anyhow::Context;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config;
use crate::fsutil;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// The keyring user is `<profile>:<key_id>`.
    pub profile: String,
    pub key_id: String,
    pub name: String,
    /// The server URL, or the local store's path.
    pub origin: String,
    pub stored_at: Timestamp,
    /// Which keyring holds it (`secret-service`, `keyutils`, ...): with two in use on one
    /// machine, get and delete must go to the one that has it. Absent in older indexes: the
    /// keyring in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<String>,
}

impl StoredSecret {
    /// The keyring that holds this secret.
    pub fn keyring(&self) -> Result<crate::keyring::Keyring, crate::keyring::KeyringError> {
        match &self.keyring {
            Some(kind) => crate::keyring::Keyring::open_kind(kind),
            None => crate::keyring::Keyring::open(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(default, rename = "secret")]
    pub secrets: Vec<StoredSecret>,
}

impl Index {
    fn path() -> anyhow::Result<PathBuf> {
        Ok(config::config_dir()?.join("secrets.toml"))
    }

    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).with_context(|| {
                format!("{} is not a valid keyward secrets index", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The index as it is now, and the lock that keeps it so until the returned lock drops (see
    /// [`crate::config::Config::load_for_update`]).
    pub fn load_for_update() -> anyhow::Result<(Self, fsutil::FileLock)> {
        let path = Self::path()?;
        let dir = path.parent().expect("the index has a parent directory");
        fsutil::ensure_private_dir(dir)?;
        let lock =
            fsutil::lock(&path).with_context(|| format!("cannot lock {}", path.display()))?;
        Ok((Self::load()?, lock))
    }

    pub fn save(&self) -> anyhow::Result<()> {
        let path = Self::path()?;
        let dir = path.parent().expect("the index has a parent directory");
        fsutil::ensure_private_dir(dir)?;
        let text = toml::to_string(self).context("cannot serialise the secrets index")?;
        fsutil::write_private(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Adds or replaces the entry for `(profile, key_id)`.
    pub fn upsert(&mut self, entry: StoredSecret) {
        self.secrets
            .retain(|s| !(s.profile == entry.profile && s.key_id == entry.key_id));
        self.secrets.push(entry);
    }

    /// The entry of `profile` whose id or name is `key`. A name reused by a new key (after the
    /// old one was revoked elsewhere) means the newest stored secret under that name.
    pub fn find(&self, profile: &str, key: &str) -> Option<&StoredSecret> {
        let of_profile = || self.secrets.iter().filter(|s| s.profile == profile);
        of_profile().find(|s| s.key_id == key).or_else(|| {
            of_profile()
                .filter(|s| s.name == key)
                .max_by_key(|s| s.stored_at)
        })
    }

    /// Forgets the entry of `(profile, key_id)`.
    pub fn remove(&mut self, profile: &str, key_id: &str) {
        self.secrets
            .retain(|s| !(s.profile == profile && s.key_id == key_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key_id: &str, name: &str, at: &str) -> StoredSecret {
        StoredSecret {
            profile: "default".into(),
            key_id: key_id.into(),
            name: name.into(),
            origin: "https://keyward.example.com".into(),
            stored_at: at.parse().unwrap(),
            keyring: Some("keyutils".into()),
        }
    }

    #[test]
    fn a_reused_name_finds_the_newest_secret() {
        let mut index = Index::default();
        index.upsert(entry("key_new", "app", "2026-11-02T00:00:00Z"));
        index.upsert(entry("key_old", "app", "2026-11-01T00:00:00Z"));
        assert_eq!(index.find("default", "app").unwrap().key_id, "key_new");
        assert_eq!(index.find("default", "key_old").unwrap().key_id, "key_old");
        assert!(index.find("other", "app").is_none());
    }
}
