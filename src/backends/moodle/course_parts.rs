//! What enrolment and group rows read of the site over REST, read once per file and kept true
//! to what the file's batches apply: each course's participants (their enrolments and roles)
//! and its groups, groupings and memberships (the courses themselves and their enrol
//! instances are the catalogue's). Read ahead for a whole batch, several courses per call
//! with the plugin's lean reads (`local_moosync_get_enrolments`, `_get_groups`), else one
//! course at a time with Moodle's core functions, several at once.
//!
//! What the core service does not show, the records leave unknown: an enrolment's instance,
//! status and dates, who gave a role, and who made a membership, which moosync's ledger
//! remembers instead.

use super::calls;
use super::client::{CallError, Client, Retry};
use super::form::Params;
use super::ledger::{Ledger, Link};
use super::pool;
use crate::codes::Failure;
use crate::config::Config;
use crate::plan::view::{GroupKind, GroupRec, MemberRec, Read, ReadError, RoleAssignment, UeRec};
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub const GET_ENROLMENTS: &str = "local_moosync_get_enrolments";
pub const GET_GROUPS: &str = "local_moosync_get_groups";
/// The component of the memberships the plugin makes for moosync.
pub const COMPONENT: &str = "local_moosync";

/// Courses per call of the plugin's reads.
const COURSES_PER_READ: usize = 10;

/// What a read needs of the target.
pub struct Reader<'a> {
    pub client: &'a Client,
    pub cfg: &'a Config,
    pub functions: &'a HashSet<String>,
    pub ledger: &'a Ledger,
}

impl Reader<'_> {
    fn has(&self, function: &str) -> bool {
        self.functions.contains(function)
    }

    fn site(&self) -> &str {
        self.client.site()
    }
}

/// A participant (or a holder of a role) as read.
#[derive(Debug, Clone, Default)]
struct Person {
    enrolled: bool,
    /// `None`: the site does not show them.
    enrolments: Option<Vec<UeRec>>,
    roles: Vec<RoleAssignment>,
}

#[derive(Debug, Default)]
struct Groups {
    groups: Vec<GroupRec>,
    groupings: Vec<GroupRec>,
    /// Grouping → its groups.
    inside: HashMap<i64, Vec<i64>>,
    /// Group → its members, with the component that made each membership where the site
    /// shows it.
    members: HashMap<i64, Vec<(i64, Option<String>)>>,
}

#[derive(Debug, Default)]
struct Course {
    people: Option<HashMap<i64, Person>>,
    /// Whether `people` shows enrolments (the plugin's read).
    detailed: bool,
    groups: Option<Groups>,
}

/// A file's reads.
#[derive(Default)]
pub struct CourseParts {
    courses: HashMap<i64, Course>,
    /// Group or grouping → its course.
    owner: HashMap<i64, i64>,
}

fn stop(f: Failure) -> ReadError {
    ReadError::Stop(f)
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn list<'v>(v: &'v Value, k: &str) -> impl Iterator<Item = &'v Value> {
    v.get(k).and_then(Value::as_array).into_iter().flatten()
}

fn group_rec(v: &Value, kind: GroupKind, course: i64) -> Option<GroupRec> {
    Some(GroupRec {
        id: Ref::Id(v.get("id")?.as_i64()?),
        kind,
        course: Ref::Id(course),
        name: text(v, "name"),
        idnumber: text(v, "idnumber"),
        description: Some(text(v, "description")),
    })
}

impl CourseParts {
    /// Reads ahead the participants of the courses `people` and the groups of `groups`.
    pub fn prefetch(&mut self, r: &Reader, people: &[i64], groups: &[i64]) -> Result<(), Failure> {
        let people: Vec<i64> = people
            .iter()
            .copied()
            .filter(|c| self.course(*c).people.is_none())
            .collect();
        self.read_people(r, &people)?;
        let groups: Vec<i64> = groups
            .iter()
            .copied()
            .filter(|c| self.course(*c).groups.is_none())
            .collect();
        self.read_groups(r, &groups)
    }

    fn course(&mut self, id: i64) -> &mut Course {
        self.courses.entry(id).or_default()
    }

