//! Targets apply commands in batches and return one outcome per row, in order.
//! `run` only knows this trait, so another target fits without touching it.

pub mod moodle;
pub mod sqlite;

use crate::codes::Failure;
use crate::command::Command;
use crate::config::{Config, TargetKind};
use crate::outcome::{Change, Outcome};
use crate::plan::{Applied, BatchApplied, Decision, Planner, SiteView};

pub trait Target: SiteView {
    /// Where the commands go, for reports: `embedded store /data/moodle.db`.
    fn describe(&self) -> String;

    /// Starts a file. In a dry run nothing applied until `finish_file` is kept.
    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure>;

    /// Applies the operations of a planned batch, row by row; the ids of what it created
    /// come back with each row's result. An `Err` means the target itself failed.
    fn apply_ops(&mut self, decisions: &[Decision]) -> Result<BatchApplied, Failure>;

    /// Whether a dry run applies (and then throws away) the planned operations: the
    /// embedded store does, inside the transaction it rolls back, so that the commands it
    /// still applies as they are see them.
    fn applies_in_dry_run(&self) -> bool {
        false
    }

    /// Whether this target takes the command through the plan (the others go to
    /// `apply_batch` as they are): a backend that does not send a planned tool's operations
    /// yet keeps its old path for that tool.
    fn plans(&self, cmd: &Command) -> bool {
        Planner::plans(cmd)
    }

    /// Applies the commands the plan does not take yet: one entry per row, each the row's
    /// commands, all or nothing per row. An `Err` means the target itself failed (disk
    /// full, lost connection): the file stops.
    fn apply_batch(&mut self, rows: &mut [Vec<Command>]) -> Result<Vec<Outcome>, Failure>;

    /// Applies a planned batch (its operations unless `ops` is false: a dry run) and the
    /// commands of each row the plan does not take yet (`rest`, empty for most rows), after
    /// the row's operations. Returns what the operations did and each row's outcome of its
    /// other commands. A row whose operations failed has its other commands not applied.
    fn apply_rows(
        &mut self,
        decisions: &[Decision],
        rest: &mut [Vec<Command>],
        ops: bool,
    ) -> Result<(BatchApplied, Vec<Option<Outcome>>), Failure> {
        let applied = if ops {
            self.apply_ops(decisions)?
        } else {
            BatchApplied {
                rows: vec![Applied::Done; decisions.len()],
                ..Default::default()
            }
        };
        let go: Vec<bool> = rest
            .iter()
            .zip(decisions.iter().zip(&applied.rows))
            .map(|(cmds, (d, a))| {
                !cmds.is_empty() && matches!(d, Decision::Apply { .. }) && *a == Applied::Done
            })
            .collect();
        let mut legacy: Vec<Vec<Command>> = rest
            .iter_mut()
            .zip(&go)
            .filter(|(_, go)| **go)
            .map(|(c, _)| std::mem::take(c))
            .collect();
        let mut outcomes = self.apply_batch(&mut legacy)?.into_iter();
        let others = go
            .iter()
            .map(|go| go.then(|| outcomes.next().expect("one outcome per row")))
            .collect();
        Ok((applied, others))
    }

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
