//! A progress bar with rows per second, drawn only on a terminal.

use super::{FileEnd, Sink};
use crate::codes::Failure;
use crate::outcome::{Counts, RowReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

pub struct ProgressSink {
    bar: ProgressBar,
}

impl ProgressSink {
    /// `lines` is the file's physical line count, a close upper bound of its rows.
    pub fn new(name: &str, lines: u64) -> Self {
        let bar = ProgressBar::new(lines);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} rows, {per_sec}, {eta} left",
            )
            .expect("template is valid")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        ProgressSink { bar }
    }
}

impl Sink for ProgressSink {
    fn row(&mut self, _r: &RowReport) -> Result<(), Failure> {
        self.bar.inc(1);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        _end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        self.bar.finish_and_clear();
        Ok(None)
    }
}
