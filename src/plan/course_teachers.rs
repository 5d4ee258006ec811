//! A course row's `teacher<N>_account` columns: each account enrolled through the course's
//! manual method with its `teacher<N>_role` (`[courses] teacher_role` when empty), all
//! resolved before anything is planned, so an unknown account fails the row with nothing made.

use super::ops::Op;
use super::view::{Read, ReadError, RoleAssignment, RoleRec, SiteView, UeRec};
use super::{PlannedChange, Planner, Ref, RowDraft};
use crate::codes::{Code, Failure};
use crate::command::CourseFields;
use crate::outcome::Action;

fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

/// A teacher the row names: the account, the role, and how the report names them.
pub(super) struct Teacher {
    user: Ref,
    role: i64,
    label: String,
}

/// A role that can be given in a course, by shortname.
fn course_role(view: &mut dyn SiteView, name: &str) -> Read<RoleRec> {
    match view.role(name)? {
        None => Err(row(
            Code::UnknownRole,
            format!("no role has shortname '{name}'"),
        )),
        Some(r) if !r.course_assignable => Err(row(
            Code::UnknownRole,
            format!("role '{name}' cannot be given in a course; name one Moodle assigns in courses (editingteacher, teacher, student, manager)"),
        )),
        Some(r) => Ok(r),
    }
}

/// The row's teachers, every one found before anything is planned.
pub(super) fn resolve(
    p: &mut Planner,
    view: &mut dyn SiteView,
    c: &CourseFields,
) -> Read<Vec<Teacher>> {
    let by = p.cfg().courses.teacher_identifier;
    let default_role = p.cfg().courses.teacher_role.clone();
    let mut out = Vec::with_capacity(c.teachers.len());
    for t in &c.teachers {
        let user = super::participants::user(p, view, by, &t.account)?;
        let name = t
            .role
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(&default_role)
            .to_string();
        let role = course_role(view, &name)?;
        out.push(Teacher {
            user,
            role: role.id,
            label: format!("{} as {name}", t.account),
        });
    }
    Ok(out)
}

/// The user's enrolments in the course, as the batch's earlier rows leave them.
fn enrolments(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Option<Vec<UeRec>>> {
    if let Some(now) = p.overlay().enrolments.get(&(course, user)) {
        return Ok(Some(now.clone().unwrap_or_default()));
    }
    view.enrolments(course, user)
}

fn roles(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Vec<RoleAssignment>> {
    if let Some(now) = p.overlay().roles.get(&(course, user)) {
        return Ok(now.clone().unwrap_or_default());
    }
    view.course_roles(course, user)
}

/// Enrols the teachers in `course` through its manual instance (`manual`; `None` for a new
/// course, whose manual instance comes with it), each with their role, unless they already
/// are so.
pub(super) fn enrol(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    course: Ref,
    manual: Option<Ref>,
    teachers: Vec<Teacher>,
) -> Read<()> {
    let new_course = matches!(course, Ref::New(_));
    for t in teachers {
        let (enrolled_now, roles_now) = if new_course {
            (Vec::new(), Vec::new())
        } else {
            let e = match enrolments(p, view, course, t.user)? {
                Some(e) => e,
                // The backend cannot tell the instance: any enrolment in the course counts.
                None if view.is_enrolled(course, t.user)? => vec![UeRec {
                    instance: manual.unwrap_or(Ref::Id(0)),
                    suspended: None,
                    start: None,
                    end: None,
                }],
                None => Vec::new(),
            };
            (e, roles(p, view, course, t.user)?)
        };
        let enrolled = enrolled_now
            .iter()
            .any(|u| manual.is_none_or(|m| u.instance == m));
        let has_role = roles_now
            .iter()
            .any(|r| r.role == t.role && r.component.as_deref().is_none_or(str::is_empty));
        let mut ues = enrolled_now.clone();
        let mut held = roles_now.clone();
        if !enrolled {
            draft.ops.push(Op::Enrol {
                course,
                method: "manual".into(),
                user: t.user,
                role: Some(t.role),
                suspended: false,
                start: 0,
                end: 0,
            });
            ues.push(UeRec {
                instance: manual.unwrap_or(Ref::Id(0)),
                suspended: Some(false),
                start: Some(0),
                end: Some(0),
            });
        } else if !has_role {
            draft.ops.push(Op::AssignRole {
                role: t.role,
                course,
                user: t.user,
            });
        }
        if !has_role {
            held.push(RoleAssignment {
                role: t.role,
                component: Some(String::new()),
                itemid: Some(0),
            });
        }
        let changed = !enrolled || !has_role;
        if changed {
            p.overlay().set_enrolments((course, t.user), Some(ues));
            p.overlay().set_roles((course, t.user), Some(held));
        }
        draft.changes.push(PlannedChange::new(
            if changed {
                Action::Created
            } else {
                Action::Unchanged
            },
            "enrolment",
            t.user,
            t.label,
        ));
    }
    Ok(())
}
