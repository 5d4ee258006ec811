//! Rows done so far, told to whoever watches the run (a progress bar, the web console).

use super::{FileEnd, Sink};
use crate::codes::Failure;
use crate::outcome::{Counts, RowReport};
use crate::run::Observer;
use std::path::PathBuf;

pub struct ProgressSink<'a> {
    observer: &'a dyn Observer,
    done: u64,
}

impl<'a> ProgressSink<'a> {
    /// `rows` is about how many rows the file has (its physical line count).
    pub fn new(observer: &'a dyn Observer, tool: &str, name: &str, rows: u64) -> Self {
        observer.file_started(tool, name, rows);
        ProgressSink { observer, done: 0 }
    }
}

impl Sink for ProgressSink<'_> {
    fn row(&mut self, _r: &RowReport) -> Result<(), Failure> {
        self.done += 1;
        self.observer.rows_done(self.done);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        _end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        Ok(None)
    }
}
