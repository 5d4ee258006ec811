//! Skipping what did not change (`[run] skip_unchanged`). Each row a file applies is
//! remembered in state.db, per preset, by a print of its content and of everything that
//! decides what it does: moosync's version, the settings, every script and preset, and the
//! site. A row whose print the preset's last file left is counted unchanged and neither
//! mapped nor sent. A file replaces its preset's prints with those of the rows it applied or
//! kept, so a row that changed and changed back is applied again.

use crate::filearea::FileArea;
use md5::{Digest, Md5};

/// What a row and its rules come to: an MD5 (change detection, not security).
pub type Print = [u8; 16];

/// How a run skips rows: the print of its rules, and whether it skips (`run --full` applies
/// every row, and still remembers them).
#[derive(Debug, Clone, Copy)]
pub struct Skipping {
    pub rules: Print,
    pub skip: bool,
}

/// Hashes a length before each part, so parts cannot run into each other.
fn part(h: &mut Md5, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The print of the rules every row of a run goes through: moosync's version, the settings
/// file, every file of `scripts/` and `presets/`, and the site (`Target::identity`). Any edit
/// to one of them gives every row a new print, so nothing is skipped on stale rules.
pub fn rules_print(area: &FileArea, site: &str) -> Print {
    let mut h = Md5::new();
    part(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    part(&mut h, site.as_bytes());
    part(
        &mut h,
        &std::fs::read(area.config_path()).unwrap_or_default(),
    );
    for dir in ["scripts", "presets"] {
        let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(area.root().join(dir))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        files.sort();
        for f in files {
            // By its name within the data folder, which may move.
            let name = f.strip_prefix(area.root()).unwrap_or(&f);
            part(&mut h, name.to_string_lossy().as_bytes());
            part(&mut h, &std::fs::read(&f).unwrap_or_default());
        }
    }
    h.finalize().into()
}

/// The print of one row of a preset's file: its columns, its cells and what it carries (a
/// picture), under the run's rules.
pub fn row_print(
    rules: &Print,
    preset: &str,
    columns: &[String],
    fields: &[String],
    payload: Option<&[u8]>,
) -> Print {
    let mut h = Md5::new();
    h.update(rules);
    part(&mut h, preset.as_bytes());
    h.update((columns.len() as u64).to_le_bytes());
    for c in columns {
        part(&mut h, c.as_bytes());
    }
    h.update((fields.len() as u64).to_le_bytes());
    for f in fields {
        part(&mut h, f.as_bytes());
    }
    if let Some(p) = payload {
        part(&mut h, p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_print_changes_with_any_cell_column_preset_payload_or_rule() {
        let rules = [1u8; 16];
        let cols = s(&["username", "firstname"]);
        let base = row_print(&rules, "p", &cols, &s(&["ann", "Ann"]), None);
        assert_eq!(
            base,
            row_print(&rules, "p", &cols, &s(&["ann", "Ann"]), None)
        );
        assert_ne!(
            base,
            row_print(&rules, "p", &cols, &s(&["ann", "Anne"]), None)
        );
        assert_ne!(
            base,
            row_print(&rules, "q", &cols, &s(&["ann", "Ann"]), None)
        );
        assert_ne!(
            base,
            row_print(
                &rules,
                "p",
                &s(&["username", "lastname"]),
                &s(&["ann", "Ann"]),
                None
            )
        );
        assert_ne!(
            base,
            row_print(&[2u8; 16], "p", &cols, &s(&["ann", "Ann"]), None)
        );
        assert_ne!(
            base,
            row_print(&rules, "p", &cols, &s(&["ann", "Ann"]), Some(b"img"))
        );
        // Cells cannot run into each other.
        assert_ne!(
            row_print(&rules, "p", &cols, &s(&["ab", "c"]), None),
            row_print(&rules, "p", &cols, &s(&["a", "bc"]), None)
        );
    }
}
