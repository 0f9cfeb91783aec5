//! Prompts, only ever on a terminal. `can_prompt` is the one place that decides.

use std::io::IsTerminal;

use anyhow::Context;
use dialoguer::{Confirm, FuzzySelect, Input, Password};

use crate::env_vars;

/// Prompts are allowed when stdin and stderr are terminals and `CI` is not set.
pub fn can_prompt() -> bool {
    let ci = std::env::var_os(env_vars::CI).is_some_and(|v| !v.is_empty() && v != "false");
    !ci && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub fn input(prompt: &str) -> anyhow::Result<String> {
    Input::<String>::new()
        .with_prompt(prompt)
        .interact_text()
        .context("prompt aborted")
}

/// A hidden prompt: what is typed is not echoed.
pub fn password(prompt: &str) -> anyhow::Result<String> {
    Password::new()
        .with_prompt(prompt)
        .interact()
        .context("prompt aborted")
}

pub fn confirm(prompt: &str, default: bool) -> anyhow::Result<bool> {
    Confirm::new()
        .with_prompt(prompt)
        .default(default)
        .interact()
        .context("prompt aborted")
}

/// Picks one of `items` by fuzzy search; returns its index.
pub fn pick(prompt: &str, items: &[String]) -> anyhow::Result<usize> {
    let shown: Vec<String> = items
        .iter()
        .map(|i| crate::output::printable(i).into_owned())
        .collect();
    FuzzySelect::new()
        .with_prompt(prompt)
        .items(&shown)
        .default(0)
        .interact()
        .context("prompt aborted")
}
