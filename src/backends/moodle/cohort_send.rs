//! Planned cohort operations sent to Moodle: the cohort itself and its members through the
//! core_cohort functions (Moodle's cohort events then enrol and unenrol through the bound
//! sync instances), its component and its bindings to courses through the plugin's
//! functions, which core lacks.

use super::calls::{self, CallKind, Ctx, Item};
use super::catalogue::Catalogue;
use super::client::Retry;
use super::cohorts::Cohorts;
use super::form::Params;
use crate::codes::{Code, Failure};
use crate::plan::view::{CohortHome, CohortRec};
use crate::plan::{Applied, BatchApplied, Op, Ref};
use serde_json::Value;

pub const CREATE_COHORTS: &str = "local_moosync_create_cohorts";
pub const SET_COMPONENTS: &str = "local_moosync_set_cohort_components";
pub const ADD_INSTANCES: &str = "local_moosync_add_cohort_instances";
pub const UPDATE_INSTANCES: &str = "local_moosync_update_cohort_instances";
pub const DELETE_INSTANCES: &str = "local_moosync_delete_cohort_instances";

/// Whether this sender takes the operation.
pub fn is_cohort_op(op: &Op) -> bool {
    match op {
        Op::CreateCohort(_)
        | Op::UpdateCohort(_)
        | Op::DeleteCohort { .. }
        | Op::AddCohortMember { .. }
        | Op::RemoveCohortMember { .. } => true,
        Op::AddInstance(i) => i.method == "cohort",
        Op::UpdateInstance(i) => i.method == "cohort",
        Op::DeleteInstance { method, .. } => method == "cohort",
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Create,
    PluginCreate,
    SetComponents,
    Update,
    Delete,
    AddMembers,
    DeleteMembers,
    AddInstances,
    UpdateInstances,
    DeleteInstances,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Create => "core_cohort_create_cohorts",
            Call::PluginCreate => CREATE_COHORTS,
            Call::SetComponents => SET_COMPONENTS,
            Call::Update => "core_cohort_update_cohorts",
            Call::Delete => "core_cohort_delete_cohorts",
            Call::AddMembers => "core_cohort_add_cohort_members",
            Call::DeleteMembers => "core_cohort_delete_cohort_members",
            Call::AddInstances => ADD_INSTANCES,
            Call::UpdateInstances => UPDATE_INSTANCES,
            Call::DeleteInstances => DELETE_INSTANCES,
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Create | Call::PluginCreate | Call::Update | Call::SetComponents => "cohorts",
            Call::Delete => "cohortids",
            Call::AddMembers | Call::DeleteMembers => "members",
            Call::AddInstances | Call::UpdateInstances => "instances",
            Call::DeleteInstances => "instanceids",
        }
    }

    /// What makes something is not sent twice blindly; the rest set a state.
    fn retry(self) -> Retry {
        match self {
            Call::Create
            | Call::PluginCreate
            | Call::Delete
            | Call::AddInstances
            | Call::DeleteInstances => Retry::Never,
            _ => Retry::Safe,
        }
    }
}

fn refused(why: &str) -> Failure {
    Failure::new(
        Code::RemoteRejected,
        format!("Moodle refused the row: {why}"),
    )
}

fn category_type(p: &mut Params, home: CohortHome, out: &BatchApplied) {
    match home {
        CohortHome::System => p
            .push("categorytype[type]", "system")
            .push("categorytype[value]", ""),
        CohortHome::Category(c) => p
            .push("categorytype[type]", "id")
            .push("categorytype[value]", out.sent_id(c).to_string()),
    };
}

/// One item to send: its row, its call, its fields.
struct Send {
    row: usize,
    call: Call,
    fields: Params,
    /// What a create makes.
    new: Option<u32>,
}

pub fn send(
    ctx: &Ctx,
    book: &mut Cohorts,
    cat: &mut Catalogue,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    create(ctx, book, wave, out)?;
    let mut items = Vec::new();
    for i in wave {
        if out.rows[i.row] != Applied::Done {
            continue;
        }
        match item(book, i, out) {
            Ok(sends) => items.extend(sends),
            Err(f) => out.fail(i.row, f),
        }
    }
    let (adds, rest): (Vec<Send>, Vec<Send>) =
        items.into_iter().partition(|s| s.call == Call::AddMembers);
    let answers = calls::send_each(ctx, rest.iter().map(|s| (s.call, &s.fields)))?;
    for (s, answer) in rest.iter().zip(answers) {
        match answer {
            Err(why) => out.fail(s.row, refused(&why)),
            Ok(v) => {
                if let (Some(n), Some(id)) = (
                    s.new,
                    v.as_ref()
                        .and_then(|v| v.get("instanceid"))
                        .and_then(Value::as_i64),
                ) {
                    out.created.insert(n, id);
                }
            }
        }
    }
    add_members(ctx, &adds, out)?;
    if rest
        .iter()
        .any(|s| matches!(s.call, Call::AddInstances | Call::DeleteInstances))
    {
        cat.courses_changed();
    }
    Ok(())
}

