//! Secrets and their digests: the one place that knows the `kw_sk_` / `kw_pk_` format.
//!
//! A secret is the prefix, 43 base62 characters from the OS random source (about 256 bits) and a
//! 6-character base62 CRC32 of everything before it, so a mistyped secret is caught without a
//! database look-up and secret scanners can recognise one.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const PRIVATE_PREFIX: &str = "kw_sk_";
pub const PUBLIC_PREFIX: &str = "kw_pk_";
/// Prefix of the opaque bearer tokens the token endpoint hands out.
pub const TOKEN_PREFIX: &str = "kw_at_";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
/// Total length of a generated secret after its 6-character prefix.
pub const BODY_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;

/// A secret in memory. `Debug` never shows it; use [`Secret::expose`] where the value is needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// Generates a new secret with the given prefix (`kw_sk_`, `kw_pk_`, `kw_at_`).
    pub fn generate(prefix: &str) -> Self {
        let mut s = String::with_capacity(prefix.len() + BODY_LEN);
        s.push_str(prefix);
        s.push_str(&random_base62(RANDOM_LEN));
        let sum = crc32fast::hash(s.as_bytes());
        s.push_str(&base62_fixed(u64::from(sum), CHECKSUM_LEN));
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The part that may be shown again later: the prefix and the last four characters.
    pub fn hint(&self) -> String {
        let s = &self.0;
        let prefix = if s.starts_with(PRIVATE_PREFIX) || s.starts_with(PUBLIC_PREFIX) {
            &s[..PRIVATE_PREFIX.len()]
        } else {
            ""
        };
        let tail: String = s
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{prefix}…{tail}")
    }
}

/// Why a string is not a well-formed keyward secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("a keyward secret starts with kw_sk_ or kw_pk_")]
    Prefix,
    #[error("a keyward secret has 49 characters from 0-9A-Za-z after its prefix")]
    Shape,
    #[error("the secret's checksum does not match: it was probably mistyped or cut short")]
    Checksum,
}

/// Checks a `kw_sk_` / `kw_pk_` secret's shape and checksum without any look-up.
pub fn check_format(s: &str) -> Result<(), FormatError> {
    let body = s
        .strip_prefix(PRIVATE_PREFIX)
        .or_else(|| s.strip_prefix(PUBLIC_PREFIX))
        .ok_or(FormatError::Prefix)?;
    check_body(s, body)
}

/// Checks an access token's shape and checksum.
pub fn check_token_format(s: &str) -> Result<(), FormatError> {
    let body = s.strip_prefix(TOKEN_PREFIX).ok_or(FormatError::Prefix)?;
    check_body(s, body)
}

fn check_body(whole: &str, body: &str) -> Result<(), FormatError> {
    if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FormatError::Shape);
    }
    let (signed, sum) = whole.split_at(whole.len() - CHECKSUM_LEN);
    let expected = base62_fixed(u64::from(crc32fast::hash(signed.as_bytes())), CHECKSUM_LEN);
    if expected.as_bytes().ct_eq(sum.as_bytes()).into() {
        Ok(())
    } else {
        Err(FormatError::Checksum)
    }
}

