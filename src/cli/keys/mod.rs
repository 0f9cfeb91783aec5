//! `keyward keys …`: one file per subcommand.

mod create;
mod disable;
mod edit;
mod enable;
mod expiry;
mod list;
mod revoke;
mod rotate;
mod show;
mod verify;

use anyhow::Context;
use clap::Subcommand;

use super::{CliFailure, Ctx, UsageError, prompt};
use crate::api::{KeyWithSecret, ListKeys};
use crate::client::{Client, ClientError, Target};
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::{Index, StoredSecret};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is shown once
    Create(create::CreateArgs),
    /// List keys, newest last
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    /// Show one key
    Show(show::ShowArgs),
    /// Edit a key's name, description, environments, permissions, allowed IPs or expiry
    Edit(edit::EditArgs),
    /// Disable a key: it and its tokens stop at once, until enabled again
    Disable(disable::DisableArgs),
    /// Enable a disabled or expired key
    Enable(enable::EnableArgs),
    /// Give a key a new secret; the old one may keep working for a grace period
    Rotate(rotate::RotateArgs),
    /// Revoke a key: final, immediate for the key and its tokens
    Revoke(revoke::RevokeArgs),
    /// Check a key read from stdin, as a service would (for debugging)
    Verify(verify::VerifyArgs),
}

pub async fn run(ctx: &Ctx, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create(args) => create::run(ctx, args).await,
        KeysCommand::List(args) => list::run(ctx, args).await,
        KeysCommand::Show(args) => show::run(ctx, args).await,
        KeysCommand::Edit(args) => edit::run(ctx, args).await,
        KeysCommand::Disable(args) => disable::run(ctx, args).await,
        KeysCommand::Enable(args) => enable::run(ctx, args).await,
        KeysCommand::Rotate(args) => rotate::run(ctx, args).await,
        KeysCommand::Revoke(args) => revoke::run(ctx, args).await,
        KeysCommand::Verify(args) => verify::run(ctx, args).await,
    }
}

