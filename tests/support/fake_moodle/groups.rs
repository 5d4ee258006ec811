//! Course groups and groupings (moodle.md §2.27–2.31): the `core_group_*` functions with the
//! recordings' shapes (068–078). Only users enrolled in the course (any status) may be
//! members; unenrolling or deleting a user takes them out of the course's groups.
//! `core_group_update_groups` and `core_group_update_groupings` are real Moodle functions
//! outside the recorded service: they run only after `FakeMoodle::add_function`, and follow
//! Moodle 4.4's `group/externallib.php` and `groups_update_group(ing)` (no recording shows them).

use super::cohorts::sorted_by_name;
use super::errors;
use super::params::{def, opt, php_trim, req, v, Desc, Field, Ty, V};
use super::users::Site;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

type Outcome = Result<String, Value>;

#[derive(Clone)]
pub struct Group {
    pub id: i64,
    pub courseid: i64,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub descriptionformat: i64,
    /// NULL unless sent.
    pub enrolmentkey: Option<String>,
    pub visibility: i64,
    pub participation: bool,
    pub members: BTreeSet<i64>,
}

#[derive(Clone)]
pub struct Grouping {
    pub id: i64,
    pub courseid: i64,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub descriptionformat: i64,
    pub groups: BTreeSet<i64>,
}

#[derive(Default)]
pub struct Groups {
    pub groups: BTreeMap<i64, Group>,
    pub groupings: BTreeMap<i64, Grouping>,
}

impl Groups {
    /// What restoring a backup of course `from` into the new course `to` does to groups:
    /// the same groups and groupings (names, idnumbers, descriptions, keys, settings, and
    /// which groups each grouping has) with new ids; the members only when `members`.
    pub fn copy_course(&mut self, from: i64, to: i64, members: bool) {
        let first = self.groups.keys().last().map_or(1, |last| last + 1);
        let of_course = self.groups.values().filter(|g| g.courseid == from);
        let groups: Vec<Group> = (first..)
            .zip(of_course)
            .map(|(id, g)| Group {
                id,
                courseid: to,
                members: if members {
                    g.members.clone()
                } else {
                    BTreeSet::new()
                },
                ..g.clone()
            })
            .collect();
        let old = self.groups.values().filter(|g| g.courseid == from);
        let ids: BTreeMap<i64, i64> = old.map(|g| g.id).zip(first..).collect();
        let first = self.groupings.keys().last().map_or(1, |last| last + 1);
        let of_course = self.groupings.values().filter(|g| g.courseid == from);
        let groupings: Vec<Grouping> = (first..)
            .zip(of_course)
            .map(|(id, g)| Grouping {
                id,
                courseid: to,
                groups: g
                    .groups
                    .iter()
                    .filter_map(|old| ids.get(old).copied())
                    .collect(),
                ..g.clone()
            })
            .collect();
        self.groups.extend(groups.into_iter().map(|g| (g.id, g)));
        self.groupings
            .extend(groupings.into_iter().map(|g| (g.id, g)));
    }

    /// What `delete_user` does, or unenrolling from a course (`Some(course)`).
    pub fn forget_user(&mut self, user: i64, course: Option<i64>) {
        for g in self.groups.values_mut() {
            if course.is_none_or(|c| c == g.courseid) {
                g.members.remove(&user);
            }
        }
    }
}

