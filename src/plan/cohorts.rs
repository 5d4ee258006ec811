//! Cohorts and their members: found by the configured identifier, created when missing (as
//! `[cohorts] autocreate` says), given the fields a row names, joined and left, emptied
//! (`free`) and deleted. A member who joins is enrolled through each enabled sync instance
//! bound to the cohort, and one who leaves is unenrolled from every one of them, as
//! enrol_cohort does on Moodle's membership events: the plan says so in the row's changes,
//! and the backend does it when it applies the membership.

use super::ops::{CohortUpdate, NewCohort, Op};
use super::participants::{self, row};
use super::view::{
    needs_plugin, CohortHome, CohortRec, InstanceRec, Read, ReadError, SiteView, UeRec, Wanted,
};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::keys::CohortIdentifier;
use crate::command::{CategoryBy, CohortLeave, CohortRef, CohortUpsert, Command, COHORT_PLUGINS};
use crate::config::Config;
use crate::outcome::Action;
use std::collections::HashSet;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// What a cohort command will look up, for the view to read ahead.
pub(super) fn wanted(cfg: &Config, cmd: &Command, w: &mut Wanted) {
    let c = &cfg.cohorts;
    let (key, member) = match cmd {
        Command::CohortUpsert(u) => (
            (u.cohort_by.unwrap_or(c.identifier), &u.cohort),
            u.member
                .as_ref()
                .map(|m| (u.member_by.unwrap_or(c.user_identifier), m)),
        ),
        Command::CohortLeave(l) => (
            (l.cohort_by.unwrap_or(c.identifier), &l.cohort),
            Some((l.member_by.unwrap_or(c.user_identifier), &l.member)),
        ),
        Command::CohortDelete(r) | Command::CohortEmpty(r) => {
            ((r.cohort_by.unwrap_or(c.identifier), &r.cohort), None)
        }
        Command::CohortBinding(b) => {
            w.courses
                .insert((b.course_by.unwrap_or(c.course_identifier), b.course.clone()));
            ((b.cohort_by.unwrap_or(c.identifier), &b.cohort), None)
        }
        _ => return,
    };
    w.cohorts.insert((key.0, key.1.clone()));
    if let Some((by, v)) = member.filter(|(_, v)| !v.is_empty()) {
        w.users.insert((by, v.trim().to_string()));
    }
}

/// The cohort whose `by` field is `value`, as earlier rows leave it; several fail the row
/// (names are not unique in Moodle).
pub(super) fn find(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CohortIdentifier,
    value: &str,
) -> Read<Option<CohortRec>> {
    if by == CohortIdentifier::Id && value.trim().parse::<i64>().is_err() {
        return Err(row(
            Code::InvalidValue,
            format!("cohort id '{value}' is not a number"),
        ));
    }
    let seen = view.cohorts(by, value)?;
    let mut found = p
        .overlay()
        .cohorts
        .merge(seen, |c| c.id, |c| c.holds(by, value));
    if found.len() > 1 {
        return Err(row(
            Code::AmbiguousMatch,
            format!(
                "several cohorts have {} '{value}'; make it unique in Moodle or name cohorts by idnumber",
                by.column()
            ),
        ));
    }
    Ok(found.pop())
}

/// The cohort a row names, which must exist.
pub(super) fn require(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CohortIdentifier,
    value: &str,
) -> Read<CohortRec> {
    find(p, view, by, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!("no cohort has {} '{value}'", by.column()),
        )
    })
}

fn is_member(p: &mut Planner, view: &mut dyn SiteView, cohort: Ref, user: Ref) -> Read<bool> {
    match p.overlay().cohort_members.get(&(cohort, user)) {
        Some(now) => Ok(now.is_some()),
        None if matches!(cohort, Ref::New(_)) || matches!(user, Ref::New(_)) => Ok(false),
        None => view.is_cohort_member(cohort, user),
    }
}

/// The cohort's members, by id.
pub(super) fn members(p: &mut Planner, view: &mut dyn SiteView, cohort: Ref) -> Read<Vec<Ref>> {
    let seen = match cohort {
        Ref::Id(_) => view.cohort_members(cohort)?,
        Ref::New(_) => Vec::new(),
    };
    let mut all: Vec<Ref> = p
        .overlay()
        .cohort_members
        .merge(
            seen.into_iter().map(|u| (cohort, u)).collect(),
            |k| *k,
            |(c, _)| *c == cohort,
        )
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    all.sort();
    Ok(all)
}

