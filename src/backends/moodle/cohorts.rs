//! Cohorts as the plan reads them over REST: found by id, idnumber or name, with their members
//! and, through the plugin's local_moosync_get_cohorts, the category they live in, their
//! component and the cohort sync instances bound to them. Without the plugin, Moodle's core
//! search finds them; it says only whether a cohort is in the system context, and shows no
//! component and no binding. A cohort is read once per file, and what a batch applies is
//! written into what was read.

use super::calls;
use super::client::{CallError, Client, Retry};
use super::form::Params;
use super::pool;
use crate::codes::Failure;
use crate::command::keys::CohortIdentifier;
use crate::plan::view::{CohortHome, CohortRec, InstanceRec, Read, ReadError};
use crate::plan::{Applied, BatchApplied, Decision, Op, Ref};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The plugin's read of cohorts with their members and bindings.
pub const GET_COHORTS: &str = "local_moosync_get_cohorts";

/// What a read needs of the target.
pub struct Reader<'a> {
    pub client: &'a Client,
    pub functions: &'a HashSet<String>,
    pub parallel: usize,
    pub batch: usize,
}

impl Reader<'_> {
    fn plugin(&self) -> bool {
        self.functions.contains(GET_COHORTS)
    }
}

/// A file's reads of cohorts.
#[derive(Default)]
pub struct Cohorts {
    /// Key → the ids of the cohorts matching it exactly.
    found: HashMap<(CohortIdentifier, String), Vec<i64>>,
    records: HashMap<i64, CohortRec>,
    members: HashMap<i64, HashSet<i64>>,
    /// The sync instances bound to each cohort (read through the plugin only).
    bound: HashMap<i64, Vec<InstanceRec>>,
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn list<'v>(v: &'v Value, k: &str) -> impl Iterator<Item = &'v Value> {
    v.get(k).and_then(Value::as_array).into_iter().flatten()
}

/// A cohort sync instance as local_moosync_get_cohorts answers it.
fn bound_instance(v: &Value, cohort: i64) -> InstanceRec {
    let role = int(v, "roleid");
    let group = int(v, "groupid");
    InstanceRec {
        id: Ref::Id(int(v, "id")),
        course: Ref::Id(int(v, "courseid")),
        method: "cohort".to_string(),
        enabled: int(v, "status") == 0,
        role: Some(role),
        link: Some(Ref::Id(cohort)),
        group: (group > 0).then_some(Ref::Id(group)),
        start: Some(int(v, "enrolstartdate")),
        end: Some(int(v, "enrolenddate")),
    }
}

type Found = Vec<(CohortRec, Option<HashSet<i64>>, Option<Vec<InstanceRec>>)>;

impl Cohorts {
    /// Reads the cohorts of `keys` not read yet.
    pub fn prefetch(
        &mut self,
        r: &Reader,
        keys: &BTreeSet<(CohortIdentifier, String)>,
    ) -> Result<(), Failure> {
        let new: Vec<(CohortIdentifier, String)> = keys
            .iter()
            .filter(|k| !self.found.contains_key(*k))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let read = if r.plugin() {
            self.read_plugin(r, &new)
        } else {
            self.read_core(r, &new)
        };
        read.map_err(|e| calls::stop_or(e, "a cohort lookup"))
    }

