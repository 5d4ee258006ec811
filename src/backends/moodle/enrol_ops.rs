//! Planned enrolment and role operations sent to Moodle: `enrol_manual_enrol_users` (a new
//! enrolment, or one sent again with its whole state: Moodle's enrol_user), its
//! `_unenrol_users`, and `core_role_assign_roles` / `_unassign_roles` in a course's context,
//! in batched calls split where Moodle refuses one item. The plan only asks for what these
//! can do (manual enrolments, plain role assignments); anything else fails its row here
//! rather than being sent.

use super::calls::{self, CallKind, Ctx, Item};
use super::form::Params;
use crate::codes::{Code, Failure};
use crate::plan::{Applied, BatchApplied, Op};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Enrol,
    Unenrol,
    Assign,
    Unassign,
    /// The plugin's: any method, and a change of an enrolment's status and dates.
    Plugin,
}

/// The plugin's function that enrols through any method, changes and unenrols.
pub const SET_ENROLMENTS: &str = "local_moosync_set_enrolments";

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Enrol => "enrol_manual_enrol_users",
            Call::Unenrol => "enrol_manual_unenrol_users",
            Call::Assign => "core_role_assign_roles",
            Call::Unassign => "core_role_unassign_roles",
            Call::Plugin => SET_ENROLMENTS,
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Enrol | Call::Unenrol | Call::Plugin => "enrolments",
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

/// The plugin's item for an enrolment through `method`.
fn plugin_item(course: i64, method: &str, user: i64) -> Params {
    let mut item = Params::new();
    item.push("courseid", course.to_string())
        .push("enrol", method.to_string())
        .push("userid", user.to_string());
    item
}

/// Through the plugin, when the site has it: what core cannot do (another method than
/// manual, a change of an enrolment without enrolling again).
fn plugin_call(op: &Op, out: &BatchApplied) -> Option<(Call, Params)> {
    let flag = |b: bool| if b { "1" } else { "0" };
    match op {
        Op::Enrol {
            course,
            method,
            user,
            role,
            suspended,
            start,
            end,
        } if method != "manual" => {
            let mut item = plugin_item(out.sent_id(*course), method, out.sent_id(*user));
            item.push("roleid", role.unwrap_or(0).to_string())
                .push("timestart", start.to_string())
                .push("timeend", end.to_string())
                .push("suspended", flag(*suspended));
            Some((Call::Plugin, item))
        }
        Op::UpdateEnrolment {
            course,
            method,
            user,
            suspended,
            start,
            end,
        } => {
            let mut item = plugin_item(out.sent_id(*course), method, out.sent_id(*user));
            // update_user_enrol keeps what it is not given: null there, the plan's None here.
            if let Some(s) = start {
                item.push("timestart", s.to_string());
            }
            if let Some(e) = end {
                item.push("timeend", e.to_string());
            }
            if let Some(s) = suspended {
                item.push("suspended", flag(*s));
            }
            Some((Call::Plugin, item))
        }
        Op::Unenrol {
            course,
            method,
            user,
        } if method != "manual" => {
            let mut item = plugin_item(out.sent_id(*course), method, out.sent_id(*user));
            item.push("unenrol", "1");
            Some((Call::Plugin, item))
        }
        _ => None,
    }
}

/// The call and item an operation is sent as, or why it cannot be.
fn item_of(op: &Op, out: &BatchApplied, plugin: bool) -> Result<(Call, Params), Failure> {
    if plugin {
        if let Some(call) = plugin_call(op, out) {
            return Ok(call);
        }
    }
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
                .push("userid", out.sent_id(*user).to_string())
                .push("courseid", out.sent_id(*course).to_string())
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
            item.push("userid", out.sent_id(*user).to_string())
                .push("courseid", out.sent_id(*course).to_string());
            Ok((Call::Unenrol, item))
        }
        Op::AssignRole { role, course, user } => Ok((
            Call::Assign,
            assignment(*role, out.sent_id(*user), out.sent_id(*course)),
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
                assignment(*role, out.sent_id(*user), out.sent_id(*course)),
            ))
        }
        _ => unreachable!("only enrolment operations come here"),
    }
}

/// Sends a wave's enrolment and role operations, by function, in calls of `batch_size`.
pub fn send(ctx: &Ctx, wave: &[&Item], out: &mut BatchApplied) -> Result<(), Failure> {
    let plugin = ctx.functions.contains(SET_ENROLMENTS);
    let mut sending: Vec<(usize, Call, Params)> = Vec::new();
    for item in wave {
        match item_of(item.op, out, plugin) {
            Ok((call, p)) => sending.push((item.row, call, p)),
            Err(f) => out.rows[item.row] = Applied::Failed(f),
        }
    }
    let answers = calls::send_each(ctx, sending.iter().map(|(_, call, p)| (*call, p)))?;
    for ((row, _, _), answer) in sending.iter().zip(answers) {
        if let Err(m) = answer {
            out.fail(
                *row,
                Failure::new(Code::RemoteRejected, format!("Moodle refused the row: {m}")),
            );
        }
    }
    Ok(())
}
