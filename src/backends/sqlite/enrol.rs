//! Enrol instances and user enrolments with Moodle's semantics: a course's default instances,
//! enrolling through an instance with a role, and unenrolling with the roles it gave.

use super::error::RowError;
use super::lookup::ContextRow;
use rusqlite::{params, Connection, OptionalExtension};

/// `ENROL_INSTANCE_ENABLED` / `ENROL_INSTANCE_DISABLED`.
pub(crate) const ENABLED: i64 = 0;
pub(crate) const DISABLED: i64 = 1;

/// What `create_course` gives a new course on a default site (moodle.md §4.2): manual
/// enabled with the student role, guest and self disabled unless asked for. Returns the manual
/// instance's id.
pub(crate) fn add_default_instances(
    conn: &Connection,
    course: i64,
    student: i64,
    guest_on: bool,
    self_on: bool,
    now: i64,
) -> Result<i64, RowError> {
    let status = |on: bool| if on { ENABLED } else { DISABLED };
    // Self enrolment's customint1..6: no group key, no inactivity limit, no cap, welcome
    // message, no cohort restriction, new enrolments allowed.
    let self_options = [0, 0, 0, 1, 0, 1].map(Some);
    let instances = [
        ("manual", ENABLED, student, 86400, [None; 6]),
        ("guest", status(guest_on), 0, 0, [None; 6]),
        ("self", status(self_on), student, 86400, self_options),
    ];
    let mut insert = conn.prepare_cached(
        "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, expirythreshold,
            customint1, customint2, customint3, customint4, customint5, customint6, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
    )?;
    let mut manual = 0;
    for (sortorder, (plugin, status, role, threshold, c)) in instances.into_iter().enumerate() {
        insert.execute(params![
            plugin,
            status,
            course,
            sortorder as i64,
            role,
            threshold,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            now
        ])?;
        if plugin == "manual" {
            manual = conn.last_insert_rowid();
        }
    }
    Ok(manual)
}

/// Sets the status of the course's first instance of `plugin`, adding one if it has none.
/// Returns whether anything changed.
pub(crate) fn set_status(
    conn: &Connection,
    course: i64,
    plugin: &str,
    on: bool,
    student: i64,
    now: i64,
) -> Result<bool, RowError> {
    let want = if on { ENABLED } else { DISABLED };
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, status FROM mdl_enrol WHERE courseid = ?1 AND enrol = ?2 ORDER BY id LIMIT 1",
        )?
        .query_row(params![course, plugin], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((_, status)) if status == want => Ok(false),
        Some((id, _)) => {
            conn.prepare_cached(
                "UPDATE mdl_enrol SET status = ?2, timemodified = ?3 WHERE id = ?1",
            )?
            .execute(params![id, want, now])?;
            Ok(true)
        }
        None => {
            let sortorder: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(MAX(sortorder) + 1, 0) FROM mdl_enrol WHERE courseid = ?1",
                )?
                .query_row([course], |r| r.get(0))?;
            let role = if plugin == "guest" { 0 } else { student };
            conn.prepare_cached(
                "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, timecreated, timemodified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?
            .execute(params![plugin, want, course, sortorder, role, now])?;
            Ok(true)
        }
    }
}

/// Assigns the role as `role_assign` does: never twice for the same component and item.
/// Returns whether an assignment was created.
pub(crate) fn assign_role(
    conn: &Connection,
    role: i64,
    context: i64,
    user: i64,
    component: &str,
    item: i64,
    now: i64,
) -> Result<bool, RowError> {
    let exists = conn
        .prepare_cached(
            "SELECT 1 FROM mdl_role_assignments
             WHERE userid = ?1 AND contextid = ?2 AND roleid = ?3 AND component = ?4 AND itemid = ?5",
        )?
        .query_row(params![user, context, role, component, item], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, component, itemid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![role, context, user, now, component, item])?;
    Ok(true)
}

/// Unenrols the user from one instance as `enrol_plugin::unenrol_user` does: the roles the
/// instance gave go; when no enrolment in the course is left, every role in the course (and
/// below it) and every group membership in it go too.
pub(crate) fn unenrol_user(
    conn: &Connection,
    course: i64,
    course_ctx: &ContextRow,
    instance: i64,
    plugin: &str,
    user: i64,
) -> Result<(), RowError> {
    conn.prepare_cached("DELETE FROM mdl_user_enrolments WHERE enrolid = ?1 AND userid = ?2")?
        .execute(params![instance, user])?;
    conn.prepare_cached(
        "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 AND component = ?3 AND itemid = ?4",
    )?
    .execute(params![user, course_ctx.id, format!("enrol_{plugin}"), instance])?;
    // Memberships the instance filed the user into (a cohort's or meta link's group).
    conn.prepare_cached(
        "DELETE FROM mdl_groups_members WHERE userid = ?1 AND component = ?2 AND itemid = ?3",
    )?
    .execute(params![user, format!("enrol_{plugin}"), instance])?;
    let still: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid
                            WHERE e.courseid = ?1 AND ue.userid = ?2)",
        )?
        .query_row(params![course, user], |r| r.get(0))?;
    if !still {
        let (lo, hi) = course_ctx.below();
        conn.prepare_cached(
            "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid IN
               (SELECT id FROM mdl_context WHERE id = ?2 OR (path >= ?3 AND path < ?4))",
        )?
        .execute(params![user, course_ctx.id, lo, hi])?;
        conn.prepare_cached(
            "DELETE FROM mdl_groups_members WHERE userid = ?1 AND groupid IN
               (SELECT id FROM mdl_groups WHERE courseid = ?2)",
        )?
        .execute(params![user, course])?;
    }
    Ok(())
}

