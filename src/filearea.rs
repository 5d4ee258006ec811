//! The data folder: where inputs wait, where outputs go, and how files move safely.
//! Every write is temp file + fsync + rename; every move is a rename or copy+fsync+rename.

use crate::owner_only;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

pub const INBOX: &str = "inbox";
pub const REPORTS: &str = "Reports";
pub const ARCHIVES: &str = "Archives";
pub const TRYBACKS: &str = "Trybacks";
/// Input files refused as a whole wait here for an operator; they are never re-run by themselves.
pub const REJECTED: &str = "Rejected";
/// Input files a guard stopped before any change, waiting for an operator's word; shown when
/// the folder exists.
pub const HELD: &str = "Held";
pub const SCRIPTS: &str = "scripts";
pub const PRESETS: &str = "presets";
/// The embedded store's picture files, beside moodle.db.
pub const FILEDIR: &str = "filedir";
/// moosync's own files at the top of the data folder (settings, run lock, databases).
pub const OWN_FILES: &[&str] = &[
    "moosync.toml",
    ".moosync.lock",
    "moodle.db",
    "state.db",
    "remote.db",
];

/// Folders a user may name in `files` commands.
pub const AREAS: &[&str] = &[
    INBOX, REPORTS, ARCHIVES, TRYBACKS, REJECTED, SCRIPTS, PRESETS,
];
/// Folders a user may name too, which `init` does not make: they exist once something fills
/// them.
pub const OPTIONAL_AREAS: &[&str] = &[HELD];

#[derive(Debug, Clone)]
pub struct FileArea {
    root: PathBuf,
}

impl FileArea {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileArea { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn dir(&self, area: &str) -> PathBuf {
        self.root.join(area)
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("moosync.toml")
    }
    pub fn store_path(&self) -> PathBuf {
        self.root.join("moodle.db")
    }
    pub fn state_path(&self) -> PathBuf {
        self.root.join("state.db")
    }

    pub fn create_folders(&self) -> io::Result<()> {
        for a in AREAS {
            owner_only::create_dir_all(&self.dir(a))?;
        }
        Ok(())
    }

    /// Resolves a user-given relative path (`inbox/x.csv`) inside the data folder, refusing
    /// anything that could reach outside it: absolute paths, `..`, and symlinks that escape.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, String> {
        let p = Path::new(rel);
        if rel.is_empty() {
            return Err("an empty path".into());
        }
        for c in p.components() {
            match c {
                // Hidden names are moosync's own: the files a run has claimed
                // (inbox/.claimed/) and half-written outputs (.moosync-*).
                Component::Normal(n) if n.to_string_lossy().starts_with('.') => {
                    return Err(format!(
                        "{rel:?} is one of moosync's own working files, which the file manager leaves alone"
                    ))
                }
                Component::Normal(_) | Component::CurDir => {}
                _ => {
                    return Err(format!(
                    "{rel:?} must be a path inside the data folder, such as inbox/userimport.csv"
                ))
                }
            }
        }
        let first = p
            .components()
            .find_map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .unwrap_or("");
        if !AREAS.contains(&first) && !OPTIONAL_AREAS.contains(&first) {
            return Err(format!(
                "{rel:?} is not in one of the data folder's areas ({})",
                AREAS.join(", ")
            ));
        }
        let full = self.root.join(p);
        // A symlink inside the area could still point elsewhere: compare real paths.
        if let (Ok(real), Ok(root)) = (full.canonicalize(), self.root.canonicalize()) {
            if !real.starts_with(&root) {
                return Err(format!("{rel:?} leads outside the data folder"));
            }
        }
        Ok(full)
    }
}

/// Folder inside inbox/ (hidden, so never taken for input) holding the files being processed.
pub const CLAIMED: &str = ".claimed";

/// Takes a waiting file out of the feed's reach for the time of its run: a file the feed drops
/// under the same name meanwhile is a new input, never confused with the one being processed.
pub fn claim(inbox: &Path, path: &Path) -> io::Result<PathBuf> {
    let dir = inbox.join(CLAIMED);
    owner_only::create_dir_all(&dir)?;
    let to = free_name(&dir.join(path.file_name().unwrap_or_default()));
    // One moosync cannot change (someone else's) is made private by its archiving copy.
    let _ = owner_only::set_tree_modes(path);
    fs::rename(path, &to)?;
    sync_dir(inbox);
    Ok(to)
}

