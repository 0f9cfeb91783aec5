//! Bulk changes: `keys disable` and `keys revoke` on several keys, named or found by the list
//! filters. They show what they will touch, ask once (or need `--yes`), can be tried with
//! `--dry-run`, and report each key's outcome; one failure does not stop the rest.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use serde::Serialize;

use super::filters::KeyFilterArgs;
use super::resolve;
use crate::api::{Key, KeyStatus, Page};
use crate::cli::{CliFailure, Ctx, UsageError, prompt};
use crate::client::{Client, ClientResult};
use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Disable,
    Revoke,
}

impl Change {
    fn verb(self) -> &'static str {
        match self {
            Change::Disable => "disable",
            Change::Revoke => "revoke",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Change::Disable => "disabled",
            Change::Revoke => "revoked",
        }
    }

    /// Whether the key is already as this change would leave it (or past it: a revoked key
    /// is not disabled again).
    pub(super) fn already(self, key: &Key) -> bool {
        match self {
            Change::Disable => matches!(key.status, KeyStatus::Disabled | KeyStatus::Revoked),
            Change::Revoke => key.status == KeyStatus::Revoked,
        }
    }

    async fn apply(self, client: &Client, id: &str) -> ClientResult<Key> {
        match self {
            Change::Disable => client.disable_key(id).await,
            Change::Revoke => client.revoke_key(id).await,
        }
    }
}

/// One key's outcome, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub id: String,
    pub name: String,
    /// `disabled`, `revoked`, `already disabled`, `already revoked` or `failed`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The keys a disable or revoke acts on: named, found by the list filters, or both.
#[derive(Debug, clap::Args)]
pub struct Selection {
    /// Keys by id or name (a key is picked from a list on a terminal when none is given)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::key_names))]
    pub keys: Vec<String>,

    #[command(flatten)]
    pub filters: KeyFilterArgs,

    /// Show which keys would be changed, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also act on the key this command is logged in with, without asking for its name (and
    /// skip the other questions, as --yes does)
    #[arg(long)]
    pub force: bool,
}

impl Selection {
    /// Whether this asks for a bulk change rather than one key's.
    pub fn is_bulk(&self) -> bool {
        self.keys.len() > 1 || !self.filters.is_empty() || self.dry_run
    }
}

