//! Groups over REST: groups and groupings created in their course (add-only, as a row
//! without `updateid` is in the embedded store), a group put in a grouping, and group
//! members added and removed. A course's groups, groupings and members are read once per
//! file, so a row that changes nothing sends nothing.

use super::calls;
use super::client::{CallError, Retry};
use super::directory::Directory;
use super::enrolments::{self, user_field, Courses};
use super::form::Params;
use super::ledger::Ledger;
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
    /// None for a `shift` or `greplace` that only leaves groups.
    call: Option<Call>,
    course: i64,
    /// The row's items of `call`: one create, or the memberships of a user's groups.
    items: Vec<Params>,
    /// Memberships moosync made that a `shift` or `greplace` ends, once `items` are done.
    leave: Vec<Params>,
    changes: Vec<Change>,
}

/// A membership item, as core_group_add_group_members and delete_group_members take it.
fn membership(group: i64, user: i64) -> Params {
    let mut item = Params::new();
    item.push("groupid", group.to_string())
        .push("userid", user.to_string());
    item
}

/// The (group, user) of a membership item.
fn member_of(item: &Params) -> Option<(i64, i64)> {
    let field = |k: &str| {
        item.0
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    };
    Some((field("groupid")?, field("userid")?))
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
    ledger: &mut Ledger,
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
    let made = create_named_groups(ctx, courses, groups, rows)?;
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
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    let first: Vec<(usize, Call, &Params)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Ok(
                p @ Plan {
                    call: Some(call), ..
                },
            ) => Some((i, *call, p)),
            _ => None,
        })
        .flat_map(|(i, call, p)| p.items.iter().map(move |item| (i, call, item)))
        .collect();
    let mut done = send(ctx, &first)?;
    settle(&plans, &mut outcomes, &done);
    // What a shift or greplace leaves goes once the row's own memberships are made: never a
    // user left in no group because the new one was refused.
    let second: Vec<(usize, Call, &Params)> = plans
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(outcomes[*i], Some(Outcome::Failed(_))))
        .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
        .flat_map(|(i, p)| {
            p.leave
                .iter()
                .map(move |item| (i, Call::DeleteMembers, item))
        })
        .collect();
    let left = send(ctx, &second)?;
    settle(&plans, &mut outcomes, &left);
    done.extend(left);
    // The cache and the ledger follow what was done; a course where a group or grouping
    // was made is read again when next needed.
    let mut ledgered = Vec::new();
    for d in done.iter().filter(|d| d.answer.is_ok()) {
        let Ok(plan) = &plans[d.row] else { continue };
        match d.call {
            Call::CreateGroups | Call::CreateGroupings => {
                groups.courses.remove(&plan.course);
            }
            Call::AddMembers | Call::DeleteMembers => {
                let Some((g, u)) = member_of(d.item) else {
                    continue;
                };
                let joined = d.call == Call::AddMembers;
                ledgered.push((u, g, joined));
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
    ledger.record_members(&site, &ledgered)?;
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

/// One item sent, and Moodle's answer for it (its element of a create's answer).
struct Done<'a> {
    row: usize,
    call: Call,
    item: &'a Params,
    answer: Result<Option<Value>, String>,
}

/// Sends `(row, call, item)`s by function, in batches, split where Moodle refuses.
fn send<'a>(
    ctx: &enrolments::Ctx,
    items: &[(usize, Call, &'a Params)],
) -> Result<Vec<Done<'a>>, Failure> {
    let t = &ctx.cfg.target;
    // Items go by their position, so each answer finds its item.
    let sent = calls::send(
        ctx.client,
        ctx.functions,
        t.batch_size,
        t.parallel,
        items
            .iter()
            .enumerate()
            .map(|(n, (_, call, item))| (n, *call, *item))
            .collect(),
    )?;
    let mut done = Vec::with_capacity(items.len());
    for (_, these, pieces) in &sent {
        for piece in pieces {
            for (k, &n) in these[piece.items.clone()].iter().enumerate() {
                let (row, call, item) = items[n];
                done.push(Done {
                    row,
                    call,
                    item,
                    answer: match &piece.answer {
                        Ok(v) => Ok(v.get(k).cloned()),
                        Err(m) => Err(m.describe()),
                    },
                });
            }
        }
    }
    Ok(done)
}

/// The rows' outcomes from what Moodle answered; a row keeps its first failure.
fn settle(plans: &[Result<Plan, Outcome>], outcomes: &mut [Option<Outcome>], done: &[Done]) {
    for d in done {
        let Ok(plan) = &plans[d.row] else { continue };
        if matches!(outcomes[d.row], Some(Outcome::Failed(_))) {
            continue;
        }
        outcomes[d.row] = Some(match &d.answer {
            Err(m) => Outcome::Failed(Failure::new(
                Code::RemoteRejected,
                format!("Moodle refused the row: {m}"),
            )),
            Ok(v) => {
                let mut changes = plan.changes.clone();
                // A create answers the new ids in the order sent.
                if let Some(id) = v.as_ref().and_then(|g| g.get("id")).and_then(Value::as_i64) {
                    if matches!(d.call, Call::CreateGroups | Call::CreateGroupings) {
                        changes[0].id = id;
                    }
                }
                Outcome::Applied(changes)
            }
        });
    }
}

/// What became of the groups gaddcreate rows name that the course lacks: made once each,
/// before the rows' memberships (the change to tell), or Moodle's refusal.
type Made = HashMap<(i64, String), Result<Change, String>>;

/// Makes the missing groups named by rows that create them (`gaddcreate`,
/// `greplacecreate`), one item per (course, name), and adds them to the cache.
fn create_named_groups(
    ctx: &enrolments::Ctx,
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
        let (by, key) = course_key(ctx, c);
        let Some(course) = courses.id(by, &key) else {
            continue;
        };
        let Some(known) = groups.courses.get(&course) else {
            continue;
        };
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

/// Where a row's plan is made: its course as read, and what moosync made there.
struct Scope<'a> {
    course: i64,
    shortname: &'a str,
    known: &'a Course,
    ledger: &'a Ledger,
    site: &'a str,
}

impl Scope<'_> {
    fn is_member(&self, group: i64, user: i64) -> bool {
        self.known
            .members
            .get(&group)
            .is_some_and(|m| m.contains(&user))
    }

    /// The groups of the course moosync put `user` in, but for `keep`, as (id, name).
    fn made_groups(&self, user: i64, keep: &[i64]) -> Vec<(i64, &str)> {
        self.known
            .groups
            .iter()
            .filter(|g| !keep.contains(&g.id) && self.is_member(g.id, user))
            .filter(|g| self.ledger.made_member(self.site, user, g.id))
            .map(|g| (g.id, g.name.as_str()))
            .collect()
    }

    /// The items and changes of leaving those groups.
    fn leaving(&self, user: i64, who: &str, keep: &[i64]) -> (Vec<Params>, Vec<Change>) {
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
    ctx: &enrolments::Ctx,
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
            upsert(course, &key, known, g, grouping)
        }
        Command::GroupMember(m) => member(ctx, dir, courses, &scope, m),
        Command::UserGroups(g) => user_groups(ctx, dir, courses, &scope, g, made),
        _ => unreachable!("only group commands come here"),
    }
}

