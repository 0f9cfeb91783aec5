//! `keyward keys edit`: change a key's fields with flags, or, with no flags on a terminal, in
//! `$EDITOR`. The change is based on the version read first; if someone else changed the key in
//! between, nothing is written, the CLI says what they changed, and exits 5.

use std::collections::BTreeSet;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::expiry::ExpiryArgs;
use super::meta::EditOwnerMeta;
use super::resolve;
use crate::api::{EditKey, Key};
use crate::cli::{Ctx, UsageError};
use crate::client::{Client, ClientError};
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys edit ci-deploy --description \"deploys the shop\" --permission orders:read
  keyward keys edit ci-deploy --add-permission orders:write --remove-env staging
  keyward keys edit ci-deploy --any-ip --expires-in 90d
  keyward keys edit acme-prod --owner cus_456 --meta plan=enterprise --remove-meta trial
  keyward keys edit acme-prod --ratelimit requests=200/1m --remove-ratelimit burst
  keyward keys edit ci-deploy                 on a terminal: opens $EDITOR on the fields

--env, --permission and --allow-ip replace the whole list; --add-… and --remove-… change it
from the key as read, and the write is based on that read, so an edit made meanwhile by
someone else is a conflict (exit 5), never lost. Adding a value the key holds already, or
removing one it does not hold, changes nothing for that value (a warning names it). Removing
a key's last environment, or the last entry of its allowlist (which would allow every
address; --any-ip says that), is refused. With --if-version the edit applies only if the key
is still at that version (its ETag), as a script's optimistic lock. --meta and --remove-meta
change fields of the key's meta as read (the same way); --meta-json replaces it whole.
--ratelimit sets one named limit (replacing one of that name) and keeps the others; a key
cannot change its own rate limits (a super admin's can).")]
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

    /// Add an environment to the key's (repeatable)
    #[arg(long = "add-env", value_name = "ENV", conflicts_with = "environments", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub add_environments: Vec<String>,

    /// Remove an environment from the key's (repeatable)
    #[arg(long = "remove-env", value_name = "ENV", conflicts_with = "environments", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub remove_environments: Vec<String>,

    /// Permissions (repeatable; replaces the list)
    #[arg(
        long = "permission",
        value_name = "PERMISSION",
        conflicts_with = "no_permissions"
    )]
    pub permissions: Vec<String>,

    /// Add a permission to the key's (repeatable)
    #[arg(long = "add-permission", value_name = "PERMISSION", conflicts_with_all = ["permissions", "no_permissions"], add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::permission_names))]
    pub add_permissions: Vec<String>,

    /// Remove a permission from the key's (repeatable)
    #[arg(long = "remove-permission", value_name = "PERMISSION", conflicts_with_all = ["permissions", "no_permissions"], add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::permission_names))]
    pub remove_permissions: Vec<String>,

    /// Remove every permission
    #[arg(long)]
    pub no_permissions: bool,

    /// Allowed CIDRs (repeatable; replaces the list)
    #[arg(long = "allow-ip", value_name = "CIDR", conflicts_with = "any_ip")]
    pub allowed_ips: Vec<String>,

    /// Add a CIDR to the key's allowlist (repeatable)
    #[arg(long = "add-ip", value_name = "CIDR", conflicts_with_all = ["allowed_ips", "any_ip"])]
    pub add_ips: Vec<String>,

    /// Remove a CIDR from the key's allowlist (repeatable)
    #[arg(long = "remove-ip", value_name = "CIDR", conflicts_with_all = ["allowed_ips", "any_ip"])]
    pub remove_ips: Vec<String>,

    /// Allow every address (clears the allowlist)
    #[arg(long)]
    pub any_ip: bool,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    #[command(flatten)]
    pub owner_meta: EditOwnerMeta,

    /// Set a named rate limit, replacing one of that name (repeatable): NAME=LIMIT/WINDOW
    #[arg(long = "ratelimit", value_name = "NAME=LIMIT/WINDOW", conflicts_with = "no_ratelimits", value_parser = |s: &str| super::ratelimits::parse(s).map_err(|e| e.0))]
    pub ratelimits: Vec<crate::api::RateLimit>,

    /// Remove the named rate limit (repeatable)
    #[arg(
        long = "remove-ratelimit",
        value_name = "NAME",
        conflicts_with = "no_ratelimits"
    )]
    pub remove_ratelimits: Vec<String>,

    /// Remove every rate limit
    #[arg(long)]
    pub no_ratelimits: bool,

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
            owner: self.owner_meta.owner(),
            meta: self.owner_meta.replacement()?,
            ratelimits: self.no_ratelimits.then(Vec::new),
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

    /// Whether any `--add-…` or `--remove-…` flag was given.
    fn changes_lists(&self) -> bool {
        [
            &self.add_environments,
            &self.remove_environments,
            &self.add_permissions,
            &self.remove_permissions,
            &self.add_ips,
            &self.remove_ips,
        ]
        .iter()
        .any(|v| !v.is_empty())
            || self.owner_meta.merges()
            || !self.ratelimits.is_empty()
            || !self.remove_ratelimits.is_empty()
    }

    /// A value both added and removed is a mistake, whichever was meant.
    fn check_add_remove(&self) -> Result<(), UsageError> {
        let pairs = [
            ("env", &self.add_environments, &self.remove_environments),
            (
                "permission",
                &self.add_permissions,
                &self.remove_permissions,
            ),
            ("ip", &self.add_ips, &self.remove_ips),
        ];
        for (what, add, remove) in pairs {
            if let Some(both) = add.iter().find(|v| remove.contains(v)) {
                return Err(UsageError(format!(
                    "--add-{what} and --remove-{what} both name {:?}; say which you mean",
                    output::printable(both)
                )));
            }
        }
        Ok(())
    }

    /// Puts the `--add-…` and `--remove-…` flags into `edit`, as lists computed from `key` as
    /// read. Says which values were there already or missing; a list left as it was is not
    /// sent.
    fn apply_list_changes(&self, ctx: &Ctx, key: &Key, edit: &mut EditKey) -> anyhow::Result<()> {
        let name = output::printable(&key.name).into_owned();
        if !self.add_environments.is_empty() || !self.remove_environments.is_empty() {
            let envs = change_set(
                ctx,
                &name,
                "environment",
                &key.environments,
                &self.add_environments,
                &self.remove_environments,
            );
            if envs.is_empty() {
                return Err(UsageError(format!(
                    "--remove-env would leave {name} in no environment, and a key lives in at least one; add another with --add-env"
                ))
                .into());
            }
            edit.environments = (envs != key.environments).then_some(envs);
        }
        if !self.add_permissions.is_empty() || !self.remove_permissions.is_empty() {
            let perms = change_set(
                ctx,
                &name,
                "permission",
                &key.permissions,
                &self.add_permissions,
                &self.remove_permissions,
            );
            edit.permissions = (perms != key.permissions).then_some(perms);
        }
        if !self.add_ips.is_empty() || !self.remove_ips.is_empty() {
            let canonical = |entry: &str| -> Result<String, UsageError> {
                crate::server::parse_cidr(entry)
                    .map(|net| net.to_string())
                    .map_err(|why| UsageError(format!("{:?}: {why}", output::printable(entry))))
            };
            let mut ips = key.allowed_ips.clone();
            for entry in &self.remove_ips {
                let wanted = canonical(entry)?;
                let before = ips.len();
                ips.retain(|ip| !canonical(ip).is_ok_and(|c| c == wanted));
                if ips.len() == before {
                    ctx.warn(&format!(
                        "{name}'s allowlist has no {}; nothing to remove",
                        output::printable(entry)
                    ));
                }
            }
            for entry in &self.add_ips {
                let wanted = canonical(entry)?;
                if ips
                    .iter()
                    .any(|ip| canonical(ip).is_ok_and(|c| c == wanted))
                {
                    ctx.warn(&format!(
                        "{name}'s allowlist holds {} already",
                        output::printable(entry)
                    ));
                } else {
                    ips.push(entry.clone());
                }
            }
            if ips.is_empty() && !key.allowed_ips.is_empty() {
                return Err(UsageError(format!(
                    "--remove-ip would empty {name}'s allowlist, and an empty allowlist allows every address; say --any-ip if that is meant"
                ))
                .into());
            }
            edit.allowed_ips = (ips != key.allowed_ips).then_some(ips);
        }
        if self.owner_meta.merges() {
            edit.meta = self.owner_meta.merged(key.meta.as_ref())?;
        }
        if !self.ratelimits.is_empty() || !self.remove_ratelimits.is_empty() {
            let mut limits = key.ratelimits.clone();
            for gone in &self.remove_ratelimits {
                if !limits.iter().any(|l| &l.name == gone) {
                    ctx.warn(&format!(
                        "{name} has no rate limit {}; nothing to remove",
                        output::printable(gone)
                    ));
                }
                limits.retain(|l| &l.name != gone);
            }
            for set in &self.ratelimits {
                match limits.iter_mut().find(|l| l.name == set.name) {
                    Some(old) => *old = set.clone(),
                    None => limits.push(set.clone()),
                }
            }
            edit.ratelimits = (limits != key.ratelimits).then_some(limits);
        }
        Ok(())
    }
}

