//! The pipeline for one file: source → rules → target → events to every sink.
//!
//! A reader thread parses rows and maps each chunk through the script on all cores (input
//! order kept); this thread applies chunks to the target in batches and feeds the sinks.

use super::input;
use super::unchanged::{row_print, Print};
use crate::backends::Target;
use crate::codes::{Code, Failure};
use crate::command::{Command, Mapped};
use crate::config::Config;
use crate::filearea::{self, FileArea};
use crate::outcome::{Action, Change, Counts, Outcome, RowReport};
use crate::plan::{self, Planner};
use crate::preset::Preset;
use crate::rules::{RowInput, Script};
use crate::sinks::{FileEnd, JournalSink, ProgressSink, ReportSink, Sink};
use crate::source::Row;
use crate::state::{now_text, State};
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Everything a file's run shares with the other files of the same `moosync run`.
pub struct RunEnv<'a> {
    pub area: &'a FileArea,
    pub cfg: &'a Config,
    pub state: &'a State,
    pub run_id: i64,
    pub dry_run: bool,
    /// How rows unchanged since they were last applied are skipped; `None`: they are not
    /// (`[run] skip_unchanged = false`).
    pub skipping: Option<super::unchanged::Skipping>,
    /// Told of each file's start and its rows as they are done.
    pub observer: &'a dyn super::Observer,
}

/// Where the input came from decides what happens to it afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Waiting in inbox/: archived (moved) or removed per settings.
    Inbox,
    /// Named with `--file`: not ours, so it is copied to the archive and left where it is.
    Given,
}

#[derive(Debug, Clone)]
pub struct FileResult {
    pub tool: String,
    pub name: String,
    pub counts: Counts,
    pub end: FileEnd,
    pub report: Option<PathBuf>,
    pub tryback: Option<PathBuf>,
    pub archive: Option<PathBuf>,
    /// Where a refused file now waits for an operator.
    pub rejected_to: Option<PathBuf>,
}

/// A row after mapping: ready for the target, or already decided.
enum Prepared {
    Ready(Vec<Command>),
    Decided(Outcome),
}

struct Chunk {
    /// Each row's line, byte range and print (when rows are remembered).
    rows: Vec<(u64, u64, u64, Option<Print>)>,
    mapped: Vec<Prepared>,
}

fn stamp() -> String {
    chrono::Local::now().format("%Y%m%d-%H%M%S").to_string()
}

/// Size and modification time: enough to tell a re-dropped file from one already processed.
/// A folder's own size and time do not change when an image in it is replaced: its listing
/// is summed instead.
pub fn fingerprint(path: &Path) -> String {
    if path.is_dir() {
        let (mut files, mut bytes, mut newest) = (0u64, 0u64, 0u128);
        for e in walkdir::WalkDir::new(path)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if let Ok(m) = e.metadata() {
                files += 1;
                bytes += m.len();
                let t = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                newest = newest.max(t);
            }
        }
        return format!("dir:{files}:{bytes}:{newest}");
    }
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}:{mtime}", m.len())
        }
        Err(_) => String::new(),
    }
}

