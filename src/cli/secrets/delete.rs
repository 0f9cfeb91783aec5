//! `keyward secrets delete`: remove a stored secret from the keyring; the key is untouched.

use super::{not_stored, profile};
use crate::cli::Ctx;
use crate::keyring::{self, Keyring};
use crate::stored::Index;

pub fn run(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let (mut index, _lock) = Index::load_for_update()?;
    // From the keyring the index says holds it, so that success means it is gone.
    let (id, ring, indexed) = match index.find(&profile, key) {
        Some(stored) => (stored.key_id.clone(), stored.keyring()?, true),
        None => (key.to_owned(), Keyring::open()?, false),
    };
    let existed = ring.delete(&keyring::secret_user(&profile, &id))?;
    if !existed && !indexed {
        return Err(not_stored(key, &profile));
    }
    index.remove(&profile, &id);
    index.save()?;
    ctx.say(&format!(
        "Deleted the stored secret of {id} from this machine's {}.",
        ring.name()
    ));
    Ok(())
}
