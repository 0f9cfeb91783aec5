//! `keyward keys list`.

use clap::Args;

use super::filters::KeyFilterArgs;
use crate::api::{Key, ListKeys, Page};
use crate::cli::Ctx;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys list --env production --status active
  keyward keys list --search ci- --all -q | xargs -n1 keyward keys show")]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: KeyFilterArgs,

    /// Order of the list
    #[arg(long, value_enum, default_value_t = SortArg::Created)]
    pub sort: SortArg,

    /// At most this many keys (1–1000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000), conflicts_with = "all")]
    pub limit: u32,

    /// Every matching key, page after page
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
    let mut query = ListKeys {
        sort: sort.map(str::to_owned),
        limit: Some(if args.all { 1000 } else { args.limit }),
        ..filters
    };
    let mut keys: Vec<Key> = Vec::new();
    let next_cursor = loop {
        let page = client.list_keys(&query).await?;
        keys.extend(page.items);
        match page.next_cursor {
            Some(c) if args.all => query.cursor = Some(c),
            other => break other,
        }
    };
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
        ctx.say(&format!("No keys {}.", client.target().describe()));
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
