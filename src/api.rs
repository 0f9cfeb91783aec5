//! The Keyward API's wire types: the one definition of each object, shared by the server's
//! handlers and the CLI's client, and what `--output json` prints.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// The audit log's actions: the one list the server writes from and the CLI and the API's
/// `action`/`exclude_action` filters check against.
pub mod actions {
    pub const KEY_CREATE: &str = "key.create";
    pub const KEY_EDIT: &str = "key.edit";
    pub const KEY_DISABLE: &str = "key.disable";
    pub const KEY_ENABLE: &str = "key.enable";
    pub const KEY_ROTATE: &str = "key.rotate";
    pub const KEY_REVOKE: &str = "key.revoke";
    pub const KEY_BREAK_GLASS: &str = "key.break_glass";
    pub const KEY_CREDITS: &str = "key.credits";
    pub const TOKEN_EXCHANGE: &str = "token.exchange";
    pub const ENVIRONMENT_CREATE: &str = "environment.create";
    pub const ENVIRONMENT_DELETE: &str = "environment.delete";
    pub const AUDIT_SEAL: &str = "audit.seal";
    pub const AUDIT_PRUNE: &str = "audit.prune";
    pub const ALL: [&str; 13] = [
        KEY_CREATE,
        KEY_EDIT,
        KEY_DISABLE,
        KEY_ENABLE,
        KEY_ROTATE,
        KEY_REVOKE,
        KEY_BREAK_GLASS,
        KEY_CREDITS,
        TOKEN_EXCHANGE,
        ENVIRONMENT_CREATE,
        ENVIRONMENT_DELETE,
        AUDIT_SEAL,
        AUDIT_PRUNE,
    ];

    /// The first of `list` (comma-separated) that is not an action, if any.
    pub fn unknown(list: &str) -> Option<&str> {
        list.split(',').map(str::trim).find(|a| !ALL.contains(a))
    }
}

/// Lifetime of an access token from the token endpoint.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 86_400;

/// The most a key's `meta` may take, as JSON text.
pub const META_MAX_BYTES: usize = 4096;

/// A key's `meta`: a JSON object of the caller's, kept and answered byte for byte as it was
/// sent (numbers, key order and escapes untouched), never re-encoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Meta(Box<serde_json::value::RawValue>);

impl Meta {
    /// The JSON text as sent.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Kept text read back; `None` if it is not JSON (a row changed behind keyward's back).
    pub fn from_stored(text: String) -> Option<Meta> {
        serde_json::value::RawValue::from_string(text)
            .ok()
            .map(Meta)
    }

    /// Whether it is a JSON object, the only shape `meta` takes.
    pub fn is_object(&self) -> bool {
        self.as_str().trim_start().starts_with('{')
    }
}

/// How deep a `meta` may nest (objects and arrays).
pub const META_MAX_DEPTH: usize = 32;

/// Whether `text` (one JSON value) is I-JSON (RFC 7493), which every JSON reader takes the same
/// way: no name twice in one object, no lone surrogate (`\ud800`), no number a double cannot
/// hold (`1e400`, an integer beyond ±2^53), nested at most [`META_MAX_DEPTH`] deep. Says why
/// not, in the user's words.
pub fn check_interoperable(text: &str) -> Result<(), String> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let walked = interop::Walk { depth: 0 }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = walked {
        let why = e.to_string();
        // serde_json's own words for what it refuses, without its line and column.
        let why = why.split(" at line ").next().unwrap_or(&why);
        return Err(match why {
            w if w.contains("recursion limit") => {
                format!("it nests deeper than {META_MAX_DEPTH} levels")
            }
            w if w.contains("surrogate") || w.contains("escape") => {
                "it holds an escape that is not a whole character (a lone surrogate)".to_owned()
            }
            w if w.contains("out of range") => {
                "it holds a number too large for a double".to_owned()
            }
            w => w.to_owned(),
        });
    }
    interop::integers_within_doubles(text)
}

