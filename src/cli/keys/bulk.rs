//! Bulk changes: `keys disable`, `keys enable` and `keys revoke` on several keys, named or found
//! by the list filters. They show what they will touch, ask once (or need `--yes`), can be tried
//! with `--dry-run`, and report each key's outcome; one failure does not stop the rest.
//!
//! The selection streams: the keys are read a page at a time, and each page is acted on before
//! the next is read, so a selection of any size runs in bounded memory. Revoked keys are left
//! out (none of these actions applies to one) and counted. Each key is changed only at the
//! version it was read at (`If-Match`); when a preview was shown and confirmed, only at the
//! version the preview showed. A key changed in between is reported, not acted on.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::IsTerminal;

use serde::Serialize;

use super::filters::KeyFilterArgs;
use super::resolve;
use crate::api::{EnableKey, Key, KeyStatus, ListKeys};
use crate::cli::{CliFailure, Ctx, UsageError, prompt};
use crate::client::{Client, ClientError, ClientResult};
use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    Revoke,
}

impl Change {
    fn verb(self) -> &'static str {
        match self {
            Change::Disable => "disable",
            Change::Enable => "enable",
            Change::Revoke => "revoke",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Change::Disable => "disabled",
            Change::Enable => "enabled",
            Change::Revoke => "revoked",
        }
    }

    /// "Disabling", for the progress line.
    fn doing(self) -> &'static str {
        match self {
            Change::Disable => "Disabling",
            Change::Enable => "Enabling",
            Change::Revoke => "Revoking",
        }
    }

    /// Whether the key is already as this change would leave it (or past it: a revoked key
    /// is not disabled again).
    pub(super) fn already(self, key: &Key) -> bool {
        match self {
            Change::Disable => matches!(key.status, KeyStatus::Disabled | KeyStatus::Revoked),
            // An expired key is enabled again (with a new expiry); an active one is left as it is.
            Change::Enable => key.status == KeyStatus::Active,
            Change::Revoke => key.status == KeyStatus::Revoked,
        }
    }

    /// Whether a filter may sweep up the key this command is logged in with.
    fn spares_own_key(self) -> bool {
        self != Change::Enable
    }

    async fn apply(
        self,
        client: &Client,
        key: &Key,
        version: i64,
        enable: &EnableKey,
    ) -> ClientResult<Key> {
        match self {
            Change::Disable => client.disable_key(&key.id, Some(version)).await,
            Change::Enable => client.enable_key(&key.id, enable, Some(version)).await,
            Change::Revoke => client.revoke_key(&key.id, Some(version)).await,
        }
    }
}

/// One key's outcome, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// `null` for a name that matched no key.
    pub id: Option<String>,
    pub name: String,
    /// `disabled`, `enabled`, `revoked`; `already disabled`, `already enabled`; `changed` (the
    /// key changed since it was previewed or read, and was left as it is); or `failed`.
    pub outcome: String,
    /// Why it failed, or what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The keys a bulk change acts on: named, found by the list filters, or both.
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
}

impl Selection {
    /// Whether this asks for a bulk change rather than one key's.
    pub fn is_bulk(&self) -> bool {
        self.keys.len() > 1 || !self.filters.is_empty() || self.dry_run
    }
}

/// What a bulk change is asked to do, besides the keys.
pub struct Plan<A: Fn(&Key)> {
    pub change: Change,
    /// The new expiry of an enable.
    pub enable: EnableKey,
    /// `--force`: also the login key, without its name typed back.
    pub force: bool,
    /// Runs for each key changed (revoke removes its stored secret).
    pub after: A,
}

/// How many keys a page of the selection holds (the API's largest page).
const PAGE: u32 = 1000;

/// How many keys the question before a bulk change shows; `--dry-run` lists them all.
const SHOWN_BEFORE_ASKING: usize = 50;

/// The keys the filters find, a page at a time.
struct Pages<'a> {
    client: &'a Client,
    query: Option<ListKeys>,
}

impl<'a> Pages<'a> {
    fn new(client: &'a Client, filters: &KeyFilterArgs) -> Result<Self, UsageError> {
        let query = (!filters.is_empty())
            .then(|| filters.to_query())
            .transpose()?
            .map(|q| ListKeys {
                limit: Some(PAGE),
                ..q
            });
        Ok(Pages { client, query })
    }

