//! A course row's teachers over REST, sent as enrolment commands after their course, until
//! course rows are planned (their teachers then become planned `Enrol` operations, and this
//! goes): manual enrolments and role assignments. Courses are looked up once per run, and
//! who is enrolled with which roles once per course, so a row that changes nothing sends
//! nothing. Enrolment rows themselves are planned (`src/plan/enrolments.rs`).

use super::calls::{self, Ctx};
use super::client::Retry;
use super::directory::{Directory, Field};
use super::form::Params;
use super::ledger::{Ledger, Link};
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::Enrolment;
use crate::config::{CourseIdentifier, EnrolCmd, UserIdentifier};
use crate::outcome::{Action, Change, Outcome};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// Courses and their participants as the run has seen them.
#[derive(Default)]
pub struct Courses {
    ids: HashMap<(CourseIdentifier, String), Option<i64>>,
    /// Per course: user id -> the ids of the roles held in the course.
    enrolled: HashMap<i64, HashMap<i64, BTreeSet<i64>>>,
}

/// The one call a row comes to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Call {
    Enrol,
    Unenrol,
    Assign,
    Unassign,
}

impl calls::CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Enrol => "enrol_manual_enrol_users",
            Call::Unenrol => "enrol_manual_unenrol_users",
            Call::Assign => "core_role_assign_roles",
            Call::Unassign => "core_role_unassign_roles",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Enrol | Call::Unenrol => "enrolments",
            Call::Assign => "assignments",
            Call::Unassign => "unassignments",
        }
    }
}

struct Planned {
    /// None for a `shift` that only takes roles away.
    call: Option<Call>,
    item: Params,
    /// A `shift`'s other roles in the course, taken away once its own call succeeded.
    unassign: Vec<(i64, Params)>,
    user: i64,
    course: i64,
    role: Option<i64>,
    change: Change,
}

pub(super) fn user_field(f: UserIdentifier) -> Field {
    match f {
        UserIdentifier::Username => Field::Username,
        UserIdentifier::Idnumber => Field::Idnumber,
        UserIdentifier::Email => Field::Email,
        UserIdentifier::Id => Field::Id,
    }
}

fn failed(code: Code, msg: String) -> Result<Option<Planned>, Outcome> {
    Err(Outcome::Failed(Failure::new(code, msg)))
}

impl Courses {
    /// Looks up the courses not seen yet (one call each, in parallel), then who is enrolled
    /// in each course found.
    pub(super) fn fetch(
        &mut self,
        ctx: &Ctx,
        wanted: Vec<(CourseIdentifier, String)>,
    ) -> Result<(), Failure> {
        let new = wanted.into_iter().filter(|k| !self.ids.contains_key(k));
        let mut ids = Vec::new();
        for (key, r) in super::courses::look_up(ctx.client, ctx.cfg.target.parallel, new)? {
            let id = r.map(|r| r.id);
            ids.extend(id);
            self.ids.insert(key, id);
        }
        let ids: Vec<i64> = ids
            .into_iter()
            .filter(|id| !self.enrolled.contains_key(id))
            .collect();
        self.read_participants(ctx, ids)
    }