mod interop {
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    /// The largest integer a double holds exactly, and every one below it.
    const SAFE_INTEGER: i128 = (1 << 53) - 1;

    /// Reads a value, refusing names twice in an object and nesting past the limit.
    pub struct Walk {
        pub depth: usize,
    }

    impl Walk {
        fn inner<E: Error>(&self) -> Result<Walk, E> {
            if self.depth >= super::META_MAX_DEPTH {
                return Err(E::custom(format!(
                    "it nests deeper than {} levels",
                    super::META_MAX_DEPTH
                )));
            }
            Ok(Walk {
                depth: self.depth + 1,
            })
        }
    }

    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(self.inner()?)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(name) = map.next_key::<String>()? {
                if !seen.insert(name) {
                    return Err(A::Error::custom("a name appears twice in one object"));
                }
                map.next_value_seed(self.inner()?)?;
            }
            Ok(())
        }
    }

    /// Integers (numbers with no fraction or exponent) outside strings, each within ±2^53:
    /// past it a double (every JavaScript reader) would change the number.
    pub fn integers_within_doubles(text: &str) -> Result<(), String> {
        let mut chars = text.char_indices().peekable();
        let (mut in_string, mut escaped) = (false, false);
        while let Some((start, c)) = chars.next() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            if c == '"' {
                in_string = true;
                continue;
            }
            if c == '-' || c.is_ascii_digit() {
                let mut end = start + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    if !(d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-')) {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                let number = &text[start..end];
                let integer = !number.contains(['.', 'e', 'E']);
                if integer
                    && number
                        .parse::<i128>()
                        .map_or(true, |n| n.abs() > SAFE_INTEGER)
                {
                    return Err(
                        "it holds an integer beyond ±9007199254740991 (2^53 − 1), which most readers would change; send it as a string"
                            .to_owned(),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod interop_tests {
    use super::check_interoperable;

    #[test]
    fn only_json_every_reader_takes_alike_passes() {
        for ok in [
            r#"{"plan": "pro", "ratio": 1.50, "n": -9007199254740991, "e": 1e20, "s": "\u00e9 \ud83d\ude00 12345678901234567890"}"#,
            r#"{"a": {"a": [1, {"a": null}]}}"#,
        ] {
            assert_eq!(check_interoperable(ok), Ok(()), "{ok}");
        }
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        for (bad, why) in [
            (r#"{"a": 1, "a": 2}"#, "twice"),
            (r#"{"a": "\ud800"}"#, "surrogate"),
            (r#"{"n": 1e400}"#, "too large"),
            (r#"{"n": 9007199254740992}"#, "2^53"),
            (r#"{"n": -123456789012345678901234567890}"#, "2^53"),
            (&format!(r#"{{"d": {deep}}}"#), "deeper"),
        ] {
            let said = check_interoperable(bad).unwrap_err();
            assert!(said.contains(why), "{bad}: {said}");
        }
    }
}

impl PartialEq for Meta {
    fn eq(&self, other: &Meta) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The most credits a key may hold, and the most one verify may spend.
pub const MAX_CREDITS: u64 = 1_000_000_000_000;
pub const MAX_COST: u64 = 1_000_000_000;

/// How often a key's credits are refilled: every day at 00:00 UTC, or every month on `day`
/// (1 to 31; the month's last day where it has fewer) at 00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefillInterval {
    Day,
    Month,
}

/// A refill: the balance is set to `amount` (not added to) at each interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refill {
    #[serde(deserialize_with = "whole::required")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: u64,
    pub interval: RefillInterval,
    /// For `month`: the day of the month (default 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(minimum = 1, maximum = 31)]
    pub day: Option<u64>,
}

/// A key's credits as read: what remains (a refill due is counted as made) and the refill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credits {
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
    /// When the next refill sets the balance, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_refill_at: Option<Timestamp>,
}

/// Verify's word on a key's credits: what remains after this verify, and when the next
/// refill comes, if one does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditsAnswer {
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reset: Option<Timestamp>,
}

/// The most named rate limits a key may carry.
pub const MAX_RATELIMITS: usize = 8;
/// The longest window a rate limit may count over: 31 days.
pub const MAX_RATELIMIT_WINDOW_SECS: u64 = 31 * 86_400;

/// A named rate limit: at most `limit` of verify's `cost` in any `window_secs` (a sliding
/// window: the current window's count plus the share of the previous one's still inside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// 1–32 of `a-z 0-9 _ -`, unique on the key (`requests`, `daily`).
    #[schema(pattern = r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    pub name: String,
    #[serde(deserialize_with = "whole::required")]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub limit: u64,
    /// The window, in seconds: 1 to 2,678,400 (31 days).
    #[serde(deserialize_with = "whole::required")]
    #[schema(minimum = 1, maximum = 2_678_400)]
    pub window_secs: u64,
}

/// `requests=100/1m`: the window in the largest unit that divides it.
impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}/", self.name, self.limit)?;
        for (per, unit) in [(86_400, "d"), (3600, "h"), (60, "m")] {
            if self.window_secs % per == 0 {
                return write!(f, "{}{unit}", self.window_secs / per);
            }
        }
        write!(f, "{}s", self.window_secs)
    }
}

/// Verify's word on a key's rate limits: the tightest of them (the one that refused, or the
/// one with the least left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateLimitAnswer {
    pub name: String,
    pub limit: u64,
    /// What is left in the window after this verify.
    pub remaining: u64,
    /// When everything counted so far has left the window (the limit is whole again).
    #[schema(value_type = String, format = DateTime)]
    pub reset: Timestamp,
    /// On `RATE_LIMITED`: seconds until a verify of the same cost can pass, if no other does
    /// meanwhile (what a gateway sends as `Retry-After`); absent when the cost is larger than
    /// the limit (it never fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// `POST /v1/keys/{id}/credits`: exactly one of `set`, `add`, `subtract`. `set` gives a key
/// without credits a balance (from then on each verify spends); `add` and `subtract` change a
/// balance there is (subtracting past zero leaves zero).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeCredits {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(maximum = 1_000_000_000_000_i64)]
    pub set: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(maximum = 1_000_000_000_000_i64)]
    pub add: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(maximum = 1_000_000_000_000_i64)]
    pub subtract: Option<u64>,
}

/// A field `PATCH` can clear: absent (`None`) leaves it, `null` (`Some(None)`) clears it.
mod nullable {
    use serde::{Deserialize, Deserializer};

    pub fn field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, ToSchema)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Key {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Who the key is for, in the caller's own terms (a customer, team or service id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The caller's JSON object, as sent; verify answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Meta>,
    /// Where the key has credits: each verify spends its `cost` from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
    /// Named rate limits verify enforces; absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratelimits: Vec<RateLimit>,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    pub environments: BTreeSet<String>,
    /// Present and `true` on a key holding `admin`: a super admin acts on every environment
    /// (those created later too), whatever `environments` lists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_environments: bool,
    pub permissions: BTreeSet<String>,
    pub allowed_ips: Vec<String>,
    pub status: KeyStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// The secret's prefix and last four characters, to recognise it (`kw_sk_…AbCd`).
    pub hint: String,
    /// Changes with every change of the key; `PATCH` sends it back in `If-Match`.
    pub version: i64,
}

/// `POST /v1/keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "checkout-web",
    "description": "Checkout's browser client",
    "type": "private",
    "environments": ["staging"],
    "permissions": ["keys:read"],
    "allowed_ips": ["10.0.0.0/8"],
    "expires_in_seconds": 2_592_000
}))]
pub struct CreateKey {
    /// Unique among keys that are not revoked; not `key_…` (ids look like that).
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// Who the key is for (a customer, team or service id of yours): 1 to 128 characters,
    /// no control characters. Verify answers it; lists filter by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 128)]
    pub owner: Option<String>,
    /// A JSON object of yours, at most 4,096 bytes as sent; verify answers it byte for byte.
    /// Every service that verifies the key sees it: no secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Meta>,
    /// A balance of credits: each verify spends its `cost` (default 1), and the key answers
    /// `USAGE_EXCEEDED` when they run out. Absent: no credits, verify spends nothing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(maximum = 1_000_000_000_000_i64)]
    pub credits: Option<u64>,
    /// Sets the balance to `amount` every day or month (with no `credits`, the key starts
    /// with `amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
    /// Named rate limits (at most 8): verify answers `RATE_LIMITED` when a use would pass one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 8)]
    pub ratelimits: Vec<RateLimit>,
    /// Absent: `private`.
    #[serde(rename = "type", default)]
    pub key_type: Option<KeyType>,
    /// Existing environments. Empty: the caller's only environment, when it has exactly one.
    #[serde(default)]
    #[schema(inline, value_type = Vec<EnvironmentName>)]
    pub environments: BTreeSet<String>,
    /// From `GET /v1/permissions`; a public key only public-safe ones.
    #[serde(default)]
    #[schema(inline, value_type = Vec<PermissionName>)]
    pub permissions: BTreeSet<String>,
    /// Addresses or CIDRs the key may be used from; empty: anywhere.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_ips: Vec<String>,
    /// Absent: one year from now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    pub expires_in_seconds: Option<u64>,
    /// Bring your own secret instead of a generated one: long and random enough, and if it
    /// starts with `kw_`, a valid keyward secret. Absent: keyward generates one.
    #[serde(
        default,
        with = "opt_secret_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Secret>,
}

