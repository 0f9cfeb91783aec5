//! `keyward keys edit`: change a key's fields with flags, or, with no flags on a terminal, in
//! `$EDITOR`. The change is based on the version read first; if someone else changed the key in
//! between, nothing is written, the CLI says what they changed, and exits 5.

use std::collections::BTreeSet;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::expiry::ExpiryArgs;
use super::resolve;
use crate::api::{EditKey, Key};
use crate::cli::{Ctx, UsageError};
use crate::client::{Client, ClientError};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys edit ci-deploy --description \"deploys the shop\" --permission orders:read
  keyward keys edit ci-deploy --any-ip --expires-in 90d
  keyward keys edit ci-deploy                 on a terminal: opens $EDITOR on the fields

--env, --permission and --allow-ip replace the whole list. With --if-version the edit applies
only if the key is still at that version (its ETag), as a script's optimistic lock.")]
pub struct EditArgs {
    /// The key's id or name (picked from a list on a terminal when left out)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub key: Option<String>,

    /// New name
    #[arg(long)]
    pub name: Option<String>,

    /// New description
    #[arg(long)]
    pub description: Option<String>,

    /// Environments (repeatable; replaces the list)
    #[arg(long = "env", value_name = "ENV", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub environments: Vec<String>,

    /// Permissions (repeatable; replaces the list)
    #[arg(
        long = "permission",
        value_name = "PERMISSION",
        conflicts_with = "no_permissions"
    )]
    pub permissions: Vec<String>,

    /// Remove every permission
    #[arg(long)]
    pub no_permissions: bool,

    /// Allowed CIDRs (repeatable; replaces the list)
    #[arg(long = "allow-ip", value_name = "CIDR", conflicts_with = "any_ip")]
    pub allowed_ips: Vec<String>,

    /// Allow every address (clears the allowlist)
    #[arg(long)]
    pub any_ip: bool,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    /// Apply only if the key is still at this version
    #[arg(long, value_name = "VERSION")]
    pub if_version: Option<i64>,
}

impl EditArgs {
    fn to_edit(&self) -> anyhow::Result<EditKey> {
        let set =
            |v: &[String]| (!v.is_empty()).then(|| v.iter().cloned().collect::<BTreeSet<_>>());
        let expiry = self.expiry.resolve()?;
        Ok(EditKey {
            name: self.name.clone(),
            description: self.description.clone(),
            environments: set(&self.environments),
            permissions: if self.no_permissions {
                Some(BTreeSet::new())
            } else {
                set(&self.permissions)
            },
            allowed_ips: if self.any_ip {
                Some(Vec::new())
            } else {
                (!self.allowed_ips.is_empty()).then(|| self.allowed_ips.clone())
            },
            expires_at: expiry.at,
            expires_in_seconds: expiry.in_seconds,
            key_type: None,
        })
    }
}

pub async fn run(ctx: &Ctx, args: EditArgs) -> anyhow::Result<()> {
    let edit = args.to_edit()?;
    if edit.is_empty() && !ctx.can_prompt() {
        return Err(UsageError(
            "name a field to change: --name, --description, --env, --permission, --no-permissions, --allow-ip, --any-ip, --expires-in or --expires-at (with no flags on a terminal, $EDITOR opens)"
                .to_owned(),
        )
        .into());
    }
    let client = ctx.client().await?;
    let id = resolve(ctx, client, args.key.clone()).await?;
    let before = client.get_key(&id).await?;
    let version = args.if_version.unwrap_or(before.version);
    if version > before.version {
        return Err(UsageError(format!(
            "--if-version {version} is ahead of the key, which is at version {}; give the version you read (`keyward keys show` prints it)",
            before.version
        ))
        .into());
    }
    if edit.is_empty() {
        let Some(key) = edit_in_editor(ctx, client, &id, before, version).await? else {
            ctx.say("No change; nothing written.");
            return Ok(());
        };
        return report(ctx, client, &key);
    }
    let key = match client.edit_key(&id, version, &edit).await {
        Ok(key) => key,
        Err(ClientError::Api {
            status: 412, code, ..
        }) => {
            let now = client.get_key(&id).await?;
            return Err(ClientError::Api {
                status: 412,
                code,
                detail: changed_meanwhile(&before, &now, version, &edit),
            }
            .into());
        }
        Err(e) => {
            let envs: Vec<String> = edit.environments.iter().flatten().cloned().collect();
            let perms: Vec<String> = edit.permissions.iter().flatten().cloned().collect();
            return Err(super::name_the_unknown(
                client,
                e,
                &envs,
                &perms,
                edit.allowed_ips.as_deref().unwrap_or_default(),
            )
            .await);
        }
    };
    report(ctx, client, &key)
}

