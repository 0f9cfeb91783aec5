//! The rules a new or edited key must keep: known environments and permissions the caller
//! holds, public keys only public-safe, valid CIDRs, expiry within the maximum.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use crate::api::{
    KeyType, MAX_COST, MAX_CREDITS, MAX_RATELIMIT_WINDOW_SECS, MAX_RATELIMITS, META_MAX_BYTES,
    Meta, RateLimit, Refill, RefillInterval,
};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::KeyRecord;
use crate::server::{ipmatch, validate};

/// The refusals of one request, gathered so that the first does not hide the rest: every value
/// that breaks a rule (422) is reported in one answer, under the first one's code. A refusal of
/// another kind (a 403) is answered only when no value needs fixing first.
#[derive(Default)]
pub struct Problems {
    invalid: Vec<(&'static str, String)>,
    other: Option<ApiError>,
}

impl Problems {
    /// The value, or `None` with the refusal noted.
    pub fn check<T>(&mut self, result: ApiResult<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(ApiError::Invalid { code, detail }) => {
                self.invalid.push((code, detail));
                None
            }
            Err(e) => {
                self.other.get_or_insert(e);
                None
            }
        }
    }

    pub fn finish(self) -> ApiResult<()> {
        match (self.invalid.first(), self.other) {
            (None, None) => Ok(()),
            (None, Some(e)) => Err(e),
            (Some((code, _)), _) => Err(ApiError::Invalid {
                code,
                detail: self
                    .invalid
                    .iter()
                    .map(|(_, d)| d.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }
}

/// Every lifecycle action (edit, disable, enable, rotate, revoke) acts only on a key that holds
/// nothing the caller does not: otherwise a caller could take a stronger key's power (rotate it
/// and use the new secret, revive it) or lock out someone stronger (disable their key). Super
/// admins hold everything. A key outside the caller's environments never gets here: it answers
/// 404 like a missing key.
pub fn within_caller(caller: &Principal, key: &KeyRecord) -> ApiResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    if let Some(held) = key.permissions.iter().find(|p| !caller.holds(p)) {
        return Err(ApiError::Forbidden(format!(
            "the key holds {held:?}, which your key does not; only a key holding everything a key holds may change it"
        )));
    }
    if !caller.sees(&key.environments) {
        return Err(ApiError::Forbidden(
            "the key belongs to environments your key does not reach".to_owned(),
        ));
    }
    Ok(())
}

/// A key with rate limits or credits is metered, and a metered key cannot manage keys
/// (`keys:write` or `admin`): the keys it made or changed would not be bound by its limits, so
/// a key limited to one use a day could make another without any (or rotate one it may change
/// and use that). 422 `metered_manager`.
pub fn metering(
    permissions: &BTreeSet<String>,
    ratelimits: &[RateLimit],
    has_credits: bool,
) -> ApiResult<()> {
    let manages = [crate::api::PERM_KEYS_WRITE, crate::api::PERM_ADMIN]
        .iter()
        .find(|p| permissions.contains(**p));
    match manages {
        Some(p) if !ratelimits.is_empty() || has_credits => Err(ApiError::invalid(
            "metered_manager",
            format!(
                "a key with rate limits or credits cannot hold {p}: the keys it made or changed would not be bound by its limits; give key management to a key of its own"
            ),
        )),
        _ => Ok(()),
    }
}

/// Restrictions are power too: a key the caller makes, changes or hands a secret for (create,
/// edit, enable, rotate) expires no later than the caller's own key, and its allowed IPs lie
/// inside the caller's allowlist (a caller without one may give any; a caller with one may not
/// give a key none). Since a caller is its own key, this is also why no key loosens its own
/// restrictions. Super admins hold everything, restrictions included.
pub fn restrictions(
    caller: &Principal,
    expires_at: Timestamp,
    allowed_ips: &[String],
) -> ApiResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    if let Some(own) = caller.key_expires_at {
        if expires_at > own {
            return Err(ApiError::Forbidden(format!(
                "the key would expire at {expires_at}, after your own key ({own}); a key's expiry is at most that of the key that makes or changes it"
            )));
        }
    }
    if caller.allowed_ips.is_empty() {
        return Ok(());
    }
    if allowed_ips.is_empty() {
        return Err(ApiError::Forbidden(
            "the key would have no allowed IPs, so any address could use it; your own key is limited to its allowed IPs, and so is every key it makes or changes"
                .to_owned(),
        ));
    }
    // The caller's entries were validated when written; one that no longer parses widens nothing.
    let own: Vec<ipnet::IpNet> = caller
        .allowed_ips
        .iter()
        .filter_map(|e| validate::cidr(e).ok())
        .collect();
    for (i, entry) in allowed_ips.iter().enumerate() {
        let inside = validate::cidr(entry).is_ok_and(|net| ipmatch::within(&net, &own));
        if !inside {
            return Err(ApiError::Forbidden(format!(
                "allowed IPs: entry {i} is not inside your own key's allowed IPs; a key's allowed IPs lie within those of the key that makes or changes it"
            )));
        }
    }
    Ok(())
}

/// The expiry a change gives a key when none is asked for: the longest allowed, and never past
/// the caller's own key's (see [`restrictions`]).
pub fn default_expiry(caller: &Principal, longest: Timestamp) -> Timestamp {
    match caller.key_expires_at {
        Some(own) if !caller.is_admin() && own < longest => own,
        _ => longest,
    }
}

/// The requested environments, or the caller's only one when none were named.
pub async fn environments(
    state: &AppState,
    caller: &Principal,
    requested: BTreeSet<String>,
) -> ApiResult<BTreeSet<String>> {
    let known: BTreeSet<String> =
        crate::server::store::environment_names(state.store.as_ref()).await?;
    let reachable = || {
        known
            .iter()
            .filter(|e| caller.reaches(e))
            .map(String::as_str)
    };
    if requested.is_empty() {
        let mut only = reachable();
        return match (only.next(), only.next()) {
            (Some(one), None) => Ok(BTreeSet::from([one.to_owned()])),
            _ => Err(ApiError::invalid(
                "environment_required",
                format!(
                    "name at least one environment; the environments this key can reach: {}",
                    join_or_none(reachable())
                ),
            )),
        };
    }
    for env in &requested {
        // The detail names a value only once it is known to be one of the server's own.
        if !known.contains(env) {
            return Err(ApiError::invalid(
                "unknown_environment",
                format!(
                    "one of the environments named does not exist; the environments this key can reach: {}",
                    join_or_none(reachable())
                ),
            ));
        }
        if !caller.reaches(env) {
            return Err(ApiError::Forbidden(format!(
                "your key cannot grant environment {env:?}, which it does not reach"
            )));
        }
    }
    Ok(requested)
}

/// A key's permissions: known, public-safe on a public key, and held by the caller; a built-in
/// one the key did not hold already (`held_before`) is granted only by a super admin.
pub fn permissions(
    state: &AppState,
    caller: &Principal,
    key_type: KeyType,
    permissions: &BTreeSet<String>,
    held_before: &BTreeSet<String>,
) -> ApiResult<()> {
    for name in permissions {
        let Some(p) = state.catalog.get(name) else {
            return Err(ApiError::invalid(
                "unknown_permission",
                "one of the permissions named is not in the catalog; `keyward permissions list` shows the catalog",
            ));
        };
        if key_type == KeyType::Public && (p.builtin || !p.public_safe) {
            return Err(ApiError::invalid(
                "permission_not_public_safe",
                format!(
                    "a public key may hold only public-safe permissions, and {name:?} is not one"
                ),
            ));
        }
        if p.builtin && !caller.is_admin() && !held_before.contains(name) {
            return Err(ApiError::Forbidden(format!(
                "only a super admin grants the built-in permission {name:?}"
            )));
        }
        if !caller.holds(name) {
            return Err(ApiError::Forbidden(format!(
                "your key cannot grant {name:?}, which it does not hold"
            )));
        }
    }
    Ok(())
}

/// Canonical CIDRs (`10.1.2.3/8` becomes `10.0.0.0/8`, a bare address a /32 or /128), at
/// most [`MAX_ALLOWED_IPS`] of them.
pub fn allowed_ips(entries: &[String]) -> ApiResult<Vec<String>> {
    if entries.len() > MAX_ALLOWED_IPS {
        return Err(ApiError::invalid(
            "too_many_allowed_ips",
            format!("allowed_ips holds at most {MAX_ALLOWED_IPS} entries; use wider CIDRs"),
        ));
    }
    let mut out: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            validate::cidr(e)
                .map(|n| n.to_string())
                .map_err(|why| ApiError::invalid("invalid_ip", format!("allowed_ips[{i}]: {why}")))
        })
        .collect::<Result<_, _>>()?;
    out.dedup();
    Ok(out)
}

