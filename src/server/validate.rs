//! Rules for names and values that arrive in requests. Each returns a sentence saying what would
//! be right, which the API hands back in its problem `detail`.

use ipnet::IpNet;

/// Key names: 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit, and not `key_…`
/// (that is how ids look, and the CLI accepts either).
pub fn key_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let ok_start = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 64 || !ok_chars || !ok_start {
        return Err(
            "the key name is not allowed: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
                .to_owned(),
        );
    }
    // A pasted secret or token must not become a name, shown to everyone who lists keys.
    if secret_shaped(name) {
        return Err(
            "the key name is not allowed: names starting with kw_sk_, kw_pk_ or kw_at_ look like secrets or access tokens".to_owned(),
        );
    }
    if name.starts_with("key_") {
        return Err(
            "the key name is not allowed: names starting with 'key_' look like key ids".to_owned(),
        );
    }
    Ok(())
}

/// Whether `text` starts like a keyward secret or access token (`kw_sk_`, `kw_pk_`, `kw_at_`,
/// in any case): such text must not become a name or owner that others are shown.
pub fn secret_shaped(text: &str) -> bool {
    let lower = text.get(..6).map(str::to_ascii_lowercase);
    lower.is_some_and(|p| SECRET_PREFIXES.contains(&p.as_str()))
}

/// Whether a secret or access token starts anywhere in `text` (in any case).
pub fn holds_secret(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    SECRET_PREFIXES.iter().any(|p| lower.contains(p))
}

const SECRET_PREFIXES: [&str; 3] = [
    crate::secret::PRIVATE_PREFIX,
    crate::secret::PUBLIC_PREFIX,
    crate::secret::TOKEN_PREFIX,
];

/// Whether `id` has the shape of a key id (`key_` and 16 base62 characters).
pub fn key_id(id: &str) -> bool {
    id.strip_prefix("key_")
        .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Environment names: 1–32 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn environment_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(
            "the environment name is not allowed: use 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter or digit"
                .to_owned(),
        )
    }
}

/// Permission names: `resource:action` (lowercase letters, digits, `_`, `-`, `.`), or `admin`.
pub fn permission_name(name: &str) -> Result<(), String> {
    let part = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
            })
    };
    let ok = name == crate::api::PERM_ADMIN
        || (name.len() <= 64
            && name
                .split_once(':')
                .is_some_and(|(r, a)| part(r) && part(a)));
    if ok {
        Ok(())
    } else {
        Err("not a permission name: use resource:action, for example orders:read".to_owned())
    }
}

/// Parses an allowlist entry: a CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address, and
/// returns it in canonical form (host bits cleared).
pub fn cidr(entry: &str) -> Result<IpNet, String> {
    let parsed = entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from));
    match parsed {
        Ok(net) => Ok(net.trunc()),
        Err(_) => Err(
            "not an IPv4 or IPv6 address or CIDR; write one like 203.0.113.0/24 or 2001:db8::/32"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(key_name("ci-deploy.prod_1").is_ok());
        assert!(key_name("").is_err());
        assert!(key_name("-x").is_err());
        assert!(key_name("has space").is_err());
        assert!(key_name("key_abc").is_err());
        assert!(key_name(&"a".repeat(65)).is_err());
        assert!(key_id("key_0123456789abcdef"));
        assert!(!key_id("key_0123456789abcde"));
        assert!(!key_id("kw_sk_0123456789abcdef"));
        assert!(environment_name("production").is_ok());
        assert!(environment_name("Prod").is_err());
        assert!(permission_name("orders:read").is_ok());
        assert!(permission_name("admin").is_ok());
        assert!(permission_name("orders").is_err());
        assert!(permission_name("Orders:Read").is_err());
    }

    #[test]
    fn cidrs_are_canonical() {
        assert_eq!(cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(cidr("2001:db8::1").unwrap().to_string(), "2001:db8::1/128");
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("nope").is_err());
    }
}
