//! Planned operations sent to Moodle. A row's operations go in order: every row's first, then
//! every row's second (so an account exists before it is enrolled). Within such a round, the
//! operations go in waves in which no account or name is touched twice, so a later row sees
//! what an earlier one did; a wave's operations go by kind in batched calls.

use super::calls::Ctx;
use super::directory::Directory;
use super::{enrol_ops, users};
use crate::codes::{Code, Failure};
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use std::collections::{HashMap, HashSet};

/// One operation to send, with its row.
pub struct Item<'a> {
    pub row: usize,
    pub op: &'a Op,
}

/// What an operation touches: two operations sharing a key go in separate waves.
fn keys(op: &Op) -> Vec<String> {
    let r = |r: Ref| match r {
        Ref::Id(id) => format!("#{id}"),
        Ref::New(n) => format!("new{n}"),
    };
    let mut k = Vec::new();
    match op {
        Op::CreateUser(u) => {
            k.push(r(u.new));
            k.push(format!("u:{}", u.username));
            for (p, v) in [("e", u.field("email")), ("i", u.field("idnumber"))] {
                if !v.is_empty() {
                    k.push(format!("{p}:{}", v.to_lowercase()));
                }
            }
        }
        Op::UpdateUser(u) => {
            k.push(r(u.user()));
            k.push(format!("u:{}", u.username));
            if let Some(n) = &u.new_username {
                k.push(format!("u:{n}"));
            }
            for (p, f) in [("e", "email"), ("i", "idnumber")] {
                if let Some(v) = u.field(f).filter(|v| !v.is_empty()) {
                    k.push(format!("{p}:{}", v.to_lowercase()));
                }
            }
        }
        Op::DeleteUser {
            user,
            username,
            email,
        } => {
            k.push(r(*user));
            k.push(format!("u:{username}"));
            if !email.is_empty() {
                k.push(format!("e:{}", email.to_lowercase()));
            }
        }
        Op::Enrol { course, user, .. }
        | Op::UpdateEnrolment { course, user, .. }
        | Op::Unenrol { course, user, .. }
        | Op::AssignRole { course, user, .. }
        | Op::UnassignRole { course, user, .. } => {
            // One user's enrolment and roles in a course change in file order.
            k.push(format!("en:{}:{}", r(*course), r(*user)));
            k.extend([*course, *user].into_iter().filter_map(|x| match x {
                Ref::New(_) => Some(r(x)),
                Ref::Id(_) => None,
            }));
        }
        other => unreachable!("{other:?} is not planned yet"),
    }
    k
}

/// The entities an operation needs created first.
fn needs(op: &Op) -> Vec<u32> {
    let new = |r: Ref| match r {
        Ref::New(n) => Some(n),
        Ref::Id(_) => None,
    };
    match op {
        Op::CreateUser(_) => Vec::new(),
        Op::UpdateUser(u) => new(u.user()).into_iter().collect(),
        Op::DeleteUser { user, .. } => new(*user).into_iter().collect(),
        Op::Enrol { course, user, .. }
        | Op::UpdateEnrolment { course, user, .. }
        | Op::Unenrol { course, user, .. }
        | Op::AssignRole { course, user, .. }
        | Op::UnassignRole { course, user, .. } => {
            [*course, *user].into_iter().filter_map(new).collect()
        }
        other => unreachable!("{other:?} is not planned yet"),
    }
}

/// Sends the planned operations of a batch; returns each row's result and what was created.
pub fn apply(
    ctx: &Ctx,
    dir: &mut Directory,
    decisions: &[Decision],
) -> Result<BatchApplied, Failure> {
    let ops: Vec<&[Op]> = decisions
        .iter()
        .map(|d| match d {
            Decision::Apply { ops, .. } => ops.as_slice(),
            Decision::Fail(_) => &[],
        })
        .collect();
    let mut out = BatchApplied {
        rows: vec![Applied::Done; decisions.len()],
        created: HashMap::new(),
    };
    let depth = ops.iter().map(|o| o.len()).max().unwrap_or(0);
    for round in 0..depth {
        let mut items: Vec<Item> = Vec::new();
        for (row, these) in ops.iter().enumerate() {
            let Some(op) = these.get(round) else { continue };
            if out.rows[row] != Applied::Done {
                continue;
            }
            items.push(Item { row, op });
        }
        // An operation may need what an earlier wave of the same round creates (a group an
        // earlier row makes): what it needs is checked once those waves are sent.
        for wave in waves(items) {
            let wave: Vec<Item> = wave
                .into_iter()
                .filter(|i| {
                    let ok = needs(i.op).iter().all(|n| out.created.contains_key(n));
                    if !ok && out.rows[i.row] == Applied::Done {
                        out.rows[i.row] = Applied::Failed(Failure::new(
                            Code::NotFound,
                            "it depends on something an earlier row of this file failed to create",
                        ));
                    }
                    ok && out.rows[i.row] == Applied::Done
                })
                .collect();
            send_wave(ctx, dir, &wave, &mut out)?;
        }
    }
    Ok(out)
}

/// Splits a round into waves in file order: a wave ends before the first operation sharing
/// a key with one already in it.
fn waves(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut out: Vec<Vec<Item>> = vec![Vec::new()];
    let mut seen: HashSet<String> = HashSet::new();
    for item in items {
        let k = keys(item.op);
        if k.iter().any(|k| seen.contains(k)) {
            out.push(Vec::new());
            seen.clear();
        }
        seen.extend(k);
        out.last_mut().expect("one wave at least").push(item);
    }
    out.retain(|w| !w.is_empty());
    out
}

/// Sends one wave's operations, kind by kind.
fn send_wave(
    ctx: &Ctx,
    dir: &mut Directory,
    wave: &[Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let users: Vec<&Item> = wave
        .iter()
        .filter(|i| {
            matches!(
                i.op,
                Op::CreateUser(_) | Op::UpdateUser(_) | Op::DeleteUser { .. }
            )
        })
        .collect();
    if !users.is_empty() {
        users::send(ctx, dir, &users, out)?;
    }
    let enrols: Vec<&Item> = wave
        .iter()
        .filter(|i| enrol_ops::is_enrol_op(i.op))
        .collect();
    if !enrols.is_empty() {
        enrol_ops::send(ctx, &enrols, out)?;
    }
    Ok(())
}
