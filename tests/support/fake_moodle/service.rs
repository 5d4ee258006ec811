//! What `webservice/rest/server.php` does with one request, in Moodle's order: decode the form,
//! check the token, maintenance mode, that the function exists and is in the token's service,
//! validate the parameters, run the function, answer JSON with HTTP 200 (errors included).
//! The test hooks (faults, delay, call log) are applied around that pipeline.

use super::categories;
use super::cohorts;
use super::courses;
use super::errors;
use super::files;
use super::form::{self, PArr, PVal};
use super::groups;
use super::http::{Reply, Request};
use super::params::{self, opt, Desc, Field, Ty};
use super::recordings::{recording, RECORDED_BASE};
use super::user_functions as uf;
use super::users::Site;
use super::{Call, Drop};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "f00dfacef00dfacef00dfacef00dface";

/// An answer a real Moodle cannot be made to give, standing for a proxy or a broken PHP in
/// front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Odd {
    /// An HTML error page in ISO-8859-1: its bytes are not UTF-8.
    NotUtf8,
    /// A JSON answer of this many bytes.
    Oversized(usize),
}

impl Odd {
    pub fn reply(self) -> Reply {
        match self {
            Odd::NotUtf8 => Reply::send(
                200,
                "text/html; charset=iso-8859-1",
                &b"<html><body>Erreur : la base de donn\xe9es est indisponible</body></html>"[..],
            ),
            Odd::Oversized(size) => {
                let mut body = b"{\"padding\":\"".to_vec();
                body.resize(size.saturating_sub(2), b'x');
                body.extend_from_slice(b"\"}");
                Reply::send(200, "application/json", body)
            }
        }
    }
}

/// One request in the call log.
pub enum Logged {
    Form(String, String),
    Upload(Call),
}

/// The switches and counters the test hooks set and read.
#[derive(Default)]
pub struct Control {
    pub maintenance: bool,
    pub removed: HashSet<String>,
    /// Functions outside the recorded service that `add_function` put in, in that order.
    pub added: Vec<String>,
    pub drops: HashMap<String, (Drop, usize)>,
    /// Shaped like `drops` so that one `take` serves both.
    pub fail_5xx: HashMap<String, ((), usize)>,
    /// Answers no Moodle gives, for the client's guards: see `FakeMoodle::answer_next`.
    pub odd: HashMap<String, (Odd, usize)>,
    pub delay: Duration,
    /// Every request: server.php's kept as (query string, body), decoded only when
    /// `calls()` asks.
    pub calls: Vec<Logged>,
    pub record_calls: bool,
    pub write_calls: usize,
    /// Error messages quote the token the call sent, as a debugging site's traces can.
    pub quote_token: bool,
    /// Errors print the call's parameters, as a site with developer debugging does.
    pub echo_request: bool,
}

pub struct Shared {
    pub base: String,
    pub max_input_vars: usize,
    pub control: Mutex<Control>,
    pub site: Mutex<Site>,
    pub stopping: AtomicBool,
}

