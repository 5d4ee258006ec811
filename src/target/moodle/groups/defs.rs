//! Group and grouping rows, as in the embedded store: found by `updateid`, else by idnumber,
//! else by name; created when missing; changed only with `updateid` (or when a row with an
//! idnumber adopts a same-named group that has none); a group put in a grouping of the
//! course (`grouping`) or in one of its own name (`selfgrouping`). Moodle does not list a
//! grouping's groups to the usual service, so the ledger remembers the groups moosync put in
//! groupings, and a re-run sends nothing for them.

use super::{Call, Plan, Scope};
use crate::codes::{Code, Failure};
use crate::command::GroupUpsert;
use crate::config::GroupIdentifier;
use crate::outcome::{Action, Change, Outcome};
use crate::target::moodle::form::Params;
use crate::target::moodle::ledger::Link;

pub(super) fn upsert(
    ctx: &super::Ctx,
    scope: &Scope,
    g: &GroupUpsert,
    grouping: bool,
) -> Result<Plan, Outcome> {
    let fail = |code, m: String| Err(Outcome::Failed(Failure::new(code, m)));
    let (course, shortname, known) = (scope.course, scope.shortname, scope.known);
    let (entity, list, by) = if grouping {
        (
            "grouping",
            &known.groupings,
            ctx.cfg.groups.grouping_identifier,
        )
    } else {
        ("group", &known.groups, ctx.cfg.groups.group_identifier)
    };
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let (name, idnumber) = (given(&g.name), given(&g.idnumber));
    let find = |by: GroupIdentifier, key: &str| list.iter().find(|x| x.matches(by, key));
    let mut found = match (&g.update, &idnumber) {
        (Some(key), _) => find(by, key),
        (None, Some(i)) => find(GroupIdentifier::Idnumber, i),
        (None, None) => find(GroupIdentifier::Name, name.as_deref().unwrap_or("")),
    };
    // A same-named one without an idnumber (made by a gaddcreate, say) is the one a row
    // with an idnumber describes: it takes the row's idnumber and description.
    let mut adopt = false;
    if found.is_none() && g.update.is_none() && idnumber.is_some() {
        if let Some(n) = &name {
            found = list.iter().find(|x| x.name == *n && x.idnumber.is_empty());
            adopt = found.is_some();
        }
    }
    if found.is_none() && name.is_none() {
        return fail(
            Code::MissingValue,
            match &g.update {
                Some(key) => format!(
                    "course {shortname} has no {entity} with {} '{key}' to update; give a name to create it",
                    by.column()
                ),
                None => format!("a new {entity} needs a name"),
            },
        );
    }
    // Checked before any call: the grouping to go in, and names taken by another.
    let bind_to = match (grouping, given(&g.grouping)) {
        (false, Some(key)) => {
            let gb = ctx.cfg.groups.grouping_identifier;
            match known.groupings.iter().find(|x| x.matches(gb, &key)) {
                Some(x) => Some(x),
                None => {
                    return fail(
                        Code::NotFound,
                        format!(
                            "course {shortname} has no grouping with {} '{key}'; create it first (a grouping row before this one)",
                            gb.column()
                        ),
                    )
                }
            }
        }
        _ => None,
    };
    for (col, by, v) in [
        ("name", GroupIdentifier::Name, &name),
        ("idnumber", GroupIdentifier::Idnumber, &idnumber),
    ] {
        let Some(v) = v else { continue };
        if let Some(other) = find(by, v).filter(|o| Some(o.id) != found.map(|f| f.id)) {
            return fail(
                Code::GroupTaken,
                format!(
                    "{entity} {} of course {shortname} already has {col} '{v}'; use updateid to change that one, or choose another {col}",
                    other.id
                ),
            );
        }
    }
    // The self-grouping, found or to be made, also before any call.
    let self_grouping = if !grouping && g.selfgrouping {
        let sg_name = name
            .clone()
            .or_else(|| found.map(|f| f.name.clone()))
            .unwrap_or_default();
        let existing = known.groupings.iter().find(|x| x.name == sg_name);
        let sg_idnumber = g.idnumber.clone().unwrap_or_default();
        if existing.is_none() && !sg_idnumber.is_empty() {
            if let Some(other) = known.groupings.iter().find(|x| x.idnumber == sg_idnumber) {
                return fail(
                    Code::GroupTaken,
                    format!(
                        "the self-grouping '{sg_name}' would take idnumber '{sg_idnumber}', which grouping {} of course {shortname} has; change one of them",
                        other.id
                    ),
                );
            }
        }
        Some((sg_name, existing.map(|x| x.id), sg_idnumber))
    } else {
        None
    };
    let mut plan = Plan {
        course,
        ..Plan::default()
    };
    let (create, update) = if grouping {
        (Call::CreateGroupings, Call::UpdateGroupings)
    } else {
        (Call::CreateGroups, Call::UpdateGroups)
    };
    let this_name = match found {
        None => {
            let name = name.clone().unwrap_or_default();
            let mut item = Params::new();
            item.push("courseid", course.to_string())
                .push("name", name.as_str())
                // Moodle requires the key, empty or not.
                .push("description", g.description.clone().unwrap_or_default());
            if let Some(i) = &idnumber {
                item.push("idnumber", i.as_str());
            }
            plan.items.push((create, item));
            plan.changes.push(Change::new(
                Action::Created,
                entity,
                0,
                format!("{name} in {shortname}"),
            ));
            name
        }
        Some(f) if g.update.is_none() && !adopt => {
            plan.changes.push(Change {
                action: Action::Unchanged,
                entity,
                id: f.id,
                label: format!("{} in {shortname}", f.name),
                fields: vec!["exists; an updateid column changes it".into()],
            });
            f.name.clone()
        }
        Some(f) => {
            let mut fields = Vec::new();
            for (col, new, old) in [
                ("name", &g.name, &f.name),
                ("idnumber", &g.idnumber, &f.idnumber),
                ("description", &g.description, &f.description),
            ] {
                if new.as_ref().is_some_and(|n| n != old) && !(col == "name" && name.is_none()) {
                    fields.push(col.to_string());
                }
            }
            let new_name = name.clone().unwrap_or_else(|| f.name.clone());
            if fields.is_empty() {
                plan.changes.push(Change::new(
                    Action::Unchanged,
                    entity,
                    f.id,
                    format!("{} in {shortname}", f.name),
                ));
            } else {
                // Both functions need the name; update_groupings the description too.
                let mut item = Params::new();
                item.push("id", f.id.to_string())
                    .push("name", new_name.as_str())
                    .push(
                        "description",
                        g.description
                            .clone()
                            .unwrap_or_else(|| f.description.clone()),
                    );
                if let Some(i) = &g.idnumber {
                    item.push("idnumber", i.as_str());
                }
                plan.items.push((update, item));
                plan.changes.push(Change {
                    action: Action::Updated,
                    entity,
                    id: f.id,
                    label: format!("{new_name} in {shortname}"),
                    fields,
                });
            }
            new_name
        }
    };
    let group = found.map(|f| f.id);
    let bind = |plan: &mut Plan, to: Option<i64>, label: String| {
        if let (Some(to), Some(group)) = (to, group) {
            if scope
                .ledger
                .linked(scope.site, Link::GroupingGroup, (to, group, 0))
            {
                return;
            }
        }
        plan.bind.push((to, group));
        plan.changes.push(Change::new(
            Action::Created,
            "grouping_group",
            to.unwrap_or(0),
            label,
        ));
    };
    if let Some((sg_name, existing, sg_idnumber)) = self_grouping {
        if existing.is_none() {
            let mut item = Params::new();
            item.push("courseid", course.to_string())
                .push("name", sg_name.as_str())
                .push("description", g.description.clone().unwrap_or_default());
            if !sg_idnumber.is_empty() {
                item.push("idnumber", sg_idnumber);
            }
            plan.items.push((Call::CreateGroupings, item));
            plan.changes.push(Change::new(
                Action::Created,
                "grouping",
                0,
                format!("{sg_name} in {shortname}"),
            ));
        }
        bind(
            &mut plan,
            existing,
            format!("{this_name} in grouping {sg_name}"),
        );
    }
    if let Some(to) = bind_to {
        bind(
            &mut plan,
            Some(to.id),
            format!("{this_name} in grouping {}", to.name),
        );
    }
    Ok(plan)
}
