//! Groups and groupings of a course, as the groups file defines them: found by `updateid`
//! (the configured identifier), else by idnumber, else by name, always within the row's
//! course; created when missing; changed only by a row with `updateid`, or when a row with an
//! idnumber adopts a same-named one that has none (made by a `gaddcreate`, say). A group may
//! go in a grouping of the course (`grouping`) and in one of its own name (`selfgrouping`).
//! Everything that can fail the row is checked before its first operation.

use super::ops::{GroupUpdate, NewGroup, Op};
use super::participants::{self as part, row};
use super::view::{CourseRec, GroupKind, GroupRec, Read, SiteView, Wanted};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::keys::GroupIdentifier;
use crate::command::{Command, GroupUpsert};
use crate::config::Config;
use crate::outcome::Action;

/// What a groups or group-members row will look up, for the view to read ahead.
pub(super) fn wanted(cfg: &Config, cmd: &Command, w: &mut Wanted) {
    let g = &cfg.groups;
    let course = match cmd {
        Command::GroupUpsert(x) | Command::GroupingUpsert(x) => &x.course,
        Command::GroupMember(m) => {
            w.users.insert((g.user_identifier, m.user.clone()));
            w.course_parts
                .insert((g.course_identifier, m.course.clone()));
            &m.course
        }
        Command::UserGroups(x) => {
            let by = x.course_by.unwrap_or(cfg.enrolments.course_identifier);
            w.course_groups.insert((by, x.course.clone()));
            return;
        }
        _ => return,
    };
    w.courses.insert((g.course_identifier, course.clone()));
    w.course_groups
        .insert((g.course_identifier, course.clone()));
}

/// How messages name a group found: its id, or that an earlier row makes it.
pub(super) fn id_label(g: &GroupRec) -> String {
    match g.id {
        Ref::Id(id) => id.to_string(),
        Ref::New(_) => format!("'{}' (made by an earlier row)", g.name),
    }
}

/// The group (or grouping) of the course whose `by` is `value`; several fail the row.
pub(super) fn find(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: &CourseRec,
    kind: GroupKind,
    by: GroupIdentifier,
    value: &str,
) -> Read<Option<GroupRec>> {
    if by == GroupIdentifier::Id && value.trim().parse::<i64>().is_err() {
        return Err(row(
            Code::InvalidValue,
            format!("{} id '{value}' is not a number", kind.entity()),
        ));
    }
    if value.is_empty() {
        return Ok(None);
    }
    let mut found: Vec<GroupRec> = part::groups(p, view, course.id, kind)?
        .into_iter()
        .filter(|g| part::group_matches(g, by, value))
        .collect();
    if found.len() > 1 {
        return Err(row(
            Code::AmbiguousMatch,
            format!(
                "several {}s of course {} have {} '{value}'; make it unique in Moodle",
                kind.entity(),
                course.shortname,
                by.column()
            ),
        ));
    }
    Ok(found.pop())
}

/// The group (or grouping) of the course whose `by` is `value`, which must exist.
pub(super) fn require(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: &CourseRec,
    kind: GroupKind,
    by: GroupIdentifier,
    value: &str,
) -> Read<GroupRec> {
    find(p, view, course, kind, by, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!(
                "course {} has no {} with {} '{value}'",
                course.shortname,
                kind.entity(),
                by.column()
            ),
        )
    })
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// Makes a group (or grouping) of the course, as later rows will find it.
pub(super) fn create(
    p: &mut Planner,
    draft: &mut RowDraft,
    course: &CourseRec,
    kind: GroupKind,
    (name, idnumber, description): (&str, &str, &str),
) -> GroupRec {
    let new = p.new_ref();
    let rec = GroupRec {
        id: new,
        kind,
        course: course.id,
        name: name.to_string(),
        idnumber: idnumber.to_string(),
        description: Some(description.to_string()),
    };
    p.overlay().set_group(new, Some(rec.clone()));
    draft.ops.push(Op::CreateGroup(NewGroup {
        new,
        kind,
        course: course.id,
        name: name.to_string(),
        idnumber: idnumber.to_string(),
        description: description.to_string(),
    }));
    draft.changes.push(PlannedChange::new(
        Action::Created,
        kind.entity(),
        new,
        format!("{name} in {}", course.shortname),
    ));
    rec
}

/// Puts the group in the grouping unless it is there.
fn bind(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    grouping: &GroupRec,
    group: &GroupRec,
) -> Read<()> {
    let mut inside = part::grouping_groups(p, view, grouping.id)?.unwrap_or_default();
    if inside.contains(&group.id) {
        return Ok(());
    }
    draft.ops.push(Op::AssignGrouping {
        grouping: grouping.id,
        group: group.id,
    });
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "grouping_group",
        grouping.id,
        format!("{} in grouping {}", group.name, grouping.name),
    ));
    inside.push(group.id);
    p.overlay().set_grouping_groups(grouping.id, Some(inside));
    Ok(())
}

