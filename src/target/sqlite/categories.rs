//! Course categories: a `category` cell resolved by path, idnumber or id, and the missing
//! levels of a path created with Moodle's `path`, `depth` and context rows.

use super::error::{row, RowError};
use super::lookup::{insert_context, parent_context, CONTEXT_COURSECAT};
use super::Ctx;
use crate::codes::Code;
use crate::config::CategoryIdentifier;
use crate::outcome::{Action, Change};
use rusqlite::{params, Connection, OptionalExtension};

/// Where a course goes: an existing category, or one to create below `parent`.
#[derive(Debug)]
pub(crate) enum Placement {
    Existing(i64),
    Create {
        parent: i64,
        /// The path's names down to `parent`, for labels.
        above: Vec<String>,
        missing: Vec<String>,
    },
}

/// The levels of a path `A/B/C`: outer slashes ignored, each name trimmed, none empty.
pub(crate) fn path_levels(raw: &str) -> Result<Vec<String>, RowError> {
    let inner = raw.trim().trim_matches('/');
    let levels: Vec<String> = inner.split('/').map(|l| l.trim().to_string()).collect();
    if levels.iter().any(String::is_empty) {
        return Err(row(
            Code::InvalidValue,
            format!("category path '{raw}' has an empty level; write names separated by single slashes, e.g. Faculty/Department"),
        ));
    }
    if let Some(long) = levels.iter().find(|l| l.chars().count() > 255) {
        return Err(row(
            Code::InvalidValue,
            format!(
                "category name '{}…' is longer than Moodle's 255 characters; shorten it",
                long.chars().take(20).collect::<String>()
            ),
        ));
    }
    Ok(levels)
}

fn children_named(conn: &Connection, parent: i64, name: &str) -> Result<Vec<i64>, RowError> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM mdl_course_categories WHERE parent = ?1 AND name = ?2")?;
    let ids = stmt
        .query_map(params![parent, name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Moodle's default category: the first one created.
fn default_category(conn: &Connection) -> Result<i64, RowError> {
    conn.prepare_cached("SELECT MIN(id) FROM mdl_course_categories")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .ok_or_else(|| {
            row(
                Code::CategoryUnresolved,
                "the store has no category to put the course in; give a category".into(),
            )
        })
}

/// Resolves a `category` cell without writing anything.
pub(crate) fn resolve(
    conn: &Connection,
    ctx: &Ctx,
    raw: Option<&str>,
) -> Result<Placement, RowError> {
    let raw = match raw.map(str::trim) {
        None | Some("") => return Ok(Placement::Existing(default_category(conn)?)),
        Some(r) => r,
    };
    match ctx.courses.category_identifier {
        CategoryIdentifier::Path => {
            let levels = path_levels(raw)?;
            let mut parent = 0;
            for (i, name) in levels.iter().enumerate() {
                match children_named(conn, parent, name)?.as_slice() {
                    [id] => parent = *id,
                    [] => {
                        return Ok(Placement::Create {
                            parent,
                            above: levels[..i].to_vec(),
                            missing: levels[i..].to_vec(),
                        })
                    }
                    many => {
                        return Err(row(
                            Code::AmbiguousMatch,
                            format!(
                                "category path '{raw}': {} categories named '{name}' share one parent (ids {:?}); rename one in Moodle",
                                many.len(),
                                many
                            ),
                        ))
                    }
                }
            }
            Ok(Placement::Existing(parent))
        }
        CategoryIdentifier::Idnumber => {
            let ids: Vec<i64> = conn
                .prepare_cached("SELECT id FROM mdl_course_categories WHERE idnumber = ?1")?
                .query_map([raw], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            match ids.as_slice() {
                [id] => Ok(Placement::Existing(*id)),
                [] => Err(row(
                    Code::CategoryUnresolved,
                    format!("no category has idnumber '{raw}' ([courses] category_identifier = \"idnumber\"); create it in Moodle or use a path"),
                )),
                _ => Err(row(
                    Code::AmbiguousMatch,
                    format!("several categories have idnumber '{raw}'"),
                )),
            }
        }
        CategoryIdentifier::Id => {
            let id: i64 = raw.parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("category '{raw}' is not a category id ([courses] category_identifier = \"id\")"),
                )
            })?;
            let exists = conn
                .prepare_cached("SELECT 1 FROM mdl_course_categories WHERE id = ?1")?
                .query_row([id], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                Ok(Placement::Existing(id))
            } else {
                Err(row(
                    Code::CategoryUnresolved,
                    format!("no category has id {id}"),
                ))
            }
        }
    }
}

