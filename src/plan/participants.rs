//! What enrolment, group and cohort rows read, as the batch's earlier rows leave it: the account and
//! the course a row names, the roles that can be given in a course, a course's enrol
//! instances, a user's enrolments and roles there, and the course's groups, groupings and
//! memberships. Each read is the view's answer with the overlay laid over it.

use super::view::{
    CourseRec, GroupKind, GroupRec, InstanceRec, MemberRec, Read, ReadError, RoleAssignment,
    RoleRec, SiteView, UeRec, UserRec,
};
use super::{Planner, Ref};
use crate::codes::{Code, Failure};
use crate::command::keys::{CourseIdentifier, GroupIdentifier, UserIdentifier};

pub(super) fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

/// The live account a row names by `by`; none or several fail the row. Only its id: the
/// rows that name participants need no more, and reading whole accounts would cost each row
/// far more than the lookup.
pub(super) fn user(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: UserIdentifier,
    value: &str,
) -> Read<Ref> {
    if by == UserIdentifier::Id && value.trim().parse::<i64>().is_err() {
        return Err(row(
            Code::InvalidValue,
            format!("user id '{value}' is not a number"),
        ));
    }
    let key = value.trim();
    let seen = view.user_ids(by, key)?;
    let o = p.overlay();
    // As earlier rows leave them: the site's accounts unless a row changed or deleted them,
    // then those rows' accounts that hold the key.
    let live = |u: &UserRec| !u.deleted && super::users::matches(u, by, key);
    let mut found: Vec<Ref> = Vec::new();
    for id in &seen {
        match o.users.get(id) {
            Some(Some(u)) if !live(u) => {}
            Some(None) => {}
            _ => found.push(*id),
        }
    }
    for id in o.users_holding(by, key) {
        if !seen.contains(id) && !found.contains(id) {
            if let Some(Some(u)) = o.users.get(id) {
                if live(u) {
                    found.push(*id);
                }
            }
        }
    }
    match found.len() {
        1 => Ok(found[0]),
        0 => {
            // Moodle usernames are lower-case: say so when that is the likely mistake.
            let hint = if by == UserIdentifier::Username && value.chars().any(char::is_uppercase) {
                " (Moodle usernames are lower-case)"
            } else {
                ""
            };
            Err(row(
                Code::NotFound,
                format!("no account has {} '{value}'{hint}", by.column()),
            ))
        }
        _ => Err(row(
            Code::AmbiguousMatch,
            format!("several accounts have {} '{value}'", by.column()),
        )),
    }
}

fn course_matches(c: &CourseRec, by: CourseIdentifier, value: &str) -> bool {
    match by {
        CourseIdentifier::Shortname => c.shortname == value,
        CourseIdentifier::Idnumber => !value.is_empty() && c.idnumber == value,
        CourseIdentifier::Id => c.id.id().is_some_and(|id| id.to_string() == value.trim()),
    }
}

/// The course a row names by `by`; none fails the row, and so does the site course.
pub(super) fn course(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CourseIdentifier,
    value: &str,
) -> Read<CourseRec> {
    let seen = view.courses(by, value)?;
    let o = p.overlay();
    let mut found = o.courses.merge_among(
        seen,
        |c| c.id,
        |c| course_matches(c, by, value),
        o.courses_holding(by, value).iter(),
    );
    found.sort_by_key(|c| c.id);
    let Some(c) = found.into_iter().next() else {
        return Err(row(
            Code::NotFound,
            format!("no course has {} '{value}'", by.column()),
        ));
    };
    if c.site {
        return Err(row(
            Code::SiteCourse,
            "that is the site course (the front page); a feed cannot change it".into(),
        ));
    }
    Ok(c)
}

/// A course by its reference (for labels of what the end of a file purges).
pub(super) fn course_by_ref(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
) -> Read<Option<CourseRec>> {
    if let Some(known) = p.overlay().courses.get(&course) {
        return Ok(known.clone());
    }
    let Some(id) = course.id() else {
        return Ok(None);
    };
    Ok(view
        .courses(CourseIdentifier::Id, &id.to_string())?
        .into_iter()
        .next())
}

/// Roles whose archetype Moodle lets one assign in a course (`role_context_levels` of a
/// fresh site).
const COURSE_ROLES: &str = "student, teacher, editingteacher or manager";

/// A role that can be given in a course, by shortname.
pub(super) fn course_role(view: &mut dyn SiteView, shortname: &str) -> Read<RoleRec> {
    match view.role(shortname)? {
        None => Err(row(
            Code::UnknownRole,
            format!("no role has shortname '{shortname}'; use a role of the site (Site administration > Users > Define roles), such as {COURSE_ROLES}"),
        )),
        Some(r) if !r.course_assignable => Err(row(
            Code::UnknownRole,
            format!("role '{shortname}' cannot be given in a course; use one such as {COURSE_ROLES}"),
        )),
        Some(r) => Ok(r),
    }
}