/// A function the fake runs: its declared parameters and its body.
struct WsFunction {
    name: &'static str,
    params: &'static [Field],
    /// The JSON body on success, an exception otherwise.
    run: fn(&Shared, &params::V<'_>) -> Result<String, Value>,
}

const SITE_INFO: &[Field] = &[opt(
    "serviceshortnames",
    Desc::List(&Desc::Value(Ty::AlphaNumExt)),
)];

const FUNCTIONS: &[WsFunction] = &[
    WsFunction {
        name: "core_webservice_get_site_info",
        params: SITE_INFO,
        run: site_info,
    },
    WsFunction {
        name: "core_user_create_users",
        params: uf::CREATE_USERS,
        run: |s, p| uf::create_users(&mut s.site.lock().unwrap(), p).map(|v| v.to_string()),
    },
    WsFunction {
        name: "core_user_update_users",
        params: uf::UPDATE_USERS,
        run: |s, p| uf::update_users(&mut s.site.lock().unwrap(), p).map(|v| v.to_string()),
    },
    WsFunction {
        name: "core_user_delete_users",
        params: uf::DELETE_USERS,
        run: |s, p| uf::delete_users(&mut s.site.lock().unwrap(), p).map(|v| v.to_string()),
    },
    WsFunction {
        name: "core_user_get_users_by_field",
        params: uf::GET_USERS_BY_FIELD,
        run: |s, p| uf::get_users_by_field(&s.site.lock().unwrap(), p, &s.base),
    },
    WsFunction {
        name: "core_user_update_picture",
        params: files::UPDATE_PICTURE,
        run: |s, p| files::update_picture(&mut s.site.lock().unwrap(), p, &s.base),
    },
    WsFunction {
        name: "core_course_get_courses_by_field",
        params: courses::GET_COURSES_BY_FIELD,
        run: |s, p| courses::get_courses_by_field(&s.site.lock().unwrap(), p, &s.base),
    },
    WsFunction {
        name: "enrol_manual_enrol_users",
        params: courses::ENROL_USERS,
        run: |s, p| courses::enrol_users(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "enrol_manual_unenrol_users",
        params: courses::UNENROL_USERS,
        run: |s, p| courses::unenrol_users(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_enrol_get_enrolled_users",
        params: courses::GET_ENROLLED_USERS,
        run: |s, p| courses::get_enrolled_users(&s.site.lock().unwrap(), p, &s.base),
    },
    WsFunction {
        name: "core_course_create_categories",
        params: categories::CREATE_CATEGORIES,
        run: |s, p| categories::create_categories(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_course_get_categories",
        params: categories::GET_CATEGORIES,
        run: |s, p| categories::get_categories(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_course_create_courses",
        params: courses::CREATE_COURSES,
        run: |s, p| courses::create_courses(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_course_update_courses",
        params: courses::UPDATE_COURSES,
        run: |s, p| courses::update_courses(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_role_assign_roles",
        params: courses::ASSIGN_ROLES,
        run: |s, p| courses::assign_roles(&mut s.site.lock().unwrap(), p, true),
    },
    WsFunction {
        name: "core_role_unassign_roles",
        params: courses::UNASSIGN_ROLES,
        run: |s, p| courses::assign_roles(&mut s.site.lock().unwrap(), p, false),
    },
    WsFunction {
        name: "core_cohort_create_cohorts",
        params: cohorts::CREATE_COHORTS,
        run: |s, p| cohorts::create_cohorts(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_update_cohorts",
        params: cohorts::UPDATE_COHORTS,
        run: |s, p| cohorts::update_cohorts(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_delete_cohorts",
        params: cohorts::DELETE_COHORTS,
        run: |s, p| cohorts::delete_cohorts(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_search_cohorts",
        params: cohorts::SEARCH_COHORTS,
        run: |s, p| cohorts::search_cohorts(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_get_cohorts",
        params: cohorts::GET_COHORTS,
        run: |s, p| cohorts::get_cohorts(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_add_cohort_members",
        params: cohorts::ADD_MEMBERS,
        run: |s, p| cohorts::add_cohort_members(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_delete_cohort_members",
        params: cohorts::DELETE_MEMBERS,
        run: |s, p| cohorts::delete_cohort_members(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_cohort_get_cohort_members",
        params: cohorts::GET_MEMBERS,
        run: |s, p| cohorts::get_cohort_members(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_create_groups",
        params: groups::CREATE_GROUPS,
        run: |s, p| groups::create_groups(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_get_course_groups",
        params: groups::COURSE,
        run: |s, p| groups::get_course_groups(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_add_group_members",
        params: groups::MEMBERS,
        run: |s, p| groups::change_group_members(&mut s.site.lock().unwrap(), p, true),
    },
    WsFunction {
        name: "core_group_delete_group_members",
        params: groups::MEMBERS,
        run: |s, p| groups::change_group_members(&mut s.site.lock().unwrap(), p, false),
    },
    WsFunction {
        name: "core_group_get_group_members",
        params: groups::GET_MEMBERS,
        run: |s, p| groups::get_group_members(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_create_groupings",
        params: groups::CREATE_GROUPINGS,
        run: |s, p| groups::create_groupings(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_get_course_groupings",
        params: groups::COURSE,
        run: |s, p| groups::get_course_groupings(&s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_assign_grouping",
        params: groups::ASSIGN_GROUPING,
        run: |s, p| groups::assign_grouping(&mut s.site.lock().unwrap(), p),
    },
    // Outside the recorded service: refused (086) until `FakeMoodle::add_function`.
    WsFunction {
        name: "core_group_update_groups",
        params: groups::UPDATE_GROUPS,
        run: |s, p| groups::update_groups(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_group_update_groupings",
        params: groups::UPDATE_GROUPINGS,
        run: |s, p| groups::update_groupings(&mut s.site.lock().unwrap(), p),
    },
    WsFunction {
        name: "core_course_duplicate_course",
        params: courses::DUPLICATE_COURSE,
        run: |s, p| courses::duplicate_course(&mut s.site.lock().unwrap(), p),
    },
];

/// Real Moodle functions outside the recorded service (labws): calling them is an access
/// error (086), not an unknown function (087). So is calling the `FUNCTIONS` outside it
/// (`addable`) until `add_function` puts them in.
const OTHER_MOODLE_FUNCTIONS: &[&str] = &[
    "core_course_get_contents",
    "core_course_get_courses",
    "core_course_search_courses",
    "core_course_update_categories",
    "core_course_delete_categories",
    "core_enrol_get_users_courses",
    "core_user_get_course_user_profiles",
    "core_user_add_user_device",
    "core_user_view_user_profile",
    "core_group_delete_groups",
    "core_group_delete_groupings",
    "core_group_unassign_grouping",
    "core_message_send_instant_messages",
    "core_calendar_get_calendar_events",
    "core_grades_update_grades",
    "core_cohort_update_cohort_members",
    "enrol_self_enrol_user",
    "enrol_meta_add_instances",
];

/// The functions of the token's service, as site info lists them (001).
fn service_functions() -> impl Iterator<Item = &'static str> {
    recording("001").response["functions"]
        .as_array()
        .expect("001 lists functions")
        .iter()
        .filter_map(|f| f["name"].as_str())
}

/// Whether `FakeMoodle::add_function` can put `function` in the service: the fake runs it,
/// but the recorded service (001) does not have it.
pub fn addable(function: &str) -> bool {
    FUNCTIONS.iter().any(|f| f.name == function) && !service_functions().any(|f| f == function)
}

/// The sorted names `addable` accepts.
pub fn addable_functions() -> Vec<&'static str> {
    let mut names: Vec<&str> = FUNCTIONS
        .iter()
        .map(|f| f.name)
        .filter(|f| addable(f))
        .collect();
    names.sort_unstable();
    names
}

/// The write functions, whose calls `write_calls` counts: by the verb after the component.
fn is_write(function: &str) -> bool {
    let verb = function.split('_').nth(2).unwrap_or("");
    matches!(
        verb,
        "create"
            | "update"
            | "delete"
            | "add"
            | "assign"
            | "unassign"
            | "enrol"
            | "unenrol"
            | "upload"
            | "duplicate"
    )
}

/// 001 with the fake's base URL, minus the removed functions, plus the added ones (after the
/// recorded ones, with the site's version as core functions have).
fn site_info(shared: &Shared, _: &params::V) -> Result<String, Value> {
    let (removed, added) = {
        let c = shared.control.lock().unwrap();
        (c.removed.clone(), c.added.clone())
    };
    let recorded = serde_json::to_string(&recording("001").response).unwrap();
    let mut info: Value =
        serde_json::from_str(&recorded.replace(RECORDED_BASE, &shared.base)).unwrap();
    let version = info["version"].clone();
    if let Some(list) = info["functions"].as_array_mut() {
        let added = added
            .into_iter()
            .map(|name| json!({"name": name, "version": version}));
        list.extend(added);
        list.retain(|f| !removed.contains(f["name"].as_str().unwrap_or("")));
    }
    Ok(info.to_string())
}

fn scalar<'a>(root: &PArr<'a>, key: &str) -> &'a str {
    match root.get(key) {
        Some(PVal::Str(s)) => s,
        _ => "",
    }
}

/// Uses up one of a per-function fault's remaining times.
pub fn take<T: Copy>(map: &mut HashMap<String, (T, usize)>, function: &str) -> Option<T> {
    let (what, left) = map.get_mut(function)?;
    let what = *what;
    *left -= 1;
    if *left == 0 {
        map.remove(function);
    }
    Some(what)
}

/// Sleeps in small steps so that dropping the fake does not wait out a long delay.
pub fn pause(shared: &Shared, delay: Duration) {
    let end = Instant::now() + delay;
    while !shared.stopping.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

pub fn handle(shared: &Shared, req: &Request) -> Reply {
    if req.path() == "/webservice/upload.php" {
        return files::handle_upload(shared, req);
    }
    if req.path() != "/webservice/rest/server.php" {
        return Reply::send(404, "text/plain", "Not Found");
    }
    if req.method != "POST" && req.method != "GET" {
        return Reply::send(405, "text/plain", "Method Not Allowed");
    }
    // GET and POST are merged, POST winning; PHP caps each at max_input_vars.
    let raw_body = String::from_utf8_lossy(&req.body);
    let fields = decode(req.query(), &raw_body, shared.max_input_vars);
    let mut root = form::php_parse(&fields);
    let function = scalar(&root, "wsfunction");
    let (token, format) = (
        scalar(&root, "wstoken"),
        scalar(&root, "moodlewsrestformat"),
    );
    for key in ["wstoken", "wsfunction", "moodlewsrestformat"] {
        root.remove(key);
    }
    root.entries
        .retain(|(k, _)| !k.starts_with("moodlewssetting"));

    let mut ctl = shared.control.lock().unwrap();
    let delay = ctl.delay;
    if ctl.record_calls {
        ctl.calls
            .push(Logged::Form(req.query().to_string(), raw_body.to_string()));
    }
    // A 503 stands for a proxy or an overloaded PHP pool: Moodle never sees the call.
    if take(&mut ctl.fail_5xx, function).is_some() {
        drop(ctl);
        pause(shared, delay);
        return Reply::send(503, "text/plain", String::new());
    }
    let gate = if token != TOKEN {
        Err(errors::invalid_token())
    } else if ctl.maintenance {
        Err(errors::site_maintenance())
    } else if function.is_empty() {
        Err(errors::invalid_parameter()) // "Missing function name"
    } else if !(FUNCTIONS.iter().any(|f| f.name == function)
        || service_functions().any(|f| f == function)
        || OTHER_MOODLE_FUNCTIONS.contains(&function)
        || ctl.removed.contains(function))
    {
        Err(errors::unknown_function())
    } else if ctl.removed.contains(function)
        || !(service_functions().any(|f| f == function) || ctl.added.iter().any(|f| f == function))
    {
        Err(errors::access_exception())
    } else {
        Ok(())
    };
    let mut fault = None;
    if gate.is_ok() {
        if let Some(odd) = take(&mut ctl.odd, function) {
            drop(ctl);
            return odd.reply();
        }
        if is_write(function) {
            ctl.write_calls += 1;
        }
        fault = take(&mut ctl.drops, function);
    }
    drop(ctl);

    let answer = gate.and_then(|()| {
        if fault == Some(Drop::BeforeApply) {
            return Ok(String::new());
        }
        match FUNCTIONS.iter().find(|f| f.name == function) {
            Some(f) => match params::validate(f.params, &root) {
                Ok(p) => (f.run)(shared, &p),
                Err(()) => Err(errors::invalid_parameter()),
            },
            None => Err(errors::coding(&format!(
                "the fake Moodle does not implement {function}"
            ))),
        }
    });
    pause(shared, delay);
    if fault.is_some() {
        return Reply::Hangup;
    }
    if format != "json" {
        // Moodle would answer XML; the fake only speaks JSON and says so in XML's shape.
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<EXCEPTION class=\"coding_exception\">\
                   <MESSAGE>the fake Moodle only answers moodlewsrestformat=json</MESSAGE></EXCEPTION>\n";
        return Reply::send(200, "application/xml; charset=utf-8", xml);
    }
    let (quote, echo) = {
        let c = shared.control.lock().unwrap();
        (c.quote_token, c.echo_request)
    };
    let body = answer.unwrap_or_else(|mut error| {
        if echo {
            echo_request(&mut error, &root);
        }
        if quote {
            let m = error["message"].as_str().unwrap_or("").to_string();
            error["message"] = serde_json::json!(format!("{m} (wstoken={token})"));
            error["debuginfo"] = serde_json::json!(format!("called with wstoken={token}"));
        }
        error.to_string()
    });
    Reply::send(200, "application/json", body)
}

/// What a site with developer debugging (`$CFG->debug = DEBUG_DEVELOPER`, `debugdisplay`)
/// answers when the exception carries the parameters, as external_api's "Only arrays
/// accepted. The bad value is: '<print_r>'" and a dml exception's SQL parameters do: the
/// parameters in `debuginfo` (with setuplib's "Error code" line), and `moodle_exception`
/// appends the debuginfo to the message in brackets.
fn echo_request(error: &mut Value, params: &PArr) {
    let code = error["errorcode"].as_str().unwrap_or("").to_string();
    let mut dump = String::new();
    print_r(&mut dump, params, 0);
    let debuginfo = format!("The bad value is: '{dump}'\nError code: {code}");
    let message = error["message"].as_str().unwrap_or("").to_string();
    error["message"] = json!(format!("{message} ({debuginfo})"));
    error["debuginfo"] = json!(debuginfo);
}

/// PHP's `print_r` of an array.
fn print_r(out: &mut String, arr: &PArr, depth: usize) {
    let pad = " ".repeat(depth * 8);
    out.push_str(&format!("Array\n{pad}(\n"));
    for (k, v) in &arr.entries {
        out.push_str(&format!("{pad}    [{k}] => "));
        match v {
            PVal::Str(s) => out.push_str(s),
            PVal::Arr(a) => {
                print_r(out, a, depth + 1);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str(&format!("{pad})\n"));
}

/// The form fields of a request: query string first, each part capped at max_input_vars.
pub fn decode(query: &str, body: &str, max_input_vars: usize) -> Vec<(String, String)> {
    let mut fields = form::pairs(query, max_input_vars);
    fields.extend(form::pairs(body, max_input_vars));
    fields
}

/// A recorded request as the test hooks show it.
pub fn call_of(query: &str, raw_body: &str, max_input_vars: usize) -> Call {
    let fields = decode(query, raw_body, max_input_vars);
    let first = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let reserved = ["wstoken", "wsfunction", "moodlewsrestformat"];
    Call {
        function: first("wsfunction").unwrap_or_default(),
        token: first("wstoken").unwrap_or_default(),
        params: fields
            .iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .cloned()
            .collect(),
        raw_body: raw_body.to_string(),
    }
}
