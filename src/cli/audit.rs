//! `keyward audit`: read, export and follow the audit log; `keyward audit verify` walks its
//! tamper-evident chain.

use std::time::Duration;

use clap::{Args, Subcommand};
use jiff::Timestamp;

use super::{CliFailure, Ctx, time};
use crate::api::{AuditEvent, ListAudit, actions};
use crate::client::{Client, ClientError};
use crate::output;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Examples:
  keyward audit --key ci-deployer                       a key's whole story, oldest first
  keyward audit --outcome failure --since 24h           failed token exchanges of the last day
  keyward audit --exclude-action token.exchange         every change, without the logins
  keyward audit --all --output jsonl > audit.jsonl      every event, one JSON object per line
  keyward audit --follow --output jsonl | my-siem       new events as they happen, until Ctrl-C
  keyward audit verify                                  is the log as it was written?
  keyward audit checkpoint >> checkpoints.txt           the head, ID:LINK, to keep elsewhere
  keyward audit verify --checkpoint 1234:9f3c…          also fails if the newest events were removed

Newest first, unless --key or --oldest-first. Tables show times relative to now (--follow shows
them in local time, under one header); JSON carries them exact (RFC 3339, UTC). TARGET is the
key by the name it had when the event was written, or the environment of an environment event.
--follow asks the server every second and goes on after the last event it printed, so a server
restart loses and repeats nothing; Ctrl-C stops it (exit 130, as for any interrupted command).
Needs `audit:read`; a key scoped to some environments sees only the events of keys inside them."
)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the chain of events and name the first one that was changed, removed or inserted
    /// (exit 8 when one was)
    Verify(VerifyArgs),
    /// Print the newest event's id and link (ID:LINK): keep it where the database's writers
    /// cannot reach, and give it to `audit verify --checkpoint` later
    Checkpoint,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An earlier `keyward audit checkpoint` (ID:LINK): also fail when that event is gone (the
    /// newest events were removed) or changed
    #[arg(long, value_name = "ID:LINK")]
    pub checkpoint: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only events about this key (its id, or its name)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only events by this actor: `key:<id>` or `local:<os user>`
    #[arg(long, value_name = "ACTOR")]
    pub actor: Option<String>,
    /// Only these actions (comma-separated, or the flag again), e.g. key.rotate
    #[arg(long, value_name = "ACTION", value_delimiter = ',', value_parser = action_names())]
    pub action: Vec<String>,
    /// Leave out these actions (from the same list), e.g. token.exchange (a CI job's logins)
    #[arg(long, value_name = "ACTION", value_delimiter = ',', value_parser = action_names(),
          hide_possible_values = true)]
    pub exclude_action: Vec<String>,
    /// Only successes or only failures
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only events since this long ago (24h, 7d) or this date or time (2026-11-01)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only events before this long ago or this date or time
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Oldest first (the default with --key and --follow)
    #[arg(long)]
    pub oldest_first: bool,
    /// At most this many events (1–1000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000), conflicts_with = "all")]
    pub limit: u32,
    /// Go on from this `next_cursor` of an earlier JSON page (with the same filters)
    #[arg(long, value_name = "CURSOR", conflicts_with_all = ["all", "follow"])]
    pub cursor: Option<String>,
    /// Every matching event, each page printed as it arrives
    #[arg(long, conflicts_with = "follow")]
    pub all: bool,
    /// After the last --limit events, print new ones as they happen, until Ctrl-C
    #[arg(long)]
    pub follow: bool,
}

/// The actions the log holds: anything else is a usage error that lists them.
fn action_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(actions::ALL)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutcomeArg {
    Success,
    Failure,
}

/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Ctx, args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AuditCommand::Verify(args)) => verify(ctx, args).await,
        Some(AuditCommand::Checkpoint) => checkpoint(ctx).await,
        None => list(ctx, args.list).await,
    }
}

async fn checkpoint(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let head = client.audit_checkpoint().await?;
    if ctx.json() {
        return output::print_json(&head);
    }
    output::print_line(&head.checkpoint)
}

async fn verify(ctx: &Ctx, args: VerifyArgs) -> anyhow::Result<()> {
    if let Some(text) = &args.checkpoint {
        text.parse::<crate::server::store::Checkpoint>()
            .map_err(super::UsageError)?;
    }
    let client = ctx.client().await?;
    // Progress on a terminal only, on stderr, rewritten in place.
    let show = !ctx.quiet() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |checked: u64| {
        if show {
            eprint!("\rchecked {checked} events…");
        }
    };
    let found = client
        .verify_audit(args.checkpoint.as_deref(), &progress)
        .await;
    if show {
        eprint!("\r\x1b[K");
    }
    let found = found?;
    if ctx.json() {
        output::print_json(&found)?;
    }
    match (found.intact, found.first_broken, found.detail) {
        (true, ..) => {
            ctx.say(&format!(
                "The audit log is intact: {} {}, each following from the one before {}.",
                found.checked,
                if found.checked == 1 {
                    "event"
                } else {
                    "events"
                },
                client.target().describe()
            ));
            Ok(())
        }
        (false, id, detail) => Err(CliFailure::NeedsAttention(format!(
            "the audit log does not verify after {} intact events: {}",
            found.checked,
            detail.unwrap_or_else(|| format!("event {id:?}"))
        ))
        .into()),
    }
}

