//! Groups over REST: groups and groupings created, and updated by a row with `updateid`
//! (add-only without, as in the embedded store); a group put in a grouping or its own
//! self-grouping; members added, removed and moved (`shift`, `greplace`); groups made for
//! `gaddcreate` rows. A course's groups, groupings and members are read once per file, so
//! a row that changes nothing sends nothing. Rows go in phases: creates, updates and
//! memberships first, then what depends on them (a new group into its grouping, the old
//! groups a shift leaves).

mod defs;
mod members;

use super::calls::{self, Ctx};
use super::client::{CallError, Retry};
use super::directory::Directory;
use super::enrolments::{user_field, Courses};
use super::form::Params;
use super::ledger::{Key, Ledger, Link};
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::Command;
use crate::config::GroupIdentifier;
use crate::outcome::{Action, Change, Outcome};
use members::Made;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub(super) struct Named {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) idnumber: String,
    pub(super) description: String,
}

impl Named {
    pub(super) fn matches(&self, by: GroupIdentifier, key: &str) -> bool {
        match by {
            GroupIdentifier::Name => self.name == key,
            GroupIdentifier::Idnumber => self.idnumber == key,
            GroupIdentifier::Id => self.id.to_string() == key,
        }
    }
}

/// One course's groups as read from Moodle.
#[derive(Default)]
pub(super) struct Course {
    pub(super) groups: Vec<Named>,
    pub(super) groupings: Vec<Named>,
    pub(super) members: HashMap<i64, HashSet<i64>>,
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
                description: s("description"),
            })
        })
        .collect()
}

impl Groups {
    /// Reads the courses not read yet. Memberships the ledger holds that Moodle no longer
    /// shows (a teacher took the user out, an unenrolment did) are dropped from it, so a
    /// later hand-made membership is never taken for one moosync made.
    fn fetch(&mut self, ctx: &Ctx, ledger: &Ledger, ids: Vec<i64>) -> Result<(), Failure> {
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
        let site = ctx.client.site();
        let mut gone = Vec::new();
        for (id, course) in new.into_iter().zip(read) {
            let course: Course = course.map_err(|e| calls::stop_or(e, "a course's groups"))?;
            for g in &course.groups {
                for (user, _) in ledger.links_to(site, Link::GroupMember, g.id)? {
                    if !course.members.get(&g.id).is_some_and(|m| m.contains(&user)) {
                        gone.push((Link::GroupMember, (user, g.id, 0), false));
                    }
                }
            }
            self.courses.insert(id, course);
        }
        ledger.record_links(site, &gone)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Call {
    CreateGroups,
    CreateGroupings,
    UpdateGroups,
    UpdateGroupings,
    AddMembers,
    DeleteMembers,
    AssignGrouping,
}

impl calls::CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::CreateGroups => "core_group_create_groups",
            Call::CreateGroupings => "core_group_create_groupings",
            Call::UpdateGroups => "core_group_update_groups",
            Call::UpdateGroupings => "core_group_update_groupings",
            Call::AddMembers => "core_group_add_group_members",
            Call::DeleteMembers => "core_group_delete_group_members",
            Call::AssignGrouping => "core_group_assign_grouping",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::CreateGroups | Call::UpdateGroups => "groups",
            Call::CreateGroupings | Call::UpdateGroupings => "groupings",
            Call::AddMembers | Call::DeleteMembers => "members",
            Call::AssignGrouping => "assignments",
        }
    }

    /// Creates are not sent twice blindly; updates, memberships and assignments set a state.
    fn retry(self) -> Retry {
        match self {
            Call::CreateGroups | Call::CreateGroupings => Retry::Never,
            _ => Retry::Safe,
        }
    }
}

/// What a row comes to.
#[derive(Default)]
struct Plan {
    course: i64,
    /// The row's first calls: a create or an update (and a self-grouping's create), or
    /// the memberships of a user's groups.
    items: Vec<(Call, Params)>,
    /// Memberships moosync made that a `shift` or `greplace` ends, once `items` are done.
    leave: Vec<Params>,
    /// Groups to put in groupings once both exist, as (grouping, group): None for the
    /// one this row creates.
    bind: Vec<(Option<i64>, Option<i64>)>,
    changes: Vec<Change>,
}

/// A membership item, as core_group_add_group_members and delete_group_members take it.
fn membership(group: i64, user: i64) -> Params {
    let mut item = Params::new();
    item.push("groupid", group.to_string())
        .push("userid", user.to_string());
    item
}

/// The integer field `key` of an item.
fn field(item: &Params, key: &str) -> Option<i64> {
    item.fields
        .iter()
        .find(|(n, _)| n == key)
        .and_then(|(_, v)| v.parse::<i64>().ok())
}

