//! `core_user_create_users`, `_update_users`, `_delete_users` and `_get_users_by_field`:
//! their declared parameters (moodle.md §2.1–2.4) and their bodies, with Moodle's order of
//! checks and batch semantics (create/delete all-or-nothing, update per item with warnings).

use super::checks::{internal_auth, password_policy_errors, valid_email};
use super::errors;
use super::params::{def, opt, php_trim, req, username_char, v, Desc, Field, Ty, V};
use super::users::{Site, User, ADMIN_ID, GUEST_ID};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

type Outcome = Result<Value, Value>;

const TYPE_VALUE: &[Field] = &[req("type", v(Ty::AlphaNumExt)), req("value", v(Ty::Raw))];
const PREFERENCE: &[Field] = &[req("type", v(Ty::Raw)), req("value", v(Ty::Raw))];

const NEW_USER: &[Field] = &[
    opt("createpassword", v(Ty::Bool)),
    req("username", v(Ty::Username)),
    def("auth", v(Ty::Auth), "manual"),
    opt("password", v(Ty::Raw)),
    req("firstname", v(Ty::NoTags)),
    req("lastname", v(Ty::NoTags)),
    req("email", v(Ty::RawTrimmed)),
    opt("maildisplay", v(Ty::Int)),
    opt("city", v(Ty::Text)),
    opt("country", v(Ty::Alpha)),
    opt("timezone", v(Ty::Timezone)),
    opt("description", v(Ty::Raw)),
    opt("firstnamephonetic", v(Ty::NoTags)),
    opt("lastnamephonetic", v(Ty::NoTags)),
    opt("middlename", v(Ty::NoTags)),
    opt("alternatename", v(Ty::NoTags)),
    opt("interests", v(Ty::Text)),
    def("idnumber", v(Ty::Raw), ""),
    opt("institution", v(Ty::Text)),
    opt("department", v(Ty::Text)),
    opt("phone1", v(Ty::NoTags)),
    opt("phone2", v(Ty::NoTags)),
    opt("address", v(Ty::Text)),
    def("lang", v(Ty::Lang), "en"),
    def("calendartype", v(Ty::Plugin), "gregorian"),
    opt("theme", v(Ty::Theme)),
    opt("mailformat", v(Ty::Int)),
    opt("customfields", Desc::List(&Desc::Struct(TYPE_VALUE))),
    opt("preferences", Desc::List(&Desc::Struct(PREFERENCE))),
];

const CHANGED_USER: &[Field] = &[
    req("id", v(Ty::Int)),
    opt("username", v(Ty::Username)),
    opt("auth", v(Ty::Auth)),
    opt("suspended", v(Ty::Bool)),
    opt("password", v(Ty::Raw)),
    opt("firstname", v(Ty::NoTags)),
    opt("lastname", v(Ty::NoTags)),
    opt("email", v(Ty::RawTrimmed)),
    opt("maildisplay", v(Ty::Int)),
    opt("city", v(Ty::Text)),
    opt("country", v(Ty::Alpha)),
    opt("timezone", v(Ty::Timezone)),
    opt("description", v(Ty::Raw)),
    opt("userpicture", v(Ty::Int)),
    opt("firstnamephonetic", v(Ty::NoTags)),
    opt("lastnamephonetic", v(Ty::NoTags)),
    opt("middlename", v(Ty::NoTags)),
    opt("alternatename", v(Ty::NoTags)),
    opt("interests", v(Ty::Text)),
    opt("idnumber", v(Ty::Raw)),
    opt("institution", v(Ty::Text)),
    opt("department", v(Ty::Text)),
    opt("phone1", v(Ty::NoTags)),
    opt("phone2", v(Ty::NoTags)),
    opt("address", v(Ty::Text)),
    opt("lang", v(Ty::Lang)),
    opt("calendartype", v(Ty::Plugin)),
    opt("theme", v(Ty::Theme)),
    opt("mailformat", v(Ty::Int)),
    opt("customfields", Desc::List(&Desc::Struct(TYPE_VALUE))),
    opt("preferences", Desc::List(&Desc::Struct(PREFERENCE))),
];

