//! Presets: which tool and script handle a waiting file, chosen by the file's name.

use crate::codes::{Code, Failure};
use crate::config::{describe_toml_error, CsvConfig, Delimiter, Encoding};
use crate::toml_place::TomlPlaces;
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

    /// The preset's key in its file: `users` for `tool_sync.users`, `reset` for `courses.reset`.
    pub fn key(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(_, k)| k)
    }

    /// How people know it, on the status screen and the console: `users (userimport*.csv)`.
    /// The full name (`tool_sync.users`) is what the command line takes.
    pub fn label(&self) -> String {
        format!("{} ({})", self.key(), self.file_names())
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
            let places = TomlPlaces::parse(&text);
            for (key, e) in entries {
                all.push(build(&path, &places, &stem, &key, e, scripts_dir, csv)?);
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
                // A file named outside every pattern goes to the tool's own preset, keyed by
                // the tool's name ([users] in tool_sync.toml), when it has one.
                if let Some(own) = many.iter().find(|p| p.key() == tool) {
                    return Ok(own);
                }
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

/// Checks one preset's values; a bad one is named with its line and column.
fn build(
    path: &Path,
    places: &TomlPlaces,
    stem: &str,
    key: &str,
    e: PresetEntry,
    scripts_dir: &Path,
    csv: &CsvConfig,
) -> Result<Preset, Failure> {
    let fail = |code: Code, field: &str, index: Option<usize>, what: String| {
        let place = places.at_path(&[key, field], index);
        Failure::new(code, format!("{}: {place}[{key}] {what}", path.display()))
    };
    let at = |field: &str, what: String| fail(Code::PresetInvalid, field, None, what);
    if !TOOLS.contains(&e.tool.as_str()) {
        return Err(at(
            "tool",
            format!(
                "unknown tool {:?}; known tools: {}",
                e.tool,
                TOOLS.join(", ")
            ),
        ));
    }
    if e.files.is_empty() {
        return Err(at(
            "files",
            "files must name at least one file name or pattern".into(),
        ));
    }
    let mut patterns = Vec::new();
    for (i, f) in e.files.iter().enumerate() {
        let bad = |what: String| fail(Code::PresetInvalid, "files", Some(i), what);
        if f.contains('/') || f.starts_with('.') || f.starts_with('_') {
            return Err(bad(format!(
                "file pattern {f:?} must be a plain name, not starting with . or _"
            )));
        }
        patterns.push(
            glob::Pattern::new(f).map_err(|err| bad(format!("bad file pattern {f:?}: {err}")))?,
        );
    }
    if let Some(cols) = &e.columns {
        if cols.is_empty() || cols.iter().any(|c| c.trim().is_empty()) {
            return Err(at(
                "columns",
                "columns must list at least one non-empty column name".into(),
            ));
        }
        let names: Vec<String> = cols.iter().map(|c| c.trim().to_lowercase()).collect();
        if let Some((i, c)) = names
            .iter()
            .enumerate()
            .find(|(i, c)| names[..*i].contains(c))
        {
            return Err(fail(
                Code::PresetInvalid,
                "columns",
                Some(i),
                format!("columns names {c:?} twice; each column needs its own name"),
            ));
        }
    }
    if e.script.contains('/') || !e.script.ends_with(".rhai") {
        return Err(at(
            "script",
            format!(
                "script {:?} must be a .rhai file name in scripts/",
                e.script
            ),
        ));
    }
    let script = scripts_dir.join(&e.script);
    if !script.is_file() {
        return Err(fail(
            Code::ScriptMissing,
            "script",
            None,
            format!("script {} does not exist", script.display()),
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
    fn a_file_named_outside_every_pattern_goes_to_the_tools_own_preset_if_any() {
        let (_d, p) = setup(
            "[users]\ntool = \"users\"\nscript = \"users.rhai\"\nfiles = [\"userimport*.csv\"]\n\
             [suspend]\ntool = \"users\"\nscript = \"users.rhai\"\nfiles = [\"usersuspend*.csv\"]\n\
             [one]\ntool = \"groups\"\nscript = \"users.rhai\"\nfiles = [\"a*.csv\"]\n\
             [two]\ntool = \"groups\"\nscript = \"users.rhai\"\nfiles = [\"b*.csv\"]\n",
        );
        let p = p.unwrap();
        assert_eq!(
            p.for_tool_and_file("users", "usersuspend_1.csv")
                .unwrap()
                .name,
            "p.suspend"
        );
        assert_eq!(
            p.for_tool_and_file("users", "elsewhere.csv").unwrap().name,
            "p.users"
        );
        let none = p.for_tool_and_file("groups", "elsewhere.csv").unwrap_err();
        assert!(
            none.message.contains("name the one to use"),
            "{}",
            none.message
        );
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

    #[test]
    fn every_bad_value_is_named_with_its_line_and_column() {
        let head = "[users]\ntool = \"users\"\nscript = \"users.rhai\"\n";
        for (preset, want) in [
            (
                "[users]\ntool = \"userz\"\nscript = \"users.rhai\"\nfiles = [\"u.csv\"]\n"
                    .to_string(),
                "line 2, column 8: [users] unknown tool \"userz\"",
            ),
            (
                format!("{head}files = []\n"),
                "line 4, column 9: [users] files must name",
            ),
            (
                format!("{head}files = [\"u.csv\", \"_x.csv\"]\n"),
                "line 4, column 19: [users] file pattern \"_x.csv\"",
            ),
            (
                format!("{head}files = [\"u.csv\"]\ncolumns = [\"a\", \"\"]\n"),
                "line 5, column 11: [users] columns must list",
            ),
            (
                format!("{head}files = [\"u.csv\"]\ncolumns = [\"a\", \"b\", \" A\"]\n"),
                "line 5, column 22: [users] columns names \"a\" twice",
            ),
            (
                "[users]\ntool = \"users\"\nscript = \"../x.rhai\"\nfiles = [\"u.csv\"]\n"
                    .to_string(),
                "line 3, column 10: [users] script \"../x.rhai\" must be",
            ),
            (
                "[users]\ntool = \"users\"\nscript = \"nope.rhai\"\nfiles = [\"u.csv\"]\n"
                    .to_string(),
                "line 3, column 10: [users] script ",
            ),
            (
                format!("{head}files = [\"u.csv\"]\norder = \"first\"\n"),
                "line 5, column 9: [users] order: invalid type",
            ),
            (
                format!("{head}files = [\"u.csv\"]\non_demand = 1\n"),
                "line 5, column 13: [users] on_demand: invalid type",
            ),
            (
                format!("{head}files = [\"u.csv\"]\ndelimiter = \"ab\"\n"),
                "line 5, column 13: [users] delimiter: delimiter must be",
            ),
            (
                format!("{head}files = [\"u.csv\"]\nencoding = \"utf-16\"\n"),
                "line 5, column 12: [users] encoding: unknown variant",
            ),
        ] {
            let (d, p) = setup(&preset);
            let message = p.unwrap_err().message;
            let file = d.path().join("presets/p.toml");
            let want = format!("{}: {want}", file.display());
            assert!(message.starts_with(&want), "want {want}\ngot  {message}");
        }
    }
}