fn course_key(ctx: &Ctx, cmd: &Command) -> (crate::config::CourseIdentifier, String) {
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
    ctx: &Ctx,
    dir: &mut Directory,
    courses: &mut Courses,
    groups: &mut Groups,
    rows: &[&Command],
) -> Result<Vec<Outcome>, Failure> {
    let ledger = ctx.ledger;
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
    groups.fetch(ctx, ledger, ids)?;
    let made = members::create_named_groups(ctx, dir, courses, groups, rows)?;
    let site = ctx.client.site().to_string();
    let mut told = HashSet::new();
    let plans: Vec<Result<Plan, Outcome>> = rows
        .iter()
        .map(|c| {
            let mut plan = plan(ctx, dir, courses, groups, ledger, &site, c, &made);
            // A group made for gaddcreate rows is told once, by the first row naming it.
            if let (Command::UserGroups(g), Ok(p)) = (c, &mut plan) {
                for name in g.groups.iter().rev() {
                    let key = (p.course, name.clone());
                    if let Some(Ok(change)) = made.get(&key) {
                        if told.insert(key) {
                            p.changes.insert(0, change.clone());
                        }
                    }
                }
            }
            plan
        })
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
    // Every function the rows need is checked before the first write: a service lacking
    // one stops the file with nothing half done.
    for p in plans.iter().filter_map(|p| p.as_ref().ok()) {
        let needs = p
            .items
            .iter()
            .map(|(call, _)| *call)
            .chain(p.leave.first().map(|_| Call::DeleteMembers))
            .chain(p.bind.first().map(|_| Call::AssignGrouping));
        for call in needs {
            calls::require(ctx.functions, calls::CallKind::function(call))?;
        }
    }
    // Memberships are noted in the ledger before they are asked for, so one whose answer is
    // lost (the file stopped, the process was killed) is still known as moosync's; one that
    // never came about is dropped when the course is next read.
    let asked: Vec<(Link, Key, bool)> = plans
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .flat_map(|p| p.items.iter())
        .filter(|(call, _)| *call == Call::AddMembers)
        .filter_map(|(_, item)| {
            Some((
                Link::GroupMember,
                (field(item, "userid")?, field(item, "groupid")?, 0),
                true,
            ))
        })
        .collect();
    ledger.record_links(&site, &asked)?;
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    let first: Vec<(usize, Call, &Params)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
        .flat_map(|(i, p)| p.items.iter().map(move |(call, item)| (i, *call, item)))
        .collect();
    let done = send(ctx, &first)?;
    settle(&plans, &mut outcomes, &done);
    remember(groups, ledger, &site, &plans, &done)?;
    // Then what needs the first calls done: a new group or grouping's id for its binding,
    // and, for a shift or greplace, the old groups left only once the new one is joined
    // (never a user left in no group because the new one was refused).
    let ok = |i: usize| !matches!(outcomes[i], Some(Outcome::Failed(_)));
    let made_id = |i: usize, call: Call| {
        done.iter()
            .filter(|d| d.row == i && d.call == call)
            .find_map(|d| d.answer.as_ref().ok()?.as_ref()?.get("id")?.as_i64())
    };
    let mut binds = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let Ok(p) = p else { continue };
        if !ok(i) {
            continue;
        }
        for &(grouping, group) in &p.bind {
            let grouping = grouping.or_else(|| made_id(i, Call::CreateGroupings));
            let group = group.or_else(|| made_id(i, Call::CreateGroups));
            if let (Some(grouping), Some(group)) = (grouping, group) {
                let mut item = Params::new();
                item.push("groupingid", grouping.to_string())
                    .push("groupid", group.to_string());
                binds.push((i, item));
            }
        }
    }
    let second: Vec<(usize, Call, &Params)> = plans
        .iter()
        .enumerate()
        .filter(|(i, _)| ok(*i))
        .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
        .flat_map(|(i, p)| {
            p.leave
                .iter()
                .map(move |item| (i, Call::DeleteMembers, item))
        })
        .chain(
            binds
                .iter()
                .map(|(i, item)| (*i, Call::AssignGrouping, item)),
        )
        .collect();
    let then = send(ctx, &second)?;
    settle(&plans, &mut outcomes, &then);
    remember(groups, ledger, &site, &plans, &then)?;
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

/// Keeps the cache and the ledger true to what was done. A course where a group or
/// grouping was made or changed is read again when next needed.
fn remember(
    groups: &mut Groups,
    ledger: &Ledger,
    site: &str,
    plans: &[Result<Plan, Outcome>],
    done: &[Done],
) -> Result<(), Failure> {
    let mut links = Vec::new();
    for d in done {
        let Ok(plan) = &plans[d.row] else { continue };
        let (group, user) = (field(d.item, "groupid"), field(d.item, "userid"));
        if d.answer.is_err() {
            // A membership asked for and refused is not moosync's.
            if let (Call::AddMembers, Some(g), Some(u)) = (d.call, group, user) {
                links.push((Link::GroupMember, (u, g, 0), false));
            }
            continue;
        }
        match d.call {
            Call::CreateGroups
            | Call::CreateGroupings
            | Call::UpdateGroups
            | Call::UpdateGroupings => {
                groups.courses.remove(&plan.course);
            }
            Call::AssignGrouping => {
                if let (Some(grouping), Some(group)) = (field(d.item, "groupingid"), group) {
                    links.push((Link::GroupingGroup, (grouping, group, 0), true));
                }
            }
            Call::AddMembers | Call::DeleteMembers => {
                let (Some(g), Some(u)) = (group, user) else {
                    continue;
                };
                let joined = d.call == Call::AddMembers;
                links.push((Link::GroupMember, (u, g, 0), joined));
                if let Some(c) = groups.courses.get_mut(&plan.course) {
                    let set = c.members.entry(g).or_default();
                    if joined {
                        set.insert(u);
                    } else {
                        set.remove(&u);
                    }
                }
            }
        }
    }
    ledger.record_links(site, &links)
}

