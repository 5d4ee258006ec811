//! Course categories (their tree; the `core_course_*_categories` functions are in
//! `categories`) and cohorts (moodle.md §2.19–2.26): the
//! `core_cohort_*` functions with the recordings' shapes (051–067). Contexts: the system is 1,
//! category N is `CATEGORY_CONTEXT_BASE + N`, course N is `courses::COURSE_CONTEXT_BASE + N`.

use super::courses::COURSE_CONTEXT_BASE;
use super::errors;
use super::params::{def, opt, req, v, Desc, Field, Ty, V};
use super::users::Site;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

type Outcome = Result<String, Value>;

pub const SYSTEM_CONTEXT: i64 = 1;
/// Category N's context id is `CATEGORY_CONTEXT_BASE + N` (N < 500).
pub const CATEGORY_CONTEXT_BASE: i64 = 500;

pub struct Category {
    pub id: i64,
    pub name: String,
    pub idnumber: String,
    /// 0 for a top-level category.
    pub parent: i64,
    pub description: String,
    pub descriptionformat: i64,
    /// Inherited from the parent when created.
    pub visible: bool,
    pub timemodified: i64,
}

pub struct Cohort {
    pub id: i64,
    pub contextid: i64,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub descriptionformat: i64,
    pub visible: bool,
    /// '' for a manual cohort.
    pub component: String,
    pub members: BTreeSet<i64>,
}

/// The category tree (category 1 "Category 1" from the install) and the cohort table.
pub struct Cohorts {
    pub categories: BTreeMap<i64, Category>,
    pub list: BTreeMap<i64, Cohort>,
}

impl Default for Cohorts {
    fn default() -> Cohorts {
        let misc = Category {
            id: 1,
            name: "Category 1".into(),
            idnumber: String::new(),
            parent: 0,
            description: String::new(),
            descriptionformat: 1,
            visible: true,
            timemodified: 0,
        };
        Cohorts {
            categories: BTreeMap::from([(1, misc)]),
            list: BTreeMap::new(),
        }
    }
}

impl Cohorts {
    pub fn add_category(&mut self, name: &str, idnumber: &str, parent: i64) -> i64 {
        assert!(
            parent == 0 || self.categories.contains_key(&parent),
            "no category {parent}"
        );
        self.insert_category(name, idnumber, parent, "", 1)
    }

    /// A new category at the end of its siblings, hidden if its parent is; returns its id.
    pub fn insert_category(
        &mut self,
        name: &str,
        idnumber: &str,
        parent: i64,
        description: &str,
        descriptionformat: i64,
    ) -> i64 {
        let id = self.categories.keys().last().map_or(1, |last| last + 1);
        assert!(id < 500, "the fake Moodle models fewer than 500 categories");
        let visible = self.categories.get(&parent).is_none_or(|p| p.visible);
        let category = Category {
            id,
            name: name.to_string(),
            idnumber: idnumber.to_string(),
            parent,
            description: description.to_string(),
            descriptionformat,
            visible,
            timemodified: super::users::now(),
        };
        self.categories.insert(id, category);
        id
    }

    /// The ids from the top-level category down to `id` (empty for 0 or an unknown id).
    pub fn ancestry(&self, id: i64) -> Vec<i64> {
        let mut out = vec![];
        let mut current = id;
        while let Some(c) = self.categories.get(&current) {
            out.push(current);
            current = c.parent;
        }
        out.reverse();
        out
    }

    /// The names from the top down to `id`, joined by "/" ("" for 0 or an unknown id).
    pub fn category_path(&self, id: i64) -> String {
        let names: Vec<&str> = self
            .ancestry(id)
            .iter()
            .map(|a| self.categories[a].name.as_str())
            .collect();
        names.join("/")
    }

    /// `sortorder` as `fix_course_sortorder` lays it out: 10000 apart in tree order
    /// (siblings by id), so category 1 alone is 10000.
    pub fn sortorder(&self, id: i64) -> i64 {
        fn walk(cats: &Cohorts, parent: i64, out: &mut Vec<i64>) {
            for c in cats.categories.values().filter(|c| c.parent == parent) {
                out.push(c.id);
                walk(cats, c.id, out);
            }
        }
        let mut order = vec![];
        walk(self, 0, &mut order);
        order
            .iter()
            .position(|c| *c == id)
            .map_or(0, |i| 10000 * (i as i64 + 1))
    }

