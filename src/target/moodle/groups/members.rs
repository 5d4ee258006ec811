//! Memberships: group-members rows (`add`, `del`, `shift`) and a user's groups named by an
//! enrolment or users row (`gadd`, `gdel`, `greplace`, and the `…create` forms, whose
//! missing groups are made once, before any membership).

use super::{membership, send, Call, Groups, Named, Plan, Scope};
use crate::codes::{Code, Failure};
use crate::command::{Command, GroupMember, UserGroups};
use crate::outcome::{Action, Change, Outcome};
use crate::target::moodle::calls;
use crate::target::moodle::directory::Directory;
use crate::target::moodle::enrolments::{user_field, Courses};
use crate::target::moodle::form::Params;
use serde_json::Value;
use std::collections::HashMap;

/// What became of the groups gaddcreate rows name that the course lacks: made once each,
/// before the rows' memberships (the change to tell), or Moodle's refusal.
pub(super) type Made = HashMap<(i64, String), Result<Change, String>>;

/// Makes the missing groups named by rows that create them (`gaddcreate`,
/// `greplacecreate`), one item per (course, name), and adds them to the cache. Only for
/// rows whose user is found and enrolled: a row that fails makes nothing.
pub(super) fn create_named_groups(
    ctx: &super::Ctx,
    dir: &Directory,
    courses: &Courses,
    groups: &mut Groups,
    rows: &[&Command],
) -> Result<Made, Failure> {
    let mut wanted: Vec<(i64, String, String)> = Vec::new();
    for c in rows {
        let Command::UserGroups(g) = c else { continue };
        if !g.create || g.cmd == "del" {
            continue;
        }
        let (by, key) = super::course_key(ctx, c);
        let Some(course) = courses.id(by, &key) else {
            continue;
        };
        let Some(known) = groups.courses.get(&course) else {
            continue;
        };
        let uf = user_field(g.user_by.unwrap_or(ctx.cfg.enrolments.user_identifier));
        let user = match dir.find(uf, &g.user).unwrap_or_default().as_slice() {
            [a] if !a.deleted => a.id,
            _ => continue,
        };
        if !courses.is_enrolled(course, user) {
            continue;
        }
        for name in &g.groups {
            let missing = !known.groups.iter().any(|x| x.name == *name);
            if missing && !wanted.iter().any(|(c, n, _)| *c == course && n == name) {
                wanted.push((course, name.clone(), key.clone()));
            }
        }
    }
    let mut made = Made::new();
    if wanted.is_empty() {
        return Ok(made);
    }
    let change = |course: &str, name: &str, id: i64| {
        Change::new(Action::Created, "group", id, format!("{name} in {course}"))
    };
    // The memberships follow at once: a service without them stops the file before a group
    // is made.
    calls::require(ctx.functions, "core_group_add_group_members")?;
    if ctx.dry_run {
        for (course, name, key) in wanted {
            let c = change(&key, &name, 0);
            made.insert((course, name), Ok(c));
        }
        return Ok(made);
    }
    let items: Vec<Params> = wanted
        .iter()
        .map(|(course, name, _)| {
            let mut item = Params::new();
            item.push("courseid", course.to_string())
                .push("name", name.as_str())
                .push("description", "");
            item
        })
        .collect();
    let sending: Vec<(usize, Call, &Params)> = items
        .iter()
        .enumerate()
        .map(|(n, item)| (n, Call::CreateGroups, item))
        .collect();
    for d in send(ctx, &sending)? {
        let (course, name, key) = &wanted[d.row];
        let answer = match d.answer {
            Ok(v) => match v.as_ref().and_then(|g| g.get("id")).and_then(Value::as_i64) {
                Some(id) => {
                    if let Some(c) = groups.courses.get_mut(course) {
                        c.groups.push(Named {
                            id,
                            name: name.clone(),
                            idnumber: String::new(),
                            description: String::new(),
                        });
                    }
                    Ok(change(key, name, id))
                }
                None => Err("Moodle did not answer the new group's id".to_string()),
            },
            Err(m) => Err(m),
        };
        made.insert((*course, name.clone()), answer);
    }
    Ok(made)
}

