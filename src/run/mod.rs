//! A run: every waiting file (or one given file), tool by tool in dependency order, under
//! the data folder's lock. The command line, cron and the web console all run through here;
//! what they show of it comes to them through an [`Observer`].

pub mod file;
pub mod input;
pub mod unchanged;
pub mod work;

pub use file::{fingerprint, map_row, FileResult, InputKind};
pub use work::waiting_files;

use crate::codes::{Code, Failure};
use crate::exit;
use crate::filearea;
use crate::rules::{Script, Workers};
use crate::runlock::{LockError, RunLock};
use crate::setup::Setup;
use crate::sinks::FileEnd;
use crate::state::State;
use file::{process_file, RunEnv};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Tools or presets by name; none: every tool with waiting input.
    pub names: Vec<String>,
    /// One file instead of the inbox, left where it is.
    pub file: Option<PathBuf>,
    /// Every row is planned as in a real run, but nothing is applied and no file moves.
    pub dry_run: bool,
    /// Every row is applied, also those unchanged since they were last applied.
    pub full: bool,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// The exit code (see [`crate::exit`]).
    pub code: i32,
    /// What the run said, in order: capture, files left alone, one line per file.
    pub lines: Vec<String>,
    pub files: Vec<FileResult>,
}

/// Who watches a run as it goes: the command line prints, the web console pushes events.
/// Every method has a default that ignores it.
pub trait Observer: Sync {
    /// Something the run did besides a file's result: the capture, a claim put back, an
    /// input left alone.
    fn note(&self, _line: &str) {}
    /// Something an operator must see at once: the lock held by another run, an alarm.
    fn warn(&self, _line: &str) {}
    /// A file starts: about how many rows it has (its line count).
    fn file_started(&self, _tool: &str, _name: &str, _rows: u64) {}
    /// Rows of the current file done so far.
    fn rows_done(&self, _done: u64) {}
    /// A file ended; `line` says how, as `run` prints it.
    fn file_done(&self, _result: &FileResult, _line: &str) {}
}

/// An observer that shows nothing.
pub struct Silent;
impl Observer for Silent {}

