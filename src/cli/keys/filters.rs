//! The key filters that `keys list` and the bulk forms of `keys disable` and `keys revoke`
//! share, so that "what list shows" and "what a bulk change touches" are the same keys.

use clap::Args;

use crate::api::{KeyStatus, KeyType, ListKeys};
use crate::cli::UsageError;
use crate::cli::time::parse_positive_seconds;

#[derive(Debug, Clone, Default, Args)]
pub struct KeyFilterArgs {
    /// Only keys in this state
    #[arg(long, value_enum)]
    pub status: Option<KeyStatus>,

    /// Only keys of this type
    #[arg(long = "type", value_enum)]
    pub key_type: Option<KeyType>,

    /// Only keys in this environment
    #[arg(long = "env", value_name = "ENV", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub environment: Option<String>,

    /// Only keys holding this permission
    #[arg(long, value_name = "PERMISSION", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::permission_names))]
    pub permission: Option<String>,

    /// Only keys of this owner (exact)
    #[arg(long, value_name = "ID")]
    pub owner: Option<String>,

    /// Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<String>,

    /// Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked
    #[arg(long, value_name = "DURATION")]
    pub unused_for: Option<String>,
}

impl KeyFilterArgs {
    /// Whether any filter was given.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.key_type.is_none()
            && self.environment.is_none()
            && self.permission.is_none()
            && self.owner.is_none()
            && self.search.is_none()
            && self.expiring_within.is_none()
            && self.unused_for.is_none()
    }

    /// The filters as the flags that set them (`--env staging --status revoked`), to say what
    /// matched nothing.
    pub fn describe(&self, name: Option<&str>) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut add = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{flag} {}", crate::output::printable(&v)));
            }
        };
        add("--name", name.map(str::to_owned));
        add("--status", self.status.map(|s| s.as_str().to_owned()));
        add("--type", self.key_type.map(|t| t.as_str().to_owned()));
        add("--env", self.environment.clone());
        add("--permission", self.permission.clone());
        add("--owner", self.owner.clone());
        add("--search", self.search.clone());
        add("--expiring-within", self.expiring_within.clone());
        add("--unused-for", self.unused_for.clone());
        parts.join(" ")
    }

    /// The query these filters make. Durations are sent as such: the server counts them from
    /// its own clock.
    pub fn to_query(&self) -> Result<ListKeys, UsageError> {
        let seconds = |text: &Option<String>, flag: &str| {
            text.as_deref()
                .map(|d| parse_positive_seconds(d, flag))
                .transpose()
        };
        Ok(ListKeys {
            q: self.search.clone(),
            status: self.status,
            key_type: self.key_type,
            environment: self.environment.clone(),
            permission: self.permission.clone(),
            owner: self.owner.clone(),
            expiring_within_seconds: seconds(&self.expiring_within, "--expiring-within")?,
            unused_for_seconds: seconds(&self.unused_for, "--unused-for")?,
            ..ListKeys::default()
        })
    }
}