/// An environment's name in the OpenAPI document: 1–32 of `a-z 0-9 _ -`, starting with a
/// letter or digit. (Names travel as plain strings; this only describes them.)
pub struct EnvironmentName;

impl utoipa::PartialSchema for EnvironmentName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        name_schema("An environment's name", r"^[a-z0-9][a-z0-9_-]{0,31}$", 32)
    }
}

impl ToSchema for EnvironmentName {}

/// A permission's name in the OpenAPI document: `resource:action` (lowercase letters, digits,
/// `_`, `-`, `.`), or `admin`.
pub struct PermissionName;

impl utoipa::PartialSchema for PermissionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        name_schema(
            "A permission: resource:action, or admin",
            r"^(admin|[a-z0-9_.-]+:[a-z0-9_.-]+)$",
            64,
        )
    }
}

impl ToSchema for PermissionName {}

fn name_schema(
    description: &str,
    pattern: &str,
    max_length: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .max_length(Some(max_length))
        .into()
}

/// `PATCH /v1/keys/{id}` (with `If-Match`): only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// A new owner; `null` removes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "nullable::field"
    )]
    #[schema(value_type = Option<String>, nullable, max_length = 128)]
    pub owner: Option<Option<String>>,
    /// A new `meta` in place of the old (the whole object); `null` removes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "nullable::field"
    )]
    #[schema(value_type = Option<Object>, nullable)]
    pub meta: Option<Option<Meta>>,
    /// The key's rate limits in place of the old (all of them); `[]` removes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 8)]
    pub ratelimits: Option<Vec<RateLimit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(inline, value_type = Option<Vec<EnvironmentName>>)]
    pub environments: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(inline, value_type = Option<Vec<PermissionName>>)]
    pub permissions: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub allowed_ips: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    pub expires_in_seconds: Option<u64>,
    /// A key's type never changes: accepted only to refuse a change plainly (a public key
    /// made private would be loosened; `403`), the same type changes nothing.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
}