pub fn process_file(
    env: &RunEnv,
    path: &Path,
    kind: InputKind,
    preset: &Preset,
    script: &Script,
    target: &mut dyn Target,
) -> Result<FileResult, Failure> {
    let name = crate::source::file_name_of(path);
    let stamp = stamp();
    let file_id = env.state.start_file(
        env.run_id,
        &preset.tool,
        &preset.name,
        &name,
        &fingerprint(path),
        env.dry_run,
    )?;
    // From here on the run reads, archives or rejects the claimed file, whatever the feed
    // drops into inbox/ meanwhile.
    let inbox = env.area.dir(filearea::INBOX);
    let claimed = match kind {
        InputKind::Inbox => filearea::claim(&inbox, path).map_err(|e| io(&name, e))?,
        InputKind::Given => path.to_path_buf(),
    };
    let input = Input {
        name: &name,
        path: &claimed,
        kind,
        stamp: &stamp,
    };
    let mut counts = Counts::default();
    let (end, written) = match open_sinks(env, &input, preset, script, target, file_id) {
        Ok(mut o) => {
            let end = run_rows(
                env,
                o.opened,
                preset,
                script,
                target,
                &mut o.sinks,
                &mut counts,
            );
            let written = finish_sinks(o.sinks, o.report_path.as_deref(), &counts, &end);
            (end, written)
        }
        Err(f) => (FileEnd::Aborted(f), Written::default()),
    };
    // The input is archived only once everything that records its rows is on disk: else it
    // waits in inbox/ and runs again whole (rows already applied are found unchanged).
    let end = match written.failure {
        Some(f) => FileEnd::Aborted(Failure::new(
            Code::OutputUnwritable,
            format!("{}; {name} is not archived", f.message),
        )),
        None => end,
    };
    let settled = settle_input(env, &input, &end);
    // Not archived, rejected or removed (dry run, stopped, kept by settings, or a move that
    // failed): waiting again.
    if kind == InputKind::Inbox && claimed.exists() {
        filearea::release(&inbox, &claimed).map_err(|e| io(&name, e))?;
    }
    let ((archive, rejected_to), end) = match settled {
        Ok(kept) => (kept, end),
        Err(f) => ((None, None), FileEnd::Aborted(f)),
    };
    let (status, message) = match &end {
        FileEnd::Done => ("done", None),
        FileEnd::Rejected(f) => ("rejected", Some(f.to_string())),
        FileEnd::Aborted(f) => ("aborted", Some(f.to_string())),
    };
    let show = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    env.state.finish_file(
        file_id,
        status,
        &counts,
        message.as_deref(),
        show(&written.report).as_deref(),
        show(&written.tryback).as_deref(),
        show(&archive).as_deref(),
    )?;
    Ok(FileResult {
        tool: preset.tool.clone(),
        name,
        counts,
        end,
        report: written.report,
        tryback: written.tryback,
        archive,
        rejected_to,
    })
}

/// The file being processed: its name as the operator knows it, and where it is now.
struct Input<'a> {
    name: &'a str,
    path: &'a Path,
    kind: InputKind,
    stamp: &'a str,
}

type Sinks<'a> = Vec<Box<dyn Sink + Send + 'a>>;

/// An input opened for its rows, with the sinks that record them.
struct Opening<'a> {
    sinks: Sinks<'a>,
    /// The input's own problems are the file's outcome.
    opened: Result<Box<dyn input::Input>, Failure>,
    report_path: Option<PathBuf>,
}

/// Opens the input and the sinks that record its rows (report, journal, tryback, progress).
/// A sink that cannot be opened stops the file.
fn open_sinks<'a>(
    env: &'a RunEnv,
    input: &Input,
    preset: &Preset,
    script: &Script,
    target: &dyn Target,
    file_id: i64,
) -> Result<Opening<'a>, Failure> {
    let name = input.name;
    let out = &env.cfg.output;
    let report_path = out.reports.then(|| {
        filearea::free_name(
            &env.area
                .dir(filearea::REPORTS)
                .join(format!("{}_{}_{name}.txt", input.stamp, preset.tool)),
        )
    });
    let mut report_sink = match &report_path {
        Some(report_path) => {
            let heading = crate::sinks::report::ReportHeading {
                tool: preset.tool.clone(),
                preset: preset.name.clone(),
                script: script.name().to_string(),
                file: name.to_string(),
                target: target.describe(),
                started: now_text(),
                dry_run: env.dry_run,
                format: input::describe(preset, env.cfg),
            };
            Some(ReportSink::create(report_path.clone(), heading)?)
        }
        None => None,
    };
    let opened = input::open(input.path, preset, env.cfg, script);
    let mut sinks: Sinks = Vec::new();
    if let Some(mut report) = report_sink.take() {
        if let Ok(rows) = &opened {
            for note in rows.notes() {
                report.note(&note)?;
            }
            // Rows of an archive are its entries: each report line names its entry.
            if let Some(names) = rows.entry_names() {
                report = report.with_entry_names(names);
            }
        }
        sinks.push(Box::new(report));
    }
    if !env.dry_run {
        sinks.push(Box::new(JournalSink::open(
            &env.area.state_path(),
            file_id,
            &preset.tool,
            &preset.name,
        )?));
    }
    if let Ok(rows) = &opened {
        if out.trybacks && !env.dry_run {
            let stem = Path::new(name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tryback_path = |ext: &str| {
                filearea::free_name(
                    &env.area
                        .dir(filearea::TRYBACKS)
                        .join(format!("{stem}_tryback_{}{ext}", input.stamp)),
                )
            };
            sinks.push(rows.tryback(&tryback_path));
        }
        sinks.push(Box::new(ProgressSink::new(
            env.observer,
            &preset.tool,
            name,
            rows.rows(),
        )));
    }
    Ok(Opening {
        sinks,
        opened,
        report_path,
    })
}