/// The most allowlist entries a key may hold (every verify walks them).
pub const MAX_ALLOWED_IPS: usize = 100;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

pub fn description(text: &str) -> ApiResult<()> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "description_too_long",
            format!("description holds at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The most characters an owner may have.
pub const MAX_OWNER_CHARS: usize = 128;

/// An owner: 1 to 128 characters, none of them a control, invisible or reordering character,
/// no space at either end, and nothing that looks like a secret anywhere in it (every service
/// that verifies the key and everyone who lists keys sees it, and bulk changes select by it:
/// two owners must not look alike).
pub fn owner(owner: &str) -> ApiResult<()> {
    let count = owner.chars().count();
    let hidden = |c: char| c.is_control() || crate::output::is_bidi_control(c);
    if count == 0 || count > MAX_OWNER_CHARS || owner.chars().any(hidden) || owner.trim() != owner {
        return Err(ApiError::invalid(
            "invalid_owner",
            format!(
                "owner must be 1 to {MAX_OWNER_CHARS} characters, with no space at either end and no control or invisible characters (a customer, team or service id of yours)"
            ),
        ));
    }
    if validate::holds_secret(owner) {
        return Err(ApiError::invalid(
            "invalid_owner",
            "owner must not hold a secret or an access token: it is shown to everyone who lists or verifies the key",
        ));
    }
    Ok(())
}

/// `meta`: a JSON object of at most [`META_MAX_BYTES`] bytes as sent, and I-JSON (RFC 7493) so
/// that every reader takes it the same way: no name twice in an object, no lone surrogate, no
/// integer beyond ±2^53 (a double holds it exactly), nested at most [`META_MAX_DEPTH`] deep.
pub fn meta(meta: &Meta) -> ApiResult<()> {
    if !meta.is_object() {
        return Err(ApiError::invalid(
            "invalid_meta",
            "meta must be a JSON object, such as {\"plan\": \"pro\"}",
        ));
    }
    let size = meta.as_str().len();
    if size > META_MAX_BYTES {
        return Err(ApiError::invalid(
            "meta_too_large",
            format!("meta holds at most {META_MAX_BYTES} bytes of JSON; this one has {size}"),
        ));
    }
    crate::api::check_interoperable(meta.as_str()).map_err(|why| {
        ApiError::invalid(
            "invalid_meta",
            format!("meta must be plain JSON every reader takes alike: {why}"),
        )
    })
}

/// Named rate limits: at most [`MAX_RATELIMITS`], names of `a-z 0-9 _ -` (1 to 32, starting
/// with a letter or digit) each used once, a limit of 1 to 1,000,000,000 per a window of 1 second
/// to 31 days.
pub fn ratelimits(limits: &[RateLimit]) -> ApiResult<()> {
    let bad = |detail: String| Err(ApiError::invalid("invalid_ratelimit", detail));
    if limits.len() > MAX_RATELIMITS {
        return bad(format!(
            "a key carries at most {MAX_RATELIMITS} rate limits, not {}",
            limits.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for l in limits {
        let name_ok = (1..=32).contains(&l.name.len())
            && l.name
                .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && l.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !name_ok {
            return bad(
                "a rate limit's name is 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit (requests, daily)"
                    .to_owned(),
            );
        }
        if !seen.insert(l.name.as_str()) {
            return bad(format!("the rate limit {} is named twice", l.name));
        }
        if !(1..=MAX_COST).contains(&l.limit) {
            return bad(format!(
                "rate limit {}: the limit must be 1 to 1,000,000,000",
                l.name
            ));
        }
        if !(1..=MAX_RATELIMIT_WINDOW_SECS).contains(&l.window_secs) {
            return bad(format!(
                "rate limit {}: the window must be 1 second to 31 days",
                l.name
            ));
        }
    }
    Ok(())
}

/// A starting balance and refill: at most [`MAX_CREDITS`]; a refill of at least 1, its `day`
/// (1 to 31) only for a monthly one. Returns what the key starts with: the balance given, else
/// the refill's amount.
pub fn credits(credits: Option<u64>, refill: Option<&Refill>) -> ApiResult<Option<i64>> {
    let bad = |detail: &str| Err(ApiError::invalid("invalid_credits", detail.to_owned()));
    if credits.is_some_and(|c| c > MAX_CREDITS) {
        return bad("credits must be at most 1,000,000,000,000");
    }
    if let Some(r) = refill {
        if r.amount == 0 || r.amount > MAX_CREDITS {
            return bad("a refill's amount must be 1 to 1,000,000,000,000");
        }
        match (r.interval, r.day) {
            (RefillInterval::Day, Some(_)) => {
                return bad(
                    "a daily refill takes no day; give interval month for a day of the month",
                );
            }
            (RefillInterval::Month, Some(day)) if !(1..=31).contains(&day) => {
                return bad(
                    "a monthly refill's day must be 1 to 31 (the month's last day where it has fewer)",
                );
            }
            _ => {}
        }
    }
    Ok(credits
        .or(refill.map(|r| r.amount))
        .map(|c| i64::try_from(c).unwrap_or(i64::MAX)))
}

/// An expiry set by a change at `now`, asked for as a time or as seconds from now (counted on
/// this server's clock): in the future and at most the maximum lifetime away. Neither means
/// the longest allowed.
pub fn expiry(
    state: &AppState,
    caller: &Principal,
    now: Timestamp,
    at: Option<Timestamp>,
    in_seconds: Option<u64>,
) -> ApiResult<Timestamp> {
    let latest = now + state.max_key_lifetime;
    let requested = match (at, in_seconds) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_expiry",
                "give expires_at or expires_in_seconds, not both",
            ));
        }
        (Some(at), None) => Some(at),
        (None, Some(secs)) => Some(
            i64::try_from(secs)
                .ok()
                .and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok())
                .unwrap_or(Timestamp::MAX),
        ),
        (None, None) => None,
    };
    match requested {
        None => Ok(default_expiry(caller, latest)),
        Some(at) if at <= now => Err(ApiError::invalid(
            "invalid_expiry",
            "the expiry is not in the future",
        )),
        Some(at) if at > latest => Err(ApiError::invalid(
            "invalid_expiry",
            format!(
                "the expiry is too far ahead: a key may live at most {} days, until {latest}",
                state.max_key_lifetime.as_hours() / 24
            ),
        )),
        Some(at) => Ok(crate::server::millis(at)),
    }
}

