//! Cohorts and their members. Membership changes carry Moodle's cohort enrolment sync: a
//! member who joins is enrolled through every enabled cohort instance bound to the cohort, one
//! who leaves is unenrolled from all of them (enrol_cohort's default unenrol action).

use super::cohort_sync::{self, CohortInstance};
use super::error::{row, RowError};
use super::lookup::{context_of, user_id, CONTEXT_COURSECAT};
use super::Ctx;
use crate::codes::Code;
use crate::command::{CategoryBy, CohortLeave, CohortRef, CohortUpsert};
use crate::config::CohortIdentifier;
use crate::outcome::{Action, Change};
use rusqlite::{params, types::Value, Connection, OptionalExtension};

/// Cohorts live in the system context unless a category holds them.
const SYSTEM_CONTEXT: i64 = 1;

#[derive(Debug, Clone)]
pub(crate) struct StoredCohort {
    pub id: i64,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub contextid: i64,
    pub component: String,
}

impl StoredCohort {
    /// "cohort 3 (Year 1, Y1)": how messages name a cohort.
    pub fn label(&self) -> String {
        if self.idnumber.is_empty() {
            format!("cohort {} ({})", self.id, self.name)
        } else {
            format!("cohort {} ({}, {})", self.id, self.name, self.idnumber)
        }
    }

    /// "Year 1 (Y1)": how report lines name it after the entity word.
    pub fn shown(&self) -> String {
        if self.idnumber.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.idnumber)
        }
    }
}

macro_rules! select_cohort {
    ($where:literal) => {
        concat!(
            "SELECT id, name, COALESCE(idnumber, ''), COALESCE(description, ''), contextid, component
             FROM mdl_cohort WHERE ",
            $where,
            " LIMIT 2"
        )
    };
}

fn read(r: &rusqlite::Row) -> rusqlite::Result<StoredCohort> {
    Ok(StoredCohort {
        id: r.get(0)?,
        name: r.get(1)?,
        idnumber: r.get(2)?,
        description: r.get(3)?,
        contextid: r.get(4)?,
        component: r.get(5)?,
    })
}

/// The cohort whose `field` is `value`; several fail the row (names are not unique in Moodle).
pub(crate) fn find(
    conn: &Connection,
    field: CohortIdentifier,
    value: &str,
) -> Result<Option<StoredCohort>, RowError> {
    let (sql, v) = match field {
        CohortIdentifier::Idnumber => (
            select_cohort!("idnumber = ?1"),
            Value::Text(value.to_string()),
        ),
        CohortIdentifier::Name => (select_cohort!("name = ?1"), Value::Text(value.to_string())),
        CohortIdentifier::Id => (
            select_cohort!("id = ?1"),
            Value::Integer(value.trim().parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("cohort id '{value}' is not a number"),
                )
            })?),
        ),
    };
    let found: Vec<StoredCohort> = conn
        .prepare_cached(sql)?
        .query_map([v], read)?
        .collect::<Result<_, _>>()?;
    match found.as_slice() {
        [_, _] => Err(row(
            Code::AmbiguousMatch,
            format!(
                "several cohorts have {} '{value}'; make it unique in Moodle or name cohorts by idnumber",
                field.column()
            ),
        )),
        _ => Ok(found.into_iter().next()),
    }
}

pub(crate) fn require(
    conn: &Connection,
    field: CohortIdentifier,
    value: &str,
) -> Result<StoredCohort, RowError> {
    find(conn, field, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!("no cohort has {} '{value}'", field.column()),
        )
    })
}

/// The context of the category a row names (a cohort's home).
fn category_context(conn: &Connection, raw: &str, by: CategoryBy) -> Result<i64, RowError> {
    let ids: Vec<i64> = match by {
        CategoryBy::Id => {
            let id: i64 = raw.trim().parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("category id '{raw}' (ccatcontext) is not a number"),
                )
            })?;
            conn.prepare_cached("SELECT id FROM mdl_course_categories WHERE id = ?1")?
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        }
        CategoryBy::Idnumber => conn
            .prepare_cached("SELECT id FROM mdl_course_categories WHERE idnumber = ?1 LIMIT 2")?
            .query_map([raw], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    };
    let what = match by {
        CategoryBy::Id => "id",
        CategoryBy::Idnumber => "idnumber",
    };
    match ids.as_slice() {
        [id] => Ok(context_of(conn, CONTEXT_COURSECAT, *id)?
            .ok_or_else(|| {
                super::lookup::inconsistent(format!("category {id} has no context row"))
            })?
            .id),
        [] => Err(row(
            Code::CategoryUnresolved,
            format!("no category has {what} '{raw}'; the cohort's category must exist (tool_sync put such cohorts in the system context silently)"),
        )),
        _ => Err(row(
            Code::AmbiguousMatch,
            format!("several categories have {what} '{raw}'"),
        )),
    }
}

