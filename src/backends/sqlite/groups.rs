//! Groups, groupings and memberships as Moodle's group API keeps them (`group/lib.php`):
//! groups_create_group, groups_update_group, groups_delete_group (its memberships and grouping
//! links go with it), groups_assign_grouping, groups_add_member (the memberships moosync makes
//! carry the component `local_moosync`, the plugin's, which Moodle accepts) and
//! groups_remove_member. What a command means is the plan's (`src/plan/groups.rs`,
//! `members.rs`).

use super::error::RowError;
use crate::plan::ops::{GroupUpdate, NewGroup};
use crate::plan::view::GroupKind;
use rusqlite::{params, Connection};

/// The component of the memberships moosync makes: the companion plugin's, so that Moodle
/// (whose groups_add_member accepts only an installed component) and moosync's REST target
/// with the plugin record the same.
pub(crate) const COMPONENT: &str = "local_moosync";

fn table(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Group => "mdl_groups",
        GroupKind::Grouping => "mdl_groupings",
    }
}

pub(crate) fn create(
    conn: &Connection,
    g: &NewGroup,
    course: i64,
    now: i64,
) -> Result<i64, RowError> {
    let sql = match g.kind {
        GroupKind::Group => {
            "INSERT INTO mdl_groups (courseid, name, idnumber, description, timecreated, timemodified) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
        }
        GroupKind::Grouping => {
            "INSERT INTO mdl_groupings (courseid, name, idnumber, description, timecreated, timemodified) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
        }
    };
    conn.prepare_cached(sql)?
        .execute(params![course, g.name, g.idnumber, g.description, now])?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn update(
    conn: &Connection,
    up: &GroupUpdate,
    id: i64,
    now: i64,
) -> Result<(), RowError> {
    for (col, v) in [
        ("name", &up.name),
        ("idnumber", &up.idnumber),
        ("description", &up.description),
    ] {
        let Some(v) = v else { continue };
        conn.prepare_cached(&format!(
            "UPDATE {} SET {col} = ?2, timemodified = ?3 WHERE id = ?1",
            table(up.kind)
        ))?
        .execute(params![id, v, now])?;
    }
    Ok(())
}

/// groups_delete_group / groups_delete_grouping.
pub(crate) fn delete(conn: &Connection, kind: GroupKind, id: i64) -> Result<(), RowError> {
    match kind {
        GroupKind::Group => {
            conn.prepare_cached("DELETE FROM mdl_groups_members WHERE groupid = ?1")?
                .execute([id])?;
            conn.prepare_cached("DELETE FROM mdl_groupings_groups WHERE groupid = ?1")?
                .execute([id])?;
            conn.prepare_cached("DELETE FROM moosync_emptied_groups WHERE groupid = ?1")?
                .execute([id])?;
            conn.prepare_cached("DELETE FROM mdl_groups WHERE id = ?1")?
                .execute([id])?;
        }
        GroupKind::Grouping => {
            conn.prepare_cached("DELETE FROM mdl_groupings_groups WHERE groupingid = ?1")?
                .execute([id])?;
            conn.prepare_cached("DELETE FROM mdl_groupings WHERE id = ?1")?
                .execute([id])?;
        }
    }
    Ok(())
}

/// groups_assign_grouping: puts the group in the grouping unless it is there.
pub(crate) fn assign_grouping(
    conn: &Connection,
    grouping: i64,
    group: i64,
    now: i64,
) -> Result<(), RowError> {
    conn.prepare_cached(
        "INSERT INTO mdl_groupings_groups (groupingid, groupid, timeadded)
         SELECT ?1, ?2, ?3 WHERE NOT EXISTS
           (SELECT 1 FROM mdl_groupings_groups WHERE groupingid = ?1 AND groupid = ?2)",
    )?
    .execute(params![grouping, group, now])?;
    Ok(())
}

/// groups_add_member with moosync's component, unless the user is a member already.
pub(crate) fn add_member(
    conn: &Connection,
    group: i64,
    user: i64,
    now: i64,
) -> Result<(), RowError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO mdl_groups_members (groupid, userid, timeadded, component, itemid) VALUES (?1, ?2, ?3, ?4, 0)",
    )?
    .execute(params![group, user, now, COMPONENT])?;
    Ok(())
}

/// groups_remove_member. A group the plan expects left empty is kept, in the file's
/// transaction, for `[groups] purge_empty`.
pub(crate) fn remove_member(
    conn: &Connection,
    group: i64,
    user: i64,
    emptied: bool,
) -> Result<(), RowError> {
    conn.prepare_cached("DELETE FROM mdl_groups_members WHERE groupid = ?1 AND userid = ?2")?
        .execute(params![group, user])?;
    if emptied {
        conn.prepare_cached("INSERT OR IGNORE INTO moosync_emptied_groups (groupid) VALUES (?1)")?
            .execute([group])?;
    }
    Ok(())
}

/// The groups kept for `[groups] purge_empty`, with their course.
pub(crate) fn emptied(conn: &Connection) -> Result<Vec<(i64, i64)>, RowError> {
    Ok(conn
        .prepare_cached(
            "SELECT g.courseid, e.groupid FROM moosync_emptied_groups e JOIN mdl_groups g ON g.id = e.groupid
             ORDER BY e.groupid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// A file's end has looked at them: forgotten.
pub(crate) fn forget_emptied(conn: &Connection) -> Result<(), RowError> {
    conn.prepare_cached("DELETE FROM moosync_emptied_groups")?
        .execute([])?;
    Ok(())
}
