//! Source: input bytes → decoded CSV rows that keep their physical line number and the byte
//! range of their original text (for the tryback). Knows no tool.

mod preflight;
mod reader;
mod window;

pub use preflight::{preflight, LineEnding, Preflight};
pub use reader::{file_name_of, read_ranges, CsvSource, Header, Row, SourceOptions};