    pub fn forget_user(&mut self, user: i64) {
        self.list.values_mut().for_each(|c| {
            c.members.remove(&user);
        });
    }

    pub fn by_idnumber(&self, idnumber: &str) -> Option<&Cohort> {
        self.list.values().find(|c| c.idnumber == idnumber)
    }

    /// The parent contexts of a system, category or course context (of a course in
    /// `course_category`), nearest first.
    fn parents(&self, context: i64, course_category: i64) -> Vec<i64> {
        let mut category = match context {
            SYSTEM_CONTEXT => return vec![],
            c if c > COURSE_CONTEXT_BASE => course_category,
            c => self.categories[&(c - CATEGORY_CONTEXT_BASE)].parent,
        };
        let mut out = vec![];
        while category != 0 {
            out.push(CATEGORY_CONTEXT_BASE + category);
            category = self.categories[&category].parent;
        }
        out.push(SYSTEM_CONTEXT);
        out
    }
}

const TYPE_VALUE: &[Field] = &[req("type", v(Ty::AlphaNumExt)), req("value", v(Ty::Raw))];
const CATEGORY_TYPE: &[Field] = &[req("type", v(Ty::Text)), req("value", v(Ty::Raw))];
const CUSTOM_FIELD: &[Field] = &[
    req("shortname", v(Ty::AlphaNumExt)),
    req("value", v(Ty::Raw)),
];
const NEW_COHORT: &[Field] = &[
    req("categorytype", Desc::Struct(CATEGORY_TYPE)),
    req("name", v(Ty::Raw)),
    req("idnumber", v(Ty::Raw)),
    opt("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("visible", v(Ty::Bool)),
    opt("theme", v(Ty::Theme)),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
const CHANGED_COHORT: &[Field] = &[
    req("id", v(Ty::Int)),
    req("categorytype", Desc::Struct(CATEGORY_TYPE)),
    req("name", v(Ty::Raw)),
    req("idnumber", v(Ty::Raw)),
    opt("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("visible", v(Ty::Bool)),
    opt("theme", v(Ty::Theme)),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
const CONTEXT: &[Field] = &[
    def("contextid", v(Ty::Int), "0"),
    def("contextlevel", v(Ty::AlphaNumExt), ""),
    def("instanceid", v(Ty::Int), "0"),
];
const MEMBER: &[Field] = &[
    req("cohorttype", Desc::Struct(TYPE_VALUE)),
    req("usertype", Desc::Struct(TYPE_VALUE)),
];
const OLD_MEMBER: &[Field] = &[req("cohortid", v(Ty::Int)), req("userid", v(Ty::Int))];
const IDS: Desc = Desc::List(&Desc::Value(Ty::Int));

pub const CREATE_COHORTS: &[Field] = &[req("cohorts", Desc::List(&Desc::Struct(NEW_COHORT)))];
pub const UPDATE_COHORTS: &[Field] = &[req("cohorts", Desc::List(&Desc::Struct(CHANGED_COHORT)))];
pub const DELETE_COHORTS: &[Field] = &[req("cohortids", IDS)];
pub const SEARCH_COHORTS: &[Field] = &[
    req("query", v(Ty::Raw)),
    req("context", Desc::Struct(CONTEXT)),
    def("includes", v(Ty::Alpha), "parents"),
    def("limitfrom", v(Ty::Int), "0"),
    def("limitnum", v(Ty::Int), "25"),
];
pub const GET_COHORTS: &[Field] = &[opt("cohortids", IDS)];
pub const ADD_MEMBERS: &[Field] = &[req("members", Desc::List(&Desc::Struct(MEMBER)))];
pub const DELETE_MEMBERS: &[Field] = &[req("members", Desc::List(&Desc::Struct(OLD_MEMBER)))];
pub const GET_MEMBERS: &[Field] = &[req("cohortids", IDS)];

fn int(item: &V, key: &str) -> i64 {
    item.str(key).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn ids(p: &V, key: &str) -> Vec<i64> {
    let parse = |i: &V| i.as_str().parse().unwrap_or(0);
    p.list(key).iter().map(parse).collect()
}

/// `categorytype` → context id: `system`, or a category by `id` or `idnumber`; anything
/// else is `invalidparameter` ("category type must be…", "category not exists…").
fn context_of(cohorts: &Cohorts, item: &V) -> Result<i64, Value> {
    let ct = item.get("categorytype").expect("validated");
    let value = ct.str("value").unwrap_or("");
    let found = match ct.str("type").unwrap_or("") {
        "system" => return Ok(SYSTEM_CONTEXT),
        "id" => cohorts
            .categories
            .values()
            .find(|c| c.id.to_string() == value),
        "idnumber" => cohorts.categories.values().find(|c| c.idnumber == value),
        _ => None,
    };
    found
        .map(|c| CATEGORY_CONTEXT_BASE + c.id)
        .ok_or_else(errors::invalid_parameter)
}

/// Only installed themes; an empty one is refused too.
fn check_theme(item: &V) -> Result<(), Value> {
    match item.str("theme") {
        Some("") => Err(errors::exception(
            "moodle_exception",
            "errorinvalidparam",
            "The param \"theme\" is invalid.",
        )),
        _ => Ok(()),
    }
}

/// One cohort as create_cohorts answers it (051); get and search add `customfields` (056).
fn cohort_json(c: &Cohort, customfields: bool) -> Value {
    let mut out = json!({
        "id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
        "descriptionformat": c.descriptionformat, "visible": c.visible, "theme": "",
    });
    if customfields {
        out["customfields"] = json!([]);
    }
    out
}

/// One transaction: category type and context, then the idnumber unused (empty too, 052/053),
/// then the theme.
pub fn create_cohorts(site: &mut Site, p: &V) -> Outcome {
    let cohorts = &mut site.cohorts;
    let first = cohorts.list.keys().last().map_or(1, |last| last + 1);
    let mut created: Vec<Cohort> = Vec::new();
    for item in p.list("cohorts") {
        let contextid = context_of(cohorts, item)?;
        let idnumber = item.str("idnumber").unwrap_or("");
        let taken = |c: &Cohort| c.idnumber == idnumber;
        if cohorts.list.values().any(taken) || created.iter().any(taken) {
            return Err(errors::invalid_parameter()); // "record already exists: idnumber=X"
        }
        check_theme(item)?;
        created.push(Cohort {
            id: first + created.len() as i64,
            contextid,
            name: item.str("name").unwrap_or("").into(),
            idnumber: idnumber.into(),
            description: item.str("description").unwrap_or("").into(),
            descriptionformat: int(item, "descriptionformat"),
            visible: item.str("visible") != Some("0"),
            component: String::new(),
            members: BTreeSet::new(),
        });
    }
    let answer: Vec<Value> = created.iter().map(|c| cohort_json(c, false)).collect();
    cohorts.list.extend(created.into_iter().map(|c| (c.id, c)));
    Ok(Value::Array(answer).to_string())
}

/// One transaction: blank name (`invalidparameter`), unknown id (`invalidrecord`), category.
/// The idnumber's uniqueness is not checked; absent description and visible stay as they are.
pub fn update_cohorts(site: &mut Site, p: &V) -> Outcome {
    let cohorts = &mut site.cohorts;
    let mut plan = Vec::new();
    for item in p.list("cohorts") {
        if super::params::php_trim(item.str("name").unwrap_or("")).is_empty() {
            return Err(errors::invalid_parameter()); // "Invalid cohort name"
        }
        let id = int(item, "id");
        if !cohorts.list.contains_key(&id) {
            return Err(errors::invalid_record("cohort"));
        }
        let contextid = context_of(cohorts, item)?;
        check_theme(item)?;
        plan.push((id, contextid, item));
    }
    for (id, contextid, item) in plan {
        let c = cohorts.list.get_mut(&id).expect("checked");
        c.contextid = contextid;
        c.name = item.str("name").unwrap_or("").into();
        c.idnumber = item.str("idnumber").unwrap_or("").into();
        c.descriptionformat = int(item, "descriptionformat");
        if let Some(d) = item.str("description") {
            c.description = d.into();
        }
        if let Some(vis) = item.str("visible") {
            c.visible = vis == "1";
        }
    }
    Ok("null".into())
}

/// One transaction; an unknown (or repeated) id is `invalidrecord` (067). Members go too.
pub fn delete_cohorts(site: &mut Site, p: &V) -> Outcome {
    let doomed = ids(p, "cohortids");
    for (i, id) in doomed.iter().enumerate() {
        if !site.cohorts.list.contains_key(id) || doomed[..i].contains(id) {
            return Err(errors::invalid_record("cohort"));
        }
    }
    for id in doomed {
        site.cohorts.list.remove(&id);
    }
    Ok("null".into())
}

/// `get_context_from_params`: a contextid, or a level and instance; system, category and
/// course contexts exist. Anything else is `invalidparameter`.
fn search_context(site: &Site, ctx: &V) -> Result<i64, Value> {
    let (contextid, instance) = (int(ctx, "contextid"), int(ctx, "instanceid"));
    let category = |id: i64| site.cohorts.categories.contains_key(&id);
    let course = |id: i64| site.courses.list.contains_key(&id);
    let ok = match (contextid, ctx.str("contextlevel").unwrap_or("")) {
        (0, "system") => Some(SYSTEM_CONTEXT),
        (0, "coursecat") => category(instance).then_some(CATEGORY_CONTEXT_BASE + instance),
        (0, "course") => course(instance).then_some(COURSE_CONTEXT_BASE + instance),
        (0, _) => None,
        (SYSTEM_CONTEXT, _) => Some(SYSTEM_CONTEXT),
        (c, _) if c > COURSE_CONTEXT_BASE => course(c - COURSE_CONTEXT_BASE).then_some(c),
        (c, _) => category(c - CATEGORY_CONTEXT_BASE).then_some(c),
    };
    ok.ok_or_else(errors::invalid_parameter)
}

/// `self`: the context's own cohorts; `all`: every cohort; `parents`: its own, then (unless
/// system) those of its parent contexts. Matches are case-insensitive substrings of name,
/// idnumber or description, by name then idnumber. Quirk kept: `limitfrom` is a page number
/// for the context's own and for all cohorts, an offset for the parents' (limitnum 0: all).
pub fn search_cohorts(site: &Site, p: &V) -> Outcome {
    let context = search_context(site, p.get("context").expect("validated"))?;
    let query = p.str("query").unwrap_or("").to_lowercase();
    let (from, num) = (int(p, "limitfrom").max(0), int(p, "limitnum").max(0));
    let matching = |contexts: Option<&[i64]>, skip: i64| {
        let mut found: Vec<&Cohort> = site
            .cohorts
            .list
            .values()
            .filter(|c| contexts.is_none_or(|cs| cs.contains(&c.contextid)))
            .filter(|c| {
                [&c.name, &c.idnumber, &c.description]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&query))
            })
            .collect();
        found.sort_by(|a, b| (&a.name, &a.idnumber).cmp(&(&b.name, &b.idnumber)));
        let take = if num == 0 { usize::MAX } else { num as usize };
        let out: Vec<Value> = found
            .into_iter()
            .skip(skip as usize)
            .take(take)
            .map(|c| cohort_json(c, true))
            .collect();
        out
    };
    let cohorts = match p.str("includes").unwrap_or("") {
        "self" => matching(Some(&[context]), from * num),
        "all" => matching(None, from * num),
        "parents" => {
            let mut out = matching(Some(&[context]), from * num);
            if context != SYSTEM_CONTEXT {
                let course = site.courses.list.get(&(context - COURSE_CONTEXT_BASE));
                let parents = site
                    .cohorts
                    .parents(context, course.map_or(1, |c| c.categoryid));
                out.extend(matching(Some(&parents), from));
            }
            out
        }
        _ => return Err(errors::coding("Invalid parameter value for 'includes'.")),
    };
    Ok(json!({ "cohorts": cohorts }).to_string())
}

/// Unknown ids are left out (057); no ids: every cohort. By id.
pub fn get_cohorts(site: &Site, p: &V) -> Outcome {
    let wanted = ids(p, "cohortids");
    let found: Vec<Value> = site
        .cohorts
        .list
        .values()
        .filter(|c| wanted.is_empty() || wanted.contains(&c.id))
        .map(|c| cohort_json(c, true))
        .collect();
    Ok(Value::Array(found).to_string())
}

/// Per item, problems are warnings with numeric-string codes (058/059): a bad type "1", a
/// missing cohort or live user "2", already a member "3".
pub fn add_cohort_members(site: &mut Site, p: &V) -> Outcome {
    let mut warnings = Vec::new();
    let warn = |code: &str, message: String| json!({"warningcode": code, "message": message});
    for item in p.list("members") {
        let (ct, ut) = (item.get("cohorttype"), item.get("usertype"));
        let ((ctype, cvalue), (utype, uvalue)) = (pair(ct), pair(ut));
        if !matches!(ctype, "id" | "idnumber") {
            warnings.push(warn("1", format!("invalid parameter: cohortype={ctype}")));
            continue;
        }
        if !matches!(utype, "id" | "username") {
            warnings.push(warn("1", format!("invalid parameter: usertype={utype}")));
            continue;
        }
        let cohort = site.cohorts.list.values().find(|c| match ctype {
            "id" => c.id.to_string() == cvalue,
            _ => c.idnumber == cvalue,
        });
        let Some(cohort) = cohort.map(|c| c.id) else {
            warnings.push(warn("2", format!("cohort {ctype}={cvalue} not exists")));
            continue;
        };
        let user = match utype {
            "id" => uvalue.parse().ok().filter(|id| live(site, *id)),
            _ => site.id_by_username(uvalue).filter(|id| live(site, *id)),
        };
        let Some(user) = user else {
            warnings.push(warn("2", format!("user {utype}={uvalue} not exists")));
            continue;
        };
        let members = &mut site.cohorts.list.get_mut(&cohort).expect("found").members;
        if !members.insert(user) {
            let what = format!("cohort({ctype}={cvalue} {utype}={uvalue})");
            warnings.push(warn("3", format!("record already exists: {what}")));
        }
    }
    Ok(json!({ "warnings": warnings }).to_string())
}

fn pair<'a>(t: Option<&V<'a>>) -> (&'a str, &'a str) {
    let t = t.expect("validated");
    (t.str("type").unwrap_or(""), t.str("value").unwrap_or(""))
}

fn live(site: &Site, id: i64) -> bool {
    site.get(id).is_some_and(|u| !u.deleted)
}

/// One transaction: unknown cohort `invalidrecord` (063), unknown or deleted user
/// `invaliduser`; not a member is nothing (062).
pub fn delete_cohort_members(site: &mut Site, p: &V) -> Outcome {
    let mut plan = Vec::new();
    for item in p.list("members") {
        let (cohort, user) = (int(item, "cohortid"), int(item, "userid"));
        if !site.cohorts.list.contains_key(&cohort) {
            return Err(errors::invalid_record("cohort"));
        }
        if !live(site, user) {
            return Err(errors::invalid_user());
        }
        plan.push((cohort, user));
    }
    for (cohort, user) in plan {
        site.cohorts
            .list
            .get_mut(&cohort)
            .unwrap()
            .members
            .remove(&user);
    }
    Ok("null".into())
}

/// Users ordered by last name then first name (060); an unknown cohort fails the call.
pub fn sorted_by_name(site: &Site, users: &BTreeSet<i64>) -> Vec<i64> {
    let mut found: Vec<_> = users.iter().filter_map(|id| site.get(*id)).collect();
    found.sort_by_key(|u| (u.get("lastname"), u.get("firstname"), u.id));
    found.into_iter().map(|u| u.id).collect()
}

pub fn get_cohort_members(site: &Site, p: &V) -> Outcome {
    let mut out = Vec::new();
    for id in ids(p, "cohortids") {
        let Some(c) = site.cohorts.list.get(&id) else {
            return Err(errors::invalid_record("cohort"));
        };
        out.push(json!({"cohortid": id, "userids": sorted_by_name(site, &c.members)}));
    }
    Ok(Value::Array(out).to_string())
}

/// The `cohort` test hook's view.
pub fn cohort_hook(site: &Site, c: &Cohort) -> Value {
    let mut members: Vec<&str> = c
        .members
        .iter()
        .filter_map(|id| site.get(*id))
        .map(|u| u.get("username"))
        .collect();
    members.sort_unstable();
    json!({
        "id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
        "visible": c.visible, "contextid": c.contextid, "members": members,
    })
}