/// Another cohort holding `idnumber`, which Moodle's cohort API refuses.
fn idnumber_owner(
    conn: &Connection,
    idnumber: &str,
    except: i64,
) -> Result<Option<StoredCohort>, RowError> {
    if idnumber.is_empty() {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(select_cohort!("idnumber = ?1 AND id <> ?2"))?
        .query_row(params![idnumber, except], read)
        .optional()?)
}

fn check_idnumber(conn: &Connection, idnumber: &str, except: i64) -> Result<(), RowError> {
    match idnumber_owner(conn, idnumber, except)? {
        Some(other) => Err(row(
            Code::CohortIdnumberTaken,
            format!("idnumber '{idnumber}' belongs to {}", other.label()),
        )),
        None => Ok(()),
    }
}

pub(crate) fn upsert(
    conn: &Connection,
    ctx: &Ctx,
    c: &CohortUpsert,
) -> Result<Vec<Change>, RowError> {
    let field = c.cohort_by.unwrap_or(ctx.cohorts.identifier);
    // Everything that can fail the row is settled before the first write.
    let member = match &c.member {
        Some(m) => Some((
            user_id(conn, c.member_by.unwrap_or(ctx.cohorts.user_identifier), m)?,
            m.as_str(),
        )),
        None => None,
    };
    let context = match &c.category {
        Some(cat) => Some(category_context(
            conn,
            cat,
            c.category_by.unwrap_or(CategoryBy::Id),
        )?),
        None => None,
    };
    let mut changes = Vec::new();
    let cohort = match find(conn, field, &c.cohort)? {
        Some(found) => {
            if c.update {
                if let Some(change) = update(conn, ctx, &found, c, context)? {
                    changes.push(change);
                }
            }
            found
        }
        None => {
            let created = create(conn, ctx, field, c, context)?;
            changes.push(Change::new(
                Action::Created,
                "cohort",
                created.id,
                created.shown(),
            ));
            created
        }
    };
    if let Some((user, shown)) = member {
        changes.extend(join(conn, ctx, &cohort, user, shown)?);
    }
    if changes.is_empty() {
        changes.push(Change::new(
            Action::Unchanged,
            "cohort",
            cohort.id,
            cohort.shown(),
        ));
    }
    Ok(changes)
}

