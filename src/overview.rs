//! What the data folder is doing, gathered once for `status` (which prints it) and the web
//! console's synthesis screen (which renders it): every tool with its presets and waiting
//! files, its last files and their counts, the failed rows of the recent runs, the scripts
//! that do not compile, the mails that could not be sent, the trybacks, held and refused files.

use crate::codes::Failure;
use crate::filearea;
use crate::preset::TOOLS;
use crate::run::waiting_files;
use crate::setup::Setup;
use crate::state::{FileRecord, MailFailure, State};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How many runs back "recent" failures reach, in `status`, `problems` and the console.
pub const RECENT_RUNS: u32 = 5;
/// How many of each tool's last files are shown.
const LAST_FILES: u32 = 3;

#[derive(Debug, Serialize)]
pub struct Overview {
    pub data: String,
    /// Who holds the run lock now: a run is going.
    pub running: Option<String>,
    pub drop_folder: Option<String>,
    /// The last capture: when, files moved, its messages.
    pub last_capture: Option<(String, i64, Vec<String>)>,
    pub tools: Vec<ToolView>,
    /// Waiting files that match no preset (left alone).
    pub unmatched: Vec<String>,
    pub scripts: Vec<ScriptView>,
    /// Failed rows (and files refused or stopped) of the last `RECENT_RUNS` runs.
    pub failed_rows: usize,
    pub failed_files: usize,
    pub mail_failures: Vec<MailFailure>,
    pub trybacks: Vec<String>,
    pub rejected: Vec<String>,
    /// `None` when there is no Held/ folder.
    pub held: Option<Vec<String>>,
    pub target: String,
}

#[derive(Debug, Serialize)]
pub struct ToolView {
    pub tool: String,
    pub presets: Vec<PresetView>,
    pub last: Vec<FileView>,
}

#[derive(Debug, Serialize)]
pub struct PresetView {
    /// What the command line takes: `tool_sync.users`.
    pub name: String,
    /// How people know it: `users (userimport*.csv)`.
    pub label: String,
    pub files: String,
    pub script: String,
    pub on_demand: bool,
    pub waiting: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FileView {
    pub record: FileRecord,
    /// `done`, `running`, `interrupted`, `refused`, `stopped`.
    pub state: &'static str,
    /// In words: the counts, or why it stopped, or who runs it.
    pub how: String,
    /// The report, relative to the data folder (`Reports/…txt`).
    pub report: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ScriptView {
    pub name: String,
    /// The presets that use it.
    pub used_by: Vec<String>,
    /// Why it does not compile.
    pub error: Option<String>,
}

/// The last compile status of each script, kept while its file stays the same: the console
/// asks on every page, and compiling a dozen scripts each time would slow it.
#[derive(Default)]
pub struct ScriptChecks {
    seen: std::sync::Mutex<HashMap<PathBuf, Checked>>,
}

/// A script file as it was when compiled (modified, length) and why it did not compile.
type Checked = (std::time::SystemTime, u64, Option<String>);

impl ScriptChecks {
    /// Why the script at `path` does not compile (None: it does), compiled only when new or
    /// changed since it was last asked about.
    fn check(&self, s: &Setup, path: &Path) -> Option<String> {
        let stamp = std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len()));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(stamp), Some((at, len, error))) = (stamp, seen.get(path)) {
            if (*at, *len) == stamp {
                return error.clone();
            }
        }
        let error = match crate::rules::Workers::new(&s.cfg.limits, 1) {
            Ok(w) => crate::rules::Script::load(path, &s.cfg.limits, &s.cfg.script_settings(), &w)
                .err()
                .map(|f| f.to_string()),
            Err(e) => Some(format!("cannot start a script thread: {e}")),
        };
        if let Some((at, len)) = stamp {
            seen.insert(path.to_path_buf(), (at, len, error.clone()));
        }
        error
    }
}

