//! Moodle's cohort enrolment sync (enrol/cohort/locallib.php) in the embedded store: the
//! enrolments of a cohort instance follow the cohort's members. A member is enrolled through
//! each enabled instance with the instance's role (component `enrol_<plugin>`) and filed into
//! its group; a member who leaves is unenrolled from every instance, enabled or not.

use super::courses::course_context;
use super::enrol;
use super::enrol::follow_in_meta_courses;
use super::error::RowError;
use super::lookup::ContextRow;
use super::meta;
use super::Ctx;
use rusqlite::{params, Connection};

#[derive(Debug, Clone)]
pub(crate) struct CohortInstance {
    pub id: i64,
    pub plugin: String,
    /// `customint1`: the cohort whose members it enrols.
    pub cohort: i64,
    pub course: i64,
    pub course_ctx: ContextRow,
    pub status: i64,
    pub role: i64,
    /// `customint2`: the group members are filed into (0: none).
    pub group: i64,
    pub timestart: i64,
    pub timeend: i64,
}

impl CohortInstance {
    pub fn enabled(&self) -> bool {
        self.status == enrol::ENABLED
    }

    fn component(&self) -> String {
        format!("enrol_{}", self.plugin)
    }
}

macro_rules! select_instance {
    () => {
        "SELECT id, enrol, courseid, status, COALESCE(roleid, 0), COALESCE(customint2, 0),
                COALESCE(enrolstartdate, 0), COALESCE(enrolenddate, 0), COALESCE(customint1, 0)
         FROM mdl_enrol"
    };
}

/// The instances bound to a cohort, cached for the file (bindings and deletes clear it).
pub(crate) fn instances_of(
    conn: &Connection,
    ctx: &Ctx,
    cohort: i64,
) -> Result<Vec<CohortInstance>, RowError> {
    if let Some(found) = ctx.cache.borrow().cohort_instances.get(&cohort) {
        return Ok(found.clone());
    }
    // The plugins of COHORT_PLUGINS: only they read customint1 as a cohort id.
    let found = query(
        conn,
        concat!(
            select_instance!(),
            " WHERE customint1 = ?1 AND enrol IN ('cohort', 'delayedcohort', 'cohortrestricted') ORDER BY id"
        ),
        [cohort],
    )?;
    ctx.cache
        .borrow_mut()
        .cohort_instances
        .insert(cohort, found.clone());
    Ok(found)
}

/// The cohort instance with this id.
pub(crate) fn by_id(conn: &Connection, id: i64) -> Result<CohortInstance, RowError> {
    query(conn, concat!(select_instance!(), " WHERE id = ?1"), [id])?
        .into_iter()
        .next()
        .ok_or_else(|| super::lookup::inconsistent(format!("enrol instance {id} is gone")))
}

