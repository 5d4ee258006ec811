//! Presets: which tool and script handle a waiting file, chosen by the file's name.

use crate::codes::{Code, Failure};
use crate::config::{describe_toml_error, CsvConfig, Delimiter, Encoding};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tools moosync knows. A preset without an `order` runs at its tool's place here; the
/// tools added later come last so those places never move.
pub const TOOLS: &[&str] = &[
    "courses",
    "users",
    "enrolments",
    "groups",
    "pictures",
    "cohorts",
];

/// Where a preset without an `order` runs: 100 × its tool's place in `TOOLS` (courses 100,
/// users 200, enrolments 300, groups 400). The shipped presets set theirs on this scale:
/// pictures (210), cohorts (220) and their bindings (230) after users and before group
/// definitions (250) and enrolments, group members (450) after enrolments.
pub fn default_order(tool: &str) -> i64 {
    let place = TOOLS.iter().position(|t| *t == tool).unwrap_or(TOOLS.len());
    100 * (place as i64 + 1)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetEntry {
    tool: String,
    script: String,
    files: Vec<String>,
    delimiter: Option<Delimiter>,
    encoding: Option<Encoding>,
    /// The preset's place in a run (lowest first); absent: its tool's place (`default_order`).
    order: Option<i64>,
    /// Only run when named: `moosync run <preset key>` or `--file`.
    #[serde(default)]
    on_demand: bool,
    /// For files without a header line: the names of their columns.
    columns: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Preset {
    /// `<file stem>.<table>`, e.g. `tool_sync.users`.
    pub name: String,
    pub tool: String,
    pub script: PathBuf,
    pub patterns: Vec<glob::Pattern>,
    pub delimiter: Delimiter,
    pub encoding: Encoding,
    pub order: i64,
    pub on_demand: bool,
    /// Set for headerless files: their column names.
    pub columns: Option<Vec<String>>,
}

impl Preset {
    pub fn matches(&self, file_name: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        self.patterns
            .iter()
            .any(|p| p.matches_with(file_name, opts))
    }

    pub fn file_names(&self) -> String {
        self.patterns
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How its files are read.
    pub fn source_options(&self, max_field_bytes: usize) -> crate::source::SourceOptions {
        crate::source::SourceOptions {
            delimiter: self.delimiter,
            encoding: self.encoding,
            max_field_bytes,
            columns: self.columns.clone(),
        }
    }

    /// The pictures tool reads zip archives or folders of images, not CSV.
    pub fn reads_archives(&self) -> bool {
        self.tool == "pictures"
    }

    /// Whether `name` (a tool or a full preset name such as `courses.reset`) selects this
    /// preset.
    pub fn is_named(&self, name: &str) -> bool {
        self.tool == name || self.name == name
    }

    /// The script's file name, for messages and the status screen.
    pub fn script_name(&self) -> String {
        self.script
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Presets {
    pub all: Vec<Preset>,
}

impl Presets {
    /// Loads every `*.toml` of `presets_dir` in name order; scripts are looked up in `scripts_dir`.
    pub fn load(
        presets_dir: &Path,
        scripts_dir: &Path,
        csv: &CsvConfig,
    ) -> Result<Presets, Failure> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(presets_dir)
            .map_err(|e| {
                Failure::new(
                    Code::PresetInvalid,
                    format!(
                        "cannot read {}: {e} (run `moosync init`)",
                        presets_dir.display()
                    ),
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut all: Vec<Preset> = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Failure::new(
                    Code::PresetInvalid,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let entries: BTreeMap<String, PresetEntry> = toml::from_str(&text).map_err(|e| {
                Failure::new(
                    Code::PresetInvalid,
                    format!("{}: {}", path.display(), describe_toml_error(&text, &e)),
                )
            })?;
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            for (key, e) in entries {
                all.push(build(&path, &stem, &key, e, scripts_dir, csv)?);
            }
        }
        Ok(Presets { all })
    }

    /// The first preset, in load order, whose patterns match the file name.
    pub fn for_file(&self, file_name: &str) -> Option<&Preset> {
        first_matching(&self.all.iter().collect::<Vec<_>>(), file_name)
    }

    /// The preset a file given by hand is read with: a preset named so (`courses.reset`), else
    /// the tool's preset whose names match the file, else the tool's only preset. A tool with
    /// several presets and no match is an error listing them: guessing could run a delete.
    pub fn for_tool_and_file(&self, tool: &str, file_name: &str) -> Result<&Preset, Failure> {
        if let Some(p) = self.all.iter().find(|p| p.name == tool) {
            return Ok(p);
        }
        let of_tool: Vec<&Preset> = self.all.iter().filter(|p| p.tool == tool).collect();
        if let Some(p) = first_matching(&of_tool, file_name) {
            return Ok(p);
        }
        match of_tool.as_slice() {
            [] => Err(Failure::new(
                Code::PresetInvalid,
                format!("no preset uses tool '{tool}' or is named so"),
            )),
            [only] => Ok(only),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.file_names()))
                    .collect();
                Err(Failure::new(
                    Code::PresetInvalid,
                    format!(
                        "{file_name} matches none of the presets of tool '{tool}'; name the one to use instead of the tool: {}",
                        names.join(", ")
                    ),
                ))
            }
        }
    }

    pub fn for_tool<'a>(&'a self, tool: &'a str) -> impl Iterator<Item = &'a Preset> + 'a {
        self.all.iter().filter(move |p| p.tool == tool)
    }
}

/// The first of `presets` matching the file name, else the first matching the name it had
/// before a clash renamed it (`users~2.csv` is read as `users.csv`, see
/// `filearea::free_name`), so every name moosync gives a file still runs with its preset.
fn first_matching<'a>(presets: &[&'a Preset], file_name: &str) -> Option<&'a Preset> {
    presets
        .iter()
        .find(|p| p.matches(file_name))
        .or_else(|| match crate::filearea::clash_base(file_name) {
            (base, n) if n > 0 => presets.iter().find(|p| p.matches(&base)),
            _ => None,
        })
        .copied()
}