/// `group_upsert` / `grouping_upsert`.
pub(super) fn upsert(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    g: &GroupUpsert,
    kind: GroupKind,
) -> Read<Verdict> {
    let cfg = p.cfg().groups.clone();
    let course = part::course(p, view, cfg.course_identifier, &g.course)?;
    let by = match kind {
        GroupKind::Group => cfg.group_identifier,
        GroupKind::Grouping => cfg.grouping_identifier,
    };
    let entity = kind.entity();
    let (name, idnumber) = (given(&g.name), given(&g.idnumber));
    let mut found = match (&g.update, idnumber) {
        (Some(key), _) => find(p, view, &course, kind, by, key)?,
        (None, Some(i)) => find(p, view, &course, kind, GroupIdentifier::Idnumber, i)?,
        (None, None) => find(
            p,
            view,
            &course,
            kind,
            GroupIdentifier::Name,
            name.unwrap_or(""),
        )?,
    };
    // A same-named one without an idnumber is the one this row describes: it takes the
    // row's idnumber and description.
    let mut adopt = false;
    if let (None, None, Some(_), Some(n)) = (&found, &g.update, idnumber, name) {
        if let Some(same) = find(p, view, &course, kind, GroupIdentifier::Name, n)? {
            if same.idnumber.is_empty() {
                found = Some(same);
                adopt = true;
            }
        }
    }
    if found.is_none() && name.is_none() {
        return Err(row(
            Code::MissingValue,
            match &g.update {
                Some(key) => format!(
                    "course {} has no {entity} with {} '{key}' to update; give a name to create it",
                    course.shortname,
                    by.column()
                ),
                None => format!("a new {entity} needs a name"),
            },
        ));
    }
    // Checked before any operation: the grouping to go in, and names taken by another.
    let bind_to = match (kind, given(&g.grouping)) {
        (GroupKind::Group, Some(key)) => Some(require(
            p,
            view,
            &course,
            GroupKind::Grouping,
            cfg.grouping_identifier,
            key,
        )?),
        _ => None,
    };
    for (col, field, v) in [
        ("name", GroupIdentifier::Name, name),
        ("idnumber", GroupIdentifier::Idnumber, idnumber),
    ] {
        let Some(v) = v else { continue };
        if let Some(other) = find(p, view, &course, kind, field, v)? {
            if Some(other.id) != found.as_ref().map(|f| f.id) {
                return Err(row(
                    Code::GroupTaken,
                    format!(
                        "{entity} {} of course {} already has {col} '{v}'; use updateid to change that one, or choose another {col}",
                        id_label(&other),
                        course.shortname
                    ),
                ));
            }
        }
    }
    // The self-grouping, found or to be made, also before any operation.
    let self_grouping = if kind == GroupKind::Group && g.selfgrouping {
        let sg_name = name
            .map(str::to_string)
            .or_else(|| found.as_ref().map(|f| f.name.clone()))
            .unwrap_or_default();
        let existing = find(
            p,
            view,
            &course,
            GroupKind::Grouping,
            GroupIdentifier::Name,
            &sg_name,
        )?;
        let sg_idnumber = g.idnumber.clone().unwrap_or_default();
        if existing.is_none() && !sg_idnumber.is_empty() {
            if let Some(other) = find(
                p,
                view,
                &course,
                GroupKind::Grouping,
                GroupIdentifier::Idnumber,
                &sg_idnumber,
            )? {
                return Err(row(
                    Code::GroupTaken,
                    format!(
                        "the self-grouping '{sg_name}' would take idnumber '{sg_idnumber}', which grouping {} of course {} has; change one of them",
                        id_label(&other),
                        course.shortname
                    ),
                ));
            }
        }
        Some((sg_name, existing, sg_idnumber))
    } else {
        None
    };
    let this = match found {
        None => create(
            p,
            draft,
            &course,
            kind,
            (
                name.unwrap_or_default(),
                g.idnumber.as_deref().unwrap_or_default(),
                g.description.as_deref().unwrap_or_default(),
            ),
        ),
        Some(f) if g.update.is_none() && !adopt => {
            draft.changes.push(
                PlannedChange::new(
                    Action::Unchanged,
                    entity,
                    f.id,
                    format!("{} in {}", f.name, course.shortname),
                )
                .with_fields(vec!["exists; an updateid column changes it".into()]),
            );
            f
        }
        Some(f) => update(p, draft, &course, g, f),
    };
    if let Some((sg_name, existing, sg_idnumber)) = self_grouping {
        let grouping = match existing {
            Some(x) => x,
            None => create(
                p,
                draft,
                &course,
                GroupKind::Grouping,
                (
                    &sg_name,
                    &sg_idnumber,
                    g.description.as_deref().unwrap_or_default(),
                ),
            ),
        };
        bind(p, view, draft, &grouping, &this)?;
    }
    if let Some(grouping) = bind_to {
        bind(p, view, draft, &grouping, &this)?;
    }
    Ok(Verdict::Done)
}

/// Changes the columns the row gives that differ.
fn update(
    p: &mut Planner,
    draft: &mut RowDraft,
    course: &CourseRec,
    g: &GroupUpsert,
    f: GroupRec,
) -> GroupRec {
    let mut up = GroupUpdate {
        group: f.id,
        kind: f.kind,
        name: given(&g.name).filter(|n| *n != f.name).map(str::to_string),
        idnumber: g.idnumber.clone().filter(|i| *i != f.idnumber),
        description: None,
    };
    let now = f.description.clone().unwrap_or_default();
    up.description = g.description.clone().filter(|d| *d != now);
    let mut after = f.clone();
    let mut fields = Vec::new();
    if let Some(n) = &up.name {
        after.name = n.clone();
        fields.push("name".to_string());
    }
    if let Some(i) = &up.idnumber {
        after.idnumber = i.clone();
        fields.push("idnumber".to_string());
    }
    if let Some(d) = &up.description {
        after.description = Some(d.clone());
        fields.push("description".to_string());
    }
    let action = if fields.is_empty() {
        Action::Unchanged
    } else {
        Action::Updated
    };
    draft.changes.push(
        PlannedChange::new(
            action,
            f.kind.entity(),
            f.id,
            format!("{} in {}", after.name, course.shortname),
        )
        .with_fields(fields),
    );
    if action == Action::Updated {
        p.overlay().set_group(f.id, Some(after.clone()));
        draft.ops.push(Op::UpdateGroup(up));
    }
    after
}
