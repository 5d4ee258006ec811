//! Cohorts over REST: the cohort itself (created, updated, deleted) and its members. Each
//! cohort is looked up once per run and its members once per file, so a row that changes
//! nothing sends nothing. Binding a cohort to a course has no web service (MS-R006).

use super::calls::{self, Ctx};
use super::client::{CallError, Retry};
use super::directory::{Directory, Field};
use super::field_of as user_field;
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::keys::CohortIdentifier;
use crate::command::{CategoryBy, CohortLeave, CohortRef, CohortUpsert, Command};
use crate::config::Config;
use crate::outcome::{Action, Change, Outcome};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
struct Cohort {
    id: i64,
    name: String,
    idnumber: String,
    description: String,
    /// In the system context (else in a category's, which Moodle's answers do not name).
    system: bool,
}

/// Cohorts and members as the run has seen them.
#[derive(Default)]
pub struct Cohorts {
    found: HashMap<(CohortIdentifier, String), Vec<Cohort>>,
    members: HashMap<i64, HashSet<i64>>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Create,
    Update,
    AddMembers,
    DeleteMembers,
    Delete,
}

impl calls::CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Create => "core_cohort_create_cohorts",
            Call::Update => "core_cohort_update_cohorts",
            Call::AddMembers => "core_cohort_add_cohort_members",
            Call::DeleteMembers => "core_cohort_delete_cohort_members",
            Call::Delete => "core_cohort_delete_cohorts",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Create | Call::Update => "cohorts",
            Call::AddMembers | Call::DeleteMembers => "members",
            Call::Delete => "cohortids",
        }
    }

    /// Creates are not sent twice blindly; the rest set a state.
    fn retry(self) -> Retry {
        if matches!(self, Call::Create | Call::Delete) {
            Retry::Never
        } else {
            Retry::Safe
        }
    }
}

/// One call's item: the list it goes in and its fields.
struct Item {
    call: Call,
    fields: Params,
}

struct Plan {
    items: Vec<Item>,
    changes: Vec<Change>,
    /// The cache after the row: (cohort, member added, member removed, cohort deleted).
    cohort: i64,
    joined: Option<i64>,
    left: Vec<i64>,
    deleted: bool,
}

fn cohort_of(v: &Value, system: bool) -> Option<Cohort> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Some(Cohort {
        id: v.get("id")?.as_i64()?,
        name: s("name"),
        idnumber: s("idnumber"),
        description: s("description"),
        system,
    })
}

fn key_of(cmd: &Command, cfg: &Config) -> Option<(CohortIdentifier, String)> {
    let default = cfg.cohorts.identifier;
    match cmd {
        Command::CohortUpsert(c) => Some((c.cohort_by.unwrap_or(default), c.cohort.clone())),
        Command::CohortLeave(c) => Some((c.cohort_by.unwrap_or(default), c.cohort.clone())),
        Command::CohortDelete(c) | Command::CohortEmpty(c) => {
            Some((c.cohort_by.unwrap_or(default), c.cohort.clone()))
        }
        _ => None,
    }
}

