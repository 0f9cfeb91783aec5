//! Thin: parse arguments, set up logging to stderr, run, turn the error into an exit code.

use std::io::{ErrorKind, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use keyward::cli::{self, Cli};
use keyward::{env_vars, exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A shell asking for completions (see completions/): answer and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(env_vars::KEYWARD_COMPLETE)
        .complete();
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    // `keyward server` shuts down gracefully on Ctrl-C by itself; elsewhere an interrupt must
    // not leave a prompt's hidden cursor behind.
    if !matches!(cli.command, cli::Command::Server(_)) {
        // Registered here, before any prompt can appear: a handler installed later by the task
        // itself would let an early Ctrl-C kill the process with the echo still off.
        let _guard = runtime.enter();
        match interrupts() {
            Ok(interrupt) => {
                runtime.spawn(restore_terminal_on_interrupt(interrupt));
            }
            Err(e) => tracing::debug!("cannot listen for Ctrl-C: {e}"),
        }
    }
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            // The chain may carry a server's words: shown, never obeyed by the terminal.
            eprintln!(
                "error: {}",
                keyward::output::printable_text(&format!("{e:#}"))
            );
            ExitCode::from(exit::code_for(&e))
        }
    }
}

/// On Ctrl-C: show the cursor again (a picker hides it), end the line, and exit 130, as a shell
/// does for an interrupted command (or, once something was done, say what and exit with the code
/// that says so). It runs on a worker thread, since a prompt blocks the main one.
async fn restore_terminal_on_interrupt(mut interrupt: Interrupts) {
    if interrupt.recv().await.is_none() {
        return;
    }
    restore_terminal();
    // After a change (a key created, its secret printed), "nothing was done" would be untrue.
    if let Some(done) = cli::done_so_far() {
        eprintln!(
            "interrupted: {}",
            keyward::output::printable_text(&format!("{done:#}"))
        );
        std::process::exit(i32::from(exit::code_for(&done)));
    }
    std::process::exit(i32::from(exit::INTERRUPTED));
}

/// Echo back on, the cursor shown, the line ended.
fn restore_terminal() {
    restore_echo();
    if std::io::stderr().is_terminal() {
        let mut err = std::io::stderr();
        let _ = err.write_all(b"\x1b[?25h\n");
        let _ = err.flush();
    }
}

#[cfg(unix)]
type Interrupts = tokio::signal::unix::Signal;

/// Installs the SIGINT handler at once (creating the stream registers it).
#[cfg(unix)]
fn interrupts() -> std::io::Result<Interrupts> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(not(unix))]
type Interrupts = tokio::signal::windows::CtrlC;

#[cfg(not(unix))]
fn interrupts() -> std::io::Result<Interrupts> {
    tokio::signal::windows::ctrl_c()
}

/// A hidden prompt (a secret being typed) turns the terminal's echo off; an interrupt must not
/// leave it so.
fn restore_echo() {
    #[cfg(unix)]
    if std::io::stdin().is_terminal() {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios struct they fill and read.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) == 0 {
                t.c_lflag |= libc::ECHO | libc::ICANON;
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

/// Logs go to stderr; `KEYWARD_LOG` (EnvFilter syntax) wins over `-v`.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env(env_vars::KEYWARD_LOG).unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// `keyward keys list | head` closes the pipe early; that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
    })
}