/// Runs `change` on the keys named and the keys the filters find. `after` runs for each key
/// changed (revoke removes its stored secret).
pub async fn run(
    ctx: &Ctx,
    client: &Client,
    change: Change,
    selection: Selection,
    after: impl Fn(&Key),
) -> anyhow::Result<()> {
    let Selection {
        keys: named,
        filters,
        dry_run,
        force,
    } = selection;
    let yes = ctx.global.yes || force;
    // Everything is resolved first: a name that matches nothing stops the command before any
    // key is touched.
    let mut targets: Vec<Key> = Vec::new();
    let mut seen = BTreeSet::new();
    for key in named {
        let id = resolve(ctx, client, Some(key)).await?;
        if seen.insert(id.clone()) {
            targets.push(client.get_key(&id).await?);
        }
    }
    // The caller's own login key is never swept up by a filter (the change would cut the
    // command off mid-way); named, it is done last.
    let own = own_key_id(client).await?;
    if !filters.is_empty() {
        for key in client.list_all_keys(&filters.to_query()?).await? {
            if own.as_deref() == Some(key.id.as_str()) && !seen.contains(&key.id) {
                ctx.warn(&format!(
                    "leaving out {} ({}), the key this command is logged in with; name it to include it",
                    key.name, key.id
                ));
                continue;
            }
            if seen.insert(key.id.clone()) {
                targets.push(key);
            }
        }
    }
    targets.sort_by_key(|k| own.as_deref() == Some(k.id.as_str()));
    let (verb, done, n) = (change.verb(), change.done(), targets.len());
    let place = client.target().describe();
    if targets.is_empty() {
        if ctx.json() {
            output::print_json_items::<Key>(&[])?;
        }
        ctx.say(&format!("No key matches {place}; nothing to {verb}."));
        return Ok(());
    }
    if dry_run {
        print_keys(ctx, &targets)?;
        ctx.say(&format!(
            "Dry run: {n} key{} would be {done} {place}; nothing was changed.",
            plural(n)
        ));
        return Ok(());
    }
    // The login key among them (named: a filter never sweeps it up) is asked about on its own.
    let own_key = targets
        .iter()
        .find(|k| own.as_deref() == Some(k.id.as_str()) && !change.already(k));
    if let Some(key) = own_key.filter(|_| !force && !ctx.can_prompt()) {
        return Err(own_key_refusal(change, key).into());
    }
    if !yes {
        if !ctx.can_prompt() {
            return Err(UsageError(format!(
                "refusing to {verb} {n} key{} without --yes, and there is no terminal to ask on; --dry-run shows which",
                plural(n)
            ))
            .into());
        }
        eprintln!("{}", output::keys_table(&targets));
        let question = format!("{} these {n} key{} {place}?", capitalise(verb), plural(n));
        let question = match change {
            Change::Revoke => format!("{question} This cannot be undone"),
            Change::Disable => question,
        };
        if !prompt::confirm(&question, false)? {
            ctx.say(&format!("Nothing {done}."));
            return Ok(());
        }
    }
    if let Some(key) = own_key {
        if !force {
            confirm_own_key(client, change, key)?;
        }
    }

    let progress = std::io::stderr().is_terminal() && !ctx.quiet();
    let mut outcomes = Vec::with_capacity(n);
    for (i, key) in targets.iter().enumerate() {
        if progress {
            eprint!(
                "\r{}ing {}/{n}…",
                capitalise(verb).trim_end_matches('e'),
                i + 1
            );
        }
        let (outcome, error) = if change.already(key) {
            (format!("already {}", status_word(key.status)), None)
        } else {
            match change.apply(client, &key.id).await {
                Ok(changed) => {
                    after(&changed);
                    (done.to_owned(), None)
                }
                Err(e) => ("failed".to_owned(), Some(e.to_string())),
            }
        };
        outcomes.push(Outcome {
            id: key.id.clone(),
            name: key.name.clone(),
            outcome,
            error,
        });
    }
    if progress {
        eprintln!();
    }

    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if ctx.json() {
        output::print_json_items(&outcomes)?;
    } else if ctx.quiet() {
        for o in outcomes.iter().filter(|o| o.error.is_none()) {
            output::print_line(&o.id)?;
        }
    } else {
        let rows = outcomes
            .iter()
            .map(|o| {
                let what = match &o.error {
                    Some(e) => format!("failed: {e}"),
                    None => o.outcome.clone(),
                };
                [o.name.clone(), o.id.clone(), what]
            })
            .collect();
        output::print_line(&output::simple_table(["NAME", "ID", "OUTCOME"], rows))?;
    }
    let summary = format!("{} of {n} key{} {done} {place}", n - failed, plural(n));
    if failed > 0 {
        return Err(
            CliFailure::PartlyFailed(format!("{summary}; {failed} failed (listed above)")).into(),
        );
    }
    ctx.say(&format!("{summary}."));
    Ok(())
}

/// The key the command is logged in with, if it uses one (the embedded store's root does not).
pub(super) async fn own_key_id(client: &Client) -> ClientResult<Option<String>> {
    Ok(client.whoami().await?.key_id)
}

/// Why `change` of the login key needs `--force` when there is no terminal to ask on.
pub(super) fn own_key_refusal(change: Change, key: &Key) -> UsageError {
    UsageError(format!(
        "refusing to {} {} ({}) without --force: it is the key this command is logged in with, so this profile would lose its own access, and there is no terminal to ask for its name on",
        change.verb(),
        output::printable(&key.name),
        key.id
    ))
}

/// Before `change` of the key the command is logged in with: its name typed back on the
/// terminal, as for a revoke, so that neither a habitual `y` nor `--yes` cuts the profile off.
/// Another name is an error (exit 11) that says nothing was done.
pub(super) fn confirm_own_key(client: &Client, change: Change, key: &Key) -> anyhow::Result<()> {
    let undo = match change {
        Change::Disable => format!("an admin's `keyward keys enable {}`", key.id),
        Change::Revoke => "nothing: revoking cannot be undone".to_owned(),
    };
    eprintln!(
        "{} ({}) is the key this command is logged in with {}: once it is {}, this profile can do nothing more until you log in with another key, and what brings the key back is {undo}.",
        output::printable(&key.name),
        key.id,
        client.target().describe(),
        change.done()
    );
    prompt::type_back(
        &format!("Type the key's name to {} it", change.verb()),
        &key.name,
        change.done(),
    )
}

fn print_keys(ctx: &Ctx, keys: &[Key]) -> anyhow::Result<()> {
    if ctx.json() {
        output::print_json(&Page {
            items: keys.to_vec(),
            next_cursor: None,
        })
    } else if ctx.quiet() {
        keys.iter().try_for_each(|k| output::print_line(&k.id))
    } else {
        output::print_line(&output::keys_table(keys))
    }
}

fn status_word(status: KeyStatus) -> &'static str {
    status.as_str()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
