//! Course delete, check and reset. A delete of a course already gone has nothing to do (a
//! feed that keeps listing a closed course must not fail every night); a check of a missing
//! course fails its line, so the tryback lists exactly the missing courses; a reset empties
//! what Moodle's course reset page would, through the enabled methods that allow it.

use super::categories;
use super::courses::{find, instances, require, site_refused};
use super::ops::{Op, Reset};
use super::view::{needs_plugin, Read, ReadError, Setting, SiteView};
use super::{PlannedChange, Planner, RowDraft, Verdict};
use crate::codes::{Code, Failure};
use crate::command::{CourseCheck, CourseRef, CourseReset};
use crate::outcome::Action;
use std::collections::BTreeSet;

fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

pub(super) fn delete(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    r: &CourseRef,
) -> Read<Verdict> {
    let by = p.cfg().courses.identifier;
    let Some(c) = find(p, view, by, &r.course)? else {
        return Ok(Verdict::Nothing(format!(
            "no course has {} '{}' to delete (already deleted, or never created)",
            by.column(),
            r.course
        )));
    };
    if c.site {
        return Err(site_refused());
    }
    let mut fields = Vec::new();
    if let Some(n) = view.enrolled_count(c.id)? {
        fields.push(format!("enrolled users {n}"));
    }
    p.overlay().set_course(c.id, None);
    draft.ops.push(Op::DeleteCourse { course: c.id });
    draft.changes.push(
        PlannedChange::new(Action::Deleted, "course", c.id, c.shortname.clone())
            .with_fields(fields),
    );
    Ok(Verdict::Done)
}

pub(super) fn check(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    r: &CourseCheck,
) -> Read<Verdict> {
    let by = p.cfg().courses.identifier;
    let description = r.description.as_deref().filter(|d| !d.is_empty());
    let Some(c) = find(p, view, by, &r.course)? else {
        let about = description.map(|d| format!(" ({d})")).unwrap_or_default();
        return Err(row(
            Code::NotFound,
            format!("no course has {} '{}'{about}", by.column(), r.course),
        ));
    };
    let mut fields = vec![
        format!("fullname {}", c.fullname),
        format!(
            "idnumber {}",
            if c.idnumber.is_empty() {
                "-"
            } else {
                &c.idnumber
            }
        ),
        format!("category {}", categories::path_label(p, view, c.category)?),
    ];
    match c.setting("visible") {
        Some(Setting::Int(0)) => fields.push("hidden".into()),
        Some(_) => fields.push("visible".into()),
        None => {}
    }
    if let Some(n) = view.enrolled_count(c.id)? {
        fields.push(format!("enrolled users {n}"));
    }
    if c.site {
        fields.push("the site course".into());
    }
    if let Some(d) = description {
        fields.push(format!("description {d}"));
    }
    draft.changes.push(
        PlannedChange::new(Action::Found, "course", c.id, c.shortname.clone()).with_fields(fields),
    );
    Ok(Verdict::Done)
}

/// Whether a reset may unenrol a user from an instance of `method` (Moodle's
/// `allow_unenrol()` and `allow_unenrol_user()` of the standard methods): the sync methods
/// only what their sync already suspended, which it would not put back.
fn unenrols_through(method: &str, suspended: Option<bool>) -> bool {
    match method {
        "manual" | "self" | "flatfile" | "lti" | "paypal" => true,
        "meta" | "cohort" | "database" => suspended == Some(true),
        _ => false,
    }
}

pub(super) fn reset(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    r: &CourseReset,
) -> Read<Verdict> {
    // Checked first: without it every row fails alike, whatever it names.
    if !view.capabilities().course_reset {
        return Err(ReadError::Row(needs_plugin(
            "resetting a course",
            "local_moosync_reset_courses",
        )));
    }
    let by = r.by.unwrap_or(p.cfg().courses.identifier);
    let c = require(p, view, by, &r.course, "course")?;
    let mut roles = Vec::with_capacity(r.unenrol_roles.len());
    for name in &r.unenrol_roles {
        match view.role(name)? {
            Some(role) => roles.push(role.id),
            None => {
                return Err(row(
                    Code::UnknownRole,
                    format!("no role has shortname '{name}'"),
                ))
            }
        }
    }
    let mut fields = Vec::new();
    if r.unenrol_all || !roles.is_empty() {
        // Who reset_course_userdata unenrols: the holders of the roles (any role, for all)
        // enrolled through an enabled method that lets it.
        let open: BTreeSet<_> = instances(p, view, c.id)?
            .into_iter()
            .filter(|i| i.enabled)
            .map(|i| (i.id, i.method))
            .collect();
        let mut n = 0;
        for h in view.role_holders(c.id)? {
            let holds = h
                .roles
                .iter()
                .any(|a| r.unenrol_all || roles.contains(&a.role));
            let through = h.enrolments.iter().flatten().any(|ue| {
                open.iter().any(|(id, method)| {
                    *id == ue.instance && unenrols_through(method, ue.suspended)
                })
            });
            if holds && through {
                n += 1;
            }
        }
        fields.push(format!("unenrolled users {n}"));
    }
    let local = r.local_roles.as_deref();
    if matches!(local, Some("all" | "roles")) {
        fields.push("local role assignments deleted".into());
    }
    if matches!(local, Some("all" | "overrides")) {
        fields.push("permission overrides deleted".into());
    }
    match r.groups.as_deref() {
        Some("members") => fields.push("group members removed".into()),
        Some(_) => fields.push("groups deleted".into()),
        None => {}
    }
    match r.groupings.as_deref() {
        Some("members") => fields.push("groups removed from groupings".into()),
        Some(_) => fields.push("groupings deleted".into()),
        None => {}
    }
    draft.ops.push(Op::ResetCourse {
        course: c.id,
        reset: Reset {
            unenrol_all: r.unenrol_all,
            unenrol_roles: roles,
            local_roles: r.local_roles.clone(),
            groups: r.groups.clone(),
            groupings: r.groupings.clone(),
        },
    });
    draft.changes.push(
        PlannedChange::new(Action::Reset, "course", c.id, c.shortname.clone()).with_fields(fields),
    );
    Ok(Verdict::Done)
}
