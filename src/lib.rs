//! keyward: manage the API keys of your own APIs.
//!
//! One binary with three faces: the admin CLI ([`cli`]), the Keyward API server ([`server`]),
//! and the embedded local store, which is the server's own router run in-process by the
//! [`client`].

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod env_vars;
pub mod exit;
pub mod fsutil;
pub mod keyring;
pub mod output;
pub mod secret;
pub mod server;
pub mod stored;