/// The id of the key the user named (by id or by name), or picked from a list on a terminal.
async fn resolve(ctx: &Ctx, client: &Client, key: Option<String>) -> anyhow::Result<String> {
    let Some(key) = key else {
        if !ctx.can_prompt() {
            return Err(UsageError("name the key: give its id or name as KEY".to_owned()).into());
        }
        return pick(client).await;
    };
    if key.starts_with("key_") {
        match client.get_key(&key).await {
            Ok(k) => return Ok(k.id),
            Err(ClientError::Api { status: 404, .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let page = client
        .list_keys(&ListKeys {
            name: Some(key.clone()),
            limit: Some(1000),
            ..ListKeys::default()
        })
        .await?;
    // The live key of that name, else the newest revoked one (names are reused after revoke).
    let live = page
        .items
        .iter()
        .position(|k| k.status != crate::api::KeyStatus::Revoked);
    let chosen = match live {
        Some(i) => page.items.into_iter().nth(i),
        None => page.items.into_iter().last(),
    };
    match chosen {
        Some(k) => Ok(k.id),
        None => Err(CliFailure::NotFound(format!("no key with id or name {key:?}")).into()),
    }
}

/// A fuzzy list of the keys that are not revoked.
async fn pick(client: &Client) -> anyhow::Result<String> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_keys(&ListKeys {
                cursor,
                limit: Some(1000),
                ..ListKeys::default()
            })
            .await?;
        keys.extend(
            page.items
                .into_iter()
                .filter(|k| k.status != crate::api::KeyStatus::Revoked),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if keys.is_empty() {
        return Err(UsageError("there are no keys to choose from".to_owned()).into());
    }
    let labels: Vec<String> = keys
        .iter()
        .map(|k| format!("{}  {}  {}", k.name, k.id, k.hint))
        .collect();
    let i = prompt::pick("Key", &labels)?;
    Ok(keys[i].id.clone())
}

/// The keyring profile of the store in effect: the local store keeps its own.
pub fn keyring_profile(ctx: &Ctx, target: &Target) -> String {
    match target {
        Target::Local { .. } => "local".to_owned(),
        Target::Remote { .. } => ctx.profile.clone(),
    }
}

/// Where a key's secret came from, which decides what can be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// keyward generated it: the answer carries it, to be shown this once.
    Generated,
    /// The user brought it: the answer carries none, and there is nothing to show.
    Brought,
}

/// Shows a new secret once, then stores it in the keyring if asked to (or, on a terminal, if the
/// user says so when asked).
async fn reveal_secret(
    ctx: &Ctx,
    client: &Client,
    created: &KeyWithSecret,
    source: SecretSource,
    store: Option<bool>,
) -> anyhow::Result<()> {
    let Some(secret) = created.secret.as_ref() else {
        if ctx.json() {
            output::print_json(created)?;
        } else if !ctx.quiet() {
            output::print_line(&output::key_details(&created.key))?;
        }
        if source == SecretSource::Generated {
            // Only an Idempotency-Key replay answers without the generated secret.
            return Err(CliFailure::Conflict(format!(
                "key {} was created by an earlier attempt whose answer was lost, and its secret cannot be shown again; `keyward keys rotate {}` gives it a new one",
                created.key.name, created.key.id
            ))
            .into());
        }
        ctx.say("The key uses the secret you brought; keyward keeps only its digest.");
        return Ok(());
    };
    let secret = secret.expose();
    if ctx.json() {
        output::print_json(created)?;
    } else if ctx.quiet() {
        output::print_line(secret)?;
    } else {
        output::print_line(&output::key_details(&created.key))?;
        output::print_line("")?;
        output::print_line(&output::secret_box(secret))?;
    }

    let wanted = match store {
        Some(choice) => choice,
        None if ctx.can_prompt() => {
            prompt::confirm("Store this secret in the OS keyring on this machine?", true)?
        }
        None => false,
    };
    let target = client.target();
    let profile = keyring_profile(ctx, target);
    if !wanted {
        if Index::load()?.find(&profile, &created.key.id).is_some() {
            ctx.warn(&format!(
                "the OS keyring still holds this key's previous secret; `keyward secrets delete {}` removes it",
                created.key.id
            ));
        }
        return Ok(());
    }
    let stored = store_secret(
        &profile,
        created.key.id.as_str(),
        &created.key.name,
        secret,
        target,
    );
    match stored {
        Ok(name) => {
            ctx.say(&format!(
                "Stored in the {name} as keyward/{}; `keyward secrets get {}` prints it.",
                keyring::secret_user(&profile, &created.key.id),
                created.key.name
            ));
            Ok(())
        }
        // Asked for explicitly: not storing it is a failure, though the secret was shown.
        Err(e) if store == Some(true) => {
            Err(e.context("the secret is shown above, but it could not be stored"))
        }
        Err(e) => {
            ctx.warn(&format!(
                "the secret was not stored: {e:#}. It is shown above; copy it now."
            ));
            Ok(())
        }
    }
}

fn store_secret(
    profile: &str,
    key_id: &str,
    name: &str,
    secret: &str,
    target: &Target,
) -> anyhow::Result<&'static str> {
    let ring = Keyring::open()?;
    ring.set(&keyring::secret_user(profile, key_id), secret)?;
    let mut index = Index::load()?;
    index.upsert(StoredSecret {
        profile: profile.to_owned(),
        key_id: key_id.to_owned(),
        name: name.to_owned(),
        origin: match target {
            Target::Remote { url } => url.clone(),
            Target::Local { path, .. } => path.display().to_string(),
        },
        stored_at: jiff::Timestamp::now(),
    });
    index
        .save()
        .context("stored in the keyring, but the secrets index could not be written")?;
    Ok(ring.name())
}
