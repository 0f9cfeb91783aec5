//! The OS keyring behind one small interface: macOS Keychain, Windows Credential Manager, Linux
//! Secret Service, or the Linux kernel keyring (keyutils) where no Secret Service answers.
//! There is no plaintext fallback: when no store works, callers are told so.
//!
//! Entries: service `keyward`, user `<profile>:<key id>` for a key's secret,
//! `<profile>:<key id>:token` for a login's cached access token, and `env-token:<digest>` for the
//! cached token of credentials given in the environment (see `cli::token_cache`).

use std::sync::{Arc, Mutex, OnceLock};

#[allow(unused_imports)]
use keyring_core::api::CredentialStoreApi;
use keyring_core::{CredentialStore, Entry, Error as KrError};

use crate::env_vars;

const SERVICE: &str = "keyward";

/// Why the keyring could not be used. Never carries a secret (keyring errors can carry the
/// bytes they failed to decode, so only their kind is kept).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KeyringError(String);

/// An opened OS keyring.
#[derive(Clone)]
pub struct Keyring {
    /// The stable name of its kind (`secret-service`, `keyutils`, ...), as `KEYWARD_KEYRING`
    /// takes it and the secrets index records it.
    kind: &'static str,
    name: &'static str,
    store: Store,
}

impl Keyring {
    /// Opens the platform's keyring (once per process). `KEYWARD_KEYRING` may name one.
    pub fn open() -> Result<Keyring, KeyringError> {
        static OPENED: OnceLock<Result<Keyring, KeyringError>> = OnceLock::new();
        OPENED
            .get_or_init(|| {
                let wanted = std::env::var(env_vars::KEYWARD_KEYRING).unwrap_or_default();
                run_off_runtime(move || choose_store(&wanted))
            })
            .clone()
    }

    /// Opens the keyring of this kind, whatever `KEYWARD_KEYRING` says: where the secrets index
    /// recorded that a secret was stored.
    pub fn open_kind(kind: &str) -> Result<Keyring, KeyringError> {
        if let Ok(default) = Keyring::open() {
            if default.kind == kind {
                return Ok(default);
            }
        }
        // Kept for the life of the process, like the default one: a store may block on its
        // own event loop when dropped, which must not happen on the CLI's runtime.
        static OTHERS: Mutex<Vec<Keyring>> = Mutex::new(Vec::new());
        let mut others = OTHERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = others.iter().find(|k| k.kind == kind) {
            return Ok(open.clone());
        }
        let wanted = kind.to_owned();
        let opened = run_off_runtime(move || choose_store(&wanted))?;
        others.push(opened.clone());
        Ok(opened)
    }

    /// A person-readable name of the store in use.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its kind, as `KEYWARD_KEYRING` names it.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// What someone keeping a secret here must know, if anything: the kernel keyring is memory,
    /// not a disk.
    pub fn caveat(&self) -> Option<String> {
        (self.kind == "keyutils").then(kernel_keyring_caveat)
    }

    fn entry(store: &Store, user: &str) -> Result<Entry, KrError> {
        store.build(SERVICE, user, None)
    }

    pub fn set(&self, user: &str, secret: &str) -> Result<(), KeyringError> {
        let (user, secret, store) = (user.to_owned(), secret.to_owned(), self.store.clone());
        run_off_runtime(move || {
            Self::entry(&store, &user)
                .and_then(|e| e.set_password(&secret))
                .map_err(|e| describe(&e))
        })
    }

    /// The stored value, or `None` when there is no such entry.
    pub fn get(&self, user: &str) -> Result<Option<String>, KeyringError> {
        let (user, store) = (user.to_owned(), self.store.clone());
        run_off_runtime(
            move || match Self::entry(&store, &user).and_then(|e| e.get_password()) {
                Ok(s) => Ok(Some(s)),
                Err(KrError::NoEntry) => Ok(None),
                Err(e) => Err(describe(&e)),
            },
        )
    }

    /// Deletes the entry; `false` when there was none.
    pub fn delete(&self, user: &str) -> Result<bool, KeyringError> {
        let (user, store) = (user.to_owned(), self.store.clone());
        run_off_runtime(move || {
            match Self::entry(&store, &user).and_then(|e| e.delete_credential()) {
                Ok(()) => Ok(true),
                Err(KrError::NoEntry) => Ok(false),
                Err(e) => Err(describe(&e)),
            }
        })
    }
}

/// The kernel keyring keeps entries in memory: a reboot loses them, and so does the persistent
/// keyring's expiry (`persistent_keyring_expiry`, three days by default, counted from the last
/// time keyward used it) once no login session holds them.
fn kernel_keyring_caveat() -> String {
    let days = std::fs::read_to_string("/proc/sys/kernel/keys/persistent_keyring_expiry")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(3, |secs| secs.div_ceil(86_400));
    format!(
        "the Linux kernel keyring holds secrets in memory only: they do not survive a reboot, nor {days} day{} without keyward being used once you are logged out",
        if days == 1 { "" } else { "s" }
    )
}

pub fn secret_user(profile: &str, key_id: &str) -> String {
    format!("{profile}:{key_id}")
}

pub fn token_user(profile: &str, key_id: &str) -> String {
    format!("{profile}:{key_id}:token")
}

/// Keyring stores may block on their own event loops (Secret Service talks D-Bus); they run on a
/// plain thread so they never nest inside the CLI's tokio runtime.
fn run_off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("keyring thread panicked"))
}

