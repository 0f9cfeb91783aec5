//! `GET /v1/keys/{id}/usage`: a key's verifications over time, by code, from the counts verify
//! keeps per minute (see `last_used`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use jiff::{SignedDuration, Timestamp};

use super::visible_key;
use crate::api::{KeyUsage, PERM_KEYS_READ, UsageBucket, UsageQuery};
use crate::server::SharedState;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Params;

/// The most buckets one answer holds: a window that would need more asks for a coarser bucket.
const MAX_BUCKETS: i64 = 10_000;

#[utoipa::path(get, path = "/v1/keys/{id}/usage", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)"), crate::api::UsageQuery),
    responses(
        (status = 200, description = "The key's verifications in the window, by code (needs `keys:read`)", body = crate::api::KeyUsage),
        (status = 422, description = "`invalid_filter`: an unknown bucket, a window that ends before it starts, or one of more than 10,000 buckets", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn usage(
    State(state): State<SharedState>,
    caller: Principal,
    Path(id): Path<String>,
    Params(query): Params<UsageQuery>,
) -> ApiResult<Json<KeyUsage>> {
    caller.require(PERM_KEYS_READ)?;
    let invalid = |detail: &str| ApiError::invalid("invalid_filter", detail);
    let (bucket, width) = match query.bucket.as_deref() {
        Some("minute") => ("minute", SignedDuration::from_mins(1)),
        None | Some("hour") => ("hour", SignedDuration::from_hours(1)),
        Some("day") => ("day", SignedDuration::from_hours(24)),
        Some(_) => return Err(invalid("bucket is not one of: minute, hour, day")),
    };
    let now = state.now();
    let until = query.until.unwrap_or(now);
    let since = match query.since {
        Some(since) => since,
        None => until
            .checked_sub(SignedDuration::from_hours(24))
            .map_err(|_| invalid("until is too early"))?,
    };
    if since >= until {
        return Err(invalid("since must come before until"));
    }
    let width_ms = width.as_millis() as i64;
    // Buckets start at whole minutes, hours or days (UTC) from the Unix epoch.
    let first = since.as_millisecond().div_euclid(width_ms) * width_ms;
    if (until.as_millisecond() - first) / width_ms > MAX_BUCKETS {
        return Err(invalid(
            "the window holds more than 10,000 buckets: ask for a coarser bucket or a shorter window",
        ));
    }
    let key = visible_key(&state, &caller, &id).await?;
    // This server's counts not yet written are part of the answer.
    crate::server::flush_pending(&state).await;
    let counts = state.store.usage(&key.id, since, until).await?;
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut credits_spent = 0;
    let mut buckets: Vec<UsageBucket> = Vec::new();
    for c in counts {
        let n = u64::try_from(c.count).unwrap_or(0);
        let start = c.minute.div_euclid(width_ms) * width_ms;
        let start = Timestamp::from_millisecond(start).unwrap_or(since);
        if buckets.last().is_none_or(|b| b.start != start) {
            buckets.push(UsageBucket {
                start,
                counts: BTreeMap::new(),
                credits_spent: 0,
            });
        }
        let Some(bucket) = buckets.last_mut() else {
            continue;
        };
        // Credits spent are kept beside the answers, under a name no verify code has.
        if c.code == crate::server::last_used::SPENT {
            credits_spent += n;
            bucket.credits_spent += n;
        } else {
            *totals.entry(c.code.clone()).or_default() += n;
            *bucket.counts.entry(c.code).or_default() += n;
        }
    }
    Ok(Json(KeyUsage {
        key_id: key.id,
        since,
        until,
        bucket: bucket.to_owned(),
        totals,
        credits_spent,
        buckets,
    }))
}
