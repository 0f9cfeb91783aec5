//! `keyward secrets get`: print a stored secret on stdout.

use super::{not_stored, profile};
use crate::cli::Ctx;
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::Index;

pub fn run(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let index = Index::load()?;
    // From the keyring the index says holds it; an id the index does not know is looked for in
    // the keyring in effect.
    let (id, ring) = match index.find(&profile, key) {
        Some(stored) => (stored.key_id.clone(), stored.keyring()?),
        None => (key.to_owned(), Keyring::open()?),
    };
    match ring.get(&keyring::secret_user(&profile, &id))? {
        Some(secret) => output::print_line(&secret),
        None => Err(not_stored(key, &profile)),
    }
}
