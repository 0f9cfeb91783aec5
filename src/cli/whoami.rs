//! `keyward whoami`: the calling principal, and which store or server answers.

use clap::Args;
use serde::Serialize;

use super::Ctx;
use crate::api::Whoami;
use crate::client::Target;
use crate::output;

#[derive(Debug, Args)]
pub struct WhoamiArgs {}

/// The JSON shape: the API's whoami plus where it came from.
#[derive(Serialize)]
struct WhoamiOutput<'a> {
    #[serde(flatten)]
    whoami: &'a Whoami,
    store: String,
    url: Option<String>,
    profile: Option<&'a str>,
}

pub async fn run(ctx: &Ctx, _args: WhoamiArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let me = client.whoami().await?;
    let (store, url) = match client.target() {
        Target::Remote { url } => (format!("server {url}"), Some(url.clone())),
        Target::Local { path, .. } => (format!("local store {}", path.display()), None),
    };
    let profile = ctx
        .config
        .profiles
        .contains_key(&ctx.profile)
        .then_some(ctx.profile.as_str());
    if ctx.json() {
        return output::print_json(&WhoamiOutput {
            whoami: &me,
            store,
            url,
            profile,
        });
    }
    if ctx.quiet() {
        return output::print_line(&me.principal);
    }
    let list = |s: &std::collections::BTreeSet<String>| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let mut rows = vec![
        ["Store".to_owned(), store],
        ["Principal".to_owned(), me.principal.clone()],
    ];
    if let Some(name) = &me.key_name {
        rows.push(["Key".to_owned(), name.clone()]);
    }
    rows.push(["Permissions".to_owned(), list(&me.permissions)]);
    rows.push([
        "Environments".to_owned(),
        me.environments.as_ref().map_or("all".to_owned(), list),
    ]);
    if let Some(at) = me.token_expires_at {
        rows.push([
            "Token expires".to_owned(),
            at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        ]);
    }
    if let Some(p) = profile {
        rows.push(["Profile".to_owned(), p.to_owned()]);
    }
    output::print_line(&output::pairs(rows))
}