    /// local_moosync_get_cohorts, by field, `batch` values a call.
    fn read_plugin(
        &mut self,
        r: &Reader,
        keys: &[(CohortIdentifier, String)],
    ) -> Result<(), CallError> {
        let mut jobs: Vec<(CohortIdentifier, Vec<String>)> = Vec::new();
        for by in [
            CohortIdentifier::Id,
            CohortIdentifier::Idnumber,
            CohortIdentifier::Name,
        ] {
            let values: Vec<String> = keys
                .iter()
                .filter(|(b, _)| *b == by)
                .map(|(_, v)| v.clone())
                .collect();
            for chunk in values.chunks(r.batch.max(1)) {
                jobs.push((by, chunk.to_vec()));
            }
        }
        let answers = pool::map(&jobs, r.parallel, |(by, values)| {
            let mut p = Params::new();
            p.push("field", by.column())
                .list("values", values.iter().cloned())
                .push("withmembers", "1")
                .push("withinstances", "1");
            r.client.call(GET_COHORTS, &p, Retry::Safe)
        });
        let mut seen: Found = Vec::new();
        for answer in answers {
            for c in list(&answer?, "cohorts") {
                let id = int(c, "id");
                let category = int(c, "categoryid");
                let rec = CohortRec {
                    id: Ref::Id(id),
                    name: text(c, "name"),
                    idnumber: text(c, "idnumber"),
                    description: text(c, "description"),
                    home: Some(if category > 0 {
                        CohortHome::Category(Ref::Id(category))
                    } else {
                        CohortHome::System
                    }),
                    component: text(c, "component"),
                };
                let members = list(c, "members").filter_map(Value::as_i64).collect();
                let bound = list(c, "instances")
                    .map(|i| bound_instance(i, id))
                    .collect();
                seen.push((rec, Some(members), Some(bound)));
            }
        }
        self.keep(keys, seen);
        Ok(())
    }

    /// Moodle's core search: names, idnumbers and descriptions by substring, filtered here to
    /// exact matches; a search of the system context alone tells which cohorts live there.
    fn read_core(
        &mut self,
        r: &Reader,
        keys: &[(CohortIdentifier, String)],
    ) -> Result<(), CallError> {
        let search = |query: &str, includes: &str| {
            let mut p = Params::new();
            p.push("query", query)
                .push("context[contextlevel]", "system")
                .push("context[instanceid]", "0")
                .push("includes", includes)
                .push("limitfrom", "0")
                .push("limitnum", "1000");
            r.client.call("core_cohort_search_cohorts", &p, Retry::Safe)
        };
        let rec = |c: &Value, system: bool| CohortRec {
            id: Ref::Id(int(c, "id")),
            name: text(c, "name"),
            idnumber: text(c, "idnumber"),
            description: text(c, "description"),
            home: system.then_some(CohortHome::System),
            component: String::new(),
        };
        let answers = pool::map(keys, r.parallel, |(by, value)| {
            // get_cohorts does not say the context: a cohort found by id is searched again
            // by its name.
            let query = if *by == CohortIdentifier::Id {
                let mut p = Params::new();
                p.push("cohortids[0]", value.trim());
                let v = r.client.call("core_cohort_get_cohorts", &p, Retry::Safe)?;
                match v.as_array().and_then(|l| l.first()) {
                    Some(c) => text(c, "name"),
                    None => return Ok(Vec::new()),
                }
            } else {
                value.clone()
            };
            let system: HashSet<i64> = list(&search(&query, "self")?, "cohorts")
                .map(|c| int(c, "id"))
                .collect();
            Ok(list(&search(&query, "all")?, "cohorts")
                .map(|c| rec(c, system.contains(&int(c, "id"))))
                .filter(|c| c.holds(*by, value))
                .collect::<Vec<_>>())
        });
        let mut seen: Found = Vec::new();
        for answer in answers {
            seen.extend(answer?.into_iter().map(|c| (c, None, None)));
        }
        let mut ids: Vec<i64> = seen.iter().filter_map(|(c, _, _)| c.id.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| !self.members.contains_key(id));
        self.keep(keys, seen);
        self.read_core_members(r, &ids)
    }

    /// core_cohort_get_cohort_members, `batch` cohorts a call.
    fn read_core_members(&mut self, r: &Reader, ids: &[i64]) -> Result<(), CallError> {
        for chunk in ids.chunks(r.batch.max(1)) {
            let mut p = Params::new();
            p.list("cohortids", chunk.iter().map(i64::to_string));
            let v = r
                .client
                .call("core_cohort_get_cohort_members", &p, Retry::Safe)?;
            for m in v.as_array().into_iter().flatten() {
                let users = list(m, "userids").filter_map(Value::as_i64).collect();
                self.members.insert(int(m, "cohortid"), users);
            }
        }
        Ok(())
    }

