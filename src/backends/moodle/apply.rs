//! Planned operations sent to Moodle, in waves: a row's operations in order (an account
//! exists before it is enrolled), and two operations touching one thing (an account, a name,
//! a user's enrolment in a course, a membership) in file order, so a later row sees what an
//! earlier one did. A wave's operations go by kind in batched calls.

use super::calls::{Ctx, Item};
use super::catalogue::Catalogue;
use super::cohorts::Cohorts;
use super::course_parts::CourseParts;
use super::directory::Directory;
use super::{cohort_send, course_send, enrol_ops, group_ops, instances_send, pictures, users};
use crate::codes::{Code, Failure};
use crate::plan::view::{CohortHome, Setting};
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use std::collections::HashMap;

/// What an operation touches: two operations sharing a key go in separate waves.
fn keys(op: &Op, course_of: &dyn Fn(Ref) -> Option<Ref>) -> Vec<String> {
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
        Op::CreateGroup(g) => {
            k.push(r(g.new));
            k.push(format!("g:{}:{:?}:{}", r(g.course), g.kind, g.name));
        }
        Op::UpdateGroup(g) => k.push(r(g.group)),
        Op::DeleteGroup { group, .. } => k.push(r(*group)),
        Op::AssignGrouping { grouping, group } => {
            k.push(format!("gg:{}:{}", r(*grouping), r(*group)));
            k.extend([*grouping, *group].into_iter().filter_map(|x| match x {
                Ref::New(_) => Some(r(x)),
                Ref::Id(_) => None,
            }));
        }
        Op::AddGroupMember { group, user } | Op::RemoveGroupMember { group, user, .. } => {
            k.push(format!("gm:{}:{}", r(*group), r(*user)));
            // After the user's enrolment in the course, and before an unenrolment.
            if let Some(course) = course_of(*group) {
                k.push(format!("en:{}:{}", r(course), r(*user)));
            }
            k.extend([*group, *user].into_iter().filter_map(|x| match x {
                Ref::New(_) => Some(r(x)),
                Ref::Id(_) => None,
            }));
        }
        Op::SetPicture { user, .. } => k.push(format!("pic:{}", r(*user))),
        Op::DeleteInstance { instance, .. } => k.push(r(*instance)),
        Op::CreateCohort(c) => {
            k.push(r(c.new));
            if !c.idnumber.is_empty() {
                k.push(format!("co:{}", c.idnumber));
            }
        }
        Op::UpdateCohort(c) => {
            k.push(r(c.cohort.expect("an update names its cohort")));
            if let Some(idn) = &c.idnumber {
                k.push(format!("co:{idn}"));
            }
        }
        Op::DeleteCohort { cohort } => k.push(r(*cohort)),
        Op::AddCohortMember { cohort, user } | Op::RemoveCohortMember { cohort, user } => {
            k.push(format!("cm:{}:{}", r(*cohort), r(*user)));
            k.extend([*cohort, *user].into_iter().filter_map(|x| match x {
                Ref::New(_) => Some(r(x)),
                Ref::Id(_) => None,
            }));
        }
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
        Op::Enrol { course, user, .. }
        | Op::UpdateEnrolment { course, user, .. }
        | Op::Unenrol { course, user, .. }
        | Op::AssignRole { course, user, .. }
        | Op::UnassignRole { course, user, .. } => {
            [*course, *user].into_iter().filter_map(new).collect()
        }
        Op::CreateGroup(g) => new(g.course).into_iter().collect(),
        Op::UpdateGroup(g) => new(g.group).into_iter().collect(),
        Op::DeleteGroup { group, .. } => new(*group).into_iter().collect(),
        Op::AssignGrouping { grouping, group } => {
            [*grouping, *group].into_iter().filter_map(new).collect()
        }
        Op::AddGroupMember { group, user } | Op::RemoveGroupMember { group, user, .. } => {
            [*group, *user].into_iter().filter_map(new).collect()
        }
        Op::SetPicture { user, .. } => all(&[Some(*user)]),
        Op::DeleteInstance { instance, .. } => all(&[Some(*instance)]),
        Op::CreateCohort(c) => match c.home {
            CohortHome::Category(cat) => all(&[Some(cat)]),
            CohortHome::System => Vec::new(),
        },
        Op::UpdateCohort(c) => all(&[c.cohort]),
        Op::DeleteCohort { cohort } => all(&[Some(*cohort)]),
        Op::AddCohortMember { cohort, user } | Op::RemoveCohortMember { cohort, user } => {
            [*cohort, *user].into_iter().filter_map(new).collect()
        }
    }
}

