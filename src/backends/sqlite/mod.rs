//! The embedded store: a SQLite file laid out like Moodle's tables, with Moodle's semantics.

mod cache;
mod categories;
mod cohort_bindings;
mod cohort_sync;
mod cohorts;
mod course_ops;
mod courses;
mod enrol;
mod error;
mod groups;
mod instances;
mod lookup;
mod meta;
pub mod password;
mod pictures;
mod schema;
mod users;
mod view;

use super::Target;
use crate::codes::{Code, Failure};
use crate::command::Command;
use crate::config::{CohortsConfig, Config, PicturesConfig};
use crate::outcome::{Change, Outcome};
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use cache::Cache;
use error::RowError;
use rayon::prelude::*;
use rusqlite::Connection;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use schema::open_store;

pub struct SqliteTarget {
    conn: Connection,
    path: PathBuf,
    cohorts: CohortsConfig,
    pictures: PicturesConfig,
    /// Picture content files, beside the database as Moodle's are beside its data.
    filedir: PathBuf,
    /// Picture files written by the current batch, made durable before it commits.
    written: RefCell<Vec<PathBuf>>,
    cache: RefCell<Cache>,
    dry_run: bool,
    /// Profile fields the settings ask for, created inside each file's transaction (so a dry
    /// run leaves none behind).
    wanted_fields: Vec<String>,
    /// Custom profile field ids by shortname.
    profile_fields: HashMap<String, i64>,
    /// The site's languages and password policy, as its settings give them.
    site: crate::config::EmbeddedConfig,
}

/// What a command handler needs besides the connection.
pub(crate) struct Ctx<'a> {
    pub cohorts: &'a CohortsConfig,
    pub pictures: &'a PicturesConfig,
    pub filedir: &'a Path,
    pub written: &'a RefCell<Vec<PathBuf>>,
    pub dry_run: bool,
    pub cache: &'a RefCell<Cache>,
    pub profile_fields: &'a HashMap<String, i64>,
    pub now: i64,
}

impl SqliteTarget {
    pub fn open(path: &Path, cfg: &Config) -> Result<SqliteTarget, Failure> {
        let conn = open_store(path)?;
        Ok(SqliteTarget {
            conn,
            path: path.to_path_buf(),
            cohorts: cfg.cohorts.clone(),
            pictures: cfg.pictures.clone(),
            filedir: path
                .parent()
                .unwrap_or(Path::new("."))
                .join(crate::filearea::FILEDIR),
            written: RefCell::new(Vec::new()),
            cache: RefCell::new(Cache::default()),
            dry_run: false,
            wanted_fields: cfg.embedded.profile_fields.clone(),
            profile_fields: HashMap::new(),
            site: cfg.embedded.clone(),
        })
    }

    fn exec(&self, sql: &str) -> Result<(), Failure> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| storage(&self.path, e))
    }

    /// Applies one row's commands, all or nothing. Every handler (a course create with its
    /// categories, sections, enrol instances and teachers included) checks everything that can
    /// fail the row before its first write, so a one-command row needs no savepoint (the
    /// savepoint's page journal was a third of the write cost); there a refusal from SQLite
    /// itself stops the file instead, and the batch is rolled back.
    fn apply_row(&self, cmds: &mut [Command], ctx: &Ctx) -> Result<Outcome, Failure> {
        let guarded = cmds.len() > 1;
        if guarded {
            self.exec("SAVEPOINT moosync_row")?;
        }
        let mut changes = Vec::with_capacity(cmds.len());
        let mut failure = None;
        let mut nothing = Vec::new();
        for cmd in cmds.iter_mut() {
            if cmd.changes_courses() {
                self.cache.borrow_mut().clear();
            }
            let r = match cmd {
                Command::UserUpsert(_)
                | Command::UserDelete(_)
                | Command::UserSuspend(_)
                | Command::Enrolment(_)
                | Command::UserGroups(_)
                | Command::GroupUpsert(_)
                | Command::GroupingUpsert(_)
                | Command::GroupMember(_)
                | Command::CourseUpsert(_)
                | Command::CourseDelete(_)
                | Command::CourseCheck(_)
                | Command::CourseReset(_)
                | Command::MetaLink(_)
                | Command::MetaUnlink(_) => {
                    unreachable!("{cmd:?} is planned, never applied as it is")
                }
                Command::CohortUpsert(c) => cohorts::upsert(&self.conn, ctx, c),
                Command::CohortLeave(l) => cohorts::leave(&self.conn, ctx, l),
                Command::CohortDelete(r) => cohorts::delete(&self.conn, ctx, r),
                Command::CohortEmpty(r) => cohorts::empty(&self.conn, ctx, r),
                Command::CohortBinding(b) => cohort_bindings::bind(&self.conn, ctx, b),
                Command::UserPicture(p) => pictures::apply(&self.conn, ctx, p),
            };
            match r {
                Ok(c) => changes.extend(c),
                Err(RowError::Nothing(why)) => nothing.push(why),
                Err(RowError::Row(f)) => {
                    failure = Some(f);
                    break;
                }
                Err(RowError::Store(f)) if guarded => {
                    failure = Some(f);
                    break;
                }
                Err(RowError::Store(f) | RowError::Fatal(f)) => return Err(f),
            }
        }
        match (failure, guarded) {
            (Some(f), true) => {
                // Undo the row's earlier commands (and forget what they made).
                self.cache.borrow_mut().clear();
                self.exec("ROLLBACK TO moosync_row")?;
                self.exec("RELEASE moosync_row")?;
                Ok(Outcome::Failed(f))
            }
            (Some(f), false) => Ok(Outcome::Failed(f)),
            (None, true) => {
                self.exec("RELEASE moosync_row")?;
                Ok(settled(changes, nothing))
            }
            (None, false) => Ok(settled(changes, nothing)),
        }
    }
}

