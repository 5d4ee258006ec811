//! Groups over REST: groups and groupings created in their course (add-only, as a row
//! without `updateid` is in the embedded store), a group put in a grouping, and group
//! members added and removed. A course's groups, groupings and members are read once per
//! file, so a row that changes nothing sends nothing.

use super::calls;
use super::client::{CallError, Retry};
use super::directory::Directory;
use super::enrolments::{self, user_field, Courses};
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::{Command, GroupMember, GroupUpsert};
use crate::config::GroupIdentifier;
use crate::outcome::{Action, Change, Outcome};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
struct Named {
    id: i64,
    name: String,
    idnumber: String,
}

impl Named {
    fn matches(&self, by: GroupIdentifier, key: &str) -> bool {
        match by {
            GroupIdentifier::Name => self.name == key,
            GroupIdentifier::Idnumber => self.idnumber == key,
            GroupIdentifier::Id => self.id.to_string() == key,
        }
    }
}

/// One course's groups as read from Moodle.
#[derive(Default)]
struct Course {
    groups: Vec<Named>,
    groupings: Vec<Named>,
    members: HashMap<i64, HashSet<i64>>,
}

/// Per course, read once per file.
#[derive(Default)]
pub struct Groups {
    courses: HashMap<i64, Course>,
}

fn named(v: &Value) -> Vec<Named> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let s = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Some(Named {
                id: g.get("id")?.as_i64()?,
                name: s("name"),
                idnumber: s("idnumber"),
            })
        })
        .collect()
}

impl Groups {
    fn fetch(&mut self, ctx: &enrolments::Ctx, ids: Vec<i64>) -> Result<(), Failure> {
        let mut new: Vec<i64> = ids
            .into_iter()
            .filter(|id| !self.courses.contains_key(id))
            .collect();
        new.sort_unstable();
        new.dedup();
        let read = pool::map(&new, ctx.cfg.target.parallel, |id| {
            let mut p = Params::new();
            p.push("courseid", id.to_string());
            let groups = named(&ctx.client.call(
                "core_group_get_course_groups",
                &p,
                Retry::Safe,
            )?);
            let groupings = named(&ctx.client.call(
                "core_group_get_course_groupings",
                &p,
                Retry::Safe,
            )?);
            let mut members = HashMap::new();
            if !groups.is_empty() {
                let mut q = Params::new();
                q.list("groupids", groups.iter().map(|g| g.id.to_string()));
                let v = ctx
                    .client
                    .call("core_group_get_group_members", &q, Retry::Safe)?;
                for m in v.as_array().into_iter().flatten() {
                    if let Some(g) = m.get("groupid").and_then(Value::as_i64) {
                        let users = m
                            .get("userids")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_i64)
                            .collect();
                        members.insert(g, users);
                    }
                }
            }
            Ok::<_, CallError>(Course {
                groups,
                groupings,
                members,
            })
        });
        for (id, course) in new.into_iter().zip(read) {
            let course = course.map_err(|e| calls::stop_or(e, "a course's groups"))?;
            self.courses.insert(id, course);
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    CreateGroups,
    CreateGroupings,
    AddMembers,
    DeleteMembers,
}

impl calls::CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::CreateGroups => "core_group_create_groups",
            Call::CreateGroupings => "core_group_create_groupings",
            Call::AddMembers => "core_group_add_group_members",
            Call::DeleteMembers => "core_group_delete_group_members",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::CreateGroups => "groups",
            Call::CreateGroupings => "groupings",
            Call::AddMembers | Call::DeleteMembers => "members",
        }
    }

    /// Creates are not sent twice blindly; memberships set a state.
    fn retry(self) -> Retry {
        match self {
            Call::CreateGroups | Call::CreateGroupings => Retry::Never,
            _ => Retry::Safe,
        }
    }
}

struct Plan {
    call: Call,
    course: i64,
    item: Params,
    changes: Vec<Change>,
    /// More memberships of the same row (a user's groups named by `g1`…`g9`).
    more: Vec<Params>,
}

