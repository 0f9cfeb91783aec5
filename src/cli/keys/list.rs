//! `keyward keys list`.

use clap::Args;

use super::filters::KeyFilterArgs;
use crate::api::{ListKeys, Page};
use crate::cli::{Ctx, UsageError};
use crate::client::Client;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys list --env production --status active
  keyward keys list --search ci- --all -q | xargs -n1 keyward keys show
  keyward keys list --output json --limit 100 --cursor \"$NEXT\"     the page after a JSON page

Revoked keys are left out unless --status revoked or --all-statuses asks for them, so `-q`
pipelines never receive dead ids. Newest first unless --sort says otherwise. Tables show times
relative to now; JSON carries them exact (RFC 3339, UTC).")]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: KeyFilterArgs,

    /// Only the key with this exact name (its revoked namesakes too with --all-statuses)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Revoked keys too (they are left out unless --status revoked asks for them)
    #[arg(long, conflicts_with = "status")]
    pub all_statuses: bool,

    /// Order of the list
    #[arg(long, value_enum, default_value_t = SortArg::Newest)]
    pub sort: SortArg,

    /// Go on from this `next_cursor` of an earlier JSON page (with the same filters and sort)
    #[arg(long, value_name = "CURSOR", conflicts_with = "all")]
    pub cursor: Option<String>,

    /// At most this many keys (1–1000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000), conflicts_with = "all")]
    pub limit: u32,

    /// Every matching key, each page of 1,000 printed as it arrives (a table per page)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortArg {
    /// Oldest first
    Created,
    /// Newest first
    Newest,
    /// Soonest to expire first
    Expires,
    /// By name
    Name,
}

pub async fn run(ctx: &Ctx, args: ListArgs) -> anyhow::Result<()> {
    let filters = args.filters.to_query()?;
    let client = ctx.client().await?;
    let sort = match args.sort {
        SortArg::Created => None,
        SortArg::Newest => Some("-created_at"),
        SortArg::Expires => Some("expires_at"),
        SortArg::Name => Some("name"),
    };
    // An environment that does not exist is a mistake, not an empty list (as in create).
    if let Some(env) = &args.filters.environment {
        let known = client.environments().await?;
        if !known.iter().any(|e| &e.name == env) {
            let names: Vec<String> = known.into_iter().map(|e| e.name).collect();
            return Err(UsageError(format!(
                "--env {env:?}: no such environment; there are: {}",
                names.join(", ")
            ))
            .into());
        }
    }
    let query = ListKeys {
        name: args.name.clone(),
        sort: sort.map(str::to_owned),
        limit: Some(if args.all { 1000 } else { args.limit }),
        cursor: args.cursor.clone(),
        hide_revoked: filters.status.is_none() && !args.all_statuses,
        ..filters
    };
    if args.all {
        return print_every_page(ctx, client, query, &args).await;
    }
    let page = client.list_keys(&query).await?;
    let (keys, next_cursor) = (page.items, page.next_cursor);
    if ctx.json() {
        return output::print_json(&Page {
            items: keys,
            next_cursor,
        });
    }
    if ctx.quiet() {
        for k in &keys {
            output::print_line(&k.id)?;
        }
        return Ok(());
    }
    if keys.is_empty() {
        say_none(ctx, client, &args);
        return Ok(());
    }
    output::print_line(&output::keys_table(&keys))?;
    if next_cursor.is_some() {
        ctx.say(&format!(
            "Showing the first {}; --all lists every key.",
            keys.len()
        ));
    }
    Ok(())
}

/// "No keys", naming what was asked for.
fn say_none(ctx: &Ctx, client: &Client, args: &ListArgs) {
    let asked = args.filters.describe(args.name.as_deref());
    let hidden = if args.filters.status.is_none() && !args.all_statuses {
        " (revoked keys are left out; --all-statuses shows them)"
    } else {
        ""
    };
    if asked.is_empty() {
        ctx.say(&format!("No keys {}{hidden}.", client.target().describe()));
    } else {
        ctx.say(&format!(
            "No key matches {asked} {}{hidden}.",
            client.target().describe()
        ));
    }
}

/// `--all`: each page printed as it arrives, so a million keys never sit in memory at once.
/// JSON is the same document a single page would make; a table is printed per page.
async fn print_every_page(
    ctx: &Ctx,
    client: &Client,
    mut query: ListKeys,
    args: &ListArgs,
) -> anyhow::Result<()> {
    let mut json = if ctx.json() {
        Some(output::JsonItemsStream::start()?)
    } else {
        None
    };
    let mut printed = 0usize;
    loop {
        let page = client.list_keys(&query).await?;
        if let Some(json) = &mut json {
            json.items(&page.items)?;
        } else if ctx.quiet() {
            for k in &page.items {
                output::print_line(&k.id)?;
            }
        } else if !page.items.is_empty() {
            output::print_line(&output::keys_table(&page.items))?;
        }
        printed += page.items.len();
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    match json {
        Some(json) => json.finish(),
        None => {
            if printed == 0 && !ctx.quiet() {
                say_none(ctx, client, args);
            }
            Ok(())
        }
    }
}