    /// Who is enrolled in each course, or holds a role there, with what.
    fn read_people(&mut self, r: &Reader, ids: &[i64]) -> Result<(), Failure> {
        if ids.is_empty() {
            return Ok(());
        }
        let parallel = r.cfg.target.parallel;
        if r.has(GET_ENROLMENTS) {
            let chunks: Vec<&[i64]> = ids.chunks(COURSES_PER_READ).collect();
            let answers = pool::map(&chunks, parallel, |chunk| {
                let mut p = Params::new();
                p.list("courseids", chunk.iter().map(i64::to_string));
                r.client.call(GET_ENROLMENTS, &p, Retry::Safe)
            });
            for (chunk, answer) in chunks.iter().zip(answers) {
                let v = answer.map_err(|e| calls::stop_or(e, "the courses' enrolments"))?;
                for c in chunk.iter() {
                    let course = self.course(*c);
                    course.people = Some(HashMap::new());
                    course.detailed = true;
                }
                for c in list(&v, "courses") {
                    let mut people = HashMap::new();
                    for u in list(c, "users") {
                        let enrolments: Vec<UeRec> = list(u, "enrolments")
                            .map(|e| UeRec {
                                instance: Ref::Id(int(e, "instanceid")),
                                suspended: Some(int(e, "status") != 0),
                                start: Some(int(e, "timestart")),
                                end: Some(int(e, "timeend")),
                            })
                            .collect();
                        let roles = list(u, "roles")
                            .map(|a| RoleAssignment {
                                role: int(a, "roleid"),
                                component: Some(text(a, "component")),
                                itemid: Some(int(a, "itemid")),
                            })
                            .collect();
                        people.insert(
                            int(u, "userid"),
                            Person {
                                enrolled: !enrolments.is_empty(),
                                enrolments: Some(enrolments),
                                roles,
                            },
                        );
                    }
                    self.course(int(c, "courseid")).people = Some(people);
                }
            }
            return Ok(());
        }
        let answers = pool::map(ids, parallel, |id| {
            let mut p = Params::new();
            p.push("courseid", id.to_string())
                .push("options[0][name]", "userfields")
                .push("options[0][value]", "id,roles");
            r.client
                .call("core_enrol_get_enrolled_users", &p, Retry::Safe)
        });
        for (id, answer) in ids.iter().zip(answers) {
            let v = answer.map_err(|e| calls::stop_or(e, "the list of a course's participants"))?;
            let mut people = HashMap::new();
            for u in v.as_array().into_iter().flatten() {
                let roles = list(u, "roles")
                    .map(|a| RoleAssignment {
                        role: int(a, "roleid"),
                        component: None,
                        itemid: None,
                    })
                    .collect();
                people.insert(
                    int(u, "id"),
                    Person {
                        enrolled: true,
                        enrolments: None,
                        roles,
                    },
                );
            }
            let course = self.course(*id);
            course.people = Some(people);
            course.detailed = false;
        }
        Ok(())
    }