/// The sync instances bound to the cohort, of any course; `None` when the backend cannot
/// list them.
pub(super) fn instances(
    p: &mut Planner,
    view: &mut dyn SiteView,
    cohort: Ref,
) -> Read<Option<Vec<InstanceRec>>> {
    let Some(seen) = view.cohort_instances(cohort)? else {
        return Ok(None);
    };
    let mut all = p.overlay().instances.merge(
        seen,
        |i| i.id,
        |i| i.link == Some(cohort) && COHORT_PLUGINS.contains(&i.method.as_str()),
    );
    all.sort_by_key(|i| i.id);
    Ok(Some(all))
}

/// The users enrolled through an instance; one an earlier row adds enrols the cohort's
/// members as they were then. `None`: the backend cannot tell.
pub(super) fn enrolled_through(
    p: &mut Planner,
    view: &mut dyn SiteView,
    inst: &InstanceRec,
) -> Read<Option<HashSet<Ref>>> {
    match (inst.id, inst.link) {
        (Ref::New(_), Some(cohort)) => Ok(Some(members(p, view, cohort)?.into_iter().collect())),
        (Ref::New(_), None) => Ok(Some(HashSet::new())),
        (id, _) => Ok(view
            .enrolled_through(id)?
            .map(|users| users.into_iter().collect())),
    }
}

/// The user's enrolments in the course, as earlier rows leave them.
fn enrolments(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Option<Vec<UeRec>>> {
    match p.overlay().enrolments.get(&(course, user)) {
        Some(v) => Ok(Some(v.clone().unwrap_or_default())),
        None if matches!(course, Ref::New(_)) || matches!(user, Ref::New(_)) => {
            Ok(Some(Vec::new()))
        }
        None => view.enrolments(course, user),
    }
}

/// "course 12": how enrolment lines name an instance's course.
pub(super) fn course_shown(course: Ref) -> String {
    match course.id() {
        Some(id) => format!("course {id}"),
        None => "a course created by an earlier row".to_string(),
    }
}

fn enrolment_change(action: Action, inst: &InstanceRec, user: &str) -> PlannedChange {
    PlannedChange::new(
        action,
        "enrolment",
        inst.id,
        format!("{user} in {} ({})", course_shown(inst.course), inst.method),
    )
}

/// The category a row names as the cohort's home.
fn category_home(
    p: &mut Planner,
    view: &mut dyn SiteView,
    raw: &str,
    by: CategoryBy,
) -> Read<CohortHome> {
    let (what, found) = match by {
        CategoryBy::Id => {
            let id: i64 = raw.trim().parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("category id '{raw}' (ccatcontext) is not a number"),
                )
            })?;
            let r = Ref::Id(id);
            let found = match p.overlay().categories.get(&r) {
                Some(known) => known.clone(),
                None => view.category(r)?,
            };
            ("id", found.into_iter().collect::<Vec<_>>())
        }
        CategoryBy::Idnumber => {
            let seen = view.categories_by_idnumber(raw)?;
            let found = p
                .overlay()
                .categories
                .merge(seen, |c| c.id, |c| c.idnumber == raw);
            ("idnumber", found)
        }
    };
    match found.as_slice() {
        [c] => Ok(CohortHome::Category(c.id)),
        [] => Err(row(
            Code::CategoryUnresolved,
            format!("no category has {what} '{raw}'; the cohort's category must exist (tool_sync put such cohorts in the system context silently)"),
        )),
        _ => Err(row(
            Code::AmbiguousMatch,
            format!("several categories have {what} '{raw}'"),
        )),
    }
}

/// Fails the row when another cohort holds `idnumber` (Moodle's cohort API refuses it).
fn check_idnumber(
    p: &mut Planner,
    view: &mut dyn SiteView,
    idnumber: &str,
    except: Option<Ref>,
) -> Read<()> {
    let seen = view.cohorts(CohortIdentifier::Idnumber, idnumber)?;
    let other = p
        .overlay()
        .cohorts
        .merge(seen, |c| c.id, |c| c.idnumber == idnumber)
        .into_iter()
        .find(|c| Some(c.id) != except);
    match other {
        Some(o) => Err(row(
            Code::CohortIdnumberTaken,
            format!("idnumber '{idnumber}' belongs to {}", o.label()),
        )),
        None => Ok(()),
    }
}

