//! Cohort-to-course bindings (tool_sync's cohortscourses.csv): a cohort enrol instance per
//! (plugin, course, cohort, role), made, disabled, re-enabled or deleted, with the
//! enrolments that follow the cohort's members.

use super::cohort_sync::{self, CohortInstance};
use super::cohorts;
use super::courses::{self, StoredCourse};
use super::enrol;
use super::error::RowError;
use super::lookup::course_role_id;
use super::Ctx;
use crate::command::CohortBinding;
use crate::outcome::{Action, Change};
use rusqlite::{params, Connection};

pub(crate) fn bind(
    conn: &Connection,
    ctx: &Ctx,
    b: &CohortBinding,
) -> Result<Vec<Change>, RowError> {
    // Checked against COHORT_PLUGINS when the command was validated.
    let plugin = b.method.as_deref().unwrap_or("cohort");
    let course = courses::require_by(
        conn,
        b.course_by.unwrap_or(ctx.cohorts.course_identifier),
        &b.course,
        "course",
    )?;
    let cohort = cohorts::require(
        conn,
        b.cohort_by.unwrap_or(ctx.cohorts.identifier),
        &b.cohort,
    )?;
    let role = match b.role.as_deref().filter(|r| !r.is_empty()) {
        Some("*") => None,
        Some(r) => Some(course_role_id(conn, r)?),
        None => Some(course_role_id(conn, "student")?),
    };
    let found = cohort_sync::bound(conn, course.id, plugin, cohort.id, role)?;
    // Whatever happens next changes the instances the cohort's members follow.
    ctx.cache.borrow_mut().cohort_instances.clear();
    let label = |inst: &CohortInstance| {
        format!(
            "{} → {} ({plugin}, role {})",
            cohort.shown(),
            course.shortname,
            role_shown(b, inst)
        )
    };
    let mut changes = Vec::new();
    match b.cmd.as_deref().unwrap_or("add") {
        "add" => {
            let role = role.unwrap_or_default();
            let inst = match found.into_iter().next() {
                Some(inst) => inst,
                None => {
                    let inst = create(conn, ctx, b, plugin, &course, &cohort, role)?;
                    let (enrolled, _) = cohort_sync::sync_all(conn, ctx, &inst, cohort.id)?;
                    return Ok(vec![Change {
                        action: Action::Created,
                        entity: "enrol",
                        id: inst.id,
                        label: label(&inst),
                        fields: synced_fields(enrolled, 0, inst.group),
                    }]);
                }
            };
            let mut fields = Vec::new();
            let mut inst = inst;
            if !inst.enabled() {
                fields.push("enabled".to_string());
            }
            let (start, end) = (
                b.timestart.unwrap_or(inst.timestart),
                b.timeend.unwrap_or(inst.timeend),
            );
            if (start, end) != (inst.timestart, inst.timeend) {
                fields.push("enrolstartdate, enrolenddate".to_string());
                conn.prepare_cached(
                    "UPDATE mdl_user_enrolments SET timestart = ?2, timeend = ?3, timemodified = ?4 WHERE enrolid = ?1",
                )?
                .execute(params![inst.id, start, end, ctx.now])?;
            }
            if b.makegroup && inst.group == 0 {
                inst.group = make_group(conn, ctx, course.id, &cohort.name)?;
                fields.push("customint2 (new group)".to_string());
            }
            if fields.is_empty() {
                return Ok(vec![Change::new(
                    Action::Unchanged,
                    "enrol",
                    inst.id,
                    label(&inst),
                )]);
            }
            conn.prepare_cached(
                "UPDATE mdl_enrol SET status = ?2, enrolstartdate = ?3, enrolenddate = ?4, customint2 = ?5, timemodified = ?6 WHERE id = ?1",
            )?
            .execute(params![inst.id, enrol::ENABLED, start, end, inst.group, ctx.now])?;
            inst.status = enrol::ENABLED;
            inst.timestart = start;
            inst.timeend = end;
            let (enrolled, unenrolled) = cohort_sync::sync_all(conn, ctx, &inst, cohort.id)?;
            fields.extend(synced_fields(enrolled, unenrolled, 0));
            changes.push(Change {
                action: Action::Updated,
                entity: "enrol",
                id: inst.id,
                label: label(&inst),
                fields,
            });
        }
        cmd @ ("del" | "restore") => {
            let want = if cmd == "del" {
                enrol::DISABLED
            } else {
                enrol::ENABLED
            };
            for mut inst in found.into_iter().filter(|i| i.status != want) {
                conn.prepare_cached(
                    "UPDATE mdl_enrol SET status = ?2, timemodified = ?3 WHERE id = ?1",
                )?
                .execute(params![inst.id, want, ctx.now])?;
                inst.status = want;
                let mut fields =
                    vec![if cmd == "del" { "disabled" } else { "enabled" }.to_string()];
                if cmd == "restore" {
                    // Members who joined while it was disabled are enrolled now.
                    let (enrolled, unenrolled) =
                        cohort_sync::sync_all(conn, ctx, &inst, cohort.id)?;
                    fields.extend(synced_fields(enrolled, unenrolled, 0));
                } else {
                    let roles = cohort_sync::disable(conn, ctx, &inst)?;
                    fields.push(format!("{roles} role assignments removed"));
                }
                changes.push(Change {
                    action: Action::Updated,
                    entity: "enrol",
                    id: inst.id,
                    label: label(&inst),
                    fields,
                });
            }
        }
        _ => {
            for inst in found {
                let removed = cohort_sync::delete_instance(conn, ctx, &inst)?;
                changes.push(Change {
                    action: Action::Deleted,
                    entity: "enrol",
                    id: inst.id,
                    label: label(&inst),
                    fields: vec![format!("{removed} enrolments removed")],
                });
            }
        }
    }
    if changes.is_empty() {
        return Err(RowError::Nothing(format!(
            "{} has no {} binding to course {} that this changes",
            cohort.label(),
            plugin,
            course.shortname
        )));
    }
    Ok(changes)
}

