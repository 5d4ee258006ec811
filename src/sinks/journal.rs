//! The journal: every row's outcome and every created entity, in state.db. It writes through
//! its own connection so that it can run on the sink thread.

use super::{FileEnd, Sink};
use crate::codes::Failure;
use crate::outcome::{Counts, RowReport};
use crate::state::State;
use std::path::{Path, PathBuf};

pub struct JournalSink {
    state: State,
    file_id: i64,
    tool: String,
    started: bool,
}

impl JournalSink {
    pub fn open(state_path: &Path, file_id: i64, tool: &str) -> Result<Self, Failure> {
        Ok(JournalSink {
            state: State::open(state_path)?,
            file_id,
            tool: tool.to_string(),
            started: false,
        })
    }
}

impl Sink for JournalSink {
    fn row(&mut self, r: &RowReport) -> Result<(), Failure> {
        if !self.started {
            // One transaction for the file's rows: the journal never slows the run per row.
            self.state.begin()?;
            self.started = true;
        }
        self.state.record_row(self.file_id, &self.tool, r)
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        _end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        if self.started {
            self.state.commit()?;
        }
        Ok(None)
    }
}