/// Streams the rows to the target, or tells why none ran.
fn run_rows(
    env: &RunEnv,
    opened: Result<Box<dyn input::Input>, Failure>,
    preset: &Preset,
    script: &Script,
    target: &mut dyn Target,
    sinks: &mut Sinks,
    counts: &mut Counts,
) -> FileEnd {
    match opened {
        // A broken header() is the script's fault: the file waits in inbox/ for the fix.
        Err(f) if f.code.is_script() => FileEnd::Aborted(f),
        Err(f) => FileEnd::Rejected(f),
        Ok(rows) => match known_prints(env, preset) {
            Ok(known) => stream(env, rows, preset, &known, script, target, sinks, counts),
            Err(f) => FileEnd::Aborted(f),
        },
    }
}

/// What the sinks wrote, and the first one that could not finish.
#[derive(Default)]
struct Written {
    report: Option<PathBuf>,
    tryback: Option<PathBuf>,
    failure: Option<Failure>,
}

/// Closes every sink, even after one failed: the store has committed, so each record that
/// can be kept is kept.
fn finish_sinks(sinks: Sinks, report: Option<&Path>, counts: &Counts, end: &FileEnd) -> Written {
    let mut w = Written::default();
    for sink in sinks {
        match sink.finish(counts, end) {
            // Only the report and the tryback write files.
            Ok(Some(p)) if Some(p.as_path()) == report => w.report = Some(p),
            Ok(Some(p)) => w.tryback = Some(p),
            Ok(None) => {}
            Err(f) => {
                w.failure.get_or_insert(f);
            }
        }
    }
    w
}

