//! One run at a time per data folder: an OS lock on `.moosync.lock` that the kernel drops when
//! the holder dies, so no stale lock ever blocks cron. Whether a run is going is read from the
//! lock itself, never from a flag that only a clean exit would clear.

use crate::filearea::FileArea;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = ".moosync.lock";

/// The lock, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another run holds it: what its lock file says (`pid 1234 since …`).
    Held(String),
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held(holder) => write!(f, "another run holds the lock ({holder})"),
            LockError::Io(path, e) => write!(f, "cannot lock {}: {e}", path.display()),
        }
    }
}

fn path(area: &FileArea) -> PathBuf {
    area.root().join(LOCK_FILE)
}

/// Takes the data folder's lock without waiting, and writes who holds it.
pub fn take(area: &FileArea) -> Result<RunLock, LockError> {
    let path = path(area);
    let io = |e| LockError::Io(path.clone(), e);
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .mode(crate::owner_only::FILE_MODE)
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match f.try_lock() {
        Ok(()) => {
            let _ = f.set_len(0);
            let _ = writeln!(
                f,
                "pid {} since {}",
                std::process::id(),
                crate::state::now_text()
            );
            Ok(RunLock { _file: f })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held(
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Who holds the lock now, as its lock file says, or `None` when no live process holds it.
/// Asked of the kernel's lock table, so asking never takes the lock, not even for an instant
/// in which a starting run would find it held.
pub fn holder(area: &FileArea) -> Option<String> {
    let path = path(area);
    let meta = std::fs::metadata(&path).ok()?;
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    held_in(&table, &meta).then(|| {
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}

/// Whether `/proc/locks` lists a lock on this file: `1: FLOCK ADVISORY WRITE 1234 fe:00:5365764 0 EOF`.
fn held_in(table: &str, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (dev, ino) = (meta.dev(), meta.ino());
    // Linux's encoding of a device number into its major and minor parts.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    table
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .any(|id| id == wanted)
}

/// Whether `path` is the lock file of its data folder.
pub fn is_lock_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_seen_while_held_and_gone_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path());
        assert!(holder(&area).is_none());
        let lock = take(&area).unwrap();
        let seen = holder(&area).expect("held");
        assert!(
            seen.starts_with(&format!("pid {} since", std::process::id())),
            "{seen}"
        );
        assert!(matches!(take(&area), Err(LockError::Held(_))));
        drop(lock);
        assert!(holder(&area).is_none());
        assert!(take(&area).is_ok());
    }
}
