//! Enrolments: `add` enrols through the course's instance of the row's method (or sends the
//! enrolment again with new dates or status, as Moodle's enrol_user does) and gives the
//! role; `shift` also takes away the user's other plain roles and those the method gave;
//! `del` unenrols from that instance. Without a method a row only assigns, replaces or
//! removes plain roles in the course's context (tool_sync's role-only mode): never a silent
//! fall-back from a missing method to a bare role.

use super::participants::{self as part, row};
use super::view::{CourseRec, InstanceRec, Read, RoleAssignment, SiteView, UeRec, Wanted};
use super::{ops::Op, PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::EnrolCmd;
use crate::command::{shown_time, Command, Enrolment, COHORT_PLUGINS};
use crate::config::Config;
use crate::outcome::Action;

/// What an enrolment or group row of the enrolments file (or a users file's course columns)
/// will look up, for the view to read ahead.
pub(super) fn wanted(cfg: &Config, cmd: &Command, w: &mut Wanted) {
    let e = &cfg.enrolments;
    let (user, course) = match cmd {
        Command::Enrolment(x) => (
            (x.user_by.unwrap_or(e.user_identifier), &x.user),
            (x.course_by.unwrap_or(e.course_identifier), &x.course),
        ),
        Command::UserGroups(x) => (
            (x.user_by.unwrap_or(e.user_identifier), &x.user),
            (x.course_by.unwrap_or(e.course_identifier), &x.course),
        ),
        _ => return,
    };
    if !user.1.is_empty() {
        w.users.insert((user.0, user.1.clone()));
    }
    w.courses.insert((course.0, course.1.clone()));
    w.course_parts.insert((course.0, course.1.clone()));
}

/// The component and item a role given through `method`'s instance is recorded with: manual
/// and self enrolments give plain assignments (their plugins' `roles_protected()` is false),
/// the others mark them as theirs.
fn role_owner(method: &str, instance: Ref) -> (String, i64) {
    match method {
        "manual" | "self" => (String::new(), 0),
        other => (format!("enrol_{other}"), instance.id().unwrap_or(0)),
    }
}

/// Whether an assignment is a plain one (or one the site does not say who gave).
fn plain(a: &RoleAssignment) -> bool {
    a.component.as_deref().is_none_or(str::is_empty)
}

/// Whether the user holds `role` as given by `(component, item)`.
fn holds(roles: &[RoleAssignment], role: i64, (component, item): &(String, i64)) -> bool {
    roles.iter().any(|a| {
        a.role == role
            && match &a.component {
                None => true,
                Some(c) => c == component && a.itemid.is_none_or(|i| i == *item),
            }
    })
}

fn unassign(a: &RoleAssignment, course: Ref, user: Ref) -> Op {
    Op::UnassignRole {
        role: a.role,
        course,
        user,
        component: a.component.clone().unwrap_or_default(),
        itemid: a.itemid.unwrap_or(0),
    }
}

/// The course's instance of `method` a row enrols (or unenrols) through: an enabled one
/// first, as the store picks it.
fn instance_for(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: &CourseRec,
    method: &str,
    enabling: bool,
) -> Read<InstanceRec> {
    if matches!(method, "meta" | "guest") || COHORT_PLUGINS.contains(&method) {
        let why = match method {
            "guest" => "guest access enrols nobody",
            _ => "its enrolments follow its sync (a master course, or a cohort)",
        };
        return Err(row(
            Code::InvalidValue,
            format!("cannot enrol through the {method} method: {why}; use manual or self"),
        ));
    }
    let mut of_method: Vec<InstanceRec> = part::instances(p, view, course.id)?
        .into_iter()
        .filter(|i| i.method == method)
        .collect();
    // Stable: the course's order among the enabled ones, then among the others.
    of_method.sort_by_key(|i| !i.enabled);
    match of_method.into_iter().next() {
        None if !view.capabilities().lists_disabled_instances => Err(row(
            Code::NotFound,
            format!("{} has no enabled {method} enrolment method (Moodle's web services list only the enabled ones); add or enable one in Moodle", course.label()),
        )),
        None => Err(row(
            Code::NotFound,
            format!("{} has no {method} enrolment method; add one in Moodle (moosync never falls back to a bare role assignment)", course.label()),
        )),
        Some(i) if enabling && !i.enabled => Err(row(
            Code::InvalidValue,
            format!(
                "the {method} enrolment method of {} is disabled; enable it in Moodle",
                course.label()
            ),
        )),
        Some(i) => Ok(i),
    }
}

/// The instance a row goes through, where the backend can go through it. One that lists
/// every instance says a missing or disabled one first, as the embedded store does; one that
/// lists only the enabled ones cannot, and says what it cannot do first.
fn instance(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: &CourseRec,
    method: &str,
    enabling: bool,
) -> Read<InstanceRec> {
    let caps = view.capabilities();
    let unsupported = method != "manual" && !caps.enrol_any_method;
    if unsupported && !caps.lists_disabled_instances {
        return Err(method_unsupported(method));
    }
    let inst = instance_for(p, view, course, method, enabling)?;
    if unsupported {
        return Err(method_unsupported(method));
    }
    Ok(inst)
}

/// A row that enrols or unenrols through another method than manual where the backend
/// cannot.
fn method_unsupported(method: &str) -> super::view::ReadError {
    row(
        Code::RemoteUnsupported,
        format!("enrolling or unenrolling through '{method}' over REST: Moodle's web services enrol only through the manual method (enrol_self_enrol_user enrols the token's own account only); use enrol = manual, or the embedded store"),
    )
}

pub(super) fn enrolment(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    e: &Enrolment,
) -> Read<Verdict> {
    let cfg = p.cfg().enrolments.clone();
    let uf = e.user_by.unwrap_or(cfg.user_identifier);
    let cf = e.course_by.unwrap_or(cfg.course_identifier);
    let user = part::user(p, view, uf, &e.user)?;
    let course = part::course(p, view, cf, &e.course)?;
    let role = match e.role.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(part::course_role(view, r)?.id),
        None => None,
    };
    let cmd = match e.cmd.as_deref() {
        Some("del") => EnrolCmd::Del,
        Some("shift") => EnrolCmd::Shift,
        Some(_) => EnrolCmd::Add,
        None => cfg.default_cmd,
    };
    if cmd == EnrolCmd::Shift && role.is_none() {
        return Err(row(
            Code::MissingValue,
            "shift needs a role: the role that replaces the user's roles in the course".into(),
        ));
    }
    let label = format!("{} in {}", e.user, course.shortname);
    let at = Target {
        course: &course,
        user,
        label,
    };
    match (cmd, e.method.as_deref().filter(|m| !m.is_empty())) {
        (EnrolCmd::Add | EnrolCmd::Shift, Some(m)) => {
            enrol(p, view, draft, e, &at, role, m, cmd == EnrolCmd::Shift)
        }
        (EnrolCmd::Del, Some(m)) => unenrol(p, view, draft, &at, m),
        (cmd, None) => role_only(p, view, draft, &at, role, cmd),
    }
}

