//! `GET/POST /v1/environments`, `DELETE /v1/environments/{name}`.

use crate::api::actions;
use axum::Json;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Body, Params};
use jiff::SignedDuration;

use crate::api::{
    CreateEnvironment, DeletedEnvironment, Environment, KeyCounts, ListEnvironments, PERM_ADMIN,
    PERM_KEYS_READ,
};
use crate::server::SharedState;
use crate::server::auth::{Principal, RequestMeta};
use crate::server::error::{ApiError, ApiResult};
use crate::server::store::{AuditEvent, Conflict, EnvironmentDeletion, StoreError};
use crate::server::validate;

/// The environments the caller reaches; asked with `counts=true` by a caller holding
/// `keys:read`, each one's keys by state.
#[utoipa::path(get, path = "/v1/environments", tag = "catalog", security(("bearer" = [])),
    params(crate::api::ListEnvironments),
    responses((status = 200, description = "The environments the caller may use; with `counts=true`, for a caller holding `keys:read`, `keys` counts the keys it may see in each, by state", body = Vec<crate::api::Environment>)))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Principal,
    Params(query): Params<ListEnvironments>,
) -> ApiResult<Json<Vec<Environment>>> {
    let mut envs: Vec<Environment> = state
        .store
        .list_environments()
        .await?
        .into_iter()
        .filter(|e| caller.reaches(&e.name))
        .collect();
    if query.counts && caller.holds(PERM_KEYS_READ) {
        let now = state.now();
        let soon = now + SignedDuration::from_hours(24 * 30);
        let counts: HashMap<String, KeyCounts> = state
            .store
            .environment_counts(now, soon, caller.environments.as_ref())
            .await?
            .into_iter()
            .collect();
        for env in &mut envs {
            env.keys = Some(counts.get(&env.name).copied().unwrap_or_default());
        }
    }
    Ok(Json(envs))
}

/// Super admins only. Refused while a key that is not revoked lives only there.
#[utoipa::path(delete, path = "/v1/environments/{name}", tag = "catalog", security(("bearer" = [])),
    params(("name" = String, Path, description = "The environment's name")),
    responses(
        (status = 200, description = "Deleted (needs `admin`); keys that also lived elsewhere left it, each audited as `key.edit`", body = crate::api::DeletedEnvironment),
        (status = 404, description = "`not_found`: no such environment", body = crate::api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`environment_in_use`: keys that are not revoked live only there", body = crate::api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<SharedState>,
    caller: Principal,
    meta: RequestMeta,
    Path(name): Path<String>,
) -> ApiResult<Json<DeletedEnvironment>> {
    caller.require(PERM_ADMIN)?;
    let now = state.now();
    let audit = AuditEvent {
        actor_name: caller.key_name.clone(),
        environments: vec![name.clone()],
        source_ip: meta.source_ip,
        request_id: meta.request_id,
        ..AuditEvent::success(now, &caller.actor, actions::ENVIRONMENT_DELETE)
    };
    // Each key that leaves it is a `key.edit` of the same request.
    let mut moved = audit.clone();
    moved.action = actions::KEY_EDIT;
    match state
        .store
        .delete_environment(&name, &audit, &moved)
        .await?
    {
        EnvironmentDeletion::Deleted { moved } => Ok(Json(DeletedEnvironment {
            name,
            moved_keys: moved,
        })),
        EnvironmentDeletion::NotFound => Err(ApiError::NotFound("environment")),
        EnvironmentDeletion::InUse { keys } => Err(ApiError::Conflict {
            code: "environment_in_use",
            detail: format!(
                "{keys} key(s) that are not revoked live only in this environment: revoke them, or give them another environment first"
            ),
        }),
    }
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
        keys: None,
    };
    let audit = AuditEvent {
        actor_name: caller.key_name.clone(),
        environments: vec![env.name.clone()],
        source_ip: meta.source_ip,
        request_id: meta.request_id,
        ..AuditEvent::success(now, &caller.actor, actions::ENVIRONMENT_CREATE)
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
