//! The file manager's verbs over the data folder, for `moosync files` and the console alike:
//! list, add into inbox/, get, remove, and send a tryback back to inbox/. Paths name places
//! inside the data folder only, never a link, never one of moosync's own working files.
//! The verbs that change something are called under the run lock (see [`lock`]).

use crate::filearea::{self, FileArea, AREAS, OPTIONAL_AREAS};
use crate::runlock::{LockError, RunLock};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file of an area.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Relative to the data folder: `Reports/userimport_….txt`.
    pub path: String,
    pub area: &'static str,
    pub size: u64,
    #[serde(skip)]
    pub modified_at: std::time::SystemTime,
}

impl Entry {
    /// When it was last changed, local time: `2026-01-31 12:00:00`. Made when shown only: a
    /// folder of ten thousand reports is listed, a page of it shown.
    pub fn modified(&self) -> String {
        chrono::DateTime::<chrono::Local>::from(self.modified_at)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

/// Why a verb that changes the data folder cannot go now.
#[derive(Debug)]
pub enum Refused {
    /// A run holds the lock: exit 3's answer.
    Locked(String),
    Other(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Locked(m) | Refused::Other(m) => f.write_str(m),
        }
    }
}

/// The lock a changing verb holds: a run going holds it, and a file it reads or is about to
/// archive must not change under it.
pub fn lock(area: &FileArea) -> Result<RunLock, Refused> {
    crate::runlock::take(area).map_err(|e| match e {
        LockError::Held(_) => Refused::Locked(format!(
            "{}: {e}; try again when it ends",
            area.root().display()
        )),
        LockError::Io(..) => Refused::Other(format!("{}: {e}", area.root().display())),
    })
}

/// The areas a person can look at: the standard ones and those that exist of the others.
pub fn areas(area: &FileArea) -> Vec<&'static str> {
    AREAS
        .iter()
        .copied()
        .chain(
            OPTIONAL_AREAS
                .iter()
                .copied()
                .filter(|a| area.dir(a).is_dir()),
        )
        .collect()
}

/// The area named so (any case), if a person may look at it.
pub fn area_named(area: &FileArea, name: &str) -> Result<&'static str, String> {
    let all = areas(area);
    all.iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("no area '{name}'; areas: {}", all.join(", ")))
}

/// The files of an area (folders of pictures listed file by file), by path.
pub fn list(area: &FileArea, which: &'static str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(area.dir(which))
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
    {
        if !e.file_type().is_file() {
            continue;
        }
        let meta = e.metadata().map_err(|err| err.to_string())?;
        let at = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        let rel = e.path().strip_prefix(area.root()).unwrap_or(e.path());
        out.push(Entry {
            path: rel.display().to_string(),
            area: which,
            size: meta.len(),
            modified_at: at,
        });
    }
    Ok(out)
}

/// Why a name is not one a file may be given in inbox/, or None: a plain name (no folder, not
/// hidden), at most 255 bytes, of letters, digits, spaces and `. _ - ~ + @ ( ) [ ] , =`.
pub fn name_problem(name: &str) -> Option<String> {
    let plain = |c: char| c.is_alphanumeric() || " ._-~+@()[],=".contains(c);
    if name.is_empty() || name.len() > 255 {
        return Some("a file name must have 1 to 255 bytes".into());
    }
    if name.starts_with('.') || name.contains(['/', '\\']) {
        return Some(format!(
            "'{name}' must be a plain file name (no folders, not hidden)"
        ));
    }
    if let Some(c) = name.chars().find(|c| !plain(*c)) {
        return Some(format!(
            "'{name}' holds the character {c:?}; use letters, digits, spaces and . _ - ~ + @ ( ) [ ] , ="
        ));
    }
    if name.trim() != name {
        return Some(format!("'{name}' starts or ends with a space"));
    }
    None
}

