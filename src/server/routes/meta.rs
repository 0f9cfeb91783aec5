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
    })
}

/// Ready when the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "The database answers", body = crate::api::Health),
        (status = 503, description = "The database does not answer", body = crate::api::Health),
    ))]
pub async fn readyz(State(state): State<SharedState>) -> (StatusCode, Json<Health>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready".to_owned(),
            }),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "database unreachable".to_owned(),
            }),
        ),
    }
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
