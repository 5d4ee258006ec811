//! Cohorts and their members as Moodle's cohort API keeps them (cohort/lib.php:
//! cohort_add_cohort, cohort_update_cohort, cohort_delete_cohort, cohort_add_member,
//! cohort_remove_member), with enrol_cohort's reactions to its events: a member who joins is
//! enrolled through every enabled cohort instance bound to the cohort, one who leaves is
//! unenrolled from all of them (the default unenrol action), and a deleted cohort's
//! instances go with their enrolments. What a command means is the plan's
//! (`src/plan/cohorts.rs`).

use super::cohort_sync;
use super::error::RowError;
use super::lookup::{context_of, inconsistent, CONTEXT_COURSECAT};
use super::Ctx;
use crate::plan::ops::{CohortUpdate, NewCohort};
use rusqlite::{params, Connection};

/// Cohorts live in the system context unless a category holds them.
const SYSTEM_CONTEXT: i64 = 1;

/// The context of a cohort's home: the category's with this id, or the system context.
fn context(conn: &Connection, category: Option<i64>) -> Result<i64, RowError> {
    match category {
        None => Ok(SYSTEM_CONTEXT),
        Some(id) => Ok(context_of(conn, CONTEXT_COURSECAT, id)?
            .ok_or_else(|| inconsistent(format!("category {id} has no context row")))?
            .id),
    }
}

/// cohort_add_cohort, in the category with id `category` (None: the system context).
pub(crate) fn create(
    conn: &Connection,
    now: i64,
    c: &NewCohort,
    category: Option<i64>,
) -> Result<i64, RowError> {
    let contextid = context(conn, category)?;
    conn.prepare_cached(
        "INSERT INTO mdl_cohort (contextid, name, idnumber, description, descriptionformat, visible, component, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?6, ?6)",
    )?
    .execute(params![contextid, c.name, c.idnumber, c.description, c.component, now])?;
    Ok(conn.last_insert_rowid())
}

/// cohort_update_cohort: the fields given; `home` moves it (to the category with this id,
/// or None: the system context).
pub(crate) fn update(
    conn: &Connection,
    now: i64,
    id: i64,
    up: &CohortUpdate,
    home: Option<Option<i64>>,
) -> Result<(), RowError> {
    let contextid = match home {
        Some(category) => Some(context(conn, category)?),
        None => None,
    };
    conn.prepare_cached(
        "UPDATE mdl_cohort SET name = COALESCE(?2, name), idnumber = COALESCE(?3, idnumber),
            description = COALESCE(?4, description), component = COALESCE(?5, component),
            contextid = COALESCE(?6, contextid), timemodified = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        up.name,
        up.idnumber,
        up.description,
        up.component,
        contextid,
        now
    ])?;
    Ok(())
}

/// cohort_add_member: the member is enrolled through the cohort's enabled instances.
pub(crate) fn add_member(
    conn: &Connection,
    ctx: &Ctx,
    cohort: i64,
    user: i64,
) -> Result<(), RowError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO mdl_cohort_members (cohortid, userid, timeadded) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![cohort, user, ctx.now])?;
    if n == 0 {
        return Ok(());
    }
    for inst in cohort_sync::instances_of(conn, ctx, cohort)? {
        if inst.enabled() {
            cohort_sync::enrol_member(conn, ctx, &inst, user)?;
        }
    }
    Ok(())
}

/// cohort_remove_member: the user is unenrolled from every instance bound to the cohort.
pub(crate) fn remove_member(
    conn: &Connection,
    ctx: &Ctx,
    cohort: i64,
    user: i64,
) -> Result<(), RowError> {
    let n = conn
        .prepare_cached("DELETE FROM mdl_cohort_members WHERE cohortid = ?1 AND userid = ?2")?
        .execute(params![cohort, user])?;
    if n == 0 {
        return Ok(());
    }
    for inst in cohort_sync::instances_of(conn, ctx, cohort)? {
        cohort_sync::unenrol_member(conn, ctx, &inst, user)?;
    }
    Ok(())
}

/// cohort_delete_cohort: its memberships go, and the instances bound to it with their
/// enrolments (enrol_cohort's reaction to a deleted cohort).
pub(crate) fn delete(conn: &Connection, ctx: &Ctx, cohort: i64) -> Result<(), RowError> {
    for inst in cohort_sync::instances_of(conn, ctx, cohort)? {
        cohort_sync::delete_instance(conn, ctx, &inst)?;
    }
    conn.prepare_cached("DELETE FROM mdl_cohort_members WHERE cohortid = ?1")?
        .execute([cohort])?;
    conn.prepare_cached("DELETE FROM mdl_cohort WHERE id = ?1")?
        .execute([cohort])?;
    ctx.cache.borrow_mut().clear();
    Ok(())
}