/// Puts a claimed file back to wait in inbox/ (beside, never over, a newer file of its name).
pub fn release(inbox: &Path, claimed: &Path) -> io::Result<PathBuf> {
    move_atomic(
        claimed,
        &inbox.join(claimed.file_name().unwrap_or_default()),
    )
}

/// Files left claimed by a run that died go back to waiting; returns where they went.
pub fn recover_claims(inbox: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = inbox.join(CLAIMED);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut back = Vec::new();
    // Whatever it is (a FIFO a run was refusing too): it was claimed, so it goes back.
    for e in entries {
        back.push(release(inbox, &e?.path())?);
    }
    Ok(back)
}

/// Removes the temporary files (`.moosync-*`) a killed run left in Reports/, Trybacks/ and
/// Archives/: never visible under a real name, they are only clutter. Called under the data
/// folder's run lock, so no live writer owns them.
pub fn remove_stale_temps(area: &FileArea) {
    // inbox/ too: a capture across file systems copies under a hidden temporary name.
    for dir in [REPORTS, TRYBACKS, ARCHIVES, INBOX, REJECTED] {
        let Ok(entries) = fs::read_dir(area.dir(dir)) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().starts_with(".moosync-") {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
}

/// Writes a whole file atomically: a temp file in the same folder, fsync, rename, fsync folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut w = AtomicFile::create(path)?;
    w.write_all(bytes)?;
    w.commit()
}

/// A file being written that only appears under its name once complete.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    buf: io::BufWriter<File>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let dir = parent_dir(target);
        owner_only::create_dir_all(dir)?;
        // tempfile creates its files 0600.
        let tmp = tempfile::Builder::new()
            .prefix(".moosync-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let buf = io::BufWriter::with_capacity(256 * 1024, tmp.as_file().try_clone()?);
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            buf,
        })
    }

    pub fn commit(mut self) -> io::Result<()> {
        self.buf.flush()?;
        self.tmp.as_file().sync_all()?;
        self.tmp
            .persist_noclobber(&self.target)
            .map_err(|e| e.error)?;
        sync_dir(parent_dir(&self.target));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.buf.flush()
    }
}

/// Moves a file without ever losing it: rename on one filesystem; otherwise copy to a temp
/// name beside the target, fsync, rename into place, then remove the source.
/// The target name is never overwritten: a taken name gives a clash name (`free_name`); the
/// final path is returned. What arrives is 0600 (a folder 0700): a source moosync cannot make
/// so before it links or renames it (another owner's) is copied instead, so no name of the
/// file is ever wider in the data folder.
pub fn move_atomic(from: &Path, to: &Path) -> io::Result<PathBuf> {
    let to = move_unsynced(from, to)?;
    sync_dir(parent_dir(&to));
    sync_dir(parent_dir(from));
    Ok(to)
}

/// `move_atomic` without the final fsync of the two folders, for a caller that moves many
/// files between the same two folders and syncs them once (capture). The link precedes the
/// unlink, so the file is always under one of its names.
pub fn move_unsynced(from: &Path, to: &Path) -> io::Result<PathBuf> {
    let to = free_name(to);
    owner_only::create_dir_all(parent_dir(&to))?;
    if from.is_dir() {
        return move_dir(from, &to);
    }
    // The mode is the inode's: set before the second name exists, it is never seen wider.
    let linked = match owner_only::set_file_mode(from) {
        Ok(()) => fs::hard_link(from, &to),
        Err(e) => Err(e),
    };
    match linked {
        // link + unlink never overwrites a file that appeared meanwhile (rename would).
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return move_unsynced(from, &to),
        Err(_) => {
            copy_atomic(from, &to)?;
        }
    }
    // A source that cannot be removed (a sticky drop folder owned by the sender) must not
    // leave a second copy: the move is undone and fails.
    if let Err(e) = fs::remove_file(from) {
        let _ = fs::remove_file(&to);
        return Err(e);
    }
    Ok(to)
}

/// The `n`th name of a file whose name is taken: `users.csv` then `users~2.csv`,
/// `users~3.csv`. `~` sorts after `.` and every letter and digit, so in inbox/ the newer file
/// runs after the waiting one; `clash_base` gives the name presets match.
pub fn clash_name(path: &Path, n: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    path.with_file_name(format!("{stem}~{n}{ext}"))
}