fn course_key(ctx: &enrolments::Ctx, cmd: &Command) -> (crate::config::CourseIdentifier, String) {
    let by = ctx.cfg.groups.course_identifier;
    match cmd {
        Command::GroupUpsert(g) | Command::GroupingUpsert(g) => (by, g.course.clone()),
        Command::GroupMember(m) => (by, m.course.clone()),
        Command::UserGroups(g) => (
            g.course_by.unwrap_or(ctx.cfg.enrolments.course_identifier),
            g.course.clone(),
        ),
        _ => unreachable!("only group commands come here"),
    }
}

/// Applies group rows (no group twice in one wave); one outcome per row.
pub fn apply(
    ctx: &enrolments::Ctx,
    dir: &mut Directory,
    courses: &mut Courses,
    groups: &mut Groups,
    rows: &[&Command],
) -> Result<Vec<Outcome>, Failure> {
    let t = &ctx.cfg.target;
    let uf = user_field(ctx.cfg.groups.user_identifier);
    dir.fetch(
        ctx.client,
        t.parallel,
        t.batch_size,
        rows.iter().filter_map(|c| match c {
            Command::GroupMember(m) => Some((uf, m.user.clone())),
            Command::UserGroups(g) => Some((
                user_field(g.user_by.unwrap_or(ctx.cfg.enrolments.user_identifier)),
                g.user.clone(),
            )),
            _ => None,
        }),
    )?;
    courses.fetch(ctx, rows.iter().map(|c| course_key(ctx, c)).collect())?;
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|c| {
            let (by, v) = course_key(ctx, c);
            courses.id(by, &v)
        })
        .collect();
    groups.fetch(ctx, ids)?;
    let plans: Vec<Result<Plan, Outcome>> = rows
        .iter()
        .map(|c| plan(ctx, dir, courses, groups, c))
        .collect();
    if ctx.dry_run {
        return Ok(plans
            .into_iter()
            .map(|p| match p {
                Ok(p) => Outcome::Applied(p.changes),
                Err(o) => o,
            })
            .collect());
    }
    let sent = calls::send(
        ctx.client,
        ctx.functions,
        t.batch_size,
        t.parallel,
        plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
            .flat_map(|(i, p)| {
                std::iter::once(&p.item)
                    .chain(&p.more)
                    .map(move |item| (i, p.call, item))
            })
            .collect(),
    )?;
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    for (_, these, pieces) in &sent {
        for piece in pieces {
            for (n, &i) in these[piece.items.clone()].iter().enumerate() {
                let Ok(plan) = &plans[i] else { continue };
                // A row of several memberships keeps its first failure.
                if matches!(outcomes[i], Some(Outcome::Failed(_))) {
                    continue;
                }
                outcomes[i] = Some(match &piece.answer {
                    Err(m) => Outcome::Failed(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the row: {}", m.describe()),
                    )),
                    Ok(v) => {
                        let mut changes = plan.changes.clone();
                        // A create answers the new ids in the order sent.
                        if let Some(id) = v.get(n).and_then(|g| g.get("id")).and_then(Value::as_i64)
                        {
                            changes[0].id = id;
                        }
                        Outcome::Applied(changes)
                    }
                });
            }
        }
    }
    // Memberships follow what was sent; a course where a group was made is read again.
    for (i, o) in outcomes.iter().enumerate() {
        let (Some(Outcome::Applied(_)), Ok(plan)) = (o, &plans[i]) else {
            continue;
        };
        let course = plan.course;
        match plan.call {
            Call::CreateGroups | Call::CreateGroupings => {
                groups.courses.remove(&course);
            }
            Call::AddMembers | Call::DeleteMembers => {
                for item in std::iter::once(&plan.item).chain(&plan.more) {
                    let field = |k: &str| {
                        item.0
                            .iter()
                            .find(|(n, _)| n == k)
                            .and_then(|(_, v)| v.parse::<i64>().ok())
                    };
                    let (Some(g), Some(u)) = (field("groupid"), field("userid")) else {
                        continue;
                    };
                    if let Some(c) = groups.courses.get_mut(&course) {
                        let set = c.members.entry(g).or_default();
                        if plan.call == Call::AddMembers {
                            set.insert(u);
                        } else {
                            set.remove(&u);
                        }
                    }
                }
            }
        }
    }
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .map(|(p, o)| match (p, o) {
            (_, Some(o)) => o,
            (Err(o), None) => o,
            (Ok(p), None) => Outcome::Applied(p.changes),
        })
        .collect())
}

