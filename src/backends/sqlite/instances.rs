//! The enrol instances course rows and meta links plan, applied as their enrol plugins'
//! add_instance() and update_status() do: a meta link syncs at once (and, disabled, keeps its
//! enrolments but loses its roles); a self or guest method only changes its status.

use super::enrol;
use super::error::RowError;
use super::lookup;
use super::meta::{remove_meta_roles, sync_instance, Scope};
use super::Ctx;
use rusqlite::{params, Connection};

/// enrol_meta_plugin::add_instance: the link, synced at once. Returns its id.
pub(crate) fn add_meta(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    master: i64,
) -> Result<i64, RowError> {
    let sortorder: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(sortorder) + 1, 0) FROM mdl_enrol WHERE courseid = ?1",
        )?
        .query_row([course], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, customint1, customint2, timecreated, timemodified)
         VALUES ('meta', ?1, ?2, ?3, 0, ?4, 0, ?5, ?5)",
    )?
    .execute(params![enrol::ENABLED, course, sortorder, master, ctx.now])?;
    let id = conn.last_insert_rowid();
    sync_instance(conn, id, ctx.now, Scope::All)?;
    Ok(id)
}

/// enrol_meta_plugin::update_status: enabled, the link syncs again; disabled, its enrolments
/// stay (inactive with the instance) and its roles go. Its dates are not touched.
pub(crate) fn set_meta_status(
    conn: &Connection,
    ctx: &Ctx,
    instance: i64,
    enabled: bool,
) -> Result<(), RowError> {
    let status = if enabled {
        enrol::ENABLED
    } else {
        enrol::DISABLED
    };
    conn.prepare_cached("UPDATE mdl_enrol SET status = ?2, timemodified = ?3 WHERE id = ?1")?
        .execute(params![instance, status, ctx.now])?;
    if enabled {
        sync_instance(conn, instance, ctx.now, Scope::All)?;
    } else {
        remove_meta_roles(conn, instance)?;
    }
    Ok(())
}

/// The self or guest method of the course enabled or disabled (its first instance), added
/// when the course has none.
pub(crate) fn set_access_status(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    method: &str,
    enabled: bool,
) -> Result<(), RowError> {
    let student = lookup::role_id(conn, "student")?;
    enrol::set_status(conn, course, method, enabled, student, ctx.now)?;
    Ok(())
}
