//! `keyward whoami`: the calling principal, and which store or server answers.

use clap::Args;
use serde::Serialize;

use super::Ctx;
use crate::api::Whoami;
use crate::client::Target;
use crate::output;

#[derive(Debug, Args)]
pub struct WhoamiArgs {}

/// whoami warns when the login key expires within this many days.
const LOGIN_KEY_WARNING_DAYS: i64 = 30;

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
    // The login key running out is the one thing whoami must not let pass quietly.
    if let Some(at) = me.key_expires_at {
        let left = at.duration_since(jiff::Timestamp::now());
        if left < jiff::SignedDuration::from_hours(24 * LOGIN_KEY_WARNING_DAYS) {
            ctx.warn(&format!(
                "the login key {} expires {} (in {} days); ask an admin for `keyward keys enable {} --expires-in 1y`, or rotate to a new key",
                me.key_name.as_deref().unwrap_or("in use"),
                output::day(at),
                left.as_hours().max(0) / 24,
                me.key_id.as_deref().unwrap_or("KEY")
            ));
        }
    }
    let (store, url) = match client.target() {
        Target::Remote { url, .. } => (format!("server {url}"), Some(url.clone())),
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
    if let Some(at) = me.key_expires_at {
        rows.push(["Key expires".to_owned(), output::day(at)]);
    }
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
