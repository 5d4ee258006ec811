//! Value checks the commands' `validate` share, each failing with a message that names the
//! value and says what is accepted.

use crate::codes::{Code, Failure};

pub(super) fn bad(code: Code, msg: String) -> Result<(), Failure> {
    Err(Failure::new(code, msg))
}

pub(super) fn not_blank(what: &str, v: &str) -> Result<(), Failure> {
    if v.trim().is_empty() {
        bad(Code::MissingValue, format!("the {what} is empty"))
    } else {
        Ok(())
    }
}

pub(super) fn one_of(what: &str, v: Option<&str>, allowed: &[&str]) -> Result<(), Failure> {
    match v {
        Some(v) if !allowed.contains(&v) => bad(
            Code::InvalidValue,
            format!("{what} '{v}' is not one of {}", allowed.join(", ")),
        ),
        _ => Ok(()),
    }
}

/// At most `max` characters, Moodle's column width.
pub(super) fn at_most(what: &str, v: Option<&str>, max: usize) -> Result<(), Failure> {
    match v.map(|v| v.chars().count()) {
        Some(n) if n > max => bad(
            Code::InvalidValue,
            format!("the {what} is {n} characters long; Moodle allows at most {max}"),
        ),
        _ => Ok(()),
    }
}