/// `current` with `add` added and `remove` removed, warning about values added that were there
/// already and values removed that were not.
fn change_set(
    ctx: &Ctx,
    key_name: &str,
    what: &str,
    current: &BTreeSet<String>,
    add: &[String],
    remove: &[String],
) -> BTreeSet<String> {
    let mut set = current.clone();
    for value in remove {
        if !set.remove(value) {
            ctx.warn(&format!(
                "{key_name} has no {what} {}; nothing to remove",
                output::printable(value)
            ));
        }
    }
    for value in add {
        if !set.insert(value.clone()) {
            ctx.warn(&format!(
                "{key_name} has the {what} {} already",
                output::printable(value)
            ));
        }
    }
    set
}

pub async fn run(ctx: &Ctx, args: EditArgs) -> anyhow::Result<()> {
    let mut edit = args.to_edit()?;
    args.check_add_remove()?;
    let by_flags = !edit.is_empty() || args.changes_lists();
    if !by_flags && !ctx.can_prompt() {
        return Err(UsageError(
            "name a field to change: --name, --description, --owner, --no-owner, --meta, --remove-meta, --meta-json, --no-meta, --env, --add-env, --remove-env, --permission, --add-permission, --remove-permission, --no-permissions, --allow-ip, --add-ip, --remove-ip, --any-ip, --expires-in or --expires-at (with no flags on a terminal, $EDITOR opens)"
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
    if by_flags {
        args.apply_list_changes(ctx, &before, &mut edit)?;
        if edit.is_empty() {
            ctx.say(&format!(
                "No change to key {} ({}); nothing written.",
                output::printable(&before.name),
                before.id
            ));
            return Ok(());
        }
    }
    if !by_flags {
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
        // Nobody gives a key more than they hold: said in the user's words.
        Err(ClientError::Api {
            status: 403,
            code,
            detail,
        }) if detail.starts_with("your key ") => {
            return Err(ClientError::Api {
                status: 403,
                code,
                detail: format!(
                    "cannot edit key {}: {}",
                    output::printable(&before.name),
                    detail.replacen("your key ", "your login key ", 1)
                ),
            }
            .into());
        }
        Err(e) => {
            let envs: Vec<String> = edit.environments.iter().flatten().cloned().collect();
            let perms: Vec<String> = edit.permissions.iter().flatten().cloned().collect();
            let flag = |adds: &[String], replacing: &'static str, adding: &'static str| {
                if adds.is_empty() { replacing } else { adding }
            };
            let flags = super::Flags {
                env: flag(&args.add_environments, "--env", "--add-env"),
                permission: flag(&args.add_permissions, "--permission", "--add-permission"),
                ip: flag(&args.add_ips, "--allow-ip", "--add-ip"),
            };
            return Err(super::name_the_unknown(
                client,
                e,
                &flags,
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
    let text = |v: Option<&str>| v.map_or("none".to_owned(), |t| format!("{t:?}"));
    let fields: [(&str, String, String); 9] = [
        ("name", show(&before.name), show(&now.name)),
        (
            "description",
            show(&before.description),
            show(&now.description),
        ),
        (
            "owner",
            text(before.owner.as_deref()),
            text(now.owner.as_deref()),
        ),
        (
            "meta",
            text(before.meta.as_ref().map(crate::api::Meta::as_str)),
            text(now.meta.as_ref().map(crate::api::Meta::as_str)),
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
    /// Empty: none.
    #[serde(default)]
    owner: String,
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
            owner: key.owner.clone().unwrap_or_default(),
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
                        &super::Flags::editor(),
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
        owner: (edited.owner != before.owner).then(|| Some(edited.owner).filter(|o| !o.is_empty())),
        meta: None,
        ratelimits: None,
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