pub const CREATE_USERS: &[Field] = &[req("users", Desc::List(&Desc::Struct(NEW_USER)))];
pub const UPDATE_USERS: &[Field] = &[req("users", Desc::List(&Desc::Struct(CHANGED_USER)))];
pub const DELETE_USERS: &[Field] = &[req("userids", Desc::List(&Desc::Value(Ty::Int)))];
pub const GET_USERS_BY_FIELD: &[Field] = &[
    req("field", v(Ty::Alpha)),
    req("values", Desc::List(&Desc::Value(Ty::Raw))),
];

/// PHP's `empty()` on a string: "" and "0".
fn php_empty(s: Option<&str>) -> bool {
    matches!(s, None | Some("") | Some("0"))
}

/// Copies the sent scalar columns, profile data and preferences onto a row. Unknown custom
/// field shortnames are skipped, as `profile_save_data` skips them.
fn apply(site: &Site, user: &mut User, item: &V, skip: &[&str]) {
    for (k, val) in item.scalars() {
        if !skip.contains(&k) {
            user.set(k, val);
        }
    }
    for cf in item.list("customfields") {
        let (short, value) = (cf.str("type").unwrap_or(""), cf.str("value").unwrap_or(""));
        if site.profile_fields.iter().any(|(s, _)| s == short) {
            user.set_customfield(short, value);
        }
    }
    for pref in item.list("preferences") {
        user.set_preference(
            pref.str("type").unwrap_or(""),
            pref.str("value").unwrap_or(""),
        );
    }
}

/// One transaction for the batch: the first bad user fails the call and nothing is created.
/// In-batch duplicates fail too (the earlier insert is visible inside the transaction).
pub fn create_users(site: &mut Site, p: &V) -> Outcome {
    let mut usernames: HashSet<&str> = HashSet::new();
    let mut emails: HashSet<String> = HashSet::new();
    let mut created = Vec::new();
    for item in p.list("users") {
        let s = |k: &str| item.str(k).unwrap_or("");
        let (username, email, auth) = (s("username"), s("email"), s("auth"));
        let createpassword = !php_empty(item.str("createpassword"));
        let blank = ["username", "firstname", "lastname"]
            .iter()
            .any(|k| php_trim(s(k)).is_empty());
        if blank
            || site.id_by_username(username).is_some()
            || !usernames.insert(username)
            || matches!(auth, "mnet" | "webservice")
            || s("lang").is_empty()
            || (internal_auth(auth) && php_empty(item.str("password")) && !createpassword)
            || !valid_email(email)
            || site.email_taken(email, None)
            || !emails.insert(email.to_lowercase())
        {
            return Err(errors::invalid_parameter());
        }
        if internal_auth(auth) && !createpassword {
            if let Some(text) = password_policy_errors(s("password")) {
                return Err(errors::password_policy(&text));
            }
        }
        let mut user = User::default();
        apply(site, &mut user, item, &["createpassword"]);
        if createpassword {
            user.set("password", "");
            user.set_preference("auth_forcepasswordchange", "1");
        } else if !internal_auth(auth) {
            user.set("password", "not cached");
        }
        let now = super::users::now().to_string();
        user.set("timecreated", now.clone());
        user.set("timemodified", now);
        if user.too_long() {
            return Err(errors::dml_write());
        }
        created.push(user);
    }
    let answer = created
        .into_iter()
        .map(|user| {
            let username = user.get("username").to_string();
            json!({"id": site.insert(user), "username": username})
        })
        .collect();
    Ok(Value::Array(answer))
}