/// Writes what `from` gives into inbox/ under `name` (beside, never over, a file of that
/// name: the clash name `users~2.csv` then), atomically; at most `max` bytes. Returns the
/// path it got.
pub fn add(
    area: &FileArea,
    name: &str,
    from: &mut dyn Read,
    max: Option<u64>,
) -> Result<PathBuf, String> {
    if let Some(why) = name_problem(name) {
        return Err(why);
    }
    let wanted = area.dir(filearea::INBOX).join(name);
    let to = filearea::free_name(&wanted);
    let mut w =
        filearea::AtomicFile::create(&to).map_err(|e| format!("cannot write {name}: {e}"))?;
    let limit = max.map_or(u64::MAX, |m| m.saturating_add(1));
    let copied = std::io::copy(&mut from.take(limit), &mut w)
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    if max.is_some_and(|m| copied > m) {
        // Dropped unwritten: the temporary file goes with it.
        return Err(format!(
            "{name} is larger than {} MiB ([web] upload_max_mb); nothing was added",
            max.unwrap_or(0) >> 20
        ));
    }
    w.commit()
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    Ok(to)
}

/// A regular file of the data folder named by its relative path; links are refused (one
/// could lead to moosync's settings or databases), so are folders and moosync's own files.
pub fn file(area: &FileArea, rel: &str) -> Result<PathBuf, String> {
    let full = area.resolve(rel)?;
    match std::fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => Err(format!(
            "{rel} is a link; the file manager never follows links"
        )),
        Ok(m) if m.is_file() => Ok(full),
        Ok(_) => Err(format!("{rel} is not a file")),
        Err(_) => Err(format!("{rel} is not a file of the data folder")),
    }
}

/// Removes a file (under the lock).
pub fn remove(area: &FileArea, rel: &str) -> Result<(), String> {
    let full = file(area, rel)?;
    std::fs::remove_file(&full).map_err(|e| format!("cannot remove {rel}: {e}"))
}

/// Sends a tryback back to inbox/ (under the lock), where its name makes it run with the
/// preset of the file it came from; returns its path in inbox/.
pub fn retry(area: &FileArea, rel: &str) -> Result<PathBuf, String> {
    let full = file(area, rel)?;
    if !Path::new(rel).starts_with(filearea::TRYBACKS) {
        return Err(format!(
            "{rel} is not a tryback; only files of {}/ go back to inbox/",
            filearea::TRYBACKS
        ));
    }
    let name = full.file_name().unwrap_or_default();
    filearea::move_atomic(&full, &area.dir(filearea::INBOX).join(name))
        .map_err(|e| format!("cannot move {rel} to inbox/: {e}"))
}

/// A path relative to the data folder, as messages name it.
pub fn shown(area: &FileArea, p: &Path) -> String {
    p.strip_prefix(area.root())
        .unwrap_or(p)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_folders_links_or_odd_characters_are_refused() {
        for bad in [
            "",
            ".hidden.csv",
            "../x.csv",
            "a/b.csv",
            "a\\b.csv",
            "x\u{0}.csv",
            "new\nline.csv",
            "semi;colon.csv",
            " lead.csv",
            "quote\".csv",
            "dollar$.csv",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?} accepted");
        }
        for good in [
            "userimport.csv",
            "enrols (2).csv",
            "userimport_tryback_20260101-120000.csv",
            "Élèves.csv",
        ] {
            assert_eq!(name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn a_link_is_never_a_file_of_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path());
        area.create_folders().unwrap();
        std::fs::write(dir.path().join("moosync.toml"), "").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("moosync.toml"),
            area.dir("Reports").join("x.txt"),
        )
        .unwrap();
        let e = file(&area, "Reports/x.txt").unwrap_err();
        assert!(e.contains("is a link"), "{e}");
        assert!(file(&area, "Reports/../moosync.toml").is_err());
        assert!(file(&area, "/etc/passwd").is_err());
    }

    #[test]
    fn an_upload_over_the_cap_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path());
        area.create_folders().unwrap();
        let e = add(&area, "u.csv", &mut &[b'x'; 2049][..], Some(2048)).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        assert_eq!(std::fs::read_dir(area.dir("inbox")).unwrap().count(), 0);
        let p = add(&area, "u.csv", &mut &b"a,b\n"[..], Some(2048)).unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"a,b\n");
        let p2 = add(&area, "u.csv", &mut &b"c\n"[..], None).unwrap();
        assert!(p2.ends_with("u~2.csv"), "{}", p2.display());
    }
}
