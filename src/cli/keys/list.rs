//! `keyward keys list`.

use clap::Args;

use crate::api::{Key, KeyStatus, KeyType, ListKeys, Page};
use crate::cli::Ctx;
use crate::cli::time::parse_positive_seconds;
use crate::output;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys list --env production --status active
  keyward keys list --search ci- --all -q | xargs -n1 keyward keys show")]
pub struct ListArgs {
    /// Only keys in this state
    #[arg(long, value_enum)]
    pub status: Option<KeyStatus>,

    /// Only keys of this type
    #[arg(long = "type", value_enum)]
    pub key_type: Option<KeyType>,

    /// Only keys in this environment
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,

    /// Only keys holding this permission
    #[arg(long, value_name = "PERMISSION")]
    pub permission: Option<String>,

    /// Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<String>,

    /// Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked
    #[arg(long, value_name = "DURATION")]
    pub unused_for: Option<String>,

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
    // Sent as durations: the server counts them from its own clock.
    let expiring_within_seconds = args
        .expiring_within
        .as_deref()
        .map(|d| parse_positive_seconds(d, "--expiring-within"))
        .transpose()?;
    let unused_for_seconds = args
        .unused_for
        .as_deref()
        .map(|d| parse_positive_seconds(d, "--unused-for"))
        .transpose()?;
    let client = ctx.client().await?;
    let sort = match args.sort {
        SortArg::Created => None,
        SortArg::Newest => Some("-created_at"),
        SortArg::Expires => Some("expires_at"),
        SortArg::Name => Some("name"),
    };
    let mut query = ListKeys {
        q: args.search,
        name: None,
        status: args.status,
        key_type: args.key_type,
        environment: args.environment,
        permission: args.permission,
        expiring_within_seconds,
        unused_for_seconds,
        expires_before: None,
        unused_since: None,
        sort: sort.map(str::to_owned),
        limit: Some(if args.all { 1000 } else { args.limit }),
        cursor: None,
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
