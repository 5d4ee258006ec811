//! Cohort commands: the cohort itself, its members, and its bindings to courses.

use super::checks::{at_most, bad, not_blank, one_of};
use super::keys::{CohortIdentifier, CourseIdentifier, UserIdentifier};
use crate::codes::{Code, Failure};
use serde::{Deserialize, Serialize};

/// The cohort-like enrol plugins: Moodle's own, and the two tool_sync knew. Only these read
/// `customint1` as a cohort id (meta reads a course id there, self a flag).
pub const COHORT_PLUGINS: &[&str] = &["cohort", "delayedcohort", "cohortrestricted"];

/// Which category's context holds a cohort: `[cohorts]`-independent, the file says how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryBy {
    Id,
    Idnumber,
}

/// Find the cohort (by `cohort_by`, else `[cohorts] identifier`); create it when missing
/// (`create`, else `[cohorts] autocreate`); write the fields given; add `member` when given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortUpsert {
    pub cohort: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_by: Option<CohortIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idnumber: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The category whose context holds the cohort; absent: the system context (new cohorts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_by: Option<CategoryBy>,
    /// The plugin that manages the cohort (`''`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    /// Write the fields to an existing cohort (false: they only serve a creation).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub update: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_by: Option<UserIdentifier>,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// A cohort named by the row, for delete, empty and member removal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortRef {
    pub cohort: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_by: Option<CohortIdentifier>,
}

/// Take one user out of a cohort.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortLeave {
    pub cohort: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_by: Option<CohortIdentifier>,
    pub member: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_by: Option<UserIdentifier>,
}

/// A cohort enrol instance of a course: made or re-enabled (`add`, `restore`), disabled
/// (`del`) or deleted with its enrolments (`fulldel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortBinding {
    pub cohort: String,
    pub course: String,
    /// `add` (absent), `del`, `restore` or `fulldel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// Role shortname (absent: student); `*` means every role, for del, restore and fulldel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The cohort-like enrol plugin (absent: `cohort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The enrolment period the instance gives its members (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestart: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeend: Option<i64>,
    /// Make a group named after the cohort and file the members into it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub makegroup: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_by: Option<CohortIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_by: Option<CourseIdentifier>,
}

impl CohortUpsert {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("cohort identifier", &self.cohort)?;
        if let Some(m) = &self.member {
            not_blank("user identifier (userid)", m)?;
        }
        if let Some(c) = &self.category {
            not_blank("category", c)?;
        }
        at_most("cohort name", self.name.as_deref(), 254)?;
        at_most("cohort idnumber", self.idnumber.as_deref(), 100)?;
        at_most("component", self.component.as_deref(), 100)
    }
}

impl CohortRef {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("cohort identifier", &self.cohort)
    }
}

impl CohortLeave {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("cohort identifier", &self.cohort)?;
        not_blank("user identifier (userid)", &self.member)
    }
}

impl CohortBinding {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("cohort", &self.cohort)?;
        not_blank("course", &self.course)?;
        let cmd = self.cmd.as_deref().unwrap_or("add");
        one_of("cmd", Some(cmd), &["add", "del", "restore", "fulldel"])?;
        if cmd == "add" && self.role.as_deref() == Some("*") {
            return bad(
                Code::InvalidValue,
                "role * (every role) only serves del, restore and fulldel; add needs one role"
                    .into(),
            );
        }
        if let Some(m) = &self.method {
            if !COHORT_PLUGINS.contains(&m.as_str()) {
                return bad(
                    Code::InvalidValue,
                    format!(
                        "enrol '{m}' is not a cohort enrol plugin; use one of {}",
                        COHORT_PLUGINS.join(", ")
                    ),
                );
            }
        }
        if let (Some(s), Some(e)) = (self.timestart, self.timeend) {
            if e != 0 && e < s {
                return bad(
                    Code::InvalidValue,
                    "enrolend is before enrolstart; swap them or correct one".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_rules() {
        let ok = CohortBinding {
            cohort: "c".into(),
            course: "k".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let star = CohortBinding {
            role: Some("*".into()),
            ..ok.clone()
        };
        assert_eq!(star.validate().unwrap_err().code, Code::InvalidValue);
        let del_star = CohortBinding {
            cmd: Some("del".into()),
            ..star
        };
        assert!(del_star.validate().is_ok());
        let cmd = CohortBinding {
            cmd: Some("purge".into()),
            ..ok
        };
        assert!(cmd.validate().unwrap_err().message.contains("fulldel"));
    }
}
