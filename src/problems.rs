//! The failures of the recent runs (failed rows, and files refused or stopped whole), each
//! with the remedy its code carries: `moosync problems` prints them, the console lists them,
//! and both write them as CSV.

use crate::codes::Code;
use crate::setup::Setup;
use crate::state::{Problem, State};
use std::io::Write;

/// What an operator does about a failure with this code ("" for a code moosync never gave).
pub fn remedy(code: &str) -> &'static str {
    Code::from_id(code).map_or("", Code::remedy)
}

/// The failures of the last `runs` runs, oldest file first, line by line.
pub fn recent(s: &Setup, runs: u32) -> Result<Vec<Problem>, crate::codes::Failure> {
    State::open(&s.area.state_path())?.recent_problems(runs)
}

/// The CSV `problems --csv` writes and the console offers: one line per failure.
pub fn write_csv(out: &mut dyn Write, problems: &[Problem]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "tool", "file", "line", "code", "message", "remedy", "dry_run", "when",
    ])?;
    for p in problems {
        w.write_record([
            p.tool.as_str(),
            p.file.as_str(),
            &p.line.map(|l| l.to_string()).unwrap_or_default(),
            p.code.as_str(),
            p.message.as_str(),
            remedy(&p.code),
            if p.dry_run { "yes" } else { "no" },
            p.finished.as_str(),
        ])?;
    }
    w.flush()
}