async fn list(ctx: &Ctx, args: ListArgs) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let (since, until) = time::parse_window(args.since.as_deref(), args.until.as_deref(), now)?;
    let client = ctx.client().await?;
    let key = match args.key {
        Some(key) => Some(key_id(ctx, client, key).await?),
        None => None,
    };
    // A key's story reads from its beginning; so does a stream that goes on.
    let oldest_first = args.oldest_first || key.is_some();
    let mut query = ListAudit {
        actor: args.actor,
        key,
        action: comma_list(args.action),
        exclude_action: comma_list(args.exclude_action),
        outcome: args.outcome.map(|o| {
            match o {
                OutcomeArg::Success => "success",
                OutcomeArg::Failure => "failure",
            }
            .to_owned()
        }),
        since,
        until,
        order: oldest_first.then(|| "oldest".to_owned()),
        limit: Some(if args.all { 1000 } else { args.limit }),
        cursor: args.cursor,
    };
    if args.follow {
        return follow(ctx, client, query, args.limit).await;
    }
    let mut printer = Printer::new(ctx)?;
    loop {
        let page = client.audit(&query).await?;
        printer.page(&page.items, now)?;
        match page.next_cursor {
            Some(c) if args.all => query.cursor = Some(c),
            next => return printer.finish(next, ctx),
        }
    }
}

/// Values of a repeatable flag as the API's comma-separated list; none when empty.
fn comma_list(values: Vec<String>) -> Option<String> {
    (!values.is_empty()).then(|| values.join(","))
}

/// A key named by id is taken as it is (an auditor may not read keys); a name is looked up.
async fn key_id(ctx: &Ctx, client: &Client, key: String) -> anyhow::Result<String> {
    if crate::server::validate::key_id(&key) {
        return Ok(key);
    }
    super::keys::resolve(ctx, client, Some(key)).await
}

/// Prints events as pages arrive: a table per page, one JSON document, or JSON Lines.
struct Printer {
    json: Option<output::JsonItemsStream>,
    lines: bool,
    table: bool,
    printed: usize,
}

impl Printer {
    fn new(ctx: &Ctx) -> anyhow::Result<Self> {
        let lines = ctx.json_lines();
        let json = (ctx.json() && !lines)
            .then(output::JsonItemsStream::start)
            .transpose()?;
        Ok(Printer {
            json,
            lines,
            table: !ctx.json() && !ctx.quiet(),
            printed: 0,
        })
    }

    fn page(&mut self, events: &[AuditEvent], now: Timestamp) -> anyhow::Result<()> {
        self.printed += events.len();
        if let Some(json) = &mut self.json {
            return json.items(events);
        }
        if self.lines {
            for e in events {
                output::print_json_line(e)?;
            }
        } else if self.table {
            if !events.is_empty() {
                output::print_line(&table(events, now))?;
            }
        } else {
            for e in events {
                output::print_line(&e.id.to_string())?;
            }
        }
        Ok(())
    }

    fn finish(self, next_cursor: Option<String>, ctx: &Ctx) -> anyhow::Result<()> {
        if let Some(json) = self.json {
            return json.finish_with_cursor(next_cursor.as_deref());
        }
        if self.lines {
            if let Some(cursor) = &next_cursor {
                output::more_follow(cursor);
            }
        }
        if self.table {
            if self.printed == 0 {
                ctx.say("No events match.");
            } else if next_cursor.is_some() {
                ctx.say(&format!(
                    "Showing {} events; --all prints every one.",
                    self.printed
                ));
            }
        }
        Ok(())
    }
}

