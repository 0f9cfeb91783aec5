//! Showing a new secret once (create, rotate) and offering to keep it in the OS keyring.

use anyhow::Context;

use crate::api::KeyWithSecret;
use crate::cli::{CliFailure, Ctx, prompt};
use crate::client::{Client, Target};
use crate::keyring::{self, Keyring};
use crate::output;
use crate::stored::{Index, StoredSecret};

/// The keyring profile of the store in effect: the local store keeps its own.
pub fn keyring_profile(ctx: &Ctx, target: &Target) -> String {
    match target {
        Target::Local { .. } => "local".to_owned(),
        Target::Remote { .. } => ctx.profile.clone(),
    }
}

/// Where a key's secret came from, which decides what can be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// keyward generated it: the answer carries it, to be shown this once.
    Generated,
    /// The user brought it: the answer carries none, and there is nothing to show.
    Brought,
}

/// Shows a new secret once, then stores it in the keyring if asked to (or, on a terminal, if the
/// user says so when asked). `made` says what happened to the key: `created` or `rotated`.
pub async fn reveal_secret(
    ctx: &Ctx,
    client: &Client,
    created: &KeyWithSecret,
    source: SecretSource,
    store: Option<bool>,
    made: &str,
) -> anyhow::Result<()> {
    let Some(secret) = created.secret.as_ref() else {
        if ctx.json() {
            output::print_json(created)?;
        } else if ctx.quiet() {
            // No secret to print: the essential value left is the key's id.
            output::print_line(&created.key.id)?;
        } else {
            output::print_line(&output::key_details(&created.key))?;
        }
        if source == SecretSource::Generated {
            // Only an Idempotency-Key replay answers without the generated secret.
            return Err(CliFailure::Conflict(format!(
                "key {} was created by an earlier attempt whose answer was lost, and its secret cannot be shown again; `keyward keys rotate {}` gives it a new one",
                created.key.name, created.key.id
            ))
            .into());
        }
        ctx.say("The key uses the secret you brought; keyward keeps only its digest.");
        return Ok(());
    };
    let secret = secret.expose();
    if ctx.json() {
        output::print_json(created)?;
    } else if ctx.quiet() {
        output::print_line(secret)?;
    } else {
        output::print_line(&output::key_details(&created.key))?;
        output::print_line("")?;
        output::print_line(&output::secret_box(secret))?;
    }

    let target = client.target();
    let done = format!(
        "key {} ({}) was {made} {} and its secret is printed above",
        output::printable(&created.key.name),
        created.key.id,
        target.describe()
    );
    // From here on the key exists: an interrupt says so, and exits 7, never 130 ("nothing was
    // done").
    crate::cli::note_done(CliFailure::NotStored(format!(
        "{done}, but it was not stored in the OS keyring; copy it now"
    )));
    let wanted = match store {
        Some(choice) => choice,
        // No question whose yes cannot work: without a keyring, say why nothing is offered.
        None if ctx.can_prompt() => match Keyring::open() {
            Ok(_) => {
                match prompt::confirm("Store this secret in the OS keyring on this machine?", true)
                {
                    Ok(answer) => answer,
                    // Escape or Ctrl-C here cancels the offer, not the change: the key exists.
                    Err(e) if prompt::cancelled(&e) => {
                        return Err(CliFailure::NotStored(format!(
                            "{done}, but the keyring offer was cancelled, so it was not stored; copy it now"
                        ))
                        .into());
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => {
                ctx.say(&format!("Not offering to store it: {e}. Copy it now."));
                false
            }
        },
        None => false,
    };
    let profile = keyring_profile(ctx, target);
    if !wanted {
        if Index::load()?.find(&profile, &created.key.id).is_some() {
            ctx.warn(&format!(
                "the OS keyring still holds this key's previous secret; `keyward secrets delete {}` removes it",
                created.key.id
            ));
        }
        return Ok(());
    }
    let stored = store_secret(
        &profile,
        created.key.id.as_str(),
        &created.key.name,
        secret,
        target,
    );
    match stored {
        Ok(ring) => {
            // Stored: "not stored" is no longer true.
            crate::cli::clear_done();
            ctx.say(&format!(
                "Stored in the {} as keyward/{}; `keyward secrets get {}` prints it.",
                ring.name(),
                keyring::secret_user(&profile, &created.key.id),
                created.key.name
            ));
            if let Some(caveat) = ring.caveat() {
                ctx.warn(&format!(
                    "{caveat}. Keep a copy of the secret where it lasts, or use a Secret Service (README: \"OS keyring\")"
                ));
            }
            Ok(())
        }
        // Asked for explicitly: not storing it is a failure of its own (exit 7), distinct from
        // "nothing happened", since the key exists and its secret was printed.
        Err(e) if store == Some(true) => Err(CliFailure::NotStored(format!(
            "{done}, but --store could not keep it: {e:#}; copy the secret now"
        ))
        .into()),
        Err(e) => {
            ctx.warn(&format!(
                "the secret was not stored: {e:#}. It is shown above; copy it now."
            ));
            Ok(())
        }
    }
}

fn store_secret(
    profile: &str,
    key_id: &str,
    name: &str,
    secret: &str,
    target: &Target,
) -> anyhow::Result<Keyring> {
    let ring = Keyring::open()?;
    ring.set(&keyring::secret_user(profile, key_id), secret)?;
    let (mut index, _lock) = Index::load_for_update()?;
    index.upsert(StoredSecret {
        profile: profile.to_owned(),
        key_id: key_id.to_owned(),
        name: name.to_owned(),
        origin: match target {
            Target::Remote { url, .. } => url.clone(),
            Target::Local { path, .. } => path.display().to_string(),
        },
        stored_at: jiff::Timestamp::now(),
        keyring: Some(ring.kind().to_owned()),
    });
    index
        .save()
        .context("stored in the keyring, but the secrets index could not be written")?;
    Ok(ring)
}
