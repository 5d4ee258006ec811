//! Course delete, check and reset in the embedded store.

use super::courses::{course_context, find_by, require, require_by, StoredCourse, SITE_COURSE};
use super::enrol;
use super::error::{row, RowError};
use super::lookup::{self, delete_context_tree};
use super::{categories, meta, Ctx};
use crate::codes::Code;
use crate::command::{CourseCheck, CourseRef, CourseReset};
use crate::outcome::{Action, Change};
use rusqlite::{params, Connection};

fn exec(conn: &Connection, sql: &str, id: i64) -> Result<usize, RowError> {
    Ok(conn.prepare_cached(sql)?.execute([id])?)
}

/// Deletes the course and everything that belongs to it: context (and below), enrol
/// instances with their enrolments, role assignments, groups, groupings, sections. Meta
/// links that took participants from it are disabled, as Moodle's enrol_meta does.
pub(crate) fn delete(conn: &Connection, ctx: &Ctx, r: &CourseRef) -> Result<Vec<Change>, RowError> {
    let c = require(conn, ctx, &r.course, "course")?;
    let cctx = course_context(conn, c.id)?;
    let enrolments = exec(
        conn,
        "DELETE FROM mdl_user_enrolments WHERE enrolid IN (SELECT id FROM mdl_enrol WHERE courseid = ?1)",
        c.id,
    )?;
    exec(conn, "DELETE FROM mdl_enrol WHERE courseid = ?1", c.id)?;
    let roles = delete_context_tree(conn, &cctx)?;
    exec(
        conn,
        "DELETE FROM mdl_groups_members WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
        c.id,
    )?;
    exec(
        conn,
        "DELETE FROM mdl_groupings_groups WHERE groupingid IN (SELECT id FROM mdl_groupings WHERE courseid = ?1)",
        c.id,
    )?;
    let groups = exec(conn, "DELETE FROM mdl_groups WHERE courseid = ?1", c.id)?;
    exec(conn, "DELETE FROM mdl_groupings WHERE courseid = ?1", c.id)?;
    exec(
        conn,
        "DELETE FROM mdl_course_sections WHERE course = ?1",
        c.id,
    )?;
    exec(conn, "DELETE FROM mdl_course WHERE id = ?1", c.id)?;
    exec(
        conn,
        "UPDATE mdl_course_categories SET coursecount = MAX(coursecount - 1, 0) WHERE id = ?1",
        c.category,
    )?;
    let orphaned = meta::orphan_children(conn, c.id, ctx.now)?;
    let mut fields = vec![
        format!("enrolments {enrolments}"),
        format!("role assignments {roles}"),
        format!("groups {groups}"),
    ];
    if orphaned > 0 {
        fields.push(format!("meta links from it disabled {orphaned}"));
    }
    Ok(vec![Change {
        action: Action::Deleted,
        entity: "course",
        id: c.id,
        label: c.shortname,
        fields,
    }])
}

