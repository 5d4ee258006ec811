//! What a run works on: the files waiting in inbox/ (or one given file), each with its preset,
//! in run order.

use super::file::InputKind;
use crate::codes::{Code, Failure};
use crate::filearea::{self, FileArea};
use crate::preset::{Preset, TOOLS};
use crate::setup::Setup;
use std::path::{Path, PathBuf};

/// A file to run, its preset, and where it came from.
pub type Work = (PathBuf, Preset, InputKind);

fn file_name(p: &Path) -> String {
    crate::source::file_name_of(p)
}

/// Refuses a name that is neither a tool nor a preset.
pub fn check_names(s: &Setup, names: &[String]) -> Result<(), Failure> {
    for t in names {
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
    Ok(())
}

/// The files to run, in run order. `notes` gets a line for each entry of inbox/ that would be
/// input but is left alone (a link).
pub fn collect(
    s: &Setup,
    names: &[String],
    file: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<Vec<Work>, Failure> {
    if let Some(file) = file {
        return given(s, names, file).map(|w| vec![w]);
    }
    let mut work = Vec::new();
    for (name, path, kind) in inbox_entries(&s.area) {
        let Some(p) = s.presets.for_file(&name) else {
            continue;
        };
        if !selected(p, names) {
            continue;
        }
        if kind.is_symlink() {
            // Never followed, never moved: it could point anywhere. Named, so it is not
            // mistaken for a file that ran.
            notes.push(format!(
                "{} {name}: not run: {} inbox/{name} is a symbolic link; links in inbox/ are never followed, so it is left where it is: put the file itself in inbox/",
                p.tool,
                Code::NotRegularFile
            ));
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

/// One file named on the command line, with the preset its name or the one tool named picks.
fn given(s: &Setup, names: &[String], file: &Path) -> Result<Work, Failure> {
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
    let preset = match names {
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
    Ok((file.to_path_buf(), preset.clone(), InputKind::Given))
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