/// One item sent, and Moodle's answer for it (its element of a create's answer).
struct Done<'a> {
    row: usize,
    call: Call,
    item: &'a Params,
    answer: Result<Option<Value>, String>,
}

/// Sends `(row, call, item)`s by function, in batches, split where Moodle refuses.
fn send<'a>(ctx: &Ctx, items: &[(usize, Call, &'a Params)]) -> Result<Vec<Done<'a>>, Failure> {
    let answers = calls::send_each(ctx, items.iter().map(|(_, call, item)| (*call, *item)))?;
    Ok(items
        .iter()
        .zip(answers)
        .map(|(&(row, call, item), answer)| Done {
            row,
            call,
            item,
            answer,
        })
        .collect())
}

/// The rows' outcomes from what Moodle answered; a row keeps its first failure. A create
/// gives its change the new id.
fn settle(plans: &[Result<Plan, Outcome>], outcomes: &mut [Option<Outcome>], done: &[Done]) {
    for d in done {
        let Ok(plan) = &plans[d.row] else { continue };
        if matches!(outcomes[d.row], Some(Outcome::Failed(_))) {
            continue;
        }
        let mut changes = match outcomes[d.row].take() {
            Some(Outcome::Applied(c)) => c,
            _ => plan.changes.clone(),
        };
        outcomes[d.row] = Some(match &d.answer {
            Err(m) => Outcome::Failed(Failure::new(
                Code::RemoteRejected,
                format!("Moodle refused the row: {m}"),
            )),
            Ok(v) => {
                let entity = match d.call {
                    Call::CreateGroups => Some("group"),
                    Call::CreateGroupings => Some("grouping"),
                    _ => None,
                };
                let id = v.as_ref().and_then(|g| g.get("id")).and_then(Value::as_i64);
                if let (Some(entity), Some(id)) = (entity, id) {
                    let new = changes
                        .iter_mut()
                        .find(|c| c.entity == entity && c.action == Action::Created && c.id == 0);
                    if let Some(c) = new {
                        c.id = id;
                    }
                }
                Outcome::Applied(changes)
            }
        });
    }
}

/// Where a row's plan is made: its course as read, and what moosync made there.
pub(super) struct Scope<'a> {
    pub(super) course: i64,
    pub(super) shortname: &'a str,
    pub(super) known: &'a Course,
    pub(super) ledger: &'a Ledger,
    pub(super) site: &'a str,
}

impl Scope<'_> {
    pub(super) fn is_member(&self, group: i64, user: i64) -> bool {
        self.known
            .members
            .get(&group)
            .is_some_and(|m| m.contains(&user))
    }

    /// The groups of the course moosync put `user` in, but for `keep`, as (id, name).
    pub(super) fn made_groups(&self, user: i64, keep: &[i64]) -> Vec<(i64, &str)> {
        self.known
            .groups
            .iter()
            .filter(|g| !keep.contains(&g.id) && self.is_member(g.id, user))
            .filter(|g| {
                self.ledger
                    .linked(self.site, Link::GroupMember, (user, g.id, 0))
            })
            .map(|g| (g.id, g.name.as_str()))
            .collect()
    }

    /// The items and changes of leaving those groups.
    pub(super) fn leaving(&self, user: i64, who: &str, keep: &[i64]) -> (Vec<Params>, Vec<Change>) {
        self.made_groups(user, keep)
            .into_iter()
            .map(|(id, name)| {
                (
                    membership(id, user),
                    Change::new(
                        Action::Deleted,
                        "group_member",
                        user,
                        format!("{who} in group {name} of {}", self.shortname),
                    ),
                )
            })
            .unzip()
    }
}

#[allow(clippy::too_many_arguments)]
fn plan(
    ctx: &Ctx,
    dir: &Directory,
    courses: &Courses,
    groups: &Groups,
    ledger: &Ledger,
    site: &str,
    cmd: &Command,
    made: &Made,
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
    let scope = Scope {
        course,
        shortname: &key,
        known,
        ledger,
        site,
    };
    match cmd {
        Command::GroupUpsert(g) | Command::GroupingUpsert(g) => {
            let grouping = matches!(cmd, Command::GroupingUpsert(_));
            defs::upsert(ctx, &scope, g, grouping)
        }
        Command::GroupMember(m) => members::member(ctx, dir, courses, &scope, m),
        Command::UserGroups(g) => members::user_groups(ctx, dir, courses, &scope, g, made),
        _ => unreachable!("only group commands come here"),
    }
}
