//! `keyward keys create`.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::expiry::ExpiryArgs;
use super::meta::CreateOwnerMeta;
use super::{SecretSource, reveal_secret};
use crate::api::{CreateKey, KeyType};
use crate::cli::{Ctx, UsageError, prompt};
use crate::secret::{self, Secret};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  keyward keys create --name ci-deploy --env production --permission orders:read
  keyward keys create --name web --type public --expires-in 90d --no-store
  keyward keys create --name acme-prod --owner cus_123 --meta plan=pro --meta seats:=5
  keyward keys create --name metered --credits 1000 --refill 1000/month@1
  SECRET=$(keyward keys create --name ci -q --no-store)
  openssl rand -base64 48 | keyward keys create --name imported --secret-stdin

A brought secret (--secret-stdin, --secret-file) must be at least 32 characters with about 128
bits of entropy; one that starts with kw_ must be a valid keyward secret. It is never shown back.")]
pub struct CreateArgs {
    /// Name, unique among keys that are not revoked (asked for on a terminal)
    #[arg(long)]
    pub name: Option<String>,

    /// What the key is for [default: none]
    #[arg(long, default_value = "", hide_default_value = true)]
    pub description: String,

    /// private: server-side, may get access tokens; public: only public-safe permissions
    #[arg(long = "type", value_enum, default_value_t = KeyType::Private)]
    pub key_type: KeyType,

    /// Environment the key belongs to (repeatable); default: your only one
    #[arg(long = "env", value_name = "ENV", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub environments: Vec<String>,

    /// Permission to grant (repeatable); default: none, a key that only authenticates
    #[arg(long = "permission", value_name = "PERMISSION", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::permission_names))]
    pub permissions: Vec<String>,

    /// Allow use only from this IPv4/IPv6 CIDR (repeatable); default: any address
    #[arg(long = "allow-ip", value_name = "CIDR")]
    pub allowed_ips: Vec<String>,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    #[command(flatten)]
    pub owner_meta: CreateOwnerMeta,

    /// A balance of credits: each verify spends its cost (default 1); none left answers USAGE_EXCEEDED
    #[arg(long, value_name = "N")]
    pub credits: Option<u64>,

    /// Set the credits to AMOUNT every day or month: AMOUNT/day, AMOUNT/month, AMOUNT/month@DAY
    #[arg(long, value_name = "AMOUNT/INTERVAL", value_parser = |s: &str| super::credits::parse_refill(s).map_err(|e| e.0))]
    pub refill: Option<crate::api::Refill>,

    /// A named rate limit verify enforces (repeatable): NAME=LIMIT/WINDOW, e.g. requests=100/1m
    #[arg(long = "ratelimit", value_name = "NAME=LIMIT/WINDOW", value_parser = |s: &str| super::ratelimits::parse(s).map_err(|e| e.0))]
    pub ratelimits: Vec<crate::api::RateLimit>,

    /// Use the secret on standard input instead of generating one
    #[arg(long, conflicts_with = "secret_file")]
    pub secret_stdin: bool,

    /// Use the secret in this file instead of generating one
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Store the secret in the OS keyring without asking
    #[arg(long, conflicts_with = "no_store")]
    pub store: bool,

    /// Do not store the secret and do not ask
    #[arg(long)]
    pub no_store: bool,
}

