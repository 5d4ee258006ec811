//! Courses, manual enrolments and course role assignments (moodle.md §2.11, §2.15–2.18):
//! `core_course_get_courses_by_field`, `enrol_manual_enrol_users`, `enrol_manual_unenrol_users`,
//! `core_enrol_get_enrolled_users`, `core_role_assign_roles` and `core_role_unassign_roles`,
//! with the recordings' error bodies (032–050, 079–080). Every course sits in category 1 and
//! has at most one enrolment instance, a manual one; only course contexts are modelled.

use super::errors;
use super::params::{opt, req, v, Desc, Field, Ty, V};
use super::recordings::{recording, RECORDED_BASE};
use super::users::Site;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

type Outcome = Result<String, Value>;

/// Moodle's standard roles (moodle.md §4.3): id = sortorder, `name` empty.
pub const ROLES: &[&str] = &[
    "manager",
    "coursecreator",
    "editingteacher",
    "teacher",
    "student",
    "guest",
    "user",
    "frontpage",
];
/// What the admin may assign in a course context: manager, editingteacher, teacher, student.
pub const COURSE_ROLES: &[i64] = &[1, 3, 4, 5];
/// The site course (`SITEID`), shortname "moodle", with no enrolment instance.
pub const SITE_COURSE: i64 = 1;
/// Course N's context id is `COURSE_CONTEXT_BASE + N`.
pub const COURSE_CONTEXT_BASE: i64 = 1000;

pub fn role_shortname(id: i64) -> Option<&'static str> {
    usize::try_from(id - 1)
        .ok()
        .and_then(|i| ROLES.get(i).copied())
}

pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub idnumber: String,
    /// Whether the course has an enabled manual enrolment instance.
    pub manual: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// 0 active, 1 suspended (`user_enrolments.status`).
    pub status: i64,
    pub timestart: i64,
    pub timeend: i64,
}

/// The course table, the manual `user_enrolments` rows and the course-context
/// `role_assignments` (component '' only), keyed by (course id, user id).
pub struct Courses {
    pub list: BTreeMap<i64, Course>,
    pub enrolments: BTreeMap<(i64, i64), Enrolment>,
    pub roles: BTreeMap<(i64, i64), BTreeSet<i64>>,
}

impl Default for Courses {
    fn default() -> Courses {
        let site = Course {
            id: SITE_COURSE,
            shortname: "moodle".into(),
            idnumber: String::new(),
            manual: false,
        };
        Courses {
            list: BTreeMap::from([(SITE_COURSE, site)]),
            enrolments: BTreeMap::new(),
            roles: BTreeMap::new(),
        }
    }
}

impl Courses {
    pub fn add(&mut self, shortname: &str, idnumber: &str, manual: bool) -> i64 {
        let id = self.list.keys().last().map_or(2, |last| last + 1).max(2);
        let (shortname, idnumber) = (shortname.to_string(), idnumber.to_string());
        let course = Course {
            id,
            shortname,
            idnumber,
            manual,
        };
        self.list.insert(id, course);
        id
    }

    pub fn by_shortname(&self, shortname: &str) -> Option<&Course> {
        self.list.values().find(|c| c.shortname == shortname)
    }

    /// What `delete_user` does to a user's enrolments and role assignments.
    pub fn forget_user(&mut self, user: i64) {
        self.enrolments.retain(|(_, u), _| *u != user);
        self.roles.retain(|(_, u), _| *u != user);
    }

    fn unassign(&mut self, key: (i64, i64), role: Option<i64>) {
        if let Some(set) = self.roles.get_mut(&key) {
            match role {
                Some(r) => {
                    set.remove(&r);
                }
                None => set.clear(),
            }
            if set.is_empty() {
                self.roles.remove(&key);
            }
        }
    }
}

const ENROL: &[Field] = &[
    req("roleid", v(Ty::Int)),
    req("userid", v(Ty::Int)),
    req("courseid", v(Ty::Int)),
    opt("timestart", v(Ty::Int)),
    opt("timeend", v(Ty::Int)),
    opt("suspend", v(Ty::Int)),
];
const UNENROL: &[Field] = &[
    req("userid", v(Ty::Int)),
    req("courseid", v(Ty::Int)),
    opt("roleid", v(Ty::Int)),
];
const ASSIGNMENT: &[Field] = &[
    req("roleid", v(Ty::Int)),
    req("userid", v(Ty::Int)),
    opt("contextid", v(Ty::Int)),
    opt("contextlevel", v(Ty::Alpha)),
    opt("instanceid", v(Ty::Int)),
];
const OPTION: &[Field] = &[req("name", v(Ty::AlphaNumExt)), req("value", v(Ty::Raw))];

