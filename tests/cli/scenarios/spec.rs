//! A scenario's `scenario.toml`, and how its step files reach `inbox/`.
//!
//! ```toml
//! description = "what the scenario proves"
//! [settings]                      # moosync.toml for every step (the runner adds [target])
//! users.allow_delete = true
//!
//! [[step]]
//! name = "create"                 # the snapshot is scenario__<scenario>__<NN>_<name>
//! files = ["create/userimport.csv"]   # dropped into inbox/ under their own names
//! settings = { users = { identifier = "idnumber" } }   # merged over [settings], this step only
//! args = ["run"]                  # moosync's arguments after --data (the default)
//! exit = 1                        # the exit code expected
//! [step.core_rest]                # only when Moodle's core web services cannot do the step
//! why = "no core web service binds a cohort to a course"   # the documented difference
//! exit = 1                        # its exit code, if another
//! ```
//!
//! A step with `core_rest` is checked on the core service against a snapshot of its own,
//! `…__<NN>_<name>__core_rest`: what the plugin adds and core lacks, shown the same way every
//! time. The embedded store and the plugin service still share the step's one snapshot.
//!
//! Placeholders, replaced in the files' text and in their names, identically on every backend:
//! - `{P}` is the run's prefix (`lab::unique`), so names are unique on the shared lab.
//! - `{id:KIND:NAME}` is the id of the user (`KIND` `user`, by username), `course` (by
//!   shortname), `category` (by name: a top category of the scenario, named with `{P}`),
//!   `cohort`, `group` or `grouping` (by idnumber) named `NAME` at
//!   the time the step's files are laid out (after `{P}` is replaced, so
//!   `{id:user:{P}ann}`). It is read with the same SQL on every backend.
//!
//! A file entry that is a folder is copied as a folder (a picture folder); a folder whose
//! name ends in `.zip` is dropped as a zip archive of its files.

use super::site_db::SiteDb;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    #[serde(default)]
    pub settings: toml::Table,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub settings: toml::Table,
    #[serde(default = "run_args")]
    pub args: Vec<String>,
    pub exit: i32,
    /// Where Moodle's core web services differ from the plugin's (a declared capability).
    #[serde(default)]
    pub core_rest: Option<CoreRest>,
}

/// A step's documented difference on Moodle's core web services.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreRest {
    pub why: String,
    pub exit: Option<i32>,
}

fn run_args() -> Vec<String> {
    vec!["run".to_string()]
}

/// The folder holding every scenario.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

impl Scenario {
    pub fn load(name: &str) -> Scenario {
        let path = root().join(name).join("scenario.toml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let s: Scenario =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!s.steps.is_empty(), "{}: no [[step]]", path.display());
        s
    }

    /// moosync.toml for `step`: the base settings, the step's over them, then `extra` (the
    /// backend's `[target]`).
    pub fn settings(&self, step: &Step, extra: &toml::Table) -> String {
        // The corpus proves what the plan decides for every row, an unchanged re-run's too:
        // rows are never skipped as unchanged here (tests/cli/unchanged.rs proves skipping).
        let mut t: toml::Table = toml::from_str("[run]\nskip_unchanged = false\n").expect("TOML");
        merge(&mut t, &self.settings);
        merge(&mut t, &step.settings);
        merge(&mut t, extra);
        toml::to_string(&t).expect("settings as TOML")
    }
}

fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Replaces the placeholders of `text`.
pub struct Placeholders<'a> {
    pub prefix: &'a str,
    pub db: &'a SiteDb,
    /// Every `{id:…}` resolved so far, as (id, the placeholder with `{P}`), for the reports.
    pub resolved: &'a std::cell::RefCell<Vec<(i64, String)>>,
}

impl Placeholders<'_> {
    pub fn apply(&self, text: &str) -> String {
        let text = text.replace("{P}", self.prefix);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("{id:") {
            out.push_str(&rest[..at]);
            let end = rest[at..]
                .find('}')
                .unwrap_or_else(|| panic!("an unclosed {{id:…}} in {rest}"))
                + at;
            let inner = &rest[at + 4..end];
            let id = self.id(inner);
            self.resolved
                .borrow_mut()
                .push((id, format!("{{id:{}}}", inner.replace(self.prefix, "{P}"))));
            out.push_str(&id.to_string());
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// `KIND:NAME` → its id, the same query on every backend.
    fn id(&self, inner: &str) -> i64 {
        let (kind, name) = inner
            .split_once(':')
            .unwrap_or_else(|| panic!("{{id:{inner}}} is not {{id:KIND:NAME}}"));
        let (table, column, extra) = match kind {
            "user" => ("mdl_user", "username", " AND deleted = 0"),
            "course" => ("mdl_course", "shortname", ""),
            "cohort" => ("mdl_cohort", "idnumber", ""),
            "category" => ("mdl_course_categories", "name", ""),
            "group" => ("mdl_groups", "idnumber", ""),
            "grouping" => ("mdl_groupings", "idnumber", ""),
            _ => {
                panic!("{{id:{inner}}}: KIND is user, course, cohort, category, group or grouping")
            }
        };
        assert!(
            !name.contains('\''),
            "{{id:{inner}}}: a name with a quote cannot be looked up"
        );
        self.db
            .id(&format!(
                "SELECT id FROM {table} WHERE {column} = '{name}'{extra}"
            ))
            .unwrap_or_else(|| panic!("{{id:{inner}}}: no such {kind} on the site at this step"))
    }

    /// Lays `entry` (relative to the scenario's folder) into `inbox`.
    pub fn drop_into(&self, scenario: &Path, entry: &str, inbox: &Path) {
        let from = scenario.join(entry);
        let name = from
            .file_name()
            .unwrap_or_else(|| panic!("{entry}: no file name"))
            .to_string_lossy()
            .into_owned();
        let to = inbox.join(self.apply(&name));
        if from.is_dir() && name.ends_with(".zip") {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (rel, bytes) in self.files_of(&from) {
                z.start_file(rel, opts).unwrap();
                z.write_all(&bytes).unwrap();
            }
            std::fs::write(&to, z.finish().unwrap().into_inner()).unwrap();
        } else if from.is_dir() {
            for (rel, bytes) in self.files_of(&from) {
                let path = to.join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        } else {
            let bytes = std::fs::read(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            std::fs::write(&to, self.content(bytes)).unwrap();
        }
    }

    /// A folder's files, sorted, as (relative name with placeholders replaced, content).
    fn files_of(&self, dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (
                    self.apply(&rel),
                    self.content(std::fs::read(e.path()).unwrap()),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Text gets its placeholders replaced; an image or other binary is copied as it is.
    fn content(&self, bytes: Vec<u8>) -> Vec<u8> {
        match String::from_utf8(bytes) {
            Ok(text) => self.apply(&text).into_bytes(),
            Err(e) => e.into_bytes(),
        }
    }
}
