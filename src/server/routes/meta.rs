//! Health, readiness, whoami and the permission catalog.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::{Health, Permission, Whoami};
use crate::server::SharedState;
use crate::server::auth::Principal;
use crate::server::error::ApiResult;

pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Ready when the database answers.
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

pub async fn permissions(
    State(state): State<SharedState>,
    _caller: Principal,
) -> ApiResult<Json<Vec<Permission>>> {
    Ok(Json(state.catalog.all().cloned().collect()))
}
