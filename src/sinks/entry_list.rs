//! The tryback of an archive: the names of its failed entries, one per line, so the sending
//! system knows which images to fix and send again.

use super::{io_failure, FileEnd, Sink};
use crate::codes::Failure;
use crate::filearea::AtomicFile;
use crate::outcome::{Counts, Outcome, RowReport};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub struct EntryListSink {
    /// Row N is entry N-1.
    names: Arc<Vec<String>>,
    target: PathBuf,
    failed: Vec<u64>,
}

impl EntryListSink {
    pub fn new(names: Arc<Vec<String>>, target: PathBuf) -> Self {
        EntryListSink {
            names,
            target,
            failed: Vec::new(),
        }
    }
}

impl Sink for EntryListSink {
    fn row(&mut self, r: &RowReport) -> Result<(), Failure> {
        if matches!(r.outcome, Outcome::Failed(_)) {
            self.failed.push(r.line);
        }
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        // A stopped archive goes back to inbox/ and runs again whole.
        if self.failed.is_empty() || !matches!(end, FileEnd::Done) {
            return Ok(None);
        }
        let w = |e| io_failure("the tryback", &self.target, e);
        let mut out = AtomicFile::create(&self.target).map_err(w)?;
        for line in &self.failed {
            if let Some(name) = (*line as usize)
                .checked_sub(1)
                .and_then(|i| self.names.get(i))
            {
                writeln!(out, "{name}").map_err(w)?;
            }
        }
        out.commit().map_err(w)?;
        Ok(Some(self.target))
    }
}
