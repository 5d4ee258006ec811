//! What each command means in Moodle, written once. The plan takes a batch of rows (each the
//! commands the script made), the settings and a read-only view of the site, and decides per
//! row the primitive operations to apply and the row's outcome. A backend then only reads
//! (the [`SiteView`]) and applies operations ([`Op`]); a dry run is the plan without the
//! apply. Reports are built from the plan's outcomes, so they read the same on every backend.
//!
//! Rows of a batch are planned in file order against the view plus what earlier rows of the
//! batch will have done (the overlay), so a row sees its predecessors' creations, renames and
//! deletions before any of them is applied. A row is planned all or nothing: a command that
//! fails drops the row's earlier operations too.

mod categories;
mod cohort_bindings;
mod cohorts;
mod course_ops;
mod course_teachers;
mod courses;
mod enrolments;
mod groups;
mod members;
mod meta_links;
pub mod ops;
// Its layers for courses, groups and cohorts are filled as those tools are planned.
#[allow(dead_code)]
mod overlay;
mod participants;
pub mod password_policy;
mod pictures;
mod purge;
mod users;
pub mod view;

pub use ops::Op;
use view::GroupKind;
pub use view::{Read, ReadError, SiteView};

use crate::codes::Failure;
use crate::command::Command;
use crate::config::Config;
use crate::outcome::{Action, Change, Outcome};
use overlay::Overlay;
use std::collections::{BTreeMap, HashMap};

/// An entity an operation acts on: one the site has, or one an earlier operation of the
/// batch creates (numbered by the plan, resolved when the backend applies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ref {
    Id(i64),
    New(u32),
}

impl Ref {
    /// The id, once known.
    pub fn id(self) -> Option<i64> {
        match self {
            Ref::Id(id) => Some(id),
            Ref::New(_) => None,
        }
    }
}

/// One change the plan expects a row to make, as the report will show it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChange {
    pub action: Action,
    pub entity: &'static str,
    pub subject: Ref,
    pub label: String,
    pub fields: Vec<String>,
}

impl PlannedChange {
    pub fn new(
        action: Action,
        entity: &'static str,
        subject: Ref,
        label: impl Into<String>,
    ) -> Self {
        PlannedChange {
            action,
            entity,
            subject,
            label: label.into(),
            fields: Vec::new(),
        }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }
}

/// What the plan decided for a row.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Apply `ops`; the row then made `changes`. `nothing` says why a command of the row had
    /// nothing to do (a row whose commands all had nothing to do is a skip).
    Apply {
        ops: Vec<Op>,
        changes: Vec<PlannedChange>,
        nothing: Vec<String>,
    },
    Fail(Failure),
}

/// What applying a row's operations came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Done,
    Failed(Failure),
}

/// What a backend's apply of a batch gives back: per row, and the ids of what it created.
#[derive(Debug, Default)]
pub struct BatchApplied {
    pub rows: Vec<Applied>,
    pub created: HashMap<u32, i64>,
}

impl BatchApplied {
    /// The id of what `r` names: itself, or what an earlier operation of the batch created.
    pub fn id(&self, r: Ref) -> Option<i64> {
        match r {
            Ref::Id(id) => Some(id),
            Ref::New(n) => self.created.get(&n).copied(),
        }
    }

    /// The id a sender puts in a call: 0 when the operation that was to create it failed
    /// (the row already failed with it; the site refuses an item naming 0).
    pub fn sent_id(&self, r: Ref) -> i64 {
        self.id(r).unwrap_or(0)
    }

    /// Fails a row, unless it already failed: its first failure is the one reported.
    pub fn fail(&mut self, row: usize, f: Failure) {
        if self.rows[row] == Applied::Done {
            self.rows[row] = Applied::Failed(f);
        }
    }
}

/// The plan of one file: the settings, what the backend can do, and what this file's rows
/// have done so far that the view may not show yet.
pub struct Planner<'a> {
    cfg: &'a Config,
    overlay: Overlay,
    next_new: u32,
    /// In a dry run nothing is applied, so the overlay is the only record of earlier batches.
    dry_run: bool,
    /// Groups this file's removals left empty, with their course: `[groups] purge_empty`
    /// looks at them again at the end of the file.
    emptied: BTreeMap<Ref, Ref>,
    /// When the file's plan began: what "today" is for its rows (a new course's start).
    now: i64,
}

