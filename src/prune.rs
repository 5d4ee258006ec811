//! Pruning: removes what moosync left behind in Reports/, Archives/ and Trybacks/ once it is
//! older than a given age. Nothing else of the data folder is ever touched: not inbox/ (nor
//! inbox/.claimed), Rejected/, scripts/, presets/, filedir/ or the databases.
//!
//! Rules, kept simple so an operator can predict them:
//! - only the entries directly inside an area are looked at, each by its own modification time
//!   (as shown by `ls -l`); an entry is old when that time is strictly before `now - older_than`;
//! - in Archives/ a folder (a picture folder archived whole) counts by its own time and goes
//!   whole; moosync never makes folders in Reports/ or Trybacks/, so a folder there is someone
//!   else's and is left alone;
//! - links are never followed: an old link is removed as a link, its target stays, and a link's
//!   age is its own, not its target's; a folder is removed without following links inside it;
//! - hidden temporary files (`.moosync-*`) left by a killed run are no exception: they go when
//!   old, like the rest;
//! - an entry that cannot be removed is listed in [`Pruned::problems`] and the rest goes on.
//!
//! An area folder that is itself a link (Archives/ on another disk) is read through: its
//! entries are still the area's.

use crate::config::PruneConfig;
use crate::filearea::{FileArea, ARCHIVES, REPORTS, TRYBACKS};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The areas to prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Which {
    pub reports: bool,
    pub archives: bool,
    pub trybacks: bool,
}

impl Which {
    pub const ALL: Which = Which {
        reports: true,
        archives: true,
        trybacks: true,
    };

    /// The chosen area names, in a fixed order.
    pub fn areas(&self) -> Vec<&'static str> {
        [
            (self.reports, REPORTS),
            (self.archives, ARCHIVES),
            (self.trybacks, TRYBACKS),
        ]
        .into_iter()
        .filter_map(|(on, a)| on.then_some(a))
        .collect()
    }
}

/// What a prune removed (or, from [`preview`], would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Full paths, area by area (Reports/, Archives/, Trybacks/), by name within an area.
    pub removed: Vec<PathBuf>,
    /// Bytes of the regular files removed (a folder's: the sum of its files').
    pub bytes: u64,
    /// One line per entry that could not be removed or area that could not be read.
    pub problems: Vec<String>,
}

/// Removes the entries of the chosen areas last modified before `now - older_than`.
pub fn prune(area: &FileArea, older_than: Duration, which: Which, now: SystemTime) -> Pruned {
    walk(area, older_than, which, now, true)
}

/// What [`prune`] would remove with the same arguments; removes nothing.
pub fn preview(area: &FileArea, older_than: Duration, which: Which, now: SystemTime) -> Pruned {
    walk(area, older_than, which, now, false)
}

/// The `[prune]` settings, for `moosync cron`: `None` when `older_than_days` is 0 (off).
pub fn prune_from_settings(area: &FileArea, cfg: &PruneConfig, now: SystemTime) -> Option<Pruned> {
    if cfg.older_than_days == 0 {
        return None;
    }
    let which = Which {
        reports: cfg.reports,
        archives: cfg.archives,
        trybacks: cfg.trybacks,
    };
    Some(prune(area, days(cfg.older_than_days), which, now))
}

/// `n` days as a duration (saturating: an absurd count simply means "nothing is that old").
pub fn days(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(24 * 60 * 60))
}

fn walk(
    area: &FileArea,
    older_than: Duration,
    which: Which,
    now: SystemTime,
    delete: bool,
) -> Pruned {
    let mut out = Pruned::default();
    // Before the epoch: nothing can be that old.
    let Some(cutoff) = now.checked_sub(older_than) else {
        return out;
    };
    for name in which.areas() {
        let dir = area.dir(name);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            // An area never made (or removed by hand) holds nothing to prune.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.problems.push(format!("cannot read {name}/: {e}"));
                continue;
            }
        };
        let mut paths = Vec::new();
        for e in entries {
            match e {
                Ok(e) => paths.push(e.path()),
                Err(e) => out.problems.push(format!("cannot read {name}/: {e}")),
            }
        }
        paths.sort();
        for path in paths {
            let rel = format!(
                "{name}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            match prune_entry(&path, name == ARCHIVES, cutoff, delete) {
                Ok(Some(bytes)) => {
                    out.removed.push(path);
                    out.bytes += bytes;
                }
                Ok(None) => {}
                Err(e) => out.problems.push(format!("cannot remove {rel}: {e}")),
            }
        }
    }
    out
}

