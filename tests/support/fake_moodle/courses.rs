//! Courses, manual enrolments and course role assignments (moodle.md §2.8–2.11, §2.15–2.18):
//! `core_course_create_courses` and `core_course_update_courses` (the REST throughput bench
//! makes its courses, a template's copy is finished through them),
//! `core_course_get_courses_by_field`, `enrol_manual_enrol_users`, `enrol_manual_unenrol_users`,
//! `core_enrol_get_enrolled_users`, `core_role_assign_roles` and `core_role_unassign_roles`,
//! with the recordings' bodies (028–035, 038–050, 079–080). Deleting courses is tested on the
//! lab only. A course has at most one enrolment
//! instance, a manual one; only course contexts are modelled. Role assignments an enrol
//! plugin owns exist only through the `give_plugin_role` hook. `core_course_duplicate_course`,
//! a real function outside the recorded service, runs only after `FakeMoodle::add_function`
//! and follows Moodle 4.4's `course/externallib.php` (no recording shows it).

use super::errors;
use super::params::{def, opt, php_trim, req, v, Desc, Field, Ty, V};
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

#[derive(Clone)]
pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub idnumber: String,
    /// 0 for the site course.
    pub categoryid: i64,
    pub summary: String,
    pub summaryformat: i64,
    pub format: String,
    /// 0 or 1.
    pub visible: i64,
    pub startdate: i64,
    pub enddate: i64,
    /// Whether the course has an enabled manual enrolment instance.
    pub manual: bool,
}

