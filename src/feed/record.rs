//! What a capture did and said, kept for `status` and written as a capture report.

use super::Captured;
use crate::filearea::{self, FileArea};
use crate::state::State;

/// Keeps the capture's outcome for `status`, and writes a capture report when there is
/// anything to read. Returns its lines, for the run's output and a summary mail.
pub fn record(area: &FileArea, state: &State, c: &Captured) -> Vec<String> {
    if c.moved.is_empty() && c.messages.is_empty() {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if !c.moved.is_empty() {
        lines.push(format!(
            "capture: {} file(s) moved from the drop folder into inbox/: {}",
            c.moved.len(),
            c.moved.join(", ")
        ));
    }
    lines.extend(c.messages.iter().map(|m| format!("capture: {m}")));
    let _ = state.record_capture(c.moved.len(), &c.messages);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let path = filearea::free_name(
        &area
            .dir(filearea::REPORTS)
            .join(format!("{stamp}_capture.txt")),
    );
    let text = format!(
        "moosync capture report\nat:       {}\n\n{}\n",
        crate::state::now_text(),
        lines.join("\n")
    );
    if let Err(e) = filearea::write_atomic(&path, text.as_bytes()) {
        lines.push(format!(
            "capture: cannot write the capture report {}: {e}",
            path.display()
        ));
    }
    lines
}
