//! The journal: every row's outcome and every created entity, in state.db, and at a file's
//! end the prints of the rows it applied or kept (`run::unchanged`). It writes through its
//! own connection so that it can run on the sink thread.

use super::{FileEnd, Sink};
use crate::codes::Failure;
use crate::outcome::{Counts, Outcome, RowReport};
use crate::run::unchanged::Print;
use crate::state::State;
use std::path::{Path, PathBuf};

pub struct JournalSink {
    state: State,
    file_id: i64,
    tool: String,
    preset: String,
    started: bool,
    /// The prints of the rows applied or kept so far.
    prints: Vec<Print>,
}

impl JournalSink {
    pub fn open(
        state_path: &Path,
        file_id: i64,
        tool: &str,
        preset: &str,
    ) -> Result<Self, Failure> {
        Ok(JournalSink {
            state: State::open(state_path)?,
            file_id,
            tool: tool.to_string(),
            preset: preset.to_string(),
            started: false,
            prints: Vec::new(),
        })
    }

    fn start(&mut self) -> Result<(), Failure> {
        if !self.started {
            // One transaction for the file's rows: the journal never slows the run per row.
            self.state.begin()?;
            self.started = true;
        }
        Ok(())
    }
}

impl Sink for JournalSink {
    fn row(&mut self, r: &RowReport) -> Result<(), Failure> {
        self.start()?;
        if let (Some(p), Outcome::Applied(_) | Outcome::Kept) = (r.print, &r.outcome) {
            self.prints.push(p);
        }
        self.state.record_row(self.file_id, &self.tool, r)
    }

    fn finish(
        mut self: Box<Self>,
        _counts: &Counts,
        end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        // A file that ran to its end is what its preset last applied; one that stopped
        // leaves the preset's prints as they were (its rows run again next time).
        if matches!(end, FileEnd::Done) {
            self.start()?;
            self.state.replace_row_prints(&self.preset, &self.prints)?;
        }
        if self.started {
            self.state.commit()?;
        }
        Ok(None)
    }
}