impl Cohorts {
    /// Finds the cohorts not seen yet: Moodle searches names, idnumbers and descriptions by
    /// substring, so the answer is filtered to exact matches; a search of the system context
    /// alone first tells which cohorts live there.
    fn fetch(&mut self, ctx: &Ctx, keys: Vec<(CohortIdentifier, String)>) -> Result<(), Failure> {
        let mut new: Vec<(CohortIdentifier, String)> = keys
            .into_iter()
            .filter(|k| !self.found.contains_key(k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        new.sort_by(|a, b| a.1.cmp(&b.1));
        let answers = pool::map(&new, ctx.cfg.target.parallel, |(by, value)| {
            let search = |includes: &str| {
                let mut p = Params::new();
                p.push("query", value.clone())
                    .push("context[contextlevel]", "system")
                    .push("context[instanceid]", "0")
                    .push("includes", includes)
                    .push("limitfrom", "0")
                    .push("limitnum", "1000");
                ctx.client
                    .call("core_cohort_search_cohorts", &p, Retry::Safe)
            };
            let exact = |v: &Value, system: bool| -> Vec<Cohort> {
                v.get("cohorts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| cohort_of(c, system))
                    .filter(|c| match by {
                        CohortIdentifier::Idnumber => c.idnumber == *value,
                        CohortIdentifier::Name => c.name == *value,
                        CohortIdentifier::Id => c.id.to_string() == *value,
                    })
                    .collect()
            };
            if *by == CohortIdentifier::Id {
                let mut p = Params::new();
                p.push("cohortids[0]", value.clone());
                // get_cohorts does not say the context: a cohort found by id is searched
                // again by its name in the system context.
                let v = ctx
                    .client
                    .call("core_cohort_get_cohorts", &p, Retry::Safe)?;
                let Some(c) = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|c| cohort_of(c, false))
                else {
                    return Ok(Vec::new());
                };
                let mut q = Params::new();
                q.push("query", c.name.clone())
                    .push("context[contextlevel]", "system")
                    .push("context[instanceid]", "0")
                    .push("includes", "self")
                    .push("limitfrom", "0")
                    .push("limitnum", "1000");
                let own = ctx
                    .client
                    .call("core_cohort_search_cohorts", &q, Retry::Safe)?;
                let system = own
                    .get("cohorts")
                    .and_then(Value::as_array)
                    .is_some_and(|l| {
                        l.iter()
                            .any(|x| x.get("id").and_then(Value::as_i64) == Some(c.id))
                    });
                return Ok(vec![Cohort { system, ..c }]);
            }
            let system: HashSet<i64> = exact(&search("self")?, true).iter().map(|c| c.id).collect();
            let mut all = exact(&search("all")?, false);
            for c in &mut all {
                c.system = system.contains(&c.id);
            }
            Ok::<_, CallError>(all)
        });
        let mut ids = Vec::new();
        for (key, found) in new.into_iter().zip(answers) {
            let found = found.map_err(|e| calls::stop_or(e, "a cohort lookup"))?;
            ids.extend(found.iter().map(|c| c.id));
            self.found.insert(key, found);
        }
        ids.retain(|id| !self.members.contains_key(id));
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(ctx.cfg.target.batch_size.max(1)) {
            let mut p = Params::new();
            p.list("cohortids", chunk.iter().map(i64::to_string));
            let v = ctx
                .client
                .call("core_cohort_get_cohort_members", &p, Retry::Safe)
                .map_err(|e| calls::stop_or(e, "a cohort's member list"))?;
            for m in v.as_array().into_iter().flatten() {
                let Some(id) = m.get("cohortid").and_then(Value::as_i64) else {
                    continue;
                };
                let users = m
                    .get("userids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_i64)
                    .collect();
                self.members.insert(id, users);
            }
        }
        Ok(())
    }

    fn one(&self, key: &(CohortIdentifier, String)) -> Result<Option<&Cohort>, Failure> {
        match self.found.get(key).map(Vec::as_slice).unwrap_or_default() {
            [] => Ok(None),
            [c] => Ok(Some(c)),
            many => Err(Failure::new(
                Code::AmbiguousMatch,
                format!(
                    "{} cohorts have {} '{}'; name them by idnumber ([cohorts] identifier)",
                    many.len(),
                    key.0.column(),
                    key.1
                ),
            )),
        }
    }
}

/// Applies cohort rows (no cohort twice); one outcome per row.
pub fn apply(
    ctx: &Ctx,
    dir: &mut Directory,
    cohorts: &mut Cohorts,
    rows: &[&Command],
) -> Result<Vec<Outcome>, Failure> {
    let t = &ctx.cfg.target;
    let member_key = |c: &Command| -> Option<(Field, String)> {
        let (m, by) = match c {
            Command::CohortUpsert(u) => (u.member.as_ref()?, u.member_by),
            Command::CohortLeave(l) => (&l.member, l.member_by),
            _ => return None,
        };
        Some((
            user_field(by.unwrap_or(ctx.cfg.cohorts.user_identifier)),
            m.clone(),
        ))
    };
    dir.fetch(
        ctx.client,
        t.parallel,
        t.batch_size,
        rows.iter().filter_map(|c| member_key(c)),
    )?;
    cohorts.fetch(
        ctx,
        rows.iter().filter_map(|c| key_of(c, ctx.cfg)).collect(),
    )?;
    // A cohort several rows of the wave create is created by the first; the others join it.
    let mut creating: HashSet<(CohortIdentifier, String)> = HashSet::new();
    let plans: Vec<Result<Plan, Outcome>> = rows
        .iter()
        .map(|c| {
            let member = match member_key(c) {
                Some((f, v)) => match dir.find(f, &v).unwrap_or_default().as_slice() {
                    [a] if !a.deleted => Some(a.id),
                    _ => {
                        return Err(Outcome::Failed(Failure::new(
                            Code::NotFound,
                            format!("no account has {} '{v}'", f.name()),
                        )))
                    }
                },
                None => None,
            };
            plan(ctx, cohorts, &mut creating, c, member)
        })
        .collect();
    if ctx.dry_run {
        return Ok(plans
            .into_iter()
            .map(|p| match p {
                Ok(p) => Outcome::Applied(p.changes),
                Err(o) => o,
            })
            .collect());
    }
    // Creates go first, alone: a row's member joins the cohort by idnumber, which the
    // create makes. Then every other call, by function.
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    let mut new_ids: HashMap<usize, i64> = HashMap::new();
    for phase in [
        vec![Call::Create],
        vec![
            Call::Update,
            Call::AddMembers,
            Call::DeleteMembers,
            Call::Delete,
        ],
    ] {
        // A cohort's delete is its id in `cohortids`, a list of scalars.
        let deletes: Vec<(usize, Params)> = plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref().ok().filter(|p| p.deleted).map(|p| {
                    let mut f = Params::new();
                    f.push("", p.cohort.to_string());
                    (i, f)
                })
            })
            .collect();
        let mut rows: Vec<(usize, Call, &Params)> = Vec::new();
        for call in phase {
            for (i, p) in plans.iter().enumerate() {
                let Ok(p) = p else { continue };
                if outcomes[i].is_some() {
                    continue;
                }
                for it in p.items.iter().filter(|it| it.call == call) {
                    if call == Call::Delete {
                        if let Some((_, f)) = deletes.iter().find(|(d, _)| *d == i) {
                            rows.push((i, call, f));
                        }
                    } else {
                        rows.push((i, call, &it.fields));
                    }
                }
            }
        }
        let sent = calls::send(ctx.client, ctx.functions, t.batch_size, t.parallel, rows)?;
        for (call, items, pieces) in &sent {
            for piece in pieces {
                let failed = match &piece.answer {
                    Err(m) => Some(format!("Moodle refused the row: {}", m.describe())),
                    // add_cohort_members reports per item, without saying which: a warning
                    // in a piece of one item is that item's.
                    Ok(v) => v
                        .get("warnings")
                        .and_then(Value::as_array)
                        .map(|w| {
                            // Code 3, "already a member", is what the row wanted.
                            w.iter()
                                .filter(|x| {
                                    x.get("warningcode").and_then(Value::as_str) != Some("3")
                                })
                                .map(|x| {
                                    let text = |k: &str| {
                                        x.get(k).and_then(Value::as_str).unwrap_or("").to_string()
                                    };
                                    format!("warning {}: {}", text("warningcode"), text("message"))
                                })
                                .collect::<Vec<_>>()
                        })
                        .filter(|w| !w.is_empty())
                        .map(|w| format!("Moodle did not apply the row: {}", w.join("; "))),
                };
                match (failed, piece.items.len()) {
                    (Some(why), 1) => {
                        let i = items[piece.items.start];
                        let code = if piece.answer.is_err() {
                            Code::RemoteRejected
                        } else {
                            Code::RemoteWarning
                        };
                        outcomes[i] = Some(Outcome::Failed(Failure::new(code, why)));
                    }
                    // A warning in a call of several does not say which item: the members
                    // are read back, and the rows whose member is missing carry the warnings.
                    (Some(why), _) => {
                        let these: Vec<usize> = items[piece.items.clone()].to_vec();
                        let ids: Vec<i64> = these
                            .iter()
                            .filter_map(|i| {
                                plans[*i].as_ref().ok().map(|p| {
                                    if p.cohort != 0 {
                                        p.cohort
                                    } else {
                                        new_ids.get(i).copied().unwrap_or(0)
                                    }
                                })
                            })
                            .collect();
                        let mut p = Params::new();
                        p.list("cohortids", ids.iter().map(i64::to_string));
                        let v = ctx
                            .client
                            .call("core_cohort_get_cohort_members", &p, Retry::Safe)
                            .map_err(|e| calls::stop_or(e, "a cohort's member list"))?;
                        let now: HashMap<i64, HashSet<i64>> = v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|m| {
                                let id = m.get("cohortid")?.as_i64()?;
                                let users = m
                                    .get("userids")?
                                    .as_array()?
                                    .iter()
                                    .filter_map(Value::as_i64)
                                    .collect();
                                Some((id, users))
                            })
                            .collect();
                        for (i, cohort) in these.into_iter().zip(ids) {
                            let Ok(plan) = &plans[i] else { continue };
                            if plan
                                .joined
                                .is_some_and(|u| !now.get(&cohort).is_some_and(|m| m.contains(&u)))
                            {
                                outcomes[i] = Some(Outcome::Failed(Failure::new(
                                    Code::RemoteWarning,
                                    why.clone(),
                                )));
                            }
                        }
                    }
                    (None, _) => {
                        if *call == Call::Create {
                            // The new ids, in the order sent.
                            for (n, i) in items[piece.items.clone()].iter().enumerate() {
                                let id = piece
                                    .answer
                                    .as_ref()
                                    .ok()
                                    .and_then(|v| v.get(n))
                                    .and_then(|c| c.get("id"))
                                    .and_then(Value::as_i64);
                                if let Some(id) = id {
                                    new_ids.insert(*i, id);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .enumerate()
        .map(|(i, (p, o))| match (p, o) {
            (_, Some(o)) => o,
            (Err(o), None) => o,
            (Ok(mut p), None) => {
                if let Some(id) = new_ids.get(&i) {
                    for c in p.changes.iter_mut().filter(|c| c.entity == "cohort") {
                        c.id = *id;
                    }
                }
                if p.deleted {
                    cohorts.members.remove(&p.cohort);
                    cohorts
                        .found
                        .retain(|_, v| v.iter().all(|c| c.id != p.cohort));
                } else if p.cohort != 0 {
                    let m = cohorts.members.entry(p.cohort).or_default();
                    m.extend(p.joined);
                    for u in &p.left {
                        m.remove(u);
                    }
                } else {
                    // A new cohort: looked up again when a later row names it.
                    cohorts.found.clear();
                }
                Outcome::Applied(p.changes)
            }
        })
        .collect())
}

fn category_type(c: &CohortUpsert) -> Params {
    let mut p = Params::new();
    match &c.category {
        Some(cat) => {
            let by = match c.category_by.unwrap_or(CategoryBy::Id) {
                CategoryBy::Id => "id",
                CategoryBy::Idnumber => "idnumber",
            };
            p.push("categorytype[type]", by)
                .push("categorytype[value]", cat.clone());
        }
        None => {
            p.push("categorytype[type]", "system")
                .push("categorytype[value]", "");
        }
    }
    p
}

fn plan(
    ctx: &Ctx,
    cohorts: &Cohorts,
    creating: &mut HashSet<(CohortIdentifier, String)>,
    cmd: &Command,
    member: Option<i64>,
) -> Result<Plan, Outcome> {
    let fail = |code, msg: String| Outcome::Failed(Failure::new(code, msg));
    let key = key_of(cmd, ctx.cfg).expect("cohort commands have a key");
    let found = cohorts.one(&key).map_err(Outcome::Failed)?.cloned();
    let members = found.as_ref().and_then(|c| cohorts.members.get(&c.id));
    let is_member = |u: i64| members.is_some_and(|m| m.contains(&u));
    let mut plan = Plan {
        items: Vec::new(),
        changes: Vec::new(),
        cohort: found.as_ref().map_or(0, |c| c.id),
        joined: None,
        left: Vec::new(),
        deleted: false,
    };
    let shown = |c: &Cohort| {
        if c.idnumber.is_empty() {
            c.name.clone()
        } else {
            c.idnumber.clone()
        }
    };
    match cmd {
        Command::CohortUpsert(c) => {
            let mut join_by_idnumber = None;
            match &found {
                None => {
                    if !c.create.unwrap_or(ctx.cfg.cohorts.autocreate) {
                        return Err(fail(Code::NotFound, format!("no cohort has {} '{}', and [cohorts] autocreate is off; create it in Moodle or turn autocreate on", key.0.column(), key.1)));
                    }
                    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
                    let (name, idnumber) = match key.0 {
                        CohortIdentifier::Name => (Some(key.1.clone()), given(&c.idnumber)),
                        CohortIdentifier::Idnumber => (given(&c.name), Some(key.1.clone())),
                        CohortIdentifier::Id => return Err(fail(Code::NotFound, format!("no cohort has id {}; ids are given by Moodle, so name new cohorts by idnumber or name", key.1))),
                    };
                    let Some(name) = name else {
                        return Err(fail(
                            Code::MissingValue,
                            format!(
                                "cohort '{}' does not exist and a new cohort needs a name (cname)",
                                key.1
                            ),
                        ));
                    };
                    // Moodle takes an empty idnumber once only: every cohort it creates
                    // over REST needs one of its own.
                    let Some(idnumber) = idnumber else {
                        return Err(fail(Code::MissingValue, format!("cohort '{name}' does not exist, and Moodle's web services create a cohort only with an idnumber of its own (cidnumber)")));
                    };
                    if !creating.insert(key.clone()) {
                        join_by_idnumber = Some(idnumber);
                    } else {
                        let mut f = category_type(c);
                        f.push("name", name.clone())
                            .push("idnumber", idnumber.clone());
                        if let Some(d) = c.description.as_deref().filter(|d| !d.is_empty()) {
                            f.push("description", d);
                        }
                        plan.items.push(Item {
                            call: Call::Create,
                            fields: f,
                        });
                        plan.changes.push(Change::new(
                            Action::Created,
                            "cohort",
                            0,
                            idnumber.clone(),
                        ));
                        join_by_idnumber = Some(idnumber);
                    }
                }
                Some(found) if c.update => {
                    let mut fields = Vec::new();
                    for (name, new, old) in [
                        ("name", c.name.as_deref(), found.name.as_str()),
                        ("idnumber", c.idnumber.as_deref(), found.idnumber.as_str()),
                        (
                            "description",
                            c.description.as_deref(),
                            found.description.as_str(),
                        ),
                    ] {
                        if new.is_some_and(|v| !v.is_empty() && v != old) {
                            fields.push(name.to_string());
                        }
                    }
                    if !fields.is_empty() {
                        if !found.system && c.category.is_none() {
                            return Err(fail(Code::RemoteUnsupported, format!("cohort '{}' lives in a category: Moodle's update_cohorts moves a cohort to the category it is given, so the row must name it (ccatcontext or ccatcontextidnumber)", shown(found))));
                        }
                        let mut f = Params::new();
                        f.push("id", found.id.to_string());
                        f.extend(&category_type(c));
                        let pick = |new: Option<&String>, old: &str| {
                            new.filter(|v| !v.is_empty())
                                .cloned()
                                .unwrap_or_else(|| old.to_string())
                        };
                        f.push("name", pick(c.name.as_ref(), &found.name))
                            .push("idnumber", pick(c.idnumber.as_ref(), &found.idnumber))
                            .push(
                                "description",
                                pick(c.description.as_ref(), &found.description),
                            );
                        plan.items.push(Item {
                            call: Call::Update,
                            fields: f,
                        });
                        plan.changes.push(Change {
                            action: Action::Updated,
                            entity: "cohort",
                            id: found.id,
                            label: shown(found),
                            fields,
                        });
                    }
                }
                Some(_) => {}
            }
            if let Some(u) = member {
                if !is_member(u) {
                    let mut f = Params::new();
                    match (&found, &join_by_idnumber) {
                        (Some(found), _) => f
                            .push("cohorttype[type]", "id")
                            .push("cohorttype[value]", found.id.to_string()),
                        (None, Some(idn)) => f
                            .push("cohorttype[type]", "idnumber")
                            .push("cohorttype[value]", idn.clone()),
                        (None, None) => unreachable!("a cohort not found is created above"),
                    };
                    f.push("usertype[type]", "id")
                        .push("usertype[value]", u.to_string());
                    plan.items.push(Item {
                        call: Call::AddMembers,
                        fields: f,
                    });
                    plan.changes.push(Change::new(
                        Action::Created,
                        "cohort_member",
                        u,
                        format!("user id {u} in {}", key.1),
                    ));
                    plan.joined = Some(u);
                }
            }
            if plan.changes.is_empty() {
                let id = found.as_ref().map_or(0, |c| c.id);
                plan.changes
                    .push(Change::new(Action::Unchanged, "cohort", id, key.1.clone()));
            }
            Ok(plan)
        }
        Command::CohortLeave(CohortLeave { .. })
        | Command::CohortDelete(CohortRef { .. })
        | Command::CohortEmpty(CohortRef { .. }) => {
            let Some(found) = found else {
                return Err(fail(
                    Code::NotFound,
                    format!("no cohort has {} '{}'", key.0.column(), key.1),
                ));
            };
            match cmd {
                Command::CohortLeave(_) => {
                    let u = member.expect("a leave names its member");
                    if !is_member(u) {
                        return Err(Outcome::Skipped(format!(
                            "user id {u} is not a member of {}",
                            shown(&found)
                        )));
                    }
                    plan.items.push(Item {
                        call: Call::DeleteMembers,
                        fields: leave(found.id, u),
                    });
                    plan.changes.push(Change::new(
                        Action::Deleted,
                        "cohort_member",
                        u,
                        format!("user id {u} in {}", shown(&found)),
                    ));
                    plan.left.push(u);
                }
                Command::CohortEmpty(_) => {
                    let mut all: Vec<i64> = members.into_iter().flatten().copied().collect();
                    all.sort_unstable();
                    for u in all {
                        plan.items.push(Item {
                            call: Call::DeleteMembers,
                            fields: leave(found.id, u),
                        });
                        plan.left.push(u);
                    }
                    let action = if plan.left.is_empty() {
                        Action::Unchanged
                    } else {
                        Action::Updated
                    };
                    plan.changes
                        .push(Change::new(action, "cohort", found.id, shown(&found)));
                }
                _ => {
                    plan.items.push(Item {
                        call: Call::Delete,
                        fields: Params::new(),
                    });
                    plan.changes.push(Change::new(
                        Action::Deleted,
                        "cohort",
                        found.id,
                        shown(&found),
                    ));
                    plan.deleted = true;
                }
            }
            Ok(plan)
        }
        _ => unreachable!("only cohort commands are planned here"),
    }
}

fn leave(cohort: i64, user: i64) -> Params {
    let mut f = Params::new();
    f.push("cohortid", cohort.to_string())
        .push("userid", user.to_string());
    f
}