/// A row whose commands all had nothing to do is a skip; otherwise what changed is reported.
fn settled(mut changes: Vec<Change>, nothing: Vec<String>) -> Outcome {
    if changes.is_empty() && !nothing.is_empty() {
        return Outcome::Skipped(nothing.join("; "));
    }
    // A command of the row that had nothing to do still says so (a gdel for a group the user
    // was not in, beside an enrolment that changed).
    if let Some(last) = changes.last_mut() {
        last.fields
            .extend(nothing.into_iter().map(|why| format!("note: {why}")));
    }
    Outcome::Applied(changes)
}

/// Moodle's SHA-512 crypt costs about a millisecond: every password of the batch is hashed
/// on all cores before the writes, which go one at a time. Keyed by (row, operation).
fn hash_passwords(decisions: &[Decision]) -> HashMap<(usize, usize), String> {
    decisions
        .par_iter()
        .enumerate()
        .flat_map_iter(|(r, d)| {
            let ops: &[Op] = match d {
                Decision::Apply { ops, .. } => ops,
                Decision::Fail(_) => &[],
            };
            ops.iter().enumerate().filter_map(move |(o, op)| {
                let pw = match op {
                    Op::CreateUser(u) => u.password.as_deref(),
                    Op::UpdateUser(u) => u.password.as_deref(),
                    _ => None,
                };
                pw.map(|pw| ((r, o), password::hash(pw)))
            })
        })
        .collect()
}

