//! Course categories in the embedded store: created as core_course_category::create makes
//! them, with Moodle's `path`, `depth` and context rows.

use super::error::RowError;
use super::lookup::{insert_context, parent_context, CONTEXT_COURSECAT};
use rusqlite::{params, Connection};

/// The gap between sibling categories' sort orders, room for their courses
/// (Moodle's MAX_COURSES_IN_CATEGORY).
const SORTORDER_STEP: i64 = 10_000;

/// Creates a category below `parent` (0: the top level); returns its id.
pub(crate) fn create(
    conn: &Connection,
    parent: i64,
    name: &str,
    visible: bool,
    now: i64,
) -> Result<i64, RowError> {
    let (ppath, pdepth): (String, i64) = if parent == 0 {
        (String::new(), 0)
    } else {
        conn.prepare_cached("SELECT path, depth FROM mdl_course_categories WHERE id = ?1")?
            .query_row([parent], |r| Ok((r.get(0)?, r.get(1)?)))?
    };
    // Moodle renumbers sort orders with fix_course_sortorder(); a new category goes after
    // every other one, a step further, never from its id (which may be large).
    let sortorder: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(sortorder), 0) + ?1 FROM mdl_course_categories")?
        .query_row([SORTORDER_STEP], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO mdl_course_categories (name, parent, sortorder, visible, visibleold, timemodified, depth, path)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, '')",
    )?
    .execute(params![name, parent, sortorder, i64::from(visible), now, pdepth + 1])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE mdl_course_categories SET path = ?2 WHERE id = ?1")?
        .execute(params![id, format!("{ppath}/{id}")])?;
    insert_context(conn, CONTEXT_COURSECAT, id, &parent_context(conn, parent)?)?;
    Ok(id)
}
