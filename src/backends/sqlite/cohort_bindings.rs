//! Cohort sync instances as enrol_cohort keeps them (`enrol/cohort/lib.php`: add_instance,
//! update_instance, update_status, delete_instance), each followed by its sync
//! (`cohort_sync.rs`), and the enrolment period the companion plugin gives an instance's
//! members. What a binding row means is the plan's (`src/plan/cohort_bindings.rs`).

use super::cohort_sync;
use super::enrol;
use super::error::RowError;
use super::Ctx;
use crate::plan::ops::{InstanceUpdate, NewInstance};
use rusqlite::{params, Connection};

/// add_instance (a course's method linked to `cohort`, filing its members into `group`),
/// then its sync enrols the members. Returns the instance's id.
pub(crate) fn add(
    conn: &Connection,
    ctx: &Ctx,
    n: &NewInstance,
    course: i64,
    cohort: i64,
    group: Option<i64>,
) -> Result<i64, RowError> {
    let sortorder: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(sortorder) + 1, 0) FROM mdl_enrol WHERE courseid = ?1",
        )?
        .query_row([course], |r| r.get(0))?;
    let status = if n.enabled {
        enrol::ENABLED
    } else {
        enrol::DISABLED
    };
    conn.prepare_cached(
        "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, customint1, customint2,
            enrolstartdate, enrolenddate, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        n.method,
        status,
        course,
        sortorder,
        n.role.unwrap_or(0),
        cohort,
        group.unwrap_or(0),
        n.start,
        n.end,
        ctx.now
    ])?;
    let id = conn.last_insert_rowid();
    ctx.cache.borrow_mut().instances_changed();
    if n.enabled {
        let inst = cohort_sync::by_id(conn, id)?;
        cohort_sync::sync_all(conn, ctx, &inst)?;
    }
    Ok(id)
}

/// update_instance / update_status: the settings given. A new period is given to the
/// instance's enrolments; an enabled instance is synced, one just disabled loses the roles it
/// gave (its enrolments stay, inactive).
pub(crate) fn update(
    conn: &Connection,
    ctx: &Ctx,
    id: i64,
    up: &InstanceUpdate,
    group: Option<i64>,
) -> Result<(), RowError> {
    let mut inst = cohort_sync::by_id(conn, id)?;
    let was_enabled = inst.enabled();
    if let Some(enabled) = up.enabled {
        inst.status = if enabled {
            enrol::ENABLED
        } else {
            enrol::DISABLED
        };
    }
    if let Some(role) = up.role.filter(|r| *r != inst.role) {
        // enrol_cohort takes the old role from every member; the sync gives the new one.
        cohort_sync::unassign_roles(conn, &inst)?;
        inst.role = role;
    }
    if let Some(g) = group {
        inst.group = g;
    }
    let dated = (
        up.start.unwrap_or(inst.timestart),
        up.end.unwrap_or(inst.timeend),
    );
    if dated != (inst.timestart, inst.timeend) {
        (inst.timestart, inst.timeend) = dated;
        conn.prepare_cached(
            "UPDATE mdl_user_enrolments SET timestart = ?2, timeend = ?3, timemodified = ?4 WHERE enrolid = ?1",
        )?
        .execute(params![inst.id, inst.timestart, inst.timeend, ctx.now])?;
    }
    conn.prepare_cached(
        "UPDATE mdl_enrol SET status = ?2, roleid = ?3, customint2 = ?4, enrolstartdate = ?5,
            enrolenddate = ?6, timemodified = ?7 WHERE id = ?1",
    )?
    .execute(params![
        inst.id,
        inst.status,
        inst.role,
        inst.group,
        inst.timestart,
        inst.timeend,
        ctx.now
    ])?;
    ctx.cache.borrow_mut().instances_changed();
    if inst.enabled() {
        cohort_sync::sync_all(conn, ctx, &inst)?;
    } else if was_enabled {
        cohort_sync::disable(conn, ctx, &inst)?;
    }
    Ok(())
}

/// delete_instance: its enrolments go, with their roles and group memberships.
pub(crate) fn delete(conn: &Connection, ctx: &Ctx, id: i64) -> Result<(), RowError> {
    let inst = cohort_sync::by_id(conn, id)?;
    cohort_sync::delete_instance(conn, ctx, &inst)?;
    Ok(())
}
