//! Lookups the course, enrolment and group handlers share: contexts, roles, users by field.

use super::error::{row, RowError};
use crate::codes::Code;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const CONTEXT_SYSTEM: i64 = 10;
pub(crate) const CONTEXT_COURSECAT: i64 = 40;
pub(crate) const CONTEXT_COURSE: i64 = 50;

/// A context row's id, path and depth.
#[derive(Debug, Clone)]
pub(crate) struct ContextRow {
    pub id: i64,
    pub path: String,
    pub depth: i64,
}

pub(crate) fn context_of(
    conn: &Connection,
    level: i64,
    instance: i64,
) -> Result<Option<ContextRow>, RowError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, path, depth FROM mdl_context WHERE contextlevel = ?1 AND instanceid = ?2",
        )?
        .query_row(params![level, instance], |r| {
            Ok(ContextRow {
                id: r.get(0)?,
                path: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                depth: r.get(2)?,
            })
        })
        .optional()?)
}

/// The context of a category (its parent's, or the system context's at the top).
pub(crate) fn parent_context(conn: &Connection, category: i64) -> Result<ContextRow, RowError> {
    let found = if category == 0 {
        context_of(conn, CONTEXT_SYSTEM, 0)?
    } else {
        context_of(conn, CONTEXT_COURSECAT, category)?
    };
    found.ok_or_else(|| inconsistent(format!("category {category} has no context row")))
}

/// The store contradicts itself (a row without its context): like a refusal from SQLite, it
/// stops the file rather than failing one row after others were written.
pub(crate) fn inconsistent(what: String) -> RowError {
    RowError::Store(crate::codes::Failure::new(
        Code::Storage,
        format!("{what}; the store is inconsistent (was moodle.db edited by hand?)"),
    ))
}

/// Inserts a context under `parent`, as Moodle does: the path ends with the new row's own id.
pub(crate) fn insert_context(
    conn: &Connection,
    level: i64,
    instance: i64,
    parent: &ContextRow,
) -> Result<ContextRow, RowError> {
    // The new id is the table's sequence + 1 (AUTOINCREMENT), so the path is written with the
    // row instead of by a second statement; checked against the id SQLite actually gave.
    let expected: i64 = conn
        .prepare_cached(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'mdl_context'), 0) + 1",
        )?
        .query_row([], |r| r.get(0))?;
    let path = format!("{}/{expected}", parent.path);
    conn.prepare_cached(
        "INSERT INTO mdl_context (contextlevel, instanceid, path, depth) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![level, instance, path, parent.depth + 1])?;
    let id = conn.last_insert_rowid();
    let path = if id == expected {
        path
    } else {
        let path = format!("{}/{id}", parent.path);
        conn.prepare_cached("UPDATE mdl_context SET path = ?2 WHERE id = ?1")?
            .execute(params![id, path])?;
        path
    };
    Ok(ContextRow {
        id,
        path,
        depth: parent.depth + 1,
    })
}

impl ContextRow {
    /// The bounds of the paths strictly below this context, for `path >= ?lo AND path < ?hi`:
    /// a range the path index serves (SQLite's LIKE, case-insensitive, scans the table).
    /// '0' is the byte after '/'.
    pub fn below(&self) -> (String, String) {
        (format!("{}/", self.path), format!("{}0", self.path))
    }
}

/// Deletes a context and every context below it; returns how many role assignments went.
/// A context's role assignments are found through Moodle's (roleid, contextid) index with
/// `roleid IN (every role)`: an index on contextid alone would cost every enrolment a random
/// insert (a third more pages written per batch of new enrolments).
pub(crate) fn delete_context_tree(conn: &Connection, c: &ContextRow) -> Result<usize, RowError> {
    let (lo, hi) = c.below();
    let roles = conn
        .prepare_cached(
            "DELETE FROM mdl_role_assignments WHERE roleid IN (SELECT id FROM mdl_role) AND contextid IN
               (SELECT id FROM mdl_context WHERE id = ?1 OR (path >= ?2 AND path < ?3))",
        )?
        .execute(params![c.id, lo, hi])?;
    conn.prepare_cached("DELETE FROM mdl_context WHERE id = ?1 OR (path >= ?2 AND path < ?3)")?
        .execute(params![c.id, lo, hi])?;
    Ok(roles)
}

/// A role's id by shortname; an unknown shortname fails the row.
pub(crate) fn role_id(conn: &Connection, shortname: &str) -> Result<i64, RowError> {
    conn.prepare_cached("SELECT id FROM mdl_role WHERE shortname = ?1")?
        .query_row([shortname], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            let known: Vec<String> = conn
                .prepare_cached("SELECT shortname FROM mdl_role ORDER BY sortorder")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .unwrap_or_default();
            row(
                Code::UnknownRole,
                format!(
                    "no role has shortname '{shortname}'; roles are {}",
                    known.join(", ")
                ),
            )
        })
}
