//! `moosync run`: process waiting input files, tool by tool, in dependency order.

use super::{exit, setup};
use crate::codes::{Code, Failure};
use crate::filearea::{self, FileArea};
use crate::preset::{Preset, TOOLS};
use crate::rules::{Script, Workers};
use crate::run::{fingerprint, process_file, FileResult, InputKind, RunEnv};
use crate::runlock::{LockError, RunLock};
use crate::sinks::FileEnd;
use crate::state::State;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Tools to run (default: every tool with waiting input), or presets by name, such as
    /// courses.reset for an on-demand preset.
    pub tools: Vec<String>,
    /// Run on this file instead of the inbox (name one tool, or let its name pick the preset).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Go through every row as a real run would, but write nothing and move no file.
    #[arg(long)]
    pub dry_run: bool,
    /// Also print each failed row (the report always has them).
    #[arg(long, short)]
    pub verbose: bool,
    /// Never draw a progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(data: &Path, args: RunArgs) -> i32 {
    setup::exit_code(run_files(data, args, None).map(|r| r.code))
}

/// What a run did, for `cron`'s summary mail.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub code: i32,
    /// One line per file, as printed; and the capture's messages.
    pub lines: Vec<String>,
}

/// Runs the waiting files. `held` is the data folder's lock when the caller (cron) took it
/// to keep it past the run.
pub(super) fn run_files(
    data: &Path,
    args: RunArgs,
    held: Option<&RunLock>,
) -> Result<RunSummary, Failure> {
    let s = setup::load(data)?;
    for t in &args.tools {
        if !TOOLS.contains(&t.as_str()) && !s.presets.all.iter().any(|p| p.is_named(t)) {
            let keys: Vec<&str> = s.presets.all.iter().map(|p| p.name.as_str()).collect();
            return Err(Failure::new(
                Code::PresetInvalid,
                format!(
                    "unknown tool or preset '{t}'; tools are: {}; presets are: {}",
                    TOOLS.join(", "),
                    keys.join(", ")
                ),
            ));
        }
    }
    let _lock = match held {
        Some(_) => None,
        None => match take_lock(&s.area) {
            Ok(l) => Some(l),
            Err(code) => {
                if code == exit::LOCKED {
                    alarm_stuck_locks(&s);
                }
                return Ok(RunSummary {
                    code,
                    lines: Vec::new(),
                });
            }
        },
    };
    let state = State::open(&s.area.state_path())?;
    let mut summary = RunSummary::default();
    // What a killed run left: its in-progress files are marked, its temporary files go.
    for name in state.mark_interrupted()? {
        say!("{name}: the run processing it was interrupted; it runs again");
    }
    filearea::remove_stale_temps(&s.area);
    // Files the external sender dropped come in first; a dry run moves nothing.
    if !args.dry_run {
        let captured = crate::feed::capture(&s.area, &s.cfg, &state, std::time::SystemTime::now());
        summary
            .lines
            .extend(report_capture(&s.area, &state, &captured));
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
        say!(
            "recovered {}/{}, left claimed by an interrupted run",
            filearea::INBOX,
            file_name(&back)
        );
    }
    let mut left = Vec::new();
    let work = collect_work(&s, &args, &mut left)?;
    let mut code = exit::OK;
    if !left.is_empty() {
        // Input that was not run: nothing was done for it.
        code = exit::INPUT_ERROR;
        summary.lines.extend(left);
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
    let run_id = state.start_run(&command, args.dry_run)?;
    let mut target = match crate::target::open(&s.area.store_path(), &s.area.state_path(), &s.cfg) {
        Ok(t) => t,
        Err(f) => {
            let _ = state.finish_run(run_id, exit::INPUT_ERROR);
            return Err(f);
        }
    };
    let env = RunEnv {
        area: &s.area,
        cfg: &s.cfg,
        state: &state,
        run_id,
        dry_run: args.dry_run,
        progress: !args.quiet && std::io::stderr().is_terminal(),
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
                say!("{} {}: not run: {f}", preset.tool, file_name(path));
                code = code.max(exit::INPUT_ERROR);
                continue;
            }
        };
        match process_file(&env, path, *kind, preset, script, target.as_mut()) {
            Ok(r) => {
                summary
                    .lines
                    .push(print_result(&s.area, &r, args.dry_run, args.verbose));
                code = code.max(match r.end {
                    FileEnd::Done if r.counts.failed > 0 => exit::ROWS_FAILED,
                    FileEnd::Done => exit::OK,
                    _ => exit::INPUT_ERROR,
                });
            }
            Err(f) => {
                let line = format!("{} {}: stopped: {f}", preset.tool, file_name(path));
                say!("{line}");
                summary.lines.push(line);
                code = exit::INPUT_ERROR;
            }
        }
    }
    let _ = state.finish_run(run_id, code);
    summary.code = code;
    Ok(summary)
}