/// Gathers the overview. Asking never takes the run lock.
pub fn gather(s: &Setup, checks: &ScriptChecks) -> Result<Overview, Failure> {
    let state = State::open(&s.area.state_path())?;
    let waiting = waiting_files(&s.area);
    let running = crate::runlock::holder(&s.area);
    let mut tools = Vec::new();
    for tool in TOOLS {
        let mut presets: Vec<_> = s.presets.for_tool(tool).collect();
        presets.sort_by_key(|p| p.order);
        let presets = presets
            .into_iter()
            .map(|p| PresetView {
                name: p.name.clone(),
                label: p.label(),
                files: p.file_names(),
                script: p.script_name(),
                on_demand: p.on_demand,
                waiting: waiting
                    .iter()
                    .filter(|(n, _)| s.presets.for_file(n).is_some_and(|q| q.name == p.name))
                    .map(|(n, _)| n.clone())
                    .collect(),
            })
            .collect();
        let last = state
            .recent_files(Some(tool), LAST_FILES)?
            .into_iter()
            .map(|r| file_view(s, r, running.as_deref()))
            .collect();
        tools.push(ToolView {
            tool: tool.to_string(),
            presets,
            last,
        });
    }
    let (failed_rows, failed_files) = state.recent_problem_counts(RECENT_RUNS)?;
    Ok(Overview {
        data: s.area.root().display().to_string(),
        drop_folder: s
            .cfg
            .feed
            .drop_folder
            .as_ref()
            .map(|d| d.display().to_string()),
        last_capture: state.last_capture()?,
        unmatched: waiting
            .iter()
            .filter(|(n, _)| s.presets.for_file(n).is_none())
            .map(|(n, _)| n.clone())
            .collect(),
        scripts: scripts(s, checks),
        failed_rows,
        failed_files,
        mail_failures: state.mail_failures(10)?,
        trybacks: names_in(s, filearea::TRYBACKS).unwrap_or_default(),
        rejected: names_in(s, filearea::REJECTED).unwrap_or_default(),
        held: names_in(s, filearea::HELD),
        target: match s.cfg.target.kind {
            crate::config::TargetKind::Embedded => "the embedded store (moodle.db)".to_string(),
            crate::config::TargetKind::Moodle => format!("Moodle at {}", s.cfg.target.url),
        },
        running,
        tools,
    })
}

/// A file's record in words; one left `running` with no run holding the lock was interrupted.
pub fn file_view(s: &Setup, record: FileRecord, running: Option<&str>) -> FileView {
    let why = || {
        record
            .message
            .clone()
            .unwrap_or_else(|| "no reason recorded".into())
    };
    let (state, how) = match record.status.as_str() {
        "running" => match running {
            Some(h) => ("running", format!("running now ({h})")),
            None => ("interrupted", "interrupted: the run processing it ended without finishing it; the next run processes it again".to_string()),
        },
        "interrupted" => ("interrupted", "interrupted: the run processing it ended without finishing it; it was run again".to_string()),
        "aborted" => ("stopped", format!("stopped: {}", why())),
        "rejected" => ("refused", format!("refused: {}", why())),
        other => (
            "done",
            format!("{other}: {}", record.counts.summary_line()),
        ),
    };
    let report = record.report.as_deref().map(|r| relative(s, r));
    FileView {
        state,
        how,
        report,
        record,
    }
}

/// A recorded path relative to the data folder, as the file manager names it.
pub fn relative(s: &Setup, path: &str) -> String {
    let p = std::path::Path::new(path);
    p.strip_prefix(s.area.root())
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Every script a preset uses, with why it does not compile (if it does not).
pub fn scripts(s: &Setup, checks: &ScriptChecks) -> Vec<ScriptView> {
    let mut seen: Vec<ScriptView> = Vec::new();
    for p in &s.presets.all {
        let name = p.script_name();
        if let Some(v) = seen.iter_mut().find(|v| v.name == name) {
            v.used_by.push(p.name.clone());
            continue;
        }
        seen.push(ScriptView {
            name,
            used_by: vec![p.name.clone()],
            error: checks.check(s, &p.script),
        });
    }
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    seen
}

/// The visible files of an area, by name; `None` when the folder does not exist.
fn names_in(s: &Setup, area: &str) -> Option<Vec<String>> {
    let dir = std::fs::read_dir(s.area.dir(area)).ok()?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Some(names)
}