/// Runs what `req` asks for. `held` is the data folder's lock when the caller took it to
/// keep it past the run (cron); otherwise the run takes it, and another run holding it
/// gives [`exit::LOCKED`] with the holder named.
pub fn run(
    s: &Setup,
    req: &Request,
    held: Option<&RunLock>,
    obs: &dyn Observer,
) -> Result<Summary, Failure> {
    work::check_names(s, &req.names)?;
    let _lock = match held {
        Some(_) => None,
        None => match take_lock(s, obs) {
            Ok(l) => Some(l),
            Err(code) => {
                return Ok(Summary {
                    code,
                    ..Default::default()
                })
            }
        },
    };
    let state = State::open(&s.area.state_path())?;
    let mut summary = Summary::default();
    let note = |summary: &mut Summary, line: String| {
        obs.note(&line);
        summary.lines.push(line);
    };
    // What a killed run left: its in-progress files are marked, its temporary files go.
    for name in state.mark_interrupted()? {
        note(
            &mut summary,
            format!("{name}: the run processing it was interrupted; it runs again"),
        );
    }
    filearea::remove_stale_temps(&s.area);
    // Files the external sender dropped come in first; a dry run moves nothing.
    if !req.dry_run {
        let captured = crate::feed::capture(&s.area, &s.cfg, &state, std::time::SystemTime::now());
        for line in crate::feed::record(&s.area, &state, &captured) {
            note(&mut summary, line);
        }
    }
    // Files a run that died had claimed wait again before anything is chosen.
    for back in filearea::recover_claims(&s.area.dir(filearea::INBOX)).map_err(|e| {
        Failure::new(
            Code::FileUnreadable,
            format!(
                "cannot recover claimed files in inbox/{}: {e}",
                filearea::CLAIMED
            ),
        )
    })? {
        note(
            &mut summary,
            format!(
                "recovered {}/{}, left claimed by an interrupted run",
                filearea::INBOX,
                file_name(&back)
            ),
        );
    }
    let mut left = Vec::new();
    let work = work::collect(s, &req.names, req.file.as_deref(), &mut left)?;
    let mut code = exit::OK;
    for line in left {
        // Input that was not run: nothing was done for it.
        code = exit::INPUT_ERROR;
        note(&mut summary, line);
    }
    let work: Vec<_> = work
        .into_iter()
        .filter(|(path, _, kind)| {
            *kind == InputKind::Given
                || s.cfg.output.remove_input
                || !state
                    .already_done(&file_name(path), &fingerprint(path))
                    .unwrap_or(false)
        })
        .collect();
    if work.is_empty() {
        summary.code = code;
        return Ok(summary);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let run_id = state.start_run(&command, req.dry_run)?;
    let mut target = match crate::backends::open(&s.area.store_path(), &s.area.state_path(), &s.cfg)
    {
        Ok(t) => t,
        Err(f) => {
            let _ = state.finish_run(run_id, exit::of_failure(&f));
            return Err(f);
        }
    };
    let skipping = match s.cfg.run.skip_unchanged {
        true => match target.identity() {
            Ok(site) => Some(unchanged::Skipping {
                rules: unchanged::rules_print(&s.area, &site),
                skip: !req.full,
            }),
            Err(f) => {
                let _ = state.finish_run(run_id, exit::of_failure(&f));
                return Err(f);
            }
        },
        false => None,
    };
    let env = RunEnv {
        area: &s.area,
        cfg: &s.cfg,
        state: &state,
        run_id,
        dry_run: req.dry_run,
        skipping,
        observer: obs,
    };
    // Each script compiles once per run, however many files use it; all share the threads.
    let workers = script_workers(&s.cfg)?;
    let mut scripts: HashMap<PathBuf, Result<Script, Failure>> = HashMap::new();
    for (path, preset, kind) in &work {
        let script = scripts.entry(preset.script.clone()).or_insert_with(|| {
            Script::load(
                &preset.script,
                &s.cfg.limits,
                &s.cfg.script_settings(),
                &workers,
            )
        });
        let script = match script {
            Ok(sc) => sc,
            Err(f) => {
                // A broken script is a configuration error: the file stays waiting in inbox/.
                let line = format!("{} {}: not run: {f}", preset.tool, file_name(path));
                note(&mut summary, line);
                code = code.max(exit::INPUT_ERROR);
                continue;
            }
        };
        match process_file(&env, path, *kind, preset, script, target.as_mut()) {
            Ok(r) => {
                let line = describe(s, &r, req.dry_run);
                obs.file_done(&r, &line);
                summary.lines.push(line);
                code = code.max(match &r.end {
                    FileEnd::Done if r.counts.failed > 0 => exit::ROWS_FAILED,
                    FileEnd::Done => exit::OK,
                    FileEnd::Rejected(_) => exit::INPUT_ERROR,
                    FileEnd::Aborted(f) => exit::of_failure(f),
                });
                summary.files.push(r);
            }
            Err(f) => {
                let line = format!("{} {}: stopped: {f}", preset.tool, file_name(path));
                note(&mut summary, line);
                code = code.max(exit::of_failure(&f));
            }
        }
    }
    let _ = state.finish_run(run_id, code);
    summary.code = code;
    Ok(summary)
}

/// The threads every script of a run maps rows on.
pub fn script_workers(cfg: &crate::config::Config) -> Result<Workers, Failure> {
    Workers::new(&cfg.limits, cfg.run.workers).map_err(|e| {
        Failure::new(
            Code::ConfigInvalid,
            format!(
                "cannot start the script threads ({} MiB of stack each, for the [limits]): {e}; lower [run] workers or the [limits]",
                crate::rules::stack_bytes(&cfg.limits) >> 20
            ),
        )
    })
}

/// Takes the data folder's run lock, or says who holds it and gives the exit code. A run
/// that finds it held still checks the drop folder's lock files: the run holding it may be
/// a capture stuck on a hung mount, which the alarm is for.
pub fn take_lock(s: &Setup, obs: &dyn Observer) -> Result<RunLock, i32> {
    crate::runlock::take(&s.area).map_err(|e| {
        obs.warn(&format!("moosync: {}: {e}", s.area.root().display()));
        match e {
            LockError::Held(_) => {
                if let Ok(state) = State::open(&s.area.state_path()) {
                    let now = std::time::SystemTime::now();
                    for m in crate::feed::check_stuck_locks(&s.cfg, &s.area, &state, now) {
                        obs.warn(&format!("moosync: {m}"));
                    }
                }
                exit::LOCKED
            }
            LockError::Io(..) => exit::INPUT_ERROR,
        }
    })
}

fn file_name(p: &Path) -> String {
    crate::source::file_name_of(p)
}

/// One line saying how a file ended, with where its report, tryback or refused input went.
pub fn describe(s: &Setup, r: &FileResult, dry_run: bool) -> String {
    let mode = if dry_run { "[dry run] " } else { "" };
    let mut line = match &r.end {
        FileEnd::Done => format!("{mode}{} {}: {}", r.tool, r.name, r.counts.summary_line()),
        FileEnd::Rejected(f) => format!("{mode}{} {}: refused {f}", r.tool, r.name),
        FileEnd::Aborted(f) => format!(
            "{mode}{} {}: stopped {f}; the file stays in inbox/ for the next run",
            r.tool, r.name
        ),
    };
    for (what, p) in [
        ("moved to", &r.rejected_to),
        ("report", &r.report),
        ("tryback", &r.tryback),
    ] {
        if let Some(p) = p {
            let rel = p.strip_prefix(s.area.root()).unwrap_or(p);
            line.push_str(&format!("; {what} {}", rel.display()));
        }
    }
    line
}
