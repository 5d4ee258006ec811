//! `moosync init`: the data folder, its settings, and the admin's own copies of the rules.

use super::exit;
use crate::config::DEFAULT_TOML;
use crate::filearea::{self, write_atomic, FileArea};
use std::path::Path;

/// The shipped rules, written into the data folder where the admin edits them.
pub const SHIPPED: &[(&str, &str, &str)] = &[
    (
        filearea::SCRIPTS,
        "users.rhai",
        include_str!("../../scripts/users.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "courses_upload.rhai",
        include_str!("../../scripts/courses_upload.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "courses_delete.rhai",
        include_str!("../../scripts/courses_delete.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "courses_meta.rhai",
        include_str!("../../scripts/courses_meta.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "courses_reset.rhai",
        include_str!("../../scripts/courses_reset.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "courses_check.rhai",
        include_str!("../../scripts/courses_check.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "enrolments.rhai",
        include_str!("../../scripts/enrolments.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "groups.rhai",
        include_str!("../../scripts/groups.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "groupmembers.rhai",
        include_str!("../../scripts/groupmembers.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "cohorts.rhai",
        include_str!("../../scripts/cohorts.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "cohortscourses.rhai",
        include_str!("../../scripts/cohortscourses.rhai"),
    ),
    (
        filearea::SCRIPTS,
        "pictures.rhai",
        include_str!("../../scripts/pictures.rhai"),
    ),
    (
        filearea::PRESETS,
        "pictures.toml",
        include_str!("../../presets/pictures.toml"),
    ),
    (
        filearea::PRESETS,
        "cohorts.toml",
        include_str!("../../presets/cohorts.toml"),
    ),
    (
        filearea::PRESETS,
        "enrolments.toml",
        include_str!("../../presets/enrolments.toml"),
    ),
    (
        filearea::PRESETS,
        "groups.toml",
        include_str!("../../presets/groups.toml"),
    ),
    (
        filearea::PRESETS,
        "courses.toml",
        include_str!("../../presets/courses.toml"),
    ),
    (
        filearea::PRESETS,
        "tool_sync.toml",
        include_str!("../../presets/tool_sync.toml"),
    ),
];

pub fn run(data: &Path) -> i32 {
    let area = FileArea::new(data);
    let result = (|| -> std::io::Result<Vec<String>> {
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
