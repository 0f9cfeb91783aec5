//! Access tokens kept between commands, so that a run of commands (a CI job, a script) makes one
//! token exchange rather than one each.
//!
//! A token is kept in the OS keyring when one works (service `keyward`, like every other
//! entry), else only in the memory of the one command: never in a file. Each entry is bound to
//! what the token was minted for: the server's origin (scheme, host, port), the client id and a
//! digest of the client secret. A token is read back only for exactly those, so another server,
//! another key, or a rotated or mistyped secret never gets it, and makes its own exchange.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::{Credentials, TokenSink};
use crate::keyring::Keyring;

/// A token as kept in the keyring.
#[derive(Serialize, Deserialize)]
struct CachedToken {
    token: String,
    expires_at: Timestamp,
    /// What it was minted for (see [`binding`]); an entry without one (written by an older
    /// keyward) is not used.
    #[serde(default)]
    bound_to: Option<String>,
    /// When it was kept: a token is reused for at most [`REUSE_FOR`] after that, whatever its
    /// own lifetime (an entry without one is not used).
    #[serde(default)]
    kept_at: Option<Timestamp>,
}

/// How long a kept token of environment credentials is reused. Access tokens live a day; a CI
/// job's commands need one for minutes, and a token left in the keyring when the job ends is
/// worth less to whoever reads it later the sooner keyward stops using it (the server still
/// honours it: `keyward logout` at the job's end removes it, `KEYWARD_TOKEN_CACHE=off` keeps
/// none).
const REUSE_FOR: SignedDuration = SignedDuration::from_secs(3600);

/// A token goes unused this long before it expires, so that none expires mid-command.
const MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// The cached token of one server, client id and secret.
pub struct TokenCache {
    /// `None`: no keyring works, and the token lives only as long as the command.
    ring: Option<Keyring>,
    user: String,
    binding: String,
}

impl TokenCache {
    /// The entry `user` in `ring`, for tokens `credentials` get from the server at `url`.
    pub fn new(ring: Option<Keyring>, user: String, url: &str, credentials: &Credentials) -> Self {
        TokenCache {
            ring,
            user,
            binding: binding(url, credentials),
        }
    }

    /// For credentials given in the environment (KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET):
    /// an entry of their own per server and client id, in the keyring in effect if any works.
    ///
    /// None is kept with `KEYWARD_TOKEN_CACHE=off`, nor for a secret not in keyward's own format
    /// (a brought one may be weak, and an entry's binding would let whoever reads it test guesses
    /// at it offline; keyward's own secrets are 256 random bits).
    pub fn for_environment(url: &str, credentials: &Credentials) -> Self {
        let user = environment_user(url, &credentials.client_id);
        let off = std::env::var(crate::env_vars::KEYWARD_TOKEN_CACHE).is_ok_and(|v| v == "off");
        let own_format = crate::secret::check_format(credentials.client_secret.expose()).is_ok();
        if off || !own_format {
            return Self::new(None, user, url, credentials);
        }
        let ring = match Keyring::open() {
            Ok(ring) => Some(ring),
            Err(e) => {
                tracing::info!(
                    "no OS keyring to keep the access token in ({e}); each command gets its own"
                );
                None
            }
        };
        Self::new(ring, user, url, credentials)
    }

    /// Removes the kept token of environment credentials for the server at `url` (`keyward
    /// logout` at a CI job's end). Whether there was one.
    pub fn forget_environment(url: &str, client_id: &str) -> anyhow::Result<bool> {
        let ring = Keyring::open()?;
        Ok(ring.delete(&environment_user(url, client_id))?)
    }

    /// The kept token, if there is one for exactly these credentials and it has time left.
    pub fn get(&self) -> Option<String> {
        let text = self.ring.as_ref()?.get(&self.user).ok().flatten()?;
        let cached: CachedToken = serde_json::from_str(&text).ok()?;
        let bound = cached.bound_to.as_deref() == Some(self.binding.as_str());
        let now = Timestamp::now();
        let recent = cached.kept_at.is_some_and(|at| now < at + REUSE_FOR);
        (bound && recent && cached.expires_at > now + MARGIN).then_some(cached.token)
    }

    /// Keeps a new token; a failure only costs an exchange next time.
    pub fn put(&self, token: &str, expires_in: i64) {
        let Some(ring) = &self.ring else { return };
        let cached = CachedToken {
            token: token.to_owned(),
            expires_at: Timestamp::now() + SignedDuration::from_secs(expires_in),
            bound_to: Some(self.binding.clone()),
            kept_at: Some(Timestamp::now()),
        };
        if let Ok(text) = serde_json::to_string(&cached) {
            if let Err(e) = ring.set(&self.user, &text) {
                tracing::info!("the access token could not be kept in the OS keyring: {e}");
            }
        }
    }

    /// What the client calls with each new token.
    pub fn into_sink(self) -> TokenSink {
        Arc::new(move |token: &str, expires_in: i64| self.put(token, expires_in))
    }
}

/// The keyring user of the token of environment credentials: named by the server's origin and the
/// client id (hashed: a URL is no keyring name), so that one entry per pair is kept and a new
/// secret's token replaces the old one's.
fn environment_user(url: &str, client_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [origin(url).as_str(), client_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("env-token:{}", &hex(&h.finalize())[..32])
}

/// What a token is bound to: a digest of the server's origin, the client id and the secret, each
/// ended by a NUL (no part may run into the next).
fn binding(url: &str, credentials: &Credentials) -> String {
    let mut h = Sha256::new();
    h.update(b"keyward access token v1\0");
    for part in [
        origin(url).as_str(),
        credentials.client_id.as_str(),
        credentials.client_secret.expose(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

/// The URL's origin as browsers write it (`https://host`, a default port left out); the URL
/// itself when it does not parse (it is refused before any request then).
fn origin(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn credentials(id: &str, secret: &str) -> Credentials {
        Credentials {
            client_id: id.to_owned(),
            client_secret: Secret::new(secret.to_owned()),
        }
    }

    #[test]
    fn a_token_is_bound_to_origin_client_id_and_secret() {
        let base = binding("https://kw.example.com", &credentials("key_a", "s1"));
        // The same origin written otherwise is the same binding.
        assert_eq!(
            base,
            binding("HTTPS://kw.example.com:443/", &credentials("key_a", "s1"))
        );
        for (url, id, secret) in [
            ("https://kw.example.com:8443", "key_a", "s1"),
            ("http://kw.example.com", "key_a", "s1"),
            ("https://kw.example.com.evil.example", "key_a", "s1"),
            ("https://kw.example.com", "key_b", "s1"),
            ("https://kw.example.com", "key_a", "s2"),
            // No part runs into the next.
            ("https://kw.example.com", "key_as", "1"),
        ] {
            assert_ne!(
                base,
                binding(url, &credentials(id, secret)),
                "{url} {id} {secret}"
            );
        }
        // The entry's name carries no secret, and one server and client id share one.
        assert_eq!(
            environment_user("https://kw.example.com", "key_a"),
            environment_user("https://kw.example.com/", "key_a")
        );
        assert_ne!(
            environment_user("https://kw.example.com", "key_a"),
            environment_user("https://other.example.com", "key_a")
        );
    }
}
