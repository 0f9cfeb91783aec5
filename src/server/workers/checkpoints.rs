//! Audit checkpoints: every `audit_checkpoint_every`, the audit log's head (`ID:LINK`, as
//! `keyward audit checkpoint` prints it) is appended to `audit_checkpoint_file` with the time,
//! when it moved. Kept outside the database (another disk, a log shipper), a checkpoint lets
//! `keyward audit verify --checkpoint` detect that the newest events were removed.

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::watch;

use crate::server::SharedState;
use crate::server::store::Checkpoint;

pub async fn run(state: SharedState, file: PathBuf, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.timing.audit_checkpoint_every);
    let mut last: Option<Checkpoint> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match state.store.audit_head().await {
            Ok(Some(head)) if last.as_ref() != Some(&head) => {
                let line = format!("{} {head}\n", state.now());
                match append(&file, &line) {
                    Ok(()) => last = Some(head),
                    Err(e) => tracing::warn!(
                        error = %e,
                        file = %file.display(),
                        "could not append the audit checkpoint"
                    ),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the audit log's head"),
        }
    }
}

/// Appends `line`, creating the file private to its owner.
fn append(file: &std::path::Path, line: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(line.as_bytes())
}
