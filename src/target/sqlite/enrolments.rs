//! The `enrolment` command: enrol, unenrol and change roles as Moodle's enrol plugins do, or,
//! without a method, plain role assignments in the course context (tool_sync's role-only mode).

use super::courses::{course_context, require_by, StoredCourse};
use super::enrol;
use super::error::{row, RowError};
use super::lookup::{self, ContextRow};
use super::{meta, Ctx};
use crate::codes::Code;
use crate::command::Enrolment;
use crate::command::COHORT_PLUGINS;
use crate::config::{CourseIdentifier, EnrolCmd};
use crate::outcome::{Action, Change};
use rusqlite::{params, Connection, OptionalExtension};

/// The component and item a role given through `method`'s instance is recorded with: manual
/// and self enrolments give plain assignments (their plugins' `roles_protected()` is false),
/// the others mark them as theirs.
fn role_owner(method: &str, instance: i64) -> (String, i64) {
    match method {
        "manual" | "self" => (String::new(), 0),
        other => (format!("enrol_{other}"), instance),
    }
}

/// The course's instance of `method` to enrol through: it must exist (and, to enrol, be
/// enabled).
fn instance_of(
    conn: &Connection,
    ctx: &Ctx,
    course: &StoredCourse,
    method: &str,
    enabled_only: bool,
) -> Result<(i64, i64), RowError> {
    if matches!(method, "meta" | "guest") || COHORT_PLUGINS.contains(&method) {
        let why = match method {
            "guest" => "guest access enrols nobody",
            _ => "its enrolments follow its sync (a master course, or a cohort)",
        };
        return Err(row(
            Code::InvalidValue,
            format!("cannot enrol through the {method} method: {why}; use manual or self"),
        ));
    }
    let key = (course.id, method.to_string());
    let cached = ctx.cache.borrow().instances.get(&key).copied();
    let found = match cached {
        Some(found) => found,
        None => {
            let found: Option<(i64, i64, i64)> = conn
                .prepare_cached(
                    "SELECT id, status, COALESCE(roleid, 0) FROM mdl_enrol WHERE courseid = ?1 AND enrol = ?2
                     ORDER BY status, sortorder, id LIMIT 1",
                )?
                .query_row(params![course.id, method], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            ctx.cache.borrow_mut().instances.insert(key, found);
            found
        }
    };
    match found {
        None => Err(row(
            Code::NotFound,
            format!("{} has no {method} enrolment method; add one in Moodle (moosync never falls back to a bare role assignment)", course.label()),
        )),
        Some((_, status, _)) if enabled_only && status != enrol::ENABLED => Err(row(
            Code::InvalidValue,
            format!("the {method} enrolment method of {} is disabled; enable it in Moodle", course.label()),
        )),
        Some((id, _, role)) => Ok((id, role)),
    }
}

/// The course and its context, by `field`; a missing course fails the row.
pub(crate) fn course_in(
    conn: &Connection,
    ctx: &Ctx,
    field: CourseIdentifier,
    value: &str,
) -> Result<(StoredCourse, ContextRow), RowError> {
    let key = (field, value.to_string());
    if let Some(found) = ctx.cache.borrow().courses.get(&key) {
        return Ok(found.clone());
    }
    let course = require_by(conn, field, value, "course")?;
    let cctx = course_context(conn, course.id)?;
    ctx.cache
        .borrow_mut()
        .courses
        .insert(key, (course.clone(), cctx.clone()));
    Ok((course, cctx))
}

/// A role that can be given in a course, by shortname.
fn course_role(conn: &Connection, ctx: &Ctx, shortname: &str) -> Result<i64, RowError> {
    if let Some(id) = ctx.cache.borrow().course_roles.get(shortname) {
        return Ok(*id);
    }
    let id = lookup::course_role_id(conn, shortname)?;
    ctx.cache
        .borrow_mut()
        .course_roles
        .insert(shortname.to_string(), id);
    Ok(id)
}

/// Re-syncs the user in the meta courses that take participants from `course`, if any.
pub(crate) fn follow_in_meta_courses(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    user: i64,
) -> Result<(), RowError> {
    let known = ctx.cache.borrow().meta_parents.get(&course).copied();
    let has = match known {
        Some(has) => has,
        None => {
            let has: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM mdl_enrol WHERE customint1 = ?1 AND enrol = 'meta' AND status = ?2)",
                )?
                .query_row(params![course, enrol::ENABLED], |r| r.get(0))?;
            ctx.cache.borrow_mut().meta_parents.insert(course, has);
            has
        }
    };
    if has {
        meta::sync_children(conn, course, ctx.now, meta::Scope::User(user))?;
    }
    Ok(())
}

