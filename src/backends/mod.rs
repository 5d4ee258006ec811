//! Targets read the site for the plan and apply its operations in batches, one result per
//! row, in order. `run` only knows this trait, so another target fits without touching it.

pub mod moodle;
pub mod sqlite;

use crate::codes::Failure;
use crate::config::{Config, TargetKind};
use crate::outcome::Change;
use crate::plan::{BatchApplied, Decision, SiteView};

pub trait Target: SiteView {
    /// Where the commands go, for reports: `embedded store /data/moodle.db`.
    fn describe(&self) -> String;

    /// What tells this site from any other, for remembering which rows were applied to it:
    /// where it is, and for a store, the identifier it was made with.
    fn identity(&self) -> Result<String, Failure> {
        Ok(self.describe())
    }

    /// Starts a file. In a dry run nothing applied until `finish_file` is kept.
    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure>;

    /// Applies the operations of a planned batch, row by row; the ids of what it created
    /// come back with each row's result. An `Err` means the target itself failed (disk full,
    /// lost connection): the file stops. A dry run never calls it.
    fn apply_ops(&mut self, decisions: &[Decision]) -> Result<BatchApplied, Failure>;

    /// A batch is done: what it applied is made durable.
    fn end_batch(&mut self) -> Result<(), Failure> {
        Ok(())
    }

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