    async fn next(&mut self) -> ClientResult<Option<Vec<Key>>> {
        let Some(query) = &mut self.query else {
            return Ok(None);
        };
        let page = self.client.list_keys(query).await?;
        // A server older than this CLI ignores a filter it does not know (`owner`), and would
        // hand back every key: nothing is acted on unless each key matches what was asked.
        if let Some(owner) = &query.owner {
            if page.items.iter().any(|k| k.owner.as_ref() != Some(owner)) {
                return Err(ClientError::Decode(
                    "the server returned keys of other owners for --owner (it may be older than this CLI); nothing more was changed".to_owned(),
                ));
            }
        }
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => self.query = None,
        }
        Ok(Some(page.items))
    }
}

/// The versions the preview showed, 16 bytes a key (the id hashed): the one part of a bulk
/// change that grows with the selection, and only when a preview is confirmed on a terminal.
struct Preview {
    hasher: RandomState,
    versions: HashMap<u64, i64>,
}

impl Preview {
    fn new() -> Self {
        Preview {
            hasher: RandomState::new(),
            versions: HashMap::new(),
        }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn insert(&mut self, key: &Key) {
        let h = self.hash(&key.id);
        self.versions.insert(h, key.version);
    }

    /// The version the preview showed of this key, taken out (what is left at the end left
    /// the selection).
    fn take(&mut self, id: &str) -> Option<i64> {
        let h = self.hash(id);
        self.versions.remove(&h)
    }
}

/// What the selection holds, counted as it is read.
#[derive(Default)]
struct Tally {
    /// Keys the change applies to (`already` of them are as it would leave them).
    targets: usize,
    already: usize,
    /// Revoked keys, left out.
    left_out: usize,
}

/// Outcomes, printed as they come (a table per page, a JSON listing streamed, or ids) and
/// counted for the summary.
struct Report<'a> {
    ctx: &'a Ctx,
    change: Change,
    json: Option<output::JsonItemsStream>,
    rows: Vec<Outcome>,
    done: usize,
    already: usize,
    changed: usize,
    failed: usize,
    progress: bool,
}

impl<'a> Report<'a> {
    fn start(ctx: &'a Ctx, change: Change) -> anyhow::Result<Self> {
        let json = if ctx.json() && !ctx.json_lines() {
            Some(output::JsonItemsStream::start()?)
        } else {
            None
        };
        Ok(Report {
            ctx,
            change,
            json,
            rows: Vec::new(),
            done: 0,
            already: 0,
            changed: 0,
            failed: 0,
            progress: std::io::stderr().is_terminal()
                && !std::io::stdout().is_terminal()
                && !ctx.quiet(),
        })
    }

    fn add(&mut self, outcome: Outcome) -> anyhow::Result<()> {
        match outcome.outcome.as_str() {
            "changed" => self.changed += 1,
            "failed" => self.failed += 1,
            o if o.starts_with("already") => self.already += 1,
            _ => self.done += 1,
        }
        if self.progress {
            eprint!(
                "\r{} keys: {} done…",
                self.change.doing(),
                self.done + self.already + self.changed + self.failed
            );
        }
        self.rows.push(outcome);
        if self.rows.len() >= PAGE as usize {
            self.flush()?;
        }
        Ok(())
    }

