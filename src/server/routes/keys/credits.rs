//! `POST /v1/keys/{id}/credits`: set, add to or subtract from the credits of a key that has
//! them. Audited, and a new version of the key; the spends of verify are not (they touch only
//! the balance, in the database). A key gets credits only when it is created: a key that had
//! none would be answered from other replicas' caches, unmetered, until they learned of it.

use axum::extract::{Path, State};
use axum::response::Response;

use super::{audit, key_response, revoked, rules, visible_key};
use crate::api::{ChangeCredits, KeyStatus, MAX_CREDITS, PERM_KEYS_WRITE, actions};
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::routes::Body;
use crate::server::store::CreditChange;

#[utoipa::path(post, path = "/v1/keys/{id}/credits", tag = "keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    request_body = crate::api::ChangeCredits,
    responses(
        (status = 200, description = "The key with its credits as changed (needs `keys:write`)", body = crate::api::Key),
        (status = 403, description = "`forbidden`: a key raising its own credits (only a super admin may)", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`key_revoked`, or `no_credits`: the key was created without credits", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_credits`: not exactly one of set, add, subtract, or over 1,000,000,000,000", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn credits(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    Body(req): Body<ChangeCredits>,
) -> ApiResult<Response> {
    caller.require(PERM_KEYS_WRITE)?;
    let whole = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let change = match (req.set, req.add, req.subtract) {
        (Some(n), None, None) if n <= MAX_CREDITS => CreditChange::Set(whole(n)),
        (None, Some(n), None) if n <= MAX_CREDITS => CreditChange::Add(whole(n)),
        (None, None, Some(n)) if n <= MAX_CREDITS => CreditChange::Subtract(whole(n)),
        _ => {
            return Err(ApiError::invalid(
                "invalid_credits",
                "give exactly one of set, add or subtract, a whole number from 0 to 1,000,000,000,000",
            ));
        }
    };
    let current = visible_key(&state, &caller, &id).await?;
    rules::within_caller(&caller, &current)?;
    if current.status == KeyStatus::Revoked {
        return Err(revoked());
    }
    if current.credits.is_none() {
        return Err(no_credits());
    }
    // Credits are a restriction: no key loosens its own (docs/keys.md).
    if caller.key_id.as_deref() == Some(current.id.as_str())
        && !caller.is_admin()
        && !matches!(change, CreditChange::Subtract(_))
    {
        return Err(ApiError::Forbidden(
            "your key cannot raise its own credits: credits are a restriction, and only a super admin loosens a key's own".to_owned(),
        ));
    }
    let now = state.now();
    let mut event = audit(&caller, &meta, actions::KEY_CREDITS, &current, now);
    event.changed = vec!["credits"];
    event.detail = Some(match change {
        CreditChange::Set(n) => format!("set {n}"),
        CreditChange::Add(n) => format!("add {n}"),
        CreditChange::Subtract(n) => format!("subtract {n}"),
    });
    match state
        .store
        .change_credits(&current.id, change, now, &event)
        .await?
    {
        Some(_) => {
            let changed = visible_key(&state, &caller, &id).await?;
            Ok(key_response(&changed, now))
        }
        None => match state.store.get_key(&id).await? {
            Some(k) if k.status == KeyStatus::Revoked => Err(revoked()),
            Some(_) => Err(no_credits()),
            None => Err(ApiError::NotFound("key")),
        },
    }
}

fn no_credits() -> ApiError {
    ApiError::Conflict {
        code: "no_credits",
        detail:
            "the key has no credits: a key gets credits when it is created (keys create --credits)"
                .to_owned(),
    }
}
