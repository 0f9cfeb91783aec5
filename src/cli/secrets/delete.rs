//! `keyward secrets delete`: remove a stored secret from the keyring; the key is untouched.

use super::{not_stored, profile};
use crate::cli::Ctx;
use crate::keyring::{self, Keyring};
use crate::stored::Index;

pub fn run(ctx: &Ctx, key: &str) -> anyhow::Result<()> {
    let profile = profile(ctx);
    let mut index = Index::load()?;
    let id = index
        .find(&profile, key)
        .map(|s| s.key_id.clone())
        .unwrap_or_else(|| key.to_owned());
    let ring = Keyring::open()?;
    let existed = ring.delete(&keyring::secret_user(&profile, &id))?;
    let indexed = index.find(&profile, &id).is_some();
    if !existed && !indexed {
        return Err(not_stored(key, &profile));
    }
    index.remove(&profile, &id);
    index.save()?;
    ctx.say(&format!(
        "Deleted the stored secret of {id} from this machine's keyring."
    ));
    Ok(())
}