    /// The courses' groups and groupings, and who is in each group.
    fn read_groups(&mut self, r: &Reader, ids: &[i64]) -> Result<(), Failure> {
        if ids.is_empty() {
            return Ok(());
        }
        let plugin = r.has(GET_GROUPS);
        let answers = pool::map(ids, r.cfg.target.parallel, |id| {
            read_course_groups(r.client, *id, !plugin)
        });
        let mut read = Vec::with_capacity(ids.len());
        for (id, answer) in ids.iter().zip(answers) {
            read.push((
                *id,
                answer.map_err(|e| calls::stop_or(e, "a course's groups"))?,
            ));
        }
        if plugin {
            // Memberships with their component, and each grouping's groups, several courses
            // a call.
            let chunks: Vec<&[i64]> = ids.chunks(COURSES_PER_READ).collect();
            let answers = pool::map(&chunks, r.cfg.target.parallel, |chunk| {
                let mut p = Params::new();
                p.list("courseids", chunk.iter().map(i64::to_string));
                r.client.call(GET_GROUPS, &p, Retry::Safe)
            });
            for answer in answers {
                let v = answer.map_err(|e| calls::stop_or(e, "the courses' groups"))?;
                for c in list(&v, "courses") {
                    let Some((_, g)) = read.iter_mut().find(|(id, _)| *id == int(c, "courseid"))
                    else {
                        continue;
                    };
                    for group in list(c, "groups") {
                        let members = list(group, "members")
                            .map(|m| (int(m, "userid"), Some(text(m, "component"))))
                            .collect();
                        g.members.insert(int(group, "id"), members);
                    }
                    for grouping in list(c, "groupings") {
                        let inside = list(grouping, "groupids")
                            .filter_map(Value::as_i64)
                            .collect();
                        g.inside.insert(int(grouping, "id"), inside);
                    }
                }
            }
        }
        let mut gone = Vec::new();
        for (id, g) in read {
            for x in g.groups.iter().chain(&g.groupings) {
                if let Ref::Id(gid) = x.id {
                    self.owner.insert(gid, id);
                }
            }
            if !plugin {
                // Memberships the ledger holds that Moodle no longer shows (a teacher took the
                // user out, an unenrolment did) are forgotten, so a later hand-made one is
                // never taken for moosync's.
                for x in &g.groups {
                    let Some(gid) = x.id.id() else { continue };
                    let now = g.members.get(&gid);
                    for (user, _) in r.ledger.links_to(r.site(), Link::GroupMember, gid)? {
                        if !now.is_some_and(|m| m.iter().any(|(u, _)| *u == user)) {
                            gone.push((Link::GroupMember, (user, gid, 0), false));
                        }
                    }
                }
            }
            self.course(id).groups = Some(g);
        }
        r.ledger.record_links(r.site(), &gone)
    }

    fn ensure_people(&mut self, r: &Reader, course: i64) -> Read<()> {
        if self.course(course).people.is_none() {
            self.read_people(r, &[course]).map_err(stop)?;
        }
        Ok(())
    }

    fn ensure_groups(&mut self, r: &Reader, course: i64) -> Read<()> {
        if self.course(course).groups.is_none() {
            self.read_groups(r, &[course]).map_err(stop)?;
        }
        Ok(())
    }

    fn person(&mut self, r: &Reader, course: Ref, user: Ref) -> Read<(Option<Person>, bool)> {
        let (Some(c), Some(u)) = (course.id(), user.id()) else {
            return Ok((None, true));
        };
        self.ensure_people(r, c)?;
        let course = self.course(c);
        let person = course.people.as_ref().and_then(|p| p.get(&u)).cloned();
        Ok((person, course.detailed))
    }

    pub fn enrolments(&mut self, r: &Reader, course: Ref, user: Ref) -> Read<Option<Vec<UeRec>>> {
        let (person, detailed) = self.person(r, course, user)?;
        if !detailed {
            return Ok(None);
        }
        Ok(Some(person.and_then(|p| p.enrolments).unwrap_or_default()))
    }

    /// The users enrolled in the course through `instance`; `None` when the site does not
    /// show through which instance (without the plugin).
    pub fn enrolled_through(
        &mut self,
        r: &Reader,
        course: i64,
        instance: Ref,
    ) -> Read<Option<Vec<Ref>>> {
        self.ensure_people(r, course)?;
        let c = self.course(course);
        if !c.detailed {
            return Ok(None);
        }
        let mut users: Vec<Ref> = c
            .people
            .iter()
            .flatten()
            .filter(|(_, p)| {
                p.enrolments
                    .iter()
                    .flatten()
                    .any(|e| e.instance == instance)
            })
            .map(|(u, _)| Ref::Id(*u))
            .collect();
        users.sort();
        Ok(Some(users))
    }

    pub fn is_enrolled(&mut self, r: &Reader, course: Ref, user: Ref) -> Read<bool> {
        Ok(self.person(r, course, user)?.0.is_some_and(|p| p.enrolled))
    }

    pub fn course_roles(
        &mut self,
        r: &Reader,
        course: Ref,
        user: Ref,
    ) -> Read<Vec<RoleAssignment>> {
        Ok(self
            .person(r, course, user)?
            .0
            .map(|p| p.roles)
            .unwrap_or_default())
    }

    fn groups_of(&mut self, r: &Reader, course: i64) -> Read<&Groups> {
        self.ensure_groups(r, course)?;
        Ok(self
            .courses
            .get(&course)
            .and_then(|c| c.groups.as_ref())
            .expect("read above"))
    }

