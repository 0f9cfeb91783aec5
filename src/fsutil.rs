//! Files and directories that hold private material: created owner-only from the start, never
//! widened later.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` (and parents) with mode 0700 on Unix.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// [`create_private_dir`], and a directory that already existed with a looser mode (group or
/// others may read, write or enter it) is tightened to 0700: the CLI's config and data
/// directories hold profiles, the secrets index and the local store.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    create_private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Creates (or truncates) `path` with mode 0600 on Unix.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // A file that already existed keeps its old mode; tighten it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Writes `contents` to `path` through a private temporary file and a rename, so a crash never
/// leaves a half-written file behind. The temporary file's name is this write's own (process
/// id and random digits) and is created new, never opened if it exists: two commands saving
/// the same file at once each rename a whole file of their own, and neither writes into, nor
/// renames, the other's.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let (tmp, mut file) = create_temp_beside(path)?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A new private file beside `path`, named `.<file name>.<pid>.<random>.tmp`.
fn create_temp_beside(path: &Path) -> io::Result<(std::path::PathBuf, File)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a file path is needed"))?
        .to_string_lossy()
        .into_owned();
    let mut attempts = 0;
    loop {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = path.with_file_name(format!(
            ".{name}.{}.{:016x}.tmp",
            std::process::id(),
            u64::from_le_bytes(random)
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// An exclusive lock on the file at `path` (by a `.<name>.lock` beside it), held until dropped:
/// a read, change and save of that file under it never loses another command's change made at
/// the same time (two logins to different profiles). Advisory, Unix only.
pub struct FileLock {
    _file: File,
}

/// Waits for, and takes, the lock of `path` (see [`FileLock`]).
pub fn lock(path: &Path) -> io::Result<FileLock> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a file path is needed"))?
        .to_string_lossy()
        .into_owned();
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path.with_file_name(format!(".{name}.lock")))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: flock on a descriptor this function owns (open until `file` drops).
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    Ok(FileLock { _file: file })
}