/// A user's groups named by an enrolment row (`gcmd` with `g1`…`g9`) or a users row
/// (`group<N>`): added to or taken out of groups the course has. `replace` first leaves
/// the other groups moosync put the user in.
fn user_groups(
    ctx: &enrolments::Ctx,
    dir: &Directory,
    courses: &Courses,
    scope: &Scope,
    g: &crate::command::UserGroups,
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
    if changes.is_empty() {
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "group_member",
            user,
            format!("{} in the groups of {shortname}", g.user),
        )]));
    }
    let call = match (items.is_empty(), adding) {
        (true, _) => None,
        (false, true) => Some(Call::AddMembers),
        (false, false) => Some(Call::DeleteMembers),
    };
    Ok(Plan {
        course,
        call,
        items,
        leave,
        changes,
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
        call: Some(if grouping {
            Call::CreateGroupings
        } else {
            Call::CreateGroups
        }),
        items: vec![item],
        leave: Vec::new(),
        changes: vec![Change::new(
            Action::Created,
            entity,
            0,
            format!("{name} in {shortname}"),
        )],
    })
}

/// A group-members row: `add`, `del`, or `shift` (leave the course's other groups moosync
/// put the user in, then join this one).
fn member(
    ctx: &enrolments::Ctx,
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
            call: Some(Call::DeleteMembers),
            items: vec![item],
            leave: Vec::new(),
            changes: vec![Change::new(Action::Deleted, "group_member", user, label)],
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
    let (call, items) = if is_member {
        (None, Vec::new())
    } else {
        changes.push(Change::new(Action::Created, "group_member", user, label));
        (Some(Call::AddMembers), vec![item])
    };
    Ok(Plan {
        course,
        call,
        items,
        leave,
        changes,
    })
}
