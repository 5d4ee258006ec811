//! The data folder holds personal data and passwords (inputs, archives, reports, trybacks, the
//! databases, pictures), so what moosync makes there is for its owner only: folders 0700, files
//! 0600, whatever the umask (a umask only ever takes bits away from these).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const FOLDER_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and every missing parent as 0700.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(FOLDER_MODE)
        .create(dir)
}

/// Sets a file moosync keeps to exactly 0600. Fails when moosync does not own it.
pub fn set_file_mode(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(FILE_MODE))
}

/// Sets a file to 0600, or a folder and everything in it to 0700 and 0600 (links left alone),
/// before moosync takes it in: an input keeps its sender's mode otherwise. Fails when moosync
/// does not own every part.
pub fn set_tree_modes(path: &Path) -> io::Result<()> {
    if !fs::symlink_metadata(path)?.is_dir() {
        return set_file_mode(path);
    }
    for entry in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        let mode = match entry.file_type() {
            t if t.is_dir() => FOLDER_MODE,
            t if t.is_symlink() => continue,
            _ => FILE_MODE,
        };
        fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Makes sure the SQLite database `path` and its `-wal`, `-shm` and `-journal` files are 0600
/// before SQLite opens it: SQLite creates a database 0644 (less the umask) and gives its
/// side files the database's own mode.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        // An empty file is an empty database to SQLite.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            for p in with_side_files(path) {
                match tighten(&p) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A database and the side files SQLite may keep beside it.
pub fn with_side_files(db: &Path) -> [PathBuf; 4] {
    let side = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [
        db.to_path_buf(),
        side("-wal"),
        side("-shm"),
        side("-journal"),
    ]
}

/// Takes the group and other bits off a file or folder (a link is left alone); returns the
/// mode it had when that changed it.
pub fn tighten(path: &Path) -> io::Result<Option<u32>> {
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(None);
    }
    let old = meta.permissions().mode() & 0o7777;
    let new = old & 0o700;
    if new == old {
        return Ok(None);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(new))?;
    Ok(Some(old))
}

/// A file or folder whose mode `tighten_tree` changed.
pub struct Tightened {
    pub path: PathBuf,
    pub was: u32,
    pub is_dir: bool,
}

/// Tightens `root` and everything below it, links neither followed nor changed; returns what
/// changed, and the first error, if any, after trying every entry.
pub fn tighten_tree(root: &Path) -> (Vec<Tightened>, Option<io::Error>) {
    let mut changed = Vec::new();
    let mut first_error = None;
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                first_error.get_or_insert(io::Error::other(e));
                continue;
            }
        };
        match tighten(entry.path()) {
            Ok(Some(was)) => changed.push(Tightened {
                path: entry.path().to_path_buf(),
                was,
                is_dir: entry.file_type().is_dir(),
            }),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    (changed, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_database_and_folders_are_owner_only() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("x.db");
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(dir.join("x.db-wal"), b"").unwrap();
        fs::set_permissions(dir.join("x.db-wal"), fs::Permissions::from_mode(0o666)).unwrap();
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.join("x.db-wal")), 0o600);
    }

    #[test]
    fn sqlite_gives_its_side_files_the_databases_mode() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("s.db");
        prepare_database(&db).unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for p in [&db, &d.path().join("s.db-wal"), &d.path().join("s.db-shm")] {
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }
    }

    #[test]
    fn tightening_keeps_the_owner_bits_and_says_what_changed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("data");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(root.join("a.csv"), b"x").unwrap();
        fs::set_permissions(root.join("a.csv"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(root.join("b.sh"), b"x").unwrap();
        fs::set_permissions(root.join("b.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        let outside = d.path().join("outside.txt");
        fs::write(&outside, b"x").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let (changed, err) = tighten_tree(&root);
        assert!(err.is_none());
        let mut names: Vec<(String, u32)> = changed
            .iter()
            .map(|t| (t.path.file_name().unwrap().to_string_lossy().into(), t.was))
            .collect();
        names.sort();
        assert_eq!(names, [("a.csv".into(), 0o644), ("data".into(), 0o755)]);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("a.csv")), 0o600);
        assert_eq!(mode(&root.join("b.sh")), 0o700);
        assert_eq!(mode(&outside), 0o644);
    }
}
