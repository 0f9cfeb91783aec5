//! `keyward keys …`: one file per subcommand.

mod bulk;
mod check;
mod create;
mod credits;
mod disable;
mod edit;
mod enable;
mod expiry;
mod filters;
mod list;
mod meta;
mod ratelimits;
mod reveal;
mod revoke;
mod rotate;
mod show;
mod usage;
mod verify;
mod wizard;

use clap::Subcommand;

use reveal::{SecretSource, reveal_secret};

use super::{CliFailure, Ctx, UsageError, prompt};
use crate::api::ListKeys;
use crate::client::{Client, ClientError};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is shown once
    Create(create::CreateArgs),
    /// List keys, newest first; revoked ones only with --all-statuses
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    /// Show one key
    #[command(visible_aliases = ["get", "view"])]
    Show(show::ShowArgs),
    /// Edit a key's name, description, environments, permissions, allowed IPs or expiry
    Edit(edit::EditArgs),
    /// Disable keys: they and their tokens stop at once, until enabled again
    Disable(disable::DisableArgs),
    /// Enable disabled or expired keys
    Enable(enable::EnableArgs),
    /// Give a key a new secret; the old one may keep working for a grace period
    Rotate(rotate::RotateArgs),
    /// Revoke keys: final, immediate for each key and its tokens
    #[command(visible_aliases = ["delete", "rm"])]
    Revoke(revoke::RevokeArgs),
    /// Check a key read from stdin, as a service would (for debugging)
    Verify(verify::VerifyArgs),
    /// List the keys that need attention (expiring soon, unused); exits 8 when there are any
    Check(check::CheckArgs),
    /// A key's verifications over time, by the answer verify gave
    Usage(usage::UsageArgs),
    /// Set, add to or subtract from a key's credits (each verify spends some)
    Credits(credits::CreditsArgs),
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
        KeysCommand::Check(args) => check::run(ctx, args).await,
        KeysCommand::Usage(args) => usage::run(ctx, args).await,
        KeysCommand::Credits(args) => credits::run(ctx, args).await,
    }
}

/// The flags that gave environments, permissions and allowed IPs, to name them in an error.
struct Flags {
    env: &'static str,
    permission: &'static str,
    ip: &'static str,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            env: "--env",
            permission: "--permission",
            ip: "--allow-ip",
        }
    }
}

impl Flags {
    /// In `$EDITOR` the user typed fields of a file, not flags: errors name those.
    fn editor() -> Self {
        Flags {
            env: "environments:",
            permission: "permissions:",
            ip: "allowed_ips entry",
        }
    }
}

/// The server's refusals never repeat a value they were sent; the CLI knows what its user typed,
/// so it names the unknown environments and permissions and the allowlist entries the server
/// refused, in the user's own flags.
async fn name_the_unknown(
    client: &Client,
    error: ClientError,
    flags: &Flags,
    environments: &[String],
    permissions: &[String],
    allowed_ips: &[String],
) -> anyhow::Error {
    let ClientError::Api {
        status,
        code,
        detail,
    } = &error
    else {
        return error.into();
    };
    let mut named: Vec<String> = Vec::new();
    // Matched on the words too: a create with several problems answers them all under one code.
    if code == "unknown_environment" || detail.contains("one of the environments named does not") {
        if let Ok(known) = client.environments().await {
            let unknown: Vec<String> = environments
                .iter()
                .filter(|e| !known.iter().any(|k| &k.name == *e))
                .map(|e| format!("{e:?}"))
                .collect();
            if !unknown.is_empty() {
                named.push(format!("{} {} unknown", flags.env, unknown.join(", ")));
            }
        }
    }
    if code == "unknown_permission" || detail.contains("one of the permissions named is not") {
        if let Ok(known) = client.permissions().await {
            let unknown: Vec<String> = permissions
                .iter()
                .filter(|p| !known.iter().any(|k| &k.name == *p))
                .map(|p| format!("{p:?}"))
                .collect();
            if !unknown.is_empty() {
                named.push(format!(
                    "{} {} unknown",
                    flags.permission,
                    unknown.join(", ")
                ));
            }
        }
    }
    let mut detail = detail.clone();
    for (i, ip) in allowed_ips.iter().enumerate() {
        detail = detail.replace(
            &format!("allowed_ips[{i}]"),
            &format!("{} {:?}", flags.ip, crate::output::printable(ip)),
        );
    }
    let detail = if named.is_empty() {
        detail
    } else {
        format!("{}: {detail}", named.join("; "))
    };
    anyhow::Error::new(ClientError::Api {
        status: *status,
        code: code.clone(),
        detail,
    })
}

/// The id of the key the user named (by id or by name), or picked from a list on a terminal.
pub(super) async fn resolve(
    ctx: &Ctx,
    client: &Client,
    key: Option<String>,
) -> anyhow::Result<String> {
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

/// How many keys the picker lists at once: a fuzzy list of all of them would not fit a mind,
/// nor, at a million keys, memory.
const PICKER_KEYS: u32 = 200;

/// A fuzzy list of the keys that are not revoked. When there are more than fit one list, a
/// search comes first (name, description, allowed IPs or hint), and its first matches are listed.
async fn pick(client: &Client) -> anyhow::Result<String> {
    let live = |page: crate::api::Page<crate::api::Key>| {
        let keys: Vec<_> = page
            .items
            .into_iter()
            .filter(|k| k.status != crate::api::KeyStatus::Revoked)
            .collect();
        (keys, page.next_cursor.is_some())
    };
    let (mut keys, mut more) = live(
        client
            .list_keys(&ListKeys {
                limit: Some(PICKER_KEYS),
                hide_revoked: true,
                ..ListKeys::default()
            })
            .await?,
    );
    if keys.is_empty() && !more {
        return Err(UsageError("there are no keys to choose from".to_owned()).into());
    }
    while more || keys.is_empty() {
        if !keys.is_empty() {
            eprintln!("More than {PICKER_KEYS} keys: search first.");
        }
        let q = prompt::input("Search keys (name, description, IP or hint)")?;
        (keys, more) = live(
            client
                .list_keys(&ListKeys {
                    q: Some(q.trim().to_owned()).filter(|q| !q.is_empty()),
                    limit: Some(PICKER_KEYS),
                    hide_revoked: true,
                    ..ListKeys::default()
                })
                .await?,
        );
        if keys.is_empty() {
            eprintln!("No key that is not revoked matches {:?}.", q.trim());
        }
        if more && !keys.is_empty() {
            // Narrow enough to choose from: its first matches.
            break;
        }
    }
    let labels: Vec<String> = keys
        .iter()
        .map(|k| format!("{}  {}  {}", k.name, k.id, k.hint))
        .collect();
    let i = prompt::pick("Key", &labels)?;
    Ok(keys[i].id.clone())
}
