//! A fake Moodle REST server (`POST {base}/webservice/rest/server.php`) for the integration
//! tests and the benchmarks, faithful to the team's recordings of a real Moodle 4.4dev
//! (tests/fixtures/moodle-rest/, see ../shared/moodle-rest/README.md): same error bodies,
//! same warning shapes, same batch semantics, same parameter strictness. It models the user
//! functions (create, update, delete, get_users_by_field), site info, courses (create,
//! update, delete, lookups), manual enrolments and course role assignments (`courses`),
//! course categories (`categories`), cohorts in system or category contexts (`cohorts`), course groups and groupings (`groups`), and draft uploads to
//! `POST {base}/webservice/upload.php` with `core_user_update_picture` (`files`); the other
//! functions of the recorded service answer a `coding_exception` saying the fake lacks them.
//! Three real functions outside the recorded service, `core_group_update_groups`,
//! `core_group_update_groupings` and `core_course_duplicate_course`, are refused like any
//! other until `add_function` adds them.
//!
//! ```ignore
//! #[path = "../support/fake_moodle/mod.rs"]
//! mod fake_moodle;
//! let moodle = fake_moodle::FakeMoodle::start();
//! // point the client at moodle.url() with FakeMoodle::TOKEN ...
//! moodle.drop_next("core_user_create_users", fake_moodle::DropWhen::AfterApply, 1);
//! assert_eq!(moodle.user("jdoe").unwrap()["email"], "jdoe@example.com");
//! ```
//!
//! Included by path from several crates (tests/cli, benches), so it depends on nothing but
//! std, serde (derive), serde_json and md-5, and not every includer uses every item. Work is
//! indexed (username, lower-case email, idnumber), so 100,000 users in calls of 100 take
//! about a second; at that scale use `record_calls(false)` or `clear_calls()` between runs,
//! and `user_count()` rather than `users()`.

#![allow(dead_code, unused_imports)] // each includer uses a different part

mod categories;
mod checks;
mod client;
mod cohorts;
mod courses;
mod errors;
mod files;
mod form;
mod groups;
mod http;
mod params;
mod recordings;
mod service;
mod user_functions;
mod users;

pub use client::{encode_form, Conn, Response};
pub use files::USER_CONTEXT_BASE;
pub use recordings::{recording, Recording, RECORDED_BASE};
pub use service::Odd;

use serde_json::Value;
use service::{Control, Shared};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use users::{Site, User};

/// When `drop_next` closes the connection without an answer: before the function runs (no
/// change) or after (the change is stored, the client never hears of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    BeforeApply,
    AfterApply,
}

/// `Drop` under a name that does not shadow the prelude's `Drop` trait where it is imported.
pub use self::Drop as DropWhen;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    /// The decoded form fields in order (query string first), minus wstoken, wsfunction and
    /// moodlewsrestformat: directly comparable with a recording's `params`.
    pub params: Vec<(String, String)>,
    /// The body as received (still URL-encoded; an upload's multipart body read as UTF-8,
    /// lossily). Uploads are logged as function `webservice_upload` with params `filearea`,
    /// `itemid`, ... and each file part as (`file_1`, "<filename> (<n> bytes)").
    pub raw_body: String,
    pub token: String,
}

/// How the fake site is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The id the first created user gets (guest is 1, admin 2).
    pub first_user_id: i64,
    /// Custom profile fields (all datatype `text`): (shortname, name).
    pub profile_fields: Vec<(String, String)>,
    /// PHP's `max_input_vars` (Moodle 4.x requires at least 5000): fields past it are dropped.
    pub max_input_vars: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            first_user_id: 100,
            profile_fields: vec![("dept".into(), "Department".into())],
            max_input_vars: 5000,
        }
    }
}

pub struct FakeMoodle {
    shared: Arc<Shared>,
    server: http::Server,
}

impl FakeMoodle {
    /// The token the fake accepts (anything else gets 088's `invalidtoken`).
    pub const TOKEN: &'static str = service::TOKEN;

