//! Source: input bytes → decoded CSV rows that keep their physical line number and the byte
//! range of their original text (for the tryback). Knows no tool.

mod preflight;
mod reader;
mod window;

pub use preflight::{preflight, LineEnding, Preflight};
pub use reader::{file_name_of, read_ranges, CsvSource, Header, Row, SourceOptions};

use crate::codes::Failure;

/// Rows for the pipeline: a CSV file's, or a picture archive's entries.
pub trait RowSource: Send {
    /// Column names, as the script's `header()` and its row maps see them.
    fn columns(&self) -> &[String];
    fn next_row(&mut self) -> Result<Option<Row>, Failure>;
    /// The most rows a batch may hold: rows that carry images are batched small.
    fn batch_limit(&self) -> usize {
        usize::MAX
    }
}

impl RowSource for CsvSource {
    fn columns(&self) -> &[String] {
        &self.header().columns
    }

    fn next_row(&mut self) -> Result<Option<Row>, Failure> {
        CsvSource::next_row(self)
    }
}
