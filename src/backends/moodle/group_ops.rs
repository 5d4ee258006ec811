//! Planned group operations sent to Moodle: groups and groupings created
//! (`core_group_create_groups`, `_groupings`), changed (`_update_groups`, `_groupings`, which
//! need the name, and the grouping's description, even when those do not change), deleted
//! (`_delete_groups`, `_groupings`), a group put in a grouping (`_assign_grouping`), and
//! memberships added and removed: with the plugin through `local_moosync_add_group_members`
//! / `_remove_group_members`, which record moosync's component; without it through
//! `core_group_add_group_members` / `_delete_group_members`, moosync's ledger then
//! remembering which memberships it made (noted before they are asked for, so one whose
//! answer is lost is still known as moosync's).

use super::calls::{self, CallKind, Ctx, Item};
use super::client::Retry;
use super::course_parts::CourseParts;
use super::form::Params;
use super::ledger::{Key, Link};
use crate::codes::{Code, Failure};
use crate::plan::view::GroupKind;
use crate::plan::{BatchApplied, Op, Ref};
use serde_json::Value;

pub const PLUGIN_ADD: &str = "local_moosync_add_group_members";
pub const PLUGIN_REMOVE: &str = "local_moosync_remove_group_members";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    CreateGroups,
    CreateGroupings,
    UpdateGroups,
    UpdateGroupings,
    AssignGrouping,
    AddMembers,
    DeleteMembers,
    PluginAdd,
    PluginRemove,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::CreateGroups => "core_group_create_groups",
            Call::CreateGroupings => "core_group_create_groupings",
            Call::UpdateGroups => "core_group_update_groups",
            Call::UpdateGroupings => "core_group_update_groupings",
            Call::AssignGrouping => "core_group_assign_grouping",
            Call::AddMembers => "core_group_add_group_members",
            Call::DeleteMembers => "core_group_delete_group_members",
            Call::PluginAdd => PLUGIN_ADD,
            Call::PluginRemove => PLUGIN_REMOVE,
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::CreateGroups | Call::UpdateGroups => "groups",
            Call::CreateGroupings | Call::UpdateGroupings => "groupings",
            Call::AssignGrouping => "assignments",
            Call::AddMembers | Call::DeleteMembers | Call::PluginAdd | Call::PluginRemove => {
                "members"
            }
        }
    }

    /// A create sent twice makes two: never sent again blindly (a lost answer stops the
    /// file; the next run finds what was made).
    fn retry(self) -> Retry {
        match self {
            Call::CreateGroups | Call::CreateGroupings => Retry::Never,
            _ => Retry::Safe,
        }
    }
}

/// Whether `op` is one this module sends.
pub fn is_group_op(op: &Op) -> bool {
    matches!(
        op,
        Op::CreateGroup(_)
            | Op::UpdateGroup(_)
            | Op::DeleteGroup { .. }
            | Op::AssignGrouping { .. }
            | Op::AddGroupMember { .. }
            | Op::RemoveGroupMember { .. }
    )
}

fn membership(group: i64, user: i64) -> Params {
    let mut item = Params::new();
    item.push("groupid", group.to_string())
        .push("userid", user.to_string());
    item
}

fn refused(m: &str) -> Failure {
    Failure::new(Code::RemoteRejected, format!("Moodle refused the row: {m}"))
}

