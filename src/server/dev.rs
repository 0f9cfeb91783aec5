//! Seeding: the sample data of `keyward server --dev`, the embedded store's first environment,
//! and minting the first super-admin key of an empty database.

use std::collections::BTreeSet;

use crate::api::{Environment, KeyType, KeyWithSecret, PERM_ADMIN};
use crate::server::AppState;
use crate::server::config::CatalogEntry;
use crate::server::mint::{NewKey, mint};
use crate::server::store::{AuditEvent, StoreError};

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
    };
    let audit = AuditEvent {
        at: now,
        actor: actor.to_owned(),
        action: "environment.create",
        key_id: None,
        environment: Some(name.to_owned()),
        source_ip: None,
        request_id: None,
        outcome: "success",
    };
    match state.store.create_environment(&env, &audit).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Mints a super-admin key (permission `admin`, every current environment). Refuses unless the
/// database holds no key at all, so it can only ever make the first one.
pub async fn mint_first_admin(
    state: &AppState,
    name: &str,
    actor: &str,
) -> Result<KeyWithSecret, BootstrapError> {
    if state.store.count_keys().await? > 0 {
        return Err(BootstrapError::NotEmpty);
    }
    let mut environments: BTreeSet<String> = state
        .store
        .list_environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    if environments.is_empty() {
        ensure_environment(
            state,
            "default",
            "Created with the first super-admin key",
            actor,
        )
        .await?;
        environments.insert("default".to_owned());
    }
    let now = state.now();
    let (record, secret) = mint(
        NewKey {
            name: name.to_owned(),
            description: "First super-admin key".to_owned(),
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
    );
    let audit = AuditEvent {
        at: now,
        actor: actor.to_owned(),
        action: "key.create",
        key_id: Some(record.id.clone()),
        environment: None,
        source_ip: None,
        request_id: None,
        outcome: "success",
    };
    state.store.insert_key(&record, None, &audit).await?;
    Ok(KeyWithSecret {
        key: record.to_api(now),
        secret,
    })
}
