//! Capture: the files an external sender dropped are moved into inbox/ before a run, never a
//! file still being written, never one lost. The protocol is tool_sync's: the sender holds
//! `alock.txt` while it writes; moosync holds `lock.txt` while it moves.

use super::alarms::{self, LockAlarm};
use super::locks::{self, Lock, CAPTURE_LOCK, SENDER_LOCK};
use crate::codes::Code;
use crate::config::Config;
use crate::filearea::{self, FileArea};
use crate::state::State;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What a capture did, for the capture report, `status` and the run's output.
#[derive(Debug, Default)]
pub struct Captured {
    /// Names of the files now waiting in inbox/ (as named there).
    pub moved: Vec<String>,
    /// Things the administrator should read: a missing drop folder, a stale lock replaced, a
    /// file left behind and why, a name clash, an alarm sent or not.
    pub messages: Vec<String>,
}

/// Names the sender uses for uploads still in progress.
const PARTIAL: &[&str] = &[".filepart", ".part", ".tmp"];

pub fn capture(area: &FileArea, cfg: &Config, state: &State, now: SystemTime) -> Captured {
    let mut out = Captured::default();
    let Some(folder) = cfg.feed.drop_folder.as_deref() else {
        return out;
    };
    let drop = area.root().join(folder);
    // The drop folder inside the data folder would be captured into itself (`inbox` would
    // lose its waiting files; `.` would take the store).
    if let (Ok(d), Ok(root)) = (drop.canonicalize(), area.root().canonicalize()) {
        let own = [
            filearea::INBOX,
            filearea::REPORTS,
            filearea::ARCHIVES,
            filearea::TRYBACKS,
            filearea::REJECTED,
            filearea::SCRIPTS,
            filearea::PRESETS,
        ];
        if d == root || own.iter().any(|o| d.starts_with(root.join(o))) {
            out.messages.push(format!(
                "{} the drop folder {} is the data folder {} or one of its own folders: nothing captured; [feed] drop_folder must be a folder of its own",
                Code::FeedUnreadable,
                drop.display(),
                root.display()
            ));
            return out;
        }
    }
    match fs::metadata(&drop) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            out.messages.push(format!(
                "{} the drop folder {} is not a folder: nothing captured; fix [feed] drop_folder",
                Code::FeedUnreadable,
                drop.display()
            ));
            return out;
        }
        Err(e) => {
            out.messages.push(format!(
                "{} the drop folder {} cannot be read ({e}): nothing captured; create it or fix [feed] drop_folder",
                Code::FeedUnreadable,
                drop.display()
            ));
            return out;
        }
    }
    let stale = Duration::from_secs(cfg.feed.stale_lock_minutes.saturating_mul(60));
    let alarm = |out: &mut Captured, kind: LockAlarm, age: Duration| {
        out.messages
            .extend(alarms::raise(cfg, state, &drop, kind, age, now));
    };

    // Our own lock: another live moosync capturing, or one left by a moosync that died.
    match locks::inspect(&drop.join(CAPTURE_LOCK), now) {
        Ok(Lock::Absent) => {}
        Ok(Lock::File { age, text }) => match locks::pid_in(&text) {
            // Our own pid is a lock a killed run left when this one had its number (a
            // container's pid 1): this process holds the data folder and has not locked yet.
            Some(pid) if pid != std::process::id() && locks::is_live_moosync(pid) => {
                out.messages.push(format!(
                    "{CAPTURE_LOCK} is held by moosync pid {pid} (for {}): nothing captured",
                    locks::age_text(age)
                ));
                if age > stale {
                    alarm(&mut out, LockAlarm::Capture, age);
                }
                return out;
            }
            holder => {
                let who = holder.map_or("no moosync pid".to_string(), |p| format!("pid {p}"));
                if let Err(e) = fs::remove_file(drop.join(CAPTURE_LOCK)) {
                    out.messages.push(format!(
                        "{} a stale {CAPTURE_LOCK} ({who}, gone) cannot be removed ({e}): nothing captured",
                        Code::FeedLockNotAFile
                    ));
                    return out;
                }
                out.messages.push(format!(
                    "{} warning: replaced a stale {CAPTURE_LOCK} left by {who}, which is no longer running (for {})",
                    Code::FeedStaleLock,
                    locks::age_text(age)
                ));
            }
        },
        Ok(Lock::NotAFile) => {
            out.messages.push(format!(
                "{} {CAPTURE_LOCK} in the drop folder is not a file: moosync cannot take its lock, nothing captured; remove it",
                Code::FeedLockNotAFile
            ));
            return out;
        }
        Err(e) => {
            out.messages.push(format!(
                "{} {CAPTURE_LOCK} cannot be checked ({e}): nothing captured",
                Code::FeedUnreadable
            ));
            return out;
        }
    }
    let _held = match locks::take_capture_lock(&drop) {
        Ok(l) => l,
        Err(e) => {
            out.messages.push(format!(
                "{} cannot create {CAPTURE_LOCK} in {} ({e}): nothing captured; check the folder's permissions",
                Code::FeedUnreadable,
                drop.display()
            ));
            return out;
        }
    };
    // The sender is still writing: nothing is taken, however old its lock. Checked only once
    // lock.txt is ours, so a sender that looks for lock.txt before it starts cannot slip in
    // between the check and the lock (tool_sync checked, then locked).
    match locks::inspect(&drop.join(SENDER_LOCK), now) {
        Ok(Lock::Absent) => {}
        Ok(Lock::File { age, .. }) => {
            out.messages.push(format!(
                "{SENDER_LOCK} is present (for {}): the sender is still writing; nothing captured",
                locks::age_text(age)
            ));
            if age > stale {
                alarm(&mut out, LockAlarm::Sender, age);
            }
            return out;
        }
        Ok(Lock::NotAFile) => {
            out.messages.push(format!(
                "{} {SENDER_LOCK} in the drop folder is not a file: nothing captured; remove it (the sender creates it as a file while it writes)",
                Code::FeedLockNotAFile
            ));
            return out;
        }
        Err(e) => {
            out.messages.push(format!(
                "{} {SENDER_LOCK} cannot be checked ({e}): nothing captured",
                Code::FeedUnreadable
            ));
            return out;
        }
    }

    let mut names: Vec<String> = match fs::read_dir(&drop) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            out.messages.push(format!(
                "{} the drop folder {} cannot be listed ({e}): nothing captured",
                Code::FeedUnreadable,
                drop.display()
            ));
            return out;
        }
    };
    names.sort();
    let inbox = area.dir(filearea::INBOX);
    for name in names {
        if name.starts_with('.')
            || name.starts_with('_')
            || name == SENDER_LOCK
            || name == CAPTURE_LOCK
        {
            continue;
        }
        if PARTIAL.iter().any(|x| name.ends_with(x)) {
            out.messages.push(format!(
                "{name}: still uploading (its name says so); left for a later run"
            ));
            continue;
        }
        // A sender that ignored lock.txt and started meanwhile: stop taking its files.
        if !matches!(
            locks::inspect(&drop.join(SENDER_LOCK), now),
            Ok(Lock::Absent)
        ) {
            out.messages.push(format!(
                "{SENDER_LOCK} appeared during the capture: the sender is writing; the rest is left for a later run"
            ));
            break;
        }
        match take(&drop.join(&name), &inbox.join(&name)) {
            Ok(Taken::Moved(to)) => {
                let now_named = crate::source::file_name_of(&to);
                if now_named != name {
                    out.messages.push(format!(
                        "{name}: a file of that name already waits in inbox/; both kept, this one as {now_named}"
                    ));
                }
                out.moved.push(now_named);
            }
            Ok(Taken::Finished) => out.messages.push(format!(
                "{name}: an interrupted capture had already put it in inbox/; the drop folder's copy was removed"
            )),
            Ok(Taken::Skipped(why)) => out
                .messages
                .push(format!("{} {name}: {why}", Code::FeedFileSkipped)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => out.messages.push(format!(
                "{} {name}: vanished before it could be moved (did the sender remove it?)",
                Code::FeedFileSkipped
            )),
            Err(e) => out
                .messages
                .push(format!(
                    "{} {name}: cannot be moved into inbox/ ({e}); left in the drop folder",
                    Code::FeedFileSkipped
                )),
        }
    }
    filearea::sync_dir(&inbox);
    filearea::sync_dir(&drop);
    out
}