    /// Reads who is enrolled in each course, with their roles, one call per course.
    fn read_participants(&mut self, ctx: &Ctx, ids: Vec<i64>) -> Result<(), Failure> {
        let lists = pool::map(&ids, ctx.cfg.target.parallel, |id| {
            let mut p = Params::new();
            p.push("courseid", id.to_string())
                .push("options[0][name]", "userfields")
                .push("options[0][value]", "id,roles");
            ctx.client
                .call("core_enrol_get_enrolled_users", &p, Retry::Safe)
        });
        for (id, list) in ids.into_iter().zip(lists) {
            let list =
                list.map_err(|e| calls::stop_or(e, "the list of a course's participants"))?;
            let mut who = HashMap::new();
            for u in list.as_array().into_iter().flatten() {
                let Some(uid) = u.get("id").and_then(Value::as_i64) else {
                    continue;
                };
                let roles = u
                    .get("roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("roleid").and_then(Value::as_i64))
                    .collect();
                who.insert(uid, roles);
            }
            self.enrolled.insert(id, who);
        }
        Ok(())
    }
}

/// Applies enrolment rows with no (user, course) twice; one outcome per row.
pub fn apply(
    ctx: &Ctx,
    dir: &mut Directory,
    courses: &mut Courses,
    rows: &[&Enrolment],
) -> Result<Vec<Outcome>, Failure> {
    let ledger = ctx.ledger;
    let t = &ctx.cfg.target;
    let e_cfg = &ctx.cfg.enrolments;
    let user_key = |e: &Enrolment| {
        (
            user_field(e.user_by.unwrap_or(e_cfg.user_identifier)),
            e.user.clone(),
        )
    };
    let course_key = |e: &Enrolment| {
        (
            e.course_by.unwrap_or(e_cfg.course_identifier),
            e.course.clone(),
        )
    };
    dir.fetch(
        ctx.client,
        t.parallel,
        t.batch_size,
        rows.iter().map(|e| user_key(e)),
    )?;
    courses.fetch(ctx, rows.iter().map(|e| course_key(e)).collect())?;
    let plans: Vec<Result<Option<Planned>, Outcome>> = rows
        .iter()
        .map(|e| plan(ctx, dir, courses, ledger, e, user_key(e), course_key(e)))
        .collect();
    if ctx.dry_run {
        // The run's later commands (a row's groups) see the enrolments it would make.
        for p in plans.iter().filter_map(|p| p.as_ref().ok()?.as_ref()) {
            if let Some(call) = p.call {
                record(courses, call, p, p.role);
            }
            for (r, _) in &p.unassign {
                record(courses, Call::Unassign, p, Some(*r));
            }
        }
        return Ok(plans.into_iter().map(settled_without_call).collect());
    }
    if plans
        .iter()
        .any(|p| matches!(p, Ok(Some(p)) if !p.unassign.is_empty()))
    {
        // Checked before the first write: a shift never stops half done for want of it.
        calls::require(ctx.functions, "core_role_unassign_roles")?;
    }
    // Each call sends the whole wanted state, so sending it twice is sending it once.
    let first: Vec<Item> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Ok(Some(Planned {
                call: Some(call),
                item,
                role,
                ..
            })) => Some((i, *role, *call, item)),
            _ => None,
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    settle(ctx, courses, &plans, &mut outcomes, &first)?;
    // A shift's other roles go once its new role is given: never a user left with none
    // because the new one was refused.
    let second: Vec<Item> = plans
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(outcomes[*i], Some(Outcome::Failed(_))))
        .filter_map(|(i, p)| match p {
            Ok(Some(p)) => Some((i, p)),
            _ => None,
        })
        .flat_map(|(i, p)| {
            p.unassign
                .iter()
                .map(move |(r, item)| (i, Some(*r), Call::Unassign, item))
        })
        .collect();
    if !second.is_empty() {
        settle(ctx, courses, &plans, &mut outcomes, &second)?;
        kept_roles(ctx, courses, ledger, &plans, &mut outcomes)?;
    }
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .map(|(p, o)| match (p, o) {
            (_, Some(o)) => o,
            (p, None) => settled_without_call(p),
        })
        .collect())
}

/// One item to send: its row, the role it gives or takes, its call and parameters.
type Item<'a> = (usize, Option<i64>, Call, &'a Params);

