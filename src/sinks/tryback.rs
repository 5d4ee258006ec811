//! The tryback: the original header line and the original bytes of each failed row, so the
//! file can be fixed and dropped back into inbox/ as it is.

use super::{io_failure, FileEnd, Sink};
use crate::codes::Failure;
use crate::filearea::AtomicFile;
use crate::outcome::{Counts, Outcome, RowReport};
use crate::source::{read_ranges, LineEnding};
use std::io::Write;
use std::path::PathBuf;

pub struct TrybackSink {
    input: PathBuf,
    header: (u64, u64),
    ending: LineEnding,
    target: PathBuf,
    /// Byte ranges of failed rows; the bytes are read back from the input at the end, so a
    /// large file's failures cost no memory.
    failed: Vec<(u64, u64)>,
}

impl TrybackSink {
    pub fn new(input: PathBuf, header: (u64, u64), ending: LineEnding, target: PathBuf) -> Self {
        TrybackSink {
            input,
            header,
            ending,
            target,
            failed: Vec::new(),
        }
    }
}

impl Sink for TrybackSink {
    fn row(&mut self, r: &RowReport) -> Result<(), Failure> {
        if matches!(r.outcome, Outcome::Failed(_)) {
            self.failed.push((r.start, r.end));
        }
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        // A stopped file goes back to inbox/ and runs again whole: a tryback would repeat it.
        if self.failed.is_empty() || !matches!(end, FileEnd::Done) {
            return Ok(None);
        }
        let w = |e| io_failure("the tryback", &self.target, e);
        let mut out = AtomicFile::create(&self.target).map_err(w)?;
        let eol = self.ending.bytes();
        let mut ranges = Vec::with_capacity(self.failed.len() + 1);
        // A headerless file (delete, check) has no header to repeat.
        if self.header.1 > self.header.0 {
            ranges.push(self.header);
        }
        ranges.extend_from_slice(&self.failed);
        read_ranges(&self.input, &ranges, |bytes| {
            out.write_all(bytes)?;
            out.write_all(eol)
        })
        .map_err(w)?;
        out.commit().map_err(w)?;
        Ok(Some(self.target))
    }
}