fn query(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<CohortInstance>, RowError> {
    let mut found: Vec<CohortInstance> = conn
        .prepare_cached(sql)?
        .query_map(args, |r| {
            Ok(CohortInstance {
                id: r.get(0)?,
                plugin: r.get(1)?,
                cohort: r.get(8)?,
                course: r.get(2)?,
                // Filled in below, from the course.
                course_ctx: ContextRow {
                    id: 0,
                    path: String::new(),
                    depth: 0,
                },
                status: r.get(3)?,
                role: r.get(4)?,
                group: r.get(5)?,
                timestart: r.get(6)?,
                timeend: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    for inst in &mut found {
        inst.course_ctx = course_context(conn, inst.course)?;
    }
    Ok(found)
}

/// Enrols a member who joins the cohort through an enabled instance (or reactivates a
/// suspended enrolment), with the instance's role and group and no period: enrol_cohort's
/// member_added enrols with 0 and 0 whatever the instance's dates. Returns whether the user
/// was not enrolled there before.
pub(crate) fn enrol_member(
    conn: &Connection,
    ctx: &Ctx,
    inst: &CohortInstance,
    user: i64,
) -> Result<bool, RowError> {
    let created = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, timecreated, timemodified)
             VALUES (0, ?1, ?2, 0, 0, ?3, ?3)",
        )?
        .execute(params![inst.id, user, ctx.now])?
        > 0;
    if !created {
        conn.prepare_cached(
            "UPDATE mdl_user_enrolments SET status = 0, timemodified = ?3
             WHERE enrolid = ?1 AND userid = ?2 AND status <> 0",
        )?
        .execute(params![inst.id, user, ctx.now])?;
    }
    if inst.role > 0 {
        enrol::assign_role(
            conn,
            inst.role,
            inst.course_ctx.id,
            user,
            &inst.component(),
            inst.id,
            ctx.now,
        )?;
    }
    if inst.group > 0 {
        // A group deleted since the binding was made is skipped, as Moodle's sync does.
        conn.prepare_cached(
            "INSERT OR IGNORE INTO mdl_groups_members (groupid, userid, timeadded, component, itemid)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM mdl_groups WHERE id = ?1 AND courseid = ?6)",
        )?
        .execute(params![inst.group, user, ctx.now, inst.component(), inst.id, inst.course])?;
    }
    follow_in_meta_courses(conn, ctx, inst.course, user)?;
    Ok(created)
}

/// Unenrols one user from the instance, if enrolled there. Returns whether they were.
pub(crate) fn unenrol_member(
    conn: &Connection,
    ctx: &Ctx,
    inst: &CohortInstance,
    user: i64,
) -> Result<bool, RowError> {
    let enrolled: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM mdl_user_enrolments WHERE enrolid = ?1 AND userid = ?2)",
        )?
        .query_row(params![inst.id, user], |r| r.get(0))?;
    if !enrolled {
        return Ok(false);
    }
    enrol::unenrol_user(
        conn,
        inst.course,
        &inst.course_ctx,
        inst.id,
        &inst.plugin,
        user,
    )?;
    follow_in_meta_courses(conn, ctx, inst.course, user)?;
    Ok(true)
}

/// Brings an enabled instance in step with the whole cohort: enrols the members it lacks
/// (reactivating suspended ones), gives their role and group, and unenrols non-members.
pub(crate) fn sync_all(
    conn: &Connection,
    ctx: &Ctx,
    inst: &CohortInstance,
) -> Result<(), RowError> {
    let cohort = inst.cohort;
    let leavers: Vec<i64> = conn
        .prepare_cached(
            "SELECT ue.userid FROM mdl_user_enrolments ue
             WHERE ue.enrolid = ?1 AND NOT EXISTS
               (SELECT 1 FROM mdl_cohort_members cm WHERE cm.cohortid = ?2 AND cm.userid = ue.userid)",
        )?
        .query_map(params![inst.id, cohort], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for user in &leavers {
        unenrol_member(conn, ctx, inst, *user)?;
    }
    // Set-based: binding a large cohort is one statement per table, not one per member.
    conn.prepare_cached(
            "INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, timecreated, timemodified)
             SELECT 0, ?1, cm.userid, ?3, ?4, ?5, ?5 FROM mdl_cohort_members cm
               JOIN mdl_user u ON u.id = cm.userid AND u.deleted = 0
             WHERE cm.cohortid = ?2 AND NOT EXISTS
               (SELECT 1 FROM mdl_user_enrolments ue WHERE ue.enrolid = ?1 AND ue.userid = cm.userid)",
        )?
        .execute(params![inst.id, cohort, inst.timestart, inst.timeend, ctx.now])?;
    conn.prepare_cached(
        "UPDATE mdl_user_enrolments SET status = 0, timemodified = ?2 WHERE enrolid = ?1 AND status <> 0",
    )?
    .execute(params![inst.id, ctx.now])?;
    let component = inst.component();
    if inst.role > 0 {
        conn.prepare_cached(
            "INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, component, itemid)
             SELECT ?2, ?3, ue.userid, ?4, ?5, ?1 FROM mdl_user_enrolments ue
             WHERE ue.enrolid = ?1 AND NOT EXISTS
               (SELECT 1 FROM mdl_role_assignments ra WHERE ra.userid = ue.userid AND ra.contextid = ?3
                  AND ra.roleid = ?2 AND ra.component = ?5 AND ra.itemid = ?1)",
        )?
        .execute(params![inst.id, inst.role, inst.course_ctx.id, ctx.now, component])?;
    }
    if inst.group > 0 {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO mdl_groups_members (groupid, userid, timeadded, component, itemid)
             SELECT ?2, ue.userid, ?3, ?4, ?1 FROM mdl_user_enrolments ue WHERE ue.enrolid = ?1
               AND EXISTS (SELECT 1 FROM mdl_groups WHERE id = ?2 AND courseid = ?5)",
        )?
        .execute(params![inst.id, inst.group, ctx.now, component, inst.course])?;
    }
    // Reactivations and roles change the course's participants too: meta courses follow.
    meta::sync_children(conn, inst.course, ctx.now, meta::Scope::All)?;
    Ok(())
}

/// Takes away the roles the instance gave; returns how many went.
pub(crate) fn unassign_roles(conn: &Connection, inst: &CohortInstance) -> Result<usize, RowError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM mdl_role_assignments WHERE contextid = ?1 AND component = ?2 AND itemid = ?3",
        )?
        .execute(params![inst.course_ctx.id, inst.component(), inst.id])?)
}

/// What enrol_cohort's sync does once an instance is disabled: its enrolments stay (inactive)
/// and the roles it gave go; meta courses follow.
pub(crate) fn disable(conn: &Connection, ctx: &Ctx, inst: &CohortInstance) -> Result<(), RowError> {
    unassign_roles(conn, inst)?;
    meta::sync_children(conn, inst.course, ctx.now, meta::Scope::All)?;
    Ok(())
}

/// Deletes the instance with its enrolments, their roles and group memberships.
pub(crate) fn delete_instance(
    conn: &Connection,
    ctx: &Ctx,
    inst: &CohortInstance,
) -> Result<(), RowError> {
    let users: Vec<i64> = conn
        .prepare_cached("SELECT userid FROM mdl_user_enrolments WHERE enrolid = ?1")?
        .query_map([inst.id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for user in &users {
        unenrol_member(conn, ctx, inst, *user)?;
    }
    conn.prepare_cached("DELETE FROM mdl_enrol WHERE id = ?1")?
        .execute([inst.id])?;
    ctx.cache.borrow_mut().instances_changed();
    Ok(())
}