fn create(
    conn: &Connection,
    ctx: &Ctx,
    field: CohortIdentifier,
    c: &CohortUpsert,
    context: Option<i64>,
) -> Result<StoredCohort, RowError> {
    let key = c.cohort.as_str();
    if !c.create.unwrap_or(ctx.cohorts.autocreate) {
        return Err(row(
            Code::NotFound,
            format!("no cohort has {} '{key}', and [cohorts] autocreate is off; create it in Moodle or turn autocreate on", field.column()),
        ));
    }
    let (name, idnumber) = match field {
        CohortIdentifier::Name => (Some(key), given(&c.idnumber)),
        CohortIdentifier::Idnumber => (given(&c.name), Some(key)),
        CohortIdentifier::Id => {
            return Err(row(
                Code::NotFound,
                format!("no cohort has id {key}; ids are given by Moodle, so name new cohorts by idnumber or name"),
            ))
        }
    };
    let name = name.ok_or_else(|| {
        row(
            Code::MissingValue,
            format!("cohort '{key}' does not exist and a new cohort needs a name (cname)"),
        )
    })?;
    if let Some(idn) = idnumber {
        check_idnumber(conn, idn, 0)?;
    }
    let description = c.description.clone().unwrap_or_default();
    let component = c.component.clone().unwrap_or_default();
    let contextid = context.unwrap_or(SYSTEM_CONTEXT);
    conn.prepare_cached(
        "INSERT INTO mdl_cohort (contextid, name, idnumber, description, descriptionformat, visible, component, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?6, ?6)",
    )?
    .execute(params![contextid, name, idnumber.unwrap_or(""), description, component, ctx.now])?;
    Ok(StoredCohort {
        id: conn.last_insert_rowid(),
        name: name.to_string(),
        idnumber: idnumber.unwrap_or("").to_string(),
        description,
        contextid,
        component,
    })
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// Writes the given fields that differ; the identifying field itself is never rewritten.
fn update(
    conn: &Connection,
    ctx: &Ctx,
    s: &StoredCohort,
    c: &CohortUpsert,
    context: Option<i64>,
) -> Result<Option<Change>, RowError> {
    let field = c.cohort_by.unwrap_or(ctx.cohorts.identifier);
    let differs = |v: &Option<String>, stored: &str| {
        v.as_deref()
            .filter(|v| !v.is_empty() && *v != stored)
            .map(str::to_string)
    };
    let name = differs(&c.name, &s.name).filter(|_| field != CohortIdentifier::Name);
    let idnumber =
        differs(&c.idnumber, &s.idnumber).filter(|_| field != CohortIdentifier::Idnumber);
    if let Some(idn) = &idnumber {
        check_idnumber(conn, idn, s.id)?;
    }
    let description = differs(&c.description, &s.description);
    let component = differs(&c.component, &s.component);
    let context = context.filter(|cid| *cid != s.contextid);
    let mut fields = Vec::new();
    for (col, set) in [
        ("name", name.is_some()),
        ("idnumber", idnumber.is_some()),
        ("description", description.is_some()),
        ("component", component.is_some()),
        ("contextid", context.is_some()),
    ] {
        if set {
            fields.push(col.to_string());
        }
    }
    if fields.is_empty() {
        return Ok(None);
    }
    conn.prepare_cached(
        "UPDATE mdl_cohort SET name = COALESCE(?2, name), idnumber = COALESCE(?3, idnumber),
            description = COALESCE(?4, description), component = COALESCE(?5, component),
            contextid = COALESCE(?6, contextid), timemodified = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        s.id,
        name,
        idnumber,
        description,
        component,
        context,
        ctx.now
    ])?;
    Ok(Some(Change {
        action: Action::Updated,
        entity: "cohort",
        id: s.id,
        label: s.shown(),
        fields,
    }))
}

fn member_label(user: &str, cohort: &StoredCohort) -> String {
    format!("{user} in {}", cohort.shown())
}

/// Adds the member and enrols them through the cohort's enabled instances.
fn join(
    conn: &Connection,
    ctx: &Ctx,
    cohort: &StoredCohort,
    user: i64,
    shown: &str,
) -> Result<Vec<Change>, RowError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO mdl_cohort_members (cohortid, userid, timeadded) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![cohort.id, user, ctx.now])?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut changes = vec![Change::new(
        Action::Created,
        "cohort_member",
        cohort.id,
        member_label(shown, cohort),
    )];
    for inst in cohort_sync::instances_of(conn, ctx, cohort.id)? {
        if inst.enabled() && cohort_sync::enrol_member(conn, ctx, &inst, user)? {
            changes.push(enrolment_change(Action::Created, &inst, shown));
        }
    }
    Ok(changes)
}

fn enrolment_change(action: Action, inst: &CohortInstance, user: &str) -> Change {
    Change::new(
        action,
        "enrolment",
        inst.id,
        format!("{user} in course {} ({})", inst.course, inst.plugin),
    )
}

/// Removes the member and unenrols them from every instance bound to the cohort.
fn drop_member(
    conn: &Connection,
    ctx: &Ctx,
    cohort: &StoredCohort,
    user: i64,
    shown: &str,
) -> Result<Vec<Change>, RowError> {
    let n = conn
        .prepare_cached("DELETE FROM mdl_cohort_members WHERE cohortid = ?1 AND userid = ?2")?
        .execute(params![cohort.id, user])?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut changes = vec![Change::new(
        Action::Deleted,
        "cohort_member",
        cohort.id,
        member_label(shown, cohort),
    )];
    for inst in cohort_sync::instances_of(conn, ctx, cohort.id)? {
        if cohort_sync::unenrol_member(conn, ctx, &inst, user)? {
            changes.push(enrolment_change(Action::Deleted, &inst, shown));
        }
    }
    Ok(changes)
}