/// The user and course a row is about, and how report lines name them.
struct Target<'a> {
    course: &'a CourseRec,
    user: Ref,
    label: String,
}

/// `add` (and `shift`) through an enrol method: enrols, or sends the enrolment again with its
/// new dates and status, and gives the role.
#[allow(clippy::too_many_arguments)]
fn enrol(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    e: &Enrolment,
    at: &Target,
    role: Option<i64>,
    method: &str,
    shift: bool,
) -> Read<Verdict> {
    let (course, user) = (at.course.id, at.user);
    let inst = instance(p, view, at.course, method, true)?;
    let role = match role {
        Some(r) => r,
        None => match inst.role.filter(|r| *r > 0) {
            Some(r) => r,
            None => part::course_role(view, "student")?.id,
        },
    };
    let enrolled = part::enrolments(p, view, course, user)?;
    let existing: Option<UeRec> = match &enrolled {
        Some(list) => list.iter().find(|u| u.instance == inst.id).cloned(),
        // The site does not say through which instance: enrolled at all is taken as
        // enrolled through this one.
        None => part::is_enrolled(p, view, course, user)?.then_some(UeRec {
            instance: inst.id,
            suspended: None,
            start: None,
            end: None,
        }),
    };
    let mut fields: Vec<String> = Vec::new();
    // The enrolment's state after the row, when it is sent (again).
    let mut send: Option<(bool, i64, i64)> = None;
    let after = match &existing {
        None => {
            let s = (
                e.suspended.unwrap_or(false),
                e.timestart.unwrap_or(0),
                e.timeend.unwrap_or(0),
            );
            send = Some(s);
            s
        }
        Some(UeRec {
            suspended: Some(status),
            start: Some(start),
            end: Some(end),
            ..
        }) => {
            let new = (
                e.suspended.unwrap_or(*status),
                e.timestart.unwrap_or(*start),
                e.timeend.unwrap_or(*end),
            );
            if new.2 != 0 && new.2 < new.1 {
                return Err(row(
                    Code::InvalidValue,
                    format!(
                        "{}: the end ({}) would be before the start ({}); correct the row's dates",
                        at.label,
                        shown_time(new.2),
                        shown_time(new.1)
                    ),
                ));
            }
            for (what, changed) in [
                ("status", new.0 != *status),
                ("timestart", new.1 != *start),
                ("timeend", new.2 != *end),
            ] {
                if changed {
                    fields.push(what.to_string());
                }
            }
            if !fields.is_empty() {
                send = Some(new);
            }
            new
        }
        Some(_) => {
            // The site does not show an enrolment's status and dates: what the row gives is
            // sent again on every run, the rest as Moodle's enrol_user takes it (active, no
            // dates).
            for (what, given) in [
                ("status", e.suspended.is_some()),
                ("timestart", e.timestart.is_some()),
                ("timeend", e.timeend.is_some()),
            ] {
                if given {
                    fields.push(what.to_string());
                }
            }
            let s = (
                e.suspended.unwrap_or(false),
                e.timestart.unwrap_or(0),
                e.timeend.unwrap_or(0),
            );
            if !fields.is_empty() {
                fields.push("note: the site does not show an enrolment's status and dates, so the row's are sent again on every run".into());
                send = Some(s);
            }
            s
        }
    };
    let owner = role_owner(method, inst.id);
    let roles_now = part::roles(p, view, course, user)?;
    let held = holds(&roles_now, role, &owner);
    let removed: Vec<RoleAssignment> = if shift {
        roles_now
            .iter()
            .filter(|a| a.role != role)
            .filter(|a| {
                plain(a)
                    || (a.component.as_deref() == Some(owner.0.as_str())
                        && a.itemid.is_none_or(|i| i == owner.1))
            })
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    if !removed.is_empty() {
        fields.push(format!("roles removed {}", removed.len()));
    }
    if !held {
        fields.push(format!("role {}", part::role_name(view, role)?));
        if send.is_none() && !owner.0.is_empty() {
            // Only enrol_user gives a role as an enrol method's own.
            send = Some(after);
        }
    }
    // The new role first, the others after: a user is never left without one because the
    // new one was refused.
    match send {
        Some((suspended, start, end)) => draft.ops.push(Op::Enrol {
            course,
            method: method.to_string(),
            user,
            role: Some(role),
            suspended,
            start,
            end,
        }),
        None if !held => draft.ops.push(Op::AssignRole { role, course, user }),
        None => {}
    }
    draft
        .ops
        .extend(removed.iter().map(|a| unassign(a, course, user)));
    let action = match (&existing, fields.is_empty()) {
        (None, _) => Action::Created,
        (Some(_), false) => Action::Updated,
        (Some(_), true) => Action::Unchanged,
    };
    draft.changes.push(
        PlannedChange::new(
            action,
            "enrolment",
            user,
            format!("{} ({method})", at.label),
        )
        .with_fields(if action == Action::Created {
            Vec::new()
        } else {
            fields
        }),
    );
    // What later rows see: the site's state, unless the row changes it (an unchanged row
    // leaves the view's answer, which costs nothing to keep).
    if send.is_none() && held && removed.is_empty() {
        return Ok(Verdict::Done);
    }
    let mut list = enrolled.unwrap_or_else(|| existing.iter().cloned().collect());
    list.retain(|u| u.instance != inst.id);
    let known = existing.as_ref().is_none_or(|u| u.suspended.is_some());
    list.push(UeRec {
        instance: inst.id,
        suspended: known.then_some(after.0),
        start: known.then_some(after.1),
        end: known.then_some(after.2),
    });
    p.overlay().set_enrolments((course, user), Some(list));
    let mut roles_after: Vec<RoleAssignment> = roles_now
        .into_iter()
        .filter(|a| !removed.contains(a))
        .collect();
    if !held {
        roles_after.push(RoleAssignment {
            role,
            component: Some(owner.0),
            itemid: Some(owner.1),
        });
    }
    p.overlay().set_roles((course, user), Some(roles_after));
    Ok(Verdict::Done)
}

/// `del` through an enrol method: unenrols from that instance, with Moodle's unenrol_user.
fn unenrol(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    at: &Target,
    method: &str,
) -> Read<Verdict> {
    let (course, user) = (at.course.id, at.user);
    let inst = instance(p, view, at.course, method, false)?;
    let enrolled = part::enrolments(p, view, course, user)?;
    let through = match &enrolled {
        Some(list) => list.iter().any(|u| u.instance == inst.id),
        None => part::is_enrolled(p, view, course, user)?,
    };
    if !through {
        return Ok(Verdict::Nothing(format!(
            "{}: not enrolled through {method}",
            at.label
        )));
    }
    draft.ops.push(Op::Unenrol {
        course,
        method: method.to_string(),
        user,
    });
    draft.changes.push(PlannedChange::new(
        Action::Deleted,
        "enrolment",
        user,
        format!("{} ({method})", at.label),
    ));
    // unenrol_user: the roles the instance gave go; with the last enrolment, every role and
    // group membership in the course.
    let left: Vec<UeRec> = enrolled
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.instance != inst.id)
        .collect();
    let owner = role_owner(method, inst.id);
    let roles_now = part::roles(p, view, course, user)?;
    let last = left.is_empty();
    let roles_after: Vec<RoleAssignment> = if last {
        Vec::new()
    } else {
        roles_now
            .into_iter()
            .filter(|a| owner.0.is_empty() || a.component.as_deref() != Some(owner.0.as_str()))
            .collect()
    };
    if last {
        for (g, _) in part::user_groups(p, view, course, user)? {
            let members: Vec<_> = part::members(p, view, g.id)?
                .into_iter()
                .filter(|m| m.user != user)
                .collect();
            p.overlay().set_members(g.id, Some(members));
        }
    }
    p.overlay().set_enrolments((course, user), Some(left));
    p.overlay().set_roles((course, user), Some(roles_after));
    Ok(Verdict::Done)
}