    pub fn groups(&mut self, r: &Reader, course: Ref, kind: GroupKind) -> Read<Vec<GroupRec>> {
        let Some(c) = course.id() else {
            return Ok(Vec::new());
        };
        let g = self.groups_of(r, c)?;
        Ok(match kind {
            GroupKind::Group => g.groups.clone(),
            GroupKind::Grouping => g.groupings.clone(),
        })
    }

    pub fn grouping_groups(&mut self, r: &Reader, grouping: Ref) -> Read<Option<Vec<Ref>>> {
        let Some(id) = grouping.id() else {
            return Ok(Some(Vec::new()));
        };
        let Some(course) = self.owner.get(&id).copied() else {
            return Ok(Some(Vec::new()));
        };
        let g = self.groups_of(r, course)?;
        Ok(Some(
            g.inside
                .get(&id)
                .into_iter()
                .flatten()
                .map(|x| Ref::Id(*x))
                .collect(),
        ))
    }

    /// Whether moosync made a membership: its component where the site shows it, else the
    /// ledger's record.
    fn owned(r: &Reader, group: i64, user: i64, component: &Option<String>) -> bool {
        match component {
            Some(c) => c == COMPONENT,
            None => r
                .ledger
                .linked(r.site(), Link::GroupMember, (user, group, 0)),
        }
    }

    pub fn group_members(&mut self, r: &Reader, group: Ref) -> Read<Vec<MemberRec>> {
        let Some(id) = group.id() else {
            return Ok(Vec::new());
        };
        let Some(course) = self.owner.get(&id).copied() else {
            return Ok(Vec::new());
        };
        let members = self
            .groups_of(r, course)?
            .members
            .get(&id)
            .cloned()
            .unwrap_or_default();
        Ok(members
            .iter()
            .map(|(u, c)| MemberRec {
                user: Ref::Id(*u),
                owned: Some(Self::owned(r, id, *u, c)),
            })
            .collect())
    }

    pub fn user_groups(
        &mut self,
        r: &Reader,
        course: Ref,
        user: Ref,
    ) -> Read<Vec<(Ref, MemberRec)>> {
        let (Some(c), Some(u)) = (course.id(), user.id()) else {
            return Ok(Vec::new());
        };
        let g = self.groups_of(r, c)?;
        let mut out = Vec::new();
        for x in &g.groups {
            let Some(gid) = x.id.id() else { continue };
            if let Some((_, comp)) = g
                .members
                .get(&gid)
                .and_then(|m| m.iter().find(|(m, _)| *m == u))
            {
                out.push((
                    x.id,
                    MemberRec {
                        user,
                        owned: Some(Self::owned(r, gid, u, comp)),
                    },
                ));
            }
        }
        Ok(out)
    }

    /// The group or grouping's course, when read.
    pub fn owner_of(&self, group: i64) -> Option<i64> {
        self.owner.get(&group).copied()
    }

    /// A group or grouping as read (what an update keeps of it).
    pub fn group(&self, id: i64) -> Option<&GroupRec> {
        let g = self.courses.get(self.owner.get(&id)?)?.groups.as_ref()?;
        g.groups
            .iter()
            .chain(&g.groupings)
            .find(|x| x.id == Ref::Id(id))
    }

    /// Forgets what a course's rows changed in ways not followed here: read again when next
    /// needed.
    pub fn invalidate(&mut self, course: i64) {
        if let Some(c) = self.courses.get_mut(&course) {
            c.people = None;
            c.groups = None;
        }
    }

    /// Keeps the reads true to what a batch applied: each applied row's operations, and the
    /// courses of a failed row read again. `manual`: a course's manual instance, as known.
    pub fn applied(
        &mut self,
        plugin_members: bool,
        manual: &dyn Fn(i64) -> Option<Ref>,
        decisions: &[Decision],
        out: &BatchApplied,
    ) {
        let id = |r: Ref| out.id(r);
        for (d, result) in decisions.iter().zip(&out.rows) {
            let Decision::Apply { ops, .. } = d else {
                continue;
            };
            for op in ops {
                if *result == Applied::Done {
                    self.follow(op, plugin_members, manual, &id);
                } else if let Some(c) = self.course_of(op, &id) {
                    self.invalidate(c);
                }
            }
        }
    }