fn report(ctx: &Ctx, client: &Client, key: &Key) -> anyhow::Result<()> {
    if ctx.json() {
        output::print_json(key)?;
    } else if ctx.quiet() {
        output::print_line(&key.id)?;
    } else {
        output::print_line(&output::key_details(key))?;
    }
    ctx.say(&format!(
        "Edited key {} ({}) {}.",
        key.name,
        key.id,
        client.target().describe()
    ));
    Ok(())
}

/// What someone else changed between the read the edit was based on and now. When that read is
/// not at hand (`--if-version` named an older version), the fields this edit touches are shown
/// as they are now.
fn changed_meanwhile(before: &Key, now: &Key, based_on: i64, edit: &EditKey) -> String {
    let mut lines = vec![format!(
        "someone else changed key {} since version {based_on} was read (it is now at version {}); nothing was written",
        before.name, now.version
    )];
    let show = |v: &dyn erased::Show| v.show();
    let fields: [(&str, String, String); 7] = [
        ("name", show(&before.name), show(&now.name)),
        (
            "description",
            show(&before.description),
            show(&now.description),
        ),
        (
            "environments",
            show(&before.environments),
            show(&now.environments),
        ),
        (
            "permissions",
            show(&before.permissions),
            show(&now.permissions),
        ),
        (
            "allowed_ips",
            show(&before.allowed_ips),
            show(&now.allowed_ips),
        ),
        (
            "expires_at",
            before.expires_at.to_string(),
            now.expires_at.to_string(),
        ),
        (
            "status",
            before.status.as_str().to_owned(),
            now.status.as_str().to_owned(),
        ),
    ];
    let touched = serde_json::to_value(edit).unwrap_or_default();
    let diffs: Vec<String> = fields
        .iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| format!("  {field}: {old} -> {new}"))
        .collect();
    if diffs.is_empty() {
        lines.extend(
            fields
                .iter()
                .filter(|(field, ..)| touched.get(field).is_some())
                .map(|(field, _, new)| format!("  {field} is now {new}")),
        );
    } else {
        lines.extend(diffs);
    }
    lines.push("Read the key again (`keyward keys show`) and redo the edit.".to_owned());
    lines.join("\n")
}

mod erased {
    /// A compact rendering of a field for the "what changed" list.
    pub trait Show {
        fn show(&self) -> String;
    }

    impl Show for String {
        fn show(&self) -> String {
            format!("{self:?}")
        }
    }

    impl Show for std::collections::BTreeSet<String> {
        fn show(&self) -> String {
            format!("{:?}", self.iter().collect::<Vec<_>>())
        }
    }

    impl Show for Vec<String> {
        fn show(&self) -> String {
            format!("{self:?}")
        }
    }
}

/// The editable fields, as the file `$EDITOR` opens. `expires_at` takes a time
/// (`2027-01-31T00:00:00Z`, `2027-01-31`) or a duration from now (`90d`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditableFields {
    name: String,
    description: String,
    environments: BTreeSet<String>,
    permissions: BTreeSet<String>,
    allowed_ips: Vec<String>,
    expires_at: String,
}

impl EditableFields {
    fn of(key: &Key) -> Self {
        EditableFields {
            name: key.name.clone(),
            description: key.description.clone(),
            environments: key.environments.clone(),
            permissions: key.permissions.clone(),
            allowed_ips: key.allowed_ips.clone(),
            expires_at: key.expires_at.to_string(),
        }
    }
}