enum Taken {
    Moved(std::path::PathBuf),
    /// A capture killed between placing the file and removing its source: only the removal
    /// was left to do.
    Finished,
    Skipped(String),
}

fn take(from: &Path, to: &Path) -> io::Result<Taken> {
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        return Ok(Taken::Skipped(
            "a symbolic link: links are never followed, so it is not captured; drop the file itself".into(),
        ));
    }
    if meta.is_dir() {
        // Only picture folders are input as folders, and those are read in place by name.
        return Ok(Taken::Skipped(
            "a folder: only files are captured; zip a folder of pictures".into(),
        ));
    }
    if !meta.is_file() {
        return Ok(Taken::Skipped(format!(
            "{}, not a regular file: only files are captured, so it is left in the drop folder",
            crate::filekind::describe(meta.file_type())
        )));
    }
    // No read bit at all: an upload some servers keep closed until done, or not meant for us.
    if meta.permissions().mode() & 0o444 == 0 {
        return Ok(Taken::Skipped(
            "has no read permission: left in the drop folder; the sender must make it readable"
                .into(),
        ));
    }
    // Opened without waiting: swapped for a FIFO since the check, it is refused, not waited on.
    if let Err(e) = crate::filekind::open_regular(from) {
        return Ok(Taken::Skipped(format!(
            "cannot be read ({e}): left in the drop folder"
        )));
    }
    // A capture killed between placing the file and removing its source left it under its
    // name or a clash name (`users~2.csv`): only the removal is left to do.
    let mut there = to.to_path_buf();
    let mut n = 1;
    // What holds a name in inbox/ is looked at, not followed: a link or a FIFO there only
    // takes the name.
    while let Ok(m) = fs::symlink_metadata(&there) {
        let ours = m.dev() == meta.dev() && m.ino() == meta.ino();
        if m.is_file() && (ours || same_content(from, &there)?) {
            fs::remove_file(from)?;
            return Ok(Taken::Finished);
        }
        n += 1;
        there = filearea::clash_name(to, n);
    }
    // Never over a waiting file: the newer one takes the first free clash name, which sorts
    // and runs after it. The folders are synced once, after the last file.
    filearea::move_unsynced(from, &there).map(Taken::Moved)
}

