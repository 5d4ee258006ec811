//! Course delete and reset in the embedded store, as Moodle's delete_course and
//! reset_course_userdata do them.

use super::courses::course_context;
use super::enrol;
use super::error::RowError;
use super::lookup::delete_context_tree;
use super::{meta, Ctx};
use crate::plan::ops::Reset;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, BTreeSet};

fn exec(conn: &Connection, sql: &str, id: i64) -> Result<usize, RowError> {
    Ok(conn.prepare_cached(sql)?.execute([id])?)
}

/// Deletes the course and everything that belongs to it: context (and below), enrol
/// instances with their enrolments, role assignments, groups, groupings, sections. Meta
/// links that took participants from it are disabled, as Moodle's enrol_meta does.
pub(crate) fn delete(conn: &Connection, ctx: &Ctx, id: i64) -> Result<(), RowError> {
    let category: i64 = conn
        .prepare_cached("SELECT category FROM mdl_course WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let cctx = course_context(conn, id)?;
    exec(
        conn,
        "DELETE FROM mdl_user_enrolments WHERE enrolid IN (SELECT id FROM mdl_enrol WHERE courseid = ?1)",
        id,
    )?;
    exec(conn, "DELETE FROM mdl_enrol WHERE courseid = ?1", id)?;
    delete_context_tree(conn, &cctx)?;
    exec(
        conn,
        "DELETE FROM mdl_groups_members WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
        id,
    )?;
    exec(
        conn,
        "DELETE FROM mdl_groupings_groups WHERE groupingid IN (SELECT id FROM mdl_groupings WHERE courseid = ?1)",
        id,
    )?;
    exec(conn, "DELETE FROM mdl_groups WHERE courseid = ?1", id)?;
    exec(conn, "DELETE FROM mdl_groupings WHERE courseid = ?1", id)?;
    exec(
        conn,
        "DELETE FROM mdl_course_sections WHERE course = ?1",
        id,
    )?;
    exec(conn, "DELETE FROM mdl_course WHERE id = ?1", id)?;
    exec(
        conn,
        "UPDATE mdl_course_categories SET coursecount = MAX(coursecount - 1, 0) WHERE id = ?1",
        category,
    )?;
    meta::orphan_children(conn, id, ctx.now)?;
    Ok(())
}

/// Whether `allow_unenrol()` / `allow_unenrol_user()` of the method lets a reset unenrol
/// an enrolment of this status (the sync methods: only what their sync suspended).
fn unenrols_through(method: &str, suspended: bool) -> bool {
    match method {
        "manual" | "self" | "flatfile" | "lti" | "paypal" => true,
        "meta" | "cohort" | "database" => suspended,
        _ => false,
    }
}

/// reset_course_userdata with the options asked, in its order: local role assignments,
/// then the unenrolments, then groups and groupings.
pub(crate) fn reset(conn: &Connection, ctx: &Ctx, id: i64, r: &Reset) -> Result<(), RowError> {
    let cctx = course_context(conn, id)?;
    if matches!(r.local_roles.as_deref(), Some("all" | "roles")) {
        // Assignments below the course (its activities and blocks); overrides live in
        // mdl_role_capabilities, which the store does not keep.
        conn.prepare_cached(
            "DELETE FROM mdl_role_assignments WHERE roleid IN (SELECT id FROM mdl_role) AND contextid IN
               (SELECT id FROM mdl_context WHERE path >= ?1 AND path < ?2)",
        )?
        .execute(params![cctx.below().0, cctx.below().1])?;
    }
    if r.unenrol_all || !r.unenrol_roles.is_empty() {
        unenrol(conn, ctx, id, &cctx, r)?;
    }
    if let Some(what) = r.groups.as_deref() {
        exec(
            conn,
            "DELETE FROM mdl_groups_members WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
            id,
        )?;
        if what != "members" {
            exec(
                conn,
                "DELETE FROM mdl_groupings_groups WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
                id,
            )?;
            exec(conn, "DELETE FROM mdl_groups WHERE courseid = ?1", id)?;
        }
    }
    if let Some(what) = r.groupings.as_deref() {
        exec(
            conn,
            "DELETE FROM mdl_groupings_groups WHERE groupingid IN (SELECT id FROM mdl_groupings WHERE courseid = ?1)",
            id,
        )?;
        if what != "members" {
            exec(conn, "DELETE FROM mdl_groupings WHERE courseid = ?1", id)?;
        }
    }
    Ok(())
}

/// reset_course_userdata's "Unenrol users": for each role asked (every role, for `all`),
/// each enrolment of a user holding it, through an enabled method that allows it, is ended;
/// a user holding other roles in the course only loses that role instead. Meta courses
/// taking their participants from the course follow.
fn unenrol(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    cctx: &super::lookup::ContextRow,
    r: &Reset,
) -> Result<(), RowError> {
    let roles: Vec<i64> = if r.unenrol_all {
        conn.prepare_cached("SELECT id FROM mdl_role ORDER BY sortorder")?
            .query_map([], |x| x.get(0))?
            .collect::<Result<_, _>>()?
    } else {
        r.unenrol_roles.clone()
    };
    // enrol_get_course_users_roles: each user's roles in the course.
    let mut held: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for a in conn
        .prepare_cached(
            "SELECT userid, roleid FROM mdl_role_assignments WHERE roleid IN (SELECT id FROM mdl_role) AND contextid = ?1",
        )?
        .query_map([cctx.id], |x| Ok((x.get::<_, i64>(0)?, x.get::<_, i64>(1)?)))?
    {
        let (u, role) = a?;
        held.entry(u).or_default().insert(role);
    }
    let mut touched = false;
    for role in roles {
        let rows: Vec<(i64, String, i64, i64)> = conn
            .prepare_cached(
                "SELECT e.id, e.enrol, ue.userid, ue.status FROM mdl_user_enrolments ue
                 JOIN mdl_enrol e ON e.id = ue.enrolid AND e.courseid = ?1 AND e.status = 0
                 JOIN mdl_role_assignments ra ON ra.contextid = ?2 AND ra.roleid = ?3 AND ra.userid = ue.userid
                 ORDER BY ue.id",
            )?
            .query_map(params![course, cctx.id, role], |x| {
                Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        for (instance, method, user, status) in rows {
            if !unenrols_through(&method, status != 0) {
                continue;
            }
            let roles_held = held.entry(user).or_default();
            if roles_held.len() > 1 {
                // role_unassign: the plain assignment only.
                conn.prepare_cached(
                    "DELETE FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 AND roleid = ?3
                     AND component = '' AND itemid = 0",
                )?
                .execute(params![user, cctx.id, role])?;
                roles_held.remove(&role);
            } else {
                enrol::unenrol_user(conn, course, cctx, instance, &method, user)?;
            }
            touched = true;
        }
    }
    if touched {
        meta::sync_children(conn, course, ctx.now, meta::Scope::All)?;
    }
    Ok(())
}
