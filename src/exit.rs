//! The documented exit codes, and how an error chain maps to one.

use crate::cli::{CliFailure, UsageError};
use crate::client::ClientError;
use crate::server::dev::BootstrapError;

pub const SUCCESS: u8 = 0;
pub const ERROR: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_ALLOWED: u8 = 3;
pub const NOT_FOUND: u8 = 4;
pub const CONFLICT: u8 = 5;
pub const UNREACHABLE: u8 = 6;
pub const NOT_STORED: u8 = 7;
/// `keys check` found keys that need attention, or `audit verify` a broken chain.
pub const NEEDS_ATTENTION: u8 = 8;
/// A bulk change failed for some of its keys.
pub const PARTLY_FAILED: u8 = 9;
/// `keys verify`: the server answered, and the key is not valid for that use.
pub const KEY_NOT_VALID: u8 = 10;
/// A name typed back at a prompt did not match; nothing was done.
pub const NOT_CONFIRMED: u8 = 11;
/// A prompt was cancelled (Escape) or the command interrupted (Ctrl-C), as shells count it.
pub const INTERRUPTED: u8 = 130;

/// The exit code for an error: the first cause in the chain that says something decides.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<UsageError>() || cause.is::<crate::config::InvalidConfig>() {
            return USAGE;
        }
        if let Some(BootstrapError::NotEmpty) = cause.downcast_ref::<BootstrapError>() {
            return CONFLICT;
        }
        if let Some(failure) = cause.downcast_ref::<CliFailure>() {
            return match failure {
                CliFailure::NotFound(_) => NOT_FOUND,
                CliFailure::Conflict(_) => CONFLICT,
                CliFailure::NotStored(_) => NOT_STORED,
                CliFailure::Cancelled => INTERRUPTED,
                CliFailure::NeedsAttention(_) => NEEDS_ATTENTION,
                CliFailure::PartlyFailed(_) => PARTLY_FAILED,
                CliFailure::KeyNotValid(_) => KEY_NOT_VALID,
                CliFailure::NotConfirmed(_) => NOT_CONFIRMED,
                CliFailure::MaybeDone(_) => ERROR,
            };
        }
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return match e {
                ClientError::Api { status, .. } => match status {
                    400 | 422 => USAGE,
                    401 | 403 => NOT_ALLOWED,
                    404 => NOT_FOUND,
                    409 | 412 => CONFLICT,
                    // The server is up but cannot reach its database: as unreachable, for now.
                    503 => UNREACHABLE,
                    _ => ERROR,
                },
                ClientError::Unreachable { .. } => UNREACHABLE,
                ClientError::NotLoggedIn { .. } | ClientError::LoginRefused { .. } => NOT_ALLOWED,
                ClientError::Decode(_) => ERROR,
            };
        }
    }
    ERROR
}