/// Says whether the course exists and what it is. A missing course fails the line, so the
/// tryback lists exactly the courses that are missing.
pub(crate) fn check(
    conn: &Connection,
    ctx: &Ctx,
    r: &CourseCheck,
) -> Result<Vec<Change>, RowError> {
    let field = ctx.courses.identifier;
    let Some(c): Option<StoredCourse> = find_by(conn, field, &r.course)? else {
        let about = r
            .description
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return Err(row(
            Code::NotFound,
            format!("no course has {} '{}'{about}", field.column(), r.course),
        ));
    };
    let (visible, enrolled): (i64, i64) = conn
        .prepare_cached(
            "SELECT c.visible, (SELECT COUNT(DISTINCT ue.userid) FROM mdl_user_enrolments ue
                 JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = c.id)
             FROM mdl_course c WHERE c.id = ?1",
        )?
        .query_row([c.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut fields = vec![
        format!("fullname {}", c.fullname),
        format!(
            "idnumber {}",
            if c.idnumber.is_empty() {
                "-"
            } else {
                &c.idnumber
            }
        ),
        format!("category {}", categories::path_label(conn, c.category)?),
        format!("{}", if visible != 0 { "visible" } else { "hidden" }),
        format!("enrolled users {enrolled}"),
    ];
    if c.id == SITE_COURSE {
        fields.push("the site course".into());
    }
    if let Some(d) = r.description.as_deref().filter(|d| !d.is_empty()) {
        fields.push(format!("description {d}"));
    }
    Ok(vec![Change {
        action: Action::Found,
        entity: "course",
        id: c.id,
        label: c.shortname,
        fields,
    }])
}

/// Resets what the embedded store holds of a course: enrolments (all, or of users holding
/// the given roles), local role assignments below the course, groups and groupings.
pub(crate) fn reset(
    conn: &Connection,
    ctx: &Ctx,
    r: &CourseReset,
) -> Result<Vec<Change>, RowError> {
    let field = r.by.unwrap_or(ctx.courses.identifier);
    let c = require_by(conn, field, &r.course, "course")?;
    let roles = r
        .unenrol_roles
        .iter()
        .map(|s| lookup::role_id(conn, s))
        .collect::<Result<Vec<_>, _>>()?;
    let cctx = course_context(conn, c.id)?;
    let mut fields = Vec::new();

    if r.unenrol_all || !roles.is_empty() {
        // As reset_course_userdata: the users holding the roles (any role, for `all`) in the
        // course, unenrolled from its enabled instances. Meta and cohort enrolments belong to
        // their sync, which would put them back: they stay.
        let holders: std::collections::HashSet<i64> = {
            let mut stmt = conn.prepare_cached(
                "SELECT userid, roleid FROM mdl_role_assignments
                 WHERE roleid IN (SELECT id FROM mdl_role) AND contextid = ?1",
            )?;
            let rows = stmt.query_map([cctx.id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut set = std::collections::HashSet::new();
            for x in rows {
                let (u, role) = x?;
                if r.unenrol_all || roles.contains(&role) {
                    set.insert(u);
                }
            }
            set
        };
        let mut targets: Vec<(i64, String, i64)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT e.id, e.enrol, ue.userid FROM mdl_user_enrolments ue
                 JOIN mdl_enrol e ON e.id = ue.enrolid
                 WHERE e.courseid = ?1 AND e.status = 0
                   AND e.enrol NOT IN ('meta', 'cohort', 'delayedcohort', 'cohortrestricted')
                 ORDER BY ue.id",
            )?;
            for t in stmt.query_map([c.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
                let t: (i64, String, i64) = t?;
                if holders.contains(&t.2) {
                    targets.push(t);
                }
            }
        }
        let users: std::collections::BTreeSet<i64> = targets.iter().map(|t| t.2).collect();
        for (instance, plugin, user) in &targets {
            enrol::unenrol_user(conn, c.id, &cctx, *instance, plugin, *user)?;
        }
        fields.push(format!("unenrolled users {}", users.len()));
        let s = meta::sync_children(conn, c.id, ctx.now, meta::Scope::All)?;
        if s.suspended > 0 {
            fields.push(format!("suspended in meta courses {}", s.suspended));
        }
    }
    if let Some(what) = r.local_roles.as_deref() {
        if what != "overrides" {
            let n = conn
                .prepare_cached(
                    "DELETE FROM mdl_role_assignments WHERE roleid IN (SELECT id FROM mdl_role) AND contextid IN
                       (SELECT id FROM mdl_context WHERE path >= ?1 AND path < ?2)",
                )?
                .execute(params![cctx.below().0, cctx.below().1])?;
            fields.push(format!("local role assignments {n}"));
        }
        // Permission overrides live in mdl_role_capabilities, which the store does not keep.
    }
    if let Some(what) = r.groups.as_deref() {
        let members = exec(
            conn,
            "DELETE FROM mdl_groups_members WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
            c.id,
        )?;
        fields.push(format!("group members {members}"));
        if what != "members" {
            exec(
                conn,
                "DELETE FROM mdl_groupings_groups WHERE groupid IN (SELECT id FROM mdl_groups WHERE courseid = ?1)",
                c.id,
            )?;
            let n = exec(conn, "DELETE FROM mdl_groups WHERE courseid = ?1", c.id)?;
            fields.push(format!("groups {n}"));
        }
    }
    if let Some(what) = r.groupings.as_deref() {
        let links = exec(
            conn,
            "DELETE FROM mdl_groupings_groups WHERE groupingid IN (SELECT id FROM mdl_groupings WHERE courseid = ?1)",
            c.id,
        )?;
        fields.push(format!("groups taken out of groupings {links}"));
        if what != "members" {
            let n = exec(conn, "DELETE FROM mdl_groupings WHERE courseid = ?1", c.id)?;
            fields.push(format!("groupings {n}"));
        }
    }
    Ok(vec![Change {
        action: Action::Reset,
        entity: "course",
        id: c.id,
        label: c.shortname,
        fields,
    }])
}