const CUSTOM_FIELD: &[Field] = &[
    req("shortname", v(Ty::AlphaNumExt)),
    req("value", v(Ty::Raw)),
];
const NEW_GROUP: &[Field] = &[
    req("courseid", v(Ty::Int)),
    req("name", v(Ty::Text)),
    req("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("enrolmentkey", v(Ty::Raw)),
    opt("idnumber", v(Ty::Raw)),
    def("visibility", v(Ty::Int), "0"),
    def("participation", v(Ty::Bool), "1"),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
const NEW_GROUPING: &[Field] = &[
    req("courseid", v(Ty::Int)),
    req("name", v(Ty::Text)),
    req("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("idnumber", v(Ty::Raw)),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
/// `update_groups`: found by id, then what is sent is updated (Moodle 3.6+).
const GROUP_UPDATE: &[Field] = &[
    req("id", v(Ty::Int)),
    req("name", v(Ty::Text)),
    opt("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("enrolmentkey", v(Ty::Raw)),
    opt("idnumber", v(Ty::Raw)),
    opt("visibility", v(Ty::Int)),
    opt("participation", v(Ty::Bool)),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
/// `update_groupings` (Moodle 2.3+): unlike a group's, the description is required.
const GROUPING_UPDATE: &[Field] = &[
    req("id", v(Ty::Int)),
    req("name", v(Ty::Text)),
    req("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("idnumber", v(Ty::Raw)),
    opt("customfields", Desc::List(&Desc::Struct(CUSTOM_FIELD))),
];
const MEMBER: &[Field] = &[req("groupid", v(Ty::Int)), req("userid", v(Ty::Int))];
const ASSIGNMENT: &[Field] = &[req("groupingid", v(Ty::Int)), req("groupid", v(Ty::Int))];

pub const CREATE_GROUPS: &[Field] = &[req("groups", Desc::List(&Desc::Struct(NEW_GROUP)))];
pub const COURSE: &[Field] = &[req("courseid", v(Ty::Int))];
pub const MEMBERS: &[Field] = &[req("members", Desc::List(&Desc::Struct(MEMBER)))];
pub const GET_MEMBERS: &[Field] = &[req("groupids", Desc::List(&Desc::Value(Ty::Int)))];
pub const CREATE_GROUPINGS: &[Field] = &[req("groupings", Desc::List(&Desc::Struct(NEW_GROUPING)))];
pub const ASSIGN_GROUPING: &[Field] = &[req("assignments", Desc::List(&Desc::Struct(ASSIGNMENT)))];
pub const UPDATE_GROUPS: &[Field] = &[req("groups", Desc::List(&Desc::Struct(GROUP_UPDATE)))];
pub const UPDATE_GROUPINGS: &[Field] =
    &[req("groupings", Desc::List(&Desc::Struct(GROUPING_UPDATE)))];

fn int(item: &V, key: &str) -> i64 {
    item.str(key).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// `errorcoursecontextnotvalid` for a course that does not exist (030's wording, for courses).
fn course_context_not_valid(course: i64) -> Value {
    errors::exception(
        "moodle_exception",
        "errorcoursecontextnotvalid",
        &format!(
            "You cannot execute functions in the course context (course id:{course}). \
             The context error message was: Invalid parameter value detected"
        ),
    )
}

fn idnumber_taken() -> Value {
    errors::exception(
        "moodle_exception",
        "idnumbertaken",
        "This ID number is already taken",
    )
}

fn group_json(g: &Group, created: bool) -> Value {
    let key = match (&g.enrolmentkey, created) {
        (Some(k), _) => json!(k),
        (None, true) => json!(""),
        (None, false) => Value::Null,
    };
    json!({
        "id": g.id, "courseid": g.courseid, "name": g.name, "description": g.description,
        "descriptionformat": g.descriptionformat, "enrolmentkey": key, "idnumber": g.idnumber,
        "visibility": g.visibility, "participation": g.participation,
    })
}

fn grouping_json(g: &Grouping) -> Value {
    json!({
        "id": g.id, "courseid": g.courseid, "name": g.name, "description": g.description,
        "descriptionformat": g.descriptionformat, "idnumber": g.idnumber,
    })
}

/// One transaction, per item: blank or taken name (exact, in the course: 069) →
/// course → visibility → non-empty idnumber taken in the course. Returns them as 068.
pub fn create_groups(site: &mut Site, p: &V) -> Outcome {
    let first = site.groups.groups.keys().last().map_or(1, |last| last + 1);
    let mut created: Vec<Group> = Vec::new();
    for item in p.list("groups") {
        let s = |k: &str| item.str(k).unwrap_or("").to_string();
        let (course, name, idnumber) = (int(item, "courseid"), s("name"), s("idnumber"));
        let existing = || site.groups.groups.values().chain(created.iter());
        let mut same_course = existing().filter(|g| g.courseid == course);
        if php_trim(&name).is_empty() || same_course.any(|g| g.name == name) {
            return Err(errors::invalid_parameter());
        }
        if !site.courses.list.contains_key(&course) {
            return Err(course_context_not_valid(course));
        }
        if !(0..=3).contains(&int(item, "visibility")) {
            return Err(errors::invalid_parameter());
        }
        let mut same_course = existing().filter(|g| g.courseid == course);
        if !idnumber.is_empty() && same_course.any(|g| g.idnumber == idnumber) {
            return Err(idnumber_taken());
        }
        created.push(Group {
            id: first + created.len() as i64,
            courseid: course,
            name,
            idnumber,
            description: s("description"),
            descriptionformat: int(item, "descriptionformat"),
            enrolmentkey: item.str("enrolmentkey").map(String::from),
            visibility: int(item, "visibility"),
            participation: item.str("participation") == Some("1"),
            members: BTreeSet::new(),
        });
    }
    let answer: Vec<Value> = created.iter().map(|g| group_json(g, true)).collect();
    site.groups
        .groups
        .extend(created.into_iter().map(|g| (g.id, g)));
    Ok(Value::Array(answer).to_string())
}

/// By name (070); a missing course is `errorcoursecontextnotvalid`.
pub fn get_course_groups(site: &Site, p: &V) -> Outcome {
    let course = int(p, "courseid");
    if !site.courses.list.contains_key(&course) {
        return Err(course_context_not_valid(course));
    }
    let mut found: Vec<&Group> = site
        .groups
        .groups
        .values()
        .filter(|g| g.courseid == course)
        .collect();
    found.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let out: Vec<Value> = found.into_iter().map(|g| group_json(g, false)).collect();
    Ok(Value::Array(out).to_string())
}

/// One transaction each. Per item: group (`invalidrecord`), live user (`invaliduser`), and
/// to add, an enrolment in the group's course (072/073's `invalidparameter`). Adding a
/// member again or removing a non-member does nothing.
pub fn change_group_members(site: &mut Site, p: &V, add: bool) -> Outcome {
    let mut plan = Vec::new();
    for item in p.list("members") {
        let (group, user) = (int(item, "groupid"), int(item, "userid"));
        let Some(g) = site.groups.groups.get(&group) else {
            return Err(errors::invalid_record("groups"));
        };
        if site.get(user).is_none_or(|u| u.deleted) {
            return Err(errors::invalid_user());
        }
        if add && !site.courses.enrolments.contains_key(&(g.courseid, user)) {
            return Err(errors::invalid_parameter()); // "Only enrolled users may be members…"
        }
        plan.push((group, user));
    }
    for (group, user) in plan {
        let members = &mut site.groups.groups.get_mut(&group).unwrap().members;
        match add {
            true => members.insert(user),
            false => members.remove(&user),
        };
    }
    Ok("null".into())
}

/// [{groupid, userids}] (074), users by last name; an unknown group fails the call.
pub fn get_group_members(site: &Site, p: &V) -> Outcome {
    let mut out = Vec::new();
    for item in p.list("groupids") {
        let id: i64 = item.as_str().parse().unwrap_or(0);
        let Some(g) = site.groups.groups.get(&id) else {
            return Err(errors::invalid_record("groups"));
        };
        out.push(json!({"groupid": id, "userids": sorted_by_name(site, &g.members)}));
    }
    Ok(Value::Array(out).to_string())
}

/// One transaction, per item: blank or taken name (`invalidparameter`) → course
/// (`invalidrecord`) → non-empty idnumber taken in the course. Returns them as 076.
pub fn create_groupings(site: &mut Site, p: &V) -> Outcome {
    let first = site
        .groups
        .groupings
        .keys()
        .last()
        .map_or(1, |last| last + 1);
    let mut created: Vec<Grouping> = Vec::new();
    for item in p.list("groupings") {
        let s = |k: &str| item.str(k).unwrap_or("").to_string();
        let (course, name, idnumber) = (int(item, "courseid"), s("name"), s("idnumber"));
        let existing = || site.groups.groupings.values().chain(created.iter());
        let mut same_course = existing().filter(|g| g.courseid == course);
        if php_trim(&name).is_empty() || same_course.any(|g| g.name == name) {
            return Err(errors::invalid_parameter());
        }
        if !site.courses.list.contains_key(&course) {
            return Err(errors::invalid_record("course"));
        }
        let mut same_course = existing().filter(|g| g.courseid == course);
        if !idnumber.is_empty() && same_course.any(|g| g.idnumber == idnumber) {
            return Err(idnumber_taken());
        }
        created.push(Grouping {
            id: first + created.len() as i64,
            courseid: course,
            name,
            idnumber,
            description: s("description"),
            descriptionformat: int(item, "descriptionformat"),
            groups: BTreeSet::new(),
        });
    }
    let answer: Vec<Value> = created.iter().map(grouping_json).collect();
    site.groups
        .groupings
        .extend(created.into_iter().map(|g| (g.id, g)));
    Ok(Value::Array(answer).to_string())
}

/// By name (078); a missing course is `invalidrecord`.
pub fn get_course_groupings(site: &Site, p: &V) -> Outcome {
    let course = int(p, "courseid");
    if !site.courses.list.contains_key(&course) {
        return Err(errors::invalid_record("course"));
    }
    let groupings = site.groups.groupings.values();
    let mut found: Vec<&Grouping> = groupings.filter(|g| g.courseid == course).collect();
    found.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let out: Vec<Value> = found.into_iter().map(grouping_json).collect();
    Ok(Value::Array(out).to_string())
}

/// One transaction: unknown grouping or group is `invalidrecord`; already assigned, skipped.
pub fn assign_grouping(site: &mut Site, p: &V) -> Outcome {
    let mut plan = Vec::new();
    for item in p.list("assignments") {
        let (grouping, group) = (int(item, "groupingid"), int(item, "groupid"));
        if !site.groups.groupings.contains_key(&grouping) {
            return Err(errors::invalid_record("groupings"));
        }
        if !site.groups.groups.contains_key(&group) {
            return Err(errors::invalid_record("groups"));
        }
        plan.push((grouping, group));
    }
    for (grouping, group) in plan {
        site.groups
            .groupings
            .get_mut(&grouping)
            .unwrap()
            .groups
            .insert(group);
    }
    Ok("null".into())
}

/// PHP's `empty()` on a string: `groups_get_group(ing)_by_idnumber` find nothing for "" or "0".
fn php_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// Runs `check`, then `apply`, on each item in order (a later item sees the earlier ones' changes), as one
/// transaction: on an error, every row it touched gets its old value back.
fn in_one_transaction<T: Clone>(
    rows: &mut BTreeMap<i64, T>,
    items: &[V],
    check: impl Fn(&BTreeMap<i64, T>, &V) -> Result<i64, Value>,
    apply: impl Fn(&mut T, &V),
) -> Outcome {
    let mut undo: BTreeMap<i64, T> = BTreeMap::new();
    for item in items {
        match check(rows, item) {
            Ok(id) => {
                let row = rows.get_mut(&id).expect("checked");
                undo.entry(id).or_insert_with(|| row.clone());
                apply(row, item);
            }
            Err(error) => {
                rows.extend(undo);
                return Err(error);
            }
        }
    }
    Ok("null".into())
}

/// `core_group_update_groups`: one transaction, items in order. Per item, all
/// `invalid_parameter_exception` (generic at debug 0) but the last: blank name ("Invalid group
/// name") → unknown id ("Group <id> does not exist") → a changed name another group of the
/// course has, exactly ("A different group with the same name already exists in the course")
/// → a visibility outside 0–3, or a visibility or participation change while the group has
/// members → a non-empty (trimmed) idnumber of another group of the course (`idnumbertaken`).
/// Then, as `groups_update_group`: the name (trimmed) and descriptionformat (default 1), and
/// whichever of description, enrolmentkey, idnumber (trimmed), visibility and participation
/// were sent; a visibility other than 0 or 1 turns participation off. Answers `null`.
pub fn update_groups(site: &mut Site, p: &V) -> Outcome {
    let check = |groups: &BTreeMap<i64, Group>, item: &V| {
        let name = item.str("name").unwrap_or("");
        if php_trim(name).is_empty() {
            return Err(errors::invalid_parameter());
        }
        let id = int(item, "id");
        let Some(current) = groups.get(&id) else {
            return Err(errors::invalid_parameter());
        };
        let mut same_course = groups.values().filter(|g| g.courseid == current.courseid);
        if name != current.name && same_course.any(|g| g.name == name) {
            return Err(errors::invalid_parameter());
        }
        let has_members = !current.members.is_empty();
        if let Some(visibility) = item.str("visibility") {
            let visibility: i64 = visibility.parse().unwrap_or(-1);
            if !(0..=3).contains(&visibility) || has_members && visibility != current.visibility {
                return Err(errors::invalid_parameter());
            }
        }
        if let Some(participation) = item.str("participation") {
            if has_members && (participation == "1") != current.participation {
                return Err(errors::invalid_parameter());
            }
        }
        if let Some(idnumber) = item.str("idnumber").map(php_trim) {
            let mut others = groups
                .values()
                .filter(|g| g.courseid == current.courseid && g.id != id);
            if !php_empty(idnumber) && others.any(|g| g.idnumber == idnumber) {
                return Err(idnumber_taken());
            }
        }
        Ok(id)
    };
    let apply = |g: &mut Group, item: &V| {
        g.name = php_trim(item.str("name").unwrap_or("")).to_string();
        g.descriptionformat = int(item, "descriptionformat");
        if let Some(description) = item.str("description") {
            g.description = description.to_string();
        }
        if let Some(key) = item.str("enrolmentkey") {
            g.enrolmentkey = Some(key.to_string());
        }
        if let Some(idnumber) = item.str("idnumber") {
            g.idnumber = php_trim(idnumber).to_string();
        }
        if item.str("visibility").is_some() {
            g.visibility = int(item, "visibility");
        }
        if let Some(participation) = item.str("participation") {
            g.participation = participation == "1";
        }
        let mode_sent = item
            .str("visibility")
            .or(item.str("participation"))
            .is_some();
        if mode_sent && !matches!(g.visibility, 0 | 1) {
            g.participation = false;
        }
    };
    in_one_transaction(&mut site.groups.groups, p.list("groups"), check, apply)
}

/// `core_group_update_groupings`: one transaction, items in order. Per item, all
/// `invalid_parameter_exception` but the last: blank name ("Invalid grouping name") → unknown
/// id ("Grouping <id> does not exist in the course") → a changed name another grouping of the
/// course has ("A different grouping with the same name already exists in the course") → a
/// non-empty (trimmed) idnumber of another grouping of the course (`idnumbertaken`). Then the
/// name (trimmed), description, descriptionformat (default 1) and, if sent, the idnumber
/// (trimmed). Answers `null`.
pub fn update_groupings(site: &mut Site, p: &V) -> Outcome {
    let check = |groupings: &BTreeMap<i64, Grouping>, item: &V| {
        let name = item.str("name").unwrap_or("");
        if php_trim(name).is_empty() {
            return Err(errors::invalid_parameter());
        }
        let id = int(item, "id");
        let Some(current) = groupings.get(&id) else {
            return Err(errors::invalid_parameter());
        };
        let mut same_course = groupings
            .values()
            .filter(|g| g.courseid == current.courseid);
        if name != current.name && same_course.any(|g| g.name == name) {
            return Err(errors::invalid_parameter());
        }
        if let Some(idnumber) = item.str("idnumber").map(php_trim) {
            let mut others = groupings
                .values()
                .filter(|g| g.courseid == current.courseid && g.id != id);
            if !php_empty(idnumber) && others.any(|g| g.idnumber == idnumber) {
                return Err(idnumber_taken());
            }
        }
        Ok(id)
    };
    let apply = |g: &mut Grouping, item: &V| {
        g.name = php_trim(item.str("name").unwrap_or("")).to_string();
        g.description = item.str("description").unwrap_or("").to_string();
        g.descriptionformat = int(item, "descriptionformat");
        if let Some(idnumber) = item.str("idnumber") {
            g.idnumber = php_trim(idnumber).to_string();
        }
    };
    in_one_transaction(
        &mut site.groups.groupings,
        p.list("groupings"),
        check,
        apply,
    )
}

/// The `group` test hook's view.
pub fn group_hook(site: &Site, g: &Group) -> Value {
    let mut members: Vec<&str> = g
        .members
        .iter()
        .filter_map(|id| site.get(*id))
        .map(|u| u.get("username"))
        .collect();
    members.sort_unstable();
    json!({"id": g.id, "name": g.name, "idnumber": g.idnumber, "description": g.description,
           "members": members})
}

/// The `grouping` test hook's view.
pub fn grouping_hook(site: &Site, g: &Grouping) -> Value {
    let mut groups: Vec<&str> = g
        .groups
        .iter()
        .filter_map(|id| site.groups.groups.get(id))
        .map(|g| g.name.as_str())
        .collect();
    groups.sort_unstable();
    json!({"id": g.id, "name": g.name, "idnumber": g.idnumber, "groups": groups})
}