    fn course_of(&self, op: &Op, id: &dyn Fn(Ref) -> Option<i64>) -> Option<i64> {
        match op {
            Op::Enrol { course, .. }
            | Op::UpdateEnrolment { course, .. }
            | Op::Unenrol { course, .. }
            | Op::AssignRole { course, .. }
            | Op::UnassignRole { course, .. } => id(*course),
            Op::CreateGroup(g) => id(g.course),
            Op::UpdateGroup(g) => self.owner_of(id(g.group)?),
            Op::DeleteGroup { group, .. }
            | Op::AddGroupMember { group, .. }
            | Op::RemoveGroupMember { group, .. } => self.owner_of(id(*group)?),
            Op::AssignGrouping { grouping, .. } => self.owner_of(id(*grouping)?),
            _ => None,
        }
    }

    /// What an applied operation did, in the reads.
    fn follow(
        &mut self,
        op: &Op,
        plugin_members: bool,
        manual: &dyn Fn(i64) -> Option<Ref>,
        id: &dyn Fn(Ref) -> Option<i64>,
    ) {
        let Some(course) = self.course_of(op, id) else {
            return;
        };
        let c = self.course(course);
        match op {
            Op::Enrol {
                user,
                role,
                suspended,
                start,
                end,
                ..
            } => {
                let manual = manual(course);
                let detailed = c.detailed;
                let (Some(people), Some(u)) = (c.people.as_mut(), id(*user)) else {
                    return;
                };
                let p = people.entry(u).or_default();
                p.enrolled = true;
                if detailed {
                    if let Some(instance) = manual {
                        let list = p.enrolments.get_or_insert_with(Vec::new);
                        list.retain(|e| e.instance != instance);
                        list.push(UeRec {
                            instance,
                            suspended: Some(*suspended),
                            start: Some(*start),
                            end: Some(*end),
                        });
                    }
                }
                if let Some(role) = role {
                    add_role(p, *role, detailed);
                }
            }
            Op::AssignRole { role, user, .. } => {
                let detailed = c.detailed;
                let (Some(people), Some(u)) = (c.people.as_mut(), id(*user)) else {
                    return;
                };
                let p = people.entry(u).or_insert_with(|| Person {
                    enrolments: detailed.then(Vec::new),
                    ..Person::default()
                });
                add_role(p, *role, detailed);
            }
            Op::UnassignRole {
                role,
                user,
                component,
                ..
            } => {
                let (Some(people), Some(u)) = (c.people.as_mut(), id(*user)) else {
                    return;
                };
                if let Some(p) = people.get_mut(&u) {
                    if let Some(i) = p.roles.iter().position(|a| {
                        a.role == *role && a.component.as_deref().is_none_or(|x| x == component)
                    }) {
                        p.roles.remove(i);
                    }
                }
            }
            Op::CreateGroup(g) => {
                let (Some(groups), Some(new)) = (c.groups.as_mut(), id(g.new)) else {
                    return;
                };
                let rec = GroupRec {
                    id: Ref::Id(new),
                    kind: g.kind,
                    course: Ref::Id(course),
                    name: g.name.clone(),
                    idnumber: g.idnumber.clone(),
                    description: Some(g.description.clone()),
                };
                match g.kind {
                    GroupKind::Group => groups.groups.push(rec),
                    GroupKind::Grouping => groups.groupings.push(rec),
                }
                self.owner.insert(new, course);
            }
            Op::UpdateGroup(up) => {
                let Some(groups) = c.groups.as_mut() else {
                    return;
                };
                let Some(gid) = id(up.group) else { return };
                if let Some(x) = groups
                    .groups
                    .iter_mut()
                    .chain(groups.groupings.iter_mut())
                    .find(|x| x.id == Ref::Id(gid))
                {
                    if let Some(n) = &up.name {
                        x.name = n.clone();
                    }
                    if let Some(i) = &up.idnumber {
                        x.idnumber = i.clone();
                    }
                    if let Some(d) = &up.description {
                        x.description = Some(d.clone());
                    }
                }
            }
            Op::DeleteGroup { group, kind } => {
                let Some(groups) = c.groups.as_mut() else {
                    return;
                };
                let Some(gid) = id(*group) else { return };
                match kind {
                    GroupKind::Group => {
                        groups.groups.retain(|x| x.id != Ref::Id(gid));
                        groups.members.remove(&gid);
                        for inside in groups.inside.values_mut() {
                            inside.retain(|x| *x != gid);
                        }
                    }
                    GroupKind::Grouping => {
                        groups.groupings.retain(|x| x.id != Ref::Id(gid));
                        groups.inside.remove(&gid);
                    }
                }
            }
            Op::AssignGrouping { grouping, group } => {
                let Some(groups) = c.groups.as_mut() else {
                    return;
                };
                if let (Some(x), Some(g)) = (id(*grouping), id(*group)) {
                    let inside = groups.inside.entry(x).or_default();
                    if !inside.contains(&g) {
                        inside.push(g);
                    }
                }
            }
            Op::AddGroupMember { group, user } => {
                let Some(groups) = c.groups.as_mut() else {
                    return;
                };
                if let (Some(g), Some(u)) = (id(*group), id(*user)) {
                    let component = plugin_members.then(|| COMPONENT.to_string());
                    let m = groups.members.entry(g).or_default();
                    if !m.iter().any(|(x, _)| *x == u) {
                        m.push((u, component));
                    }
                }
            }
            Op::RemoveGroupMember { group, user, .. } => {
                let Some(groups) = c.groups.as_mut() else {
                    return;
                };
                if let (Some(g), Some(u)) = (id(*group), id(*user)) {
                    if let Some(m) = groups.members.get_mut(&g) {
                        m.retain(|(x, _)| *x != u);
                    }
                }
            }
            // Moodle's unenrol_user also takes roles and memberships away: read again.
            Op::Unenrol { .. } | Op::UpdateEnrolment { .. } => self.invalidate(course),
            _ => {}
        }
    }
}