fn role_name(conn: &Connection, ctx: &Ctx, id: i64) -> Result<String, RowError> {
    if let Some(n) = ctx.cache.borrow().role_names.get(&id) {
        return Ok(n.clone());
    }
    let name: String = conn
        .prepare_cached("SELECT shortname FROM mdl_role WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    ctx.cache.borrow_mut().role_names.insert(id, name.clone());
    Ok(name)
}

/// Removes the user's roles in the course context owned by `owners` (component, item), except
/// `keep`. Returns how many went.
fn remove_roles(
    conn: &Connection,
    cctx: &ContextRow,
    user: i64,
    owners: &[(String, i64)],
    keep: Option<i64>,
) -> Result<usize, RowError> {
    let mut n = 0;
    for (component, item) in owners {
        n += conn
            .prepare_cached(
                "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 AND component = ?3
                 AND itemid = ?4 AND roleid IS NOT ?5",
            )?
            .execute(params![user, cctx.id, component, item, keep])?;
    }
    Ok(n)
}

pub(crate) fn apply(conn: &Connection, ctx: &Ctx, e: &Enrolment) -> Result<Vec<Change>, RowError> {
    let uf = e.user_by.unwrap_or(ctx.enrolments.user_identifier);
    let cf = e.course_by.unwrap_or(ctx.enrolments.course_identifier);
    let user = lookup::user_id(conn, uf, &e.user)?;
    let (course, cctx) = course_in(conn, ctx, cf, &e.course)?;
    let role = match e.role.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(course_role(conn, ctx, r)?),
        None => None,
    };
    let cmd = match e.cmd.as_deref() {
        Some("del") => EnrolCmd::Del,
        Some("shift") => EnrolCmd::Shift,
        Some(_) => EnrolCmd::Add,
        None => ctx.enrolments.default_cmd,
    };
    if cmd == EnrolCmd::Shift && role.is_none() {
        return Err(row(
            Code::MissingValue,
            "shift needs a role: the role that replaces the user's roles in the course".into(),
        ));
    }
    let label = format!("{} in {}", e.user, course.shortname);
    let method = e.method.as_deref().filter(|m| !m.is_empty());
    let change = match (cmd, method) {
        (EnrolCmd::Add | EnrolCmd::Shift, Some(m)) => {
            let shift = cmd == EnrolCmd::Shift;
            add(conn, ctx, e, (&course, &cctx), user, role, m, shift, label)?
        }
        (EnrolCmd::Del, Some(m)) => {
            let (instance, _) = instance_of(conn, ctx, &course, m, false)?;
            let enrolled = conn
                .prepare_cached(
                    "SELECT 1 FROM mdl_user_enrolments WHERE enrolid = ?1 AND userid = ?2",
                )?
                .query_row(params![instance, user], |_| Ok(()))
                .optional()?
                .is_some();
            if !enrolled {
                return Err(RowError::Nothing(format!(
                    "{label}: not enrolled through {m}"
                )));
            }
            enrol::unenrol_user(conn, course.id, &cctx, instance, m, user)?;
            Change::new(Action::Deleted, "enrolment", user, format!("{label} ({m})"))
        }
        (EnrolCmd::Add, None) => {
            let Some(role) = role else {
                return Err(row(
                    Code::MissingValue,
                    "without an enrol method a row assigns a role: give one".into(),
                ));
            };
            let made = enrol::assign_role(conn, role, cctx.id, user, "", 0, ctx.now)?;
            Change::new(
                if made {
                    Action::Created
                } else {
                    Action::Unchanged
                },
                "role_assignment",
                user,
                format!("{label} as {}", role_name(conn, ctx, role)?),
            )
        }
        (EnrolCmd::Shift, None) => {
            let removed = remove_roles(conn, &cctx, user, &[(String::new(), 0)], role)?;
            let role = role.expect("checked above");
            let made = enrol::assign_role(conn, role, cctx.id, user, "", 0, ctx.now)?;
            Change {
                action: if made || removed > 0 {
                    Action::Updated
                } else {
                    Action::Unchanged
                },
                entity: "role_assignment",
                id: user,
                label: format!("{label} as {}", role_name(conn, ctx, role)?),
                fields: if removed > 0 {
                    vec![format!("roles removed {removed}")]
                } else {
                    Vec::new()
                },
            }
        }
        (EnrolCmd::Del, None) => {
            let n = match role {
                Some(r) => conn
                    .prepare_cached(
                        "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 AND roleid = ?3 AND component = ''",
                    )?
                    .execute(params![user, cctx.id, r])?,
                None => remove_roles(conn, &cctx, user, &[(String::new(), 0)], None)?,
            };
            if n == 0 {
                return Err(RowError::Nothing(format!(
                    "{label}: no such role assignment"
                )));
            }
            Change {
                action: Action::Deleted,
                entity: "role_assignment",
                id: user,
                label,
                fields: vec![format!("roles {n}")],
            }
        }
    };
    if change.action != Action::Unchanged {
        follow_in_meta_courses(conn, ctx, course.id, user)?;
    }
    Ok(vec![change])
}

