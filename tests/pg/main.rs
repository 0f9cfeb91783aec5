//! The integration suite again, with every store on PostgreSQL: a throwaway cluster this run
//! starts (see tests/it/pg.rs), a database per test. The modules are tests/it's own; only the
//! help-text snapshots and the generated-files check, which touch no store, run once, there.

/// The backend every store in these tests runs on.
pub const BACKEND: harness::Backend = harness::Backend::Postgres;

#[path = "../it/audit.rs"]
mod audit;
#[path = "../it/bad_input.rs"]
mod bad_input;
#[path = "../it/bulk.rs"]
mod bulk;
#[path = "../it/byo.rs"]
mod byo;
#[path = "../it/canary.rs"]
mod canary;
#[path = "../it/ci_token.rs"]
mod ci_token;
#[path = "../it/concurrency.rs"]
mod concurrency;
#[path = "../it/conflicts.rs"]
mod conflicts;
#[path = "../it/credits.rs"]
mod credits;
#[path = "../it/deploy.rs"]
mod deploy;
#[path = "../it/durability.rs"]
mod durability;
#[path = "../it/e2e.rs"]
mod e2e;
#[path = "../it/edit.rs"]
mod edit;
#[path = "../it/environments.rs"]
mod environments;
#[path = "../it/escalation.rs"]
mod escalation;
#[path = "../it/exit_codes.rs"]
mod exit_codes;
#[path = "../it/expiry.rs"]
mod expiry;
#[path = "../it/harness.rs"]
mod harness;
#[path = "../it/idempotency.rs"]
mod idempotency;
#[path = "../it/keyring.rs"]
mod keyring;
#[path = "../it/lifecycle.rs"]
mod lifecycle;
#[path = "../it/listing.rs"]
mod listing;
#[path = "../it/live.rs"]
mod live;
#[path = "../it/lockout.rs"]
mod lockout;
#[path = "../it/metrics.rs"]
mod metrics;
#[path = "../it/no_terminal.rs"]
mod no_terminal;
#[path = "../it/output.rs"]
mod output;
#[path = "../it/outside.rs"]
mod outside;
#[path = "../it/owner_meta.rs"]
mod owner_meta;
#[path = "../it/pg.rs"]
mod pg;
#[path = "../it/problems.rs"]
mod problems;
#[path = "../it/pty.rs"]
mod pty;
#[path = "../it/race.rs"]
mod race;
#[path = "../it/ratelimits.rs"]
mod ratelimits;
#[path = "../it/replicas.rs"]
mod replicas;
#[path = "../it/restrictions.rs"]
mod restrictions;
#[path = "../it/scoping.rs"]
mod scoping;
#[path = "../it/scripts.rs"]
mod scripts;
#[path = "../it/search.rs"]
mod search;
#[path = "../it/startup.rs"]
mod startup;
#[path = "../it/tamper.rs"]
mod tamper;
#[path = "../it/throttling.rs"]
mod throttling;
#[path = "../it/verify.rs"]
mod verify;

// PostgreSQL's own: a database that goes away and comes back.
mod outage;

// Replicas through PgBouncer in transaction mode.
mod pgbouncer;

// The change feed's sequence numbers, visible out of order.
mod feed;

// Two replicas flushing last-used times for the same keys.
mod flush;

// A follower cut off, and a flood of failed exchanges: staleness stays bounded.
mod staleness;
