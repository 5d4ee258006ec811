//! Groups and groupings of a course, and memberships: created and updated by the groups file,
//! filled by the group-members file and by the enrolment rows' group commands. Lookups are
//! always within the row's course. Memberships moosync makes carry the component
//! `tool_moosync`, so a later `replace` or `shift` removes only those, never hand-made ones.

use super::courses::{course_context, require_by, StoredCourse};
use super::enrolments::course_in;
use super::error::{row, RowError};
use super::lookup;
use super::Ctx;
use crate::codes::Code;
use crate::command::{GroupMember, GroupUpsert, UserGroups};
use crate::config::{GroupIdentifier, PurgeEmpty};
use crate::outcome::{Action, Change};
use crate::plan::ops::NewGroup;
use crate::plan::view::GroupKind;
use rusqlite::{params, types::Value, Connection, OptionalExtension};

/// The component of the memberships moosync makes.
pub(crate) const COMPONENT: &str = "tool_moosync";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Grouping,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Group => "mdl_groups",
            Kind::Grouping => "mdl_groupings",
        }
    }
    /// The lookup by `field` within a course, as a literal (no SQL built per row).
    fn find_sql(self, field: GroupIdentifier) -> &'static str {
        macro_rules! find {
            ($table:literal, $col:literal) => {
                concat!(
                    "SELECT id FROM ",
                    $table,
                    " WHERE courseid = ?1 AND ",
                    $col,
                    " = ?2 LIMIT 2"
                )
            };
        }
        match (self, field) {
            (Kind::Group, GroupIdentifier::Name) => find!("mdl_groups", "name"),
            (Kind::Group, GroupIdentifier::Idnumber) => find!("mdl_groups", "idnumber"),
            (Kind::Group, GroupIdentifier::Id) => find!("mdl_groups", "id"),
            (Kind::Grouping, GroupIdentifier::Name) => find!("mdl_groupings", "name"),
            (Kind::Grouping, GroupIdentifier::Idnumber) => find!("mdl_groupings", "idnumber"),
            (Kind::Grouping, GroupIdentifier::Id) => find!("mdl_groupings", "id"),
        }
    }

    fn insert_sql(self) -> &'static str {
        macro_rules! insert {
            ($table:literal) => {
                concat!(
                    "INSERT INTO ",
                    $table,
                    " (courseid, name, idnumber, description, timecreated, timemodified) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
                )
            };
        }
        match self {
            Kind::Group => insert!("mdl_groups"),
            Kind::Grouping => insert!("mdl_groupings"),
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Grouping => "grouping",
        }
    }
}

/// The group (or grouping) of `course` whose `field` is `value`; several fail the row.
fn find(
    conn: &Connection,
    kind: Kind,
    course: &StoredCourse,
    field: GroupIdentifier,
    value: &str,
) -> Result<Option<i64>, RowError> {
    let (col, v) = match field {
        GroupIdentifier::Name => ("name", Value::Text(value.into())),
        GroupIdentifier::Idnumber => ("idnumber", Value::Text(value.into())),
        GroupIdentifier::Id => (
            "id",
            Value::Integer(value.trim().parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("{} id '{value}' is not a number", kind.entity()),
                )
            })?),
        ),
    };
    let ids: Vec<i64> = conn
        .prepare_cached(kind.find_sql(field))?
        .query_map(params![course.id, v], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        _ => Err(row(
            Code::AmbiguousMatch,
            format!(
                "several {}s of course {} have {col} '{value}'; make it unique in Moodle",
                kind.entity(),
                course.shortname
            ),
        )),
    }
}

fn require_in(
    conn: &Connection,
    kind: Kind,
    course: &StoredCourse,
    field: GroupIdentifier,
    value: &str,
) -> Result<i64, RowError> {
    find(conn, kind, course, field, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!(
                "course {} has no {} with {} '{value}'",
                course.shortname,
                kind.entity(),
                field.column()
            ),
        )
    })
}