pub const GET_COURSES_BY_FIELD: &[Field] = &[opt("field", v(Ty::Alpha)), opt("value", v(Ty::Raw))];
pub const ENROL_USERS: &[Field] = &[req("enrolments", Desc::List(&Desc::Struct(ENROL)))];
pub const UNENROL_USERS: &[Field] = &[req("enrolments", Desc::List(&Desc::Struct(UNENROL)))];
pub const GET_ENROLLED_USERS: &[Field] = &[
    req("courseid", v(Ty::Int)),
    opt("options", Desc::List(&Desc::Struct(OPTION))),
];
pub const ASSIGN_ROLES: &[Field] = &[req("assignments", Desc::List(&Desc::Struct(ASSIGNMENT)))];
pub const UNASSIGN_ROLES: &[Field] = &[req("unassignments", Desc::List(&Desc::Struct(ASSIGNMENT)))];

/// An integer parameter already validated as PARAM_INT (absent: 0).
fn int(item: &V, key: &str) -> i64 {
    item.str(key).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn live_user(site: &Site, id: i64) -> bool {
    site.get(id).is_some_and(|u| !u.deleted)
}

/// One course as get_courses_by_field shows it to the admin: 032's first course with this
/// course's values.
fn course_json(c: &Course, base: &str) -> Value {
    let mut out = recording("032").response["courses"][0].clone();
    let name = if c.id == SITE_COURSE {
        "Moodle"
    } else {
        &c.shortname
    };
    let image = format!(
        "{RECORDED_BASE}/pluginfile.php/{}/course/generated/course.svg",
        COURSE_CONTEXT_BASE + c.id
    );
    for (k, val) in [
        ("id", json!(c.id)),
        ("fullname", json!(name)),
        ("displayname", json!(name)),
        ("shortname", json!(c.shortname)),
        ("courseimage", json!(image.replace(RECORDED_BASE, base))),
        ("categoryid", json!(if c.id == SITE_COURSE { 0 } else { 1 })),
        (
            "categoryname",
            json!(if c.id == SITE_COURSE {
                ""
            } else {
                "Category 1"
            }),
        ),
        ("sortorder", json!(10000 + c.id)),
        ("summary", json!("")),
        (
            "enrollmentmethods",
            json!(if c.manual { vec!["manual"] } else { vec![] }),
        ),
        ("idnumber", json!(c.idnumber)),
        (
            "format",
            json!(if c.id == SITE_COURSE {
                "site"
            } else {
                "topics"
            }),
        ),
        ("startdate", json!(0)),
        ("enddate", json!(0)),
        ("visible", json!(1)),
    ] {
        out[k] = val;
    }
    out
}

/// Exact match on the column; `ids` is a comma list; nothing found is `courses: []` (035).
pub fn get_courses_by_field(site: &Site, p: &V, base: &str) -> Outcome {
    let (field, value) = (p.str("field").unwrap_or(""), p.str("value").unwrap_or(""));
    let as_int = |s: &str| s.trim().parse::<i64>().unwrap_or(0);
    let all = site.courses.list.values();
    let found: Vec<&Course> = match field {
        "" => all.collect(),
        "id" => all.filter(|c| c.id == as_int(value)).collect(),
        "ids" => {
            let ids: Vec<i64> = value.split(',').map(as_int).collect();
            all.filter(|c| ids.contains(&c.id)).collect()
        }
        "shortname" => all.filter(|c| c.shortname == value).collect(),
        "idnumber" => all.filter(|c| c.idnumber == value).collect(),
        "category" => all
            .filter(|c| c.id != SITE_COURSE && as_int(value) == 1)
            .collect(),
        _ => return Err(errors::invalid_parameter()), // "Invalid field name"
    };
    let courses: Vec<Value> = found.into_iter().map(|c| course_json(c, base)).collect();
    Ok(json!({"courses": courses, "warnings": []}).to_string())
}

/// 039's `wsusercannotassign` for this role, user and course.
fn cannot_assign(role: i64, user: i64, course: i64) -> Value {
    let mut body = recording("039").response.clone();
    body["message"] = json!(format!(
        "You don't have the permission to assign this role ({role}) to this user ({user}) in this course ({course})."
    ));
    body
}

/// 041: `role_assign` for a missing or deleted user.
fn no_such_user() -> Value {
    recording("041").response.clone()
}

/// One transaction: per item, course context (042) → role assignable (039) → manual instance
/// (044) → the user, checked only by role_assign (041). Absent dates and `suspend` become 0.
pub fn enrol_users(site: &mut Site, p: &V) -> Outcome {
    let mut plan = Vec::new();
    for item in p.list("enrolments") {
        let (role, user, course) = (
            int(item, "roleid"),
            int(item, "userid"),
            int(item, "courseid"),
        );
        let Some(c) = site.courses.list.get(&course) else {
            return Err(recording("042").response.clone());
        };
        if !COURSE_ROLES.contains(&role) {
            return Err(cannot_assign(role, user, course));
        }
        if !c.manual {
            return Err(recording("044").response.clone());
        }
        if !live_user(site, user) {
            return Err(no_such_user());
        }
        let status = i64::from(int(item, "suspend") != 0);
        let (timestart, timeend) = (int(item, "timestart"), int(item, "timeend"));
        plan.push((
            course,
            user,
            role,
            Enrolment {
                status,
                timestart,
                timeend,
            },
        ));
    }
    for (course, user, role, enrolment) in plan {
        site.courses.enrolments.insert((course, user), enrolment);
        site.courses
            .roles
            .entry((course, user))
            .or_default()
            .insert(role);
    }
    Ok("null".into())
}

/// One transaction: course (invalidrecord) → manual instance (044) → user exists (deleted
/// ones too). Unenrolling ends the user's only enrolment, so all their course roles and
/// group memberships go.
pub fn unenrol_users(site: &mut Site, p: &V) -> Outcome {
    let mut plan = Vec::new();
    for item in p.list("enrolments") {
        let (user, course) = (int(item, "userid"), int(item, "courseid"));
        let Some(c) = site.courses.list.get(&course) else {
            return Err(errors::invalid_record("course"));
        };
        if !c.manual {
            return Err(recording("044").response.clone());
        }
        if site.get(user).is_none() {
            return Err(errors::invalid_parameter()); // "User id not exist: N"
        }
        plan.push((course, user));
    }
    for key in plan {
        if site.courses.enrolments.remove(&key).is_some() {
            site.courses.unassign(key, None);
            site.groups.forget_user(key.1, Some(key.0));
        }
    }
    Ok("null".into())
}

fn role_json(id: i64) -> Value {
    json!({"roleid": id, "name": "", "shortname": role_shortname(id), "sortorder": 0})
}

/// The fields get_enrolled_users may return, in 045's order (`roles`/`enrolledcourses` added).
const ENROLLED_FIELDS: &[&str] = &[
    "id",
    "username",
    "firstname",
    "lastname",
    "fullname",
    "email",
    "address",
    "phone1",
    "phone2",
    "department",
    "institution",
    "idnumber",
    "interests",
    "firstaccess",
    "lastaccess",
    "lastcourseaccess",
    "description",
    "descriptionformat",
    "city",
    "country",
    "profileimageurlsmall",
    "profileimageurl",
    "customfields",
    "roles",
    "enrolledcourses",
];

/// Every user with an enrolment row (suspended too, deleted users never), by id; options
/// `userfields` (id and fullname always come back), `onlyactive`, `onlysuspended`,
/// `limitfrom`, `limitnumber`; other options are ignored.
pub fn get_enrolled_users(site: &Site, p: &V, base: &str) -> Outcome {
    let course = int(p, "courseid");
    if !site.courses.list.contains_key(&course) {
        return Err(errors::invalid_record("course"));
    }
    let mut wanted: Option<Vec<&str>> = None;
    let (mut status, mut from, mut limit) = (None, 0usize, usize::MAX);
    for option in p.list("options") {
        let value = option.str("value").unwrap_or("");
        let number = value.trim().parse::<usize>().unwrap_or(0);
        match option.str("name").unwrap_or("") {
            "userfields" => wanted = Some(value.split(',').map(str::trim).collect()),
            "onlyactive" if number != 0 => status = Some(0),
            "onlysuspended" if number != 0 => status = Some(1),
            "limitfrom" => from = number,
            "limitnumber" if number > 0 => limit = number,
            _ => {}
        }
    }
    let now = super::users::now();
    let mut out = Vec::new();
    for (&(_, user), e) in site
        .courses
        .enrolments
        .range((course, i64::MIN)..=(course, i64::MAX))
    {
        let active = e.status == 0 && e.timestart <= now && (e.timeend == 0 || e.timeend > now);
        if status.is_some_and(|s| (s == 0) != active) {
            continue;
        }
        let Some(u) = site.get(user).filter(|u| !u.deleted) else {
            continue;
        };
        let mut all = serde_json::to_value(site.details(u, base)).expect("details serialise");
        all["lastcourseaccess"] = json!(0);
        for field in all["customfields"].as_array_mut().into_iter().flatten() {
            if let Some(f) = field.as_object_mut() {
                f.remove("displayvalue");
            }
        }
        let roles = site.courses.roles.get(&(course, user));
        all["roles"] = roles.into_iter().flatten().map(|r| role_json(*r)).collect();
        let enrolled = site.courses.enrolments.keys().filter(|(_, u)| *u == user);
        all["enrolledcourses"] = enrolled
            .filter_map(|(c, _)| site.courses.list.get(c))
            .map(|c| json!({"id": c.id, "fullname": c.shortname, "shortname": c.shortname}))
            .collect();
        let mut m = Map::new();
        for key in ENROLLED_FIELDS {
            let asked = wanted.as_ref().is_none_or(|w| w.contains(key));
            if asked || matches!(*key, "id" | "fullname") {
                if let Some(val) = all.get(*key).filter(|v| !v.is_null()) {
                    m.insert(key.to_string(), val.clone());
                }
            }
        }
        out.push(Value::Object(m));
    }
    let page: Vec<Value> = out.into_iter().skip(from).take(limit).collect();
    Ok(Value::Array(page).to_string())
}

/// `get_context_from_params` + `validate_context` for a course context: the course id, or
/// `invalidparameter` (debug 0 hides "Context does not exist", "Invalid context level").
fn course_of(site: &Site, item: &V) -> Result<i64, Value> {
    let course = if int(item, "contextid") != 0 {
        int(item, "contextid") - COURSE_CONTEXT_BASE
    } else {
        match (
            item.str("contextlevel").unwrap_or(""),
            item.str("instanceid"),
        ) {
            ("course", Some(_)) => int(item, "instanceid"),
            ("system" | "user" | "coursecat" | "module" | "block", Some(_)) => {
                return Err(errors::coding(
                    "the fake Moodle only models course contexts",
                ))
            }
            _ => return Err(errors::invalid_parameter()),
        }
    };
    match site.courses.list.contains_key(&course) {
        true => Ok(course),
        false => Err(errors::invalid_parameter()),
    }
}

/// One transaction each. Assign: context → role assignable (049) → user (041's coding
/// exception). Unassign removes that role only and, as `role_unassign`, checks no user.
/// Neither touches enrolments.
pub fn assign_roles(site: &mut Site, p: &V, assign: bool) -> Outcome {
    let key = if assign {
        "assignments"
    } else {
        "unassignments"
    };
    let mut plan = Vec::new();
    for item in p.list(key) {
        let course = course_of(site, item)?;
        let (role, user) = (int(item, "roleid"), int(item, "userid"));
        if !COURSE_ROLES.contains(&role) {
            return Err(recording("049").response.clone());
        }
        if assign && !live_user(site, user) {
            return Err(no_such_user());
        }
        plan.push(((course, user), role));
    }
    for (key, role) in plan {
        if assign {
            site.courses.roles.entry(key).or_default().insert(role);
        } else {
            site.courses.unassign(key, Some(role));
        }
    }
    Ok("null".into())
}

/// The `enrolment` test hook's view of (course, user).
pub fn enrolment_json(site: &Site, course: i64, user: i64) -> Option<Value> {
    let roles: Vec<&str> = {
        let mut names: Vec<&str> = site
            .courses
            .roles
            .get(&(course, user))
            .into_iter()
            .flatten()
            .filter_map(|r| role_shortname(*r))
            .collect();
        names.sort_unstable();
        names
    };
    match site.courses.enrolments.get(&(course, user)) {
        Some(e) => Some(json!({
            "enrolled": true, "status": e.status, "timestart": e.timestart,
            "timeend": e.timeend, "roles": roles,
        })),
        None if !roles.is_empty() => Some(json!({"enrolled": false, "roles": roles})),
        None => None,
    }
}