/// Sends `items` (one list per function, in calls of batch_size, split where Moodle
/// refuses), turns the answers into the rows' outcomes, and keeps the participants' cache
/// true to what was done. A row's first failure is kept.
fn settle(
    ctx: &Ctx,
    courses: &mut Courses,
    plans: &[Result<Option<Planned>, Outcome>],
    outcomes: &mut [Option<Outcome>],
    items: &[Item],
) -> Result<(), Failure> {
    let answers = calls::send_each(ctx, items.iter().map(|(_, _, call, item)| (*call, *item)))?;
    for (&(i, r, call, _), answer) in items.iter().zip(answers) {
        let Ok(Some(p)) = &plans[i] else { continue };
        if answer.is_ok() {
            record(courses, call, p, r);
        }
        if matches!(outcomes[i], Some(Outcome::Failed(_))) {
            continue;
        }
        outcomes[i] = Some(match answer {
            Err(m) => Outcome::Failed(Failure::new(
                Code::RemoteRejected,
                format!("Moodle refused the row: {m}"),
            )),
            Ok(_) => Outcome::Applied(vec![p.change.clone()]),
        });
    }
    Ok(())
}

/// core_role_unassign_roles takes away manual roles only, and says nothing of the others
/// (those of cohort sync, meta links…). The courses where a shift took roles away are read
/// again: a role still held is reported kept and noted in the ledger, so a re-run does not
/// ask again.
fn kept_roles(
    ctx: &Ctx,
    courses: &mut Courses,
    ledger: &Ledger,
    plans: &[Result<Option<Planned>, Outcome>],
    outcomes: &mut [Option<Outcome>],
) -> Result<(), Failure> {
    let shifted: Vec<(usize, &Planned)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Ok(Some(p)) if !p.unassign.is_empty() => Some((i, p)),
            _ => None,
        })
        .filter(|(i, _)| matches!(outcomes[*i], Some(Outcome::Applied(_))))
        .collect();
    let mut ids: Vec<i64> = shifted.iter().map(|(_, p)| p.course).collect();
    ids.sort_unstable();
    ids.dedup();
    courses.read_participants(ctx, ids).map_err(|e| {
        Failure::new(
            e.code,
            format!("{} (reading the courses a shift changed)", e.message),
        )
    })?;
    let site = ctx.client.site().to_string();
    let mut kept_links = Vec::new();
    for (i, p) in shifted {
        let held = courses.enrolled.get(&p.course).and_then(|w| w.get(&p.user));
        let kept: Vec<i64> = p
            .unassign
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| held.is_some_and(|h| h.contains(r)))
            .collect();
        if kept.is_empty() {
            continue;
        }
        kept_links.extend(
            kept.iter()
                .map(|r| (Link::KeptRole, (p.user, p.course, *r), true)),
        );
        let removed = p.unassign.len() - kept.len();
        let mut change = p.change.clone();
        change.fields.retain(|f| !f.starts_with("roles removed"));
        if removed > 0 {
            change.fields.push(format!("roles removed {removed}"));
        }
        change.fields.push(format!(
            "roles kept {} (another enrol method gives them)",
            kept.len()
        ));
        if p.call.is_none() && removed == 0 {
            change.action = Action::Unchanged;
        }
        outcomes[i] = Some(Outcome::Applied(vec![change]));
    }
    ledger.record_links(&site, &kept_links)
}

fn settled_without_call(p: Result<Option<Planned>, Outcome>) -> Outcome {
    match p {
        Err(o) => o,
        Ok(None) => unreachable!("a row without a call is settled by plan()"),
        Ok(Some(p)) => Outcome::Applied(vec![p.change]),
    }
}

/// Keeps the participants' cache true to what a call did.
fn record(courses: &mut Courses, call: Call, p: &Planned, role: Option<i64>) {
    let who = courses.enrolled.entry(p.course).or_default();
    match call {
        Call::Enrol => {
            who.entry(p.user).or_default().extend(role);
        }
        // A role given without an enrolment does not make its holder a participant.
        Call::Assign => {
            if let (Some(roles), Some(r)) = (who.get_mut(&p.user), role) {
                roles.insert(r);
            }
        }
        Call::Unenrol => {
            who.remove(&p.user);
        }
        Call::Unassign => {
            if let (Some(roles), Some(r)) = (who.get_mut(&p.user), role) {
                roles.remove(&r);
            }
        }
    }
}