fn role_shown(b: &CohortBinding, inst: &CohortInstance) -> String {
    match b.role.as_deref() {
        Some("*") => format!("id {}", inst.role),
        Some(r) if !r.is_empty() => r.to_string(),
        _ => "student".to_string(),
    }
}

fn synced_fields(enrolled: usize, unenrolled: usize, group: i64) -> Vec<String> {
    let mut fields = vec![format!("{enrolled} members enrolled")];
    if unenrolled > 0 {
        fields.push(format!("{unenrolled} non-members unenrolled"));
    }
    if group > 0 {
        fields.push(format!("group {group}"));
    }
    fields
}

fn create(
    conn: &Connection,
    ctx: &Ctx,
    b: &CohortBinding,
    plugin: &str,
    course: &StoredCourse,
    cohort: &cohorts::StoredCohort,
    role: i64,
) -> Result<CohortInstance, RowError> {
    let group = if b.makegroup {
        make_group(conn, ctx, course.id, &cohort.name)?
    } else {
        0
    };
    let sortorder: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(sortorder) + 1, 0) FROM mdl_enrol WHERE courseid = ?1",
        )?
        .query_row([course.id], |r| r.get(0))?;
    let (start, end) = (b.timestart.unwrap_or(0), b.timeend.unwrap_or(0));
    conn.prepare_cached(
        "INSERT INTO mdl_enrol (enrol, status, courseid, sortorder, roleid, customint1, customint2,
            enrolstartdate, enrolenddate, timecreated, timemodified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        plugin,
        enrol::ENABLED,
        course.id,
        sortorder,
        role,
        cohort.id,
        group,
        start,
        end,
        ctx.now
    ])?;
    Ok(CohortInstance {
        id: conn.last_insert_rowid(),
        plugin: plugin.to_string(),
        course: course.id,
        course_ctx: courses::course_context(conn, course.id)?,
        status: enrol::ENABLED,
        role,
        group,
        timestart: start,
        timeend: end,
    })
}

/// enrol_cohort's "create new group": named "<cohort> cohort", then "<cohort> cohort (2)"…
/// while the course has a group of that name.
fn make_group(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    cohort_name: &str,
) -> Result<i64, RowError> {
    let mut name = format!("{cohort_name} cohort");
    let mut n = 1;
    loop {
        let taken: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM mdl_groups WHERE courseid = ?1 AND name = ?2)",
            )?
            .query_row(params![course, name], |r| r.get(0))?;
        if !taken {
            break;
        }
        n += 1;
        name = format!("{cohort_name} cohort ({n})");
    }
    conn.prepare_cached(
        "INSERT INTO mdl_groups (courseid, name, idnumber, description, timecreated, timemodified)
         VALUES (?1, ?2, '', '', ?3, ?3)",
    )?
    .execute(params![course, name, ctx.now])?;
    Ok(conn.last_insert_rowid())
}