fn build(
    path: &Path,
    stem: &str,
    key: &str,
    e: PresetEntry,
    scripts_dir: &Path,
    csv: &CsvConfig,
) -> Result<Preset, Failure> {
    let at = |what: String| {
        Failure::new(
            Code::PresetInvalid,
            format!("{} [{key}]: {what}", path.display()),
        )
    };
    if !TOOLS.contains(&e.tool.as_str()) {
        return Err(at(format!(
            "unknown tool {:?}; known tools: {}",
            e.tool,
            TOOLS.join(", ")
        )));
    }
    if e.files.is_empty() {
        return Err(at(
            "files must name at least one file name or pattern".into()
        ));
    }
    let mut patterns = Vec::new();
    for f in &e.files {
        if f.contains('/') || f.starts_with('.') || f.starts_with('_') {
            return Err(at(format!(
                "file pattern {f:?} must be a plain name, not starting with . or _"
            )));
        }
        patterns.push(
            glob::Pattern::new(f).map_err(|err| at(format!("bad file pattern {f:?}: {err}")))?,
        );
    }
    if let Some(cols) = &e.columns {
        if cols.is_empty() || cols.iter().any(|c| c.trim().is_empty()) {
            return Err(at(
                "columns must list at least one non-empty column name".into()
            ));
        }
    }
    if e.script.contains('/') || !e.script.ends_with(".rhai") {
        return Err(at(format!(
            "script {:?} must be a .rhai file name in scripts/",
            e.script
        )));
    }
    let script = scripts_dir.join(&e.script);
    if !script.is_file() {
        return Err(Failure::new(
            Code::ScriptMissing,
            format!(
                "{} [{key}]: script {} does not exist",
                path.display(),
                script.display()
            ),
        ));
    }
    let order = e.order.unwrap_or_else(|| default_order(&e.tool));
    Ok(Preset {
        name: format!("{stem}.{key}"),
        tool: e.tool,
        script,
        patterns,
        delimiter: e.delimiter.unwrap_or(csv.delimiter),
        encoding: e.encoding.unwrap_or(csv.encoding),
        order,
        on_demand: e.on_demand,
        columns: e
            .columns
            .map(|c| c.iter().map(|n| n.trim().to_lowercase()).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(preset: &str) -> (tempfile::TempDir, Result<Presets, Failure>) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("presets")).unwrap();
        std::fs::create_dir_all(d.path().join("scripts")).unwrap();
        std::fs::write(
            d.path().join("scripts/users.rhai"),
            "fn row(r) { skip(\"x\") }",
        )
        .unwrap();
        std::fs::write(d.path().join("presets/p.toml"), preset).unwrap();
        let r = Presets::load(
            &d.path().join("presets"),
            &d.path().join("scripts"),
            &CsvConfig::default(),
        );
        (d, r)
    }

    #[test]
    fn wildcard_names_match_chunks() {
        let (_d, p) = setup(
            "[users]\ntool = \"users\"\nscript = \"users.rhai\"\nfiles = [\"userimport*.csv\"]\n",
        );
        let p = p.unwrap();
        for n in [
            "userimport.csv",
            "userimport_2.csv",
            "userimport_tryback_20261125-061503.csv",
        ] {
            assert_eq!(p.for_file(n).unwrap().name, "p.users", "{n}");
        }
        assert!(p.for_file("enrols.csv").is_none());
        assert!(p.for_file("userimport.csv.filepart").is_none());
    }

    #[test]
    fn errors_name_the_preset() {
        let (_d, p) =
            setup("[users]\ntool = \"userz\"\nscript = \"users.rhai\"\nfiles = [\"u.csv\"]\n");
        assert!(p.unwrap_err().message.contains("unknown tool \"userz\""));
        let (_d, p) =
            setup("[users]\ntool = \"users\"\nscript = \"nope.rhai\"\nfiles = [\"u.csv\"]\n");
        assert_eq!(p.unwrap_err().code, Code::ScriptMissing);
        let (_d, p) =
            setup("[users]\ntool = \"users\"\nscript = \"users.rhai\"\nfile = [\"u.csv\"]\n");
        assert!(p.unwrap_err().message.contains("line 4"));
    }
}
