//! The embedded store: a SQLite file laid out like Moodle's tables, with Moodle's semantics.

mod ahead;
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
use crate::command::COHORT_PLUGINS;
use crate::config::{Config, PicturesConfig};
use crate::outcome::Change;
use crate::pictures::avatar::{self, Avatar};
use crate::plan::view::CohortHome;
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use cache::Cache;
use error::RowError;
use rayon::prelude::*;
use rusqlite::Connection;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use schema::open_store;

pub struct SqliteTarget {
    conn: Connection,
    path: PathBuf,
    pictures: PicturesConfig,
    /// Picture content files, beside the database as Moodle's are beside its data.
    filedir: PathBuf,
    /// Picture files written by the current batch, made durable before it commits.
    written: RefCell<Vec<PathBuf>>,
    cache: RefCell<Cache>,
    /// What the batch being planned will read, read ahead; dropped before anything writes.
    ahead: ahead::Ahead,
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
            pictures: cfg.pictures.clone(),
            filedir: path
                .parent()
                .unwrap_or(Path::new("."))
                .join(crate::filearea::FILEDIR),
            written: RefCell::new(Vec::new()),
            cache: RefCell::new(Cache::default()),
            ahead: ahead::Ahead::default(),
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
        avatar: Option<&Result<Arc<Avatar>, Failure>>,
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
            Op::CreateCohort(c) => {
                self.cache.borrow_mut().cohorts.clear();
                let category = match c.home {
                    CohortHome::System => None,
                    CohortHome::Category(r) => Some(id(r)?),
                };
                let made = cohorts::create(conn, now, c, category)?;
                if let Ref::New(n) = c.new {
                    created.insert(n, made);
                }
            }
            Op::UpdateCohort(up) => {
                self.cache.borrow_mut().cohorts.clear();
                let home = match up.home {
                    None => None,
                    Some(CohortHome::System) => Some(None),
                    Some(CohortHome::Category(r)) => Some(Some(id(r)?)),
                };
                let cohort = up.cohort.expect("an update names its cohort");
                cohorts::update(conn, now, id(cohort)?, up, home)?
            }
            Op::DeleteCohort { cohort } => cohorts::delete(conn, ctx, id(*cohort)?)?,
            Op::AddCohortMember { cohort, user } => {
                cohorts::add_member(conn, ctx, id(*cohort)?, id(*user)?)?
            }
            Op::RemoveCohortMember { cohort, user } => {
                cohorts::remove_member(conn, ctx, id(*cohort)?, id(*user)?)?
            }
            Op::AddInstance(n) if COHORT_PLUGINS.contains(&n.method.as_str()) => {
                let link = n.link.expect("a cohort instance names its cohort");
                let group = n.group.map(id).transpose()?;
                let made = cohort_bindings::add(conn, ctx, n, id(n.course)?, id(link)?, group)?;
                if let Ref::New(k) = n.new {
                    created.insert(k, made);
                }
            }
            Op::UpdateInstance(up) if COHORT_PLUGINS.contains(&up.method.as_str()) => {
                let inst = up.instance.expect("an update names its instance");
                let group = up.group.map(id).transpose()?;
                cohort_bindings::update(conn, ctx, id(inst)?, up, group)?
            }
            Op::DeleteInstance { instance, method }
                if COHORT_PLUGINS.contains(&method.as_str()) =>
            {
                cohort_bindings::delete(conn, ctx, id(*instance)?)?
            }
            Op::SetPicture { user, image, md5 } => {
                let made = match avatar {
                    Some(Ok(a)) => a.clone(),
                    Some(Err(f)) => return Err(RowError::Row(f.clone())),
                    None => Arc::new(avatar::render(image, &pictures::limits(ctx))?),
                };
                pictures::set(conn, ctx, id(*user)?, &made, md5)?
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

    fn identity(&self) -> Result<String, Failure> {
        let site: String = self
            .conn
            .query_row(
                "SELECT value FROM mdl_config WHERE name = 'siteidentifier'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| storage(&self.path, e))?;
        // The store's own identifier, not its path: a data folder moved elsewhere is the
        // same site, a store made again at the same path is another.
        Ok(format!("embedded store {site}"))
    }

    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure> {
        self.dry_run = dry_run;
        self.cache.borrow_mut().clear();
        self.ahead.clear();
        self.exec("BEGIN IMMEDIATE")?;
        schema::ensure_profile_fields(&self.conn, &self.wanted_fields)
            .map_err(|e| storage(&self.path, e))?;
        self.profile_fields =
            schema::profile_fields(&self.conn).map_err(|e| storage(&self.path, e))?;
        Ok(())
    }

    /// Row by row, all or nothing per row: a row of several operations goes under one
    /// savepoint.
    fn apply_ops(&mut self, decisions: &[Decision]) -> Result<BatchApplied, Failure> {
        // What was read ahead for the plan is not true once the batch writes.
        self.ahead.clear();
        let now = chrono::Utc::now().timestamp();
        let hashes = hash_passwords(decisions);
        let ctx = Ctx {
            pictures: &self.pictures,
            filedir: &self.filedir,
            written: &self.written,
            dry_run: self.dry_run,
            cache: &self.cache,
            profile_fields: &self.profile_fields,
            now,
        };
        let avatars = pictures::render_batch(&ctx, decisions);
        let mut applied = BatchApplied::default();
        for (r, d) in decisions.iter().enumerate() {
            let row_ops: &[Op] = match d {
                Decision::Apply { ops, .. } => ops,
                Decision::Fail(_) => &[],
            };
            let guarded = row_ops.len() > 1;
            if guarded {
                self.exec("SAVEPOINT moosync_ops")?;
            }
            let mut result = Applied::Done;
            for (o, op) in row_ops.iter().enumerate() {
                let hash = hashes.get(&(r, o)).map(String::as_str);
                let avatar = avatars.get(&(r, o));
                match self.apply_op(op, hash, avatar, &ctx, &mut applied.created) {
                    Ok(()) => {}
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
            if guarded {
                if matches!(result, Applied::Failed(_)) {
                    self.cache.borrow_mut().clear();
                    self.exec("ROLLBACK TO moosync_ops")?;
                }
                self.exec("RELEASE moosync_ops")?;
            }
            applied.rows.push(result);
        }
        Ok(applied)
    }

    fn end_batch(&mut self) -> Result<(), Failure> {
        // Each batch reads ahead its own (a dry run applies nothing, so nothing else drops it).
        self.ahead.clear();
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
        self.ahead.clear();
        // Unreferenced once the batch rolls back: Moodle's own file clean-up would skip them too.
        self.written.borrow_mut().clear();
        let _ = self.exec("ROLLBACK");
    }

    fn finish_file(&mut self) -> Result<Vec<Change>, Failure> {
        self.ahead.clear();
        // The file's end has looked at the groups its removals left empty.
        match groups::forget_emptied(&self.conn) {
            Ok(()) => {}
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