fn describe(e: &KrError) -> KeyringError {
    let what = match e {
        KrError::PlatformFailure(p) | KrError::NoStorageAccess(p) => {
            format!("the OS keyring failed: {p}")
        }
        KrError::NoEntry => "no such keyring entry".to_owned(),
        KrError::BadEncoding(_) | KrError::BadDataFormat(..) => {
            "the keyring entry does not hold text".to_owned()
        }
        KrError::NoDefaultStore => "no OS keyring is configured".to_owned(),
        KrError::TooLong(attr, max) => format!("keyring {attr} longer than {max}"),
        KrError::Invalid(attr, why) => format!("keyring {attr} {why}"),
        _ => "the OS keyring refused the operation".to_owned(),
    };
    KeyringError(what)
}

type Store = Arc<CredentialStore>;

#[cfg(target_os = "linux")]
fn choose_store(wanted: &str) -> Result<Keyring, KeyringError> {
    match wanted {
        "secret-service" => secret_service(),
        "keyutils" => keyutils(),
        "" | "auto" => secret_service().or_else(|ss_err| {
            keyutils().map_err(|ku_err| {
                KeyringError(format!(
                    "no OS keyring works here: Secret Service: {ss_err}; kernel keyring: {ku_err}"
                ))
            })
        }),
        other => Err(unknown(other, "auto, secret-service, keyutils")),
    }
}

#[cfg(target_os = "linux")]
fn secret_service() -> Result<Keyring, KeyringError> {
    // Where D-Bus clients look when the variable is unset (a login over ssh, cron, `su`): a
    // Secret Service that answers there is preferred to the kernel keyring too.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            // SAFETY: geteuid cannot fail and touches no memory.
            .unwrap_or_else(|| format!("/run/user/{}", unsafe { libc::geteuid() }).into());
        let socket = runtime_dir.join("bus");
        if !socket.exists() {
            return Err(KeyringError(format!(
                "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, and there is no {})",
                socket.display()
            )));
        }
    }
    let store: Store = zbus_secret_service_keyring_store::Store::new().map_err(|e| describe(&e))?;
    probe(&store)?;
    Ok(Keyring {
        kind: "secret-service",
        name: "Secret Service",
        store,
    })
}

#[cfg(target_os = "linux")]
fn keyutils() -> Result<Keyring, KeyringError> {
    // A bare root shell or a container has a session keyring that refuses keyward's entries.
    let hint = |e: KeyringError| {
        KeyringError(format!(
            "{} (run keyward inside `keyctl session -`, as a login shell does, or give KEYWARD_CLIENT_ID and KEYWARD_CLIENT_SECRET in the environment instead)",
            e.0
        ))
    };
    let store: Store = linux_keyutils_keyring_store::Store::new()
        .map_err(|e| describe(&e))
        .map_err(hint)?;
    probe(&store).map_err(hint)?;
    Ok(Keyring {
        kind: "keyutils",
        name: "Linux kernel keyring",
        store,
    })
}

#[cfg(target_os = "macos")]
fn choose_store(wanted: &str) -> Result<Keyring, KeyringError> {
    match wanted {
        "" | "auto" | "keychain" => {
            let store: Store =
                apple_native_keyring_store::keychain::Store::new().map_err(|e| describe(&e))?;
            Ok(Keyring {
                kind: "keychain",
                name: "macOS Keychain",
                store,
            })
        }
        other => Err(unknown(other, "auto, keychain")),
    }
}

#[cfg(target_os = "windows")]
fn choose_store(wanted: &str) -> Result<Keyring, KeyringError> {
    match wanted {
        "" | "auto" | "windows" => {
            let store: Store =
                windows_native_keyring_store::Store::new().map_err(|e| describe(&e))?;
            Ok(Keyring {
                kind: "windows",
                name: "Windows Credential Manager",
                store,
            })
        }
        other => Err(unknown(other, "auto, windows")),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn choose_store(_wanted: &str) -> Result<Keyring, KeyringError> {
    Err(KeyringError(
        "keyward knows no OS keyring on this platform".to_owned(),
    ))
}

/// What `KEYWARD_KEYRING` may say on this platform.
#[cfg(target_os = "linux")]
const CHOICES: &str = "auto, secret-service, keyutils";
#[cfg(target_os = "macos")]
const CHOICES: &str = "auto, keychain";
#[cfg(target_os = "windows")]
const CHOICES: &str = "auto, windows";
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
const CHOICES: &str = "auto";

/// A `KEYWARD_KEYRING` that names no keyring keyward knows here, said in the user's words (a
/// usage error before anything runs, rather than a keyring that quietly does not work).
pub fn unknown_choice() -> Option<String> {
    let wanted = std::env::var(env_vars::KEYWARD_KEYRING).ok()?;
    let known = wanted.is_empty() || CHOICES.split(", ").any(|c| c == wanted);
    (!known).then(|| unknown(&wanted, CHOICES).0)
}

#[allow(dead_code)]
fn unknown(value: &str, valid: &str) -> KeyringError {
    KeyringError(format!(
        "{}={value:?} is not a keyring keyward knows; use one of: {valid}",
        env_vars::KEYWARD_KEYRING
    ))
}

/// A store can be created and still not work (a locked or absent Secret Service, a session
/// keyring that refuses writes): write and delete a probe entry to find out now rather than
/// mid-command.
#[cfg(target_os = "linux")]
fn probe(store: &Store) -> Result<(), KeyringError> {
    let entry = store
        .build(SERVICE, "keyward-probe", None)
        .map_err(|e| describe(&e))?;
    entry.set_password("probe").map_err(|e| describe(&e))?;
    match entry.delete_credential() {
        Ok(()) | Err(KrError::NoEntry) => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}