/// A user's groups named by an enrolment row (`gcmd` with `g1`…`g9`) or a users row
/// (`group<N>`): added to or taken out of groups the course has. `replace` first leaves
/// the other groups moosync put the user in.
pub(super) fn user_groups(
    ctx: &super::Ctx,
    dir: &Directory,
    courses: &Courses,
    scope: &Scope,
    g: &UserGroups,
    made: &Made,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
    let (course, shortname) = (scope.course, scope.shortname);
    let uf = user_field(g.user_by.unwrap_or(ctx.cfg.enrolments.user_identifier));
    let user = match dir.find(uf, &g.user).unwrap_or_default().as_slice() {
        [a] if !a.deleted => a.id,
        _ => {
            return fail(
                Code::NotFound,
                format!("no account has {} '{}'", uf.name(), g.user),
            )
        }
    };
    let adding = g.cmd != "del";
    if adding && !courses.is_enrolled(course, user) {
        return fail(
            Code::NotFound,
            format!("{} is not enrolled in {shortname}: Moodle takes only enrolled users into groups; enrol them first", g.user),
        );
    }
    let mut items = Vec::new();
    let mut changes = Vec::new();
    let mut named = Vec::new();
    for name in &g.groups {
        let label = format!("{} in group {name} of {shortname}", g.user);
        let Some(group) = scope.known.groups.iter().find(|x| x.name == *name) else {
            match made
                .get(&(course, name.clone()))
                .filter(|_| g.create && adding)
            {
                Some(Err(m)) => {
                    return fail(
                        Code::RemoteRejected,
                        format!("Moodle refused to create group '{name}' of {shortname}: {m}"),
                    )
                }
                // A dry run's group to be made: its membership is told, not planned.
                Some(Ok(_)) => {
                    changes.push(Change::new(Action::Created, "group_member", user, label));
                    continue;
                }
                None => {
                    return fail(
                        Code::NotFound,
                        format!("course {shortname} has no group named '{name}'; check the name, or create it first (gaddcreate / greplacecreate do)"),
                    )
                }
            }
        };
        named.push(group.id);
        if scope.is_member(group.id, user) == adding {
            continue;
        }
        items.push(membership(group.id, user));
        let action = if adding {
            Action::Created
        } else {
            Action::Deleted
        };
        changes.push(Change::new(action, "group_member", user, label));
    }
    let (leave, left) = if g.cmd == "replace" {
        scope.leaving(user, &g.user, &named)
    } else {
        (Vec::new(), Vec::new())
    };
    changes.extend(left);
    if changes.is_empty() && !adding {
        return Err(Outcome::Skipped(format!(
            "{} is in none of those groups of {shortname}",
            g.user
        )));
    }
    if changes.is_empty() {
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "group_member",
            user,
            format!("{} in the groups of {shortname}", g.user),
        )]));
    }
    let call = if adding {
        Call::AddMembers
    } else {
        Call::DeleteMembers
    };
    Ok(Plan {
        course,
        items: items.into_iter().map(|i| (call, i)).collect(),
        leave,
        changes,
        ..Plan::default()
    })
}

/// A group-members row: `add`, `del`, or `shift` (leave the course's other groups moosync
/// put the user in, then join this one).
pub(super) fn member(
    ctx: &super::Ctx,
    dir: &Directory,
    courses: &Courses,
    scope: &Scope,
    m: &GroupMember,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
    let (course, shortname) = (scope.course, scope.shortname);
    let by = ctx.cfg.groups.group_identifier;
    let Some(group) = scope.known.groups.iter().find(|g| g.matches(by, &m.group)) else {
        return fail(
            Code::NotFound,
            format!(
                "course {shortname} has no group with {} '{}'",
                by.column(),
                m.group
            ),
        );
    };
    let uf = user_field(ctx.cfg.groups.user_identifier);
    let user = match dir.find(uf, &m.user).unwrap_or_default().as_slice() {
        [a] if !a.deleted => a.id,
        _ => {
            return fail(
                Code::NotFound,
                format!("no account has {} '{}'", uf.name(), m.user),
            )
        }
    };
    let label = format!("{} in group {} of {shortname}", m.user, m.group);
    let is_member = scope.is_member(group.id, user);
    let item = membership(group.id, user);
    let cmd = m.cmd.as_deref().unwrap_or("add");
    if cmd == "del" {
        if !is_member {
            return Err(Outcome::Skipped(format!("{label}: not a member")));
        }
        return Ok(Plan {
            course,
            items: vec![(Call::DeleteMembers, item)],
            changes: vec![Change::new(Action::Deleted, "group_member", user, label)],
            ..Plan::default()
        });
    }
    // Moodle refuses a member who is not enrolled, without saying why when its debugging
    // is off: said here instead.
    if !courses.is_enrolled(course, user) {
        return fail(
            Code::NotFound,
            format!("{} is not enrolled in {shortname}: Moodle takes only enrolled users into groups; enrol them first", m.user),
        );
    }
    let (leave, mut changes) = if cmd == "shift" {
        scope.leaving(user, &m.user, &[group.id])
    } else {
        (Vec::new(), Vec::new())
    };
    if is_member && leave.is_empty() {
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "group_member",
            user,
            label,
        )]));
    }
    let items = if is_member {
        Vec::new()
    } else {
        changes.push(Change::new(Action::Created, "group_member", user, label));
        vec![(Call::AddMembers, item)]
    };
    Ok(Plan {
        course,
        items,
        leave,
        changes,
        ..Plan::default()
    })
}
