//! `keyward keys verify`: asks the server about a key read from stdin, as a service would.

use std::io::{IsTerminal, Read};

use anyhow::Context;
use clap::Args;

use crate::api::{VerifyCode, VerifyRequest};
use crate::cli::{CliFailure, Ctx, UsageError, prompt};
use crate::output;
use crate::secret::Secret;

#[derive(Debug, Args)]
#[command(after_help = "\
The key is read from standard input (or a hidden prompt on a terminal), never from the command
line. Exits 0 when the answer is VALID and 10 when it is not (the code printed says why: INVALID,
EXPIRED, DISABLED, ...); another failure (the server unreachable, not allowed to verify) has
its usual exit code.

Example:
  keyward secrets get ci-deploy | keyward keys verify --permission orders:read --env production")]
pub struct VerifyArgs {
    /// The permission the service needs
    #[arg(long, value_name = "PERMISSION", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::permission_names))]
    pub permission: Option<String>,

    /// The environment the service runs in
    #[arg(long = "env", value_name = "ENV", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::environment_names))]
    pub environment: Option<String>,

    /// The address the request came from
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,

    /// Credits and rate-limit room to spend, on a key that has them (a check from here spends none unless asked)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub cost: u64,
}

pub async fn run(ctx: &Ctx, args: VerifyArgs) -> anyhow::Result<()> {
    let key = if ctx.can_prompt() {
        prompt::password("Key to verify")?
    } else if std::io::stdin().is_terminal() {
        return Err(UsageError("pipe the key to verify on standard input".to_owned()).into());
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the key from standard input")?;
        s
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(UsageError("no key on standard input".to_owned()).into());
    }
    let client = ctx.client().await?;
    let answer = client
        .verify(&VerifyRequest {
            key: Secret::new(key),
            permission: args.permission,
            environment: args.environment,
            ip: args.ip,
            cost: Some(args.cost),
        })
        .await?;
    let code = serde_json::to_value(answer.code)?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if ctx.json() {
        output::print_json(&answer)?;
    } else if ctx.quiet() {
        output::print_line(&code)?;
    } else {
        let mut rows = vec![["Code".to_owned(), code.clone()]];
        if let (Some(id), Some(name)) = (&answer.key_id, &answer.name) {
            rows.push(["Key".to_owned(), format!("{name} ({id})")]);
        }
        if let Some(limit) = &answer.ratelimit {
            let mut text = format!(
                "{}: {} of {} left, whole again {}",
                limit.name,
                limit.remaining,
                limit.limit,
                output::minute(limit.reset)
            );
            if let Some(wait) = limit.retry_after_secs {
                text.push_str(&format!("; retry in {wait} s"));
            }
            rows.push(["Rate limit".to_owned(), text]);
        }
        if let Some(credits) = &answer.credits {
            rows.push(["Credits left".to_owned(), credits.remaining.to_string()]);
        }
        if let Some(owner) = &answer.owner {
            rows.push(["Owner".to_owned(), output::printable(owner).into_owned()]);
        }
        if let Some(meta) = &answer.meta {
            rows.push([
                "Meta".to_owned(),
                output::printable(meta.as_str()).into_owned(),
            ]);
        }
        output::print_line(&output::pairs(rows))?;
    }
    if answer.code == VerifyCode::Valid {
        Ok(())
    } else {
        // Its own exit code: a script tells "the server said no" from "could not ask" (1, 6).
        Err(CliFailure::KeyNotValid(format!("the key is not valid for this use: {code}")).into())
    }
}
