//! `keyward profiles list | use NAME | show`: the server profiles in config.toml, and which one
//! commands use when none is named.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{CliFailure, Ctx, UsageError};
use crate::config::{Config, DEFAULT_PROFILE, LOCAL_PROFILE};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// The profiles, and which one is in use
    #[command(visible_alias = "ls")]
    List,
    /// Use this profile when none is named (`local`: the embedded store)
    Use(UseArgs),
    /// The profile in use: its server, client id and where it is saved
    Show,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    /// A profile's name, or `local` for the embedded store
    pub name: String,
}

/// A profile as `--output json` prints it.
#[derive(Debug, Serialize)]
struct ProfileView {
    name: String,
    /// The server's URL; absent for the local store.
    url: Option<String>,
    client_id: Option<String>,
    current: bool,
}

pub async fn run(ctx: &Ctx, cmd: ProfilesCommand) -> anyhow::Result<()> {
    match cmd {
        ProfilesCommand::List => list(ctx),
        ProfilesCommand::Use(args) => use_profile(ctx, &args.name),
        ProfilesCommand::Show => show(ctx),
    }
}

fn views(ctx: &Ctx) -> Vec<ProfileView> {
    let local = ctx.uses_local_store();
    let mut views: Vec<ProfileView> = ctx
        .config
        .profiles
        .iter()
        .map(|(name, p)| ProfileView {
            name: name.clone(),
            url: Some(p.url.clone()),
            client_id: p.client_id.clone(),
            current: !local && *name == ctx.profile,
        })
        .collect();
    views.push(ProfileView {
        name: LOCAL_PROFILE.to_owned(),
        url: None,
        client_id: None,
        current: local
            || (ctx.server_url().is_none() && !ctx.config.profiles.contains_key(&ctx.profile)),
    });
    views
}

fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let views = views(ctx);
    if ctx.json() {
        return output::print_json_items(&views);
    }
    if ctx.quiet() {
        return views.iter().try_for_each(|v| output::print_line(&v.name));
    }
    let rows = views
        .iter()
        .map(|v| {
            [
                if v.current { "*" } else { "" }.to_owned(),
                v.name.clone(),
                v.url
                    .clone()
                    .unwrap_or_else(|| "the embedded local store".to_owned()),
                v.client_id.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["", "NAME", "SERVER", "CLIENT ID"],
        rows,
    ))
}

fn use_profile(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    if name != LOCAL_PROFILE && !ctx.config.profiles.contains_key(name) {
        let known: Vec<&str> = ctx.config.profiles.keys().map(String::as_str).collect();
        return Err(UsageError(format!(
            "no profile named {name:?}; there are: {}, and `local` for the embedded store (`keyward login --profile {name} --url URL` creates one)",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ))
        .into());
    }
    let (mut config, _lock) = Config::load_for_update()?;
    config.current = (name != DEFAULT_PROFILE).then(|| name.to_owned());
    let path = config.save()?;
    ctx.say(&format!(
        "Commands now use {} (saved in {}).",
        describe(&config, name),
        path.display()
    ));
    Ok(())
}

fn show(ctx: &Ctx) -> anyhow::Result<()> {
    let view = views(ctx)
        .into_iter()
        .find(|v| v.current)
        .ok_or_else(|| CliFailure::NotFound(format!("no profile named {:?}", ctx.profile)))?;
    if ctx.json() {
        return output::print_json(&view);
    }
    if ctx.quiet() {
        return output::print_line(&view.name);
    }
    let mut rows = vec![["Profile".to_owned(), view.name.clone()]];
    rows.push([
        "Server".to_owned(),
        view.url
            .clone()
            .unwrap_or_else(|| "the embedded local store".to_owned()),
    ]);
    if let Some(id) = &view.client_id {
        rows.push(["Client id".to_owned(), id.clone()]);
    }
    rows.push(["Config".to_owned(), Config::path()?.display().to_string()]);
    output::print_line(&output::pairs(rows))
}

/// "profile NAME (URL)" or "the embedded local store".
pub fn describe(config: &Config, name: &str) -> String {
    match config.profiles.get(name) {
        Some(p) => format!("profile {name:?} ({})", p.url),
        None => "the embedded local store".to_owned(),
    }
}
