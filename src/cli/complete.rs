//! Dynamic shell completion: key names, environments and permissions come from the store in
//! effect (the same profile, URL and credentials a command would use). Best effort and quick:
//! any failure, or a store that does not exist yet, completes nothing rather than create it.

use std::time::Duration;

use clap::Parser;
use clap_complete::engine::CompletionCandidate;

use super::{Ctx, GlobalArgs};
use crate::api::{KeyStatus, ListKeys};
use crate::client::Client;

/// Only the global options, read from the environment, as a completion sees them.
#[derive(Parser)]
struct Globals {
    #[command(flatten)]
    global: GlobalArgs,
}

/// Names of the keys that are not revoked and start with what is typed: one page of up to
/// 1,000 found by search (a name fragment), never the whole list.
pub fn key_names(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().into_owned();
    ask(|client| async move {
        let page = client
            .list_keys(&ListKeys {
                q: Some(typed.clone()).filter(|t| !t.is_empty()),
                sort: Some("name".to_owned()),
                limit: Some(1000),
                hide_revoked: true,
                ..ListKeys::default()
            })
            .await
            .ok()?;
        Some(
            page.items
                .into_iter()
                .filter(|k| k.status != KeyStatus::Revoked && k.name.starts_with(&typed))
                .map(|k| CompletionCandidate::new(k.name).help(Some(k.id.into())))
                .collect(),
        )
    })
}

pub fn environment_names() -> Vec<CompletionCandidate> {
    ask(|client| async move {
        let envs = client.environments().await.ok()?;
        Some(
            envs.into_iter()
                .map(|e| CompletionCandidate::new(e.name))
                .collect(),
        )
    })
}

pub fn permission_names() -> Vec<CompletionCandidate> {
    ask(|client| async move {
        let perms = client.permissions().await.ok()?;
        Some(
            perms
                .into_iter()
                .map(|p| CompletionCandidate::new(p.name).help(Some(p.description.into())))
                .collect(),
        )
    })
}

fn ask<F, Fut>(query: F) -> Vec<CompletionCandidate>
where
    F: FnOnce(&'static Client) -> Fut,
    Fut: std::future::Future<Output = Option<Vec<CompletionCandidate>>>,
{
    let Ok(globals) = Globals::try_parse_from(["keyward"]) else {
        return Vec::new();
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime
        .block_on(async {
            let ctx = Ctx::new(globals.global, false).ok()?;
            if ctx.server_url().is_none() && !super::ctx::local_store_exists() {
                return None;
            }
            // The client lives as long as this process; leaking it keeps the borrow simple.
            let ctx: &'static Ctx = Box::leak(Box::new(ctx));
            let client = ctx.client().await.ok()?;
            tokio::time::timeout(Duration::from_secs(3), query(client))
                .await
                .ok()?
        })
        .unwrap_or_default()
}
