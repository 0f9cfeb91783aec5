//! `keyward secrets list`: the secrets stored on this machine, never their values: keys' secrets
//! kept when they were created or rotated, and the profiles' login secrets.

use anyhow::Context;
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::Ctx;
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::Index;

/// One stored secret, as `--output json` prints it.
#[derive(Debug, Serialize)]
struct Listed {
    /// `key`: a key's secret kept with `--store` (or the offer after create or rotate);
    /// `login`: a profile's login secret, kept by `keyward login`.
    kind: &'static str,
    profile: String,
    key_id: String,
    /// The key's name when it was stored; a login records none.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The server URL, or the local store's path.
    origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyring: Option<String>,
}

pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let index = Index::load()?;
    let mut listed: Vec<Listed> = index
        .secrets
        .iter()
        .map(|s| Listed {
            kind: "key",
            profile: s.profile.clone(),
            key_id: s.key_id.clone(),
            name: Some(s.name.clone()),
            origin: s.origin.clone(),
            stored_at: Some(s.stored_at),
            keyring: s.keyring.clone(),
        })
        .collect();
    let logins: Vec<(&String, &String, &String)> = ctx
        .config
        .profiles
        .iter()
        .filter_map(|(name, p)| p.client_id.as_ref().map(|id| (name, id, &p.url)))
        .collect();
    if listed.is_empty() || !logins.is_empty() {
        match Keyring::open() {
            Ok(ring) => add_logins(&mut listed, &ring, &logins)?,
            // "Nothing stored" would hide that nothing can be.
            Err(e) if listed.is_empty() => {
                return Err(e).context("no secrets are stored on this machine, and none can be");
            }
            Err(e) => ctx.warn(&format!(
                "the profiles' login secrets cannot be looked for: {e}"
            )),
        }
    }
    if ctx.json() {
        return output::print_json_items(&listed);
    }
    if ctx.quiet() {
        for s in &listed {
            output::print_line(&s.key_id)?;
        }
        return Ok(());
    }
    if listed.is_empty() {
        ctx.say("No secrets stored on this machine.");
        return Ok(());
    }
    let rows = listed
        .iter()
        .map(|s| {
            [
                // A login is labelled where the eye looks first, without a column of its own
                // (the table fits 80 columns).
                match (&s.name, s.kind) {
                    (Some(name), "login") => format!("{name} (login)"),
                    (Some(name), _) => name.clone(),
                    (None, _) => "(login)".to_owned(),
                },
                s.key_id.clone(),
                s.profile.clone(),
                s.keyring.clone().unwrap_or_else(|| "-".to_owned()),
                s.origin.clone(),
                s.stored_at.map_or_else(|| "-".to_owned(), output::day),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["NAME", "ID", "PROFILE", "KEYRING", "FROM", "STORED"],
        rows,
    ))?;
    let in_kernel = listed
        .iter()
        .any(|s| s.keyring.as_deref() == Some("keyutils"));
    if in_kernel {
        if let Some(caveat) = Keyring::open_kind("keyutils").ok().and_then(|k| k.caveat()) {
            ctx.say(&format!("Those in keyutils: {caveat}."));
        }
    }
    Ok(())
}

/// The profiles' login secrets the keyring in effect holds (where `keyward login` put them and
/// where commands read them), each labelled `login`; a key's stored secret that is also a login
/// is one row.
fn add_logins(
    listed: &mut Vec<Listed>,
    ring: &Keyring,
    logins: &[(&String, &String, &String)],
) -> anyhow::Result<()> {
    for &(profile, client_id, url) in logins {
        let user = keyring::secret_user(profile, client_id);
        // Only whether it is there: the value is dropped at once.
        if ring
            .get(&user)
            .with_context(|| format!("cannot read the OS keyring's entry keyward/{user}"))?
            .is_none()
        {
            continue;
        }
        match listed
            .iter_mut()
            .find(|s| &s.profile == profile && &s.key_id == client_id)
        {
            Some(also_a_key) => also_a_key.kind = "login",
            None => listed.push(Listed {
                kind: "login",
                profile: profile.clone(),
                key_id: client_id.clone(),
                name: None,
                origin: url.clone(),
                stored_at: None,
                keyring: Some(ring.kind().to_owned()),
            }),
        }
    }
    Ok(())
}