/// A plain role the user now holds.
fn add_role(p: &mut Person, role: i64, detailed: bool) {
    let known =
        |a: &RoleAssignment| a.role == role && a.component.as_deref().is_none_or(str::is_empty);
    if !p.roles.iter().any(known) {
        p.roles.push(RoleAssignment {
            role,
            component: detailed.then(String::new),
            itemid: detailed.then_some(0),
        });
    }
}

/// One course's groups and groupings (`core_group_get_course_groups`, `_groupings`, which
/// show the descriptions), and with `members` (no plugin), each grouping's groups
/// (`core_group_get_groupings`) and each group's members (`core_group_get_group_members`).
fn read_course_groups(client: &Client, course: i64, members: bool) -> Result<Groups, CallError> {
    let mut p = Params::new();
    p.push("courseid", course.to_string());
    let groups: Vec<GroupRec> = client
        .call("core_group_get_course_groups", &p, Retry::Safe)?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| group_rec(g, GroupKind::Group, course))
        .collect();
    let groupings: Vec<GroupRec> = client
        .call("core_group_get_course_groupings", &p, Retry::Safe)?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| group_rec(g, GroupKind::Grouping, course))
        .collect();
    let mut out = Groups {
        groups,
        groupings,
        ..Groups::default()
    };
    if !members {
        return Ok(out);
    }
    if !out.groupings.is_empty() {
        let mut q = Params::new();
        q.list(
            "groupingids",
            out.groupings
                .iter()
                .filter_map(|g| g.id.id())
                .map(|i| i.to_string()),
        );
        q.push("returngroups", "1");
        let v = client.call("core_group_get_groupings", &q, Retry::Safe)?;
        for g in v.as_array().into_iter().flatten() {
            let inside = list(g, "groups").map(|x| int(x, "id")).collect();
            out.inside.insert(int(g, "id"), inside);
        }
    }
    if !out.groups.is_empty() {
        let mut q = Params::new();
        q.list(
            "groupids",
            out.groups
                .iter()
                .filter_map(|g| g.id.id())
                .map(|i| i.to_string()),
        );
        let v = client.call("core_group_get_group_members", &q, Retry::Safe)?;
        for m in v.as_array().into_iter().flatten() {
            let users = list(m, "userids")
                .filter_map(Value::as_i64)
                .map(|u| (u, None))
                .collect();
            out.members.insert(int(m, "groupid"), users);
        }
    }
    Ok(out)
}
