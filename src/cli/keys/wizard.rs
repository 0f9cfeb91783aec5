//! `keyward keys create` on a terminal without `--name`: every value asked for, from the
//! server's own lists, then a summary to confirm before anything is created. The same command
//! with flags asks nothing.

use std::collections::BTreeSet;

use crate::api::{KeyType, ListKeys};
use crate::cli::time::parse_positive_seconds;
use crate::cli::{Ctx, prompt};
use crate::client::Client;
use crate::output;

/// What the wizard was told.
pub struct Answers {
    pub name: String,
    pub key_type: KeyType,
    pub environments: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    pub expires_in_seconds: u64,
    pub allowed_ips: Vec<String>,
}

/// Asks for every value; `None` when the user declines at the summary.
pub async fn ask(ctx: &Ctx, client: &Client) -> anyhow::Result<Option<Answers>> {
    let name = ask_name(ctx, client).await?;

    let types = ["private".to_owned(), "public".to_owned()];
    let key_type = match prompt::select(
        "Type (private: server-side; public: safe to embed)",
        &types,
        0,
    )? {
        0 => KeyType::Private,
        _ => KeyType::Public,
    };

    let reachable: Vec<String> = client
        .environments()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    let environments: BTreeSet<String> = if reachable.len() == 1 {
        ctx.say(&format!("Environment: {} (the only one)", reachable[0]));
        reachable.iter().cloned().collect()
    } else {
        loop {
            let picked = prompt::select_many("Environments", &reachable)?;
            if !picked.is_empty() {
                break picked.into_iter().map(|i| reachable[i].clone()).collect();
            }
            ctx.say("A key belongs to at least one environment; mark one with Space.");
        }
    };

    // A public key is offered only what it may hold.
    let offered: Vec<(String, String)> = client
        .permissions()
        .await?
        .into_iter()
        .filter(|p| key_type == KeyType::Private || (p.public_safe && !p.builtin))
        .map(|p| (p.name, p.description))
        .collect();
    let permissions: BTreeSet<String> = if offered.is_empty() {
        BTreeSet::new()
    } else {
        let labels: Vec<String> = offered
            .iter()
            .map(|(name, description)| format!("{name}  {description}"))
            .collect();
        prompt::select_many("Permissions (none: a key that only authenticates)", &labels)?
            .into_iter()
            .map(|i| offered[i].0.clone())
            .collect()
    };

    let expires_in_seconds = loop {
        let text = prompt::input_or("Expires in", "1y")?;
        match parse_positive_seconds(&text, "the expiry") {
            Ok(secs) => break secs,
            Err(e) => ctx.say(&e.0),
        }
    };

    let allowed_ips = loop {
        let text = prompt::input_or("Allowed IPs (CIDRs, comma-separated; empty: any)", "")?;
        let entries: Vec<String> = text
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        match entries
            .iter()
            .find(|e| crate::server::parse_cidr(e).is_err())
        {
            None => break entries,
            Some(bad) => ctx.say(&format!(
                "{:?} is not an IPv4 or IPv6 address or CIDR, such as 203.0.113.0/24",
                output::printable(bad)
            )),
        }
    };

    let list = |set: &BTreeSet<String>| {
        if set.is_empty() {
            "-".to_owned()
        } else {
            set.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    eprintln!(
        "{}",
        output::pairs(vec![
            ["Name".into(), name.clone()],
            ["Type".into(), key_type.as_str().into()],
            ["Environments".into(), list(&environments)],
            ["Permissions".into(), list(&permissions)],
            [
                "Expires in".into(),
                format!("{} days", expires_in_seconds / 86_400)
            ],
            [
                "Allowed IPs".into(),
                if allowed_ips.is_empty() {
                    "any".into()
                } else {
                    allowed_ips.join(", ")
                }
            ],
        ])
    );
    let question = format!("Create this key {}?", client.target().describe());
    if !prompt::confirm(&question, true)? {
        return Ok(None);
    }
    Ok(Some(Answers {
        name,
        key_type,
        environments,
        permissions,
        expires_in_seconds,
        allowed_ips,
    }))
}

/// A name that is allowed and not taken, asked again until it is.
async fn ask_name(ctx: &Ctx, client: &Client) -> anyhow::Result<String> {
    loop {
        let name = prompt::input("Name")?.trim().to_owned();
        if let Err(why) = crate::server::validate::key_name(&name) {
            ctx.say(&why);
            continue;
        }
        let same = client
            .list_keys(&ListKeys {
                name: Some(name.clone()),
                ..ListKeys::default()
            })
            .await?;
        if same
            .items
            .iter()
            .any(|k| k.status != crate::api::KeyStatus::Revoked)
        {
            ctx.say(&format!(
                "{name} is taken; names are unique among keys that are not revoked."
            ));
            continue;
        }
        return Ok(name);
    }
}