/// Sends a wave's group operations: definitions first, then groupings, then memberships,
/// then deletions (a group emptied and purged is the file's last word on it).
pub fn send(
    ctx: &Ctx,
    parts: &CourseParts,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let plugin = ctx.functions.contains(PLUGIN_ADD) && ctx.functions.contains(PLUGIN_REMOVE);
    let site = ctx.client.site().to_string();
    let mut sending: Vec<(&Item, Call, Params)> = Vec::new();
    let mut deletes: Vec<(&Item, GroupKind, i64)> = Vec::new();
    let mut asked: Vec<(Link, Key, bool)> = Vec::new();
    for item in wave {
        match item.op {
            Op::CreateGroup(g) => {
                let mut p = Params::new();
                p.push("courseid", out.sent_id(g.course).to_string())
                    .push("name", g.name.as_str())
                    // Moodle requires the key, empty or not.
                    .push("description", g.description.as_str());
                if !g.idnumber.is_empty() {
                    p.push("idnumber", g.idnumber.as_str());
                }
                let call = match g.kind {
                    GroupKind::Group => Call::CreateGroups,
                    GroupKind::Grouping => Call::CreateGroupings,
                };
                sending.push((item, call, p));
            }
            Op::UpdateGroup(up) => {
                let id = out.sent_id(up.group);
                let now = parts.group(id);
                let name = up
                    .name
                    .clone()
                    .or_else(|| now.map(|g| g.name.clone()))
                    .unwrap_or_default();
                let description = up
                    .description
                    .clone()
                    .or_else(|| now.and_then(|g| g.description.clone()))
                    .unwrap_or_default();
                let mut p = Params::new();
                p.push("id", id.to_string())
                    .push("name", name)
                    .push("description", description);
                if let Some(i) = &up.idnumber {
                    p.push("idnumber", i.as_str());
                }
                let call = match up.kind {
                    GroupKind::Group => Call::UpdateGroups,
                    GroupKind::Grouping => Call::UpdateGroupings,
                };
                sending.push((item, call, p));
            }
            Op::AssignGrouping { grouping, group } => {
                let mut p = Params::new();
                p.push("groupingid", out.sent_id(*grouping).to_string())
                    .push("groupid", out.sent_id(*group).to_string());
                sending.push((item, Call::AssignGrouping, p));
            }
            Op::AddGroupMember { group, user } => {
                let (g, u) = (out.sent_id(*group), out.sent_id(*user));
                if plugin {
                    sending.push((item, Call::PluginAdd, membership(g, u)));
                } else {
                    asked.push((Link::GroupMember, (u, g, 0), true));
                    sending.push((item, Call::AddMembers, membership(g, u)));
                }
            }
            Op::RemoveGroupMember { group, user, .. } => {
                let (g, u) = (out.sent_id(*group), out.sent_id(*user));
                let call = if plugin {
                    Call::PluginRemove
                } else {
                    Call::DeleteMembers
                };
                sending.push((item, call, membership(g, u)));
            }
            Op::DeleteGroup { group, kind } => deletes.push((item, *kind, out.sent_id(*group))),
            _ => unreachable!("only group operations come here"),
        }
    }
    ctx.ledger.record_links(&site, &asked)?;
    let answers = calls::send_each(ctx, sending.iter().map(|(_, call, p)| (*call, p)))?;
    let mut links = Vec::new();
    for ((item, call, p), answer) in sending.iter().zip(answers) {
        let field = |k: &str| {
            p.fields
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let (g, u) = (field("groupid"), field("userid"));
        match answer {
            Err(m) => {
                if *call == Call::AddMembers {
                    // A membership asked for and refused is not moosync's.
                    links.push((Link::GroupMember, (u, g, 0), false));
                }
                out.fail(item.row, refused(&m));
            }
            Ok(v) => match item.op {
                Op::CreateGroup(new) => {
                    match v.as_ref().and_then(|x| x.get("id")).and_then(Value::as_i64) {
                        Some(id) => {
                            if let Ref::New(n) = new.new {
                                out.created.insert(n, id);
                            }
                        }
                        None => out.fail(item.row,
                            Failure::new(
                                Code::RemoteBadAnswer,
                                format!("Moodle's answer to creating {} '{}' has no id; check the course's groups in Moodle", new.kind.entity(), new.name),
                            ),),
                    }
                }
                Op::RemoveGroupMember { emptied, .. } => {
                    if !plugin {
                        links.push((Link::GroupMember, (u, g, 0), false));
                    }
                    if *emptied {
                        if let Some(course) = parts.owner_of(g) {
                            links.push((Link::EmptiedGroup, (g, course, 0), true));
                        }
                    }
                }
                _ => {}
            },
        }
    }
    ctx.ledger.record_links(&site, &links)?;
    send_deletes(ctx, &deletes, out)
}

/// `core_group_delete_groups` / `_delete_groupings`, which take a list of ids; a refused
/// call is sent again one id at a time, to fail only the row it is about.
fn send_deletes(
    ctx: &Ctx,
    deletes: &[(&Item, GroupKind, i64)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    for kind in [GroupKind::Group, GroupKind::Grouping] {
        let these: Vec<&(&Item, GroupKind, i64)> =
            deletes.iter().filter(|(_, k, _)| *k == kind).collect();
        if these.is_empty() {
            continue;
        }
        let (function, list) = match kind {
            GroupKind::Group => ("core_group_delete_groups", "groupids"),
            GroupKind::Grouping => ("core_group_delete_groupings", "groupingids"),
        };
        calls::require(ctx.functions, function)?;
        let send = |r: std::ops::Range<usize>| {
            let mut p = Params::new();
            p.list(list, these[r].iter().map(|(_, _, id)| id.to_string()));
            ctx.client.call(function, &p, Retry::Safe)
        };
        for piece in super::split::send_split(these.len(), &send)? {
            if let Err(m) = piece.answer {
                for (item, _, _) in &these[piece.items] {
                    out.fail(item.row, refused(&m.describe()));
                }
            }
        }
    }
    Ok(())
}