/// Each user on its own: failures become warnings (shapes of 011) and the rest go on. A
/// password failing the policy makes a warning code of HTML, which fails the declared return
/// type: the whole answer becomes `invalidresponse`, though the other users stay updated.
pub fn update_users(site: &mut Site, p: &V) -> Outcome {
    let mut warnings = Vec::new();
    let mut invalid_response = false;
    for item in p.list("users") {
        let id: i64 = item.str("id").unwrap_or("0").parse().unwrap_or(0);
        let Some(existing) = site.get(id) else {
            warnings.push(errors::user_warning(id, "invaliduserid"));
            continue;
        };
        // The caller is the site admin, so admins may be updated (no usernotupdatedadmin).
        let problem = if existing.deleted {
            Some("usernotupdateddeleted")
        } else if id == GUEST_ID {
            Some("usernotupdatedguest")
        } else {
            match item.str("email") {
                Some(e) if e != existing.get("email") && !valid_email(e) => {
                    Some("useremailinvalid")
                }
                Some(e) if e != existing.get("email") && site.email_taken(e, Some(id)) => {
                    Some("useremailduplicate")
                }
                _ => None,
            }
        };
        if let Some(code) = problem {
            warnings.push(errors::user_warning(id, code));
            continue;
        }
        if item
            .str("password")
            .is_some_and(|pw| password_policy_errors(pw).is_some())
        {
            invalid_response = true;
            continue;
        }
        let mut changed = existing.clone();
        apply(site, &mut changed, item, &["id", "userpicture"]);
        changed.set("timemodified", super::users::now().to_string());
        // No uniqueness check for a rename: the DB's unique index refuses it.
        let renamed_onto = site
            .id_by_username(changed.get("username"))
            .is_some_and(|o| o != id);
        if renamed_onto || changed.too_long() {
            warnings.push(errors::user_warning(id, "dmlwriteexception"));
            continue;
        }
        site.update(id, |u| *u = changed);
    }
    if invalid_response {
        return Err(errors::invalid_response());
    }
    Ok(json!({ "warnings": warnings }))
}

/// One transaction: a missing or already deleted id, or an admin, fails the whole call.
/// `delete_user` silently refuses the guest, so the call succeeds without deleting it.
pub fn delete_users(site: &mut Site, p: &V) -> Outcome {
    let mut doomed: Vec<i64> = Vec::new();
    for item in p.list("userids") {
        let id: i64 = item.as_str().parse().unwrap_or(0);
        let live = site.get(id).is_some_and(|u| !u.deleted);
        if !live || doomed.contains(&id) {
            return Err(errors::invalid_user());
        }
        if id == ADMIN_ID {
            return Err(errors::admin_no_delete());
        }
        if id != GUEST_ID {
            doomed.push(id);
        }
    }
    for id in doomed {
        site.soft_delete(id);
    }
    Ok(Value::Null)
}

/// Exact lookups (email case-insensitive), sorted by id, unknown values simply absent.
/// Deleted users keep their row, so by id they still come back (020).
pub fn get_users_by_field(site: &Site, p: &V, base: &str) -> Result<String, Value> {
    let field = p.str("field").unwrap_or("");
    if !matches!(field, "id" | "idnumber" | "username" | "email") {
        return Err(errors::coding("invalid field parameter"));
    }
    let mut ids = BTreeSet::new();
    for value in p.list("values") {
        let value = value.as_str();
        // Each value must equal its cleaned form (PHP's loose `!=`, so " 12" passes for id).
        let clean = match field {
            "id" => php_trim(value).parse::<i64>().is_ok(),
            "username" => value.chars().all(username_char),
            "email" => value == php_trim(value),
            _ => true,
        };
        if !clean {
            return Err(errors::invalid_parameter());
        }
        match field {
            "id" => ids.extend(
                php_trim(value)
                    .parse::<i64>()
                    .ok()
                    .filter(|id| site.get(*id).is_some()),
            ),
            "username" => ids.extend(site.id_by_username(value)),
            // An exact match, as on the recorded PostgreSQL site (MySQL's collation would
            // ignore case).
            "email" => ids.extend(
                site.ids_by_email_ci(value)
                    .iter()
                    .copied()
                    .filter(|id| site.get(*id).is_some_and(|u| u.get("email") == value)),
            ),
            _ => ids.extend(site.ids_by_idnumber(value)),
        }
    }
    // Moodle returns a user only if the searched field is not empty in the answer.
    let users: Vec<_> = ids
        .into_iter()
        .filter_map(|id| site.get(id))
        .filter(|u| field == "id" || !u.get(field).is_empty())
        .map(|u| site.details(u, base))
        .collect();
    Ok(serde_json::to_string(&users).expect("details serialise"))
}