impl SqliteTarget {
    /// Applies one operation as Moodle's API call would; an id it creates is recorded.
    fn apply_op(
        &self,
        op: &Op,
        hash: Option<&str>,
        ctx: &Ctx,
        created: &mut HashMap<u32, i64>,
    ) -> Result<(), RowError> {
        let (conn, now) = (&self.conn, ctx.now);
        let id = |r: Ref| -> Result<i64, RowError> {
            match r {
                Ref::Id(id) => Ok(id),
                Ref::New(n) => created.get(&n).copied().ok_or_else(|| {
                    error::row(
                        Code::NotFound,
                        "it depends on an entity an earlier row failed to create".into(),
                    )
                }),
            }
        };
        match op {
            Op::CreateUser(u) => {
                let made = users::create(&self.conn, &self.profile_fields, u, hash, now)?;
                if let Ref::New(n) = u.new {
                    created.insert(n, made);
                }
            }
            Op::UpdateUser(u) => users::update(
                &self.conn,
                &self.profile_fields,
                id(u.user())?,
                u,
                hash,
                now,
            )?,
            Op::DeleteUser {
                user,
                username,
                email,
            } => users::soft_delete(&self.conn, now, id(*user)?, username, email)?,
            Op::Enrol {
                course,
                method,
                user,
                role,
                suspended,
                start,
                end,
            } => enrol::enrol(
                conn,
                ctx,
                id(*course)?,
                method,
                id(*user)?,
                *role,
                *suspended,
                *start,
                *end,
            )?,
            Op::UpdateEnrolment {
                course,
                method,
                user,
                suspended,
                start,
                end,
            } => enrol::update_enrolment(
                conn,
                ctx,
                id(*course)?,
                method,
                id(*user)?,
                *suspended,
                *start,
                *end,
            )?,
            Op::Unenrol {
                course,
                method,
                user,
            } => enrol::unenrol(conn, ctx, id(*course)?, method, id(*user)?)?,
            Op::AssignRole { role, course, user } => {
                enrol::assign(conn, ctx, *role, id(*course)?, id(*user)?)?
            }
            Op::UnassignRole {
                role,
                course,
                user,
                component,
                itemid,
            } => enrol::unassign(
                conn,
                ctx,
                *role,
                id(*course)?,
                id(*user)?,
                component,
                *itemid,
            )?,
            Op::CreateGroup(g) => {
                let made = groups::create(conn, g, id(g.course)?, now)?;
                if let Ref::New(n) = g.new {
                    created.insert(n, made);
                }
            }
            Op::UpdateGroup(up) => groups::update(conn, up, id(up.group)?, now)?,
            Op::DeleteGroup { group, kind } => groups::delete(conn, *kind, id(*group)?)?,
            Op::AssignGrouping { grouping, group } => {
                groups::assign_grouping(conn, id(*grouping)?, id(*group)?, now)?
            }
            Op::AddGroupMember { group, user } => {
                groups::add_member(conn, id(*group)?, id(*user)?, now)?
            }
            Op::RemoveGroupMember {
                group,
                user,
                emptied,
            } => groups::remove_member(conn, id(*group)?, id(*user)?, *emptied)?,
            Op::CreateCategory {
                new,
                parent,
                name,
                visible,
            } => {
                let made = categories::create(conn, id(*parent)?, name, *visible, now)?;
                if let Ref::New(n) = new {
                    created.insert(*n, made);
                }
            }
            Op::CreateCourse(c) => {
                self.cache.borrow_mut().clear();
                let template = c.template.map(id).transpose()?;
                let made = courses::create(conn, ctx, c, id(c.category)?, template)?;
                if let Ref::New(n) = c.new {
                    created.insert(n, made);
                }
            }
            Op::UpdateCourse(u) => {
                self.cache.borrow_mut().clear();
                let course = id(u.course.expect("an update names its course"))?;
                courses::update(conn, ctx, course, u, u.category.map(id).transpose()?)?
            }
            Op::DeleteCourse { course } => {
                self.cache.borrow_mut().clear();
                course_ops::delete(conn, ctx, id(*course)?)?
            }
            Op::ResetCourse { course, reset } => {
                self.cache.borrow_mut().clear();
                course_ops::reset(conn, ctx, id(*course)?, reset)?
            }
            Op::AddInstance(i) if i.method == "meta" => {
                self.cache.borrow_mut().clear();
                let master = id(i.link.expect("a meta link names its master"))?;
                let made = instances::add_meta(conn, ctx, id(i.course)?, master)?;
                if let Ref::New(n) = i.new {
                    created.insert(n, made);
                }
            }
            Op::AddInstance(i) if matches!(i.method.as_str(), "self" | "guest") => {
                self.cache.borrow_mut().clear();
                instances::set_access_status(conn, ctx, id(i.course)?, &i.method, i.enabled)?
            }
            Op::UpdateInstance(u) if u.method == "meta" => {
                self.cache.borrow_mut().clear();
                let instance = id(u.instance.expect("a meta link update names it"))?;
                instances::set_meta_status(conn, ctx, instance, u.enabled.unwrap_or(true))?
            }
            Op::UpdateInstance(u) if matches!(u.method.as_str(), "self" | "guest") => {
                self.cache.borrow_mut().clear();
                let course = id(u.course.expect("a self or guest update names its course"))?;
                instances::set_access_status(
                    conn,
                    ctx,
                    course,
                    &u.method,
                    u.enabled.unwrap_or(true),
                )?
            }
            other => unreachable!("{other:?} is not planned yet"),
        }
        Ok(())
    }
}

fn storage(path: &Path, e: rusqlite::Error) -> Failure {
    Failure::new(Code::Storage, format!("{}: {e}", path.display()))
}

impl Target for SqliteTarget {
    fn describe(&self) -> String {
        format!("embedded store {}", self.path.display())
    }

    fn applies_in_dry_run(&self) -> bool {
        true
    }

    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure> {
        self.dry_run = dry_run;
        self.cache.borrow_mut().clear();
        self.exec("BEGIN IMMEDIATE")?;
        schema::ensure_profile_fields(&self.conn, &self.wanted_fields)
            .map_err(|e| storage(&self.path, e))?;
        self.profile_fields =
            schema::profile_fields(&self.conn).map_err(|e| storage(&self.path, e))?;
        Ok(())
    }

