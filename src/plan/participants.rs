//! What enrolment, group and cohort rows read, as the batch's earlier rows leave it: the
//! account and the course a row names, the roles that can be given in a course, and the
//! course's groups. Each read is the view's answer with the overlay laid over it.

use super::view::{CourseRec, GroupKind, GroupRec, Read, ReadError, RoleRec, SiteView, UserRec};
use super::{Planner, Ref};
use crate::codes::{Code, Failure};
use crate::config::{CourseIdentifier, UserIdentifier};

pub(super) fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

/// The live account a row names by `by`; none or several fail the row.
pub(super) fn user(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: UserIdentifier,
    value: &str,
) -> Read<UserRec> {
    if by == UserIdentifier::Id && value.trim().parse::<i64>().is_err() {
        return Err(row(
            Code::InvalidValue,
            format!("user id '{value}' is not a number"),
        ));
    }
    let found: Vec<UserRec> = super::users::find_all(p, view, by, value.trim())?
        .into_iter()
        .filter(|u| !u.deleted)
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one account")),
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
    let mut found = p
        .overlay()
        .courses
        .merge(seen, |c| c.id, |c| course_matches(c, by, value));
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
