//! Courses, categories and course parts (enrol instances, sections, participants) as the
//! plan reads them over REST, read ahead in batches and kept for the file. The plugin's lean
//! reads are used where the site has them; core's otherwise, which show less (only a course's
//! enabled enrol methods, no section names, no enrolment of a participant).

use super::calls;
use super::client::{Client, Retry};
use super::courses::{look_up, Record};
use super::form::Params;
use super::pool;
use crate::codes::Failure;
use crate::command::keys::CourseIdentifier;
use crate::command::Section;
use crate::plan::view::{
    CategoryRec, CourseRec, InstanceRec, RoleAssignment, RoleHolder, UeRec, Wanted,
};
use crate::plan::Ref;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The plugin's reads this module uses when the site offers them.
pub const GET_INSTANCES: &str = "local_moosync_get_enrol_instances";
pub const GET_SECTIONS: &str = "local_moosync_get_sections";
pub const GET_ENROLMENTS: &str = "local_moosync_get_enrolments";

/// What the file has read of the site's courses.
#[derive(Default)]
pub struct Catalogue {
    courses: HashMap<(CourseIdentifier, String), Option<Record>>,
    /// Every category, read once for the file (a site has far fewer than courses).
    categories: Option<Vec<CategoryRec>>,
    instances: HashMap<i64, Vec<InstanceRec>>,
    sections: HashMap<i64, Vec<Section>>,
    counts: HashMap<i64, usize>,
    holders: HashMap<i64, Vec<RoleHolder>>,
}

/// The call and the site's functions a read needs.
pub struct Reader<'a> {
    pub client: &'a Client,
    pub functions: &'a HashSet<String>,
    pub parallel: usize,
}