fn table(events: &[AuditEvent], now: Timestamp) -> String {
    let rows = events
        .iter()
        .map(|e| {
            [
                output::relative(e.at, now),
                actor(e),
                action(e),
                target(e),
                outcome(e),
                e.source_ip.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::simple_table(
        ["WHEN", "ACTOR", "ACTION", "TARGET", "OUTCOME", "FROM"],
        rows,
    )
}

/// The acting key's name says more to a person than its id (JSON has both).
fn actor(e: &AuditEvent) -> String {
    e.actor_name.clone().unwrap_or_else(|| e.actor.clone())
}

/// The action, with an edit's changed fields.
fn action(e: &AuditEvent) -> String {
    if e.changed.is_empty() {
        e.action.clone()
    } else {
        format!("{} ({})", e.action, e.changed.join(", "))
    }
}

/// What the event is about: the key by the name it had then (its id for events written before
/// names were kept), or the environment an environment event is about.
fn target(e: &AuditEvent) -> String {
    if e.action.starts_with("environment.") {
        return match e.environments.first() {
            Some(env) => format!("environment {env}"),
            None => String::new(),
        };
    }
    e.key_name
        .clone()
        .or_else(|| e.key_id.clone())
        .unwrap_or_default()
}

/// The outcome, with the error code of a failure and how many failures one event counts.
fn outcome(e: &AuditEvent) -> String {
    let mut outcome = match &e.error_code {
        Some(code) => format!("{} ({code})", e.outcome),
        None => e.outcome.clone(),
    };
    // Failed authentications counted rather than itemized (`repeated=N …`): how many.
    if let Some(n) = repeated(e.detail.as_deref()) {
        outcome.push_str(&format!(" ×{n}"));
    }
    outcome
}

/// `--follow`'s columns: one header, then a line per event as it arrives, with the time it
/// happened (a relative time would be "just now" for every line, and wrong a minute later).
const FOLLOW_HEADER: [&str; 6] = ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "FROM"];
const FOLLOW_WIDTHS: [usize; 5] = [19, 20, 28, 24, 20];

fn follow_line(cells: [&str; 6]) -> String {
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(FOLLOW_WIDTHS) {
        line.push_str(&format!("{:<width$}  ", output::printable(cell)));
    }
    line.push_str(&output::printable(cells[5]));
    line.trim_end().to_owned()
}

fn follow_row(e: &AuditEvent) -> String {
    let local = e.at.to_zoned(jiff::tz::TimeZone::system());
    let when = local.strftime("%Y-%m-%d %H:%M:%S").to_string();
    follow_line([
        &when,
        &actor(e),
        &action(e),
        &target(e),
        &outcome(e),
        e.source_ip.as_deref().unwrap_or_default(),
    ])
}

/// The count an event of counted failures carries in its `detail` (`repeated=N …` or
/// `folded=N …`).
fn repeated(detail: Option<&str>) -> Option<u64> {
    let detail = detail?;
    let rest = detail
        .strip_prefix("repeated=")
        .or_else(|| detail.strip_prefix("folded="))?;
    rest.split(' ').next()?.parse().ok()
}

/// `--follow`: the last `last` events, then each new one as it is written, until Ctrl-C. It
/// goes on from the id of the last event printed, so a server restart loses and repeats
/// nothing; while the server cannot be reached it says so once and keeps asking.
async fn follow(ctx: &Ctx, client: &Client, mut query: ListAudit, last: u32) -> anyhow::Result<()> {
    // The newest `last` events first, printed oldest first.
    let mut newest = query.clone();
    newest.order = None;
    newest.limit = Some(last);
    let mut recent = client.audit(&newest).await?.items;
    recent.reverse();
    let mut cursor = recent.last().map(|e| e.id.to_string());
    let lines = ctx.json_lines() || ctx.json();
    if !lines && !ctx.quiet() {
        output::print_line(&follow_line(FOLLOW_HEADER))?;
    }
    let print = |events: &[AuditEvent]| -> anyhow::Result<()> {
        for e in events {
            if lines {
                output::print_json_line(e)?;
            } else if ctx.quiet() {
                output::print_line(&e.id.to_string())?;
            } else {
                output::print_line(&follow_row(e))?;
            }
        }
        Ok(())
    };
    print(&recent)?;
    if cursor.is_none() {
        // Nothing yet: start from the beginning of what the filters match.
        cursor = Some("0".to_owned());
    }
    query.order = Some("oldest".to_owned());
    query.limit = Some(1000);
    // Ctrl-C ends it as it ends any command (see main).
    let mut unreachable_said = false;
    loop {
        query.cursor = cursor.clone();
        match client.audit(&query).await {
            Ok(page) => {
                if unreachable_said {
                    ctx.say("Reached the server again; going on.");
                    unreachable_said = false;
                }
                print(&page.items)?;
                if let Some(e) = page.items.last() {
                    cursor = Some(e.id.to_string());
                }
                if page.next_cursor.is_some() {
                    continue;
                }
            }
            Err(ClientError::Unreachable { .. }) | Err(ClientError::Api { status: 503, .. }) => {
                if !unreachable_said {
                    ctx.say("The server cannot be reached; still following, will go on from the last event printed.");
                    unreachable_said = true;
                }
            }
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::repeated;

    #[test]
    fn the_count_of_counted_failures_is_read_from_detail() {
        assert_eq!(
            repeated(Some("repeated=41 since=2026-12-07T16:00:00Z (…)")),
            Some(41)
        );
        assert_eq!(
            repeated(Some("folded=7 (failed authentications …)")),
            Some(7)
        );
        assert_eq!(repeated(Some("pruned=3")), None);
        assert_eq!(repeated(Some("repeated=x")), None);
        assert_eq!(repeated(None), None);
    }
}
