//! Group memberships: a group-members row (`add`, `del`, `shift`), and a user's groups named
//! by an enrolments row (`gadd`, `gdel`, `greplace`, and the `…create` forms, which make the
//! groups the course lacks) or by a users row's `group<N>`. Moodle takes only enrolled users
//! into groups. The memberships moosync makes are its own (`local_moosync`), so `shift` and
//! `greplace` leave only those, never one made by hand or by an enrol method. A removal that
//! leaves a group empty is noted for `[groups] purge_empty` at the end of the file.

use super::groups::{self, create, require};
use super::ops::Op;
use super::participants::{self as part, row};
use super::view::{CourseRec, GroupKind, GroupRec, MemberRec, Read, SiteView};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::keys::GroupIdentifier;
use crate::command::{GroupMember, UserGroups};
use crate::config::PurgeEmpty;
use crate::outcome::Action;

/// Moodle's `groups_add_member` refuses a user not enrolled in the course.
fn require_enrolled(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: &CourseRec,
    user: Ref,
    who: &str,
) -> Read<()> {
    if part::is_enrolled(p, view, course.id, user)? {
        return Ok(());
    }
    Err(row(
        Code::NotFound,
        format!(
            "{who} is not enrolled in {}: Moodle takes only enrolled users into groups; enrol them first",
            course.shortname
        ),
    ))
}

/// Adds the membership (as moosync's) unless there is one.
fn join(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    group: &GroupRec,
    user: Ref,
    label: String,
) -> Read<()> {
    if part::membership(p, view, group, user)?.is_some() {
        draft.changes.push(PlannedChange::new(
            Action::Unchanged,
            "group_member",
            group.id,
            label,
        ));
        return Ok(());
    }
    let mut members = part::members(p, view, group.id)?;
    members.push(MemberRec {
        user,
        owned: Some(true),
    });
    p.overlay().set_members(group.id, Some(members));
    draft.ops.push(Op::AddGroupMember {
        group: group.id,
        user,
    });
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "group_member",
        group.id,
        label,
    ));
    Ok(())
}

/// Removes the membership. A group it leaves empty is noted for `[groups] purge_empty`.
fn leave(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    group: &GroupRec,
    user: Ref,
    label: String,
) -> Read<()> {
    let members: Vec<MemberRec> = part::members(p, view, group.id)?
        .into_iter()
        .filter(|m| m.user != user)
        .collect();
    let emptied = members.is_empty() && p.cfg().groups.purge_empty != PurgeEmpty::None;
    if emptied {
        draft.emptied.push((group.course, group.id));
    }
    p.overlay().set_members(group.id, Some(members));
    draft.ops.push(Op::RemoveGroupMember {
        group: group.id,
        user,
        emptied,
    });
    draft.changes.push(PlannedChange::new(
        Action::Deleted,
        "group_member",
        group.id,
        label,
    ));
    Ok(())
}

/// Leaves every group of the course moosync put the user in, but `keep`.
fn leave_own(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    course: &CourseRec,
    user: Ref,
    who: &str,
    keep: &[Ref],
) -> Read<()> {
    for (g, m) in part::user_groups(p, view, course.id, user)? {
        if m.owned == Some(true) && !keep.contains(&g.id) {
            let label = format!("{who} in group {} of {}", g.name, course.shortname);
            leave(p, view, draft, &g, user, label)?;
        }
    }
    Ok(())
}

/// `group_member`: one user and one group of the course the groups settings name.
pub(super) fn member(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    m: &GroupMember,
) -> Read<Verdict> {
    let cfg = p.cfg().groups.clone();
    let course = part::course(p, view, cfg.course_identifier, &m.course)?;
    let group = require(
        p,
        view,
        &course,
        GroupKind::Group,
        cfg.group_identifier,
        &m.group,
    )?;
    let user = part::user(p, view, cfg.user_identifier, &m.user)?;
    let label = format!("{} in group {} of {}", m.user, m.group, course.shortname);
    let cmd = m.cmd.as_deref().unwrap_or("add");
    if cmd == "del" {
        if part::membership(p, view, &group, user)?.is_none() {
            return Ok(Verdict::Nothing(format!("{label}: not a member")));
        }
        leave(p, view, draft, &group, user, label)?;
        return Ok(Verdict::Done);
    }
    require_enrolled(p, view, &course, user, &m.user)?;
    // The new group first, the old ones after: never a user left in none because the new
    // one was refused.
    join(p, view, draft, &group, user, label)?;
    if cmd == "shift" {
        leave_own(p, view, draft, &course, user, &m.user, &[group.id])?;
    }
    Ok(Verdict::Done)
}

/// `user_groups`: the groups an enrolments row (or a users row) names, by name.
pub(super) fn user_groups(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    g: &UserGroups,
) -> Read<Verdict> {
    let cfg = p.cfg().enrolments.clone();
    let uf = g.user_by.unwrap_or(cfg.user_identifier);
    let cf = g.course_by.unwrap_or(cfg.course_identifier);
    let user = part::user(p, view, uf, &g.user)?;
    let course = part::course(p, view, cf, &g.course)?;
    let mut named: Vec<(&String, Option<GroupRec>)> = Vec::with_capacity(g.groups.len());
    for name in &g.groups {
        let found = groups::find(
            p,
            view,
            &course,
            GroupKind::Group,
            GroupIdentifier::Name,
            name,
        )?;
        if found.is_none() && !(g.create && g.cmd != "del") {
            return Err(row(
                Code::NotFound,
                format!("course {} has no group '{name}'; check the name, or create it first (gaddcreate / greplacecreate do)", course.shortname),
            ));
        }
        named.push((name, found));
    }
    let label = |name: &str| format!("{} in group {name} of {}", g.user, course.shortname);
    if g.cmd == "del" {
        let before = draft.changes.len();
        for (name, found) in named {
            let Some(group) = found else { continue };
            if part::membership(p, view, &group, user)?.is_some() {
                leave(p, view, draft, &group, user, label(name))?;
            }
        }
        if draft.changes.len() == before {
            return Ok(Verdict::Nothing(format!(
                "{} is in none of those groups of {}",
                g.user, course.shortname
            )));
        }
        return Ok(Verdict::Done);
    }
    require_enrolled(p, view, &course, user, &g.user)?;
    let mut keep = Vec::with_capacity(named.len());
    let mut these = Vec::with_capacity(named.len());
    for (name, found) in named {
        let group = match found {
            Some(group) => group,
            None => create(p, draft, &course, GroupKind::Group, (name, "", "")),
        };
        keep.push(group.id);
        these.push((name, group));
    }
    for (name, group) in these {
        join(p, view, draft, &group, user, label(name))?;
    }
    if g.cmd == "replace" {
        leave_own(p, view, draft, &course, user, &g.user, &keep)?;
    }
    Ok(Verdict::Done)
}