impl Reader<'_> {
    fn has(&self, f: &str) -> bool {
        self.functions.contains(f)
    }

    fn read(&self, function: &str, p: &Params, what: &str) -> Result<Value, Failure> {
        self.client
            .call(function, p, Retry::Safe)
            .map_err(|e| calls::stop_or(e, what))
    }
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k)
        .and_then(|x| {
            x.as_i64()
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0)
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Catalogue {
    /// Forgets what a course write may have changed (categories are kept: they are added to
    /// as they are made, and never deleted by a feed).
    pub fn courses_changed(&mut self) {
        self.courses.clear();
        self.instances.clear();
        self.sections.clear();
        self.counts.clear();
        self.holders.clear();
    }

    /// Reads what the batch will look up: courses, then the parts of those found.
    pub fn prefetch(&mut self, r: &Reader, wanted: &Wanted) -> Result<(), Failure> {
        let keys: Vec<(CourseIdentifier, String)> = wanted
            .courses
            .iter()
            .chain(&wanted.course_parts)
            .chain(&wanted.counts)
            .chain(&wanted.course_groups)
            .filter(|k| !self.courses.contains_key(*k))
            .cloned()
            .collect();
        self.fetch(r, keys)?;
        let ids = |keys: &std::collections::BTreeSet<(CourseIdentifier, String)>| -> Vec<i64> {
            let mut ids: Vec<i64> = keys
                .iter()
                .filter_map(|k| self.courses.get(k).cloned().flatten())
                .map(|c| c.id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let parts = ids(&wanted.course_parts);
        let counts = ids(&wanted.counts);
        self.read_instances(r, &parts)?;
        self.read_sections(r, &parts)?;
        self.read_counts(r, &counts)
    }

    fn fetch(&mut self, r: &Reader, keys: Vec<(CourseIdentifier, String)>) -> Result<(), Failure> {
        if keys.is_empty() {
            return Ok(());
        }
        calls::require(r.functions, "core_course_get_courses_by_field")?;
        for (key, rec) in look_up(r.client, r.parallel, keys)? {
            self.courses.insert(key, rec);
        }
        Ok(())
    }

    /// The courses whose `by` is `value` (one at most: Moodle keeps shortnames, idnumbers and
    /// ids unique), with their sections when read.
    pub fn courses(
        &mut self,
        r: &Reader,
        by: CourseIdentifier,
        value: &str,
        copy_pending: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<CourseRec>, Failure> {
        let key = (by, value.to_string());
        if !self.courses.contains_key(&key) {
            self.fetch(r, vec![key.clone()])?;
        }
        let found = self.courses.get(&key).cloned().flatten();
        Ok(found
            .map(|c| {
                let mut rec = c.rec();
                rec.sections = self.sections.get(&c.id).cloned();
                rec.copy_unfinished = copy_pending(&rec.shortname);
                rec
            })
            .into_iter()
            .collect())
    }

    fn all_categories(&mut self, r: &Reader) -> Result<&Vec<CategoryRec>, Failure> {
        if self.categories.is_none() {
            calls::require(r.functions, "core_course_get_categories")?;
            let mut p = Params::new();
            p.push("addsubcategories", "0");
            let v = r.read("core_course_get_categories", &p, "the list of categories")?;
            let list = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| CategoryRec {
                    id: Ref::Id(int(c, "id")),
                    name: text(c, "name"),
                    idnumber: text(c, "idnumber"),
                    parent: Ref::Id(int(c, "parent")),
                    visible: int(c, "visible") != 0,
                })
                .collect();
            self.categories = Some(list);
        }
        Ok(self.categories.as_ref().expect("read above"))
    }

    pub fn categories_named(
        &mut self,
        r: &Reader,
        parent: Ref,
        name: &str,
    ) -> Result<Vec<CategoryRec>, Failure> {
        Ok(self
            .all_categories(r)?
            .iter()
            .filter(|c| c.parent == parent && c.name == name)
            .cloned()
            .collect())
    }

    pub fn categories_by_idnumber(
        &mut self,
        r: &Reader,
        idnumber: &str,
    ) -> Result<Vec<CategoryRec>, Failure> {
        Ok(self
            .all_categories(r)?
            .iter()
            .filter(|c| !idnumber.is_empty() && c.idnumber == idnumber)
            .cloned()
            .collect())
    }

    pub fn category(&mut self, r: &Reader, id: Ref) -> Result<Option<CategoryRec>, Failure> {
        Ok(self.all_categories(r)?.iter().find(|c| c.id == id).cloned())
    }

    /// Moodle's default category: the first one made.
    pub fn default_category(&mut self, r: &Reader) -> Result<Option<CategoryRec>, Failure> {
        Ok(self.all_categories(r)?.iter().min_by_key(|c| c.id).cloned())
    }

    /// A category this run made.
    pub fn add_category(&mut self, c: CategoryRec) {
        if let Some(all) = &mut self.categories {
            all.push(c);
        }
    }

    /// The enrol instances of the courses not read yet: every setting through the plugin
    /// (one call), else the enabled methods core lists (a call per course).
    fn read_instances(&mut self, r: &Reader, ids: &[i64]) -> Result<(), Failure> {
        let ids: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.instances.contains_key(id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        if r.has(GET_INSTANCES) {
            let mut p = Params::new();
            p.list("courseids", ids.iter().map(i64::to_string));
            let v = r.read(GET_INSTANCES, &p, "the enrol methods of courses")?;
            for id in &ids {
                self.instances.insert(*id, Vec::new());
            }
            for i in v
                .get("instances")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let method = text(i, "enrol");
                let linked =
                    method == "meta" || crate::command::COHORT_PLUGINS.contains(&method.as_str());
                let nonzero = |k: &str| Some(int(i, k)).filter(|v| *v > 0).map(Ref::Id);
                let rec = InstanceRec {
                    id: Ref::Id(int(i, "id")),
                    course: Ref::Id(int(i, "courseid")),
                    enabled: int(i, "status") == 0,
                    role: Some(int(i, "roleid")),
                    link: if linked { nonzero("customint1") } else { None },
                    group: if method == "meta" || !linked {
                        None
                    } else {
                        nonzero("customint2")
                    },
                    start: Some(int(i, "enrolstartdate")),
                    end: Some(int(i, "enrolenddate")),
                    method,
                };
                self.instances
                    .entry(int(i, "courseid"))
                    .or_default()
                    .push(rec);
            }
            return Ok(());
        }
        calls::require(r.functions, "core_enrol_get_course_enrolment_methods")?;
        let lists = pool::map(&ids, r.parallel, |id| {
            let mut p = Params::new();
            p.push("courseid", id.to_string());
            r.client
                .call("core_enrol_get_course_enrolment_methods", &p, Retry::Safe)
        });
        for (id, list) in ids.into_iter().zip(lists) {
            let list = list.map_err(|e| calls::stop_or(e, "the enrol methods of a course"))?;
            let mut found: Vec<InstanceRec> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| InstanceRec {
                    id: Ref::Id(int(i, "id")),
                    course: Ref::Id(id),
                    method: text(i, "type"),
                    // Core lists only the enabled methods, and not what they give or link.
                    enabled: true,
                    role: None,
                    link: None,
                    group: None,
                    start: None,
                    end: None,
                })
                .collect();
            // Core lists the methods that show enrol info, never manual: taken as there and
            // enabled, as a new course has it (Moodle refuses an enrolment otherwise).
            if !found.iter().any(|i| i.method == "manual") {
                found.push(InstanceRec {
                    id: Ref::Id(0),
                    course: Ref::Id(id),
                    method: "manual".into(),
                    enabled: true,
                    role: None,
                    link: None,
                    group: None,
                    start: None,
                    end: None,
                });
            }
            self.instances.insert(id, found);
        }
        Ok(())
    }

    /// The course's manual instance, if read (no read: for what a batch applied).
    pub fn known_manual(&self, course: i64) -> Option<Ref> {
        self.instances
            .get(&course)?
            .iter()
            .find(|i| i.method == "manual")
            .map(|i| i.id)
    }

    pub fn instances(&mut self, r: &Reader, course: Ref) -> Result<Vec<InstanceRec>, Failure> {
        let Some(id) = course.id() else {
            return Ok(Vec::new());
        };
        self.read_instances(r, &[id])?;
        let mut found = self.instances.get(&id).cloned().unwrap_or_default();
        found.sort_by_key(|i| i.id);
        Ok(found)
    }

    /// The sections of the courses not read yet, through the plugin; core has no read that
    /// shows them without every module of the course.
    fn read_sections(&mut self, r: &Reader, ids: &[i64]) -> Result<(), Failure> {
        let ids: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.sections.contains_key(id))
            .collect();
        if ids.is_empty() || !r.has(GET_SECTIONS) {
            return Ok(());
        }
        let mut p = Params::new();
        p.list("courseids", ids.iter().map(i64::to_string));
        let v = r.read(GET_SECTIONS, &p, "the sections of courses")?;
        for c in v
            .get("courses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let list = c
                .get("sections")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| Section {
                    section: int(s, "section"),
                    name: s.get("name").and_then(Value::as_str).map(str::to_string),
                    summary: Some(text(s, "summary")),
                })
                .collect();
            self.sections.insert(int(c, "courseid"), list);
        }
        Ok(())
    }

    /// How many users are enrolled in each course (one call per course, several at once).
    fn read_counts(&mut self, r: &Reader, ids: &[i64]) -> Result<(), Failure> {
        let ids: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.counts.contains_key(id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        calls::require(r.functions, "core_enrol_get_enrolled_users")?;
        let lists = pool::map(&ids, r.parallel, |id| {
            let mut p = Params::new();
            p.push("courseid", id.to_string())
                .push("options[0][name]", "userfields")
                .push("options[0][value]", "id");
            r.client
                .call("core_enrol_get_enrolled_users", &p, Retry::Safe)
        });
        for (id, list) in ids.into_iter().zip(lists) {
            let list = list.map_err(|e| calls::stop_or(e, "the participants of a course"))?;
            self.counts
                .insert(id, list.as_array().map(Vec::len).unwrap_or(0));
        }
        Ok(())
    }

    pub fn enrolled_count(&mut self, r: &Reader, course: Ref) -> Result<Option<usize>, Failure> {
        let Some(id) = course.id() else {
            return Ok(Some(0));
        };
        self.read_counts(r, &[id])?;
        Ok(self.counts.get(&id).copied())
    }

    /// Who holds a role in the course: through the plugin with their enrolments and each
    /// role's component; through core the participants' roles only.
    pub fn role_holders(&mut self, r: &Reader, course: Ref) -> Result<Vec<RoleHolder>, Failure> {
        let Some(id) = course.id() else {
            return Ok(Vec::new());
        };
        if let Some(h) = self.holders.get(&id) {
            return Ok(h.clone());
        }
        let holders = if r.has(GET_ENROLMENTS) {
            let mut p = Params::new();
            p.push("courseids[0]", id.to_string());
            let v = r.read(GET_ENROLMENTS, &p, "the participants of a course")?;
            v.get("courses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|c| {
                    c.get("users")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .map(|u| RoleHolder {
                    user: Ref::Id(int(&u, "userid")),
                    roles: u
                        .get("roles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|a| RoleAssignment {
                            role: int(a, "roleid"),
                            component: Some(text(a, "component")),
                            itemid: Some(int(a, "itemid")),
                        })
                        .collect(),
                    enrolments: Some(
                        u.get("enrolments")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .map(|e| UeRec {
                                instance: Ref::Id(int(e, "instanceid")),
                                suspended: Some(int(e, "status") != 0),
                                start: Some(int(e, "timestart")),
                                end: Some(int(e, "timeend")),
                            })
                            .collect(),
                    ),
                })
                .filter(|h| !h.roles.is_empty())
                .collect()
        } else {
            calls::require(r.functions, "core_enrol_get_enrolled_users")?;
            let mut p = Params::new();
            p.push("courseid", id.to_string())
                .push("options[0][name]", "userfields")
                .push("options[0][value]", "id,roles");
            let v = r.read(
                "core_enrol_get_enrolled_users",
                &p,
                "the participants of a course",
            )?;
            v.as_array()
                .into_iter()
                .flatten()
                .map(|u| RoleHolder {
                    user: Ref::Id(int(u, "id")),
                    roles: u
                        .get("roles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|a| RoleAssignment {
                            role: int(a, "roleid"),
                            component: None,
                            itemid: None,
                        })
                        .collect(),
                    enrolments: None,
                })
                .filter(|h| !h.roles.is_empty())
                .collect()
        };
        self.holders.insert(id, holders);
        Ok(self.holders.get(&id).cloned().unwrap_or_default())
    }
}
