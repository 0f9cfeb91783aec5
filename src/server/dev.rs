//! Seeding: the sample data of `keyward server --dev`, the embedded store's first environment,
//! and minting the first super-admin key of an empty database.

use crate::api::actions;
use std::collections::BTreeSet;

use crate::api::{Environment, KeyType, KeyWithSecret, PERM_ADMIN};
use crate::server::AppState;
use crate::server::config::CatalogEntry;
use crate::server::mint::{NewKey, mint};
use crate::server::store::{AuditEvent, Conflict, KeyRecord, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "the database already holds keys; only the first super-admin key is minted this way, the rest with `keyward keys create`"
    )]
    NotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const SAMPLE_ENVIRONMENTS: [(&str, &str); 3] = [
    ("development", "Sample: laptops and preview deployments"),
    ("staging", "Sample: pre-production"),
    ("production", "Sample: live traffic"),
];

/// The sample catalog `--dev` serves: a shop's own permissions, some safe for public keys.
pub fn sample_catalog() -> Vec<CatalogEntry> {
    [
        ("orders:read", "Read orders", true),
        ("orders:write", "Create and change orders", false),
        ("payments:refund", "Refund payments", false),
        ("catalog:read", "Read the product catalog", true),
    ]
    .into_iter()
    .map(|(name, description, public_safe)| CatalogEntry {
        name: name.to_owned(),
        description: description.to_owned(),
        public_safe,
    })
    .collect()
}

/// Creates the environment unless it exists already.
pub async fn ensure_environment(
    state: &AppState,
    name: &str,
    description: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let now = state.now();
    let env = Environment {
        name: name.to_owned(),
        description: description.to_owned(),
        created_at: now,
        keys: None,
    };
    let audit = event(now, actor, actions::ENVIRONMENT_CREATE, None, Some(name));
    match state.store.create_environment(&env, &audit).await {
        Ok(()) | Err(StoreError::Conflict(Conflict::Environment)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Mints a super-admin key (permission `admin`, every current environment). Refuses unless the
/// database holds no key at all, so it can only ever make the first one; the check and the
/// insert are one transaction, so two bootstraps at once mint one key.
pub async fn mint_first_admin(
    state: &AppState,
    name: &str,
    actor: &str,
) -> Result<KeyWithSecret, BootstrapError> {
    let now = state.now();
    let mut environments: BTreeSet<String> =
        crate::server::store::environment_names(state.store.as_ref()).await?;
    let first_environment = environments.is_empty().then(|| {
        environments.insert("default".to_owned());
        let env = Environment {
            name: "default".to_owned(),
            description: "Created with the first super-admin key".to_owned(),
            created_at: now,
            keys: None,
        };
        let audit = event(
            now,
            actor,
            actions::ENVIRONMENT_CREATE,
            None,
            Some("default"),
        );
        (env, audit)
    });
    let (record, secret) = super_admin(state, name, "First super-admin key", environments, actor);
    let mut audit = event(now, actor, actions::KEY_CREATE, Some(&record.id), None);
    audit.key_name = Some(record.name.clone());
    audit.environments = record.environments.iter().cloned().collect();
    let created = state
        .store
        .insert_first_key(
            &record,
            first_environment.as_ref().map(|(e, a)| (e, a)),
            &audit,
        )
        .await?;
    if !created {
        return Err(BootstrapError::NotEmpty);
    }
    Ok(KeyWithSecret {
        key: record.to_api(now),
        secret,
    })
}

/// Break glass: mints a new super-admin key on a database that has lost every other one. Only
/// the operator of the server host can run it (it needs the database and the pepper); the
/// audit log records it as `key.break_glass` by the OS user.
pub async fn mint_break_glass_admin(
    state: &AppState,
    actor: &str,
) -> Result<KeyWithSecret, BootstrapError> {
    let now = state.now();
    let environments: BTreeSet<String> =
        crate::server::store::environment_names(state.store.as_ref()).await?;
    let name = format!("break-glass-{}", now.strftime("%Y%m%dT%H%M%S"));
    let (record, secret) = super_admin(
        state,
        &name,
        "Super-admin key minted with keyward server --break-glass",
        environments,
        actor,
    );
    let mut audit = event(now, actor, actions::KEY_BREAK_GLASS, Some(&record.id), None);
    audit.key_name = Some(record.name.clone());
    audit.environments = record.environments.iter().cloned().collect();
    state.store.insert_key(&record, None, &audit).await?;
    Ok(KeyWithSecret {
        key: record.to_api(now),
        secret,
    })
}

fn super_admin(
    state: &AppState,
    name: &str,
    description: &str,
    environments: BTreeSet<String>,
    actor: &str,
) -> (KeyRecord, Option<crate::secret::Secret>) {
    let now = state.now();
    mint(
        NewKey {
            name: name.to_owned(),
            description: description.to_owned(),
            owner: None,
            meta: None,
            credits: None,
            ratelimits: Vec::new(),
            key_type: KeyType::Private,
            environments,
            permissions: BTreeSet::from([PERM_ADMIN.to_owned()]),
            allowed_ips: Vec::new(),
            expires_at: now + state.max_key_lifetime,
            created_by: actor.to_owned(),
            secret: None,
        },
        now,
        &state.pepper,
    )
}

/// An audit event of the server host's operator (no request, no source address).
fn event(
    at: jiff::Timestamp,
    actor: &str,
    action: &'static str,
    key_id: Option<&str>,
    environment: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        key_id: key_id.map(str::to_owned),
        environments: environment.map(str::to_owned).into_iter().collect(),
        ..AuditEvent::success(at, actor, action)
    }
}
