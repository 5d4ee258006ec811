//! The typed commands a script may emit. A dry run and `plan` print exactly these; the host
//! validates each one before any target sees it.

mod checks;
mod cohort;
mod course;
mod enrolment;
pub mod keys;
pub mod moodle_rules;
mod picture;
mod user;

pub use cohort::{CategoryBy, CohortBinding, CohortLeave, CohortRef, CohortUpsert, COHORT_PLUGINS};
pub use course::{
    CourseCheck, CourseFields, CourseRef, CourseReset, MetaLink, Section, Teacher, FORMATS,
};
pub(crate) use enrolment::shown as shown_time;
pub use enrolment::{EnrolCmd, Enrolment, GroupMember, GroupUpsert, UserGroups};
pub use picture::{Attached, UserPicture};
pub use user::{user_field_width, UserFields, UserRef, USER_TEXT_FIELDS};

use crate::codes::Failure;
use serde::{Deserialize, Serialize};

/// One Moodle-level action. Scripts write it as a map whose `op` names the variant:
/// `#{ op: "user_upsert", username: "jdoe", ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
// Commands travel by value through one channel per chunk; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Create the account, or update the fields given when it exists.
    UserUpsert(UserFields),
    /// Soft-delete the account as Moodle's delete_user does.
    UserDelete(UserRef),
    /// Suspend the account: it keeps its data, enrolments and memberships, and cannot log in.
    UserSuspend(UserRef),
    /// Create the course (and its missing categories), or update the fields given.
    CourseUpsert(CourseFields),
    /// Delete the course and everything in it.
    CourseDelete(CourseRef),
    /// Report whether the course exists and what it is; changes nothing.
    CourseCheck(CourseCheck),
    /// Remove enrolments, local roles, groups or groupings from the course.
    CourseReset(CourseReset),
    /// Create or re-enable the meta enrolment of `meta` from `master`.
    MetaLink(MetaLink),
    /// Disable that meta enrolment.
    MetaUnlink(MetaLink),
    /// Enrol (`add`), unenrol (`del`) or change the role of (`shift`) a user in a course.
    Enrolment(Enrolment),
    /// Add a user to groups of a course by name, move them there, or take them out.
    UserGroups(UserGroups),
    /// Create or update a group.
    GroupUpsert(GroupUpsert),
    /// Create or update a grouping.
    GroupingUpsert(GroupUpsert),
    /// Add a user to one group, take them out, or move them there.
    GroupMember(GroupMember),
    /// Create or update a cohort, and add a member.
    CohortUpsert(CohortUpsert),
    /// Take a user out of a cohort (and out of the courses it enrolled them in).
    CohortLeave(CohortLeave),
    /// Delete a cohort with its members and the cohort enrolments bound to it.
    CohortDelete(CohortRef),
    /// Take every member out of a cohort.
    CohortEmpty(CohortRef),
    /// Bind a cohort to a course through a cohort enrol instance, or unbind it.
    CohortBinding(CohortBinding),
    /// Set a user's picture from the row's image.
    UserPicture(UserPicture),
}

impl Command {
    /// Checks what can be checked without the target: shapes, lengths, Moodle's value rules.
    pub fn validate(&self) -> Result<(), Failure> {
        match self {
            Command::UserUpsert(u) => u.validate(),
            Command::UserDelete(d) => d.validate("user_delete"),
            Command::UserSuspend(d) => d.validate("user_suspend"),
            Command::CourseUpsert(c) => c.validate(),
            Command::CourseDelete(c) => c.validate(),
            Command::CourseCheck(c) => c.validate(),
            Command::CourseReset(c) => c.validate(),
            Command::MetaLink(m) | Command::MetaUnlink(m) => m.validate(),
            Command::Enrolment(e) => e.validate(),
            Command::UserGroups(g) => g.validate(),
            Command::GroupUpsert(g) | Command::GroupingUpsert(g) => g.validate(),
            Command::GroupMember(m) => m.validate(),
            Command::CohortUpsert(c) => c.validate(),
            Command::CohortLeave(l) => l.validate(),
            Command::CohortDelete(r) | Command::CohortEmpty(r) => r.validate(),
            Command::CohortBinding(b) => b.validate(),
            Command::UserPicture(p) => p.validate(),
        }
    }

    /// The command as `plan` shows it: no secret value in the clear.
    pub fn masked(self) -> Command {
        match self {
            Command::UserUpsert(u) => Command::UserUpsert(u.masked()),
            other => other,
        }
    }

    /// Whether the command may change courses, their enrol instances or meta links: what the
    /// embedded store's lookup cache holds.
    pub fn changes_courses(&self) -> bool {
        matches!(
            self,
            Command::CourseUpsert(_)
                | Command::CourseDelete(_)
                | Command::CourseReset(_)
                | Command::MetaLink(_)
                | Command::MetaUnlink(_)
                | Command::CohortDelete(_)
                | Command::CohortBinding(_)
        )
    }
}

/// Hands a row's image to its picture commands, with the image's MD5 (worked out here, on
/// the mapping threads, not on the store's).
pub fn attach_image(cmds: &mut [Command], image: &std::sync::Arc<Vec<u8>>) {
    use md5::{Digest, Md5};
    for cmd in cmds {
        if let Command::UserPicture(p) = cmd {
            p.attached.md5 = format!("{:x}", Md5::digest(image.as_slice()));
            p.attached.image = Some(image.clone());
        }
    }
}

/// What the script decided for one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mapped {
    Commands(Vec<Command>),
    Skip(String),
}
