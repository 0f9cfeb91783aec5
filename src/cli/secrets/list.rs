//! `keyward secrets list`: the secrets stored on this machine, never their values.

use anyhow::Context;

use crate::cli::Ctx;
use crate::keyring::Keyring;
use crate::output;
use crate::stored::Index;

pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let index = Index::load()?;
    if index.secrets.is_empty() {
        // "Nothing stored" would hide that nothing can be.
        Keyring::open().context("no secrets are stored on this machine, and none can be")?;
    }
    if ctx.json() {
        return output::print_json_items(&index.secrets);
    }
    if ctx.quiet() {
        for s in &index.secrets {
            output::print_line(&s.key_id)?;
        }
        return Ok(());
    }
    if index.secrets.is_empty() {
        ctx.say("No secrets stored on this machine.");
        return Ok(());
    }
    let rows = index
        .secrets
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.key_id.clone(),
                s.profile.clone(),
                s.keyring.clone().unwrap_or_else(|| "-".to_owned()),
                s.origin.clone(),
                output::day(s.stored_at),
            ]
        })
        .collect();
    output::print_line(&output::simple_table(
        ["NAME", "ID", "PROFILE", "KEYRING", "FROM", "STORED"],
        rows,
    ))
}
