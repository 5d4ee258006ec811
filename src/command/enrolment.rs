//! Enrolment, role and group-membership commands, and their validation.

use super::checks::{at_most, bad, not_blank, one_of};
use super::keys::{CourseIdentifier, UserIdentifier};
use crate::codes::{Code, Failure};
use serde::{Deserialize, Serialize};

/// Enrol, unenrol, or change the role of a user in a course. The user is found by
/// `user_by` (else `[enrolments] user_identifier`), the course by `course_by` (else
/// `[enrolments] course_identifier`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    pub user: String,
    pub course: String,
    /// `add`, `del` or `shift`; `[enrolments] default_cmd` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// Role shortname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The enrol method (`manual`, `self`…); absent: role assignments only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestart: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeend: Option<i64>,
    /// Suspend (true) or reactivate (false) the enrolment; absent: a new enrolment is active
    /// and an existing one keeps its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_by: Option<UserIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_by: Option<CourseIdentifier>,
}

/// A user's memberships in groups of a course, by group name (the enrolments file's `gcmd`
/// and `g1`…`g9`, the users file's `group<N>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGroups {
    pub user: String,
    pub course: String,
    /// `add`, `replace` (first leave the groups moosync put the user in) or `del`.
    pub cmd: String,
    /// Create the named groups that do not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create: bool,
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_by: Option<UserIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_by: Option<CourseIdentifier>,
}

/// Create a group, or update it (`update` names the group to change).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupUpsert {
    pub course: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idnumber: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The existing group or grouping to update, by `[groups] group_identifier` (or
    /// `grouping_identifier`); absent: add-only (an existing one is left as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// Groups only: also make a grouping named after the group, holding it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub selfgrouping: bool,
    /// Groups only: put the group in this grouping of the course (by `grouping_identifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grouping: Option<String>,
}

/// Add a user to a group, take them out, or move them (`shift`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    pub course: String,
    pub group: String,
    pub user: String,
    /// `add` (absent), `del` or `shift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
}

/// A timestamp as the admin would have written it, for messages.
pub(crate) fn shown(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| t.to_string())
}

impl Enrolment {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("user identifier (uid)", &self.user)?;
        not_blank("course identifier (cid)", &self.course)?;
        if self.method.is_none()
            && (self.timestart.is_some() || self.timeend.is_some() || self.suspended.is_some())
        {
            return bad(
                Code::InvalidValue,
                "dates and suspension belong to an enrolment, and this row has no enrol method (it only assigns a role); add an enrol column, or leave those cells empty".into(),
            );
        }
        one_of("cmd", self.cmd.as_deref(), &["add", "del", "shift"])?;
        if self.cmd.as_deref() == Some("shift") && self.role.as_deref().is_none_or(str::is_empty) {
            return bad(
                Code::MissingValue,
                "shift needs a role: the role that replaces the user's roles in the course".into(),
            );
        }
        if let (Some(s), Some(e)) = (self.timestart, self.timeend) {
            if e != 0 && e < s {
                return bad(
                    Code::InvalidValue,
                    format!(
                        "the end ({}) is before the start ({}); swap them or correct one",
                        shown(e),
                        shown(s)
                    ),
                );
            }
        }
        Ok(())
    }
}

impl UserGroups {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("user identifier", &self.user)?;
        not_blank("course identifier", &self.course)?;
        one_of("cmd", Some(&self.cmd), &["add", "replace", "del"])?;
        for (i, g) in self.groups.iter().enumerate() {
            not_blank("group name", g)?;
            if self.groups[..i].contains(g) {
                return bad(
                    Code::InvalidValue,
                    format!("group '{g}' is named twice; name each group once"),
                );
            }
        }
        Ok(())
    }
}

impl GroupUpsert {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("course", &self.course)?;
        if self.update.is_none() && self.name.as_deref().is_none_or(str::is_empty) {
            return bad(Code::MissingValue, "a new group needs a name".into());
        }
        at_most("name", self.name.as_deref(), 254)?;
        at_most("idnumber", self.idnumber.as_deref(), 100)?;
        Ok(())
    }
}

impl GroupMember {
    pub fn validate(&self) -> Result<(), Failure> {
        not_blank("course identifier (courseid)", &self.course)?;
        not_blank("group identifier (groupid)", &self.group)?;
        not_blank("user identifier (userid)", &self.user)?;
        one_of("cmd", self.cmd.as_deref(), &["add", "del", "shift"])
    }
}

/// What an enrolment row does: enrol (or add the role), unenrol, or give its role in place of
/// the others. A row without `cmd` gets `[enrolments] default_cmd`.
#[derive(Debug, Clone, Copy, serde::Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EnrolCmd {
    #[default]
    Add,
    Del,
    Shift,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolment_rules() {
        let ok = Enrolment {
            user: "u".into(),
            course: "c".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let shift = Enrolment {
            cmd: Some("shift".into()),
            ..ok.clone()
        };
        assert_eq!(shift.validate().unwrap_err().code, Code::MissingValue);
        let dates = Enrolment {
            timestart: Some(10),
            timeend: Some(5),
            ..ok.clone()
        };
        assert!(dates.validate().is_err());
        let cmd = Enrolment {
            cmd: Some("ADD".into()),
            ..ok
        };
        assert!(cmd
            .validate()
            .unwrap_err()
            .message
            .contains("add, del, shift"));
    }

    #[test]
    fn a_group_named_twice_is_refused() {
        let g = UserGroups {
            user: "u".into(),
            course: "c".into(),
            cmd: "add".into(),
            groups: vec!["A".into(), "B".into(), "A".into()],
            ..Default::default()
        };
        assert!(g.validate().unwrap_err().message.contains("named twice"));
    }
}