    pub fn start() -> FakeMoodle {
        FakeMoodle::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> FakeMoodle {
        let listener = http::Server::bind();
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            max_input_vars: options.max_input_vars,
            control: Mutex::new(Control {
                record_calls: true,
                ..Control::default()
            }),
            site: Mutex::new(Site::new(options.first_user_id, options.profile_fields)),
            stopping: Default::default(),
        });
        // Fail now, not inside a connection thread, if the recordings are missing.
        let needed = [
            "001", "004", "008", "011", "021", "032", "039", "041", "042", "044",
        ];
        for number in needed.into_iter().chain([
            "025", "029", "030", "049", "063", "085", "086", "087", "088",
        ]) {
            recording(number);
        }
        let handler_state = shared.clone();
        let handler: http::Handler = Arc::new(move |req| service::handle(&handler_state, req));
        FakeMoodle {
            shared,
            server: http::Server::start(listener, handler),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.shared.control.lock().unwrap()
    }

    fn site(&self) -> std::sync::MutexGuard<'_, Site> {
        self.shared.site.lock().unwrap()
    }

    /// While on, error answers quote the token sent (in `message` and `debuginfo`): the
    /// client must keep it out of everything it writes.
    pub fn quote_token_in_errors(&self, on: bool) {
        self.control().quote_token = on;
    }

    /// While on, error answers print the call's parameters (passwords included) in `debuginfo`
    /// and in `message`, as a site with developer debugging does (see `service::echo_request`):
    /// the client must keep the secret ones out of everything it writes.
    pub fn echo_request_in_errors(&self, on: bool) {
        self.control().echo_request = on;
    }

    /// While on, every call with a valid token answers `sitemaintenance`.
    pub fn set_maintenance(&self, on: bool) {
        self.control().maintenance = on;
    }

    /// Takes a function out of the token's service: calls answer 086's `accessexception`
    /// and site info no longer lists it.
    pub fn remove_function(&self, name: &str) {
        self.control().removed.insert(name.to_string());
    }

    /// Puts a real Moodle function that the recorded service lacks into the token's service:
    /// from now on site info lists it (with the site's version, like the core functions) and
    /// calls run it, where before they answered 086's `accessexception` as for any function
    /// outside the service. Supported: `core_group_update_groups`,
    /// `core_group_update_groupings` and `core_course_duplicate_course`; any other name
    /// panics. Undoes a `remove_function`.
    pub fn add_function(&self, name: &str) {
        assert!(
            service::addable(name),
            "add_function: the fake can add only {:?}, not {name:?}",
            service::addable_functions()
        );
        let mut c = self.control();
        c.removed.remove(name);
        if !c.added.iter().any(|f| f == name) {
            c.added.push(name.to_string());
        }
    }

    /// The next `times` calls of `function` that pass the token, maintenance and service
    /// checks close the connection without a response, before or after applying.
    pub fn drop_next(&self, function: &str, when: Drop, times: usize) {
        let mut c = self.control();
        match times {
            0 => c.drops.remove(function),
            _ => c.drops.insert(function.to_string(), (when, times)),
        };
    }

    /// The next `times` calls of `function` answer HTTP 503 with an empty body, before any
    /// check (as a proxy would): nothing is applied and `write_calls` does not count them.
    pub fn fail_next_5xx(&self, function: &str, times: usize) {
        let mut c = self.control();
        match times {
            0 => c.fail_5xx.remove(function),
            _ => c.fail_5xx.insert(function.to_string(), ((), times)),
        };
    }

    /// The next `times` calls of `function` that pass the token, maintenance and service
    /// checks get `odd` instead of Moodle's answer, and are not run.
    pub fn answer_next(&self, function: &str, odd: Odd, times: usize) {
        let mut c = self.control();
        match times {
            0 => c.odd.remove(function),
            _ => c.odd.insert(function.to_string(), (odd, times)),
        };
    }

    /// Every call waits this long after being processed and before answering (or dropping).
    pub fn set_delay(&self, d: Duration) {
        self.control().delay = d;
    }

    /// Every request received, in order (unless `record_calls(false)`). Only the query and
    /// body are kept per request; they are decoded here, when asked for.
    pub fn calls(&self) -> Vec<Call> {
        let max = self.shared.max_input_vars;
        let c = self.control();
        c.calls
            .iter()
            .map(|logged| match logged {
                service::Logged::Form(query, body) => service::call_of(query, body, max),
                service::Logged::Upload(call) => call.clone(),
            })
            .collect()
    }

    /// Calls to write functions (create/update/delete/duplicate/...) that got past the token,
    /// maintenance and service checks, whether or not their parameters were valid; a call
    /// dropped with `Drop::BeforeApply` counts, a 503 from `fail_next_5xx` does not.
    pub fn write_calls(&self) -> usize {
        self.control().write_calls
    }

    /// Forgets the recorded calls and resets `write_calls`.
    pub fn clear_calls(&self) {
        let mut c = self.control();
        c.calls.clear();
        c.write_calls = 0;
    }

    /// Benchmarks: stop keeping every request (their bodies add up).
    pub fn record_calls(&self, on: bool) {
        self.control().record_calls = on;
    }

    /// The stored row of the user with this username (deleted users have a rewritten one),
    /// as `users::Site::record` lays it out: all columns, `deleted`, `customfields` and
    /// `preferences` as objects, `password` in plain text.
    pub fn user(&self, username: &str) -> Option<Value> {
        let site = self.site();
        let id = site.id_by_username(username)?;
        site.get(id).map(|u| site.record(u))
    }

    pub fn user_by_id(&self, id: i64) -> Option<Value> {
        let site = self.site();
        site.get(id).map(|u| site.record(u))
    }

    /// Live (non-deleted) users by id, guest and admin included.
    pub fn users(&self) -> Vec<Value> {
        let site = self.site();
        site.live().map(|u| site.record(u)).collect()
    }

    /// Deletes a user directly, as Moodle's `delete_user` does (the row stays, renamed; see
    /// `users::Site::soft_delete`). Nothing happens to a missing or already deleted id.
    pub fn delete_user(&self, id: i64) {
        let mut site = self.site();
        if site.get(id).is_some_and(|u| !u.deleted) {
            site.soft_delete(id);
        }
    }

    /// How many live users there are: `users().len()` without building 100,000 records.
    pub fn user_count(&self) -> usize {
        self.site().live().count()
    }

    /// Seeds a user directly, without the web service's checks. `fields` is an object of
    /// `mdl_user` columns (`username` required; `id` optional; flags as bools or 0/1;
    /// `deleted`; `customfields` and `preferences` as `{name: value}` objects). Returns the
    /// id. A `deleted` seed keeps the username and email given (no rewriting).
    pub fn add_user(&self, fields: Value) -> i64 {
        let obj = fields.as_object().expect("add_user takes a JSON object");
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => (*b as u8).to_string(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let mut user = User::default();
        for (k, v) in obj {
            match k.as_str() {
                "id" => user.id = v.as_i64().expect("id is a number"),
                "deleted" => user.deleted = text(v) == "1",
                "customfields" | "preferences" => {
                    for (name, value) in v.as_object().expect("an object of name: value") {
                        match k.as_str() {
                            "customfields" => user.set_customfield(name, &text(value)),
                            _ => user.set_preference(name, &text(value)),
                        }
                    }
                }
                column => user.set(column, text(v)),
            }
        }
        assert!(
            !user.get("username").is_empty(),
            "add_user needs a username"
        );
        self.site().insert(user)
    }

    /// Adds a course in category 1 (ids from 2, never reused; course 1 is the site course
    /// "moodle"), with fullname = shortname, format topics, visible, no dates, and
    /// an enabled manual enrolment instance when `manual`. Its context id is 1000 + its id.
    /// Returns the id.
    pub fn add_course(&self, shortname: &str, idnumber: &str, manual: bool) -> i64 {
        self.site().courses.add(shortname, idnumber, manual)
    }

    /// The course with this shortname: `{"id", "shortname", "fullname", "idnumber",
    /// "categoryid", "category_path" (names from the top, joined by "/"), "visible" (0/1),
    /// "format", "startdate", "enddate", "summary"}`, or None.
    pub fn course(&self, shortname: &str) -> Option<Value> {
        let site = self.site();
        let c = site.courses.by_shortname(shortname)?;
        Some(courses::course_hook(&site, c))
    }

    /// The names of category `id` and its ancestors from the top, joined by "/" (e.g.
    /// "Top/Child"); "" for 0 or an unknown id.
    pub fn category_path(&self, id: i64) -> String {
        self.site().cohorts.category_path(id)
    }

    /// The enrolment of `username` in the course `shortname`:
    /// `{"enrolled": true, "status": 0|1, "timestart", "timeend", "roles": [shortnames, sorted]}`,
    /// or `{"enrolled": false, "roles": [...]}` for roles held without an enrolment, or None.
    pub fn enrolment(&self, username: &str, shortname: &str) -> Option<Value> {
        let site = self.site();
        let user = site.id_by_username(username)?;
        let course = site.courses.by_shortname(shortname)?.id;
        courses::enrolment_json(&site, course, user)
    }

    /// Gives `username` the role `role_shortname` in the course `course_shortname` as the enrol
    /// plugin `component` would (e.g. "enrol_cohort"; not '', which is a manual assignment):
    /// get_enrolled_users and `enrolment` list it (a role also held manually, once);
    /// `core_role_unassign_roles` leaves it (only the manual one goes); unenrolling, deleting
    /// the user or the course removes it. Enrols no one. Panics on an unknown or deleted user,
    /// an unknown course or role, or an empty component.
    pub fn give_plugin_role(
        &self,
        username: &str,
        course_shortname: &str,
        role_shortname: &str,
        component: &str,
    ) {
        assert!(!component.is_empty(), "a plugin's component is not ''");
        let mut site = self.site();
        let user = site.id_by_username(username);
        let user = user.filter(|&id| site.get(id).is_some_and(|u| !u.deleted));
        let user = user.unwrap_or_else(|| panic!("no live user {username:?}"));
        let course = site.courses.by_shortname(course_shortname);
        let course = course.unwrap_or_else(|| panic!("no course {course_shortname:?}"));
        let role = courses::ROLES.iter().position(|r| *r == role_shortname);
        let role = role.unwrap_or_else(|| panic!("no role {role_shortname:?}")) as i64 + 1;
        let key = (course.id, user);
        site.courses.give_plugin_role(key, role, component);
    }

    /// Adds a course category (`parent` 0: top level; category 1 "Category 1" exists, ids
    /// from 2; hidden if its parent is), for cohorts and courses to live in. Its context id is 500 + its id. Returns the id.
    pub fn add_category(&self, name: &str, idnumber: &str, parent: i64) -> i64 {
        self.site().cohorts.add_category(name, idnumber, parent)
    }

    /// The cohort with this idnumber: `{"id", "name", "idnumber", "description", "visible"
    /// (bool), "contextid" (1 = system), "members": [usernames, sorted]}`, or None.
    pub fn cohort(&self, idnumber: &str) -> Option<Value> {
        let site = self.site();
        let c = site.cohorts.by_idnumber(idnumber)?;
        Some(cohorts::cohort_hook(&site, c))
    }

    /// The group `name` of the course `course_shortname`: `{"id", "name", "idnumber",
    /// "description", "members": [usernames, sorted]}`, or None.
    pub fn group(&self, course_shortname: &str, name: &str) -> Option<Value> {
        let site = self.site();
        let course = site.courses.by_shortname(course_shortname)?.id;
        let mut all = site.groups.groups.values();
        let g = all.find(|g| g.courseid == course && g.name == name)?;
        Some(groups::group_hook(&site, g))
    }

    /// The grouping `name` of the course `course_shortname`: `{"id", "name", "idnumber",
    /// "groups": [group names, sorted]}`, or None.
    pub fn grouping(&self, course_shortname: &str, name: &str) -> Option<Value> {
        let site = self.site();
        let course = site.courses.by_shortname(course_shortname)?.id;
        let mut all = site.groups.groupings.values();
        let g = all.find(|g| g.courseid == course && g.name == name)?;
        Some(groups::grouping_hook(&site, g))
    }

    /// The MD5 hex of the image `core_user_update_picture` last set as the user's picture,
    /// or None when the user has none (never set, deleted, or deleted with `delete=1`).
    pub fn picture_md5(&self, username: &str) -> Option<String> {
        let site = self.site();
        let user = site.get(site.id_by_username(username)?)?;
        if matches!(user.get("picture"), "" | "0") {
            return None;
        }
        site.files.pictures.get(&user.id).cloned()
    }

    /// Opens a keep-alive connection to the fake (see `client`).
    pub fn connect(&self) -> Conn {
        Conn::open(&self.url()).expect("connect to the fake Moodle")
    }

    /// One call with the right token on a fresh connection; the parsed JSON answer.
    pub fn call(&self, function: &str, params: &[(&str, &str)]) -> Value {
        let mut fields = vec![
            ("wstoken", FakeMoodle::TOKEN),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
        ];
        fields.extend_from_slice(params);
        let resp = self
            .connect()
            .post(&encode_form(&fields))
            .expect("call the fake Moodle");
        assert_eq!(resp.status, 200, "HTTP status of {function}");
        resp.json()
    }
}

impl std::ops::Drop for FakeMoodle {
    fn drop(&mut self) {
        // Cut delays short; `server` is dropped next and joins its threads.
        self.shared.stopping.store(true, Ordering::SeqCst);
    }
}