/// `$EDITOR` on the key's fields, as `kubectl edit` does it: a file that does not parse, a value
/// the server refuses, or a change someone else made meanwhile reopens the editor on the user's
/// own text with the error on top. Saving it unchanged gives up, with that error. Returns the
/// edited key, or `None` when nothing was changed.
async fn edit_in_editor(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    mut current: Key,
    mut version: i64,
) -> anyhow::Result<Option<Key>> {
    let mut body =
        toml::to_string(&EditableFields::of(&current)).context("cannot render the key as TOML")?;
    let mut failure: Option<anyhow::Error> = None;
    loop {
        let header = header(&current, failure.as_ref());
        let edited = run_editor(&current, &header, &body)?;
        if edited == body {
            return match failure {
                Some(e) => {
                    Err(e.context("the edit was saved unchanged after an error; nothing written"))
                }
                None => Ok(None),
            };
        }
        body = edited;
        let edit = match changes(&current, &body) {
            Ok(edit) => edit,
            Err(why) => {
                failure = Some(UsageError(why).into());
                continue;
            }
        };
        if edit.is_empty() {
            return Ok(None);
        }
        match client.edit_key(id, version, &edit).await {
            Ok(key) => return Ok(Some(key)),
            Err(ClientError::Api {
                status: 412, code, ..
            }) => {
                let now = client.get_key(id).await?;
                let detail = changed_meanwhile(&current, &now, version, &edit);
                ctx.say(&detail);
                failure = Some(
                    ClientError::Api {
                        status: 412,
                        code,
                        detail: format!(
                            "{detail}\nSaving again applies your text over the new version."
                        ),
                    }
                    .into(),
                );
                version = now.version;
                current = now;
            }
            Err(e) => {
                let envs: Vec<String> = edit.environments.iter().flatten().cloned().collect();
                let perms: Vec<String> = edit.permissions.iter().flatten().cloned().collect();
                failure = Some(
                    super::name_the_unknown(
                        client,
                        e,
                        &envs,
                        &perms,
                        edit.allowed_ips.as_deref().unwrap_or_default(),
                    )
                    .await,
                );
            }
        }
    }
}

/// The comment block above the fields: what is being edited, and the last error if any.
fn header(key: &Key, failure: Option<&anyhow::Error>) -> String {
    let mut text = format!(
        "# Editing key {} ({}), version {}.\n# Save and quit to apply; quit without changes to cancel.\n# An empty allowed_ips list allows every address; expires_at takes a time or a duration like 90d.\n",
        key.name, key.id, key.version
    );
    if let Some(e) = failure {
        text.push_str("#\n");
        for line in format!("{e:#}").lines() {
            text.push_str(&format!("# ERROR: {}\n", output::printable(line)));
        }
    }
    text.push('\n');
    text
}

/// Writes `header` and `body` to a private file, runs the editor on it, and returns the body
/// the user left (the comment lines at the top removed).
fn run_editor(key: &Key, header: &str, body: &str) -> anyhow::Result<String> {
    let dir = tempfile_dir()?;
    let path = dir.join(format!("keyward-edit-{}.toml", key.id));
    crate::fsutil::write_private(&path, format!("{header}{body}").as_bytes())?;
    let editor = std::env::var(crate::env_vars::VISUAL)
        .or_else(|_| std::env::var(crate::env_vars::EDITOR))
        .unwrap_or_else(|_| "vi".to_owned());
    // $EDITOR may carry arguments ("code --wait"), so the shell splits it.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("cannot start the editor {editor:?}"))?;
    let edited = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        return Err(UsageError(format!("the editor {editor:?} failed; nothing written")).into());
    }
    let edited = edited?;
    let body: Vec<&str> = edited
        .lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .collect();
    let mut body = body.join("\n");
    body.push('\n');
    Ok(body)
}

/// What the edited text changes on `current`, or why it cannot be read.
fn changes(current: &Key, body: &str) -> Result<EditKey, String> {
    let before = EditableFields::of(current);
    let edited: EditableFields = toml::from_str(body)
        .map_err(|e| format!("the file is not valid TOML of the expected fields: {e}"))?;
    let (expires_at, expires_in_seconds) = if edited.expires_at == before.expires_at {
        (None, None)
    } else if let Ok(at) = crate::cli::time::parse_date(&edited.expires_at, "expires_at") {
        (Some(at), None)
    } else {
        let secs = crate::cli::time::parse_positive_seconds(&edited.expires_at, "expires_at")
            .map_err(|_| {
                "expires_at is neither a time (2027-01-31T00:00:00Z, 2027-01-31) nor a duration from now (90d, 1y)".to_owned()
            })?;
        (None, Some(secs))
    };
    Ok(EditKey {
        name: (edited.name != before.name).then_some(edited.name),
        description: (edited.description != before.description).then_some(edited.description),
        environments: (edited.environments != before.environments).then_some(edited.environments),
        permissions: (edited.permissions != before.permissions).then_some(edited.permissions),
        allowed_ips: (edited.allowed_ips != before.allowed_ips).then_some(edited.allowed_ips),
        expires_at,
        expires_in_seconds,
        key_type: None,
    })
}

/// A private directory for the file being edited (it holds no secret, only key settings).
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let config_dir = crate::config::config_dir()?;
    crate::fsutil::ensure_private_dir(&config_dir)?;
    let dir = config_dir.join("edit");
    crate::fsutil::ensure_private_dir(&dir)?;
    Ok(dir)
}
