//! keyward's integration tests: one binary, real parts (a real server on loopback, real SQLite
//! files, the real OS keyring, the real `keyward` binary).

mod bad_input;
mod canary;
mod e2e;
mod generated;
mod harness;
mod keyring;
mod no_terminal;
mod output;
mod pty;
