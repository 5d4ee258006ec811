//! The `meta_link` and `meta_unlink` commands: the meta enrol instance of one course that
//! takes its participants from another. The sync itself is in `meta.rs`.

use super::courses::{require, StoredCourse};
use super::enrol::{DISABLED, ENABLED};
use super::error::{row, RowError};
use super::meta::{remove_meta_roles, sync_instance, Scope};
use super::Ctx;
use crate::codes::Code;
use crate::command::MetaLink;
use crate::outcome::{Action, Change};
use rusqlite::{params, Connection, OptionalExtension};

/// Both courses of a link; either missing fails the row.
fn courses_of(
    conn: &Connection,
    ctx: &Ctx,
    m: &MetaLink,
) -> Result<(StoredCourse, StoredCourse), RowError> {
    let master = require(conn, ctx, &m.master, "master course")?;
    let child = require(conn, ctx, &m.meta, "meta course")?;
    Ok((master, child))
}

/// The meta instance of `child` from `master`: (id, status).
fn find_link(conn: &Connection, master: i64, child: i64) -> Result<Option<(i64, i64)>, RowError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, status FROM mdl_enrol WHERE enrol = 'meta' AND customint1 = ?1 AND courseid = ?2
             ORDER BY status, id LIMIT 1",
        )?
        .query_row(params![master, child], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn label(master: &StoredCourse, child: &StoredCourse) -> String {
    format!("{} from {}", child.shortname, master.shortname)
}

/// Creates or re-enables the meta instance of `meta` from `master`, then syncs it.
pub(crate) fn link(conn: &Connection, ctx: &Ctx, m: &MetaLink) -> Result<Vec<Change>, RowError> {
    let (master, child) = courses_of(conn, ctx, m)?;
    if master.id == child.id {
        return Err(row(
            Code::InvalidValue,
            format!("{} cannot take its participants from itself", child.label()),
        ));
    }
    let (instance, action) = match find_link(conn, master.id, child.id)? {
        Some((id, ENABLED)) => (id, Action::Unchanged),
        Some((id, _)) => {
            conn.prepare_cached(
                "UPDATE mdl_enrol SET status = ?2, enrolstartdate = ?3, enrolenddate = 0, timemodified = ?3 WHERE id = ?1",
            )?
            .execute(params![id, ENABLED, ctx.now])?;
            (id, Action::Updated)
        }
        None => {
            let sortorder: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(MAX(sortorder) + 1, 0) FROM mdl_enrol WHERE courseid = ?1",
                )?
                .query_row([child.id], |r| r.get(0))?;
            conn.prepare_cached(
                "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, customint1, customint2, timecreated, timemodified)
                 VALUES ('meta', ?1, ?2, ?3, 0, ?4, 0, ?5, ?5)",
            )?
            .execute(params![ENABLED, child.id, sortorder, master.id, ctx.now])?;
            (conn.last_insert_rowid(), Action::Created)
        }
    };
    let synced = sync_instance(conn, instance, ctx.now, Scope::All)?.describe();
    // An enabled link that had drifted from its master is brought back: that is an update.
    let action = if action == Action::Unchanged && !synced.is_empty() {
        Action::Updated
    } else {
        action
    };
    Ok(vec![Change {
        action,
        entity: "meta_link",
        id: instance,
        label: label(&master, &child),
        fields: synced,
    }])
}

/// Disables the link: its enrolments stay, inactive with the instance, and its roles go.
pub(crate) fn unlink(conn: &Connection, ctx: &Ctx, m: &MetaLink) -> Result<Vec<Change>, RowError> {
    let (master, child) = courses_of(conn, ctx, m)?;
    let instance = match find_link(conn, master.id, child.id)? {
        Some((id, ENABLED)) => id,
        _ => {
            return Err(RowError::Nothing(format!(
                "{} has no enabled meta link from {}",
                child.shortname, master.shortname
            )))
        }
    };
    conn.prepare_cached("UPDATE mdl_enrol SET status = ?2, timemodified = ?3 WHERE id = ?1")?
        .execute(params![instance, DISABLED, ctx.now])?;
    remove_meta_roles(conn, instance)?;
    Ok(vec![Change {
        action: Action::Updated,
        entity: "meta_link",
        id: instance,
        label: label(&master, &child),
        fields: vec!["disabled".into()],
    }])
}