    /// Prints the outcomes gathered so far.
    fn flush(&mut self) -> anyhow::Result<()> {
        let rows = std::mem::take(&mut self.rows);
        if rows.is_empty() {
            return Ok(());
        }
        if self.progress {
            eprint!("\r\x1b[K");
        }
        if let Some(json) = &mut self.json {
            json.items(&rows)?;
        } else if self.ctx.json_lines() {
            rows.iter().try_for_each(output::print_json_line)?;
        } else if self.ctx.quiet() {
            for o in &rows {
                if o.error.is_none() {
                    output::print_line(o.id.as_deref().unwrap_or_default())?;
                }
            }
        } else {
            let rows = rows
                .into_iter()
                .map(|o| {
                    let what = match &o.error {
                        Some(e) if o.outcome == "changed" => format!("changed, left as is: {e}"),
                        Some(e) => format!("failed: {e}"),
                        None => o.outcome,
                    };
                    [o.name, o.id.unwrap_or_else(|| "-".to_owned()), what]
                })
                .collect();
            output::print_line(&output::simple_table(["NAME", "ID", "OUTCOME"], rows))?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<Counts> {
        self.flush()?;
        if self.progress {
            eprint!("\r\x1b[K");
        }
        if let Some(json) = self.json.take() {
            json.finish()?;
        }
        Ok(Counts {
            done: self.done,
            already: self.already,
            changed: self.changed,
            failed: self.failed,
        })
    }
}

struct Counts {
    done: usize,
    already: usize,
    changed: usize,
    failed: usize,
}

/// Runs the plan's change on the keys named and the keys the filters find.
pub async fn run<A: Fn(&Key)>(
    ctx: &Ctx,
    client: &Client,
    plan: Plan<A>,
    selection: Selection,
) -> anyhow::Result<()> {
    let Selection {
        keys: named,
        filters,
        dry_run,
    } = selection;
    let change = plan.change;
    let yes = ctx.global.yes || plan.force;
    let (verb, done) = (change.verb(), change.done());
    let place = client.target().describe();
    let mut pages = Pages::new(client, &filters)?;

    // Named keys first, each read once; a name that matches nothing is a failed outcome of
    // its own, and the others go on.
    let own = if change.spares_own_key() {
        own_key_id(client).await?
    } else {
        None
    };
    let mut unknown: Vec<Outcome> = Vec::new();
    let mut named_keys: Vec<Key> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut tally = Tally::default();
    for name in named {
        match resolve(ctx, client, Some(name.clone())).await {
            Ok(id) => {
                if seen.insert(id.clone()) {
                    let key = client.get_key(&id).await?;
                    if key.status == KeyStatus::Revoked {
                        tally.left_out += 1;
                    } else {
                        named_keys.push(key);
                    }
                }
            }
            Err(e) if matches!(e.downcast_ref(), Some(CliFailure::NotFound(_))) => {
                unknown.push(Outcome {
                    id: None,
                    name,
                    outcome: "failed".to_owned(),
                    error: Some(format!("{e:#}")),
                });
            }
            Err(e) => return Err(e),
        }
    }
    // The login key, named, is done last; a filter never sweeps it up (the change would cut
    // the command off mid-way).
    let own_named = named_keys
        .iter()
        .position(|k| own.as_deref() == Some(k.id.as_str()))
        .map(|i| named_keys.remove(i));
    for key in named_keys.iter().chain(&own_named) {
        tally.targets += 1;
        tally.already += usize::from(change.already(key));
    }
    let own_key_swept = |key: &Key| own.as_deref() == Some(key.id.as_str());
    let mut warned_own = false;
    let mut leave_out_own = |key: &Key| {
        if !warned_own {
            warned_own = true;
            ctx.warn(&format!(
                "leaving out {} ({}), the key this command is logged in with; name it to include it",
                output::printable(&key.name),
                key.id
            ));
        }
    };

    // The preview: on --dry-run the whole selection is printed; before the question, it is
    // counted, its first keys shown, and each key's version kept.
    let mut preview = None;
    if dry_run || !yes {
        let mut shown: Vec<Key> = Vec::new();
        let mut versions = (!dry_run).then(Preview::new);
        let mut json = if dry_run && ctx.json() && !ctx.json_lines() {
            Some(output::JsonItemsStream::start()?)
        } else {
            None
        };
        let mut page_of = |keys: &[Key], shown: &mut Vec<Key>| -> anyhow::Result<()> {
            if dry_run {
                if let Some(json) = &mut json {
                    json.items(keys)?;
                } else if ctx.json_lines() {
                    keys.iter().try_for_each(output::print_json_line)?;
                } else if ctx.quiet() {
                    keys.iter().try_for_each(|k| output::print_line(&k.id))?;
                } else if !keys.is_empty() {
                    output::print_line(&output::keys_table(keys))?;
                }
            } else {
                let room = SHOWN_BEFORE_ASKING.saturating_sub(shown.len());
                shown.extend(keys.iter().take(room).cloned());
            }
            Ok(())
        };
        page_of(&named_keys, &mut shown)?;
        while let Some(page) = pages.next().await? {
            let mut keys = Vec::with_capacity(page.len());
            for key in page {
                if seen.contains(&key.id) {
                    continue;
                }
                if own_key_swept(&key) {
                    leave_out_own(&key);
                    continue;
                }
                if key.status == KeyStatus::Revoked {
                    tally.left_out += 1;
                    continue;
                }
                tally.targets += 1;
                tally.already += usize::from(change.already(&key));
                if let Some(versions) = &mut versions {
                    versions.insert(&key);
                }
                keys.push(key);
            }
            page_of(&keys, &mut shown)?;
        }
        page_of(own_named.as_slice(), &mut shown)?;
        if let Some(json) = json {
            json.finish()?;
        }
        for o in &unknown {
            ctx.warn(&format!(
                "{}: {}",
                output::printable(&o.name),
                o.error.as_deref().unwrap_or_default()
            ));
        }
        let left_out = left_out_note(change, tally.left_out);
        if dry_run {
            let n = tally.targets;
            let already = match tally.already {
                0 => String::new(),
                a => format!(" ({a} of them already {done})"),
            };
            let said = format!(
                "Dry run: {n} key{} would be {done}{already} {place}{left_out}; nothing was changed",
                plural(n)
            );
            if !unknown.is_empty() {
                return Err(CliFailure::PartlyFailed(format!(
                    "{said}; {} named match{} no key",
                    unknown.len(),
                    if unknown.len() == 1 { "es" } else { "" }
                ))
                .into());
            }
            ctx.say(&format!("{said}."));
            return Ok(());
        }
        if tally.targets == 0 && unknown.is_empty() {
            if ctx.json() {
                Report::start(ctx, change)?.finish()?;
            }
            ctx.say(&format!("No key to {verb} {place}{left_out}."));
            return Ok(());
        }
        // Without --yes: asked on a terminal, refused elsewhere. With nothing to act on (only
        // names that match no key), there is nothing to ask.
        let n = tally.targets;
        if n > 0 && !ctx.can_prompt() {
            return Err(UsageError(format!(
                "refusing to {verb} {n} key{} without --yes, and there is no terminal to ask on; --dry-run shows which",
                plural(n)
            ))
            .into());
        }
        if n > 0 {
            eprintln!("{}", output::keys_table(&shown));
            if n > shown.len() {
                eprintln!("… and {} more (--dry-run lists them all).", n - shown.len());
            }
            let already = match tally.already {
                0 => String::new(),
                a => format!(" ({a} of them already {done})"),
            };
            let question = format!(
                "{} these {n} key{}{already} {place}{left_out}?",
                capitalise(verb),
                plural(n)
            );
            let question = match change {
                Change::Revoke => format!("{question} This cannot be undone"),
                Change::Disable | Change::Enable => question,
            };
            if !prompt::confirm(&question, false)? {
                ctx.say(&format!("Nothing {done}."));
                return Ok(());
            }
        }
        preview = versions;
    }
    let since = if preview.is_some() {
        "since the preview"
    } else {
        "since it was read"
    };

    // The login key, named, is asked about on its own, before any key is touched.
    if let Some(key) = own_named
        .as_ref()
        .filter(|k| !change.already(k) && !plan.force)
    {
        if !ctx.can_prompt() {
            return Err(own_key_refusal(change, key).into());
        }
        confirm_own_key(client, change, key)?;
    }

    // The change, page by page, each key at the version it was read (or previewed) at.
    let mut report = Report::start(ctx, change)?;
    for o in unknown {
        report.add(o)?;
    }
    let mut act = Actor {
        client,
        change,
        enable: &plan.enable,
        after: &plan.after,
    };
    let stopped = async {
        for named in &named_keys {
            report.add(act.again(named, since).await?)?;
        }
        if preview.is_some() {
            // Fresh pages: the selection is read again, and each key compared with the preview.
            pages = Pages::new(client, &filters)?;
        }
        while let Some(page) = pages.next().await? {
            for key in page {
                if seen.contains(&key.id) || own_key_swept(&key) {
                    if own_key_swept(&key) && !seen.contains(&key.id) {
                        leave_out_own(&key);
                    }
                    continue;
                }
                let outcome = match &mut preview {
                    None => {
                        if key.status == KeyStatus::Revoked {
                            tally.left_out += 1;
                            continue;
                        }
                        act.on(&key, key.version).await?
                    }
                    Some(preview) => match preview.take(&key.id) {
                        // Revoked both then and now, or newly revoked and never previewed.
                        None if key.status == KeyStatus::Revoked => continue,
                        None => changed(&key, key.version, "since the preview: it was not in it"),
                        Some(v) if v != key.version => changed(&key, v, since),
                        Some(v) => act.on(&key, v).await?,
                    },
                };
                report.add(outcome)?;
            }
        }
        if let Some(named) = &own_named {
            report.add(act.again(named, since).await?)?;
        }
        anyhow::Ok(())
    }
    .await;
    // Keys the preview showed that the selection no longer holds were left as they are.
    let gone = preview.as_ref().map_or(0, |p| p.versions.len());
    report.changed += gone;
    let counts = report.finish()?;
    if gone > 0 {
        ctx.warn(&format!(
            "{gone} key{} of the preview no longer match{} the selection (changed since the preview) and {} left as {}",
            plural(gone),
            if gone == 1 { "es" } else { "" },
            if gone == 1 { "was" } else { "were" },
            if gone == 1 { "it was" } else { "they were" },
        ));
    }
    if let Err(e) = stopped {
        let so_far = summary(change, &counts, &tally, &place);
        return Err(e.context(format!("stopped after {so_far}")));
    }
    summarise(ctx, change, counts, &tally, &place, since)
}

/// Applies the change to one key, as an outcome.
struct Actor<'a, A: Fn(&Key)> {
    client: &'a Client,
    change: Change,
    enable: &'a EnableKey,
    after: &'a A,
}

impl<A: Fn(&Key)> Actor<'_, A> {
    /// A named key, read again: acted on if it is still at the version first read.
    async fn again(&mut self, named: &Key, since: &str) -> anyhow::Result<Outcome> {
        match self.client.get_key(&named.id).await {
            Ok(now) if now.version != named.version => Ok(changed(&now, named.version, since)),
            Ok(now) => self.on(&now, now.version).await,
            Err(e @ ClientError::Api { .. }) => Ok(Outcome {
                id: Some(named.id.clone()),
                name: named.name.clone(),
                outcome: "failed".to_owned(),
                error: Some(e.to_string()),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The outcome of the change on `key`, read at `version`. A failure of the key's own is an
    /// outcome; one that would fail every key (the server gone, the login refused) stops all.
    async fn on(&mut self, key: &Key, version: i64) -> anyhow::Result<Outcome> {
        let change = self.change;
        if change.already(key) {
            return Ok(Outcome {
                id: Some(key.id.clone()),
                name: key.name.clone(),
                outcome: format!("already {}", change.done()),
                error: None,
            });
        }
        // From the first change on, an interrupt says some keys may have changed (exit 9), not
        // that nothing was done.
        crate::cli::note_done(CliFailure::PartlyFailed(format!(
            "interrupted during the bulk change: some keys may have been {} already; `keyward keys list --all-statuses` shows where each stands",
            change.done()
        )));
        match change.apply(self.client, key, version, self.enable).await {
            Ok(now) => {
                (self.after)(&now);
                Ok(Outcome {
                    id: Some(key.id.clone()),
                    name: key.name.clone(),
                    outcome: change.done().to_owned(),
                    error: None,
                })
            }
            Err(ClientError::Api { status: 412, .. }) => {
                let now = self.client.get_key(&key.id).await?;
                Ok(changed(&now, version, "since it was read"))
            }
            Err(e @ ClientError::Api { .. }) => Ok(Outcome {
                id: Some(key.id.clone()),
                name: key.name.clone(),
                outcome: "failed".to_owned(),
                error: Some(e.to_string()),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// The outcome of a key found at another version than `was`: left as it is.
fn changed(now: &Key, was: i64, since: &str) -> Outcome {
    Outcome {
        id: Some(now.id.clone()),
        name: now.name.clone(),
        outcome: "changed".to_owned(),
        error: Some(format!(
            "changed {since} (version {was} then, {} now; it is {} now); run the command again to include it",
            now.version,
            now.status.as_str()
        )),
    }
}

/// "; left out 2 revoked keys (a revoked key cannot be disabled)", or nothing.
fn left_out_note(change: Change, n: usize) -> String {
    let s = plural(n);
    match (n, change) {
        (0, _) => String::new(),
        (n, Change::Revoke) => format!("; left out {n} key{s} revoked already"),
        (n, Change::Disable | Change::Enable) => format!(
            "; left out {n} revoked key{s} (a revoked key cannot be {})",
            change.done()
        ),
    }
}

/// "3 disabled, 1 already disabled, 1 changed, 1 failed on …; left out …".
fn summary(change: Change, counts: &Counts, tally: &Tally, place: &str) -> String {
    let done = change.done();
    let mut parts = vec![
        format!("{} {done}", counts.done),
        format!("{} already {done}", counts.already),
    ];
    if counts.changed > 0 {
        parts.push(format!("{} changed meanwhile, left as is", counts.changed));
    }
    if counts.failed > 0 {
        parts.push(format!("{} failed", counts.failed));
    }
    format!(
        "{} {place}{}",
        parts.join(", "),
        left_out_note(change, tally.left_out)
    )
}

/// The closing line; exit 9 when any key failed or changed.
fn summarise(
    ctx: &Ctx,
    change: Change,
    counts: Counts,
    tally: &Tally,
    place: &str,
    since: &str,
) -> anyhow::Result<()> {
    let said = summary(change, &counts, tally, place);
    if counts.failed > 0 || counts.changed > 0 {
        let mut why = Vec::new();
        if counts.failed > 0 {
            why.push("the keys that failed are listed above".to_owned());
        }
        if counts.changed > 0 {
            why.push(format!(
                "the keys changed {since} were left as they are; run the command again to include them"
            ));
        }
        return Err(CliFailure::PartlyFailed(format!("{said}; {}", why.join("; "))).into());
    }
    ctx.say(&format!("{said}."));
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
        Change::Disable | Change::Enable => {
            format!("an admin's `keyward keys enable {}`", key.id)
        }
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
