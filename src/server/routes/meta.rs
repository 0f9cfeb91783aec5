//! Health, readiness, whoami and the permission catalog.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::{Health, Permission, Whoami};
use crate::server::SharedState;
use crate::server::auth::Principal;
use crate::server::error::ApiResult;

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = crate::api::Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        feed_age_ms: None,
        max_staleness_ms: None,
    })
}

/// Ready when the database answers; says how stale the cache is.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "The database answers; with a cache, how long ago the change feed was read", body = crate::api::Health),
        (status = 503, description = "The database does not answer", body = crate::api::Health),
    ))]
pub async fn readyz(State(state): State<SharedState>) -> (StatusCode, Json<Health>) {
    let cached = state.cache.as_ref().map(|c| &c.cached);
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let (status, words) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    };
    (
        status,
        Json(Health {
            status: words.to_owned(),
            feed_age_ms: cached.and_then(|c| c.feed_age()).map(ms),
            max_staleness_ms: cached.map(|c| ms(c.max_staleness())),
        }),
    )
}

#[utoipa::path(get, path = "/v1/whoami", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller: its key, permissions and environments", body = crate::api::Whoami)))]
pub async fn whoami(principal: Principal) -> Json<Whoami> {
    Json(Whoami {
        principal: principal.actor,
        key_id: principal.key_id,
        key_name: principal.key_name,
        permissions: principal.permissions,
        environments: principal.environments,
        token_expires_at: principal.token_expires_at,
        key_expires_at: principal.key_expires_at,
    })
}

#[utoipa::path(get, path = "/v1/permissions", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, description = "keyward's own permissions and the product's catalog", body = Vec<crate::api::Permission>)))]
pub async fn permissions(
    State(state): State<SharedState>,
    _caller: Principal,
) -> ApiResult<Json<Vec<Permission>>> {
    Ok(Json(state.catalog.all().cloned().collect()))
}