/// A row being planned: its operations and changes so far, undone when a command fails.
#[derive(Default)]
pub(crate) struct RowDraft {
    pub ops: Vec<Op>,
    pub changes: Vec<PlannedChange>,
    pub nothing: Vec<String>,
    /// Groups (with their course) the row's removals leave empty.
    pub emptied: Vec<(Ref, Ref)>,
}

/// A command's own verdict, besides the operations it added to the draft.
pub(crate) enum Verdict {
    Done,
    /// Nothing to do, and why (a delete of an account already gone).
    Nothing(String),
}

impl<'a> Planner<'a> {
    pub fn new(cfg: &'a Config, dry_run: bool) -> Planner<'a> {
        Planner {
            cfg,
            overlay: Overlay::default(),
            next_new: 0,
            dry_run,
            emptied: BTreeMap::new(),
            now: chrono::Utc::now().timestamp(),
        }
    }

    pub(crate) fn cfg(&self) -> &Config {
        self.cfg
    }

    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    pub(crate) fn new_ref(&mut self) -> Ref {
        self.next_new += 1;
        Ref::New(self.next_new)
    }

    /// Everything the batch's rows will look up, so the view can read it in bulk first: what
    /// finds each row's entities, then what their changes would collide with.
    fn prefetch(&self, rows: &[Vec<Command>], view: &mut dyn SiteView) -> Result<(), Failure> {
        let mut wanted = view::Wanted::default();
        for cmd in rows.iter().flatten() {
            users::wanted(self.cfg, cmd, &mut wanted);
            enrolments::wanted(self.cfg, cmd, &mut wanted);
            groups::wanted(self.cfg, cmd, &mut wanted);
            courses::wanted(self.cfg, cmd, &mut wanted);
            cohorts::wanted(self.cfg, cmd, &mut wanted);
            pictures::wanted(self.cfg, cmd, &mut wanted);
        }
        view.prefetch(&wanted)?;
        if !view.reads_collisions_ahead() {
            return Ok(());
        }
        let mut next = view::Wanted::default();
        for cmd in rows.iter().flatten() {
            users::wanted_next(self.cfg, view, cmd, &mut next);
            courses::wanted_next(self.cfg, view, cmd, &mut next);
        }
        view.prefetch(&next)
    }

    /// Plans a batch of rows, in file order. An `Err` is a read that stops the file.
    pub fn plan_batch(
        &mut self,
        rows: &[Vec<Command>],
        view: &mut dyn SiteView,
    ) -> Result<Vec<Decision>, Failure> {
        self.prefetch(rows, view)?;
        let mut out = Vec::with_capacity(rows.len());
        for cmds in rows {
            let mark = self.overlay.mark();
            let mut draft = RowDraft::default();
            let mut failed = None;
            for cmd in cmds {
                let r = match cmd {
                    Command::UserUpsert(u) => users::upsert(self, view, &mut draft, u),
                    Command::UserDelete(d) => users::delete(self, view, &mut draft, d),
                    Command::UserSuspend(d) => users::suspend(self, view, &mut draft, d),
                    Command::Enrolment(e) => enrolments::enrolment(self, view, &mut draft, e),
                    Command::UserGroups(g) => members::user_groups(self, view, &mut draft, g),
                    Command::GroupMember(m) => members::member(self, view, &mut draft, m),
                    Command::GroupUpsert(g) => {
                        groups::upsert(self, view, &mut draft, g, GroupKind::Group)
                    }
                    Command::GroupingUpsert(g) => {
                        groups::upsert(self, view, &mut draft, g, GroupKind::Grouping)
                    }
                    Command::CourseUpsert(c) => courses::upsert(self, view, &mut draft, c),
                    Command::CourseDelete(c) => course_ops::delete(self, view, &mut draft, c),
                    Command::CourseCheck(c) => course_ops::check(self, view, &mut draft, c),
                    Command::CourseReset(c) => course_ops::reset(self, view, &mut draft, c),
                    Command::MetaLink(m) => meta_links::link(self, view, &mut draft, m),
                    Command::MetaUnlink(m) => meta_links::unlink(self, view, &mut draft, m),
                    Command::CohortUpsert(c) => cohorts::upsert(self, view, &mut draft, c),
                    Command::CohortLeave(l) => cohorts::leave(self, view, &mut draft, l),
                    Command::CohortDelete(r) => cohorts::delete(self, view, &mut draft, r),
                    Command::CohortEmpty(r) => cohorts::empty(self, view, &mut draft, r),
                    Command::CohortBinding(b) => cohort_bindings::bind(self, view, &mut draft, b),
                    Command::UserPicture(p) => pictures::set(self, view, &mut draft, p),
                };
                match r {
                    Ok(Verdict::Done) => {}
                    Ok(Verdict::Nothing(why)) => draft.nothing.push(why),
                    Err(ReadError::Row(f)) => {
                        failed = Some(f);
                        break;
                    }
                    Err(ReadError::Stop(f)) => return Err(f),
                }
            }
            out.push(match failed {
                Some(f) => {
                    self.overlay.rewind(mark);
                    Decision::Fail(f)
                }
                None => {
                    self.emptied
                        .extend(draft.emptied.iter().map(|(c, g)| (*g, *c)));
                    Decision::Apply {
                        ops: draft.ops,
                        changes: draft.changes,
                        nothing: draft.nothing,
                    }
                }
            });
        }
        Ok(out)
    }

    /// The file's end: what it leaves to do once every row is applied (the groups its
    /// removals left empty, purged as `[groups] purge_empty` says). Applied like a row; its
    /// changes are the file's closing ones. An `Err` is a read that stops the file.
    pub fn finish_file(&mut self, view: &mut dyn SiteView) -> Result<Decision, Failure> {
        let mut draft = RowDraft::default();
        match purge::purge(self, view, &mut draft) {
            Ok(()) => {}
            Err(ReadError::Row(f) | ReadError::Stop(f)) => return Err(f),
        }
        Ok(Decision::Apply {
            ops: draft.ops,
            changes: draft.changes,
            nothing: draft.nothing,
        })
    }

    /// After the backend applied a batch: what it created is known by id now. In a real run
    /// the view shows the batch's work from here on, so the overlay is dropped.
    pub fn applied(&mut self, _created: &HashMap<u32, i64>) {
        if !self.dry_run {
            self.overlay = Overlay::default();
        }
    }

    pub(crate) fn overlay(&mut self) -> &mut Overlay {
        &mut self.overlay
    }
}

/// The row outcomes of a planned and applied batch, with the ids of created entities filled
/// in (in a dry run they are not known: 0).
pub fn outcomes(decisions: Vec<Decision>, applied: Option<&BatchApplied>) -> Vec<Outcome> {
    decisions
        .into_iter()
        .enumerate()
        .map(|(i, d)| match d {
            Decision::Fail(f) => Outcome::Failed(f),
            Decision::Apply {
                changes, nothing, ..
            } => {
                if let Some(Applied::Failed(f)) = applied.and_then(|a| a.rows.get(i)) {
                    return Outcome::Failed(f.clone());
                }
                let id = |r: Ref| match r {
                    Ref::Id(id) => id,
                    Ref::New(n) => applied
                        .and_then(|a| a.created.get(&n).copied())
                        .unwrap_or(0),
                };
                settled(
                    changes
                        .into_iter()
                        .map(|c| Change {
                            action: c.action,
                            entity: c.entity,
                            id: id(c.subject),
                            label: c.label,
                            fields: c.fields,
                        })
                        .collect(),
                    nothing,
                )
            }
        })
        .collect()
}

/// A row whose commands all had nothing to do is a skip; otherwise what changed is reported,
/// and a command of the row that had nothing to do still says so.
pub fn settled(mut changes: Vec<Change>, nothing: Vec<String>) -> Outcome {
    if changes.is_empty() && !nothing.is_empty() {
        return Outcome::Skipped(nothing.join("; "));
    }
    if let Some(last) = changes.last_mut() {
        last.fields
            .extend(nothing.into_iter().map(|why| format!("note: {why}")));
    }
    Outcome::Applied(changes)
}
