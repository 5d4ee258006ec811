//! Sinks receive every row's outcome from one stream, so the report, the tryback, the journal
//! and the progress bar can never disagree.

mod entry_list;
mod journal;
mod progress;
pub mod report;
mod tryback;

pub use entry_list::EntryListSink;
pub use journal::JournalSink;
pub use progress::{clock, thousands, ProgressSink, Rate};
pub use report::ReportSink;
pub use tryback::TrybackSink;

use crate::codes::Failure;
use crate::outcome::{Change, Counts, RowReport};
use std::path::PathBuf;

/// How a file ended, for the sinks' closing words.
#[derive(Debug, Clone)]
pub enum FileEnd {
    /// Every row was handed to the target (some may have failed).
    Done,
    /// The file was refused as a whole before any row ran.
    Rejected(Failure),
    /// The target failed part-way; rows after the last commit were not applied.
    Aborted(Failure),
}

pub trait Sink {
    fn row(&mut self, r: &RowReport) -> Result<(), Failure>;
    /// Something about the input as a whole, before its rows (an archive's skipped entries).
    fn note(&mut self, _text: &str) -> Result<(), Failure> {
        Ok(())
    }
    /// What the target did once the last row was in (groups the file left empty, purged).
    fn closing(&mut self, _changes: &[Change]) -> Result<(), Failure> {
        Ok(())
    }
    /// Closes the sink; returns the file it wrote, if any.
    fn finish(self: Box<Self>, counts: &Counts, end: &FileEnd) -> Result<Option<PathBuf>, Failure>;
}

pub(crate) fn io_failure(what: &str, path: &std::path::Path, e: std::io::Error) -> Failure {
    Failure::new(
        crate::codes::Code::OutputUnwritable,
        format!("cannot write {what} {}: {e}", path.display()),
    )
}