/// Creates the missing levels of a placement; returns the category id and what was created.
pub(crate) fn realise(
    conn: &Connection,
    ctx: &Ctx,
    p: Placement,
) -> Result<(i64, Vec<Change>), RowError> {
    let (mut parent, mut names, missing) = match p {
        Placement::Existing(id) => return Ok((id, Vec::new())),
        Placement::Create {
            parent,
            above,
            missing,
        } => (parent, above, missing),
    };
    let mut created = Vec::with_capacity(missing.len());
    for name in missing {
        let (ppath, pdepth, psort, pvisible) = if parent == 0 {
            (String::new(), 0, 0, true)
        } else {
            conn.prepare_cached(
                "SELECT path, depth, sortorder, visible FROM mdl_course_categories WHERE id = ?1",
            )?
            .query_row([parent], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0))
            })?
        };
        // Below a hidden category a new one is hidden too, as in Moodle.
        let visible = i64::from(ctx.courses.new_categories_visible && pvisible);
        conn.prepare_cached(
            "INSERT INTO mdl_course_categories (name, parent, sortorder, visible, visibleold, timemodified, depth, path)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, '')",
        )?
        .execute(params![name, parent, psort, visible, ctx.now, pdepth + 1])?;
        let id = conn.last_insert_rowid();
        // Moodle renumbers sortorder with fix_course_sortorder(); this keeps it monotonic.
        conn.prepare_cached(
            "UPDATE mdl_course_categories SET path = ?2, sortorder = ?3 WHERE id = ?1",
        )?
        .execute(params![id, format!("{ppath}/{id}"), id * 10000])?;
        let pctx = parent_context(conn, parent)?;
        insert_context(conn, CONTEXT_COURSECAT, id, &pctx)?;
        let mut fields = Vec::new();
        if let Some(same_id) = digits_that_name_a_category(conn, parent, &name)? {
            // tool_sync read a number as a category id: an old feed may mean that.
            fields.push(format!(
                "note: '{name}' is taken as a name (category_identifier = \"path\"), though category id {same_id} exists"
            ));
        }
        names.push(name);
        created.push(Change {
            action: Action::Created,
            entity: "category",
            id,
            label: names.join("/"),
            fields,
        });
        parent = id;
    }
    Ok((parent, created))
}

/// A top-level name made of digits that is also an existing category's id.
fn digits_that_name_a_category(
    conn: &Connection,
    parent: i64,
    name: &str,
) -> Result<Option<i64>, RowError> {
    if parent != 0 || name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Ok(id) = name.parse::<i64>() else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached("SELECT id FROM mdl_course_categories WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// "Faculty/Department": a category's names from the top.
pub(crate) fn path_label(conn: &Connection, id: i64) -> Result<String, RowError> {
    let path: Option<String> = conn
        .prepare_cached("SELECT path FROM mdl_course_categories WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(path) = path else {
        return Ok(String::new());
    };
    let mut names = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let name: String = conn
            .prepare_cached("SELECT name FROM mdl_course_categories WHERE id = ?1")?
            .query_row([part.parse::<i64>().unwrap_or(0)], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        names.push(name);
    }
    Ok(names.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_levels_refuse_empty_levels() {
        assert_eq!(path_levels("/A/ B /C/").ok().unwrap(), ["A", "B", "C"]);
        assert_eq!(path_levels("2020").ok().unwrap(), ["2020"]);
        for bad in ["A//B", "/", " / "] {
            match path_levels(bad) {
                Err(RowError::Row(f)) => assert_eq!(f.code, Code::InvalidValue),
                _ => panic!("{bad} accepted"),
            }
        }
    }
}