/// The name a clash-renamed file was sent under, and its place among its namesakes:
/// `users~2.csv` is (`users.csv`, 2); any other name is itself, 0.
pub fn clash_base(name: &str) -> (String, u32) {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    if let Some((base, digits)) = stem.rsplit_once('~') {
        if let Ok(n) = digits.parse::<u32>() {
            // Only the names clash_name makes: 2 and up, no sign or leading zero.
            if n >= 2 && !base.is_empty() && digits == n.to_string() {
                return (format!("{base}{ext}"), n);
            }
        }
    }
    (name.to_string(), 0)
}

/// A folder (of pictures) moves by one rename on one filesystem; across filesystems it is
/// copied whole (and synced) under a hidden name, renamed into place, and only then removed.
fn move_dir(from: &Path, to: &Path) -> io::Result<PathBuf> {
    let renamed = match owner_only::set_tree_modes(from) {
        Ok(()) => fs::rename(from, to),
        // Not all moosync's to change: its copy is.
        Err(_) => Err(io::Error::from(io::ErrorKind::CrossesDevices)),
    };
    match renamed {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            copy_dir_atomic(from, to)?;
            fs::remove_dir_all(from)?;
        }
        Err(e) => return Err(e),
    }
    sync_dir(parent_dir(to));
    sync_dir(parent_dir(from));
    Ok(to.to_path_buf())
}

/// Copies a folder's regular files, synced, so the copy appears whole. Links are never
/// followed nor copied: the pictures tool ignores them anyway. A failed copy leaves nothing.
/// The copy is 0700 and 0600 throughout, built inside a 0700 temporary folder.
fn copy_dir_atomic(from: &Path, to: &Path) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::Builder::new()
        .prefix(".moosync-")
        .permissions(fs::Permissions::from_mode(owner_only::FOLDER_MODE))
        .tempdir_in(parent_dir(to))?;
    let mut dirs = Vec::new();
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        let rel = entry.path().strip_prefix(from).map_err(io::Error::other)?;
        let dest = tmp.path().join(rel);
        if entry.file_type().is_dir() {
            owner_only::create_dir_all(&dest)?;
            dirs.push(dest);
        } else if entry.file_type().is_file() {
            // fs::copy gives the copy the source's mode.
            fs::copy(entry.path(), &dest)?;
            owner_only::set_file_mode(&dest)?;
            File::open(&dest)?.sync_all()?;
        }
    }
    for dir in &dirs {
        sync_dir(dir);
    }
    fs::rename(tmp.path(), to)?;
    // Renamed away: nothing is left for the guard to clean up.
    let _ = tmp.keep();
    Ok(to.to_path_buf())
}

/// Copies a file so that the target appears whole or not at all; returns the final path.
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<PathBuf> {
    let to = free_name(to);
    if from.is_dir() {
        owner_only::create_dir_all(parent_dir(&to))?;
        return copy_dir_atomic(from, &to);
    }
    // Never a FIFO or a device: the copy would wait or never end.
    let mut src = crate::filekind::open_regular(from)?;
    let mut w = AtomicFile::create(&to)?;
    io::copy(&mut src, &mut w)?;
    w.commit()?;
    Ok(to)
}