/// `add` (and `shift`) through an enrol method: enrols, or updates dates, status and role.
#[allow(clippy::too_many_arguments)]
fn add(
    conn: &Connection,
    ctx: &Ctx,
    e: &Enrolment,
    (course, cctx): (&StoredCourse, &ContextRow),
    user: i64,
    role: Option<i64>,
    method: &str,
    shift: bool,
    label: String,
) -> Result<Change, RowError> {
    let (instance, default_role) = instance_of(conn, ctx, course, method, true)?;
    let role = match role {
        Some(r) => r,
        None if default_role > 0 => default_role,
        None => lookup::role_id(conn, "student")?,
    };
    let existing: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT status, timestart, timeend FROM mdl_user_enrolments WHERE enrolid = ?1 AND userid = ?2",
        )?
        .query_row(params![instance, user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let want_status = e.suspended.map(i64::from);
    let mut fields = Vec::new();
    let action = match existing {
        None => {
            let (start, end) = (e.timestart.unwrap_or(0), e.timeend.unwrap_or(0));
            conn.prepare_cached(
                "INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, timecreated, timemodified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?
            .execute(params![want_status.unwrap_or(0), instance, user, start, end, ctx.now])?;
            Action::Created
        }
        Some((status, start, end)) => {
            let new = (
                want_status.unwrap_or(status),
                e.timestart.unwrap_or(start),
                e.timeend.unwrap_or(end),
            );
            if new.2 != 0 && new.2 < new.1 {
                return Err(row(
                    Code::InvalidValue,
                    format!(
                        "{label}: the end ({}) would be before the start ({})",
                        new.2, new.1
                    ),
                ));
            }
            for (what, was, now) in [
                ("status", status, new.0),
                ("timestart", start, new.1),
                ("timeend", end, new.2),
            ] {
                if was != now {
                    fields.push(what.to_string());
                }
            }
            if !fields.is_empty() {
                conn.prepare_cached(
                    "UPDATE mdl_user_enrolments SET status = ?3, timestart = ?4, timeend = ?5, timemodified = ?6
                     WHERE enrolid = ?1 AND userid = ?2",
                )?
                .execute(params![instance, user, new.0, new.1, new.2, ctx.now])?;
                Action::Updated
            } else {
                Action::Unchanged
            }
        }
    };
    let (component, item) = role_owner(method, instance);
    if shift {
        let removed = remove_roles(
            conn,
            cctx,
            user,
            &[(String::new(), 0), (component.clone(), item)],
            Some(role),
        )?;
        if removed > 0 {
            fields.push(format!("roles removed {removed}"));
        }
    }
    if enrol::assign_role(conn, role, cctx.id, user, &component, item, ctx.now)? {
        fields.push(format!("role {}", role_name(conn, ctx, role)?));
    }
    let action = match action {
        Action::Unchanged if !fields.is_empty() => Action::Updated,
        a => a,
    };
    Ok(Change {
        action,
        entity: "enrolment",
        id: user,
        label: format!("{label} ({method})"),
        fields: if action == Action::Created {
            Vec::new()
        } else {
            fields
        },
    })
}
