//! Targets apply commands in batches and return one outcome per row, in order.
//! `run` only knows this trait, so another target fits without touching it.

pub mod moodle;
pub mod sqlite;

use crate::codes::Failure;
use crate::command::Command;
use crate::config::{Config, TargetKind};
use crate::outcome::{Change, Outcome};

pub trait Target {
    /// Where the commands go, for reports: `embedded store /data/moodle.db`.
    fn describe(&self) -> String;

    /// Work on a command that needs no target state and may run on any thread before
    /// `apply` (the embedded store hashes passwords here, in parallel).
    fn preparer(&self) -> fn(&mut Command) {
        |_| {}
    }

    /// Starts a file. In a dry run nothing applied until `finish_file` is kept.
    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure>;

    /// Applies a batch: one entry per row, each the row's commands, all or nothing per row.
    /// An `Err` means the target itself failed (disk full, lost connection): the file stops.
    fn apply_batch(&mut self, rows: &mut [Vec<Command>]) -> Result<Vec<Outcome>, Failure>;

    /// Ends the file: keeps everything, or in a dry run throws it all away. Returns what the
    /// end of the file itself changed (groups the file left empty, purged by settings).
    fn finish_file(&mut self) -> Result<Vec<Change>, Failure>;

    /// Stops a file part-way: what the current batch applied is undone.
    fn abort_file(&mut self);
}

/// The target the settings name: the embedded store at `store`, or a Moodle site (which
/// keeps what it must remember of the site in the run's `state` database).
pub fn open(
    store: &std::path::Path,
    state: &std::path::Path,
    cfg: &Config,
) -> Result<Box<dyn Target>, Failure> {
    Ok(match cfg.target.kind {
        TargetKind::Embedded => Box::new(sqlite::SqliteTarget::open(store, cfg)?),
        TargetKind::Moodle => Box::new(moodle::MoodleTarget::open(cfg, state)?),
    })
}