/// A component the backend cannot set fails the row.
fn check_component(view: &mut dyn SiteView, component: &str) -> Read<()> {
    if view.capabilities().cohort_component {
        return Ok(());
    }
    Err(ReadError::Row(needs_plugin(
        &format!("setting the cohort's component ('{component}')"),
        "local_moosync_set_cohort_components",
    )))
}

pub(super) fn upsert(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CohortUpsert,
) -> Read<Verdict> {
    let cfg = p.cfg().cohorts.clone();
    let field = c.cohort_by.unwrap_or(cfg.identifier);
    // Everything that can fail the row is settled before anything is planned.
    let member = match &c.member {
        Some(m) => Some((
            participants::user(p, view, c.member_by.unwrap_or(cfg.user_identifier), m)?,
            m.as_str(),
        )),
        None => None,
    };
    let home = match &c.category {
        Some(cat) => Some(category_home(
            p,
            view,
            cat,
            c.category_by.unwrap_or(CategoryBy::Id),
        )?),
        None => None,
    };
    let before = draft.changes.len();
    let cohort = match find(p, view, field, &c.cohort)? {
        Some(found) if c.update => update(p, view, draft, c, field, found, home)?,
        Some(found) => found,
        None => create(p, view, draft, c, field, home)?,
    };
    if let Some((user, shown)) = member {
        join(p, view, draft, &cohort, user, shown)?;
    }
    if draft.changes.len() == before {
        draft.changes.push(PlannedChange::new(
            Action::Unchanged,
            "cohort",
            cohort.id,
            cohort.shown(),
        ));
    }
    Ok(Verdict::Done)
}

fn create(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CohortUpsert,
    field: CohortIdentifier,
    home: Option<CohortHome>,
) -> Read<CohortRec> {
    let key = c.cohort.as_str();
    if !c.create.unwrap_or(p.cfg().cohorts.autocreate) {
        return Err(row(
            Code::NotFound,
            format!("no cohort has {} '{key}', and [cohorts] autocreate is off; create it in Moodle or turn autocreate on", field.column()),
        ));
    }
    let (name, idnumber) = match field {
        CohortIdentifier::Name => (Some(key), given(&c.idnumber)),
        CohortIdentifier::Idnumber => (given(&c.name), Some(key)),
        CohortIdentifier::Id => {
            return Err(row(
                Code::NotFound,
                format!("no cohort has id {key}; ids are given by Moodle, so name new cohorts by idnumber or name"),
            ))
        }
    };
    let name = name.ok_or_else(|| {
        row(
            Code::MissingValue,
            format!("cohort '{key}' does not exist and a new cohort needs a name (cname)"),
        )
    })?;
    match idnumber {
        Some(idn) => check_idnumber(p, view, idn, None)?,
        None if !view.capabilities().cohort_without_idnumber => {
            return Err(ReadError::Row(needs_plugin(
                &format!("creating cohort '{name}' without an idnumber (cidnumber), which core_cohort_create_cohorts refuses once another cohort of the site has none,"),
                "local_moosync_create_cohorts",
            )))
        }
        None => {}
    }
    let component = given(&c.component).unwrap_or("");
    if !component.is_empty() {
        check_component(view, component)?;
    }
    let new = p.new_ref();
    let rec = CohortRec {
        id: new,
        name: name.to_string(),
        idnumber: idnumber.unwrap_or("").to_string(),
        description: c.description.clone().unwrap_or_default(),
        home: Some(home.unwrap_or(CohortHome::System)),
        component: component.to_string(),
    };
    p.overlay().set_cohort(new, Some(rec.clone()));
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "cohort",
        new,
        rec.shown(),
    ));
    draft.ops.push(Op::CreateCohort(NewCohort {
        new,
        home: rec.home.unwrap_or(CohortHome::System),
        name: rec.name.clone(),
        idnumber: rec.idnumber.clone(),
        description: rec.description.clone(),
        component: rec.component.clone(),
    }));
    Ok(rec)
}