impl CreateArgs {
    /// `--store` / `--no-store`: the keyring offer answered in advance, or not.
    fn store_choice(&self) -> Option<bool> {
        match (self.store, self.no_store) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// The environment the embedded store starts with, used when `--env` is left out.
const LOCAL_DEFAULT_ENVIRONMENT: &str = "default";

pub async fn run(ctx: &Ctx, args: CreateArgs) -> anyhow::Result<()> {
    let store = args.store_choice();
    let expires_at = args.expiry.resolve()?;
    let meta = args.owner_meta.meta()?;
    let brought = brought_secret(&args)?;
    if args.name.is_none() && ctx.can_prompt() {
        return run_wizard(ctx, args, brought, meta).await;
    }
    let name = match args.name {
        Some(n) => n,
        None => {
            return Err(UsageError(
                "keys create needs --name: a name for the key, unique among keys that are not revoked"
                    .to_owned(),
            )
            .into());
        }
    };
    let client = ctx.client().await?;
    let mut environments: BTreeSet<String> = args.environments.into_iter().collect();
    // The local store's first key needs no --env, however many environments it has since
    // grown: its `default` one is used.
    let local = matches!(client.target(), crate::client::Target::Local { .. });
    if environments.is_empty()
        && local
        && client
            .environments()
            .await?
            .iter()
            .any(|e| e.name == LOCAL_DEFAULT_ENVIRONMENT)
    {
        environments.insert(LOCAL_DEFAULT_ENVIRONMENT.to_owned());
    }
    if environments.is_empty() && ctx.can_prompt() {
        let reachable = client.environments().await?;
        if reachable.len() > 1 {
            let names: Vec<String> = reachable.into_iter().map(|e| e.name).collect();
            let i = prompt::pick("Environment", &names)?;
            environments.insert(names[i].clone());
        }
    }
    let source = if brought.is_some() {
        SecretSource::Brought
    } else {
        SecretSource::Generated
    };
    let request = CreateKey {
        name,
        description: args.description,
        owner: args.owner_meta.owner,
        meta,
        credits: args.credits,
        refill: args.refill,
        ratelimits: args.ratelimits,
        key_type: Some(args.key_type),
        environments,
        permissions: args.permissions.into_iter().collect(),
        allowed_ips: args.allowed_ips,
        expires_at: expires_at.at,
        expires_in_seconds: expires_at.in_seconds,
        secret: brought,
    };
    create_and_reveal(ctx, client, request, source, store).await
}

/// Creates the key and shows its secret once (with the keyring offer).
async fn create_and_reveal(
    ctx: &Ctx,
    client: &crate::client::Client,
    request: CreateKey,
    source: SecretSource,
    store: Option<bool>,
) -> anyhow::Result<()> {
    // One Idempotency-Key per invocation: the client's own retries never mint two keys.
    let idempotency_key = format!("kwcli_{}", secret::random_base62(24));
    crate::cli::note_in_flight(
        "the new key",
        "`keyward keys list --name NAME` tells; if it exists, its secret cannot be shown again: `keyward keys rotate` gives it a new one",
    );
    let created = match client.create_key(&request, &idempotency_key).await {
        Ok(created) => created,
        Err(e) => {
            let envs: Vec<String> = request.environments.iter().cloned().collect();
            let perms: Vec<String> = request.permissions.iter().cloned().collect();
            return Err(super::name_the_unknown(
                client,
                e,
                &super::Flags::default(),
                &envs,
                &perms,
                &request.allowed_ips,
            )
            .await);
        }
    };
    reveal_secret(ctx, client, &created, source, store, "created").await?;
    ctx.say(&format!(
        "Created key {} ({}) {}.",
        created.key.name,
        created.key.id,
        client.target().describe()
    ));
    Ok(())
}

/// On a terminal without --name: the wizard asks for everything, then creates the key.
async fn run_wizard(
    ctx: &Ctx,
    args: CreateArgs,
    brought: Option<Secret>,
    meta: Option<crate::api::Meta>,
) -> anyhow::Result<()> {
    let store = args.store_choice();
    let client = ctx.client().await?;
    let Some(answers) = super::wizard::ask(ctx, client).await? else {
        ctx.say("Nothing created.");
        return Ok(());
    };
    let source = if brought.is_some() {
        SecretSource::Brought
    } else {
        SecretSource::Generated
    };
    let request = CreateKey {
        name: answers.name,
        description: args.description,
        owner: args.owner_meta.owner,
        meta,
        credits: args.credits,
        refill: args.refill,
        ratelimits: args.ratelimits,
        key_type: Some(answers.key_type),
        environments: answers.environments,
        permissions: answers.permissions,
        allowed_ips: answers.allowed_ips,
        expires_at: None,
        expires_in_seconds: Some(answers.expires_in_seconds),
        secret: brought,
    };
    create_and_reveal(ctx, client, request, source, store).await
}

/// The secret from `--secret-stdin` or `--secret-file`, checked here so a weak one is refused
/// before anything is sent.
fn brought_secret(args: &CreateArgs) -> anyhow::Result<Option<Secret>> {
    let text = if args.secret_stdin && std::io::stdin().is_terminal() {
        // Typed at a terminal: hidden, never echoed.
        crate::cli::prompt::password("Secret to use")?
    } else if args.secret_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the secret from standard input")?;
        s
    } else if let Some(path) = &args.secret_file {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secret file {}", path.display()))?
    } else {
        return Ok(None);
    };
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    let flag = if args.secret_stdin {
        "--secret-stdin"
    } else {
        "--secret-file"
    };
    secret::check_brought(&text).map_err(|why| UsageError(format!("{flag}: {why}")))?;
    Ok(Some(Secret::new(text)))
}
