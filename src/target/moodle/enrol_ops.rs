//! Planned enrolment and role operations sent to Moodle: `enrol_manual_enrol_users` (a new
//! enrolment, or one sent again with its whole state: Moodle's enrol_user), its
//! `_unenrol_users`, and `core_role_assign_roles` / `_unassign_roles` in a course's context,
//! in batched calls split where Moodle refuses one item. The plan only asks for what these
//! can do (manual enrolments, plain role assignments); anything else fails its row here
//! rather than being sent.

use super::apply::Item;
use super::calls::{self, CallKind, Ctx};
use super::form::Params;
use crate::codes::{Code, Failure};
use crate::plan::{Applied, BatchApplied, Op, Ref};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Enrol,
    Unenrol,
    Assign,
    Unassign,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Enrol => "enrol_manual_enrol_users",
            Call::Unenrol => "enrol_manual_unenrol_users",
            Call::Assign => "core_role_assign_roles",
            Call::Unassign => "core_role_unassign_roles",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Enrol | Call::Unenrol => "enrolments",
            Call::Assign => "assignments",
            Call::Unassign => "unassignments",
        }
    }
}

/// Whether `op` is one this module sends.
pub fn is_enrol_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Enrol { .. }
            | Op::UpdateEnrolment { .. }
            | Op::Unenrol { .. }
            | Op::AssignRole { .. }
            | Op::UnassignRole { .. }
    )
}

fn id_of(r: Ref, out: &BatchApplied) -> i64 {
    match r {
        Ref::Id(id) => id,
        Ref::New(n) => out.created.get(&n).copied().unwrap_or(0),
    }
}

/// A role in a course's context, as core_role_assign_roles and _unassign_roles take it.
fn assignment(role: i64, user: i64, course: i64) -> Params {
    let mut item = Params::new();
    item.push("roleid", role.to_string())
        .push("userid", user.to_string())
        .push("contextlevel", "course")
        .push("instanceid", course.to_string());
    item
}

fn unsupported(what: String) -> Failure {
    Failure::new(
        Code::RemoteUnsupported,
        format!("{what}; the row was not applied"),
    )
}

/// The call and item an operation is sent as, or why it cannot be.
fn item_of(op: &Op, out: &BatchApplied) -> Result<(Call, Params), Failure> {
    let manual_only = |method: &str| {
        if method == "manual" {
            Ok(())
        } else {
            Err(unsupported(format!(
                "enrolling or unenrolling through '{method}' over REST: Moodle's web services enrol only through the manual method"
            )))
        }
    };
    match op {
        Op::Enrol {
            course,
            method,
            user,
            role,
            suspended,
            start,
            end,
        } => {
            manual_only(method)?;
            // enrol_manual_enrol_users gives the role it is sent, and needs one.
            let role = role.ok_or_else(|| {
                unsupported("an enrolment without a role over REST: enrol_manual_enrol_users needs one".into())
            })?;
            let mut item = Params::new();
            // The whole state every time: what is left out Moodle sets to 0 (and active).
            item.push("roleid", role.to_string())
                .push("userid", id_of(*user, out).to_string())
                .push("courseid", id_of(*course, out).to_string())
                .push("timestart", start.to_string())
                .push("timeend", end.to_string())
                .push("suspend", if *suspended { "1" } else { "0" });
            Ok((Call::Enrol, item))
        }
        Op::UpdateEnrolment { .. } => Err(unsupported(
            "changing an enrolment without enrolling again over REST: Moodle has no web service for update_user_enrol (moosync enrols again, with the enrolment's whole state)".into(),
        )),
        Op::Unenrol {
            course,
            method,
            user,
        } => {
            manual_only(method)?;
            let mut item = Params::new();
            item.push("userid", id_of(*user, out).to_string())
                .push("courseid", id_of(*course, out).to_string());
            Ok((Call::Unenrol, item))
        }
        Op::AssignRole { role, course, user } => Ok((
            Call::Assign,
            assignment(*role, id_of(*user, out), id_of(*course, out)),
        )),
        Op::UnassignRole {
            role,
            course,
            user,
            component,
            ..
        } => {
            if !component.is_empty() {
                return Err(unsupported(format!(
                    "taking away a role {component} gave over REST: core_role_unassign_roles takes away plain assignments only"
                )));
            }
            Ok((
                Call::Unassign,
                assignment(*role, id_of(*user, out), id_of(*course, out)),
            ))
        }
        _ => unreachable!("only enrolment operations come here"),
    }
}

/// Sends a wave's enrolment and role operations, by function, in calls of `batch_size`.
pub fn send(ctx: &Ctx, wave: &[&Item], out: &mut BatchApplied) -> Result<(), Failure> {
    let mut sending: Vec<(usize, Call, Params)> = Vec::new();
    for item in wave {
        match item_of(item.op, out) {
            Ok((call, p)) => sending.push((item.row, call, p)),
            Err(f) => out.rows[item.row] = Applied::Failed(f),
        }
    }
    let answers = calls::send_each(ctx, sending.iter().map(|(_, call, p)| (*call, p)))?;
    for ((row, _, _), answer) in sending.iter().zip(answers) {
        if let Err(m) = answer {
            if out.rows[*row] == Applied::Done {
                out.rows[*row] = Applied::Failed(Failure::new(
                    Code::RemoteRejected,
                    format!("Moodle refused the row: {m}"),
                ));
            }
        }
    }
    Ok(())
}