/// Alarms for lock files older than the threshold, for a run that cannot capture because
/// another holds the data folder: a capture stuck on a hung mount is what the `lock.txt`
/// alarm is for, and that run never gets to its own check.
pub fn check_stuck_locks(
    cfg: &Config,
    area: &FileArea,
    state: &State,
    now: SystemTime,
) -> Vec<String> {
    let Some(folder) = cfg.feed.drop_folder.as_deref() else {
        return Vec::new();
    };
    let drop = area.root().join(folder);
    let stale = Duration::from_secs(cfg.feed.stale_lock_minutes.saturating_mul(60));
    let mut out = Vec::new();
    for (file, kind) in [
        (SENDER_LOCK, LockAlarm::Sender),
        (CAPTURE_LOCK, LockAlarm::Capture),
    ] {
        if let Ok(Lock::File { age, .. }) = locks::inspect(&drop.join(file), now) {
            if age > stale {
                out.extend(alarms::raise(cfg, state, &drop, kind, age, now));
            }
        }
    }
    out
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    if fs::metadata(a)?.len() != fs::metadata(b)?.len() {
        return Ok(false);
    }
    // Compared piece by piece: a feed file may be large.
    use std::io::Read;
    // `b` waits in inbox/, where anything may have been put: never a FIFO to wait on.
    let (mut fa, mut fb) = (
        crate::filekind::open_regular(a)?,
        crate::filekind::open_regular(b)?,
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_vanished_before_its_move_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = take(&dir.path().join("gone.csv"), &dir.path().join("inbox.csv"))
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_move_a_kill_interrupted_is_finished_not_duplicated() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (
            dir.path().join("a.csv"),
            dir.path().join("in").join("a.csv"),
        );
        fs::create_dir(dir.path().join("in")).unwrap();
        fs::write(&from, "x;y\n1;2\n").unwrap();
        // Killed after the link into inbox/, before the source was removed.
        fs::hard_link(&from, &to).unwrap();
        assert!(matches!(take(&from, &to).unwrap(), Taken::Finished));
        assert!(!from.exists());
        assert_eq!(fs::read_to_string(&to).unwrap(), "x;y\n1;2\n");
        // A different file of the same name is a clash, kept beside.
        fs::write(&from, "other\n").unwrap();
        match take(&from, &to).unwrap() {
            Taken::Moved(p) => assert_eq!(p, dir.path().join("in").join("a~2.csv")),
            _ => panic!("a clash is moved beside the waiting file"),
        }
        // Killed again after linking under the clash name: finished, not a third copy.
        fs::write(&from, "third\n").unwrap();
        fs::hard_link(&from, dir.path().join("in").join("a~3.csv")).unwrap();
        assert!(matches!(take(&from, &to).unwrap(), Taken::Finished));
        assert!(!from.exists());
        assert!(!dir.path().join("in").join("a~4.csv").exists());
    }

    #[test]
    fn clash_names_sort_after_and_read_as_the_name_sent() {
        use crate::filearea::{clash_base, clash_name};
        let p = Path::new("/in/users.csv");
        assert_eq!(clash_name(p, 2), Path::new("/in/users~2.csv"));
        assert_eq!(clash_base("users~2.csv"), ("users.csv".to_string(), 2));
        assert_eq!(clash_base("users~12.csv"), ("users.csv".to_string(), 12));
        assert_eq!(clash_base("users.csv"), ("users.csv".to_string(), 0));
        // Not clash names: a tilde the sender chose, a first copy, a leading zero.
        assert_eq!(clash_base("a~b.csv").1, 0);
        assert_eq!(clash_base("users~1.csv").1, 0);
        assert_eq!(clash_base("users~02.csv").1, 0);
        let mut names = vec!["users~10.csv", "users~2.csv", "users.csv"];
        names.sort_by_key(|n| clash_base(n));
        assert_eq!(names, ["users.csv", "users~2.csv", "users~10.csv"]);
    }
}