    /// Files what a read found under each key it answers.
    fn keep(&mut self, keys: &[(CohortIdentifier, String)], seen: Found) {
        for (by, value) in keys {
            let ids = seen
                .iter()
                .filter(|(c, _, _)| c.holds(*by, value))
                .filter_map(|(c, _, _)| c.id.id())
                .collect::<BTreeSet<_>>();
            self.found
                .insert((*by, value.clone()), ids.into_iter().collect());
        }
        for (rec, members, bound) in seen {
            let Some(id) = rec.id.id() else { continue };
            if let Some(m) = members {
                self.members.insert(id, m);
            }
            if let Some(b) = bound {
                self.bound.insert(id, b);
            }
            self.records.insert(id, rec);
        }
    }

    pub fn find(&mut self, r: &Reader, by: CohortIdentifier, value: &str) -> Read<Vec<CohortRec>> {
        let key = (by, value.to_string());
        if !self.found.contains_key(&key) {
            self.prefetch(r, &BTreeSet::from([key.clone()]))
                .map_err(ReadError::Stop)?;
        }
        Ok(self.found[&key]
            .iter()
            .filter_map(|id| self.records.get(id).cloned())
            .collect())
    }

    /// A cohort's members; read by id when the cohort was not found by a key first.
    fn members_of(&mut self, r: &Reader, cohort: Ref) -> Read<Option<&HashSet<i64>>> {
        let Some(id) = cohort.id() else {
            return Ok(None);
        };
        if !self.members.contains_key(&id) {
            let key = (CohortIdentifier::Id, id.to_string());
            self.found.remove(&key);
            self.prefetch(r, &BTreeSet::from([key]))
                .map_err(ReadError::Stop)?;
        }
        Ok(self.members.get(&id))
    }

    pub fn members(&mut self, r: &Reader, cohort: Ref) -> Read<Vec<Ref>> {
        let mut all: Vec<i64> = self
            .members_of(r, cohort)?
            .into_iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        Ok(all.into_iter().map(Ref::Id).collect())
    }

    pub fn is_member(&mut self, r: &Reader, cohort: Ref, user: Ref) -> Read<bool> {
        let Some(u) = user.id() else { return Ok(false) };
        Ok(self.members_of(r, cohort)?.is_some_and(|m| m.contains(&u)))
    }

    /// The sync instances bound to the cohort; `None` without the plugin.
    pub fn bound(&mut self, r: &Reader, cohort: Ref) -> Read<Option<Vec<InstanceRec>>> {
        if !r.plugin() {
            return Ok(None);
        }
        self.members_of(r, cohort)?;
        Ok(Some(
            cohort
                .id()
                .and_then(|id| self.bound.get(&id).cloned())
                .unwrap_or_default(),
        ))
    }

    /// The course of a bound instance read here.
    pub fn course_of(&self, instance: i64) -> Option<i64> {
        self.bound
            .values()
            .flatten()
            .find(|i| i.id == Ref::Id(instance))
            .and_then(|i| i.course.id())
    }

    /// A cohort the backend has just created: known, without members or bindings.
    pub fn made(&mut self, rec: CohortRec) {
        let Some(id) = rec.id.id() else { return };
        self.members.insert(id, HashSet::new());
        self.bound.insert(id, Vec::new());
        self.records.insert(id, rec);
    }

    /// A cohort as read, for a sender that must send fields the operation leaves alone.
    pub fn record(&self, id: i64) -> Option<&CohortRec> {
        self.records.get(&id)
    }

    /// The courses whose enrolments follow the cohort (its bindings).
    pub fn courses_of(&self, cohort: i64) -> Vec<i64> {
        self.bound
            .get(&cohort)
            .into_iter()
            .flatten()
            .filter_map(|i| i.course.id())
            .collect()
    }