/// The wave's new cohorts, then the components they are given.
fn create(
    ctx: &Ctx,
    book: &mut Cohorts,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let news: Vec<(usize, &crate::plan::ops::NewCohort)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::CreateCohort(c) => Some((i.row, c)),
            _ => None,
        })
        .collect();
    if news.is_empty() {
        return Ok(());
    }
    // The plugin's create takes what core's refuses or ignores: no idnumber, a component.
    let plugin = ctx.functions.contains(CREATE_COHORTS);
    let fields: Vec<Params> = news
        .iter()
        .map(|(_, c)| {
            let mut p = Params::new();
            if plugin {
                let category = match c.home {
                    CohortHome::System => 0,
                    CohortHome::Category(r) => out.sent_id(r),
                };
                p.push("categoryid", category.to_string())
                    .push("component", c.component.clone());
            } else {
                category_type(&mut p, c.home, out);
            }
            p.push("name", c.name.clone())
                .push("idnumber", c.idnumber.clone())
                .push("description", c.description.clone());
            p
        })
        .collect();
    let call = if plugin {
        Call::PluginCreate
    } else {
        Call::Create
    };
    let answers = calls::send_each(ctx, fields.iter().map(|p| (call, p)))?;
    let mut components = Vec::new();
    for ((row, c), answer) in news.iter().zip(answers) {
        let id = match answer {
            Err(why) => {
                out.fail(*row, refused(&why));
                continue;
            }
            Ok(v) => v.as_ref().and_then(|v| v.get("id")).and_then(Value::as_i64),
        };
        let Some(id) = id else {
            out.fail(
                *row,
                Failure::new(
                    Code::RemoteRejected,
                    format!(
                        "Moodle's answer to {} gave the new cohort no id",
                        call.function()
                    ),
                ),
            );
            continue;
        };
        if let Ref::New(n) = c.new {
            out.created.insert(n, id);
        }
        book.made(CohortRec {
            id: Ref::Id(id),
            name: c.name.clone(),
            idnumber: c.idnumber.clone(),
            description: c.description.clone(),
            home: Some(match c.home {
                CohortHome::Category(r) => CohortHome::Category(Ref::Id(out.sent_id(r))),
                home => home,
            }),
            component: c.component.clone(),
        });
        if !c.component.is_empty() && !plugin {
            let mut p = Params::new();
            p.push("cohortid", id.to_string())
                .push("component", c.component.clone());
            components.push((*row, p));
        }
    }
    let answers = calls::send_each(
        ctx,
        components.iter().map(|(_, p)| (Call::SetComponents, p)),
    )?;
    for ((row, _), answer) in components.iter().zip(answers) {
        if let Err(why) = answer {
            out.fail(*row, refused(&why));
        }
    }
    Ok(())
}

