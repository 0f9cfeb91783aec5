//! What verify answers for a presented key and a use, decided once for both doors a service
//! asks through: `POST /v1/verify` (JSON) and `GET /v1/authz` (a gateway's forward auth). Each
//! rule is here: throttling of keys that open nothing, status, allowlist, environment,
//! permission, rate limits (in memory), then credits (in the database), and the use noted.

use std::net::IpAddr;

use crate::api::{CreditsAnswer, KeyStatus, PERM_ADMIN, RateLimitAnswer, VerifyCode};
use crate::secret;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ApiResult};
use crate::server::ratelimit::Outcome;
use crate::server::store::{KeyRecord, Spent};
use crate::server::throttle::{Source, Subject};
use crate::server::workers::ratelimit_sync;
use crate::server::{AppState, ipmatch, refill};

/// A use someone presented a key for.
pub struct Use<'a> {
    pub presented: &'a str,
    pub permission: Option<&'a str>,
    pub environment: Option<&'a str>,
    /// Where the key was presented from, as the service or gateway saw it.
    pub ip: Option<IpAddr>,
    /// What the use spends of the key's rate limits and credits (0: check only).
    pub cost: u64,
}

/// The answer: the code, and for a key that exists within the caller's environments, the key
/// and what its limits and credits said.
pub struct Verdict {
    pub code: VerifyCode,
    pub key: Option<KeyRecord>,
    pub ratelimit: Option<RateLimitAnswer>,
    pub credits: Option<CreditsAnswer>,
}

impl Verdict {
    fn invalid() -> Verdict {
        Verdict {
            code: VerifyCode::Invalid,
            key: None,
            ratelimit: None,
            credits: None,
        }
    }
}

/// Judges `u` for `caller` (whose environments bound which keys exist for it). Refused with
/// 429 when the presenting address has failed too often.
pub async fn judge(state: &AppState, caller: &Principal, u: Use<'_>) -> ApiResult<Verdict> {
    let verdict = decide(state, caller, u).await?;
    state.metrics.verified(verdict.code);
    Ok(verdict)
}

async fn decide(state: &AppState, caller: &Principal, u: Use<'_>) -> ApiResult<Verdict> {
    let Use {
        presented,
        permission,
        environment,
        ip: reported_ip,
        cost,
    } = u;
    let now = state.now();
    // Keys that open nothing, presented from one address, are throttled there (before any
    // work on the key); verifies that report no address are not.
    // Counted per source: an IPv4-mapped address as its IPv4 address, IPv6 per /64.
    let presenter: Vec<Subject> = reported_ip
        .map(|ip| Subject::Presenter(Source::of(Some(ip))))
        .into_iter()
        .collect();
    if let Some(wait) = state.throttle.check(&presenter, now) {
        return Err(ApiError::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    if presented.starts_with("kw_") && secret::check_format(presented).is_err() {
        state.throttle.failed(&presenter, now);
        return Ok(Verdict::invalid());
    }
    let digest = state.pepper.digest(presented);
    let found = match state.credentials.find_key_by_digest(&digest).await? {
        Some(k) if k.accepts(&digest, now) => Some(k),
        // A rotated-out secret past its grace is no longer this key's.
        Some(_) => None,
        None => {
            state
                .store
                .find_key_by_fingerprint(&state.pepper.fingerprint(&digest))
                .await?
        }
    };
    // A key outside the caller's environments answers like one that does not exist.
    let Some(key) = found.filter(|k| caller.sees(&k.environments)) else {
        state.throttle.failed(&presenter, now);
        return Ok(Verdict::invalid());
    };

    let admin = key.permissions.contains(PERM_ADMIN);
    let code = match key.status_at(now) {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Disabled => VerifyCode::Disabled,
        KeyStatus::Expired => VerifyCode::Expired,
        KeyStatus::Active => {
            let ip_ok = ipmatch::permits(&key.id, reported_ip, &key.allowed_ips);
            if !ip_ok {
                VerifyCode::IpNotAllowed
            } else if environment.is_some_and(|e| !admin && !key.environments.contains(e)) {
                VerifyCode::EnvironmentDenied
            } else if permission.is_some_and(|p| !admin && !key.permissions.contains(p)) {
                VerifyCode::PermissionDenied
            } else {
                VerifyCode::Valid
            }
        }
    };
    // Rate limits next, in memory; a refused use spends no credits.
    let mut ratelimit = None;
    let code = match code {
        VerifyCode::Valid if !key.ratelimits.is_empty() => {
            if !state.ratelimits.has_synced() {
                // The first since this server started: the others' counts first.
                ratelimit_sync::sync_for_verify(state).await;
            }
            let limiter = &state.ratelimits;
            let mut outcome = limiter.acquire(&key.id, &key.ratelimits, cost, now, false);
            if outcome == Some(Outcome::NeedsRound) {
                // Shared with other servers, and no reservation here yet: a round gives one.
                ratelimit_sync::sync_for_verify(state).await;
                outcome = limiter.acquire(&key.id, &key.ratelimits, cost, state.now(), true);
            }
            match outcome {
                Some(Outcome::Admitted(answer)) => {
                    ratelimit = Some(answer);
                    VerifyCode::Valid
                }
                Some(Outcome::Refused(answer)) => {
                    ratelimit = Some(answer);
                    VerifyCode::RateLimited
                }
                Some(Outcome::NeedsRound) | None => VerifyCode::Valid,
            }
        }
        code => code,
    };
    // Credits are spent last, by a use that is otherwise allowed: in the database, so that
    // replicas together never give more than the balance.
    let mut spent_credits = 0;
    let (code, credits) = match (&key.credits, code) {
        (Some(c), VerifyCode::Valid) => {
            let give_back = || {
                state
                    .ratelimits
                    .release(&key.id, &key.ratelimits, cost, now)
            };
            let cost = i64::try_from(cost).unwrap_or(i64::MAX);
            let spent = state
                .store
                .spend_credits(&key.id, cost, cost.max(1), c.refill.as_ref(), now)
                .await
                .inspect_err(|_| give_back())?;
            let reset = c.refill.map(|r| refill::next(&r, now));
            match spent {
                Spent::Spent(remaining) => {
                    spent_credits = cost.unsigned_abs();
                    (VerifyCode::Valid, Some(CreditsAnswer { remaining, reset }))
                }
                Spent::Short(remaining) => {
                    // Not used after all: the rate limits get the use back.
                    give_back();
                    (
                        VerifyCode::UsageExceeded,
                        Some(CreditsAnswer { remaining, reset }),
                    )
                }
                // Taken away since the key was read: nothing to spend.
                Spent::NoCredits => (VerifyCode::Valid, None),
            }
        }
        (_, code) => (code, None),
    };
    state.last_used.record_verify(
        &key.id,
        now,
        reported_ip.map(|ip| ip.to_canonical().to_string()),
        code,
        spent_credits,
    );
    Ok(Verdict {
        code,
        key: Some(key),
        ratelimit,
        credits,
    })
}
