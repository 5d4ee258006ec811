//! The primitive operations a plan decides and a backend applies: each is one call of
//! Moodle's own API (create_user, user_update_user, delete_user, …), so that a backend maps
//! it onto its store or onto a web service without deciding anything.

use super::view::{CohortHome, GroupKind, Setting};
use super::Ref;
use crate::command::Section;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
// Operations are made once and applied once; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum Op {
    CreateUser(NewUser),
    UpdateUser(UserUpdate),
    /// Moodle's delete_user: the account stays, soft-deleted, with its username, email and
    /// idnumber freed; its enrolments, roles, memberships and files go.
    DeleteUser {
        user: Ref,
        username: String,
        email: String,
    },
    /// process_new_icon: the user's picture (its sizes made from the image), and the image's
    /// MD5 remembered so the same image is not sent again.
    SetPicture {
        user: Ref,
        image: Arc<Vec<u8>>,
        md5: String,
    },

    /// A course category below `parent` (`Ref::Id(0)`: the top level).
    CreateCategory {
        new: Ref,
        parent: Ref,
        name: String,
        visible: bool,
    },
    /// create_course (a copy of `template` when given), with the default enrol instances:
    /// manual enabled, guest and self as asked.
    CreateCourse(NewCourse),
    UpdateCourse(CourseUpdate),
    /// delete_course: everything in it goes; meta links taking from it are disabled.
    DeleteCourse {
        course: Ref,
    },
    /// reset_course_userdata with these options.
    ResetCourse {
        course: Ref,
        reset: Reset,
    },

    /// An enrolment method instance: a meta link, a cohort sync, self or guest access. A
    /// sync instance starts syncing at once, as Moodle's do.
    AddInstance(NewInstance),
    /// Changes an instance (enabled or not, its role, group or period); a sync instance
    /// syncs again.
    UpdateInstance(InstanceUpdate),
    /// Deletes an instance with its enrolments and the roles it gave.
    DeleteInstance {
        instance: Ref,
        /// Its enrol plugin, as `enrol_get_plugin()` is given it: which API the backend calls.
        method: String,
    },

    /// enrol_user through the course's instance of `method`, with `role` (a role given by
    /// the instance's plugin), active or suspended, for the period.
    Enrol {
        course: Ref,
        method: String,
        user: Ref,
        role: Option<i64>,
        suspended: bool,
        start: i64,
        end: i64,
    },
    /// update_user_enrol: the status and period of an enrolment.
    UpdateEnrolment {
        course: Ref,
        method: String,
        user: Ref,
        suspended: Option<bool>,
        start: Option<i64>,
        end: Option<i64>,
    },
    /// unenrol_user: the enrolment, the roles the instance gave and, when no enrolment in the
    /// course is left, every role and group membership there.
    Unenrol {
        course: Ref,
        method: String,
        user: Ref,
    },
    /// role_assign in the course's context (a plain assignment, component "").
    AssignRole {
        role: i64,
        course: Ref,
        user: Ref,
    },
    /// role_unassign in the course's context: the assignment given by `component` (""
    /// for a plain one) and `itemid`.
    UnassignRole {
        role: i64,
        course: Ref,
        user: Ref,
        component: String,
        itemid: i64,
    },

    CreateGroup(NewGroup),
    UpdateGroup(GroupUpdate),
    DeleteGroup {
        group: Ref,
        kind: GroupKind,
    },
    /// groups_assign_grouping.
    AssignGrouping {
        grouping: Ref,
        group: Ref,
    },
    /// groups_add_member, recorded as moosync's (component `local_moosync`), so a later
    /// `replace` or `shift` removes only the memberships moosync made.
    AddGroupMember {
        group: Ref,
        user: Ref,
    },
    /// groups_remove_member. `emptied`: the plan expects the group left empty, and the
    /// backend keeps it for `[groups] purge_empty` until the end of a file (so a file stopped
    /// after this batch still purges it when it runs again).
    RemoveGroupMember {
        group: Ref,
        user: Ref,
        emptied: bool,
    },

    CreateCohort(NewCohort),
    UpdateCohort(CohortUpdate),
    /// cohort_delete_cohort: its members go, and the sync instances bound to it with their
    /// enrolments.
    DeleteCohort {
        cohort: Ref,
    },
    /// cohort_add_member: the cohort's sync instances enrol the user.
    AddCohortMember {
        cohort: Ref,
        user: Ref,
    },
    /// cohort_remove_member: the sync instances unenrol the user.
    RemoveCohortMember {
        cohort: Ref,
        user: Ref,
    },
}