impl EditKey {
    pub fn is_empty(&self) -> bool {
        *self == EditKey::default()
    }
}

/// `POST /v1/keys/{id}/enable`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableKey {
    /// A new expiry; an expired key enabled without one gets the longest allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    pub expires_in_seconds: Option<u64>,
}

/// The longest a rotated-out secret may keep working.
pub const MAX_ROTATION_GRACE_SECS: u64 = 7 * 24 * 3600;

/// `POST /v1/keys/{id}/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old secret keeps working (default 0: it stops at once; at most 7 days).
    #[serde(default, deserialize_with = "whole::required")]
    #[schema(maximum = 604800)]
    pub grace_seconds: u64,
    /// A new expiry for the key, within the maximum; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Instead of `expires_at`: this many seconds from now by the server's clock.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    pub expires_in_seconds: Option<u64>,
}

/// `POST /v1/verify`: is this presented key good for this use?
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The secret the service was shown.
    #[serde(with = "secret_string")]
    #[schema(value_type = String)]
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
    /// What this use costs in the key's credits and rate limits (default 1; 0 only checks
    /// that some remain). A key without either spends nothing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::optional"
    )]
    #[schema(maximum = 1_000_000_000)]
    pub cost: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
    RateLimited,
    UsageExceeded,
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
            VerifyCode::RateLimited => "RATE_LIMITED",
            VerifyCode::UsageExceeded => "USAGE_EXCEEDED",
        }
    }
}

