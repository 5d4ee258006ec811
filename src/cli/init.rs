//! `moosync init`: the data folder, its settings, and the admin's own copies of the rules.

use super::exit;
use crate::config::DEFAULT_TOML;
use crate::filearea::{self, write_atomic, FileArea};
use crate::owner_only;
use std::path::Path;

/// A data folder made before moosync kept it private, or loosened by hand, is made its owner's
/// only again: the folder, moosync's own files in it, and its areas with all they hold lose
/// their group and other bits. Nothing else there is touched (the folder may not be all
/// moosync's). Says what it changed.
fn tighten(area: &FileArea) {
    let root = area.root();
    let mut changed = Vec::new();
    let mut error = None;
    let mut note = |path: &std::path::Path, whole: bool| {
        let (c, e) = if whole {
            owner_only::tighten_tree(path)
        } else {
            match owner_only::tighten(path) {
                Ok(Some(was)) => (
                    vec![owner_only::Tightened {
                        path: path.to_path_buf(),
                        was,
                        is_dir: path.is_dir(),
                    }],
                    None,
                ),
                Ok(None) => (Vec::new(), None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), None),
                Err(e) => (Vec::new(), Some(e)),
            }
        };
        changed.extend(c);
        if error.is_none() {
            error = e;
        }
    };
    note(root, false);
    for name in filearea::OWN_FILES {
        for path in owner_only::with_side_files(&root.join(name)) {
            note(&path, false);
        }
    }
    for name in filearea::AREAS.iter().chain([&filearea::FILEDIR]) {
        if root.join(name).exists() {
            note(&root.join(name), true);
        }
    }
    let mut files = 0;
    for t in &changed {
        if t.is_dir {
            say!(
                "tightened {} from {:04o} to {:04o}: readable by its owner only",
                t.path.display(),
                t.was,
                t.was & 0o700
            );
        } else {
            files += 1;
        }
    }
    if files > 0 {
        say!(
            "tightened {files} file{} in {}: readable by {} owner only",
            if files == 1 { "" } else { "s" },
            root.display(),
            if files == 1 { "its" } else { "their" }
        );
    }
    if let Some(e) = error {
        warn!(
            "moosync: could not tighten everything in {}: {e}; make its folders 0700 and its files 0600",
            root.display()
        );
    }
}

// The shipped rules, written into the data folder where the admin edits them: every file of
// scripts/ and presets/ (build.rs lists them).
include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

pub fn run(data: &Path) -> i32 {
    let area = FileArea::new(data);
    let result = (|| -> std::io::Result<Vec<String>> {
        owner_only::create_dir_all(data)?;
        tighten(&area);
        area.create_folders()?;
        let mut written = Vec::new();
        let mut files = vec![(area.config_path(), DEFAULT_TOML)];
        files.extend(
            SHIPPED
                .iter()
                .map(|(dir, name, text)| (area.dir(dir).join(name), *text)),
        );
        for (path, text) in files {
            // Never overwrite: the admin may have edited the copy.
            if !path.exists() {
                write_atomic(&path, text.as_bytes())?;
                written.push(path.display().to_string());
            }
        }
        Ok(written)
    })();
    match result {
        Ok(written) => {
            for w in &written {
                say!("wrote {w}");
            }
            say!(
                "data folder ready: {} (drop input files into {})",
                data.display(),
                area.dir(filearea::INBOX).display()
            );
            exit::OK
        }
        Err(e) => {
            warn!("moosync: cannot initialise {}: {e}", data.display());
            exit::INPUT_ERROR
        }
    }
}