fn plan(
    ctx: &enrolments::Ctx,
    dir: &Directory,
    courses: &Courses,
    groups: &Groups,
    cmd: &Command,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
    let (by, key) = course_key(ctx, cmd);
    let Some(course) = courses.id(by, &key) else {
        return fail(
            Code::NotFound,
            format!("no course has {} '{key}'", by.column()),
        );
    };
    let Some(known) = groups.courses.get(&course) else {
        return fail(
            Code::NotFound,
            format!("no course has {} '{key}'", by.column()),
        );
    };
    match cmd {
        Command::GroupUpsert(g) | Command::GroupingUpsert(g) => {
            let grouping = matches!(cmd, Command::GroupingUpsert(_));
            upsert(course, &key, known, g, grouping)
        }
        Command::GroupMember(m) => member(ctx, dir, courses, course, &key, known, m),
        Command::UserGroups(g) => user_groups(ctx, dir, courses, course, &key, known, g),
        _ => unreachable!("only group commands come here"),
    }
}

/// A user's groups named by an enrolment row (`gcmd` with `g1`…`g9`) or a users row
/// (`group<N>`): added to or taken out of groups the course has.
fn user_groups(
    ctx: &enrolments::Ctx,
    dir: &Directory,
    courses: &Courses,
    course: i64,
    shortname: &str,
    known: &Course,
    g: &crate::command::UserGroups,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
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
    if g.cmd == "replace" {
        return fail(
            Code::RemoteUnsupported,
            "greplace over REST: Moodle does not say which groups moosync put the user in, so it cannot tell which to leave; use gadd and gdel, or the embedded store".into(),
        );
    }
    let adding = g.cmd != "del";
    if adding && !courses.is_enrolled(course, user) {
        return fail(
            Code::NotFound,
            format!("{} is not enrolled in {shortname}: Moodle takes only enrolled users into groups; enrol them first", g.user),
        );
    }
    let mut items = Vec::new();
    let mut changes = Vec::new();
    for name in &g.groups {
        let Some(group) = known.groups.iter().find(|x| x.name == *name) else {
            if adding && g.create {
                return fail(
                    Code::RemoteUnsupported,
                    format!("group '{name}' of {shortname} does not exist: creating it from an enrolment or users row over REST is not sent yet; create it with a groups file first"),
                );
            }
            return fail(
                Code::NotFound,
                format!("course {shortname} has no group named '{name}'"),
            );
        };
        let member = known
            .members
            .get(&group.id)
            .is_some_and(|m| m.contains(&user));
        if member == adding {
            continue;
        }
        let mut item = Params::new();
        item.push("groupid", group.id.to_string())
            .push("userid", user.to_string());
        items.push(item);
        let action = if adding {
            Action::Created
        } else {
            Action::Deleted
        };
        changes.push(Change::new(
            action,
            "group_member",
            user,
            format!("{} in group {name} of {shortname}", g.user),
        ));
    }
    if items.is_empty() {
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "group_member",
            user,
            format!("{} in the groups of {shortname}", g.user),
        )]));
    }
    let item = items.remove(0);
    Ok(Plan {
        course,
        call: if adding {
            Call::AddMembers
        } else {
            Call::DeleteMembers
        },
        item,
        changes,
        more: items,
    })
}