/// Writes the given fields that differ; the identifying field itself is never rewritten.
fn update(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CohortUpsert,
    field: CohortIdentifier,
    s: CohortRec,
    home: Option<CohortHome>,
) -> Read<CohortRec> {
    let differs =
        |v: &Option<String>, now: &str| given(v).filter(|v| *v != now).map(str::to_string);
    let mut up = CohortUpdate {
        cohort: Some(s.id),
        name: differs(&c.name, &s.name).filter(|_| field != CohortIdentifier::Name),
        idnumber: differs(&c.idnumber, &s.idnumber).filter(|_| field != CohortIdentifier::Idnumber),
        description: differs(&c.description, &s.description),
        component: differs(&c.component, &s.component),
        // A home the backend cannot read is not compared (nor sent for its own sake).
        home: home.filter(|h| s.home.is_some_and(|now| now != *h)),
    };
    if let Some(idn) = &up.idnumber {
        check_idnumber(p, view, idn, Some(s.id))?;
    }
    if let Some(component) = &up.component {
        check_component(view, component)?;
    }
    let mut fields = Vec::new();
    for (col, set) in [
        ("name", up.name.is_some()),
        ("idnumber", up.idnumber.is_some()),
        ("description", up.description.is_some()),
        ("component", up.component.is_some()),
        ("contextid", up.home.is_some()),
    ] {
        if set {
            fields.push(col.to_string());
        }
    }
    if fields.is_empty() {
        return Ok(s);
    }
    if s.home.is_none() && home.is_none() {
        // core_cohort_update_cohorts puts a cohort in the category it is given.
        return Err(ReadError::Row(needs_plugin(
            &format!("updating {}, which lives in a category that Moodle's core web services do not name, without naming its category in the row (ccatcontext or ccatcontextidnumber)", s.label()),
            "local_moosync_get_cohorts",
        )));
    }
    if up.home.is_none() && s.home.is_none() {
        up.home = home;
    }
    let mut after = s.clone();
    if let Some(v) = &up.name {
        after.name = v.clone();
    }
    if let Some(v) = &up.idnumber {
        after.idnumber = v.clone();
    }
    if let Some(v) = &up.description {
        after.description = v.clone();
    }
    if let Some(v) = &up.component {
        after.component = v.clone();
    }
    if let Some(h) = up.home {
        after.home = Some(h);
    }
    p.overlay().set_cohort(s.id, Some(after.clone()));
    draft
        .changes
        .push(PlannedChange::new(Action::Updated, "cohort", s.id, s.shown()).with_fields(fields));
    draft.ops.push(Op::UpdateCohort(up));
    Ok(after)
}

/// Adds the member; the cohort's enabled instances enrol them.
fn join(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    cohort: &CohortRec,
    user: Ref,
    shown: &str,
) -> Read<()> {
    if is_member(p, view, cohort.id, user)? {
        return Ok(());
    }
    p.overlay()
        .set_cohort_member((cohort.id, user), Some((cohort.id, user)));
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "cohort_member",
        cohort.id,
        format!("{shown} in {}", cohort.shown()),
    ));
    draft.ops.push(Op::AddCohortMember {
        cohort: cohort.id,
        user,
    });
    for inst in instances(p, view, cohort.id)?.unwrap_or_default() {
        if !inst.enabled {
            continue;
        }
        let Some(mut now) = enrolments(p, view, inst.course, user)? else {
            continue;
        };
        if now.iter().any(|e| e.instance == inst.id) {
            continue;
        }
        // enrol_cohort's member_added enrols with no period, whatever the instance's dates.
        now.push(UeRec {
            instance: inst.id,
            suspended: Some(false),
            start: Some(0),
            end: Some(0),
        });
        p.overlay().set_enrolments((inst.course, user), Some(now));
        draft
            .changes
            .push(enrolment_change(Action::Created, &inst, shown));
    }
    Ok(())
}

