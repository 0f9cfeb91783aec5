//! `GET/POST /v1/environments`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::Body;
use crate::api::{CreateEnvironment, Environment, PERM_ADMIN};
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::{AuditEvent, Conflict, StoreError};
use crate::server::validate;

/// The environments the caller reaches.
#[utoipa::path(get, path = "/v1/environments", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, description = "The environments the caller may use", body = Vec<crate::api::Environment>)))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Principal,
) -> ApiResult<Json<Vec<Environment>>> {
    let all = state.store.list_environments().await?;
    Ok(Json(
        all.into_iter()
            .filter(|e| caller.reaches(&e.name))
            .collect(),
    ))
}

/// Super admins only.
#[utoipa::path(post, path = "/v1/environments", tag = "catalog", security(("bearer" = [])),
    request_body = crate::api::CreateEnvironment,
    responses(
        (status = 201, description = "Created (needs `admin`)", body = crate::api::Environment),
        (status = 409, description = "`environment_exists`", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Body(req): Body<CreateEnvironment>,
) -> ApiResult<(StatusCode, Json<Environment>)> {
    caller.require(PERM_ADMIN)?;
    validate::environment_name(&req.name)
        .map_err(|d| ApiError::invalid("invalid_environment", d))?;
    super::keys::rules::description(&req.description)?;
    let now = state.now();
    let env = Environment {
        name: req.name,
        description: req.description,
        created_at: now,
    };
    let audit = AuditEvent {
        actor_name: caller.key_name.clone(),
        environments: vec![env.name.clone()],
        source_ip: meta.source_ip,
        request_id: meta.request_id,
        ..AuditEvent::success(now, &caller.actor, "environment.create")
    };
    match state.store.create_environment(&env, &audit).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(env))),
        Err(StoreError::Conflict(Conflict::Environment)) => Err(ApiError::Conflict {
            code: "environment_exists",
            detail: format!("environment {:?} already exists", env.name),
        }),
        Err(e) => Err(e.into()),
    }
}