/// The answer of verify. For `INVALID` it is exactly `{"valid":false,"code":"INVALID"}`, whether
/// the key is unknown or the secret wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// The key's owner, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The key's `meta`, byte for byte as it was set, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Meta>,
    /// Where the key has rate limits and the verify got as far as them: the tightest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitAnswer>,
    /// Where the key has credits and the verify got as far as spending them: what remains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditsAnswer>,
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
            owner: None,
            meta: None,
            ratelimit: None,
            credits: None,
        }
    }
}

/// The answer to create and rotate: the key and its secret, shown this once. `secret` is null
/// when the caller brought their own, and on an Idempotency-Key replay (no secret is kept to
/// replay it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyWithSecret {
    #[serde(flatten)]
    pub key: Key,
    /// Shown this once; null for a brought secret and on an Idempotency-Key replay.
    #[serde(with = "opt_secret_string")]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Secret>,
}

/// Read by hand, not through `flatten`: serde buffers a flattened struct in a form that a
/// `meta` (a RawValue) cannot be read back from. The answer is kept as its raw text and read
/// twice, so `meta` stays byte for byte as the server sent it.
impl<'de> Deserialize<'de> for KeyWithSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        struct SecretOnly {
            #[serde(default, with = "opt_secret_string")]
            secret: Option<Secret>,
        }
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let key: Key = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        let SecretOnly { secret } = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        Ok(KeyWithSecret { key, secret })
    }
}

/// Whole numbers of seconds. JSON has one number type, and to JSON Schema (which the OpenAPI
/// document speaks) `3600.0` is an integer too: it is taken as 3600. A fraction is refused.
mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    fn to_u64<E: Error>(n: serde_json::Number) -> Result<u64, E> {
        if let Some(v) = n.as_u64() {
            return Ok(v);
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(f as u64),
            _ => Err(E::custom("expected a whole number of seconds, 0 or more")),
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
        to_u64(serde_json::Number::deserialize(de)?)
    }

    pub fn optional<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
        Option::<serde_json::Number>::deserialize(de)?
            .map(to_u64)
            .transpose()
    }
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListKeys {
    /// A fragment of the name, description, hint or an allowed IP (case ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Exact name: at most one key that is not revoked, and any number of revoked tombstones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<KeyStatus>,
    /// Leave revoked keys out (what `keyward keys list` shows unless asked); not with
    /// `status=revoked`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hide_revoked: bool,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[param(rename = "type")]
    pub key_type: Option<KeyType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Exact owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Keys that expire before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub expires_before: Option<Timestamp>,
    /// Keys not used since this time (never-used keys included).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub unused_since: Option<Timestamp>,
    /// Instead of `expires_before`: within this many seconds of the server's now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiring_within_seconds: Option<u64>,
    /// Instead of `unused_since`: this many seconds before the server's now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unused_for_seconds: Option<u64>,
    /// `created_at` (default), `-created_at`, `expires_at` or `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(created_at|-created_at|expires_at|name)$")]
    pub sort: Option<String>,
    /// Keys per page (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `GET /v1/keys/{id}/usage` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// From this time (default: 24 hours before the server's now).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Until before this time (default: the server's now).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// `minute`, `hour` (default) or `day`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(minute|hour|day)$")]
    pub bucket: Option<String>,
}