fn plan(
    ctx: &Ctx,
    dir: &Directory,
    courses: &Courses,
    ledger: &Ledger,
    e: &Enrolment,
    (uf, uv): (Field, String),
    (cf, cv): (CourseIdentifier, String),
) -> Result<Option<Planned>, Outcome> {
    let label = format!("{} in {}", e.user, e.course);
    let users = dir.find(uf, &uv).unwrap_or_default();
    let user = match users.as_slice() {
        [a] if !a.deleted => a.id,
        [] | [_] => {
            return failed(
                Code::NotFound,
                format!("no account has {} '{uv}'; the users file must create it first", uf.name()),
            )
        }
        many => {
            return failed(
                Code::AmbiguousMatch,
                format!("{} accounts match '{uv}'; make the value unique or change [enrolments] user_identifier", many.len()),
            )
        }
    };
    let Some(course) = courses.ids.get(&(cf, cv.clone())).copied().flatten() else {
        return failed(
            Code::NotFound,
            format!(
                "no course has {} '{cv}' (or the token's user cannot see it)",
                cf.column()
            ),
        );
    };
    if course == 1 {
        return failed(
            Code::SiteCourse,
            "the site course (front page) cannot be changed by a feed".into(),
        );
    }
    let role = match e.role.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => match ctx.cfg.target.roles.get(r) {
            Some(id) => Some(*id),
            None => {
                return failed(
                    Code::UnknownRole,
                    format!("no role '{r}' in [target.roles]; list the site's role shortnames and ids there"),
                )
            }
        },
        None => None,
    };
    let cmd = match e.cmd.as_deref() {
        Some("del") => EnrolCmd::Del,
        Some("shift") => EnrolCmd::Shift,
        Some(_) => EnrolCmd::Add,
        None => ctx.cfg.enrolments.default_cmd,
    };
    let method = e.method.as_deref().filter(|m| !m.is_empty());
    if method.is_some_and(|m| m != "manual") {
        return failed(
            Code::RemoteUnsupported,
            format!("enrolling through '{}' over REST: Moodle's web services enrol only through the manual method; use enrol = manual, or the embedded store", method.unwrap_or("")),
        );
    }
    if cmd == EnrolCmd::Shift && role.is_none() {
        return failed(
            Code::MissingValue,
            "shift needs a role: the role that replaces the user's roles in the course".into(),
        );
    }
    let held = courses.enrolled.get(&course).and_then(|w| w.get(&user));
    let has_role = |r: i64| held.is_some_and(|h| h.contains(&r));
    // A shift takes away every other role Moodle lists for the user in the course.
    let others = |keep: i64| -> Vec<(i64, Params)> {
        if cmd != EnrolCmd::Shift {
            return Vec::new();
        }
        // Not the roles another enrol method gives, which a shift once failed to take away.
        let site = ctx.client.site();
        held.into_iter()
            .flatten()
            .filter(|r| **r != keep)
            .filter(|r| !ledger.linked(site, Link::KeptRole, (user, course, **r)))
            .map(|r| (*r, assignment(*r, user, course)))
            .collect()
    };
    let entity_of = |call: Option<Call>| match call {
        Some(Call::Enrol | Call::Unenrol) => "enrolment",
        _ => "role_assignment",
    };
    let planned = |call: Option<Call>,
                   item: Params,
                   action: Action,
                   role: i64,
                   unassign: Vec<(i64, Params)>| {
        let mut change = Change::new(action, entity_of(call), user, label.clone());
        if !unassign.is_empty() {
            change
                .fields
                .push(format!("roles removed {}", unassign.len()));
        }
        Ok(Some(Planned {
            call,
            item,
            unassign,
            user,
            course,
            role: Some(role),
            change,
        }))
    };
    match (cmd, method) {
        (EnrolCmd::Add | EnrolCmd::Shift, Some(_)) => {
            // No role: the manual method's default, student on a fresh site (as the store).
            let Some(r) = role.or_else(|| ctx.cfg.target.roles.get("student").copied()) else {
                return failed(Code::MissingValue, "a role is needed to enrol through Moodle's web services, and [target.roles] has no student".into());
            };
            let unassign = others(r);
            let dated = e.timestart.is_some() || e.timeend.is_some() || e.suspended.is_some();
            match held {
                // Moodle does not say an enrolment's dates or status: a row giving them is
                // always sent, with the whole state, as a re-send resets what it leaves out.
                Some(_) if !dated && has_role(r) && unassign.is_empty() => {
                    unchanged(user, &label, "enrolment")
                }
                Some(_) if !dated && has_role(r) => {
                    planned(None, Params::new(), Action::Updated, r, unassign)
                }
                Some(_) if !dated => planned(
                    Some(Call::Assign),
                    assignment(r, user, course),
                    Action::Updated,
                    r,
                    unassign,
                ),
                _ => {
                    let mut item = Params::new();
                    item.push("roleid", r.to_string())
                        .push("userid", user.to_string())
                        .push("courseid", course.to_string());
                    if let Some(t) = e.timestart {
                        item.push("timestart", t.to_string());
                    }
                    if let Some(t) = e.timeend {
                        item.push("timeend", t.to_string());
                    }
                    if let Some(s) = e.suspended {
                        item.push("suspend", if s { "1" } else { "0" });
                    }
                    let action = if held.is_some() {
                        Action::Updated
                    } else {
                        Action::Created
                    };
                    planned(Some(Call::Enrol), item, action, r, unassign)
                }
            }
        }
        (EnrolCmd::Del, Some(_)) => {
            if held.is_none() {
                return Err(Outcome::Skipped(format!("{label}: not enrolled")));
            }
            let mut item = Params::new();
            item.push("userid", user.to_string())
                .push("courseid", course.to_string());
            Ok(Some(Planned {
                call: Some(Call::Unenrol),
                item,
                unassign: Vec::new(),
                user,
                course,
                role,
                change: Change::new(Action::Deleted, "enrolment", user, label),
            }))
        }
        // Without a method: a role assignment in the course context.
        (_, None) => {
            let Some(r) = role else {
                return failed(
                    Code::MissingValue,
                    "a row without an enrol method assigns or removes a role: give one".into(),
                );
            };
            // Moodle lists the roles of enrolled users only: a role held without an
            // enrolment is not seen, so removing one is always sent (it is harmless when
            // the role is not held), and so is giving one to a user not enrolled.
            let unassign = others(r);
            let (call, action) = match cmd {
                EnrolCmd::Del if held.is_some() && !has_role(r) => {
                    return unchanged(user, &label, "role_assignment")
                }
                EnrolCmd::Del => (Some(Call::Unassign), Action::Deleted),
                _ if !has_role(r) => (Some(Call::Assign), Action::Created),
                EnrolCmd::Shift if !unassign.is_empty() => (None, Action::Updated),
                _ => return unchanged(user, &label, "role_assignment"),
            };
            let item = if call.is_some() {
                assignment(r, user, course)
            } else {
                Params::new()
            };
            planned(call, item, action, r, unassign)
        }
    }
}

/// A role in a course's context, as core_role_assign_roles and unassign_roles take it.
fn assignment(role: i64, user: i64, course: i64) -> Params {
    let mut item = Params::new();
    item.push("roleid", role.to_string())
        .push("userid", user.to_string())
        .push("contextlevel", "course")
        .push("instanceid", course.to_string());
    item
}

/// Already as the row wants: no call.
fn unchanged(user: i64, label: &str, entity: &'static str) -> Result<Option<Planned>, Outcome> {
    Err(Outcome::Applied(vec![Change::new(
        Action::Unchanged,
        entity,
        user,
        label.to_string(),
    )]))
}
