//! The report: a text file a person reads, and a JSON Lines twin for machines.

use super::{io_failure, FileEnd, Sink};
use crate::codes::Failure;
use crate::filearea::AtomicFile;
use crate::outcome::{Change, Counts, Outcome, RowReport};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// What the report's heading says about the file and the run.
#[derive(Debug, Clone)]
pub struct ReportHeading {
    pub tool: String,
    pub preset: String,
    pub script: String,
    pub file: String,
    pub target: String,
    pub started: String,
    pub dry_run: bool,
    /// How the file is read: `utf-8, delimiter ';'`, or `images: zip archive or folder`.
    pub format: String,
}

pub struct ReportSink {
    heading: ReportHeading,
    /// Row N's entry name, for inputs whose rows are archive entries.
    entry_names: Option<Arc<Vec<String>>>,
    text_path: PathBuf,
    text: AtomicFile,
    json: AtomicFile,
}

fn w(e: std::io::Error) -> Failure {
    io_failure(
        "the report in",
        std::path::Path::new(crate::filearea::REPORTS),
        e,
    )
}

impl ReportSink {
    /// `text_path` ends in `.txt`; the twin is the same name with `.jsonl`.
    pub fn create(text_path: PathBuf, heading: ReportHeading) -> Result<ReportSink, Failure> {
        let mut text = AtomicFile::create(&text_path).map_err(w)?;
        let json = AtomicFile::create(&text_path.with_extension("jsonl")).map_err(w)?;
        let h = &heading;
        writeln!(text, "moosync report").map_err(w)?;
        writeln!(
            text,
            "tool:     {} (preset {}, script {})",
            h.tool, h.preset, h.script
        )
        .map_err(w)?;
        writeln!(text, "file:     {} ({})", h.file, h.format).map_err(w)?;
        writeln!(text, "target:   {}", h.target).map_err(w)?;
        writeln!(text, "started:  {}", h.started).map_err(w)?;
        if h.dry_run {
            writeln!(
                text,
                "mode:     DRY RUN: nothing was written to the target, no file was moved"
            )
            .map_err(w)?;
        }
        writeln!(text).map_err(w)?;
        Ok(ReportSink {
            heading,
            entry_names: None,
            text_path,
            text,
            json,
        })
    }
}

impl ReportSink {
    /// Rows are archive entries: each report line names its entry after the number.
    pub fn with_entry_names(mut self, names: Arc<Vec<String>>) -> Self {
        self.entry_names = Some(names);
        self
    }

    /// Writes `file:line` (and the entry's name) before a row's outcome.
    fn locate(&mut self, line: u64) -> std::io::Result<()> {
        let file = &self.heading.file;
        let entry = self
            .entry_names
            .as_ref()
            .and_then(|n| n.get((line as usize).wrapping_sub(1)));
        match entry {
            Some(name) => write!(self.text, "{file}:{line} ({name}): "),
            None => write!(self.text, "{file}:{line}: "),
        }
    }
}

impl Sink for ReportSink {
    fn note(&mut self, text: &str) -> Result<(), Failure> {
        writeln!(self.text, "note: {text}").map_err(w)?;
        writeln!(self.json, "{}", json!({ "note": text })).map_err(w)
    }

    fn closing(&mut self, changes: &[Change]) -> Result<(), Failure> {
        let file = &self.heading.file;
        for c in changes {
            write!(self.text, "{file}: after the last row: ").map_err(w)?;
            write_changes(&mut self.text, std::slice::from_ref(c)).map_err(w)?;
            writeln!(self.text).map_err(w)?;
        }
        if !changes.is_empty() {
            write!(self.json, "{{\"after_last_row\":").map_err(w)?;
            serde_json::to_writer(&mut self.json, changes).map_err(|e| w(e.into()))?;
            writeln!(self.json, "}}").map_err(w)?;
        }
        Ok(())
    }

    fn row(&mut self, r: &RowReport) -> Result<(), Failure> {
        // A row kept as it was is only counted: an unchanged file reports in a few lines.
        if r.outcome == Outcome::Kept {
            return Ok(());
        }
        // Written piece by piece: this runs for every row of million-row files.
        self.locate(r.line).map_err(w)?;
        match &r.outcome {
            Outcome::Applied(changes) => {
                write!(self.text, "applied: ").map_err(w)?;
                write_changes(&mut self.text, changes).map_err(w)?;
                writeln!(self.text).map_err(w)?;
                write!(
                    self.json,
                    "{{\"line\":{},\"outcome\":\"applied\",\"changes\":",
                    r.line
                )
                .map_err(w)?;
                serde_json::to_writer(&mut self.json, changes).map_err(|e| w(e.into()))?;
                writeln!(self.json, "}}").map_err(w)?;
            }
            Outcome::Skipped(why) => {
                writeln!(self.text, "skipped: {why}").map_err(w)?;
                writeln!(
                    self.json,
                    "{}",
                    json!({"line": r.line, "outcome": "skipped", "reason": why})
                )
                .map_err(w)?;
            }
            Outcome::Kept => {}
            Outcome::Failed(f) => {
                writeln!(self.text, "failed {}: {}", f.code, f.message).map_err(w)?;
                writeln!(self.json, "{}", json!({"line": r.line, "outcome": "failed", "code": f.code.id(), "message": f.message})).map_err(w)?;
            }
        }
        Ok(())
    }

    fn finish(
        mut self: Box<Self>,
        counts: &Counts,
        end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        let status = match end {
            FileEnd::Done => {
                if counts.rows == 0 {
                    let what = if self.entry_names.is_some() {
                        "note: the archive holds no image entries"
                    } else {
                        "note: the file has a header but no data rows"
                    };
                    writeln!(self.text, "{what}").map_err(w)?;
                }
                "done"
            }
            FileEnd::Rejected(f) => {
                writeln!(self.text, "file refused {}: {}", f.code, f.message).map_err(w)?;
                "rejected"
            }
            FileEnd::Aborted(f) => {
                writeln!(self.text, "file stopped {}: {}", f.code, f.message).map_err(w)?;
                "aborted"
            }
        };
        writeln!(self.text).map_err(w)?;
        writeln!(self.text, "summary: {}", counts.summary_line()).map_err(w)?;
        let mut summary = json!({"summary": counts, "status": status, "dry_run": self.heading.dry_run,
            "tool": self.heading.tool, "file": self.heading.file});
        if let FileEnd::Rejected(f) | FileEnd::Aborted(f) = end {
            summary["code"] = json!(f.code.id());
            summary["message"] = json!(f.message);
        }
        writeln!(self.json, "{summary}").map_err(w)?;
        let ReportSink {
            text,
            json,
            text_path,
            ..
        } = *self;
        json.commit().map_err(w)?;
        text.commit().map_err(w)?;
        Ok(Some(text_path))
    }
}

/// "created course CS101 (id 2); updated …: fields": how a report line lists changes.
fn write_changes(out: &mut impl Write, changes: &[Change]) -> std::io::Result<()> {
    for (i, c) in changes.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        write!(
            out,
            "{sep}{} {} {} ({} {})",
            c.action.verb(),
            c.entity,
            c.label,
            c.id_name(),
            c.id
        )?;
        if !c.fields.is_empty() {
            write!(out, ": {}", c.fields.join(", "))?;
        }
    }
    Ok(())
}
