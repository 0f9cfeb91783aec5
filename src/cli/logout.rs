//! `keyward logout`: the profile's secret and cached token leave the keyring, and the profile
//! leaves config.toml.

use clap::Args;

use super::Ctx;
use crate::keyring::{self, Keyring};

#[derive(Debug, Args)]
pub struct LogoutArgs {}

pub async fn run(ctx: &Ctx, _args: LogoutArgs) -> anyhow::Result<()> {
    // Credentials in the environment (CI): their kept access token leaves the keyring, so that
    // nothing a later job could read is left behind.
    let env_id = std::env::var(crate::env_vars::KEYWARD_CLIENT_ID).unwrap_or_default();
    if let (false, Some(url)) = (env_id.is_empty(), ctx.global.url.as_deref()) {
        match super::token_cache::TokenCache::forget_environment(url, &env_id) {
            Ok(true) => ctx.say(&format!(
                "Removed the access token kept for {env_id} at {url} from the OS keyring."
            )),
            Ok(false) => ctx.say(&format!("No access token is kept for {env_id} at {url}.")),
            Err(e) => ctx.warn(&format!("could not clear the OS keyring: {e:#}")),
        }
        if !ctx.config.profiles.contains_key(&ctx.profile) {
            return Ok(());
        }
    }
    let Some(profile) = ctx.config.profiles.get(&ctx.profile) else {
        ctx.say(&format!(
            "Profile {:?} is not logged in; nothing to do.",
            ctx.profile
        ));
        return Ok(());
    };
    if let Some(client_id) = &profile.client_id {
        match Keyring::open() {
            Ok(ring) => {
                ring.delete(&keyring::secret_user(&ctx.profile, client_id))?;
                ring.delete(&keyring::token_user(&ctx.profile, client_id))?;
            }
            Err(e) => ctx.warn(&format!("could not clear the OS keyring: {e}")),
        }
    }
    let url = profile.url.clone();
    let (mut config, _lock) = crate::config::Config::load_for_update()?;
    config.profiles.remove(&ctx.profile);
    if config.current.as_deref() == Some(ctx.profile.as_str()) {
        config.current = None;
    }
    config.save()?;
    // Say where the next command goes, so nobody creates a key in the wrong place.
    let next = config
        .current
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_PROFILE.to_owned());
    ctx.say(&format!(
        "Logged out of {url} (profile {:?} removed). Later commands use {}.",
        ctx.profile,
        super::profiles::describe(&config, &next)
    ));
    Ok(())
}