/// A key's verifications over time, by the code verify answered. Counts are kept per minute
/// and written in batches every few seconds; the server answering includes its own unwritten
/// counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyUsage {
    pub key_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
    /// `minute`, `hour` or `day`.
    pub bucket: String,
    /// Verifications in the whole window, by code (`VALID`, `EXPIRED`, …).
    pub totals: std::collections::BTreeMap<String, u64>,
    /// Credits spent in the whole window (by `VALID` answers, each its `cost`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub credits_spent: u64,
    /// The buckets that hold any verification, oldest first.
    pub buckets: Vec<UsageBucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageBucket {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// Verifications in this bucket, by code.
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Credits spent in this bucket.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub credits_spent: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `GET /v1/audit` query: every filter optional, newest first unless `order=oldest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAudit {
    /// Who acted: `key:<id>` or `local:<os user>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The key the events are about (its id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Only these actions (comma-separated): `key.create`, `key.edit`, `key.disable`,
    /// `key.enable`, `key.rotate`, `key.revoke`, `key.break_glass`, `token.exchange`,
    /// `environment.create`, `environment.delete`, `audit.seal`, `audit.prune`. Another value
    /// is refused (422 `invalid_filter`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Leave out these actions (comma-separated, from the same list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(success|failure)$")]
    pub outcome: Option<String>,
    /// Events at or after this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Events before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// `newest` (default) or `oldest` first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(newest|oldest)$")]
    pub order: Option<String>,
    /// Events per page (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One event of the audit log: who did what to which key, from where, and how it ended. It
/// never holds a secret or a digest of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Increases with every event (gaps are writes that rolled back).
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `key:<id>` or `local:<os user>` (the server host's operator).
    pub actor: String,
    /// The acting key's name, when the actor is a key that was found.
    pub actor_name: Option<String>,
    pub action: String,
    /// The key the event is about.
    pub key_id: Option<String>,
    /// That key's name when the event was written (a later rename does not change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// That key's environments (or the environment an environment event is about).
    pub environments: Vec<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Why a failure failed: the error code its caller was answered with.
    pub error_code: Option<String>,
    /// An edit's changed fields, by name (never their values).
    pub changed: Vec<String>,
    /// What the audit log says of itself: `audit.prune` (how many deleted, where the chain now
    /// starts), `audit.seal` (how many earlier events were linked), a count of failed
    /// authentications folded into one event during a flood; on a `token.exchange` failure,
    /// `repeated=N since=TIME (…)`: N more failures of that client id from that source network
    /// (`source_ip`, an IPv4 /24 or IPv6 /48) in the interval, counted, not itemized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `GET /v1/audit/verify` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyAudit {
    /// `ID:LINK`, as `GET /v1/audit/checkpoint` gave it earlier: verify also fails when that
    /// event is gone (the newest events were removed) or changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^[0-9]+:[0-9a-f]{64}$")]
    pub checkpoint: Option<String>,
    /// `true`: the answer is JSON Lines: `{"checked": N}` lines (at most four a second, blank
    /// lines between) while the walk goes on, then the result. Otherwise one JSON object,
    /// preceded by blank lines while the walk goes on, so that no proxy times the answer out.
    /// One verify runs at a time on a server (409 `verify_in_progress` meanwhile), and a walk
    /// whose client hung up stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<bool>,
}

/// The audit log's newest event: keep `checkpoint` somewhere the database's writers cannot
/// reach, and pass it to `GET /v1/audit/verify` later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditCheckpoint {
    pub id: i64,
    /// The event's link in the chain, in hex.
    pub link: String,
    /// `ID:LINK`.
    pub checkpoint: String,
}

/// How far `GET /v1/audit/verify?progress=true` got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditProgress {
    pub checked: u64,
}

