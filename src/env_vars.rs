//! Every environment variable keyward reads, in one place.

pub const KEYWARD_URL: &str = "KEYWARD_URL";
pub const KEYWARD_PROFILE: &str = "KEYWARD_PROFILE";
pub const KEYWARD_CLIENT_ID: &str = "KEYWARD_CLIENT_ID";
pub const KEYWARD_CLIENT_SECRET: &str = "KEYWARD_CLIENT_SECRET";
pub const KEYWARD_OUTPUT: &str = "KEYWARD_OUTPUT";
/// A PEM file of CA certificates to trust for https:// servers, besides the system's.
pub const KEYWARD_CA_CERT: &str = "KEYWARD_CA_CERT";
/// Set (to anything but empty, `0` or `false`): use the embedded local store whatever the profile.
pub const KEYWARD_LOCAL: &str = "KEYWARD_LOCAL";
/// Which OS keyring to use: `auto` (default), `secret-service` or `keyutils`.
pub const KEYWARD_KEYRING: &str = "KEYWARD_KEYRING";
/// `off`: credentials given in the environment keep no access token between commands (each
/// command makes its own exchange), for runners where jobs of different owners share a user.
pub const KEYWARD_TOKEN_CACHE: &str = "KEYWARD_TOKEN_CACHE";
/// `keyward server`: database URL, pepper file, config file, listen address.
pub const KEYWARD_DATABASE_URL: &str = "KEYWARD_DATABASE_URL";
pub const KEYWARD_PEPPER_FILE: &str = "KEYWARD_PEPPER_FILE";
pub const KEYWARD_SERVER_CONFIG: &str = "KEYWARD_SERVER_CONFIG";
pub const KEYWARD_LISTEN: &str = "KEYWARD_LISTEN";
/// `keyward server`: the metrics listener, the TLS files, the shutdown deadline (seconds).
pub const KEYWARD_METRICS_LISTEN: &str = "KEYWARD_METRICS_LISTEN";
pub const KEYWARD_METRICS_TOKEN_FILE: &str = "KEYWARD_METRICS_TOKEN_FILE";
pub const KEYWARD_TLS_CERT: &str = "KEYWARD_TLS_CERT";
pub const KEYWARD_TLS_KEY: &str = "KEYWARD_TLS_KEY";
pub const KEYWARD_SHUTDOWN_TIMEOUT: &str = "KEYWARD_SHUTDOWN_TIMEOUT";
/// Where systemd puts a unit's credentials (`LoadCredential=pepper:…`): the server reads its
/// pepper there when no pepper file is named.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";
/// Log filter (tracing-subscriber `EnvFilter` syntax), e.g. `keyward=debug`.
pub const KEYWARD_LOG: &str = "KEYWARD_LOG";
pub const NO_COLOR: &str = "NO_COLOR";
/// Set by the shell completion scripts in completions/ when they ask keyward for candidates.
pub const KEYWARD_COMPLETE: &str = "KEYWARD_COMPLETE";
pub const CI: &str = "CI";
/// Read for the local root's name in the audit log.
pub const USER: &str = "USER";
pub const LOGNAME: &str = "LOGNAME";
/// The editor of `keyward keys edit` with no flags: `VISUAL`, then `EDITOR`, then `vi`.
pub const VISUAL: &str = "VISUAL";
pub const EDITOR: &str = "EDITOR";

/// The OS user running keyward, for the audit log's `local:<user>` actor.
pub fn os_user() -> String {
    for var in [USER, LOGNAME] {
        if let Ok(name) = std::env::var(var) {
            if !name.is_empty() {
                return name;
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid-{}", meta.uid());
        }
    }
    "unknown".to_owned()
}
