//! `keyward login`: check a private key's id and secret against a server, keep the secret in the
//! OS keyring and the URL and client id in a profile.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::Args;

use super::ctx::{check_url, env_secret};
use super::{Ctx, UsageError, prompt};
use crate::client::{Client, ClientError, Credentials, Target};
use crate::config::Profile;
use crate::env_vars;
use crate::keyring::{self, Keyring};
use crate::secret::{self, Secret};

#[derive(Debug, Args)]
#[command(after_help = "\
The secret is read from KEYWARD_CLIENT_SECRET, else from a hidden prompt on a terminal, else from
the first line of standard input. It is never taken as an argument.

Example:
  keyward login --url https://keyward.example.com --client-id key_4fT9...")]
pub struct LoginArgs {
    /// The private key's id (its OAuth client id)
    #[arg(long, env = env_vars::KEYWARD_CLIENT_ID, value_name = "ID", hide_env_values = true)]
    pub client_id: Option<String>,
}

pub async fn run(ctx: &Ctx, args: LoginArgs) -> anyhow::Result<()> {
    if ctx.profile == crate::config::LOCAL_PROFILE || ctx.global.local {
        return Err(super::UsageError(
            "`local` is the embedded store, which needs no login; pick another --profile"
                .to_owned(),
        )
        .into());
    }
    let url = match ctx.server_url() {
        Some(url) => url,
        None if ctx.can_prompt() => prompt::input("Server URL")?
            .trim()
            .trim_end_matches('/')
            .to_owned(),
        None => {
            return Err(UsageError(
                "keyward login needs --url (or KEYWARD_URL): the server to log in to".to_owned(),
            )
            .into());
        }
    };
    check_url(&url, ctx.global.insecure_http)?;
    let client_id = match args.client_id.filter(|s| !s.is_empty()) {
        Some(id) => id,
        None if ctx.can_prompt() => prompt::input("Client id (the key's id)")?.trim().to_owned(),
        None => {
            return Err(UsageError(
                "keyward login needs --client-id (or KEYWARD_CLIENT_ID): the id of a private key"
                    .to_owned(),
            )
            .into());
        }
    };
    let secret = read_secret(ctx, &url)?;
    if secret.expose().starts_with("kw_") {
        secret::check_format(secret.expose())
            .map_err(|e| UsageError(format!("that client secret is not valid: {e}")))?;
    }

    let credentials = Credentials {
        client_id: client_id.clone(),
        client_secret: secret,
    };
    let client = Client::new(
        Target::Remote {
            url: url.clone(),
            ca_certs: ctx.ca_certs()?,
        },
        None,
    );
    let token = match client.token(&credentials).await {
        Ok(t) => t,
        Err(ClientError::Api { status: 401, .. }) => {
            return Err(ClientError::Api {
                status: 401,
                code: "invalid_client".to_owned(),
                detail: format!("login refused by {url}: unknown client id or wrong client secret"),
            }
            .into());
        }
        Err(e) => return Err(e.for_login(&credentials.client_id).into()),
    };

    let ring = Keyring::open().context(
        "keyward login keeps the secret in the OS keyring, and none works here; \
         without one, set KEYWARD_URL, KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET instead",
    )?;
    ring.set(
        &keyring::secret_user(&ctx.profile, &client_id),
        credentials.client_secret.expose(),
    )
    .context("cannot store the login secret in the OS keyring")?;
    super::token_cache::TokenCache::new(
        Some(ring.clone()),
        keyring::token_user(&ctx.profile, &client_id),
        &url,
        &credentials,
    )
    .put(&token.access_token, token.expires_in);

    // Read again under the lock: another login may have saved a profile since this one began.
    let (mut config, _lock) = crate::config::Config::load_for_update()?;
    config.profiles.insert(
        ctx.profile.clone(),
        Profile {
            url: url.clone(),
            client_id: Some(client_id.clone()),
            // The path is kept, not the certificate: a renewed CA file is read there again.
            ca_cert: match &ctx.global.ca_cert {
                Some(path) => Some(std::path::absolute(path).unwrap_or_else(|_| path.clone())),
                None => config
                    .profiles
                    .get(&ctx.profile)
                    .and_then(|p| p.ca_cert.clone()),
            },
        },
    );
    let path = config.save()?;
    ctx.say(&format!(
        "Logged in to {url} as {client_id} (profile {:?}, saved in {}; secret kept in the {})",
        ctx.profile,
        path.display(),
        ring.name()
    ));
    if let Some(caveat) = ring.caveat() {
        ctx.warn(&format!(
            "{caveat}. Then `keyward login` again, or use a Secret Service (README: \"OS keyring\")"
        ));
    }
    Ok(())
}

/// KEYWARD_CLIENT_SECRET, a hidden prompt on a terminal (naming the server it goes to: a
/// KEYWARD_URL set by someone else is seen before the secret is typed), or the first line of
/// stdin.
fn read_secret(ctx: &Ctx, url: &str) -> anyhow::Result<Secret> {
    if let Some(s) = env_secret() {
        return Ok(s);
    }
    if ctx.can_prompt() {
        return Ok(Secret::new(
            prompt::password(&format!("Client secret (sent to {url})"))?
                .trim()
                .to_owned(),
        ));
    }
    if std::io::stdin().is_terminal() {
        return Err(UsageError(
            "no client secret: set KEYWARD_CLIENT_SECRET or pipe the secret on standard input"
                .to_owned(),
        )
        .into());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the client secret from standard input")?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        return Err(UsageError(
            "no client secret on standard input: pipe it in, or set KEYWARD_CLIENT_SECRET"
                .to_owned(),
        )
        .into());
    }
    Ok(Secret::new(line))
}
