//! keyward's integration tests: real parts (a real server on loopback, real SQLite files, the
//! real OS keyring, the real `keyward` binary). This binary runs them on SQLite; tests/pg runs
//! the same modules again on PostgreSQL.

/// The backend every store in these tests runs on.
pub const BACKEND: harness::Backend = harness::Backend::Sqlite;

mod audit;
mod authz;
mod bad_input;
mod bound;
mod bulk;
mod byo;
mod canary;
mod ci_token;
mod concurrency;
mod conflicts;
mod connections;
mod credits;
mod deploy;
mod durability;
mod e2e;
mod edit;
mod environments;
mod escalation;
mod exit_codes;
mod expiry;
mod generated;
mod harness;
mod idempotency;
mod keyring;
mod lifecycle;
mod listing;
mod live;
mod local_files;
mod lockout;
mod metrics;
mod modules;
mod nginx;
mod no_terminal;
mod openapi;
mod output;
mod outside;
mod owner_meta;
mod pg;
mod problems;
mod pty;
mod race;
mod ratelimits;
mod replicas;
mod restrictions;
mod scoping;
mod scripts;
mod search;
mod snapshots;
mod startup;
mod tamper;
mod throttling;
mod tls;
mod verify;
mod words;