/// A row without a method: plain role assignments in the course's context.
fn role_only(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    at: &Target,
    role: Option<i64>,
    cmd: EnrolCmd,
) -> Read<Verdict> {
    let (course, user) = (at.course.id, at.user);
    let roles_now = part::roles(p, view, course, user)?;
    let plain_owner = (String::new(), 0);
    let (action, label, fields, gone, made) = match cmd {
        EnrolCmd::Del => {
            let gone: Vec<RoleAssignment> = roles_now
                .iter()
                .filter(|a| plain(a) && role.is_none_or(|r| a.role == r))
                .cloned()
                .collect();
            if gone.is_empty() {
                return Ok(Verdict::Nothing(format!(
                    "{}: no such role assignment",
                    at.label
                )));
            }
            let n = gone.len();
            (
                Action::Deleted,
                at.label.clone(),
                vec![format!("roles {n}")],
                gone,
                None,
            )
        }
        _ => {
            let Some(role) = role else {
                return Err(row(
                    Code::MissingValue,
                    "without an enrol method a row assigns a role: give one".into(),
                ));
            };
            let made = !holds(&roles_now, role, &plain_owner);
            let gone: Vec<RoleAssignment> = if cmd == EnrolCmd::Shift {
                roles_now
                    .iter()
                    .filter(|a| a.role != role && plain(a))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            let action = match (cmd, made, gone.is_empty()) {
                (EnrolCmd::Add, true, _) => Action::Created,
                (_, false, true) => Action::Unchanged,
                _ => Action::Updated,
            };
            let fields = if gone.is_empty() {
                Vec::new()
            } else {
                vec![format!("roles removed {}", gone.len())]
            };
            let label = format!("{} as {}", at.label, part::role_name(view, role)?);
            (action, label, fields, gone, made.then_some(role))
        }
    };
    if let Some(role) = made {
        draft.ops.push(Op::AssignRole { role, course, user });
    }
    draft
        .ops
        .extend(gone.iter().map(|a| unassign(a, course, user)));
    draft
        .changes
        .push(PlannedChange::new(action, "role_assignment", user, label).with_fields(fields));
    if made.is_none() && gone.is_empty() {
        return Ok(Verdict::Done);
    }
    let mut roles_after: Vec<RoleAssignment> = roles_now
        .into_iter()
        .filter(|a| !gone.contains(a))
        .collect();
    if let Some(role) = made {
        roles_after.push(RoleAssignment {
            role,
            component: Some(String::new()),
            itemid: Some(0),
        });
    }
    p.overlay().set_roles((course, user), Some(roles_after));
    Ok(Verdict::Done)
}