/// Archives, removes or rejects the input as its end and the settings say; returns the
/// archive and the rejected copy. Nothing moves in a dry run.
fn settle_input(
    env: &RunEnv,
    input: &Input,
    end: &FileEnd,
) -> Result<(Option<PathBuf>, Option<PathBuf>), Failure> {
    let (name, path, out) = (input.name, input.path, &env.cfg.output);
    let (mut archive, mut rejected_to) = (None, None);
    if env.dry_run {
        return Ok((None, None));
    }
    let archive_dest = || {
        env.area
            .dir(filearea::ARCHIVES)
            .join(format!("{}_{name}", input.stamp))
    };
    match (end, input.kind) {
        (FileEnd::Done, InputKind::Inbox) => {
            if out.archive {
                archive = Some(
                    if out.remove_input {
                        filearea::move_atomic(path, &archive_dest())
                    } else {
                        filearea::copy_atomic(path, &archive_dest())
                    }
                    .map_err(|e| unwritable(name, "archive", e))?,
                );
            } else if out.remove_input {
                if path.is_dir() {
                    std::fs::remove_dir_all(path)
                } else {
                    std::fs::remove_file(path)
                }
                .map_err(|e| io(name, e))?;
            }
        }
        (FileEnd::Done, InputKind::Given) if out.archive => {
            archive = Some(
                filearea::copy_atomic(path, &archive_dest())
                    .map_err(|e| unwritable(name, "archive", e))?,
            );
        }
        // A refused file never runs again by itself: it waits in Rejected/ for an operator.
        (FileEnd::Rejected(_), InputKind::Inbox) => {
            let dest = env
                .area
                .dir(filearea::REJECTED)
                .join(format!("{}_{name}", input.stamp));
            rejected_to = Some(
                filearea::move_atomic(path, &dest)
                    .map_err(|e| unwritable(name, "move to Rejected/", e))?,
            );
        }
        // Aborted: the input goes back to inbox/ and the next run tries again.
        _ => {}
    }
    // A move keeps the feed's own modification time: the archive's age, which pruning
    // goes by, starts now.
    for kept in [&archive, &rejected_to].into_iter().flatten() {
        // A refused FIFO or device keeps its time: opening it could wait or act.
        let file_or_folder =
            std::fs::symlink_metadata(kept).is_ok_and(|m| m.is_file() || m.is_dir());
        if file_or_folder {
            let _ = std::fs::File::open(kept)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
    }
    Ok((archive, rejected_to))
}

fn unwritable(name: &str, what: &str, e: std::io::Error) -> Failure {
    Failure::new(
        Code::OutputUnwritable,
        format!("{name}: cannot {what}: {e}; the file runs again from inbox/"),
    )
}

fn io(name: &str, e: std::io::Error) -> Failure {
    Failure::new(
        Code::Storage,
        format!("{name}: cannot move or copy the input: {e}"),
    )
}

/// Maps one row through the script, or decides it without the script. The row's payload (an
/// image) goes to the commands that take one.
pub fn map_row(script: &Script, columns: &[String], row: Row) -> Result<Mapped, Failure> {
    if let Some(p) = row.problem {
        return Err(p);
    }
    let mapped = script.map_row(RowInput {
        columns,
        fields: row.fields,
    })?;
    match (mapped, row.payload) {
        (Mapped::Commands(mut cmds), Some(image)) => {
            crate::command::attach_image(&mut cmds, &image);
            Ok(Mapped::Commands(cmds))
        }
        (mapped, _) => Ok(mapped),
    }
}

/// The prints of the rows the preset's last file applied, when this run skips them.
fn known_prints(env: &RunEnv, preset: &Preset) -> Result<HashSet<Print>, Failure> {
    match env.skipping {
        Some(s) if s.skip => env.state.row_prints(&preset.name),
        _ => Ok(HashSet::new()),
    }
}

/// A row through the script: ready for the target, or decided without it.
fn prepare(script: &Script, columns: &[String], row: Row) -> Prepared {
    match map_row(script, columns, row) {
        Ok(Mapped::Commands(cmds)) if !cmds.is_empty() => Prepared::Ready(cmds),
        Ok(Mapped::Commands(_)) => {
            Prepared::Decided(Outcome::Skipped("the script returned no command".into()))
        }
        Ok(Mapped::Skip(why)) => Prepared::Decided(Outcome::Skipped(why)),
        Err(f) => Prepared::Decided(Outcome::Failed(f)),
    }
}

#[allow(clippy::too_many_arguments)]
fn stream(
    env: &RunEnv,
    mut source: Box<dyn input::Input>,
    preset: &Preset,
    known: &HashSet<Print>,
    script: &Script,
    target: &mut dyn Target,
    sinks: &mut [Box<dyn Sink + Send + '_>],
    counts: &mut Counts,
) -> FileEnd {
    let columns = source.columns().to_vec();
    let batch = env.cfg.run.batch_size.min(source.batch_limit());
    if let Err(f) = target.begin_file(env.dry_run) {
        return FileEnd::Aborted(f);
    }
    let (tx, rx) = crossbeam_channel::bounded::<Result<Chunk, Failure>>(2);
    let (skipping, preset_name) = (env.skipping, preset.name.as_str());
    // Reborrowed for the sink thread, so the file's closing changes can be counted after it.
    let row_counts = &mut *counts;
    let row_sinks = &mut *sinks;
    let result = std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let mut rows = Vec::with_capacity(batch);
            while rows.len() < batch {
                match source.next_row() {
                    Ok(Some(r)) => rows.push(r),
                    Ok(None) => break,
                    Err(f) => {
                        let _ = tx.send(Err(f));
                        return;
                    }
                }
            }
            if rows.is_empty() {
                return;
            }
            let print = |r: &Row| {
                let s = skipping.as_ref()?;
                r.problem.is_none().then(|| {
                    row_print(
                        &s.rules,
                        preset_name,
                        &columns,
                        &r.fields,
                        r.payload.as_deref().map(Vec::as_slice),
                    )
                })
            };
            let prints: Vec<Option<Print>> = rows.iter().map(print).collect();
            let ranges = rows
                .iter()
                .zip(&prints)
                .map(|(r, p)| (r.line, r.start, r.end, *p))
                .collect();
            let map_all = || {
                rows.into_par_iter()
                    .zip(prints)
                    .map(|(row, print)| match print {
                        // Neither the script nor the target sees a row kept as it was.
                        Some(p) if known.contains(&p) => Prepared::Decided(Outcome::Kept),
                        _ => prepare(script, &columns, row),
                    })
                    .collect()
            };
            // On the script threads, whose stacks are sized for the script limits.
            let mapped: Vec<Prepared> = script.workers().install(map_all);
            if tx
                .send(Ok(Chunk {
                    rows: ranges,
                    mapped,
                }))
                .is_err()
            {
                return; // the applying side stopped
            }
        });
        // The sinks get their own thread: the store's writer is the pipeline's critical path,
        // and report and journal writes would otherwise queue behind it.
        let (out_tx, out_rx) = crossbeam_channel::bounded::<Vec<RowReport>>(4);
        let sinking = scope.spawn(move || -> Result<(), Failure> {
            for batch in out_rx {
                for report in &batch {
                    row_counts.add(&report.outcome);
                    for s in row_sinks.iter_mut() {
                        s.row(report)?;
                    }
                }
            }
            Ok(())
        });
        let applied = apply_chunks(rx, env, target, out_tx);
        let sunk = sinking.join().expect("the sink thread does not panic");
        // A sink's own error explains a stopped pipeline better than the closed channel.
        sunk.and(applied)
    });
    match result {
        Ok(planned) => match target.finish_file() {
            Ok(rest) => {
                let closing: Vec<Change> = planned.into_iter().chain(rest).collect();
                counts.deleted += closing
                    .iter()
                    .filter(|c| c.action == Action::Deleted)
                    .count() as u64;
                for s in sinks.iter_mut() {
                    if let Err(f) = s.closing(&closing) {
                        return FileEnd::Aborted(f);
                    }
                }
                FileEnd::Done
            }
            Err(f) => FileEnd::Aborted(f),
        },
        Err(f) => {
            target.abort_file();
            FileEnd::Aborted(f)
        }
    }
}

