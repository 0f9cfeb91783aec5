//! keyward's integration tests: one binary, real parts (a real server on loopback, real SQLite
//! files, the real OS keyring, the real `keyward` binary).

mod bad_input;
mod byo;
mod canary;
mod concurrency;
mod e2e;
mod edit;
mod escalation;
mod expiry;
mod generated;
mod harness;
mod idempotency;
mod keyring;
mod lifecycle;
mod listing;
mod live;
mod no_terminal;
mod output;
mod problems;
mod pty;
mod scoping;
mod scripts;
mod snapshots;
mod startup;
mod verify;
