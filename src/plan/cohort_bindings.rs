//! Cohort-to-course bindings (tool_sync's cohortscourses.csv): a cohort sync instance per
//! (method, course, cohort, role), added (with a group named after the cohort when asked),
//! disabled (`del`), enabled again (`restore`) or deleted with its enrolments (`fulldel`).
//! The enrolments follow the cohort's members: the backend runs the method's sync when it
//! applies an instance, and the plan reports what that sync does.

use super::cohorts;
use super::ops::{InstanceUpdate, NewGroup, NewInstance, Op};
use super::participants::{self, row};
use super::view::{
    needs_plugin, CohortRec, CourseRec, GroupKind, GroupRec, InstanceRec, Read, ReadError, SiteView,
};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::CohortBinding;
use crate::outcome::Action;
use std::collections::HashSet;

pub(super) fn bind(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    b: &CohortBinding,
) -> Read<Verdict> {
    // Checked against COHORT_PLUGINS when the command was validated.
    let method = b.method.as_deref().unwrap_or("cohort");
    let caps = view.capabilities();
    if !caps.cohort_bindings {
        return Err(ReadError::Row(needs_plugin(
            "binding a cohort to a course (cohortscourses.csv)",
            "local_moosync_add_cohort_instances",
        )));
    }
    if method != "cohort" && !caps.third_party_cohort_methods {
        return Err(row(
            Code::RemoteUnsupported,
            format!("the enrol method '{method}' is a third-party plugin that moosync drives in the embedded store only; over REST, bind through Moodle's own 'cohort' method"),
        ));
    }
    let cfg = p.cfg().cohorts.clone();
    let course = participants::course(
        p,
        view,
        b.course_by.unwrap_or(cfg.course_identifier),
        &b.course,
    )?;
    let cohort = cohorts::require(p, view, b.cohort_by.unwrap_or(cfg.identifier), &b.cohort)?;
    let role = match b.role.as_deref().filter(|r| !r.is_empty()) {
        Some("*") => None,
        Some(r) => Some(participants::course_role(view, r)?),
        None => Some(participants::course_role(view, "student")?),
    };
    let found: Vec<InstanceRec> = cohorts::instances(p, view, cohort.id)?
        .unwrap_or_default()
        .into_iter()
        .filter(|i| {
            i.course == course.id
                && i.method == method
                && role.as_ref().is_none_or(|r| i.role == Some(r.id))
        })
        .collect();
    let label = |inst_role: Option<i64>| {
        let shown = match b.role.as_deref() {
            Some("*") => format!("id {}", inst_role.unwrap_or(0)),
            Some(r) if !r.is_empty() => r.to_string(),
            _ => "student".to_string(),
        };
        format!(
            "{} → {} ({method}, role {shown})",
            cohort.shown(),
            course.shortname
        )
    };
    let before = draft.changes.len();
    let bound = Bound {
        course: &course,
        cohort: &cohort,
        method,
    };
    match b.cmd.as_deref().unwrap_or("add") {
        "add" => {
            let role = role.map(|r| r.id);
            match found.into_iter().next() {
                None => add(p, view, draft, b, &bound, role, &label(role))?,
                Some(inst) => {
                    let label = label(inst.role);
                    re_add(p, view, draft, b, &bound, inst, &label)?
                }
            }
        }
        cmd @ ("del" | "restore") => {
            let enable = cmd == "restore";
            for inst in found.into_iter().filter(|i| i.enabled != enable) {
                let through = cohorts::enrolled_through(p, view, &inst)?;
                let mut fields = vec![if enable { "enabled" } else { "disabled" }.to_string()];
                if enable {
                    // Members who joined while it was disabled are enrolled now.
                    let members = cohorts::members(p, view, cohort.id)?;
                    fields.extend(synced(&members, through.as_ref(), None));
                } else if let Some(through) = &through {
                    // Its enrolments stay, inactive; the roles it gave go.
                    let roles = if inst.role.unwrap_or(0) > 0 {
                        through.len()
                    } else {
                        0
                    };
                    fields.push(format!("{roles} role assignments removed"));
                }
                let mut after = inst.clone();
                after.enabled = enable;
                p.overlay().set_instance(inst.id, Some(after));
                draft.ops.push(Op::UpdateInstance(InstanceUpdate {
                    instance: Some(inst.id),
                    method: method.to_string(),
                    enabled: Some(enable),
                    ..Default::default()
                }));
                draft.changes.push(
                    PlannedChange::new(Action::Updated, "enrol", inst.id, label(inst.role))
                        .with_fields(fields),
                );
            }
        }
        _ => {
            for inst in found {
                let fields = match cohorts::enrolled_through(p, view, &inst)? {
                    Some(through) => vec![format!("{} enrolments removed", through.len())],
                    None => Vec::new(),
                };
                p.overlay().set_instance(inst.id, None);
                draft.ops.push(Op::DeleteInstance {
                    instance: inst.id,
                    method: method.to_string(),
                });
                draft.changes.push(
                    PlannedChange::new(Action::Deleted, "enrol", inst.id, label(inst.role))
                        .with_fields(fields),
                );
            }
        }
    }
    if draft.changes.len() == before {
        return Ok(Verdict::Nothing(format!(
            "{} has no {method} binding to course {} that this changes",
            cohort.label(),
            course.shortname
        )));
    }
    Ok(Verdict::Done)
}