/// The threads every script of a run maps rows on.
pub(super) fn script_workers(cfg: &crate::config::Config) -> Result<Workers, Failure> {
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

/// Prints the capture's outcome, keeps it for `status`, and writes a capture report when
/// there is anything to read. Returns the lines for a summary mail.
fn report_capture(area: &FileArea, state: &State, c: &crate::feed::Captured) -> Vec<String> {
    if c.moved.is_empty() && c.messages.is_empty() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if !c.moved.is_empty() {
        lines.push(format!(
            "capture: {} file(s) moved from the drop folder into inbox/: {}",
            c.moved.len(),
            c.moved.join(", ")
        ));
    }
    lines.extend(c.messages.iter().map(|m| format!("capture: {m}")));
    for l in &lines {
        say!("{l}");
    }
    let _ = state.record_capture(c.moved.len(), &c.messages);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let path = filearea::free_name(
        &area
            .dir(filearea::REPORTS)
            .join(format!("{stamp}_capture.txt")),
    );
    let text = format!(
        "moosync capture report\nat:       {}\n\n{}\n",
        crate::state::now_text(),
        lines.join("\n")
    );
    if let Err(e) = filearea::write_atomic(&path, text.as_bytes()) {
        warn!(
            "moosync: cannot write the capture report {}: {e}",
            path.display()
        );
    }
    lines
}

type Work = (PathBuf, Preset, InputKind);

fn file_name(p: &Path) -> String {
    crate::source::file_name_of(p)
}

/// The files to run, in run order. `notes` gets a line for each entry of inbox/ that would be
/// input but is left alone (a link).
fn collect_work(
    s: &setup::Setup,
    args: &RunArgs,
    notes: &mut Vec<String>,
) -> Result<Vec<Work>, Failure> {
    if let Some(file) = &args.file {
        let name = file_name(file);
        // Told by its metadata: a FIFO is never opened, so nothing waits for its writer.
        let kind = std::fs::metadata(file)
            .map_err(|e| {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    _ => format!("cannot read: {e}"),
                };
                Failure::new(Code::FileUnreadable, format!("{}: {why}", file.display()))
            })?
            .file_type();
        if !kind.is_file() && !kind.is_dir() {
            return Err(crate::filekind::refusal(
                &file.display().to_string(),
                crate::filekind::describe(kind),
            ));
        }
        let preset = match args.tools.as_slice() {
            [] => s.presets.for_file(&name).ok_or_else(|| {
                Failure::new(
                    Code::PresetInvalid,
                    format!(
                        "{name} matches no preset; name the tool: moosync run TOOL --file {}",
                        file.display()
                    ),
                )
            })?,
            [tool] => s.presets.for_tool_and_file(tool, &name)?,
            _ => {
                return Err(Failure::new(
                    Code::PresetInvalid,
                    "--file takes at most one tool".to_string(),
                ))
            }
        };
        if kind.is_dir() && !preset.reads_archives() {
            return Err(Failure::new(
                Code::NotRegularFile,
                format!(
                    "{} is a folder; only the pictures tool reads folders (of images)",
                    file.display()
                ),
            ));
        }
        return Ok(vec![(file.clone(), preset.clone(), InputKind::Given)]);
    }
    let mut work = Vec::new();
    for (name, path, kind) in inbox_entries(&s.area) {
        let Some(p) = s.presets.for_file(&name) else {
            continue;
        };
        if !selected(p, &args.tools) {
            continue;
        }
        if kind.is_symlink() {
            // Never followed, never moved: it could point anywhere. Named, so it is not
            // mistaken for a file that ran.
            let line = format!(
                "{} {name}: not run: {} inbox/{name} is a symbolic link; links in inbox/ are never followed, so it is left where it is: put the file itself in inbox/",
                p.tool,
                Code::NotRegularFile
            );
            say!("{line}");
            notes.push(line);
            continue;
        }
        // Whatever else is not the input the preset reads (a FIFO, a device, a folder for a
        // tool that reads files) is refused by its run, without being opened, and moves to
        // Rejected/ with a report saying what it is.
        work.push((path, p.clone(), InputKind::Inbox));
    }
    // Presets in run order (courses, users, group definitions, enrolments, group members),
    // then files in name order (chunks of a split feed).
    work.sort_by_key(|(path, p, _)| {
        (
            p.order,
            TOOLS.iter().position(|t| *t == p.tool),
            // A clash-renamed newer file (`users~2.csv`) right after the one it clashed with.
            filearea::clash_base(&file_name(path)),
        )
    });
    Ok(work)
}