pub fn name(name: &str) -> ApiResult<()> {
    validate::key_name(name).map_err(|d| ApiError::invalid("invalid_name", d))
}

/// The same answer whoever holds the name: names are unique across the server, so a name held
/// by a key outside the caller's environments is refused too, but nothing says which key, where,
/// or whether the caller could see it (docs/keys.md).
pub fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict {
        code: "name_taken",
        detail: format!(
            "the name {name:?} is taken: names are unique among all keys that are not revoked, including keys in environments your key does not reach; choose another"
        ),
    }
}

fn join_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// An edit of the caller's own key keeps the address the request comes from in its allowlist:
/// a key that shuts itself out can no longer be used, or fixed, from where its holder is (and
/// the last super admin would lock everyone out).
pub fn keeps_the_caller_in(source: Option<&str>, allowed_ips: &[String]) -> ApiResult<()> {
    if allowed_ips.is_empty() {
        return Ok(());
    }
    let nets: Vec<ipnet::IpNet> = allowed_ips.iter().filter_map(|n| n.parse().ok()).collect();
    let from = source.and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    match from {
        Some(ip) if crate::server::ipmatch::allowed(ip, &nets) => Ok(()),
        Some(ip) => Err(ApiError::invalid(
            "allowlist_locks_out_caller",
            format!(
                "the new allowlist leaves out {ip}, the address this request comes from: the key could not be used from here again; include it"
            ),
        )),
        None => Err(ApiError::invalid(
            "allowlist_locks_out_caller",
            "the address this request comes from is not known, so an allowlist on the key it is made with could shut it out; change it from a key without one",
        )),
    }
}
