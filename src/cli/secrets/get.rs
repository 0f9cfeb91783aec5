//! `keyward secrets get`: print a stored secret on stdout.

use super::{not_stored, profile};
use crate::cli::Ctx;
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::Index;

pub fn run(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let index = Index::load()?;
    let id = index
        .find(&profile, key)
        .map(|s| s.key_id.clone())
        .unwrap_or_else(|| key.to_owned());
    let ring = Keyring::open()?;
    match ring.get(&keyring::secret_user(&profile, &id))? {
        Some(secret) => output::print_line(&secret),
        None => Err(not_stored(key, &profile)),
    }
}