/// Removes one entry when old; `Some(bytes)` when removed (or, not deleting, removable).
fn prune_entry(
    path: &Path,
    folders_too: bool,
    cutoff: SystemTime,
    delete: bool,
) -> io::Result<Option<u64>> {
    // The entry itself, never what a link points to.
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        // Gone meanwhile (another prune, an operator): nothing left to do.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let is_dir = meta.file_type().is_dir();
    if is_dir && !folders_too {
        return Ok(None);
    }
    if meta.modified()? >= cutoff {
        return Ok(None);
    }
    let bytes = if is_dir {
        folder_bytes(path)
    } else if meta.file_type().is_file() {
        meta.len()
    } else {
        0
    };
    if delete {
        // remove_dir_all does not follow links, at the top nor inside; remove_file unlinks a
        // link itself.
        let removed = if is_dir {
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(bytes))
}

fn folder_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, FileTimes};

    const DAY: u64 = 24 * 60 * 60;

    fn age(path: &Path, now: SystemTime, days_old: u64) {
        let t = now - Duration::from_secs(days_old * DAY);
        File::open(path)
            .unwrap()
            .set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .unwrap();
    }

    fn setup() -> (tempfile::TempDir, FileArea, SystemTime) {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path());
        area.create_folders().unwrap();
        (dir, area, SystemTime::now())
    }

    fn put(area: &FileArea, rel: &str, bytes: &[u8], now: SystemTime, days_old: u64) -> PathBuf {
        let p = area.root().join(rel);
        fs::write(&p, bytes).unwrap();
        age(&p, now, days_old);
        p
    }

    #[test]
    fn prune_removes_only_old_entries_of_the_chosen_areas() {
        let (_d, area, now) = setup();
        let old_report = put(&area, "Reports/a_users_u.txt", b"12345", now, 40);
        let new_report = put(&area, "Reports/b_users_u.txt", b"x", now, 2);
        let old_tryback = put(&area, "Trybacks/u_tryback.csv", b"123", now, 40);
        let old_tmp = put(&area, "Reports/.moosync-abc.tmp", b"", now, 40);
        let inbox = put(&area, "inbox/userimport.csv", b"a", now, 400);
        let rejected = put(&area, "Rejected/x.csv", b"a", now, 400);
        let folder = area.dir(ARCHIVES).join("s_pics");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("a.jpg"), b"1234567").unwrap();
        age(&folder, now, 40);
        // A folder where moosync makes none is not ours.
        let stray = area.dir(REPORTS).join("kept");
        fs::create_dir(&stray).unwrap();
        age(&stray, now, 40);

        let which = Which {
            trybacks: false,
            ..Which::ALL
        };
        let seen = preview(&area, days(30), which, now);
        assert!(old_report.exists() && folder.exists());
        let pruned = prune(&area, days(30), which, now);
        assert_eq!(seen, pruned);
        assert_eq!(
            pruned.removed,
            vec![old_tmp.clone(), old_report.clone(), folder.clone()]
        );
        assert_eq!(pruned.bytes, 5 + 7);
        assert!(pruned.problems.is_empty());
        assert!(!old_report.exists() && !old_tmp.exists() && !folder.exists());
        assert!(new_report.exists() && old_tryback.exists() && stray.exists());
        assert!(inbox.exists() && rejected.exists());
    }

    #[test]
    fn age_is_strictly_older_than_the_threshold() {
        let (_d, area, now) = setup();
        let p = area.dir(TRYBACKS).join("t.csv");
        fs::write(&p, b"").unwrap();
        let t = now - days(3);
        File::open(&p).unwrap().set_modified(t).unwrap();
        assert!(prune(&area, days(3), Which::ALL, now).removed.is_empty());
        assert_eq!(
            prune(&area, days(3), Which::ALL, now + Duration::from_secs(1)).removed,
            vec![p]
        );
        // A threshold reaching before the epoch removes nothing.
        assert_eq!(
            prune(&area, days(u64::MAX), Which::ALL, now),
            Pruned::default()
        );
    }

    #[test]
    fn settings_off_prune_nothing() {
        let (_d, area, now) = setup();
        let p = put(&area, "Reports/r.txt", b"", now, 100);
        let off = PruneConfig {
            older_than_days: 0,
            ..PruneConfig::default()
        };
        assert_eq!(prune_from_settings(&area, &off, now), None);
        assert!(p.exists());
        let on = PruneConfig {
            older_than_days: 30,
            reports: false,
            ..PruneConfig::default()
        };
        assert_eq!(
            prune_from_settings(&area, &on, now).unwrap().removed,
            Vec::<PathBuf>::new()
        );
        let on = PruneConfig {
            older_than_days: 30,
            ..PruneConfig::default()
        };
        assert_eq!(
            prune_from_settings(&area, &on, now).unwrap().removed,
            vec![p]
        );
    }

    #[test]
    fn an_unreadable_area_is_a_problem_and_the_rest_goes_on() {
        let (_d, area, now) = setup();
        fs::remove_dir(area.dir(TRYBACKS)).unwrap();
        fs::write(area.dir(TRYBACKS), b"not a folder").unwrap();
        let p = put(&area, "Archives/a.csv", b"ab", now, 100);
        let pruned = prune(&area, days(1), Which::ALL, now);
        assert_eq!(pruned.removed, vec![p]);
        assert_eq!(pruned.problems.len(), 1, "{:?}", pruned.problems);
        assert!(pruned.problems[0].starts_with("cannot read Trybacks/"));
        // A missing area is simply empty.
        fs::remove_dir(area.dir(REPORTS)).unwrap();
        assert!(prune(&area, days(1), Which::ALL, now).problems.len() == 1);
    }

    #[test]
    fn an_entry_that_cannot_go_is_a_problem_and_the_rest_goes_on() {
        use std::os::unix::fs::PermissionsExt;
        // Permissions do not stop root: nothing to see there.
        if unsafe { libc::geteuid() } == 0 {
            return;
        }
        let (_d, area, now) = setup();
        let folder = area.dir(ARCHIVES).join("pics");
        fs::create_dir_all(folder.join("inner")).unwrap();
        fs::write(folder.join("inner/a.jpg"), b"a").unwrap();
        fs::set_permissions(folder.join("inner"), fs::Permissions::from_mode(0o555)).unwrap();
        age(&folder, now, 100);
        let p = put(&area, "Trybacks/t.csv", b"", now, 100);
        let pruned = prune(&area, days(1), Which::ALL, now);
        fs::set_permissions(folder.join("inner"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(pruned.removed, vec![p]);
        assert_eq!(pruned.problems.len(), 1, "{:?}", pruned.problems);
        assert!(pruned.problems[0].starts_with("cannot remove Archives/pics: "));
    }
}