/// The component and item a role given through `method`'s instance is recorded with: manual
/// and self enrolments give plain assignments (their plugins' `roles_protected()` is false),
/// the others mark them as theirs.
pub(crate) fn role_owner(method: &str, instance: i64) -> (String, i64) {
    match method {
        "manual" | "self" => (String::new(), 0),
        other => (format!("enrol_{other}"), instance),
    }
}

/// The course's instance of `method` an enrolment goes through (an enabled one first).
fn instance_of(
    conn: &Connection,
    ctx: &super::Ctx,
    course: i64,
    method: &str,
) -> Result<i64, RowError> {
    let key = (course, method.to_string());
    let cached = ctx.cache.borrow().instances.get(&key).copied();
    let found = match cached {
        Some(found) => found,
        None => {
            let found: Option<(i64, i64, i64)> = conn
                .prepare_cached(
                    "SELECT id, status, COALESCE(roleid, 0) FROM mdl_enrol WHERE courseid = ?1 AND enrol = ?2
                     ORDER BY status, sortorder, id LIMIT 1",
                )?
                .query_row(params![course, method], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            ctx.cache.borrow_mut().instances.insert(key, found);
            found
        }
    };
    found.map(|(id, _, _)| id).ok_or_else(|| {
        super::error::row(
            crate::codes::Code::NotFound,
            format!("course id {course} has no {method} enrolment method"),
        )
    })
}

fn course_ctx(conn: &Connection, ctx: &super::Ctx, course: i64) -> Result<ContextRow, RowError> {
    if let Some(c) = ctx.cache.borrow().course_contexts.get(&course) {
        return Ok(c.clone());
    }
    let c = super::courses::course_context(conn, course)?;
    ctx.cache
        .borrow_mut()
        .course_contexts
        .insert(course, c.clone());
    Ok(c)
}

/// Re-syncs the user in the meta courses that take participants from `course`, if any.
pub(crate) fn follow_in_meta_courses(
    conn: &Connection,
    ctx: &super::Ctx,
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
                .query_row(params![course, ENABLED], |r| r.get(0))?;
            ctx.cache.borrow_mut().meta_parents.insert(course, has);
            has
        }
    };
    if has {
        super::meta::sync_children(conn, course, ctx.now, super::meta::Scope::User(user))?;
    }
    Ok(())
}

/// enrol_user: enrols through the course's instance of `method` (or updates an enrolment
/// there), with `role` given as the plugin gives it; meta courses follow.
#[allow(clippy::too_many_arguments)]
pub(crate) fn enrol(
    conn: &Connection,
    ctx: &super::Ctx,
    course: i64,
    method: &str,
    user: i64,
    role: Option<i64>,
    suspended: bool,
    start: i64,
    end: i64,
) -> Result<(), RowError> {
    let instance = instance_of(conn, ctx, course, method)?;
    conn.prepare_cached(
        "INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (enrolid, userid) DO UPDATE SET status = excluded.status, timestart = excluded.timestart,
           timeend = excluded.timeend, timemodified = excluded.timemodified",
    )?
    .execute(params![suspended as i64, instance, user, start, end, ctx.now])?;
    if let Some(role) = role {
        let (component, item) = role_owner(method, instance);
        assign_role(
            conn,
            role,
            course_ctx(conn, ctx, course)?.id,
            user,
            &component,
            item,
            ctx.now,
        )?;
    }
    follow_in_meta_courses(conn, ctx, course, user)
}

/// update_user_enrol: the status and period of an enrolment; meta courses follow.
#[allow(clippy::too_many_arguments)]
pub(crate) fn update_enrolment(
    conn: &Connection,
    ctx: &super::Ctx,
    course: i64,
    method: &str,
    user: i64,
    suspended: Option<bool>,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<(), RowError> {
    let instance = instance_of(conn, ctx, course, method)?;
    conn.prepare_cached(
        "UPDATE mdl_user_enrolments SET status = COALESCE(?3, status), timestart = COALESCE(?4, timestart),
           timeend = COALESCE(?5, timeend), timemodified = ?6 WHERE enrolid = ?1 AND userid = ?2",
    )?
    .execute(params![instance, user, suspended.map(i64::from), start, end, ctx.now])?;
    follow_in_meta_courses(conn, ctx, course, user)
}

/// unenrol_user from the course's instance of `method`; meta courses follow.
pub(crate) fn unenrol(
    conn: &Connection,
    ctx: &super::Ctx,
    course: i64,
    method: &str,
    user: i64,
) -> Result<(), RowError> {
    let instance = instance_of(conn, ctx, course, method)?;
    unenrol_user(
        conn,
        course,
        &course_ctx(conn, ctx, course)?,
        instance,
        method,
        user,
    )?;
    follow_in_meta_courses(conn, ctx, course, user)
}

/// role_assign in the course's context (a plain assignment); meta courses follow.
pub(crate) fn assign(
    conn: &Connection,
    ctx: &super::Ctx,
    role: i64,
    course: i64,
    user: i64,
) -> Result<(), RowError> {
    assign_role(
        conn,
        role,
        course_ctx(conn, ctx, course)?.id,
        user,
        "",
        0,
        ctx.now,
    )?;
    follow_in_meta_courses(conn, ctx, course, user)
}

/// role_unassign of one assignment in the course's context; meta courses follow.
pub(crate) fn unassign(
    conn: &Connection,
    ctx: &super::Ctx,
    role: i64,
    course: i64,
    user: i64,
    component: &str,
    itemid: i64,
) -> Result<(), RowError> {
    conn.prepare_cached(
        "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 AND roleid = ?3
         AND component = ?4 AND itemid = ?5",
    )?
    .execute(params![
        user,
        course_ctx(conn, ctx, course)?.id,
        role,
        component,
        itemid
    ])?;
    follow_in_meta_courses(conn, ctx, course, user)
}