/// The calls of one operation other than a create.
fn item(book: &Cohorts, i: &Item, out: &BatchApplied) -> Result<Vec<Send>, Failure> {
    let mut p = Params::new();
    let mut new = None;
    let call = match i.op {
        Op::CreateCohort(_) => return Ok(Vec::new()),
        Op::UpdateCohort(u) => {
            let id = out.sent_id(u.cohort.expect("an update names its cohort"));
            let mut sends = Vec::new();
            if let Some(component) = &u.component {
                // core_cohort_update_cohorts takes none: the plugin sets it.
                let mut c = Params::new();
                c.push("cohortid", id.to_string())
                    .push("component", component.clone());
                sends.push(Send {
                    row: i.row,
                    call: Call::SetComponents,
                    fields: c,
                    new: None,
                });
            }
            let core = u.name.is_some()
                || u.idnumber.is_some()
                || u.description.is_some()
                || u.home.is_some();
            if !core {
                return Ok(sends);
            }
            let Some(now) = book.record(id) else {
                return Err(Failure::new(
                    Code::RemoteRejected,
                    format!("cohort {id} was not read before its update; run the file again"),
                ));
            };
            // update_cohorts takes the whole cohort: the fields the row leaves alone are
            // sent as they are.
            let home = u.home.or(now.home).unwrap_or(CohortHome::System);
            p.push("id", id.to_string());
            category_type(&mut p, home, out);
            p.push("name", u.name.clone().unwrap_or_else(|| now.name.clone()))
                .push(
                    "idnumber",
                    u.idnumber.clone().unwrap_or_else(|| now.idnumber.clone()),
                )
                .push(
                    "description",
                    u.description
                        .clone()
                        .unwrap_or_else(|| now.description.clone()),
                );
            sends.push(Send {
                row: i.row,
                call: Call::Update,
                fields: p,
                new,
            });
            return Ok(sends);
        }
        Op::DeleteCohort { cohort } => {
            p.push("", out.sent_id(*cohort).to_string());
            Call::Delete
        }
        Op::AddCohortMember { cohort, user } => {
            p.push("cohorttype[type]", "id")
                .push("cohorttype[value]", out.sent_id(*cohort).to_string())
                .push("usertype[type]", "id")
                .push("usertype[value]", out.sent_id(*user).to_string());
            Call::AddMembers
        }
        Op::RemoveCohortMember { cohort, user } => {
            p.push("cohortid", out.sent_id(*cohort).to_string())
                .push("userid", out.sent_id(*user).to_string());
            Call::DeleteMembers
        }
        Op::AddInstance(a) => {
            p.push("courseid", out.sent_id(a.course).to_string())
                .push(
                    "cohortid",
                    a.link.map(|l| out.sent_id(l)).unwrap_or(0).to_string(),
                )
                .push("roleid", a.role.unwrap_or(0).to_string())
                .push("status", if a.enabled { "0" } else { "1" })
                .push(
                    "groupid",
                    a.group.map(|g| out.sent_id(g)).unwrap_or(0).to_string(),
                )
                .push("enrolstartdate", a.start.to_string())
                .push("enrolenddate", a.end.to_string());
            if let Ref::New(n) = a.new {
                new = Some(n);
            }
            Call::AddInstances
        }
        Op::UpdateInstance(u) => {
            let id = out.sent_id(u.instance.expect("a binding's update names its instance"));
            p.push("instanceid", id.to_string());
            if let Some(role) = u.role {
                p.push("roleid", role.to_string());
            }
            if let Some(enabled) = u.enabled {
                p.push("status", if enabled { "0" } else { "1" });
            }
            if let Some(g) = u.group {
                p.push("groupid", out.sent_id(g).to_string());
            }
            if let Some(start) = u.start {
                p.push("enrolstartdate", start.to_string());
            }
            if let Some(end) = u.end {
                p.push("enrolenddate", end.to_string());
            }
            Call::UpdateInstances
        }
        Op::DeleteInstance { instance, .. } => {
            p.push("", out.sent_id(*instance).to_string());
            Call::DeleteInstances
        }
        other => unreachable!("{other:?} is not a cohort operation"),
    };
    Ok(vec![Send {
        row: i.row,
        call,
        fields: p,
        new,
    }])
}

/// The warnings of an add_cohort_members answer, but "already a member" (code 3), which
/// is what the row wanted.
fn member_warnings(v: &Value) -> Option<String> {
    let w: Vec<String> = v
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| x.get("warningcode").and_then(Value::as_str) != Some("3"))
        .map(|x| {
            let text = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            format!("warning {}: {}", text("warningcode"), text("message"))
        })
        .collect();
    (!w.is_empty()).then(|| w.join("; "))
}

/// core_cohort_add_cohort_members warns without saying which item: a call that warns is
/// sent again one member at a time, so each warning finds its row (adding is idempotent).
fn add_members(ctx: &Ctx, adds: &[Send], out: &mut BatchApplied) -> Result<(), Failure> {
    if adds.is_empty() {
        return Ok(());
    }
    let t = &ctx.cfg.target;
    let rows: Vec<(usize, Call, &Params)> = adds
        .iter()
        .enumerate()
        .map(|(n, s)| (n, s.call, &s.fields))
        .collect();
    let mut again = Vec::new();
    for (_, these, pieces) in
        calls::send(ctx.client, ctx.functions, t.batch_size, t.parallel, rows)?
    {
        for piece in pieces {
            let items = &these[piece.items.clone()];
            match &piece.answer {
                Err(m) => {
                    for &n in items {
                        out.fail(adds[n].row, refused(&m.describe()));
                    }
                }
                Ok(v) => match member_warnings(v) {
                    None => {}
                    Some(why) if items.len() == 1 => out.fail(
                        adds[items[0]].row,
                        Failure::new(
                            Code::RemoteWarning,
                            format!("Moodle did not apply the row: {why}"),
                        ),
                    ),
                    Some(_) => again.extend_from_slice(items),
                },
            }
        }
    }
    for n in again {
        let s = &adds[n];
        let mut p = Params::new();
        p.item(Call::AddMembers.list(), 0, &s.fields);
        let v = match ctx
            .client
            .call(Call::AddMembers.function(), &p, Retry::Safe)
        {
            Ok(v) => v,
            Err(super::client::CallError::Moodle(m)) if m.stops_the_file().is_none() => {
                out.fail(s.row, refused(&m.describe()));
                continue;
            }
            Err(e) => return Err(calls::stop_or(e, "a cohort membership")),
        };
        if let Some(why) = member_warnings(&v) {
            out.fail(
                s.row,
                Failure::new(
                    Code::RemoteWarning,
                    format!("Moodle did not apply the row: {why}"),
                ),
            );
        }
    }
    Ok(())
}