/// What a binding row binds.
struct Bound<'a> {
    course: &'a CourseRec,
    cohort: &'a CohortRec,
    method: &'a str,
}

/// A new instance, which enrols every member at once.
fn add(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    b: &CohortBinding,
    bound: &Bound,
    role: Option<i64>,
    label: &str,
) -> Read<()> {
    let group = match b.makegroup {
        true => Some(make_group(p, view, draft, bound)?),
        false => None,
    };
    let new = p.new_ref();
    let inst = InstanceRec {
        id: new,
        course: bound.course.id,
        method: bound.method.to_string(),
        enabled: true,
        role,
        link: Some(bound.cohort.id),
        group: group.as_ref().map(|g| g.id),
        start: Some(b.timestart.unwrap_or(0)),
        end: Some(b.timeend.unwrap_or(0)),
    };
    let members = cohorts::members(p, view, bound.cohort.id)?;
    p.overlay().set_instance(new, Some(inst.clone()));
    draft.ops.push(Op::AddInstance(NewInstance {
        new,
        course: inst.course,
        method: inst.method.clone(),
        enabled: true,
        role,
        link: inst.link,
        group: inst.group,
        start: inst.start.unwrap_or(0),
        end: inst.end.unwrap_or(0),
    }));
    draft.changes.push(
        PlannedChange::new(Action::Created, "enrol", new, label).with_fields(synced(
            &members,
            Some(&HashSet::new()),
            group.as_ref(),
        )),
    );
    Ok(())
}

/// `add` of a binding the course has: enabled, given the row's period and a group when they
/// differ, and synced.
fn re_add(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    b: &CohortBinding,
    bound: &Bound,
    inst: InstanceRec,
    label: &str,
) -> Read<()> {
    let mut up = InstanceUpdate {
        instance: Some(inst.id),
        method: bound.method.to_string(),
        ..Default::default()
    };
    let mut fields = Vec::new();
    if !inst.enabled {
        up.enabled = Some(true);
        fields.push("enabled".to_string());
    }
    let (start, end) = (inst.start.unwrap_or(0), inst.end.unwrap_or(0));
    let want = (b.timestart.unwrap_or(start), b.timeend.unwrap_or(end));
    if want != (start, end) {
        up.start = Some(want.0);
        up.end = Some(want.1);
        fields.push("enrolstartdate, enrolenddate".to_string());
    }
    if b.makegroup && inst.group.is_none() {
        up.group = Some(make_group(p, view, draft, bound)?.id);
        fields.push("customint2 (new group)".to_string());
    }
    if fields.is_empty() {
        draft.changes.push(PlannedChange::new(
            Action::Unchanged,
            "enrol",
            inst.id,
            label,
        ));
        return Ok(());
    }
    let through = cohorts::enrolled_through(p, view, &inst)?;
    let members = cohorts::members(p, view, bound.cohort.id)?;
    fields.extend(synced(&members, through.as_ref(), None));
    let mut after = inst.clone();
    after.enabled = true;
    after.start = Some(want.0);
    after.end = Some(want.1);
    after.group = up.group.or(inst.group);
    p.overlay().set_instance(inst.id, Some(after));
    draft.ops.push(Op::UpdateInstance(up));
    draft
        .changes
        .push(PlannedChange::new(Action::Updated, "enrol", inst.id, label).with_fields(fields));
    Ok(())
}

/// What the sync of an enabled instance does: enrols the members it lacks, unenrols the
/// users it holds who are no members (when the backend can tell who it holds).
fn synced(
    members: &[Ref],
    through: Option<&HashSet<Ref>>,
    group: Option<&GroupRec>,
) -> Vec<String> {
    let mut fields = Vec::new();
    if let Some(through) = through {
        let enrolled = members.iter().filter(|u| !through.contains(u)).count();
        fields.push(format!("{enrolled} members enrolled"));
        let member: HashSet<&Ref> = members.iter().collect();
        let unenrolled = through.iter().filter(|u| !member.contains(u)).count();
        if unenrolled > 0 {
            fields.push(format!("{unenrolled} non-members unenrolled"));
        }
    }
    if let Some(g) = group {
        fields.push(format!("group {}", g.name));
    }
    fields
}

/// enrol_cohort's "create new group": named "<cohort> cohort", then "<cohort> cohort (2)"…
/// while the course has a group of that name.
fn make_group(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    bound: &Bound,
) -> Read<GroupRec> {
    let taken: HashSet<String> = participants::groups(p, view, bound.course.id, GroupKind::Group)?
        .into_iter()
        .map(|g| g.name)
        .collect();
    let base = format!("{} cohort", bound.cohort.name);
    let name = std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base} ({n})")))
        .find(|n| !taken.contains(n))
        .expect("a free name");
    let new = p.new_ref();
    let g = GroupRec {
        id: new,
        kind: GroupKind::Group,
        course: bound.course.id,
        name,
        idnumber: String::new(),
        description: Some(String::new()),
    };
    p.overlay().set_group(new, Some(g.clone()));
    draft.ops.push(Op::CreateGroup(NewGroup {
        new,
        kind: GroupKind::Group,
        course: g.course,
        name: g.name.clone(),
        idnumber: String::new(),
        description: String::new(),
    }));
    Ok(g)
}