/// The entity an operation creates.
fn creates(op: &Op) -> Option<u32> {
    let made = match op {
        Op::CreateUser(u) => u.new,
        Op::CreateCategory { new, .. } => *new,
        Op::CreateCourse(c) => c.new,
        Op::AddInstance(i) => i.new,
        Op::CreateGroup(g) => g.new,
        Op::CreateCohort(c) => c.new,
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
    parts: &CourseParts,
    cat: &mut Catalogue,
    cohorts: &mut Cohorts,
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
    for wave in waves(&ops, parts) {
        // What an operation needs was created by an earlier wave, or failed.
        let wave: Vec<Item> = wave
            .into_iter()
            .filter(|i| {
                let ok = needs(i.op).iter().all(|n| out.created.contains_key(n));
                if !ok {
                    out.fail(
                        i.row,
                        Failure::new(
                            Code::NotFound,
                            "it depends on something an earlier row of this file failed to create",
                        ),
                    );
                }
                ok && out.rows[i.row] == Applied::Done
            })
            .collect();
        send_wave(ctx, dir, parts, cat, cohorts, &wave, &mut out)?;
    }
    Ok(out)
}

/// Orders a batch's operations into waves: an operation goes after the previous one of its
/// row, and after every earlier one (in file order) it shares a key with, so a row sees what
/// the rows before it did; a wave then holds no key twice.
fn waves<'a>(ops: &[&'a [Op]], parts: &CourseParts) -> Vec<Vec<Item<'a>>> {
    // The course of each group the batch creates, for the keys of its memberships.
    let mut made: HashMap<Ref, Ref> = HashMap::new();
    for op in ops.iter().flat_map(|o| o.iter()) {
        if let Op::CreateGroup(g) = op {
            made.insert(g.new, g.course);
        }
    }
    let course_of = |group: Ref| match group {
        Ref::Id(id) => parts.owner_of(id).map(Ref::Id),
        Ref::New(_) => made.get(&group).copied(),
    };
    let mut last: HashMap<String, usize> = HashMap::new();
    // The wave of each operation creating something, for those needing it.
    let mut made_in: HashMap<u32, usize> = HashMap::new();
    let mut out: Vec<Vec<Item>> = Vec::new();
    for (row, these) in ops.iter().enumerate() {
        let mut after: Option<usize> = None;
        for op in these.iter() {
            let k = keys(op, &course_of);
            let level = k
                .iter()
                .filter_map(|k| last.get(k))
                .chain(needs(op).iter().filter_map(|n| made_in.get(n)))
                .map(|l| l + 1)
                .chain(after.map(|a| a + 1))
                .max()
                .unwrap_or(0);
            for k in k {
                last.insert(k, level);
            }
            if let Some(n) = creates(op) {
                made_in.insert(n, level);
            }
            if out.len() <= level {
                out.resize_with(level + 1, Vec::new);
            }
            out[level].push(Item { row, op });
            after = Some(level);
        }
    }
    out
}

/// Sends one wave's operations, kind by kind.
fn send_wave(
    ctx: &Ctx,
    dir: &mut Directory,
    parts: &CourseParts,
    cat: &mut Catalogue,
    cohorts: &mut Cohorts,
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
    // Cohorts after the accounts they take in, before the enrolments that may follow them.
    let cohort_ops: Vec<&Item> = wave
        .iter()
        .filter(|i| cohort_send::is_cohort_op(i.op))
        .collect();
    if !cohort_ops.is_empty() {
        cohort_send::send(ctx, cohorts, cat, &cohort_ops, out)?;
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
    let enrols: Vec<&Item> = wave
        .iter()
        .filter(|i| enrol_ops::is_enrol_op(i.op))
        .collect();
    if !enrols.is_empty() {
        enrol_ops::send(ctx, &enrols, out)?;
    }
    let groups: Vec<&Item> = wave
        .iter()
        .filter(|i| group_ops::is_group_op(i.op))
        .collect();
    if !groups.is_empty() {
        group_ops::send(ctx, parts, &groups, out)?;
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