/// Whether a run asked for `names` takes the preset's files. An on-demand preset (course
/// reset and check) runs only when named itself.
fn selected(p: &Preset, names: &[String]) -> bool {
    if names.is_empty() {
        return !p.on_demand;
    }
    names
        .iter()
        .any(|n| (p.tool == *n && !p.on_demand) || p.name == *n)
}

/// Files (and folders, which only the pictures tool takes) waiting in inbox/, sorted by name;
/// hidden and temporary names are not input, and links are not waiting files.
pub fn waiting_files(area: &FileArea) -> Vec<(String, PathBuf)> {
    inbox_entries(area)
        .into_iter()
        .filter(|(_, _, kind)| !kind.is_symlink())
        .map(|(name, path, _)| (name, path))
        .collect()
}

/// Everything in inbox/ but hidden and temporary names, sorted by name, with its type as
/// listed (a link is not followed).
fn inbox_entries(area: &FileArea) -> Vec<(String, PathBuf, std::fs::FileType)> {
    walkdir::WalkDir::new(area.dir(filearea::INBOX))
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().to_path_buf(),
                e.file_type(),
            )
        })
        .filter(|(n, _, _)| {
            !n.starts_with('.')
                && !n.starts_with('_')
                && ![".filepart", ".part", ".tmp"]
                    .iter()
                    .any(|x| n.ends_with(x))
        })
        .collect()
}

/// A run that found the data folder locked still checks the drop folder's lock files: the
/// run holding it may be the capture stuck on a hung mount that the alarm is for.
pub(super) fn alarm_stuck_locks(s: &setup::Setup) {
    let Ok(state) = State::open(&s.area.state_path()) else {
        return;
    };
    for m in crate::feed::check_stuck_locks(&s.cfg, &s.area, &state, std::time::SystemTime::now()) {
        warn!("moosync: {m}");
    }
}

/// Takes the data folder's run lock, or says who holds it and gives the exit code.
pub(super) fn take_lock(area: &FileArea) -> Result<RunLock, i32> {
    crate::runlock::take(area).map_err(|e| {
        warn!("moosync: {}: {e}", area.root().display());
        match e {
            LockError::Held(_) => exit::LOCKED,
            LockError::Io(..) => exit::INPUT_ERROR,
        }
    })
}

fn rel(area: &FileArea, p: &Path) -> String {
    p.strip_prefix(area.root())
        .unwrap_or(p)
        .display()
        .to_string()
}

fn print_result(area: &FileArea, r: &FileResult, dry_run: bool, verbose: bool) -> String {
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
            line.push_str(&format!("; {what} {}", rel(area, p)));
        }
    }
    say!("{line}");
    if verbose {
        if let Some(report) = &r.report {
            if let Ok(text) = std::fs::read_to_string(report) {
                for l in text.lines().filter(|l| l.contains(": failed ")) {
                    say!("  {l}");
                }
            }
        }
    }
    line
}