pub(super) fn leave(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    l: &CohortLeave,
) -> Read<Verdict> {
    let cfg = p.cfg().cohorts.clone();
    // The user first: an unknown user fails the row whatever the cohort.
    let user = participants::user(
        p,
        view,
        l.member_by.unwrap_or(cfg.user_identifier),
        &l.member,
    )?;
    let cohort = require(p, view, l.cohort_by.unwrap_or(cfg.identifier), &l.cohort)?;
    if !is_member(p, view, cohort.id, user)? {
        return Ok(Verdict::Nothing(format!(
            "{} is not a member of {}",
            l.member,
            cohort.label()
        )));
    }
    p.overlay().set_cohort_member((cohort.id, user), None);
    draft.changes.push(PlannedChange::new(
        Action::Deleted,
        "cohort_member",
        cohort.id,
        format!("{} in {}", l.member, cohort.shown()),
    ));
    draft.ops.push(Op::RemoveCohortMember {
        cohort: cohort.id,
        user,
    });
    // Leaving unenrols from every instance bound to the cohort, enabled or not.
    for inst in instances(p, view, cohort.id)?.unwrap_or_default() {
        let Some(now) = enrolments(p, view, inst.course, user)? else {
            continue;
        };
        if !now.iter().any(|e| e.instance == inst.id) {
            continue;
        }
        let left: Vec<UeRec> = now.into_iter().filter(|e| e.instance != inst.id).collect();
        p.overlay().set_enrolments((inst.course, user), Some(left));
        draft
            .changes
            .push(enrolment_change(Action::Deleted, &inst, &l.member));
    }
    Ok(Verdict::Done)
}

/// `free`: every member leaves, and is unenrolled where the cohort enrolled them.
pub(super) fn empty(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    r: &CohortRef,
) -> Read<Verdict> {
    let by = r.cohort_by.unwrap_or(p.cfg().cohorts.identifier);
    let cohort = require(p, view, by, &r.cohort)?;
    let all = members(p, view, cohort.id)?;
    if all.is_empty() {
        return Ok(Verdict::Nothing(format!(
            "{} has no members",
            cohort.label()
        )));
    }
    let mut unenrolled = 0;
    for inst in instances(p, view, cohort.id)?.unwrap_or_default() {
        if let Some(through) = enrolled_through(p, view, &inst)? {
            unenrolled += all.iter().filter(|u| through.contains(u)).count();
        }
    }
    for user in &all {
        p.overlay().set_cohort_member((cohort.id, *user), None);
        draft.ops.push(Op::RemoveCohortMember {
            cohort: cohort.id,
            user: *user,
        });
    }
    let mut fields = vec![format!("{} members removed", all.len())];
    if unenrolled > 0 {
        fields.push(format!("{unenrolled} enrolments removed"));
    }
    draft.changes.push(
        PlannedChange::new(Action::Updated, "cohort", cohort.id, cohort.shown())
            .with_fields(fields),
    );
    Ok(Verdict::Done)
}

/// Deletes the cohort with its memberships; the sync instances bound to it go with their
/// enrolments (enrol_cohort's reaction to a deleted cohort).
pub(super) fn delete(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    r: &CohortRef,
) -> Read<Verdict> {
    let by = r.cohort_by.unwrap_or(p.cfg().cohorts.identifier);
    let Some(cohort) = find(p, view, by, &r.cohort)? else {
        return Ok(Verdict::Nothing(format!(
            "no cohort has {} '{}' (already deleted?)",
            by.column(),
            r.cohort
        )));
    };
    let all = members(p, view, cohort.id)?;
    draft.changes.push(
        PlannedChange::new(Action::Deleted, "cohort", cohort.id, cohort.shown())
            .with_fields(vec![format!("{} members", all.len())]),
    );
    for inst in instances(p, view, cohort.id)?.unwrap_or_default() {
        let fields = match enrolled_through(p, view, &inst)? {
            Some(through) => vec![format!("{} enrolments removed", through.len())],
            None => Vec::new(),
        };
        p.overlay().set_instance(inst.id, None);
        draft.changes.push(
            PlannedChange::new(
                Action::Deleted,
                "enrol",
                inst.id,
                format!("{} instance of {}", inst.method, course_shown(inst.course)),
            )
            .with_fields(fields),
        );
    }
    for user in all {
        p.overlay().set_cohort_member((cohort.id, user), None);
    }
    p.overlay().set_cohort(cohort.id, None);
    draft.ops.push(Op::DeleteCohort { cohort: cohort.id });
    Ok(Verdict::Done)
}
