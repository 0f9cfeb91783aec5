//! Prompts, only ever on a terminal. `can_prompt` is the one place that decides.

use std::io::IsTerminal;

use dialoguer::{Confirm, FuzzySelect, Input, MultiSelect, Password, Select};

use super::CliFailure;
use crate::env_vars;

/// Prompts are allowed when stdin and stderr are terminals and `CI` is not set.
pub fn can_prompt() -> bool {
    let ci = std::env::var_os(env_vars::CI).is_some_and(|v| !v.is_empty() && v != "false");
    !ci && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A prompt's error. The terminal is raw while a prompt reads keys, so Ctrl-C arrives as a key
/// and dialoguer reports it as an interrupted read: that is the user cancelling, as with Escape
/// (exit 130), not a failure.
fn aborted(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        // The prompt hid the cursor and, leaving by an error, did not show it again.
        let _ = console::Term::stderr().show_cursor();
        return CliFailure::Cancelled.into();
    }
    anyhow::Error::new(e).context("prompt aborted")
}

pub fn input(prompt: &str) -> anyhow::Result<String> {
    Input::<String>::new()
        .with_prompt(prompt)
        .interact_text()
        .map_err(aborted)
}

/// Asks for `expected` (a key's name) typed back, as GitHub asks before deleting a repository,
/// so that a key pressed by habit cannot confirm. Anything else is an error of its own (exit 11)
/// saying that nothing was done: `not_done` says what ("revoked").
pub fn type_back(prompt: &str, expected: &str, not_done: &str) -> anyhow::Result<()> {
    let typed = input(prompt)?;
    if typed.trim() != expected {
        return Err(CliFailure::NotConfirmed(format!(
            "the name typed does not match \"{}\"; nothing {not_done}",
            crate::output::printable(expected)
        ))
        .into());
    }
    Ok(())
}

/// Whether `error` is a prompt the user cancelled (Escape, or Ctrl-C while it read keys).
pub fn cancelled(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<CliFailure>(),
        Some(CliFailure::Cancelled)
    )
}

/// A line of text with a default that Enter accepts (and an empty answer allowed when the
/// default is empty).
pub fn input_or(prompt: &str, default: &str) -> anyhow::Result<String> {
    Input::<String>::new()
        .with_prompt(prompt)
        .default(default.to_owned())
        .allow_empty(default.is_empty())
        .show_default(!default.is_empty())
        .interact_text()
        .map_err(aborted)
}

/// One of `items`; Escape cancels.
pub fn select(prompt: &str, items: &[String], default: usize) -> anyhow::Result<usize> {
    Select::new()
        .with_prompt(prompt)
        .items(items)
        .default(default)
        .interact_opt()
        .map_err(aborted)?
        .ok_or_else(|| CliFailure::Cancelled.into())
}

/// Any of `items` (Space to mark, Enter to accept); Escape cancels.
pub fn select_many(prompt: &str, items: &[String]) -> anyhow::Result<Vec<usize>> {
    let shown: Vec<String> = items
        .iter()
        .map(|i| crate::output::printable(i).into_owned())
        .collect();
    MultiSelect::new()
        .with_prompt(format!("{prompt} (Space marks, Enter accepts)"))
        .items(&shown)
        .interact_opt()
        .map_err(aborted)?
        .ok_or_else(|| CliFailure::Cancelled.into())
}

/// A hidden prompt: what is typed is not echoed.
pub fn password(prompt: &str) -> anyhow::Result<String> {
    Password::new()
        .with_prompt(prompt)
        .interact()
        .map_err(aborted)
}

/// A yes/no question; Escape cancels. A question wider than the terminal is shown on lines of its
/// own first and asked short, since a prompt that wraps is drawn twice when it is redrawn.
pub fn confirm(prompt: &str, default: bool) -> anyhow::Result<bool> {
    let width = usize::from(console::Term::stderr().size().1);
    let asked = if prompt.chars().count() + 8 > width {
        eprintln!("{}", crate::output::printable_text(prompt));
        "Go ahead?"
    } else {
        prompt
    };
    Confirm::new()
        .with_prompt(asked)
        .default(default)
        .interact_opt()
        .map_err(aborted)?
        .ok_or_else(|| CliFailure::Cancelled.into())
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
        .interact_opt()
        .map_err(aborted)?
        .ok_or_else(|| CliFailure::Cancelled.into())
}