impl Course {
    fn new(id: i64, shortname: &str, idnumber: &str, manual: bool) -> Course {
        Course {
            id,
            shortname: shortname.to_string(),
            fullname: shortname.to_string(),
            idnumber: idnumber.to_string(),
            categoryid: 1,
            summary: String::new(),
            summaryformat: 1,
            format: "topics".into(),
            visible: 1,
            startdate: 0,
            enddate: 0,
            manual,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// 0 active, 1 suspended (`user_enrolments.status`).
    pub status: i64,
    pub timestart: i64,
    pub timeend: i64,
}

/// The course table, the manual `user_enrolments` rows and the course-context
/// `role_assignments`, keyed by (course id, user id): `roles` the manual ones (component ''),
/// `plugin_roles` those an enrol plugin gave, as (role, component) (the `give_plugin_role`
/// hook; `role_unassign` leaves them alone).
pub struct Courses {
    pub list: BTreeMap<i64, Course>,
    pub enrolments: BTreeMap<(i64, i64), Enrolment>,
    pub roles: BTreeMap<(i64, i64), BTreeSet<i64>>,
    pub plugin_roles: BTreeMap<(i64, i64), BTreeSet<(i64, String)>>,
    /// Ids are never reused (a sequence).
    pub next_id: i64,
}

impl Default for Courses {
    fn default() -> Courses {
        let site = Course {
            fullname: "Moodle".into(),
            categoryid: 0,
            format: "site".into(),
            ..Course::new(SITE_COURSE, "moodle", "", false)
        };
        Courses {
            list: BTreeMap::from([(SITE_COURSE, site)]),
            enrolments: BTreeMap::new(),
            roles: BTreeMap::new(),
            plugin_roles: BTreeMap::new(),
            next_id: 2,
        }
    }
}

impl Courses {
    pub fn add(&mut self, shortname: &str, idnumber: &str, manual: bool) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.list
            .insert(id, Course::new(id, shortname, idnumber, manual));
        id
    }

    pub fn by_shortname(&self, shortname: &str) -> Option<&Course> {
        self.list.values().find(|c| c.shortname == shortname)
    }

    /// What `delete_user` does to a user's enrolments and role assignments.
    pub fn forget_user(&mut self, user: i64) {
        self.enrolments.retain(|(_, u), _| *u != user);
        self.roles.retain(|(_, u), _| *u != user);
        self.plugin_roles.retain(|(_, u), _| *u != user);
    }

    /// Every role the user holds in the course, whatever its component, each once, by id.
    pub fn held(&self, key: (i64, i64)) -> BTreeSet<i64> {
        let manual = self.roles.get(&key).into_iter().flatten().copied();
        let plugin = self.plugin_roles.get(&key).into_iter().flatten();
        manual.chain(plugin.map(|(r, _)| *r)).collect()
    }

    /// A role assignment owned by the enrol plugin `component` (not ''); no enrol instance is
    /// modelled, so it has no itemid.
    pub fn give_plugin_role(&mut self, key: (i64, i64), role: i64, component: &str) {
        let set = self.plugin_roles.entry(key).or_default();
        set.insert((role, component.to_string()));
    }

    /// `role_unassign` (component '', itemid 0) with a role: that manual assignment only.
    /// Without one: every assignment in the course, plugin ones too (the last enrolment gone).
    fn unassign(&mut self, key: (i64, i64), role: Option<i64>) {
        if role.is_none() {
            self.plugin_roles.remove(&key);
        }
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
/// course's values. Its sortorder: its category's plus its rank there by id.
fn course_json(site: &Site, c: &Course, base: &str) -> Value {
    let mut out = recording("032").response["courses"][0].clone();
    let image = format!(
        "{RECORDED_BASE}/pluginfile.php/{}/course/generated/course.svg",
        COURSE_CONTEXT_BASE + c.id
    );
    let category = site.cohorts.categories.get(&c.categoryid);
    let siblings = site
        .courses
        .list
        .values()
        .filter(|o| o.categoryid == c.categoryid);
    let rank = siblings.take_while(|o| o.id <= c.id).count() as i64;
    let sortorder = match c.id {
        SITE_COURSE => 1,
        _ => site.cohorts.sortorder(c.categoryid) + rank,
    };
    for (k, val) in [
        ("id", json!(c.id)),
        ("fullname", json!(c.fullname)),
        ("displayname", json!(c.fullname)),
        ("shortname", json!(c.shortname)),
        ("courseimage", json!(image.replace(RECORDED_BASE, base))),
        ("categoryid", json!(c.categoryid)),
        (
            "categoryname",
            json!(category.map_or("", |k| k.name.as_str())),
        ),
        ("sortorder", json!(sortorder)),
        ("summary", json!(c.summary)),
        ("summaryformat", json!(c.summaryformat)),
        (
            "enrollmentmethods",
            json!(if c.manual { vec!["manual"] } else { vec![] }),
        ),
        ("idnumber", json!(c.idnumber)),
        ("format", json!(c.format)),
        ("startdate", json!(c.startdate)),
        ("enddate", json!(c.enddate)),
        ("visible", json!(c.visible)),
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
        "category" => all.filter(|c| c.categoryid == as_int(value)).collect(),
        _ => return Err(errors::invalid_parameter()), // "Invalid field name"
    };
    let courses: Vec<Value> = found.iter().map(|c| course_json(site, c, base)).collect();
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
        // One entry per role assignment, as get_user_roles reads them: a role held both by
        // hand and through a plugin is listed twice.
        let key = (course, user);
        let manual = site.courses.roles.get(&key).into_iter().flatten().copied();
        let plugin = site.courses.plugin_roles.get(&key).into_iter().flatten();
        // Ordered as get_user_roles orders them: by the role's sortorder (its id here).
        let mut roles: Vec<i64> = manual.chain(plugin.map(|(r, _)| *r)).collect();
        roles.sort_unstable();
        all["roles"] = roles.into_iter().map(role_json).collect();
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
/// exception). Unassign removes that role's manual assignment only (a plugin's stays) and,
/// as `role_unassign`, checks no user. Neither touches enrolments.
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
            .held((course, user))
            .into_iter()
            .filter_map(role_shortname)
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

const FORMAT_OPTION: &[Field] = &[req("name", v(Ty::AlphaNumExt)), req("value", v(Ty::Raw))];
const COURSE_FIELD: &[Field] = &[
    req("shortname", v(Ty::AlphaNumExt)),
    req("value", v(Ty::Raw)),
];
const FORMAT_OPTIONS: Desc = Desc::List(&Desc::Struct(FORMAT_OPTION));
const COURSE_FIELDS: Desc = Desc::List(&Desc::Struct(COURSE_FIELD));
const NEW_COURSE: &[Field] = &[
    req("fullname", v(Ty::Text)),
    req("shortname", v(Ty::Text)),
    req("categoryid", v(Ty::Int)),
    opt("idnumber", v(Ty::Raw)),
    opt("summary", v(Ty::Raw)),
    def("summaryformat", v(Ty::Int), "1"),
    def("format", v(Ty::Plugin), "topics"),
    def("showgrades", v(Ty::Int), "1"),
    def("newsitems", v(Ty::Int), "5"),
    opt("startdate", v(Ty::Int)),
    opt("enddate", v(Ty::Int)),
    opt("numsections", v(Ty::Int)),
    def("maxbytes", v(Ty::Int), "0"),
    def("showreports", v(Ty::Int), "0"),
    opt("visible", v(Ty::Int)),
    opt("hiddensections", v(Ty::Int)),
    def("groupmode", v(Ty::Int), "0"),
    def("groupmodeforce", v(Ty::Int), "0"),
    def("defaultgroupingid", v(Ty::Int), "0"),
    opt("enablecompletion", v(Ty::Int)),
    opt("completionnotify", v(Ty::Int)),
    opt("lang", v(Ty::AlphaNumExt)),
    opt("forcetheme", v(Ty::Plugin)),
    opt("courseformatoptions", FORMAT_OPTIONS),
    opt("customfields", COURSE_FIELDS),
];
const CHANGED_COURSE: &[Field] = &[
    req("id", v(Ty::Int)),
    opt("fullname", v(Ty::Text)),
    opt("shortname", v(Ty::Text)),
    opt("categoryid", v(Ty::Int)),
    opt("idnumber", v(Ty::Raw)),
    opt("summary", v(Ty::Raw)),
    opt("summaryformat", v(Ty::Int)),
    opt("format", v(Ty::Plugin)),
    opt("showgrades", v(Ty::Int)),
    opt("newsitems", v(Ty::Int)),
    opt("startdate", v(Ty::Int)),
    opt("enddate", v(Ty::Int)),
    opt("numsections", v(Ty::Int)),
    opt("maxbytes", v(Ty::Int)),
    opt("showreports", v(Ty::Int)),
    opt("visible", v(Ty::Int)),
    opt("hiddensections", v(Ty::Int)),
    opt("groupmode", v(Ty::Int)),
    opt("groupmodeforce", v(Ty::Int)),
    opt("defaultgroupingid", v(Ty::Int)),
    opt("enablecompletion", v(Ty::Int)),
    opt("completionnotify", v(Ty::Int)),
    opt("lang", v(Ty::AlphaNumExt)),
    opt("forcetheme", v(Ty::Plugin)),
    opt("courseformatoptions", FORMAT_OPTIONS),
    opt("customfields", COURSE_FIELDS),
];

pub const CREATE_COURSES: &[Field] = &[req("courses", Desc::List(&Desc::Struct(NEW_COURSE)))];
pub const UPDATE_COURSES: &[Field] = &[req("courses", Desc::List(&Desc::Struct(CHANGED_COURSE)))];

/// `errorinvalidparam` for a blank fullname or shortname.
fn blank_name(item: &V) -> Result<(), Value> {
    for key in ["fullname", "shortname"] {
        if item.str(key).is_some_and(|s| php_trim(s).is_empty()) {
            let message = format!("The param \"{key}\" is invalid.");
            return Err(errors::exception(
                "moodle_exception",
                "errorinvalidparam",
                &message,
            ));
        }
    }
    Ok(())
}

/// `create_course`/`update_course`'s checks against the other courses (`others`, which
/// excludes the course itself): shortname (029), non-empty idnumber, then the dates.
fn check_course<'a>(
    mut others: impl Iterator<Item = &'a Course> + Clone,
    shortname: &str,
    idnumber: &str,
    (startdate, enddate): (i64, i64),
) -> Result<(), Value> {
    if others.clone().any(|c| c.shortname == shortname) {
        let mut body = recording("029").response.clone();
        body["message"] = json!(format!(
            "Short name is already used for another course ({shortname})"
        ));
        return Err(body);
    }
    if !idnumber.is_empty() && others.any(|c| c.idnumber == idnumber) {
        let message = format!("ID number is already used for another course ({idnumber})");
        return Err(errors::exception(
            "moodle_exception",
            "courseidnumbertaken",
            &message,
        ));
    }
    if enddate != 0 && enddate < startdate {
        return Err(errors::exception(
            "moodle_exception",
            "enddatebeforestartdate",
            "The course end date must be after the start date.",
        ));
    }
    Ok(())
}

/// One transaction; per course: category context (030), blank names, then `create_course`'s
/// checks, earlier courses of the batch included. `visible` defaults to the category's.
/// Every new course gets an enabled manual enrolment instance.
pub fn create_courses(site: &mut Site, p: &V) -> Outcome {
    let mut created: Vec<Course> = Vec::new();
    for item in p.list("courses") {
        let field = |key: &str| item.str(key).unwrap_or("");
        let category = int(item, "categoryid");
        let Some(cat) = site.cohorts.categories.get(&category) else {
            let mut body = recording("030").response.clone();
            let message = body["message"].as_str().unwrap_or("").to_string();
            body["message"] = json!(message.replace("id:999999", &format!("id:{category}")));
            return Err(body);
        };
        blank_name(item)?;
        let dates = (int(item, "startdate"), int(item, "enddate"));
        let others = site.courses.list.values().chain(created.iter());
        check_course(others, field("shortname"), field("idnumber"), dates)?;
        let visible = item.str("visible").map_or(i64::from(cat.visible), |_| {
            i64::from(int(item, "visible") != 0)
        });
        let id = site.courses.next_id + created.len() as i64;
        created.push(Course {
            fullname: field("fullname").into(),
            categoryid: category,
            summary: field("summary").into(),
            summaryformat: int(item, "summaryformat"),
            format: field("format").into(),
            visible,
            startdate: dates.0,
            enddate: dates.1,
            ..Course::new(id, field("shortname"), field("idnumber"), true)
        });
    }
    site.courses.next_id += created.len() as i64;
    let answer: Vec<Value> = created
        .iter()
        .map(|c| json!({"id": c.id, "shortname": c.shortname}))
        .collect();
    site.courses
        .list
        .extend(created.into_iter().map(|c| (c.id, c)));
    Ok(Value::Array(answer).to_string())
}

/// One course of update_courses: the course (031's `invalidrecord`), blank names, the
/// checks of `check_course` on the changed values, then a new category must exist.
fn update_course(site: &mut Site, item: &V) -> Result<(), Value> {
    let id = int(item, "id");
    let Some(old) = site.courses.list.get(&id) else {
        return Err(errors::invalid_record("course"));
    };
    blank_name(item)?;
    let text = |key: &str, was: &str| item.str(key).unwrap_or(was).to_string();
    let number = |key: &str, was: i64| item.str(key).map_or(was, |_| int(item, key));
    let (shortname, idnumber) = (text("shortname", ""), text("idnumber", ""));
    let dates = (
        number("startdate", old.startdate),
        number("enddate", old.enddate),
    );
    let others = site.courses.list.values().filter(|c| c.id != id);
    check_course(others, &shortname, &idnumber, dates)?;
    let category = match number("categoryid", 0) {
        0 => old.categoryid,
        c => c,
    };
    if !site.cohorts.categories.contains_key(&category) && category != old.categoryid {
        return Err(errors::invalid_record("course_categories"));
    }
    let c = Course {
        id,
        fullname: text("fullname", &old.fullname),
        idnumber: text("idnumber", &old.idnumber),
        categoryid: category,
        summary: text("summary", &old.summary),
        summaryformat: number("summaryformat", old.summaryformat),
        format: text("format", &old.format),
        visible: i64::from(number("visible", old.visible) != 0),
        startdate: dates.0,
        enddate: dates.1,
        manual: old.manual,
        shortname: text("shortname", &old.shortname),
    };
    site.courses.list.insert(id, c);
    Ok(())
}

/// A warning of update_courses (031).
fn course_warning(id: i64, code: &str, message: &str) -> Value {
    json!({"item": "course", "itemid": id, "warningcode": code, "message": message})
}

/// No transaction: each course that fails becomes a warning with the exception's errorcode
/// and message (031); the others are updated.
pub fn update_courses(site: &mut Site, p: &V) -> Outcome {
    let mut warnings = Vec::new();
    for item in p.list("courses") {
        if let Err(e) = update_course(site, item) {
            let (code, message) = (e["errorcode"].as_str(), e["message"].as_str());
            let (code, message) = (code.unwrap_or(""), message.unwrap_or(""));
            warnings.push(course_warning(int(item, "id"), code, message));
        }
    }
    Ok(json!({ "warnings": warnings }).to_string())
}

/// The backup settings `duplicate_course` lets a caller set (its `$backupdefaults` keys).
const BACKUP_OPTIONS: &[&str] = &[
    "activities",
    "blocks",
    "filters",
    "users",
    "enrolments",
    "role_assignments",
    "comments",
    "userscompletion",
    "logs",
    "grade_histories",
];
const BACKUP_OPTION: &[Field] = &[req("name", v(Ty::AlphaExt)), req("value", v(Ty::Raw))];
pub const DUPLICATE_COURSE: &[Field] = &[
    req("courseid", v(Ty::Int)),
    req("fullname", v(Ty::Text)),
    req("shortname", v(Ty::Text)),
    req("categoryid", v(Ty::Int)),
    def("visible", v(Ty::Int), "1"),
    // VALUE_DEFAULT array(): absent is the same as empty.
    opt("options", Desc::List(&Desc::Struct(BACKUP_OPTION))),
];

/// PHP's `(int)` of a string, which `clean_param(PARAM_INT)` is: leading white space, then
/// the longest numeric prefix (a float one truncated), else 0; "abc" is 0, "1.9" is 1.
fn php_int_cast(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let b = t.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut end = digits_from(start);
    let mut float = false;
    if b.get(end) == Some(&b'.') {
        let after = digits_from(end + 1);
        if end > start || after > end + 1 {
            (end, float) = (after, true);
        }
    }
    if end == start {
        return 0;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let after = digits_from(end + 1 + sign);
        if after > end + 1 + sign {
            (end, float) = (after, true);
        }
    }
    let number = &t[..end];
    match float {
        true => number.parse::<f64>().map_or(0, |f| f as i64),
        false => number
            .parse::<i64>()
            .unwrap_or(match number.starts_with('-') {
                true => i64::MIN,
                false => i64::MAX,
            }),
    }
}

/// `core_course_duplicate_course`: a backup of the course restored into a new one, in
/// Moodle's order of checks: the course (`invalidcourseid`) → the category, whose context
/// `context_coursecat::instance` loads with MUST_EXIST (`invalidrecord` on
/// course_categories, not create_courses' 030) → each option, value first (`invalidextparam`)
/// → the shortname used by any course (029's `shortnametaken`, naming the fullnames of the
/// courses that have it, comma-joined). Not one transaction in Moodle, but nothing is
/// written before the last check, so a refused call changes nothing.
///
/// The copy has the source's settings but an empty idnumber (restore drops one that is in
/// use, and the source's is), its manual instance if it has one (with users off, restore
/// turns every instance into the manual one), and its groups and groupings (the `groups`
/// setting is on and no option turns it off). Then fullname, shortname and visible come
/// from the call. Participants (enrolments, group members) come along unless `users` is 0,
/// and their course roles unless `role_assignments` is 0 too (plugin-given ones under the
/// same rule, a simplification: Moodle has the plugin's restored instance give them back,
/// and the fake models no such instance): Moodle's `$backupdefaults`
/// (users 0) only lists the names allowed, and a same-site backup starts from the backup
/// root's own defaults, which include users. The site course cannot be copied here.
pub fn duplicate_course(site: &mut Site, p: &V) -> Outcome {
    let Some(source) = site.courses.list.get(&int(p, "courseid")) else {
        return Err(errors::exception(
            "moodle_exception",
            "invalidcourseid",
            "You are trying to use an invalid course ID",
        ));
    };
    let category = int(p, "categoryid");
    if !site.cohorts.categories.contains_key(&category) {
        return Err(errors::invalid_record("course_categories"));
    }
    let mut settings = BTreeMap::new();
    for option in p.list("options") {
        let name = option.str("name").unwrap_or("");
        let value = php_int_cast(option.str("value").unwrap_or(""));
        if !matches!(value, 0 | 1) || !BACKUP_OPTIONS.contains(&name) {
            let message = format!("Invalid external api parameter: {name}");
            return Err(errors::exception(
                "moodle_exception",
                "invalidextparam",
                &message,
            ));
        }
        settings.insert(name, value == 1);
    }
    let shortname = p.str("shortname").unwrap_or("");
    let owners = site.courses.list.values();
    let taken: Vec<&str> = owners
        .filter(|c| c.shortname == shortname)
        .map(|c| c.fullname.as_str())
        .collect();
    if !taken.is_empty() {
        let mut body = recording("029").response.clone();
        body["message"] = json!(format!(
            "Short name is already used for another course ({})",
            taken.join(",")
        ));
        return Err(body);
    }
    if source.id == SITE_COURSE {
        return Err(errors::coding(
            "the fake Moodle does not model duplicating the site course",
        ));
    }
    let setting = |name: &str| settings.get(name).copied().unwrap_or(true);
    let users = setting("users");
    let roles = users && setting("role_assignments");
    let source = source.clone();
    let from = source.id;
    let id = site.courses.next_id;
    site.courses.next_id += 1;
    let copy = Course {
        id,
        shortname: shortname.into(),
        fullname: p.str("fullname").unwrap_or("").into(),
        idnumber: String::new(),
        categoryid: category,
        visible: i64::from(int(p, "visible") != 0),
        ..source
    };
    let courses = &mut site.courses;
    if users && copy.manual {
        let range = (from, i64::MIN)..=(from, i64::MAX);
        let enrolled: Vec<(i64, Enrolment)> = courses
            .enrolments
            .range(range)
            .map(|(&(_, u), e)| (u, *e))
            .collect();
        for (user, e) in enrolled {
            courses.enrolments.insert((id, user), e);
        }
    }
    if roles {
        let held: Vec<(i64, BTreeSet<i64>)> = courses
            .roles
            .iter()
            .filter(|((c, _), _)| *c == from)
            .map(|(&(_, u), r)| (u, r.clone()))
            .collect();
        for (user, r) in held {
            courses.roles.insert((id, user), r);
        }
        let given: Vec<(i64, BTreeSet<(i64, String)>)> = courses
            .plugin_roles
            .iter()
            .filter(|((c, _), _)| *c == from)
            .map(|(&(_, u), r)| (u, r.clone()))
            .collect();
        for (user, r) in given {
            courses.plugin_roles.insert((id, user), r);
        }
    }
    courses.list.insert(id, copy);
    site.groups.copy_course(from, id, users);
    Ok(json!({"id": id, "shortname": shortname}).to_string())
}

/// The `course` test hook's view.
pub fn course_hook(site: &Site, c: &Course) -> Value {
    json!({
        "id": c.id, "shortname": c.shortname, "fullname": c.fullname, "idnumber": c.idnumber,
        "categoryid": c.categoryid, "category_path": site.cohorts.category_path(c.categoryid),
        "visible": c.visible, "format": c.format, "startdate": c.startdate,
        "enddate": c.enddate, "summary": c.summary,
    })
}