/// `n` characters of base62 drawn uniformly from the OS random source (rejection sampling keeps
/// every character equally likely).
pub fn random_base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the OS random source failed");
        for &b in &buf {
            // 248 = 4 * 62: bytes at or above it would bias the first characters.
            if b < 248 && out.len() < n {
                out.push(BASE62[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

/// `value` in base62, most significant digit first, left-padded with `0` to `width`.
pub(crate) fn base62_fixed(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits).expect("base62 digits are ASCII")
}

/// The server-side secret that keys the HMAC of every stored digest. Lives outside the database.
/// The HMAC is keyed once, here: every verify and token exchange digests a secret, and
/// cloning a keyed HMAC costs less than keying a new one.
#[derive(Clone)]
pub struct Pepper {
    bytes: Vec<u8>,
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

impl Pepper {
    pub fn new(bytes: Vec<u8>) -> Self {
        let keyed =
            Hmac::<Sha256>::new_from_slice(&bytes).expect("HMAC accepts keys of any length");
        Pepper { bytes, keyed }
    }

    pub fn random() -> Self {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source failed");
        Pepper::new(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// HMAC-SHA256(pepper, secret): what the database keeps instead of the secret.
    pub fn digest(&self, secret: &str) -> Vec<u8> {
        let mut mac = self.keyed.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl Pepper {
    /// A non-secret value the database keeps to recognise its pepper: a server started with
    /// another pepper (a typo in `--pepper-file`) refuses instead of rejecting every secret.
    pub fn check_value(&self) -> Vec<u8> {
        self.digest("keyward-pepper-check")
    }

    /// A one-way fingerprint of a digest, kept after revoke so verify can answer REVOKED. It is
    /// not the digest and cannot be used to authenticate.
    pub fn fingerprint(&self, digest: &[u8]) -> Vec<u8> {
        let mut mac = self.keyed.clone();
        mac.update(b"keyward-revoked\0");
        mac.update(digest);
        mac.finalize().into_bytes().to_vec()
    }
}

/// The least a brought secret must have: 32 characters and about 128 bits of entropy.
pub const MIN_BROUGHT_LEN: usize = 32;
const MAX_BROUGHT_LEN: usize = 512;
const MIN_BROUGHT_BITS: f64 = 128.0;

/// Checks a secret someone brought instead of a generated one. A `kw_…` secret must be a valid
/// keyward secret; anything else must be long and varied enough to be hard to guess. The
/// estimate is the string's Shannon entropy per character times its length, where the length
/// counts only as many positions as the string has distinct three-character runs, so a repeated
/// pattern (`abcdabcd…`) is judged by its period, not its length.
pub fn check_brought(s: &str) -> Result<(), String> {
    if s.starts_with("kw_") {
        // The format says nothing of how random the body is: `kw_sk_` and 43 zeros with a
        // correct checksum is well formed. The random part is judged like any brought secret.
        check_format(s).map_err(|e| e.to_string())?;
        let random = &s[PRIVATE_PREFIX.len()..PRIVATE_PREFIX.len() + RANDOM_LEN];
        return enough_bits(random);
    }
    if !(MIN_BROUGHT_LEN..=MAX_BROUGHT_LEN).contains(&s.len()) {
        return Err(format!(
            "a brought secret must be {MIN_BROUGHT_LEN} to {MAX_BROUGHT_LEN} characters long; this one has {}",
            s.chars().count()
        ));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "a brought secret may hold only printable ASCII characters, no spaces".to_owned(),
        );
    }
    enough_bits(s)
}

fn enough_bits(s: &str) -> Result<(), String> {
    let bits = estimated_bits(s);
    if bits < MIN_BROUGHT_BITS {
        return Err(format!(
            "the brought secret is too predictable (about {} bits of entropy; at least {MIN_BROUGHT_BITS:.0} are needed): use a random one",
            bits.round() as i64
        ));
    }
    Ok(())
}

fn estimated_bits(s: &str) -> f64 {
    let trigrams: std::collections::HashSet<&[u8]> = s.as_bytes().windows(3).collect();
    let effective_len = (trigrams.len() + 2).min(s.len()) as f64;
    let by_characters = shannon(s.bytes()) * effective_len;
    // A run (`0123…`, `abcd…`, every other letter) uses many characters, but each follows from
    // the one before: judged by the steps between characters, it has almost nothing.
    let steps = s
        .as_bytes()
        .windows(2)
        .map(|pair| pair[1].wrapping_sub(pair[0]));
    let by_steps = shannon(steps) * s.len().saturating_sub(1) as f64;
    by_characters.min(by_steps)
}

/// The Shannon entropy, in bits per value, of the values' own distribution.
fn shannon(values: impl Iterator<Item = u8>) -> f64 {
    let mut counts = [0usize; 256];
    let mut n = 0usize;
    for v in values {
        counts[usize::from(v)] += 1;
        n += 1;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_pass_their_own_check() {
        for prefix in [PRIVATE_PREFIX, PUBLIC_PREFIX] {
            let s = Secret::generate(prefix);
            assert_eq!(s.expose().len(), prefix.len() + BODY_LEN);
            assert_eq!(check_format(s.expose()), Ok(()));
        }
    }

    #[test]
    fn generated_secrets_pass_the_brought_check_with_room_to_spare() {
        // The body of a generated secret is judged by the same estimate as any brought secret;
        // none may ever come near the bar.
        let lowest = (0..10_000)
            .map(|_| random_base62(RANDOM_LEN))
            .map(|body| estimated_bits(&body))
            .fold(f64::MAX, f64::min);
        assert!(lowest > MIN_BROUGHT_BITS * 1.3, "{lowest}");
        for prefix in [PRIVATE_PREFIX, PUBLIC_PREFIX] {
            assert_eq!(check_brought(Secret::generate(prefix).expose()), Ok(()));
        }
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        let s = Secret::generate(PRIVATE_PREFIX);
        let mut bytes = s.expose().as_bytes().to_vec();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(check_format(&typo), Err(FormatError::Checksum));
    }

    #[test]
    fn shape_and_prefix_are_checked() {
        assert_eq!(check_format("kw_xx_abc"), Err(FormatError::Prefix));
        assert_eq!(check_format("kw_sk_short"), Err(FormatError::Shape));
    }

    #[test]
    fn checksum_is_crc32_in_padded_base62() {
        // CRC32("a") = 0xE8B7BE43 = 3904355907; in base62 that is 4GEHKN, already 6 digits.
        assert_eq!(base62_fixed(0xE8B7BE43, 6), "4GEHKN");
        assert_eq!(base62_fixed(61, 6), "00000z");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::generate(PRIVATE_PREFIX);
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
    }

    #[test]
    fn brought_secrets_must_be_long_and_random() {
        assert!(check_brought(&random_base62(40)).is_ok());
        assert!(check_brought("short").unwrap_err().contains("32"));
        let one_letter = check_brought(&"a".repeat(64)).unwrap_err();
        assert!(one_letter.contains("predictable"), "{one_letter}");
        assert!(one_letter.contains("about 0 bits"), "{one_letter}");
        assert!(
            check_brought(&"abcd".repeat(16))
                .unwrap_err()
                .contains("predictable")
        );
        assert!(
            check_brought(&"0123456789abcdef".repeat(3))
                .unwrap_err()
                .contains("predictable")
        );
        // Runs use many characters but follow from one another.
        for run in [
            "abcdefghijklmnopqrstuvwxyzABCDEF",
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg",
            "acegikmoqsuwyACEGIKMOQSUWY0246813579",
        ] {
            assert!(
                check_brought(run).unwrap_err().contains("predictable"),
                "{run}"
            );
        }
        let run = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg";
        let signed = format!("{PRIVATE_PREFIX}{run}");
        let sum = base62_fixed(u64::from(crc32fast::hash(signed.as_bytes())), CHECKSUM_LEN);
        let with_checksum = format!("{signed}{sum}");
        assert_eq!(check_format(&with_checksum), Ok(()));
        assert!(
            check_brought(&with_checksum)
                .unwrap_err()
                .contains("predictable")
        );
        // 64 random hex digits (`openssl rand -hex 32`) are fine.
        let hex: String = random_base62(400)
            .chars()
            .filter(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            .take(64)
            .collect();
        assert_eq!(hex.len(), 64);
        assert!(check_brought(&hex).is_ok(), "{hex}");
        assert!(check_brought(&format!("with space {}", random_base62(40))).is_err());
        // A kw_ secret must pass the checksum.
        let good = Secret::generate(PRIVATE_PREFIX);
        assert!(check_brought(good.expose()).is_ok());
        let mut bad = good.expose().to_owned();
        bad.replace_range(8..9, if &bad[8..9] == "a" { "b" } else { "a" });
        assert!(check_brought(&bad).unwrap_err().contains("checksum"));
    }

    #[test]
    fn fingerprints_are_not_digests() {
        let pepper = Pepper::random();
        let d = pepper.digest("kw_sk_x");
        assert_ne!(pepper.fingerprint(&d), d);
        assert_eq!(pepper.fingerprint(&d), pepper.fingerprint(&d));
    }

    #[test]
    fn hint_is_prefix_and_last_four() {
        let s = Secret::new(format!("kw_sk_{}", "a".repeat(45) + "WXYZ"));
        assert_eq!(s.hint(), "kw_sk_…WXYZ");
    }
}