pub(crate) fn leave(
    conn: &Connection,
    ctx: &Ctx,
    l: &CohortLeave,
) -> Result<Vec<Change>, RowError> {
    // The user is resolved first: an unknown user fails the row and touches nothing.
    let user = user_id(
        conn,
        l.member_by.unwrap_or(ctx.cohorts.user_identifier),
        &l.member,
    )?;
    let cohort = require(
        conn,
        l.cohort_by.unwrap_or(ctx.cohorts.identifier),
        &l.cohort,
    )?;
    let changes = drop_member(conn, ctx, &cohort, user, &l.member)?;
    if changes.is_empty() {
        return Err(RowError::Nothing(format!(
            "{} is not a member of {}",
            l.member,
            cohort.label()
        )));
    }
    Ok(changes)
}

/// Members as (id, username), for per-member unenrolment and the report.
fn members(conn: &Connection, cohort: i64) -> Result<Vec<(i64, String)>, RowError> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.username FROM mdl_cohort_members cm JOIN mdl_user u ON u.id = cm.userid
             WHERE cm.cohortid = ?1 ORDER BY u.id",
        )?
        .query_map([cohort], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// `free`: every member leaves (and is unenrolled where the cohort enrolled them).
pub(crate) fn empty(conn: &Connection, ctx: &Ctx, r: &CohortRef) -> Result<Vec<Change>, RowError> {
    let cohort = require(
        conn,
        r.cohort_by.unwrap_or(ctx.cohorts.identifier),
        &r.cohort,
    )?;
    let all = members(conn, cohort.id)?;
    if all.is_empty() {
        return Err(RowError::Nothing(format!(
            "{} has no members",
            cohort.label()
        )));
    }
    let instances = cohort_sync::instances_of(conn, ctx, cohort.id)?;
    let mut unenrolled = 0;
    for (user, _) in &all {
        for inst in &instances {
            unenrolled += usize::from(cohort_sync::unenrol_member(conn, ctx, inst, *user)?);
        }
    }
    conn.prepare_cached("DELETE FROM mdl_cohort_members WHERE cohortid = ?1")?
        .execute([cohort.id])?;
    let mut fields = vec![format!("{} members removed", all.len())];
    if unenrolled > 0 {
        fields.push(format!("{unenrolled} enrolments removed"));
    }
    Ok(vec![Change {
        action: Action::Updated,
        entity: "cohort",
        id: cohort.id,
        label: cohort.shown(),
        fields,
    }])
}

/// Deletes the cohort, its memberships, and the cohort instances bound to it with their
/// enrolments (enrol_cohort's reaction to a deleted cohort).
pub(crate) fn delete(conn: &Connection, ctx: &Ctx, r: &CohortRef) -> Result<Vec<Change>, RowError> {
    let field = r.cohort_by.unwrap_or(ctx.cohorts.identifier);
    let Some(cohort) = find(conn, field, &r.cohort)? else {
        return Err(RowError::Nothing(format!(
            "no cohort has {} '{}' (already deleted?)",
            field.column(),
            r.cohort
        )));
    };
    let mut changes = Vec::new();
    for inst in cohort_sync::instances_of(conn, ctx, cohort.id)? {
        let removed = cohort_sync::delete_instance(conn, ctx, &inst)?;
        changes.push(Change {
            action: Action::Deleted,
            entity: "enrol",
            id: inst.id,
            label: format!("{} instance of course {}", inst.plugin, inst.course),
            fields: vec![format!("{removed} enrolments removed")],
        });
    }
    let n = conn
        .prepare_cached("DELETE FROM mdl_cohort_members WHERE cohortid = ?1")?
        .execute([cohort.id])?;
    conn.prepare_cached("DELETE FROM mdl_cohort WHERE id = ?1")?
        .execute([cohort.id])?;
    ctx.cache.borrow_mut().clear();
    changes.insert(
        0,
        Change {
            action: Action::Deleted,
            entity: "cohort",
            id: cohort.id,
            label: cohort.shown(),
            fields: vec![format!("{n} members")],
        },
    );
    Ok(changes)
}
