//! Course commands (create/update, delete, check, reset, meta bindings) and their validation.

use super::keys::CourseIdentifier;
use crate::codes::{Code, Failure};
use serde::{Deserialize, Serialize};

/// Course formats a fresh Moodle 4.x ships.
pub const FORMATS: &[&str] = &["topics", "weeks", "social", "singleactivity"];
/// Moodle's default `moodlecourse/maxsections`.
pub const MAX_SECTION: i64 = 52;

/// A course's fields. `None` means "not in the file": never written on update. The course is
/// found by the field `[courses] identifier` names (shortname, idnumber or id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idnumber: Option<String>,
    /// A path `A/B/C`, a category idnumber or a category id, per `[courses] category_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// Unix timestamps (the script turns dates into these with `date_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startdate: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enddate: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupmode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupmodeforce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub showgrades: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newsitems: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxbytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enablecompletion: Option<bool>,
    /// Shortname of an existing course whose settings and sections a new course copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teachers: Vec<Teacher>,
    /// Self enrolment instance enabled (true) or disabled (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_enrol: Option<bool>,
    /// Guest access instance enabled (true) or disabled (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_enrol: Option<bool>,
}

/// Section `section` of the course (`topic<N>` columns): its name and summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub section: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A user enrolled in the course with a role (`teacher<N>_account`, `teacher<N>_role`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teacher {
    /// The account's value of `[courses] teacher_identifier`.
    pub account: String,
    /// Role shortname; `[courses] teacher_role` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One course named by its `[courses] identifier` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseRef {
    pub course: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseCheck {
    pub course: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a reset removes. Absent parts are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseReset {
    pub course: String,
    /// The field `course` holds (`shortname`, `idnumber` or `id`), when the file says which by
    /// its column; `[courses] identifier` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<CourseIdentifier>,
    /// Unenrol everyone (tool_sync's `roles = all`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unenrol_all: bool,
    /// Unenrol the users holding any of these roles in the course.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unenrol_roles: Vec<String>,
    /// `all` (assignments and overrides), `roles` or `overrides`: below the course context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_roles: Option<String>,
    /// `all` or `groups` (delete the groups) or `members` (empty them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// `all` or `groups` (delete the groupings) or `members` (take their groups out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupings: Option<String>,
}

/// A meta link: `meta` takes its participants from `master`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaLink {
    pub master: String,
    pub meta: String,
}

fn bad(code: Code, msg: String) -> Result<(), Failure> {
    Err(Failure::new(code, msg))
}

fn check_len(what: &str, v: Option<&String>, max: usize) -> Result<(), Failure> {
    if let Some(v) = v {
        let n = v.chars().count();
        if n > max {
            return bad(
                Code::InvalidValue,
                format!("{what} is {n} characters long; Moodle allows at most {max}"),
            );
        }
    }
    Ok(())
}

fn check_range(what: &str, v: Option<i64>, lo: i64, hi: i64) -> Result<(), Failure> {
    match v {
        Some(v) if v < lo || v > hi => bad(
            Code::InvalidValue,
            format!("{what} is {v}; it must be between {lo} and {hi}"),
        ),
        _ => Ok(()),
    }
}

fn check_not_blank(what: &str, v: &str) -> Result<(), Failure> {
    if v.trim().is_empty() {
        bad(Code::MissingValue, format!("the {what} is empty"))
    } else {
        Ok(())
    }
}

impl CourseFields {
    pub fn validate(&self) -> Result<(), Failure> {
        for (what, v) in [("shortname", &self.shortname), ("fullname", &self.fullname)] {
            if let Some(v) = v {
                check_not_blank(what, v)?;
            }
        }
        check_len("the shortname", self.shortname.as_ref(), 255)?;
        check_len("the fullname", self.fullname.as_ref(), 254)?;
        check_len("the idnumber", self.idnumber.as_ref(), 100)?;
        check_len("the lang", self.lang.as_ref(), 30)?;
        if let Some(f) = &self.format {
            if !FORMATS.contains(&f.as_str()) {
                return bad(
                    Code::InvalidValue,
                    format!(
                        "format '{f}' is not a course format; use one of {}",
                        FORMATS.join(", ")
                    ),
                );
            }
        }
        check_range("groupmode", self.groupmode, 0, 2)?;
        check_range("newsitems", self.newsitems, 0, 10)?;
        check_range("maxbytes", self.maxbytes, 0, i64::from(i32::MAX))?;
        check_range("startdate", self.startdate, 0, i64::from(u32::MAX))?;
        check_range("enddate", self.enddate, 0, i64::from(u32::MAX))?;
        if let (Some(s), Some(e)) = (self.startdate, self.enddate) {
            if e != 0 && e < s {
                return bad(
                    Code::InvalidValue,
                    "the enddate is before the startdate".into(),
                );
            }
        }
        for s in &self.sections {
            check_range("a section number", Some(s.section), 0, MAX_SECTION)?;
            check_len("a section name", s.name.as_ref(), 255)?;
        }
        for t in &self.teachers {
            check_not_blank("teacher account", &t.account)?;
        }
        Ok(())
    }
}

fn check_course_ref(v: &str) -> Result<(), Failure> {
    check_not_blank("course identifier", v)?;
    check_len("the course identifier", Some(&v.to_string()), 255)
}

impl CourseRef {
    pub fn validate(&self) -> Result<(), Failure> {
        check_course_ref(&self.course)
    }
}

impl CourseCheck {
    pub fn validate(&self) -> Result<(), Failure> {
        check_course_ref(&self.course)
    }
}

fn one_of(what: &str, v: &Option<String>, allowed: &[&str]) -> Result<(), Failure> {
    match v {
        Some(v) if !allowed.contains(&v.as_str()) => bad(
            Code::InvalidValue,
            format!("{what} '{v}' is not one of {}", allowed.join(", ")),
        ),
        _ => Ok(()),
    }
}

impl CourseReset {
    pub fn validate(&self) -> Result<(), Failure> {
        check_course_ref(&self.course)?;
        one_of(
            "local_roles",
            &self.local_roles,
            &["all", "roles", "overrides"],
        )?;
        one_of("groups", &self.groups, &["all", "groups", "members"])?;
        one_of("groupings", &self.groupings, &["all", "groups", "members"])
    }
}

impl MetaLink {
    pub fn validate(&self) -> Result<(), Failure> {
        check_course_ref(&self.master)?;
        check_course_ref(&self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_formats_and_dates_are_checked() {
        let ok = CourseFields {
            shortname: Some("C1".into()),
            fullname: Some("Course".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let long = CourseFields {
            shortname: Some("x".repeat(300)),
            ..ok.clone()
        };
        let e = long.validate().unwrap_err();
        assert_eq!(e.code, Code::InvalidValue);
        assert!(e.message.contains("300 characters"), "{}", e.message);
        let fmt = CourseFields {
            format: Some("grid".into()),
            ..ok.clone()
        };
        assert!(fmt.validate().unwrap_err().message.contains("topics"));
        let dates = CourseFields {
            startdate: Some(200),
            enddate: Some(100),
            ..ok.clone()
        };
        assert!(dates.validate().is_err());
        let section = CourseFields {
            sections: vec![Section {
                section: 53,
                ..Default::default()
            }],
            ..ok
        };
        assert!(section.validate().is_err());
    }

    #[test]
    fn reset_parts_are_checked() {
        let r = CourseReset {
            course: "C1".into(),
            groups: Some("everything".into()),
            ..Default::default()
        };
        assert!(r
            .validate()
            .unwrap_err()
            .message
            .contains("all, groups, members"));
    }
}
