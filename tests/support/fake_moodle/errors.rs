//! Error bodies and warning items, taken from the recordings where one exists so that the fake
//! says exactly what the real site said (debug = 0: no `debuginfo`, so different causes share
//! one body). Texts that no recording shows come from Moodle's `lang/en` strings.

use super::recordings::recording;
use serde_json::{json, Value};

/// An exception as server.php reports it (HTTP 200).
pub fn exception(exception: &str, errorcode: &str, message: &str) -> Value {
    json!({"exception": exception, "errorcode": errorcode, "message": message})
}

/// `invalid_parameter_exception` / `invalidparameter` (004, 006, 007, 009, 089–093).
pub fn invalid_parameter() -> Value {
    recording("004").response.clone()
}

/// A wrong token (088).
pub fn invalid_token() -> Value {
    recording("088").response.clone()
}

/// A function that exists in Moodle but not in the token's service (086). At debug 0 the body
/// does not name the function (only debuginfo does), so there is nothing to substitute.
pub fn access_exception() -> Value {
    recording("086").response.clone()
}

/// A wsfunction Moodle does not have at all (087).
pub fn unknown_function() -> Value {
    recording("087").response.clone()
}

/// `core_user_delete_users` on a missing or deleted id (021).
pub fn invalid_user() -> Value {
    recording("021").response.clone()
}

/// `dml_missing_record_exception` / `invalidrecord` for a missing row of `table` (063's shape).
pub fn invalid_record(table: &str) -> Value {
    let mut body = recording("063").response.clone();
    body["message"] = json!(format!("Can't find data record in database table {table}."));
    body
}

pub fn site_maintenance() -> Value {
    exception(
        "moodle_exception",
        "sitemaintenance",
        "The site is undergoing maintenance and is currently not available",
    )
}

/// A password failing the policy: `moodle_exception` whose errorcode is the policy text (008).
pub fn password_policy(text: &str) -> Value {
    let mut body = recording("008").response.clone();
    body["errorcode"] = json!(text);
    body["message"] = json!(format!("error/{text}"));
    body
}

/// What a warning code whose payload fails the declared return type turns into (§2.2).
pub fn invalid_response() -> Value {
    exception(
        "invalid_response_exception",
        "invalidresponse",
        "Invalid response value detected",
    )
}

pub fn coding(detail: &str) -> Value {
    exception(
        "coding_exception",
        "codingerror",
        &format!("Coding error detected, it must be fixed by a programmer: {detail}"),
    )
}

pub fn admin_no_delete() -> Value {
    exception(
        "moodle_exception",
        "useradminodelete",
        "Administrator accounts cannot be deleted",
    )
}

/// `dml_write_exception`, e.g. a unique index or column length violated.
pub fn dml_write() -> Value {
    exception(
        "dml_write_exception",
        "dmlwriteexception",
        "Error writing to database",
    )
}

/// One `core_user_update_users` warning, shaped like those of 011. Codes without a language
/// string read `error/<code>`, as `useremailinvalid` does there.
pub fn user_warning(itemid: i64, code: &str) -> Value {
    let recorded = &recording("011").response["warnings"];
    let message = match code {
        "invaliduserid" => recorded[0]["message"].as_str().unwrap().to_string(),
        "useremailduplicate" => "Duplicate address".to_string(),
        "dmlwriteexception" => "Error writing to database".to_string(),
        _ => format!("error/{code}"),
    };
    let mut w = recorded[1].clone();
    w["itemid"] = json!(itemid);
    w["warningcode"] = json!(code);
    w["message"] = json!(message);
    w
}