fn insert(
    conn: &Connection,
    kind: Kind,
    course: i64,
    name: &str,
    idnumber: &str,
    description: &str,
    now: i64,
) -> Result<i64, RowError> {
    conn.prepare_cached(kind.insert_sql())?.execute(params![
        course,
        name,
        idnumber,
        description,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// groups_create_group (or groups_create_grouping), as the plan decided it.
pub(crate) fn create(
    conn: &Connection,
    g: &NewGroup,
    course: i64,
    now: i64,
) -> Result<i64, RowError> {
    let kind = match g.kind {
        GroupKind::Group => Kind::Group,
        GroupKind::Grouping => Kind::Grouping,
    };
    insert(
        conn,
        kind,
        course,
        &g.name,
        &g.idnumber,
        &g.description,
        now,
    )
}

/// Puts the group in the grouping unless it is there. Returns whether it was added.
fn bind(conn: &Connection, grouping: i64, group: i64, now: i64) -> Result<bool, RowError> {
    let there = conn
        .prepare_cached(
            "SELECT 1 FROM mdl_groupings_groups WHERE groupingid = ?1 AND groupid = ?2",
        )?
        .query_row(params![grouping, group], |_| Ok(()))
        .optional()?
        .is_some();
    if !there {
        conn.prepare_cached(
            "INSERT INTO mdl_groupings_groups (groupingid, groupid, timeadded) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![grouping, group, now])?;
    }
    Ok(!there)
}

/// `group_upsert` / `grouping_upsert`.
pub(crate) fn upsert(
    conn: &Connection,
    ctx: &Ctx,
    g: &GroupUpsert,
    grouping_row: bool,
) -> Result<Vec<Change>, RowError> {
    let kind = if grouping_row {
        Kind::Grouping
    } else {
        Kind::Group
    };
    let course = require_by(conn, ctx.groups.course_identifier, &g.course, "course")?;
    let field = match kind {
        Kind::Group => ctx.groups.group_identifier,
        Kind::Grouping => ctx.groups.grouping_identifier,
    };
    let mut found = match &g.update {
        Some(key) => find(conn, kind, &course, field, key)?,
        None => match g.idnumber.as_deref().filter(|i| !i.is_empty()) {
            Some(i) => find(conn, kind, &course, GroupIdentifier::Idnumber, i)?,
            None => find(
                conn,
                kind,
                &course,
                GroupIdentifier::Name,
                g.name.as_deref().unwrap_or_default(),
            )?,
        },
    };
    // A group of that name without an idnumber (made by a group<N> column or a gaddcreate,
    // say) is the one this row describes: it takes the row's idnumber and description.
    let mut adopt = false;
    if found.is_none() && g.update.is_none() && g.idnumber.as_deref().is_some_and(|i| !i.is_empty())
    {
        if let Some(name) = g.name.as_deref() {
            if let Some(id) = find(conn, kind, &course, GroupIdentifier::Name, name)? {
                let idnumber: String = conn
                    .prepare_cached(&format!(
                        "SELECT idnumber FROM {} WHERE id = ?1",
                        kind.table()
                    ))?
                    .query_row([id], |r| r.get(0))?;
                if idnumber.is_empty() {
                    found = Some(id);
                    adopt = true;
                }
            }
        }
    }
    if found.is_none() && g.name.as_deref().is_none_or(str::is_empty) {
        let what = match &g.update {
            Some(key) => format!(
                "course {} has no {} with {} '{key}' to update; give a name to create it",
                course.shortname,
                kind.entity(),
                field.column()
            ),
            None => format!("a new {} needs a name", kind.entity()),
        };
        return Err(row(Code::MissingValue, what));
    }
    // Checked before any write: the grouping to bind into, and names taken by another.
    let bind_to = match (kind, g.grouping.as_deref().filter(|s| !s.is_empty())) {
        (Kind::Group, Some(key)) => Some(require_in(
            conn,
            Kind::Grouping,
            &course,
            ctx.groups.grouping_identifier,
            key,
        )?),
        _ => None,
    };
    for (col, v) in [("name", &g.name), ("idnumber", &g.idnumber)] {
        let Some(v) = v.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let f = if col == "name" {
            GroupIdentifier::Name
        } else {
            GroupIdentifier::Idnumber
        };
        if let Some(other) = find(conn, kind, &course, f, v)? {
            if Some(other) != found {
                return Err(row(
                    Code::GroupTaken,
                    format!(
                        "{} {other} of course {} already has {col} '{v}'; use updateid to change that one, or choose another {col}",
                        kind.entity(),
                        course.shortname
                    ),
                ));
            }
        }
    }
    // The self-grouping, found or to be made, also before any write.
    let self_grouping = if kind == Kind::Group && g.selfgrouping {
        let name = match (g.name.as_deref().filter(|n| !n.is_empty()), found) {
            (Some(n), _) => n.to_string(),
            (None, Some(id)) => conn
                .prepare_cached("SELECT name FROM mdl_groups WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?,
            (None, None) => String::new(),
        };
        let existing = find(conn, Kind::Grouping, &course, GroupIdentifier::Name, &name)?;
        let idnumber = g.idnumber.clone().unwrap_or_default();
        if existing.is_none() && !idnumber.is_empty() {
            if let Some(other) = find(
                conn,
                Kind::Grouping,
                &course,
                GroupIdentifier::Idnumber,
                &idnumber,
            )? {
                return Err(row(
                    Code::GroupTaken,
                    format!(
                        "the self-grouping '{name}' would take idnumber '{idnumber}', which grouping {other} of course {} has; change one of them",
                        course.shortname
                    ),
                ));
            }
        }
        Some((name, existing, idnumber))
    } else {
        None
    };
    let mut changes = Vec::new();
    let id = match found {
        None => {
            // A row that would create without a name was refused above.
            let name = g.name.as_deref().unwrap_or_default();
            let id = insert(
                conn,
                kind,
                course.id,
                name,
                g.idnumber.as_deref().unwrap_or_default(),
                g.description.as_deref().unwrap_or_default(),
                ctx.now,
            )?;
            changes.push(Change::new(
                Action::Created,
                kind.entity(),
                id,
                format!("{name} in {}", course.shortname),
            ));
            id
        }
        Some(id) if g.update.is_none() && !adopt => {
            changes.push(Change {
                action: Action::Unchanged,
                entity: kind.entity(),
                id,
                label: format!(
                    "{} in {}",
                    g.name.as_deref().unwrap_or_default(),
                    course.shortname
                ),
                fields: vec!["exists; an updateid column changes it".into()],
            });
            id
        }
        Some(id) => {
            let mut fields = Vec::new();
            for (col, v) in [
                ("name", &g.name),
                ("idnumber", &g.idnumber),
                ("description", &g.description),
            ] {
                let Some(v) = v else { continue };
                let sql = format!(
                    "UPDATE {} SET {col} = ?2, timemodified = ?3 WHERE id = ?1 AND {col} IS NOT ?2",
                    kind.table()
                );
                if conn
                    .prepare_cached(&sql)?
                    .execute(params![id, v, ctx.now])?
                    > 0
                {
                    fields.push(col.to_string());
                }
            }
            let name: String = conn
                .prepare_cached(&format!("SELECT name FROM {} WHERE id = ?1", kind.table()))?
                .query_row([id], |r| r.get(0))?;
            changes.push(Change {
                action: if fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Updated
                },
                entity: kind.entity(),
                id,
                label: format!("{name} in {}", course.shortname),
                fields,
            });
            id
        }
    };
    if kind == Kind::Group {
        if let Some((name, existing, idnumber)) = self_grouping {
            let grouping = match existing {
                Some(x) => x,
                None => {
                    let x = insert(
                        conn,
                        Kind::Grouping,
                        course.id,
                        &name,
                        &idnumber,
                        g.description.as_deref().unwrap_or_default(),
                        ctx.now,
                    )?;
                    changes.push(Change::new(
                        Action::Created,
                        "grouping",
                        x,
                        format!("{name} in {}", course.shortname),
                    ));
                    x
                }
            };
            if bind(conn, grouping, id, ctx.now)? {
                changes.push(Change::new(
                    Action::Created,
                    "grouping_group",
                    grouping,
                    format!("{name} in grouping {name}"),
                ));
            }
        }
        if let Some(grouping) = bind_to {
            if bind(conn, grouping, id, ctx.now)? {
                changes.push(Change::new(
                    Action::Created,
                    "grouping_group",
                    grouping,
                    format!("group {id} in grouping {grouping}"),
                ));
            }
        }
    }
    Ok(changes)
}

/// Moodle adds to a group only a user who holds a role in the course.
fn require_role_in_course(
    conn: &Connection,
    user: i64,
    label: &str,
    course: &StoredCourse,
) -> Result<(), RowError> {
    let cctx = course_context(conn, course.id)?;
    let has = conn
        .prepare_cached(
            "SELECT 1 FROM mdl_role_assignments WHERE userid = ?1 AND contextid = ?2 LIMIT 1",
        )?
        .query_row(params![user, cctx.id], |_| Ok(()))
        .optional()?
        .is_some();
    if has {
        Ok(())
    } else {
        Err(row(
            Code::NotFound,
            format!("{label} holds no role in course {}, and Moodle adds only course participants to groups; enrol them first", course.shortname),
        ))
    }
}

/// Adds the membership (tagged as moosync's) unless there is one; reports it as `label`.
fn join(
    conn: &Connection,
    group: i64,
    user: i64,
    now: i64,
    label: String,
) -> Result<Change, RowError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO mdl_groups_members (groupid, userid, timeadded, component, itemid) VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![group, user, now, COMPONENT])?;
    Ok(Change::new(
        if n > 0 {
            Action::Created
        } else {
            Action::Unchanged
        },
        "group_member",
        group,
        label,
    ))
}

/// Removes the membership. A group left empty is noted: `[groups] purge_empty` deletes it
/// once the file is done, if still empty then (a later row may fill it again).
fn leave(
    conn: &Connection,
    ctx: &Ctx,
    group: i64,
    user: i64,
    label: &str,
) -> Result<Vec<Change>, RowError> {
    let n = conn
        .prepare_cached("DELETE FROM mdl_groups_members WHERE groupid = ?1 AND userid = ?2")?
        .execute(params![group, user])?;
    if n == 0 {
        return Ok(Vec::new());
    }
    if ctx.groups.purge_empty != PurgeEmpty::None {
        conn.prepare_cached("INSERT OR IGNORE INTO moosync_emptied_groups (groupid) VALUES (?1)")?
            .execute([group])?;
    }
    Ok(vec![Change::new(
        Action::Deleted,
        "group_member",
        group,
        label.to_string(),
    )])
}

/// `[groups] purge_empty` at the end of a file: the groups feeds' removals left empty (this
/// file's, and a stopped file's committed ones), if still empty, and (for `groupings`) the
/// groupings that lost their last group. Only those: never other empty groups of the site.
pub(crate) fn purge_emptied(conn: &Connection, purge: PurgeEmpty) -> Result<Vec<Change>, RowError> {
    let groups: Vec<i64> = conn
        .prepare_cached("SELECT groupid FROM moosync_emptied_groups ORDER BY groupid")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    conn.prepare_cached("DELETE FROM moosync_emptied_groups")?
        .execute([])?;
    if purge == PurgeEmpty::None {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for group in groups {
        let found: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT g.name, c.shortname FROM mdl_groups g JOIN mdl_course c ON c.id = g.courseid
                 WHERE g.id = ?1 AND NOT EXISTS (SELECT 1 FROM mdl_groups_members WHERE groupid = ?1)",
            )?
            .query_row([group], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((name, course)) = found else {
            continue;
        };
        let groupings: Vec<(i64, String)> = conn
            .prepare_cached(
                "SELECT p.id, p.name FROM mdl_groupings_groups gg JOIN mdl_groupings p ON p.id = gg.groupingid WHERE gg.groupid = ?1",
            )?
            .query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        conn.prepare_cached("DELETE FROM mdl_groupings_groups WHERE groupid = ?1")?
            .execute([group])?;
        conn.prepare_cached("DELETE FROM mdl_groups WHERE id = ?1")?
            .execute([group])?;
        out.push(Change {
            action: Action::Deleted,
            entity: "group",
            id: group,
            label: format!("{name} in {course}"),
            fields: vec!["left empty by a feed ([groups] purge_empty)".into()],
        });
        if purge == PurgeEmpty::Groupings {
            for (g, gname) in groupings {
                let n = conn
                    .prepare_cached(
                        "DELETE FROM mdl_groupings WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM mdl_groupings_groups WHERE groupingid = ?1)",
                    )?
                    .execute([g])?;
                if n > 0 {
                    out.push(Change {
                        action: Action::Deleted,
                        entity: "grouping",
                        id: g,
                        label: format!("{gname} in {course}"),
                        fields: vec!["left without groups ([groups] purge_empty)".into()],
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Leaves every group of the course that moosync put the user in, except `keep`.
fn leave_moosync_groups(
    conn: &Connection,
    ctx: &Ctx,
    course: &StoredCourse,
    user: i64,
    keep: &[i64],
    label: &str,
) -> Result<Vec<Change>, RowError> {
    let groups: Vec<i64> = conn
        .prepare_cached(
            "SELECT m.groupid FROM mdl_groups_members m JOIN mdl_groups g ON g.id = m.groupid
             WHERE m.userid = ?1 AND g.courseid = ?2 AND m.component = ?3",
        )?
        .query_map(params![user, course.id, COMPONENT], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for g in groups.into_iter().filter(|g| !keep.contains(g)) {
        out.extend(leave(conn, ctx, g, user, label)?);
    }
    Ok(out)
}

/// `group_member`: one user and one group of the groups settings' course.
pub(crate) fn member(
    conn: &Connection,
    ctx: &Ctx,
    m: &GroupMember,
) -> Result<Vec<Change>, RowError> {
    let (course, _) = course_in(conn, ctx, ctx.groups.course_identifier, &m.course)?;
    let group = require_in(
        conn,
        Kind::Group,
        &course,
        ctx.groups.group_identifier,
        &m.group,
    )?;
    let user = lookup::user_id(conn, ctx.groups.user_identifier, &m.user)?;
    let label = format!("{} in group {} of {}", m.user, m.group, course.shortname);
    match m.cmd.as_deref().unwrap_or("add") {
        "del" => {
            let out = leave(conn, ctx, group, user, &label)?;
            if out.is_empty() {
                return Err(RowError::Nothing(format!("{label}: not a member")));
            }
            Ok(out)
        }
        cmd => {
            require_role_in_course(conn, user, &m.user, &course)?;
            let mut out = if cmd == "shift" {
                leave_moosync_groups(
                    conn,
                    ctx,
                    &course,
                    user,
                    &[group],
                    &format!("{} in {}", m.user, course.shortname),
                )?
            } else {
                Vec::new()
            };
            out.push(join(conn, group, user, ctx.now, label)?);
            Ok(out)
        }
    }
}

/// `user_groups`: the enrolment rows' group commands, groups named by name.
pub(crate) fn user_groups(
    conn: &Connection,
    ctx: &Ctx,
    g: &UserGroups,
) -> Result<Vec<Change>, RowError> {
    let uf = g.user_by.unwrap_or(ctx.enrolments.user_identifier);
    let cf = g.course_by.unwrap_or(ctx.enrolments.course_identifier);
    let user = lookup::user_id(conn, uf, &g.user)?;
    let (course, _) = course_in(conn, ctx, cf, &g.course)?;
    let mut found = Vec::with_capacity(g.groups.len());
    for name in &g.groups {
        let id = find(conn, Kind::Group, &course, GroupIdentifier::Name, name)?;
        if id.is_none() && !g.create {
            return Err(row(
                Code::NotFound,
                format!("course {} has no group '{name}'; check the name, or create it first (gaddcreate / greplacecreate do)", course.shortname),
            ));
        }
        found.push((name, id));
    }
    let mut out = Vec::new();
    if g.cmd == "del" {
        for (name, id) in found {
            if let Some(id) = id {
                out.extend(leave(
                    conn,
                    ctx,
                    id,
                    user,
                    &format!("{} in group {name} of {}", g.user, course.shortname),
                )?);
            }
        }
        if out.is_empty() {
            return Err(RowError::Nothing(format!(
                "{} is in none of those groups of {}",
                g.user, course.shortname
            )));
        }
        return Ok(out);
    }
    require_role_in_course(conn, user, &g.user, &course)?;
    let mut ids = Vec::with_capacity(found.len());
    for (name, id) in found {
        let id = match id {
            Some(id) => id,
            None => {
                let id = insert(conn, Kind::Group, course.id, name, "", "", ctx.now)?;
                out.push(Change::new(
                    Action::Created,
                    "group",
                    id,
                    format!("{name} in {}", course.shortname),
                ));
                id
            }
        };
        ids.push((name, id));
    }
    if g.cmd == "replace" {
        let keep: Vec<i64> = ids.iter().map(|(_, id)| *id).collect();
        out.extend(leave_moosync_groups(
            conn,
            ctx,
            &course,
            user,
            &keep,
            &format!("{} in {}", g.user, course.shortname),
        )?);
    }
    for (name, id) in ids {
        let label = format!("{} in group {name} of {}", g.user, course.shortname);
        out.push(join(conn, id, user, ctx.now, label)?);
    }
    Ok(out)
}