/// What `GET /v1/audit/verify` found walking the chain of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every event follows from the one before it.
    pub intact: bool,
    /// Events checked (up to the first broken one).
    pub checked: u64,
    /// The first event that does not follow: it was changed or inserted, or an event just
    /// before it was removed.
    pub first_broken: Option<i64>,
    /// What is wrong with `first_broken`, in words.
    pub detail: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Environment {
    pub name: String,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// In a listing, for callers holding `keys:read`: how many of the keys the caller may see
    /// live there, by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyCounts>,
}

/// `GET /v1/environments` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEnvironments {
    /// Count each environment's keys by state (for a caller holding `keys:read`). It reads
    /// every key the caller may see: about 2 s at a million keys on SQLite, so it is asked for.
    #[serde(default)]
    pub counts: bool,
}

/// What `DELETE /v1/environments/{name}` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeletedEnvironment {
    pub name: String,
    /// The keys that also lived elsewhere and left it.
    pub moved_keys: Vec<String>,
}

/// Keys of an environment by state (a key in several environments counts in each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyCounts {
    pub active: u64,
    pub disabled: u64,
    /// Active keys past their expiry.
    pub expired: u64,
    pub revoked: u64,
    /// Keys not revoked and not yet expired that expire within 30 days.
    pub expiring_within_30_days: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvironment {
    #[schema(pattern = r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Permission {
    pub name: String,
    pub description: String,
    /// May be held by a public key.
    pub public_safe: bool,
    /// One of keyward's own permissions rather than the product's catalog.
    pub builtin: bool,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Whoami {
    /// `key:<id>` for a key's token, `local:<os user>` for the embedded store's root.
    pub principal: String,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub permissions: BTreeSet<String>,
    /// Absent: every environment (super admin).
    pub environments: Option<BTreeSet<String>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub token_expires_at: Option<Timestamp>,
    /// When the calling key itself expires (absent for the embedded store's root).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub key_expires_at: Option<Timestamp>,
}

/// `POST /v1/oauth/token` answer (RFC 6749 §5.1).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
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

/// An RFC 9457 problem (`application/problem+json`); `code` is stable and documented, `detail`
/// is for people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `https://keyward.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// One of: bad_request (400); unauthenticated, invalid_client (401); unsupported_grant_type, key_disabled,
    /// key_expired, key_revoked, public_key, ip_not_allowed (400, token endpoint); forbidden (403);
    /// not_found (404); method_not_allowed (405); request_timeout (408); name_taken,
    /// environment_exists, key_revoked, conflict, busy, last_super_admin (409); version_mismatch (412);
    /// payload_too_large (413); uri_too_long (414); unsupported_media_type (415); invalid_name,
    /// invalid_environment, unknown_environment, environment_required, unknown_permission,
    /// permission_not_public_safe, invalid_ip, too_many_allowed_ips, description_too_long,
    /// invalid_expiry, invalid_grace, weak_secret, secret_type_mismatch, type_unchangeable,
    /// allowlist_locks_out_caller, nothing_to_change,
    /// idempotency_key_reused, invalid_cursor, invalid_filter, invalid_limit, invalid_sort,
    /// invalid (422); if_match_required (428); too_many_failures
    /// (429); headers_too_large (431); internal (500); database_unavailable (503).
    pub code: String,
    pub detail: String,
    /// RFC 6749 §5.2 error name, on the token endpoint only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// `/readyz` on a server with a cache: how long ago its change feed was last read, in
    /// milliseconds (absent before the first read). Past `max_staleness_ms`, verify and token
    /// authentication read the database instead of the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_age_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_staleness_ms: Option<u64>,
}
