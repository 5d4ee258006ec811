//! Planned operations sent to Moodle. A row's operations go in order: every row's first, then
//! every row's second (so an account exists before it is enrolled). Within such a round, the
//! operations go in waves in which no account or name is touched twice, so a later row sees
//! what an earlier one did; a wave's operations go by kind in batched calls.

use super::calls::Ctx;
use super::catalogue::Catalogue;
use super::directory::Directory;
use super::{course_send, enrolments_send, instances_send, pictures, users};
use crate::codes::{Code, Failure};
use crate::plan::view::Setting;
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
        Op::CreateCategory {
            new, parent, name, ..
        } => {
            k.push(r(*new));
            k.push(format!("cat:{}:{name}", r(*parent)));
        }
        Op::CreateCourse(c) => {
            k.push(r(c.new));
            k.push(format!("c:{}", c.shortname));
            if !c.idnumber.is_empty() {
                k.push(format!("ci:{}", c.idnumber));
            }
        }
        Op::UpdateCourse(u) => {
            k.push(r(u.course.expect("an update names its course")));
            for (name, v) in &u.set {
                if let (&"shortname" | &"idnumber", Setting::Text(t)) = (name, v) {
                    k.push(format!(
                        "{}:{t}",
                        if *name == "shortname" { "c" } else { "ci" }
                    ));
                }
            }
        }
        Op::DeleteCourse { course } | Op::ResetCourse { course, .. } => k.push(r(*course)),
        Op::AddInstance(i) => {
            k.push(r(i.new));
            k.push(format!(
                "in:{}:{}:{:?}",
                r(i.course),
                i.method,
                i.link.map(r)
            ));
        }
        Op::UpdateInstance(i) => {
            if let Some(id) = i.instance {
                k.push(r(id));
            }
            if let Some(c) = i.course {
                k.push(format!("in:{}:{}:{:?}", r(c), i.method, i.link.map(r)));
            }
        }
        Op::Enrol { course, user, .. } | Op::AssignRole { course, user, .. } => {
            k.push(format!("en:{}:{}", r(*course), r(*user)));
        }
        Op::SetPicture { user, .. } => k.push(format!("pic:{}", r(*user))),
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
    let all = |refs: &[Option<Ref>]| -> Vec<u32> {
        refs.iter().flatten().filter_map(|r| new(*r)).collect()
    };
    match op {
        Op::CreateUser(_) => Vec::new(),
        Op::UpdateUser(u) => new(u.user()).into_iter().collect(),
        Op::DeleteUser { user, .. } => new(*user).into_iter().collect(),
        Op::CreateCategory { parent, .. } => all(&[Some(*parent)]),
        Op::CreateCourse(c) => all(&[Some(c.category), c.template]),
        Op::UpdateCourse(u) => all(&[u.course, u.category]),
        Op::DeleteCourse { course } | Op::ResetCourse { course, .. } => all(&[Some(*course)]),
        Op::AddInstance(i) => all(&[Some(i.course), i.link]),
        // An instance is named by its course and what it links: its own id is not sent.
        Op::UpdateInstance(i) => all(&[i.course, i.link]),
        Op::Enrol { course, user, .. } | Op::AssignRole { course, user, .. } => {
            all(&[Some(*course), Some(*user)])
        }
        Op::SetPicture { user, .. } => all(&[Some(*user)]),
        other => unreachable!("{other:?} is not planned yet"),
    }
}

/// The entity an operation creates.
fn creates(op: &Op) -> Option<u32> {
    let made = match op {
        Op::CreateUser(u) => u.new,
        Op::CreateCategory { new, .. } => *new,
        Op::CreateCourse(c) => c.new,
        Op::AddInstance(i) => i.new,
        _ => return None,
    };
    match made {
        Ref::New(n) => Some(n),
        Ref::Id(_) => None,
    }
}

/// Sends the planned operations of a batch; returns each row's result and what was created.
pub fn apply(
    ctx: &Ctx,
    dir: &mut Directory,
    cat: &mut Catalogue,
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
        for wave in waves(items) {
            // What an operation needs was not created: an earlier row's (or operation's)
            // failure. Checked as each wave goes: an earlier wave may have created it.
            let wave: Vec<Item> = wave
                .into_iter()
                .filter(|i| {
                    let missing = needs(i.op).iter().any(|n| !out.created.contains_key(n));
                    if missing {
                        out.rows[i.row] = Applied::Failed(Failure::new(
                            Code::NotFound,
                            "it depends on something an earlier row of this file failed to create",
                        ));
                    }
                    !missing && out.rows[i.row] == Applied::Done
                })
                .collect();
            send_wave(ctx, dir, cat, &wave, &mut out)?;
        }
    }
    Ok(out)
}

/// Splits a round into waves in file order: a wave ends before the first operation sharing
/// a key with one already in it, or needing what one in it creates.
fn waves(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut out: Vec<Vec<Item>> = vec![Vec::new()];
    let mut seen: HashSet<String> = HashSet::new();
    let mut made: HashSet<u32> = HashSet::new();
    for item in items {
        let k = keys(item.op);
        if k.iter().any(|k| seen.contains(k)) || needs(item.op).iter().any(|n| made.contains(n)) {
            out.push(Vec::new());
            seen.clear();
            made.clear();
        }
        seen.extend(k);
        made.extend(creates(item.op));
        out.last_mut().expect("one wave at least").push(item);
    }
    out.retain(|w| !w.is_empty());
    out
}

/// Sends one wave's operations, kind by kind.
fn send_wave(
    ctx: &Ctx,
    dir: &mut Directory,
    cat: &mut Catalogue,
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
    let courses: Vec<&Item> = wave
        .iter()
        .filter(|i| {
            matches!(
                i.op,
                Op::CreateCategory { .. }
                    | Op::CreateCourse(_)
                    | Op::UpdateCourse(_)
                    | Op::DeleteCourse { .. }
                    | Op::ResetCourse { .. }
            )
        })
        .collect();
    if !courses.is_empty() {
        course_send::send(ctx, cat, &courses, out)?;
    }
    let instances: Vec<&Item> = wave
        .iter()
        .filter(|i| match i.op {
            Op::AddInstance(a) => instances_send::takes(&a.method),
            Op::UpdateInstance(u) => instances_send::takes(&u.method),
            _ => false,
        })
        .collect();
    if !instances.is_empty() {
        instances_send::send(ctx, cat, &instances, out)?;
    }
    let enrolments: Vec<&Item> = wave
        .iter()
        .filter(|i| matches!(i.op, Op::Enrol { .. } | Op::AssignRole { .. }))
        .collect();
    if !enrolments.is_empty() {
        enrolments_send::send(ctx, &enrolments, out)?;
    }
    let pictures: Vec<&Item> = wave
        .iter()
        .filter(|i| matches!(i.op, Op::SetPicture { .. }))
        .collect();
    if !pictures.is_empty() {
        pictures::send(ctx, dir, &pictures, out)?;
    }
    Ok(())
}
