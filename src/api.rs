//! The Keyward API's wire types: the one definition of each object, shared by the server's
//! handlers and the CLI's client, and what `--output json` prints.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Built-in permissions. `admin` is the super admin: it holds every permission and environment.
pub const PERM_KEYS_READ: &str = "keys:read";
pub const PERM_KEYS_WRITE: &str = "keys:write";
pub const PERM_KEYS_REVOKE: &str = "keys:revoke";
pub const PERM_KEYS_VERIFY: &str = "keys:verify";
pub const PERM_AUDIT_READ: &str = "audit:read";
pub const PERM_ADMIN: &str = "admin";
pub const BUILTIN_PERMISSIONS: [(&str, &str); 6] = [
    (PERM_KEYS_READ, "List and show keys"),
    (PERM_KEYS_WRITE, "Create and edit keys"),
    (PERM_KEYS_REVOKE, "Revoke keys"),
    (PERM_KEYS_VERIFY, "Ask whether a presented key is valid"),
    (PERM_AUDIT_READ, "Read the audit log"),
    (
        PERM_ADMIN,
        "Super admin: every permission, every environment",
    ),
];

/// Lifetime of an access token from the token endpoint.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Server-side secret; may exchange for access tokens and hold any permission.
    Private,
    /// Safe to embed in clients; only public-safe permissions, never a token.
    Public,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Private => "private",
            KeyType::Public => "public",
        }
    }

    pub fn secret_prefix(self) -> &'static str {
        match self {
            KeyType::Private => crate::secret::PRIVATE_PREFIX,
            KeyType::Public => crate::secret::PUBLIC_PREFIX,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Disabled,
    /// Derived: an active key whose `expires_at` has passed.
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

/// A key as the API shows it. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub environments: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    pub allowed_ips: Vec<String>,
    pub status: KeyStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub hint: String,
    pub version: i64,
}

/// `POST /v1/keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type", default)]
    pub key_type: Option<KeyType>,
    /// Empty: the caller's only environment, when it has exactly one.
    #[serde(default)]
    pub environments: BTreeSet<String>,
    #[serde(default)]
    pub permissions: BTreeSet<String>,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// Absent: one year from now.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
    /// Bring your own secret instead of a generated one: long and random enough, and if it
    /// starts with `kw_`, a valid keyward secret. Absent: keyward generates one.
    #[serde(
        default,
        with = "opt_secret_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret: Option<Secret>,
}

/// `PATCH /v1/keys/{id}` (with `If-Match`): only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

impl EditKey {
    pub fn is_empty(&self) -> bool {
        *self == EditKey::default()
    }
}

/// `POST /v1/keys/{id}/enable`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableKey {
    /// A new expiry; an expired key enabled without one gets the longest allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// The longest a rotated-out secret may keep working.
pub const MAX_ROTATION_GRACE_SECS: u64 = 7 * 24 * 3600;

/// `POST /v1/keys/{id}/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old secret keeps working (default 0: it stops at once; at most 7 days).
    #[serde(default)]
    pub grace_seconds: u64,
    /// A new expiry for the key, within the maximum; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// `POST /v1/verify`: is this presented key good for this use?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[serde(with = "secret_string")]
    pub key: Secret,
    /// The permission the service needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The environment the service runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The address the service saw the request come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    Invalid,
    Expired,
    Disabled,
    Revoked,
    IpNotAllowed,
    PermissionDenied,
    EnvironmentDenied,
}

impl VerifyCode {
    /// As on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyCode::Valid => "VALID",
            VerifyCode::Invalid => "INVALID",
            VerifyCode::Expired => "EXPIRED",
            VerifyCode::Disabled => "DISABLED",
            VerifyCode::Revoked => "REVOKED",
            VerifyCode::IpNotAllowed => "IP_NOT_ALLOWED",
            VerifyCode::PermissionDenied => "PERMISSION_DENIED",
            VerifyCode::EnvironmentDenied => "ENVIRONMENT_DENIED",
        }
    }
}

/// The answer of verify. For `INVALID` it is exactly `{"valid":false,"code":"INVALID"}`, whether
/// the key is unknown or the secret wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub valid: bool,
    pub code: VerifyCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl VerifyResponse {
    pub fn invalid() -> Self {
        VerifyResponse {
            valid: false,
            code: VerifyCode::Invalid,
            key_id: None,
            name: None,
            key_type: None,
            environments: None,
            permissions: None,
            expires_at: None,
        }
    }
}

/// The answer to create and rotate: the key and its secret, shown this once. `secret` is null
/// when the caller brought their own, and on an Idempotency-Key replay (no secret is kept to
/// replay it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyWithSecret {
    #[serde(flatten)]
    pub key: Key,
    #[serde(with = "opt_secret_string")]
    pub secret: Option<Secret>,
}

mod secret_string {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        String::deserialize(de).map(Secret::new)
    }
}

mod opt_secret_string {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(s: &Option<Secret>, ser: S) -> Result<S::Ok, S::Error> {
        match s {
            Some(s) => ser.serialize_some(s.expose()),
            None => ser.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(de)?.map(Secret::new))
    }
}

/// `GET /v1/keys` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListKeys {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Exact name: at most one key that is not revoked, and any number of revoked tombstones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<KeyStatus>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Keys that expire before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_before: Option<Timestamp>,
    /// Keys not used since this time (never-used keys included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unused_since: Option<Timestamp>,
    /// Instead of `expires_before`: within this many seconds of the server's now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiring_within_seconds: Option<u64>,
    /// Instead of `unused_since`: this many seconds before the server's now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unused_for_seconds: Option<u64>,
    /// `created_at` (default), `-created_at`, `expires_at` or `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvironment {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    pub name: String,
    pub description: String,
    /// May be held by a public key.
    pub public_safe: bool,
    /// One of keyward's own permissions rather than the product's catalog.
    pub builtin: bool,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Whoami {
    /// `key:<id>` for a key's token, `local:<os user>` for the embedded store's root.
    pub principal: String,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub permissions: BTreeSet<String>,
    /// Absent: every environment (super admin).
    pub environments: Option<BTreeSet<String>>,
    pub token_expires_at: Option<Timestamp>,
    /// When the calling key itself expires (absent for the embedded store's root).
    #[serde(default)]
    pub key_expires_at: Option<Timestamp>,
}

/// `POST /v1/oauth/token` answer (RFC 6749 §5.1).
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// An RFC 9457 problem; `code` is stable and documented, `detail` is for people.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
    /// RFC 6749 §5.2 error name, on the token endpoint only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}
