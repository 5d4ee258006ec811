//! The two lock files of tool_sync's feed protocol, in the drop folder: `alock.txt`, which the
//! sender holds while it writes, and `lock.txt`, which moosync holds while it captures.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const SENDER_LOCK: &str = "alock.txt";
pub const CAPTURE_LOCK: &str = "lock.txt";

/// What a lock path holds.
#[derive(Debug)]
pub enum Lock {
    Absent,
    /// A file, with its age by modification time.
    File {
        age: Duration,
        text: String,
    },
    /// Something that cannot be a lock file (a directory): the protocol is broken.
    NotAFile,
}

pub fn inspect(path: &Path, now: SystemTime) -> io::Result<Lock> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Lock::Absent),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Ok(Lock::NotAFile);
    }
    let age = meta
        .modified()
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default();
    let text = fs::read_to_string(path).unwrap_or_default();
    Ok(Lock::File { age, text })
}

/// The pid a moosync lock file names: `moosync pid 1234 …`.
pub fn pid_in(text: &str) -> Option<u32> {
    let rest = text.split("pid ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Whether `pid` is a live moosync. A pid that is gone, or reused by another program, leaves
/// its lock stale. Without /proc (not Linux) a live pid is taken at its word.
pub fn is_live_moosync(pid: u32) -> bool {
    let proc_dir = PathBuf::from("/proc").join(pid.to_string());
    if !Path::new("/proc/self").exists() {
        return true;
    }
    match fs::read_to_string(proc_dir.join("comm")) {
        Ok(comm) => comm.trim().starts_with("moosync"),
        Err(_) => false,
    }
}

/// Takes `lock.txt`: created new (never over another one), holding our pid and start time.
pub fn take_capture_lock(dir: &Path) -> io::Result<CaptureLock> {
    let path = dir.join(CAPTURE_LOCK);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    writeln!(
        f,
        "moosync pid {} started {} on {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
        crate::mail::hostname()
    )?;
    f.sync_all()?;
    Ok(CaptureLock { path })
}

/// Held while capturing; removed when dropped, so an early return never leaves it behind.
pub struct CaptureLock {
    path: PathBuf,
}

impl Drop for CaptureLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// "3 h 12 min", "45 min", "20 s".
pub fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_ages() {
        assert_eq!(pid_in("moosync pid 4242 started x"), Some(4242));
        assert_eq!(pid_in("1795610920"), None);
        assert_eq!(
            age_text(Duration::from_secs(3 * 3600 + 12 * 60)),
            "3 h 12 min"
        );
        assert_eq!(age_text(Duration::from_secs(45 * 60)), "45 min");
    }

    #[test]
    fn a_dead_pid_or_another_program_is_no_live_moosync() {
        // The unit-test binary is named moosync-<hash>.
        assert!(is_live_moosync(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_live_moosync(pid), "a pid that is gone");
        let mut sleeper = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(
            !is_live_moosync(sleeper.id()),
            "a live pid of another program"
        );
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn the_capture_lock_is_exclusive_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = take_capture_lock(dir.path()).unwrap();
        assert!(take_capture_lock(dir.path()).is_err(), "never taken twice");
        let text = fs::read_to_string(dir.path().join(CAPTURE_LOCK)).unwrap();
        assert_eq!(pid_in(&text), Some(std::process::id()));
        drop(held);
        assert!(!dir.path().join(CAPTURE_LOCK).exists());
    }
}
