//! Enrolments and role assignments a planned course row makes (its teachers), sent to
//! Moodle: enrol_manual_enrol_users through the course's manual method with the role, and
//! core_role_assign_roles for a role alone. The least the course tool needs; the enrolments
//! tool's own sender takes these operations over.

use super::apply::Item;
use super::calls::{self, CallKind, Ctx};
use super::form::Params;
use crate::codes::{Code, Failure};
use crate::plan::{Applied, BatchApplied, Op, Ref};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Enrol,
    Assign,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Enrol => "enrol_manual_enrol_users",
            Call::Assign => "core_role_assign_roles",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Enrol => "enrolments",
            Call::Assign => "assignments",
        }
    }
}

fn id_of(r: Ref, out: &BatchApplied) -> i64 {
    match r {
        Ref::Id(id) => id,
        Ref::New(n) => out.created.get(&n).copied().unwrap_or(0),
    }
}

pub fn send(ctx: &Ctx, wave: &[&Item], out: &mut BatchApplied) -> Result<(), Failure> {
    let mut items: Vec<(usize, Call, Params)> = Vec::new();
    for i in wave {
        match i.op {
            Op::Enrol {
                course,
                method,
                user,
                role,
                suspended,
                start,
                end,
            } => {
                let Some(role) = role.filter(|_| method == "manual") else {
                    out.rows[i.row] = Applied::Failed(Failure::new(
                        Code::RemoteUnsupported,
                        format!("enrolling through '{method}' without a role over REST: Moodle's web services enrol with a role, through the manual method"),
                    ));
                    continue;
                };
                let mut p = Params::new();
                p.push("roleid", role.to_string())
                    .push("userid", id_of(*user, out).to_string())
                    .push("courseid", id_of(*course, out).to_string())
                    .push("timestart", start.to_string())
                    .push("timeend", end.to_string())
                    .push("suspend", if *suspended { "1" } else { "0" });
                items.push((i.row, Call::Enrol, p));
            }
            Op::AssignRole { role, course, user } => {
                let mut p = Params::new();
                p.push("roleid", role.to_string())
                    .push("userid", id_of(*user, out).to_string())
                    .push("contextlevel", "course")
                    .push("instanceid", id_of(*course, out).to_string());
                items.push((i.row, Call::Assign, p));
            }
            _ => {}
        }
    }
    let t = &ctx.cfg.target;
    let rows: Vec<(usize, Call, &Params)> = items
        .iter()
        .enumerate()
        .map(|(n, (_, k, p))| (n, *k, p))
        .collect();
    for (_, these, pieces) in
        calls::send(ctx.client, ctx.functions, t.batch_size, t.parallel, rows)?
    {
        for piece in pieces {
            let Err(m) = &piece.answer else { continue };
            for &n in &these[piece.items.clone()] {
                let row = items[n].0;
                if out.rows[row] == Applied::Done {
                    out.rows[row] = Applied::Failed(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the row: {}", m.describe()),
                    ));
                }
            }
        }
    }
    Ok(())
}