/// `name.ext` if nothing holds that name yet, else the first free clash name (`clash_name`):
/// `name~2.ext`, `name~3.ext`… One rule for every file moosync names: a file put in inbox/
/// (the capture, `files add`, a claimed file put back) runs with its preset and after the
/// one it clashed with, and outputs in Reports/, Archives/, Trybacks/ and Rejected/ read
/// the same way. A clash name counts on from its own number (`name~2.ext` taken gives
/// `name~3.ext`), so a name is never suffixed twice. A link or a FIFO holds its name too.
pub fn free_name(path: &Path) -> PathBuf {
    let taken = |p: &Path| fs::symlink_metadata(p).is_ok();
    if !taken(path) {
        return path.to_path_buf();
    }
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (base, n) = clash_base(&name);
    let base = path.with_file_name(base);
    (n.max(1) + 1..)
        .map(|k| clash_name(&base, k))
        .find(|p| !taken(p))
        .expect("some suffix is free")
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

pub fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; best effort where a folder cannot be opened.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path());
        area.create_folders().unwrap();
        assert!(area.resolve("inbox/a.csv").is_ok());
        for bad in [
            "../x",
            "/etc/passwd",
            "inbox/../../x",
            "moodle.db",
            "",
            "state.db",
            "inbox/.claimed/u.csv",
            "Reports/.moosync-x.tmp",
        ] {
            assert!(area.resolve(bad).is_err(), "{bad}");
        }
        std::os::unix::fs::symlink("/etc", dir.path().join("inbox/etc")).unwrap();
        assert!(area.resolve("inbox/etc/passwd").is_err());
    }

    #[test]
    fn claimed_files_come_back_beside_newer_ones() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        fs::create_dir_all(&inbox).unwrap();
        fs::write(inbox.join("u.csv"), "old").unwrap();
        let claimed = claim(&inbox, &inbox.join("u.csv")).unwrap();
        assert!(!inbox.join("u.csv").exists());
        fs::write(inbox.join("u.csv"), "new").unwrap();
        let back = recover_claims(&inbox).unwrap();
        assert_eq!(back, vec![inbox.join("u~2.csv")]);
        assert_eq!(fs::read_to_string(inbox.join("u.csv")).unwrap(), "new");
        assert_eq!(fs::read_to_string(inbox.join("u~2.csv")).unwrap(), "old");
        assert!(!claimed.exists());
    }

    #[test]
    fn what_moosync_takes_in_is_its_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        fs::create_dir_all(&inbox).unwrap();
        fs::write(inbox.join("u.csv"), "x").unwrap();
        set(&inbox.join("u.csv"), 0o666);
        let claimed = claim(&inbox, &inbox.join("u.csv")).unwrap();
        assert_eq!(mode(&inbox.join(CLAIMED)), 0o700);
        assert_eq!(mode(&claimed), 0o600);
        set(&claimed, 0o644);
        let archived = move_atomic(&claimed, &dir.path().join("Archives/u.csv")).unwrap();
        assert_eq!(mode(&archived), 0o600);
        assert_eq!(mode(&dir.path().join("Archives")), 0o700);
        let pics = dir.path().join("pics");
        fs::create_dir_all(pics.join("sub")).unwrap();
        fs::write(pics.join("sub/a.png"), "a").unwrap();
        set(&pics.join("sub/a.png"), 0o644);
        set(&pics.join("sub"), 0o755);
        let copy = copy_atomic(&pics, &dir.path().join("Archives/pics")).unwrap();
        assert_eq!(mode(&copy), 0o700);
        assert_eq!(mode(&copy.join("sub")), 0o700);
        assert_eq!(mode(&copy.join("sub/a.png")), 0o600);
        let moved = move_atomic(&pics, &dir.path().join("Rejected/pics")).unwrap();
        assert_eq!(mode(&moved.join("sub")), 0o700);
        assert_eq!(mode(&moved.join("sub/a.png")), 0o600);
    }

    #[test]
    fn one_clash_rule_and_a_name_is_never_suffixed_twice() {
        let dir = tempfile::tempdir().unwrap();
        let at = |n: &str| dir.path().join(n);
        assert_eq!(free_name(&at("u.csv")), at("u.csv"));
        fs::write(at("u.csv"), "").unwrap();
        assert_eq!(free_name(&at("u.csv")), at("u~2.csv"));
        fs::write(at("u~2.csv"), "").unwrap();
        assert_eq!(free_name(&at("u.csv")), at("u~3.csv"));
        // A clash name put back beside its namesake counts on.
        assert_eq!(free_name(&at("u~2.csv")), at("u~3.csv"));
        // A dangling link holds its name.
        std::os::unix::fs::symlink(at("gone"), at("u~3.csv")).unwrap();
        assert_eq!(free_name(&at("u.csv")), at("u~4.csv"));
        // Names without an extension, and folders of pictures.
        fs::create_dir(at("userpictures_a")).unwrap();
        assert_eq!(free_name(&at("userpictures_a")), at("userpictures_a~2"));
    }

    #[test]
    fn move_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("out/a.csv");
        fs::write(&a, "one").unwrap();
        assert_eq!(move_atomic(&a, &b).unwrap(), b);
        fs::write(&a, "two").unwrap();
        let second = move_atomic(&a, &b).unwrap();
        assert_eq!(second, dir.path().join("out/a~2.csv"));
        assert_eq!(fs::read_to_string(&b).unwrap(), "one");
        assert_eq!(fs::read_to_string(&second).unwrap(), "two");
        assert!(!a.exists());
    }
}