    fn apply_batch(&mut self, rows: &mut [Vec<Command>]) -> Result<Vec<Outcome>, Failure> {
        let ctx = Ctx {
            cohorts: &self.cohorts,
            pictures: &self.pictures,
            filedir: &self.filedir,
            written: &self.written,
            dry_run: self.dry_run,
            cache: &self.cache,
            profile_fields: &self.profile_fields,
            now: chrono::Utc::now().timestamp(),
        };
        pictures::render_wanted(&self.conn, &ctx, rows);
        let mut out = Vec::with_capacity(rows.len());
        for cmds in rows.iter_mut() {
            out.push(self.apply_row(cmds, &ctx)?);
        }
        Ok(out)
    }

    fn apply_ops(&mut self, decisions: &[Decision]) -> Result<BatchApplied, Failure> {
        let mut none: Vec<Vec<Command>> = vec![Vec::new(); decisions.len()];
        Ok(self.apply_rows(decisions, &mut none, true)?.0)
    }

    /// Row by row, all or nothing per row: its operations, then its other commands, under
    /// one savepoint.
    fn apply_rows(
        &mut self,
        decisions: &[Decision],
        rest: &mut [Vec<Command>],
        ops: bool,
    ) -> Result<(BatchApplied, Vec<Option<Outcome>>), Failure> {
        let now = chrono::Utc::now().timestamp();
        let hashes = if ops {
            hash_passwords(decisions)
        } else {
            HashMap::new()
        };
        let ctx = Ctx {
            cohorts: &self.cohorts,
            pictures: &self.pictures,
            filedir: &self.filedir,
            written: &self.written,
            dry_run: self.dry_run,
            cache: &self.cache,
            profile_fields: &self.profile_fields,
            now,
        };
        pictures::render_wanted(&self.conn, &ctx, rest);
        let mut applied = BatchApplied::default();
        let mut others = Vec::with_capacity(decisions.len());
        for (r, (d, cmds)) in decisions.iter().zip(rest.iter_mut()).enumerate() {
            let row_ops: &[Op] = match d {
                Decision::Apply { ops: o, .. } if ops => o,
                _ => &[],
            };
            let guarded = row_ops.len() + usize::from(!cmds.is_empty()) > 1;
            if guarded {
                self.exec("SAVEPOINT moosync_ops")?;
            }
            let mut result = Applied::Done;
            for (o, op) in row_ops.iter().enumerate() {
                let hash = hashes.get(&(r, o)).map(String::as_str);
                match self.apply_op(op, hash, &ctx, &mut applied.created) {
                    Ok(()) | Err(RowError::Nothing(_)) => {}
                    Err(RowError::Row(f)) => {
                        result = Applied::Failed(f);
                        break;
                    }
                    Err(RowError::Store(f)) if guarded => {
                        result = Applied::Failed(f);
                        break;
                    }
                    // Without a savepoint an operation's earlier statements cannot be undone
                    // alone: the file stops and the batch rolls back.
                    Err(RowError::Store(f) | RowError::Fatal(f)) => return Err(f),
                }
            }
            let other = match (&result, d) {
                (Applied::Done, Decision::Apply { .. }) if !cmds.is_empty() => {
                    Some(self.apply_row(cmds, &ctx)?)
                }
                _ => None,
            };
            if guarded {
                let failed = matches!(result, Applied::Failed(_))
                    || matches!(other, Some(Outcome::Failed(_)));
                if failed {
                    self.cache.borrow_mut().clear();
                    self.exec("ROLLBACK TO moosync_ops")?;
                }
                self.exec("RELEASE moosync_ops")?;
            }
            applied.rows.push(result);
            others.push(other);
        }
        Ok((applied, others))
    }

    fn end_batch(&mut self) -> Result<(), Failure> {
        if !self.dry_run {
            pictures::sync_written(&self.written)?;
            // Batched transactions: one commit per batch, not per row.
            self.exec("COMMIT")?;
            self.exec("BEGIN IMMEDIATE")?;
        }
        Ok(())
    }

    fn abort_file(&mut self) {
        self.cache.borrow_mut().clear();
        // Unreferenced once the batch rolls back: Moodle's own file clean-up would skip them too.
        self.written.borrow_mut().clear();
        let _ = self.exec("ROLLBACK");
    }

    fn finish_file(&mut self) -> Result<Vec<Change>, Failure> {
        // The file's end has looked at the groups its removals left empty.
        match groups::forget_emptied(&self.conn) {
            Ok(()) | Err(RowError::Nothing(_)) => {}
            Err(RowError::Row(f) | RowError::Store(f) | RowError::Fatal(f)) => {
                self.abort_file();
                return Err(f);
            }
        }
        if self.dry_run {
            self.exec("ROLLBACK")?;
        } else {
            self.exec("COMMIT")?;
        }
        Ok(Vec::new())
    }
}