    /// The courses whose enrolments a batch's cohort operations changed (those of the
    /// bindings read here; without the plugin none are known).
    pub fn courses_touched(&self, decisions: &[Decision], out: &BatchApplied) -> BTreeSet<i64> {
        let id = |r: Ref| out.id(r);
        let mut courses = BTreeSet::new();
        for d in decisions {
            let Decision::Apply { ops, .. } = d else {
                continue;
            };
            for op in ops {
                match op {
                    Op::AddCohortMember { cohort, .. }
                    | Op::RemoveCohortMember { cohort, .. }
                    | Op::DeleteCohort { cohort } => {
                        if let Some(c) = id(*cohort) {
                            courses.extend(self.courses_of(c));
                        }
                    }
                    Op::AddInstance(i) if i.method == "cohort" => courses.extend(id(i.course)),
                    Op::UpdateInstance(u) if u.method == "cohort" => {
                        courses.extend(u.instance.and_then(id).and_then(|i| self.course_of(i)));
                    }
                    Op::DeleteInstance { instance, method } if method == "cohort" => {
                        courses.extend(id(*instance).and_then(|i| self.course_of(i)));
                    }
                    _ => {}
                }
            }
        }
        courses
    }

    /// Writes what a batch applied into what was read; a cohort whose operation failed is
    /// read again when a later row names it.
    pub fn applied(&mut self, decisions: &[Decision], out: &BatchApplied) {
        let id = |r: Ref| out.id(r);
        for (d, result) in decisions.iter().zip(&out.rows) {
            let Decision::Apply { ops, .. } = d else {
                continue;
            };
            let done = *result == Applied::Done;
            for op in ops {
                match op {
                    Op::CreateCohort(_) => {
                        // Lookups that found nothing may find it now.
                        self.found.retain(|_, ids| !ids.is_empty());
                    }
                    Op::UpdateCohort(u) => {
                        if let Some(c) = u.cohort.and_then(id) {
                            self.forget(c);
                        }
                    }
                    Op::DeleteCohort { cohort } => {
                        if let Some(c) = id(*cohort) {
                            self.forget(c);
                        }
                    }
                    Op::AddCohortMember { cohort, user }
                    | Op::RemoveCohortMember { cohort, user } => {
                        let (Some(c), Some(u)) = (id(*cohort), id(*user)) else {
                            continue;
                        };
                        match (done, self.members.get_mut(&c)) {
                            (true, Some(m)) => {
                                if matches!(op, Op::AddCohortMember { .. }) {
                                    m.insert(u);
                                } else {
                                    m.remove(&u);
                                }
                            }
                            _ => self.forget(c),
                        }
                    }
                    Op::AddInstance(i) if i.method == "cohort" => {
                        if let Some(c) = i.link.and_then(id) {
                            self.forget(c);
                        }
                    }
                    Op::UpdateInstance(u) if u.method == "cohort" => {
                        self.forget_binding(u.instance.and_then(id));
                    }
                    Op::DeleteInstance { instance, method } if method == "cohort" => {
                        self.forget_binding(id(*instance));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Drops what was read of the cohort an instance binds.
    fn forget_binding(&mut self, instance: Option<i64>) {
        let Some(inst) = instance else { return };
        let owners: Vec<i64> = self
            .bound
            .iter()
            .filter(|(_, l)| l.iter().any(|x| x.id == Ref::Id(inst)))
            .map(|(c, _)| *c)
            .collect();
        for c in owners {
            self.forget(c);
        }
    }

    /// Drops what was read of a cohort: the next row naming it reads it again.
    fn forget(&mut self, cohort: i64) {
        self.records.remove(&cohort);
        self.members.remove(&cohort);
        self.bound.remove(&cohort);
        self.found.retain(|_, ids| !ids.contains(&cohort));
    }
}
