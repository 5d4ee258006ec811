//! `[groups] purge_empty` at the end of a file: the groups a feed's removals left empty (this
//! file's, and those a stopped file's applied batches left, which the backend keeps) are
//! deleted if they are still empty, and with `groupings` the groupings that lose their last
//! group with them. Only those: never another empty group of the site.

use super::ops::Op;
use super::participants as part;
use super::view::{GroupKind, Read, SiteView};
use super::{PlannedChange, Planner, Ref, RowDraft};
use crate::config::PurgeEmpty;
use crate::outcome::Action;
use std::collections::BTreeMap;

pub(super) fn purge(p: &mut Planner, view: &mut dyn SiteView, draft: &mut RowDraft) -> Read<()> {
    let how = p.cfg().groups.purge_empty;
    if how == PurgeEmpty::None {
        return Ok(());
    }
    let mut candidates: BTreeMap<Ref, Ref> = p.emptied.clone();
    for (course, group) in view.emptied_groups()? {
        candidates.entry(group).or_insert(course);
    }
    for (group, course) in candidates {
        let Some(g) = part::groups(p, view, course, GroupKind::Group)?
            .into_iter()
            .find(|g| g.id == group)
        else {
            continue; // deleted meanwhile
        };
        if !part::members(p, view, group)?.is_empty() {
            continue; // filled again by a later row
        }
        let shortname = part::course_by_ref(p, view, course)?
            .map(|c| c.shortname)
            .unwrap_or_else(|| format!("course {course:?}"));
        // Its groupings, before the group goes.
        let mut holding = Vec::new();
        if how == PurgeEmpty::Groupings {
            for grouping in part::groups(p, view, course, GroupKind::Grouping)? {
                let inside = part::grouping_groups(p, view, grouping.id)?.unwrap_or_default();
                if inside.contains(&group) {
                    holding.push((grouping, inside));
                }
            }
        }
        draft.ops.push(Op::DeleteGroup {
            group,
            kind: GroupKind::Group,
        });
        draft.changes.push(
            PlannedChange::new(
                Action::Deleted,
                "group",
                group,
                format!("{} in {shortname}", g.name),
            )
            .with_fields(vec!["left empty by a feed ([groups] purge_empty)".into()]),
        );
        p.overlay().set_group(group, None);
        for (grouping, inside) in holding {
            let left: Vec<Ref> = inside.into_iter().filter(|x| *x != group).collect();
            let empty = left.is_empty();
            p.overlay().set_grouping_groups(grouping.id, Some(left));
            if empty {
                draft.ops.push(Op::DeleteGroup {
                    group: grouping.id,
                    kind: GroupKind::Grouping,
                });
                draft.changes.push(
                    PlannedChange::new(
                        Action::Deleted,
                        "grouping",
                        grouping.id,
                        format!("{} in {shortname}", grouping.name),
                    )
                    .with_fields(vec!["left without groups ([groups] purge_empty)".into()]),
                );
                p.overlay().set_group(grouping.id, None);
            }
        }
    }
    Ok(())
}