/// Applies the chunks as they come, then the file's end (what the plan leaves for once
/// every row is applied); returns the end's changes.
fn apply_chunks(
    rx: crossbeam_channel::Receiver<Result<Chunk, Failure>>,
    env: &RunEnv,
    target: &mut dyn Target,
    out: crossbeam_channel::Sender<Vec<RowReport>>,
) -> Result<Vec<Change>, Failure> {
    let mut planner = Planner::new(env.cfg, env.dry_run);
    for chunk in rx {
        let chunk = chunk?;
        let mut ready: Vec<Vec<Command>> = Vec::new();
        let mut slots: Vec<Option<Outcome>> = Vec::with_capacity(chunk.mapped.len());
        for m in chunk.mapped {
            match m {
                Prepared::Ready(cmds) => {
                    ready.push(cmds);
                    slots.push(None);
                }
                Prepared::Decided(o) => slots.push(Some(o)),
            }
        }
        let mut applied = apply_rows(&mut planner, target, ready, env.dry_run)?.into_iter();
        let reports: Vec<RowReport> = chunk
            .rows
            .into_iter()
            .zip(slots)
            .map(|((line, start, end, print), slot)| RowReport {
                line,
                start,
                end,
                print,
                outcome: slot.unwrap_or_else(|| {
                    applied
                        .next()
                        .expect("the target returns one outcome per row")
                }),
            })
            .collect();
        if out.send(reports).is_err() {
            return Err(Failure::new(
                crate::codes::Code::Storage,
                "the report writers stopped",
            ));
        }
    }
    finish_plan(&mut planner, target, env.dry_run)
}

/// Plans and applies the file's end; its changes are the file's closing ones. A failure
/// stops the file, which runs again (its rows then unchanged) and tries again.
fn finish_plan(
    planner: &mut Planner,
    target: &mut dyn Target,
    dry_run: bool,
) -> Result<Vec<Change>, Failure> {
    let end = planner.finish_file(target)?;
    let applied = if !dry_run {
        Some(target.apply_ops(std::slice::from_ref(&end))?)
    } else {
        None
    };
    match plan::outcomes(vec![end], applied.as_ref()).pop() {
        Some(Outcome::Applied(changes)) => Ok(changes),
        Some(Outcome::Failed(f)) => Err(f),
        Some(Outcome::Skipped(_) | Outcome::Kept) | None => Ok(Vec::new()),
    }
}

/// Plans a batch of rows and applies the plan; a dry run is the plan alone.
fn apply_rows(
    planner: &mut Planner,
    target: &mut dyn Target,
    rows: Vec<Vec<Command>>,
    dry_run: bool,
) -> Result<Vec<Outcome>, Failure> {
    let decisions = planner.plan_batch(&rows, target)?;
    let applied = if dry_run {
        None
    } else {
        Some(target.apply_ops(&decisions)?)
    };
    if let Some(a) = &applied {
        planner.applied(&a.created);
    }
    let out = plan::outcomes(decisions, applied.as_ref());
    target.end_batch()?;
    Ok(out)
}