/// A new course, the settings' and the template's values in place of what the file lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCourse {
    pub new: Ref,
    pub category: Ref,
    pub shortname: String,
    pub idnumber: String,
    /// `COURSE_SETTINGS` values, all given.
    pub settings: Vec<Setting>,
    /// The settings the course gets without being told: Moodle's defaults for a new course,
    /// or the template's for a copy. A backend that creates through Moodle leaves them out,
    /// so a site's own defaults apply.
    pub inherited: Vec<&'static str>,
    /// The row's sections, named or described after the template's are copied.
    pub sections: Vec<Section>,
    /// The course it is a copy of (its content, no participants).
    pub template: Option<Ref>,
    pub guest_enrol: bool,
    pub self_enrol: bool,
}

/// The fields of a course that change, and only those.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CourseUpdate {
    pub course: Option<Ref>,
    pub shortname: String,
    /// Settings (and `shortname`, `idnumber`) with their new values.
    pub set: Vec<(&'static str, Setting)>,
    pub category: Option<Ref>,
    pub sections: Vec<Section>,
    /// A copy of a template whose row's own fields were never set is finished by this.
    pub finishes_copy: bool,
}

/// What a reset empties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reset {
    /// Unenrol every participant.
    pub unenrol_all: bool,
    /// Unenrol the users holding one of these roles.
    pub unenrol_roles: Vec<i64>,
    /// `all`, `roles` or `overrides` below the course.
    pub local_roles: Option<String>,
    /// `all`/`groups` (delete) or `members` (empty).
    pub groups: Option<String>,
    pub groupings: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewInstance {
    pub new: Ref,
    pub course: Ref,
    pub method: String,
    pub enabled: bool,
    pub role: Option<i64>,
    /// A meta link's master course, a cohort method's cohort.
    pub link: Option<Ref>,
    /// The group a cohort method files its members into.
    pub group: Option<Ref>,
    pub start: i64,
    pub end: i64,
}

/// The instance is named by its id, and also by its course, method and what it links (a
/// backend that sets instances through Moodle by course and method needs those).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceUpdate {
    pub instance: Option<Ref>,
    pub course: Option<Ref>,
    pub method: String,
    pub link: Option<Ref>,
    pub enabled: Option<bool>,
    pub role: Option<i64>,
    pub group: Option<Ref>,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewGroup {
    pub new: Ref,
    pub kind: GroupKind,
    pub course: Ref,
    pub name: String,
    pub idnumber: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupUpdate {
    pub group: Ref,
    pub kind: GroupKind,
    pub name: Option<String>,
    pub idnumber: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCohort {
    pub new: Ref,
    pub home: CohortHome,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub component: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CohortUpdate {
    pub cohort: Option<Ref>,
    pub name: Option<String>,
    pub idnumber: Option<String>,
    pub description: Option<String>,
    pub component: Option<String>,
    pub home: Option<CohortHome>,
}

/// A new account, with the settings' defaults already in place of what the file lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// The reference later operations use for it.
    pub new: Ref,
    pub username: String,
    /// Plain text; the backend stores it as its site does. `None`: no password.
    pub password: Option<String>,
    /// The values of `USER_TEXT_FIELDS`, in that order.
    pub text: [String; 15],
    pub maildisplay: i64,
    pub mailformat: i64,
    pub suspended: bool,
    pub profile: BTreeMap<String, String>,
    /// Profile fields whose values are secret (never in a message).
    pub secret: Vec<String>,
}

impl NewUser {
    pub fn field(&self, name: &str) -> &str {
        field_of(&self.text, name)
    }
}

/// The fields of an account that change, and only those.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserUpdate {
    pub user: Option<Ref>,
    /// Its username before this update (messages, and what a rename frees).
    pub username: String,
    pub new_username: Option<String>,
    /// `USER_TEXT_FIELDS` names with their new values.
    pub text: Vec<(&'static str, String)>,
    pub password: Option<String>,
    pub maildisplay: Option<i64>,
    pub mailformat: Option<i64>,
    pub suspended: Option<bool>,
    pub profile: Vec<(String, String)>,
    pub secret: Vec<String>,
}

impl UserUpdate {
    pub fn user(&self) -> Ref {
        self.user.expect("an update names its account")
    }

    /// The new value of a text field, if this update changes it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.text
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.as_str())
    }

    /// The columns it writes, as the report names them.
    pub fn written(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.new_username.is_some() {
            out.push("username".to_string());
        }
        out.extend(self.text.iter().map(|(f, _)| f.to_string()));
        for (name, set) in [
            ("maildisplay", self.maildisplay.is_some()),
            ("mailformat", self.mailformat.is_some()),
            ("suspended", self.suspended.is_some()),
            ("password", self.password.is_some()),
        ] {
            if set {
                out.push(name.to_string());
            }
        }
        out.extend(
            self.profile
                .iter()
                .map(|(name, _)| format!("profile_field_{name}")),
        );
        out
    }

    pub fn is_empty(&self) -> bool {
        self.written().is_empty()
    }
}

fn field_of<'a>(text: &'a [String; 15], name: &str) -> &'a str {
    crate::command::USER_TEXT_FIELDS
        .iter()
        .position(|f| *f == name)
        .map(|i| text[i].as_str())
        .unwrap_or("")
}