/// A role's shortname, for report lines.
pub(super) fn role_name(view: &mut dyn SiteView, role: i64) -> Read<String> {
    Ok(view
        .role_by_id(role)?
        .map(|r| r.shortname)
        .unwrap_or_else(|| format!("role id {role}")))
}

/// The course's enrol instances, in Moodle's order.
pub(super) fn instances(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
) -> Read<Vec<InstanceRec>> {
    let seen = view.instances(course)?;
    let mut all = p
        .overlay()
        .instances
        .merge(seen, |i| i.id, |i| i.course == course);
    // Those an earlier row adds come after the course's own.
    all.sort_by_key(|i| matches!(i.id, Ref::New(_)));
    Ok(all)
}

/// The user's enrolments in the course; `None` when the site does not say through which
/// instances.
pub(super) fn enrolments(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Option<Vec<UeRec>>> {
    match p.overlay().enrolments.get(&(course, user)) {
        Some(v) => Ok(Some(v.clone().unwrap_or_default())),
        None => view.enrolments(course, user),
    }
}

/// Whether the user is enrolled in the course through any instance.
pub(super) fn is_enrolled(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<bool> {
    match p.overlay().enrolments.get(&(course, user)) {
        Some(v) => Ok(v.as_ref().is_some_and(|v| !v.is_empty())),
        None => view.is_enrolled(course, user),
    }
}

/// The roles the user holds in the course's context.
pub(super) fn roles(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Vec<RoleAssignment>> {
    match p.overlay().roles.get(&(course, user)) {
        Some(v) => Ok(v.clone().unwrap_or_default()),
        None => view.course_roles(course, user),
    }
}

/// The course's groups (or groupings).
pub(super) fn groups(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    kind: GroupKind,
) -> Read<Vec<GroupRec>> {
    let seen = view.groups(course, kind)?;
    let mut all =
        p.overlay()
            .groups
            .merge(seen, |g| g.id, |g| g.course == course && g.kind == kind);
    all.sort_by_key(|g| (matches!(g.id, Ref::New(_)), g.id));
    Ok(all)
}

/// Whether a group holds `key` in `by`.
pub(super) fn group_matches(g: &GroupRec, by: GroupIdentifier, key: &str) -> bool {
    match by {
        GroupIdentifier::Name => g.name == key,
        GroupIdentifier::Idnumber => g.idnumber == key,
        GroupIdentifier::Id => g.id.id().is_some_and(|id| id.to_string() == key.trim()),
    }
}

/// The groups in a grouping; `None` when the site does not say.
pub(super) fn grouping_groups(
    p: &mut Planner,
    view: &mut dyn SiteView,
    grouping: Ref,
) -> Read<Option<Vec<Ref>>> {
    match p.overlay().grouping_groups.get(&grouping) {
        Some(v) => Ok(Some(v.clone().unwrap_or_default())),
        None if matches!(grouping, Ref::New(_)) => Ok(Some(Vec::new())),
        None => view.grouping_groups(grouping),
    }
}

/// The members of a group.
pub(super) fn members(
    p: &mut Planner,
    view: &mut dyn SiteView,
    group: Ref,
) -> Read<Vec<MemberRec>> {
    match p.overlay().members.get(&group) {
        Some(v) => Ok(v.clone().unwrap_or_default()),
        None if matches!(group, Ref::New(_)) => Ok(Vec::new()),
        None => view.group_members(group),
    }
}

/// The user's membership of a group, if they are in it.
pub(super) fn membership(
    p: &mut Planner,
    view: &mut dyn SiteView,
    group: &GroupRec,
    user: Ref,
) -> Read<Option<MemberRec>> {
    if p.overlay().members.get(&group.id).is_some() || matches!(group.id, Ref::New(_)) {
        return Ok(members(p, view, group.id)?
            .into_iter()
            .find(|m| m.user == user));
    }
    // One read of the user's groups rather than of every member of the group.
    Ok(view
        .user_groups(group.course, user)?
        .into_iter()
        .find(|(g, _)| *g == group.id)
        .map(|(_, m)| m))
}

/// The groups of the course the user is in, with their memberships.
pub(super) fn user_groups(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
    user: Ref,
) -> Read<Vec<(GroupRec, MemberRec)>> {
    let seen = view.user_groups(course, user)?;
    let mut out = Vec::new();
    for g in groups(p, view, course, GroupKind::Group)? {
        let m = if p.overlay().members.get(&g.id).is_some() || matches!(g.id, Ref::New(_)) {
            members(p, view, g.id)?.into_iter().find(|m| m.user == user)
        } else {
            seen.iter()
                .find(|(id, _)| *id == g.id)
                .map(|(_, m)| m.clone())
        };
        if let Some(m) = m {
            out.push((g, m));
        }
    }
    Ok(out)
}