fn upsert(
    course: i64,
    shortname: &str,
    known: &Course,
    g: &GroupUpsert,
    grouping: bool,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
    let entity = if grouping { "grouping" } else { "group" };
    let list = if grouping {
        &known.groupings
    } else {
        &known.groups
    };
    if g.update.is_some() || g.selfgrouping || g.grouping.is_some() {
        return fail(
            Code::RemoteUnsupported,
            format!("updateid, selfgrouping and grouping over REST: this version of moosync does not yet send them to Moodle; run the {entity} file against the embedded store"),
        );
    }
    let by_idnumber = g.idnumber.as_deref().filter(|i| !i.is_empty());
    let name = g.name.as_deref().filter(|n| !n.is_empty());
    let found = match (by_idnumber, name) {
        (Some(i), _) => list
            .iter()
            .find(|x| x.matches(GroupIdentifier::Idnumber, i)),
        (None, Some(n)) => list.iter().find(|x| x.matches(GroupIdentifier::Name, n)),
        (None, None) => None,
    };
    if let Some(f) = found {
        // Add-only: an existing group stays as it is, as in the embedded store.
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            entity,
            f.id,
            format!("{} in {shortname}", f.name),
        )]));
    }
    let Some(name) = name else {
        return fail(Code::MissingValue, format!("a new {entity} needs a name"));
    };
    if let Some(other) = list.iter().find(|x| x.name == name) {
        return fail(
            Code::GroupTaken,
            format!(
                "{entity} {} of course {shortname} already has name '{name}'; choose another name",
                other.id
            ),
        );
    }
    let mut item = Params::new();
    item.push("courseid", course.to_string())
        .push("name", name)
        // Moodle requires the key, empty or not.
        .push("description", g.description.clone().unwrap_or_default());
    if let Some(i) = by_idnumber {
        item.push("idnumber", i);
    }
    Ok(Plan {
        course,
        more: Vec::new(),
        call: if grouping {
            Call::CreateGroupings
        } else {
            Call::CreateGroups
        },
        item,
        changes: vec![Change::new(
            Action::Created,
            entity,
            0,
            format!("{name} in {shortname}"),
        )],
    })
}

fn member(
    ctx: &enrolments::Ctx,
    dir: &Directory,
    courses: &Courses,
    course: i64,
    shortname: &str,
    known: &Course,
    m: &GroupMember,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Err(Outcome::Failed(Failure::new(code, msg)));
    let by = ctx.cfg.groups.group_identifier;
    let Some(group) = known.groups.iter().find(|g| g.matches(by, &m.group)) else {
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
    let is_member = known
        .members
        .get(&group.id)
        .is_some_and(|s| s.contains(&user));
    let mut item = Params::new();
    item.push("groupid", group.id.to_string())
        .push("userid", user.to_string());
    match m.cmd.as_deref().unwrap_or("add") {
        "del" => {
            if !is_member {
                return Err(Outcome::Skipped(format!("{label}: not a member")));
            }
            Ok(Plan {
                course,
                more: Vec::new(),
                call: Call::DeleteMembers,
                item,
                changes: vec![Change::new(Action::Deleted, "group_member", user, label)],
            })
        }
        "add" => {
            if is_member {
                return Err(Outcome::Applied(vec![Change::new(Action::Unchanged, "group_member", user, label)]));
            }
            // Moodle refuses a member who is not enrolled, without saying why when its
            // debugging is off: said here instead.
            if !courses.is_enrolled(course, user) {
                return fail(
                    Code::NotFound,
                    format!("{} is not enrolled in {shortname}: Moodle takes only enrolled users into groups; enrol them first", m.user),
                );
            }
            Ok(Plan {
                course,
                more: Vec::new(),
                call: Call::AddMembers,
                item,
                changes: vec![Change::new(Action::Created, "group_member", user, label)],
            })
        }
        _ => fail(
            Code::RemoteUnsupported,
            "shift over REST: this version of moosync does not yet send it to Moodle; run it against the embedded store".into(),
        ),
    }
}
