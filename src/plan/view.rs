//! The site as the plan reads it: batched lookups a backend answers from its store or from
//! Moodle. A backend that cannot tell something says so (`None` where a field is optional),
//! and the plan decides what that means, the same way for every backend.

use crate::codes::{Code, Failure};
use crate::command::keys::{CohortIdentifier, CourseIdentifier, GroupIdentifier, UserIdentifier};
use crate::command::Section;
use std::collections::{BTreeMap, BTreeSet};

use super::Ref;

/// A read failed: for one row (Moodle refused a lookup, an ambiguous match), or for the
/// whole file (the site is unreachable, the store failed).
#[derive(Debug, Clone)]
pub enum ReadError {
    Row(Failure),
    Stop(Failure),
}

impl From<Failure> for ReadError {
    /// A failure read as a row's: what stops the file is said with `ReadError::Stop`.
    fn from(f: Failure) -> Self {
        ReadError::Row(f)
    }
}

pub type Read<T> = Result<T, ReadError>;

/// An account as the site holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRec {
    pub id: Ref,
    pub username: String,
    pub deleted: bool,
    pub suspended: bool,
    /// The values of `USER_TEXT_FIELDS`, in that order.
    pub text: [String; 15],
    /// `None`: the backend cannot read it (Moodle's core web services do not return it).
    pub maildisplay: Option<i64>,
    pub mailformat: Option<i64>,
    /// Custom profile field values by shortname (absent: empty).
    pub profile: BTreeMap<String, String>,
}

impl UserRec {
    /// A text field's value by its name in `USER_TEXT_FIELDS`.
    pub fn field(&self, name: &str) -> &str {
        crate::command::USER_TEXT_FIELDS
            .iter()
            .position(|f| *f == name)
            .map(|i| self.text[i].as_str())
            .unwrap_or("")
    }

    pub fn email(&self) -> &str {
        &self.text[3]
    }

    /// "account id 4 (jdoe, jdoe@example.edu)": how messages name another account.
    pub fn label(&self) -> String {
        let who = if self.email().is_empty() {
            self.username.clone()
        } else {
            format!("{}, {}", self.username, self.email())
        };
        match self.id {
            Ref::Id(id) => format!("account id {id} ({who})"),
            Ref::New(_) => format!("the account ({who}) an earlier row of this file creates"),
        }
    }
}

/// The course settings moosync compares and writes, in the order `CourseRec::settings`
/// holds them (Moodle's `course` columns and web-service keys alike).
pub const COURSE_SETTINGS: [&str; 13] = [
    "fullname",
    "summary",
    "format",
    "visible",
    "startdate",
    "enddate",
    "lang",
    "groupmode",
    "groupmodeforce",
    "showgrades",
    "newsitems",
    "maxbytes",
    "enablecompletion",
];

/// format_weeks' end date (`update_end_date()`, with `automaticenddate` on, its default):
/// a week after the start of the last section (Moodle adds the weeks in the user's time
/// zone; a week here is 7 × 86,400 s).
pub fn weeks_end(start: i64, last_section: i64) -> i64 {
    start + last_section.max(1) * 7 * 86_400
}

/// A setting's value: text or a number (flags are 0 and 1, as Moodle stores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Text(String),
    Int(i64),
}

/// A course as the site holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseRec {
    pub id: Ref,
    pub shortname: String,
    pub fullname: String,
    pub idnumber: String,
    pub category: Ref,
    /// `COURSE_SETTINGS` values; `None` where the backend cannot read one.
    pub settings: Vec<Option<Setting>>,
    /// Its sections' names and summaries; `None` when the backend cannot read them.
    pub sections: Option<Vec<Section>>,
    /// The site course (front page): never changed by a feed.
    pub site: bool,
    /// A copy of a template the backend made whose row's own fields were never set (the
    /// copy's answer was lost): the next row naming it finishes it.
    pub copy_unfinished: bool,
}

impl CourseRec {
    /// "course 12 (CS101, Intro to CS)": how messages name a course.
    pub fn label(&self) -> String {
        match self.id {
            Ref::Id(id) => format!("course {id} ({}, {})", self.shortname, self.fullname),
            Ref::New(_) => format!(
                "course {} ({}), created by an earlier row",
                self.shortname, self.fullname
            ),
        }
    }

    pub fn setting(&self, name: &str) -> Option<&Setting> {
        COURSE_SETTINGS
            .iter()
            .position(|s| *s == name)
            .and_then(|i| self.settings.get(i))
            .and_then(Option::as_ref)
    }
}

/// A course category. The top level is `Ref::Id(0)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRec {
    pub id: Ref,
    pub name: String,
    pub idnumber: String,
    pub parent: Ref,
    pub visible: bool,
}

/// A role, and whether it can be given in a course context.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRec {
    pub id: i64,
    pub shortname: String,
    pub course_assignable: bool,
}

/// An enrolment method instance of a course (`mdl_enrol`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRec {
    pub id: Ref,
    pub course: Ref,
    /// The enrol plugin: `manual`, `self`, `guest`, `meta`, `cohort`…
    pub method: String,
    pub enabled: bool,
    /// The role it gives; `None` when the backend cannot read it.
    pub role: Option<i64>,
    /// What it links to: a meta link's master course, a cohort method's cohort.
    pub link: Option<Ref>,
    /// The group a cohort method files its members into.
    pub group: Option<Ref>,
    /// Its enrolment period (`enrolstartdate`, `enrolenddate`; 0: none).
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// One enrolment of a user through an instance (`mdl_user_enrolments`). `None` fields: the
/// backend cannot read them (Moodle's core web services do not show status and dates).
#[derive(Debug, Clone, PartialEq)]
pub struct UeRec {
    pub instance: Ref,
    pub suspended: Option<bool>,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// A role a user holds in a course's context, and who gave it (`None`: cannot tell).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub role: i64,
    /// `""` for a plain assignment, `enrol_cohort`, `enrol_meta`…
    pub component: Option<String>,
    pub itemid: Option<i64>,
}

/// A user holding roles in a course's context: those roles, and the user's enrolments in
/// the course (`None`: the backend cannot tell which instances).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleHolder {
    pub user: Ref,
    pub roles: Vec<RoleAssignment>,
    pub enrolments: Option<Vec<UeRec>>,
}

/// A group, or a grouping, of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKind {
    Group,
    Grouping,
}

impl GroupKind {
    pub fn entity(self) -> &'static str {
        match self {
            GroupKind::Group => "group",
            GroupKind::Grouping => "grouping",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRec {
    pub id: Ref,
    pub kind: GroupKind,
    pub course: Ref,
    pub name: String,
    pub idnumber: String,
    pub description: Option<String>,
}

/// A member of a group, and whether moosync made the membership (`None`: cannot tell).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRec {
    pub user: Ref,
    pub owned: Option<bool>,
}

/// Where a cohort lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortHome {
    System,
    Category(Ref),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CohortRec {
    pub id: Ref,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    /// `None`: the backend cannot tell which category holds it (Moodle's core web services
    /// say only whether a cohort is in the system context).
    pub home: Option<CohortHome>,
    /// The plugin managing it (`""`: none); empty where the backend cannot read it (see
    /// `Capabilities::cohort_component`).
    pub component: String,
}

impl CohortRec {
    /// "cohort 3 (Year 1, Y1)": how messages name a cohort.
    pub fn label(&self) -> String {
        let id = match self.id {
            Ref::Id(id) => format!("cohort {id}"),
            Ref::New(_) => "cohort".to_string(),
        };
        if self.idnumber.is_empty() {
            format!("{id} ({})", self.name)
        } else {
            format!("{id} ({}, {})", self.name, self.idnumber)
        }
    }

    /// Whether the cohort's `by` field is exactly `value` (an id as written in a file).
    pub fn holds(&self, by: CohortIdentifier, value: &str) -> bool {
        match by {
            CohortIdentifier::Idnumber => self.idnumber == value,
            CohortIdentifier::Name => self.name == value,
            CohortIdentifier::Id => self
                .id
                .id()
                .is_some_and(|id| id.to_string() == value.trim()),
        }
    }

    /// "Year 1 (Y1)": how report lines name it after the entity word.
    pub fn shown(&self) -> String {
        if self.idnumber.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.idnumber)
        }
    }
}

/// A user's picture: whether they have one, and the MD5 of the image last fed for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PictureRec {
    pub has: bool,
    pub md5: Option<String>,
}

/// Every key a batch will look up, so a backend that reads over the network can read them
/// in a few calls before the rows are planned one by one.
#[derive(Debug, Default)]
pub struct Wanted {
    pub users: BTreeSet<(UserIdentifier, String)>,
    pub courses: BTreeSet<(CourseIdentifier, String)>,
    pub cohorts: BTreeSet<(CohortIdentifier, String)>,
    /// Courses whose enrol instances, participants and groups will be read.
    pub course_parts: BTreeSet<(CourseIdentifier, String)>,
    /// Courses whose groups, groupings and memberships will be read.
    pub course_groups: BTreeSet<(CourseIdentifier, String)>,
    /// Courses whose participants will be counted.
    pub counts: BTreeSet<(CourseIdentifier, String)>,
    /// Custom profile fields the accounts' commands set, for a backend whose account reads
    /// answer only the fields asked for.
    pub profile_fields: BTreeSet<String>,
}

/// What a backend can do of what a plan may ask. What it cannot do fails the row with
/// MS-R006 naming why, the same way every time, instead of a refusal from the site.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Moodle's web services create no account without an e-mail address.
    pub account_without_email: bool,
    /// Enrol and unenrol through a method other than manual (Moodle's web services enrol
    /// only through the manual method).
    pub enrol_any_method: bool,
    /// The enrol instances a course lists include its disabled ones (Moodle's core service
    /// lists the enabled ones only).
    pub lists_disabled_instances: bool,
    /// An enrolment's status and dates can be read (not with Moodle's core service: a row
    /// giving them is then sent again on every run, and its report line says so).
    pub enrolment_details: bool,
    /// Group memberships record the component that made them, `local_moosync` for
    /// moosync's (not with Moodle's core service: the REST target then remembers in its own
    /// ledger which memberships it made, and the site's memberships carry no component).
    pub membership_component: bool,
    /// Reset a course (core has no function; local_moosync_reset_courses).
    pub course_reset: bool,
    /// Add, enable and disable a meta link, and tell which course one links
    /// (local_moosync_set_meta_links, _get_enrol_instances).
    pub meta_links: bool,
    /// Read and set a section's name and summary (local_moosync_get_sections, _set_sections).
    pub section_names: bool,
    /// Add, enable and disable a course's self or guest method, and read a disabled one
    /// (local_moosync_set_enrol_methods, _get_enrol_instances).
    pub self_guest_methods: bool,
    /// Cohort sync instances can be added, changed and deleted (`cohortscourses.csv`): not
    /// with Moodle's core web services, which have no enrol_cohort function.
    pub cohort_bindings: bool,
    /// Bindings through the cohort methods of third-party plugins (`delayedcohort`,
    /// `cohortrestricted`), not only Moodle's own `cohort`.
    pub third_party_cohort_methods: bool,
    /// A cohort's component can be set and read: core_cohort_create_cohorts and
    /// _update_cohorts take none (local_moosync_create_cohorts, _set_cohort_components).
    pub cohort_component: bool,
    /// A cohort can be created without an idnumber: core_cohort_create_cohorts refuses an
    /// empty one as soon as another cohort has none (local_moosync_create_cohorts).
    pub cohort_without_idnumber: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            account_without_email: true,
            enrol_any_method: true,
            lists_disabled_instances: true,
            enrolment_details: true,
            membership_component: true,
            course_reset: true,
            meta_links: true,
            section_names: true,
            self_guest_methods: true,
            cohort_bindings: true,
            third_party_cohort_methods: true,
            cohort_component: true,
            cohort_without_idnumber: true,
        }
    }
}

/// Fails a row asking for what Moodle's core web services cannot do and the companion
/// plugin can, the same words every time: what is asked, the plugin function, how to get it.
pub fn needs_plugin(what: &str, function: &str) -> Failure {
    Failure::new(
        Code::RemoteUnsupported,
        format!("{what} needs the Moodle plugin local_moosync ({function}), which the token's web service lacks: Moodle's core web services cannot do it; install the plugin and add its functions to the service (see moodle/local_moosync/README.md)"),
    )
}

/// Read-only access to the site. Lookups may come from what `prefetch` read.
pub trait SiteView {
    /// What the backend behind the view can do.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Reads ahead what the batch's rows will look up.
    fn prefetch(&mut self, _wanted: &Wanted) -> Result<(), Failure> {
        Ok(())
    }

    /// Whether `prefetch` also wants what a batch's changes would collide with: a second pass
    /// that first looks each row's account and course up. A backend whose lookups are cheap
    /// one by one declines it, so a row's account is read once, not twice.
    fn reads_collisions_ahead(&self) -> bool {
        true
    }

    /// The accounts whose `by` field is `value` (e-mail compared without case), deleted ones
    /// included when found by id or username.
    fn users(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<UserRec>>;

    /// The ids of the live accounts whose `by` field is `value`: all a row naming a
    /// participant (an enrolment, a cohort member) needs, which a backend may read without
    /// building whole accounts.
    fn user_ids(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<Ref>> {
        Ok(self
            .users(by, value)?
            .into_iter()
            .filter(|u| !u.deleted)
            .map(|u| u.id)
            .collect())
    }

    /// Whether `plain` is the account's password; `None` when the backend cannot tell
    /// (Moodle never reveals a password).
    fn password_matches(&mut self, user: i64, plain: &str) -> Read<Option<bool>>;

    /// The custom profile fields the site has, by shortname; `None` when the backend cannot
    /// list them.
    fn profile_fields(&mut self) -> Read<Option<BTreeSet<String>>>;

    /// The language packs the site has; `None` when the backend cannot tell (Moodle then
    /// refuses a new account's language itself).
    fn languages(&mut self) -> Read<Option<BTreeSet<String>>> {
        Ok(None)
    }

    /// The password policy the site applies; `None` when it applies none or the backend
    /// cannot tell (Moodle then refuses a password itself).
    fn password_policy(&mut self) -> Read<Option<super::password_policy::PasswordPolicy>> {
        Ok(None)
    }

    /// Accounts a feed never changes or deletes (the guest, the site's administrators, the
    /// account a web-service token belongs to), each with what it is.
    fn protected(&mut self) -> Read<Vec<(i64, &'static str)>>;

    /// The courses whose `by` field is `value` (the site course included: the plan refuses
    /// it).
    fn courses(&mut self, by: CourseIdentifier, value: &str) -> Read<Vec<CourseRec>>;

    /// How many users are enrolled in the course; `None` when the backend cannot count.
    fn enrolled_count(&mut self, course: Ref) -> Read<Option<usize>>;

    /// The categories below `parent` (`Ref::Id(0)`: the top level) named `name`.
    fn categories_named(&mut self, parent: Ref, name: &str) -> Read<Vec<CategoryRec>>;

    /// The categories whose idnumber is `idnumber`.
    fn categories_by_idnumber(&mut self, idnumber: &str) -> Read<Vec<CategoryRec>>;

    /// One category by id.
    fn category(&mut self, id: Ref) -> Read<Option<CategoryRec>>;

    /// Where a course goes when its row names no category: Moodle's default category.
    fn default_category(&mut self) -> Read<Option<CategoryRec>>;

    /// The role with this shortname.
    fn role(&mut self, shortname: &str) -> Read<Option<RoleRec>>;

    /// The role with this id.
    fn role_by_id(&mut self, id: i64) -> Read<Option<RoleRec>>;

    /// The course's enrolment method instances, in Moodle's order (sortorder, id).
    fn instances(&mut self, course: Ref) -> Read<Vec<InstanceRec>>;

    /// The instances, of any course, whose method links to the cohort (cohort sync); `None`
    /// when the backend cannot list them.
    fn cohort_instances(&mut self, cohort: Ref) -> Read<Option<Vec<InstanceRec>>>;

    /// The user's enrolments in the course, by instance; `None` when the backend cannot tell
    /// which instances they are enrolled through.
    fn enrolments(&mut self, course: Ref, user: Ref) -> Read<Option<Vec<UeRec>>>;

    /// Whether the user is enrolled in the course at all (through any instance).
    fn is_enrolled(&mut self, course: Ref, user: Ref) -> Read<bool>;

    /// The roles the user holds in the course's context.
    fn course_roles(&mut self, course: Ref, user: Ref) -> Read<Vec<RoleAssignment>>;

    /// The users holding a role in the course's context, with those roles and their
    /// enrolments in the course (a reset unenrols by role, through the instances that allow
    /// it).
    fn role_holders(&mut self, course: Ref) -> Read<Vec<RoleHolder>>;

    /// The course's groups (or groupings).
    fn groups(&mut self, course: Ref, kind: GroupKind) -> Read<Vec<GroupRec>>;

    /// The groups in a grouping; `None` when the backend cannot list them.
    fn grouping_groups(&mut self, grouping: Ref) -> Read<Option<Vec<Ref>>>;

    /// The members of a group.
    fn group_members(&mut self, group: Ref) -> Read<Vec<MemberRec>>;

    /// The groups of the course the user is in.
    fn user_groups(&mut self, course: Ref, user: Ref) -> Read<Vec<(Ref, MemberRec)>>;

    /// Groups (with their course) a feed's removals left empty that no file's end has looked
    /// at yet: those of a file that stopped after applying them (`[groups] purge_empty`).
    fn emptied_groups(&mut self) -> Read<Vec<(Ref, Ref)>>;

    /// The cohorts whose `by` field is `value`.
    fn cohorts(&mut self, by: CohortIdentifier, value: &str) -> Read<Vec<CohortRec>>;

    /// The members of a cohort.
    fn cohort_members(&mut self, cohort: Ref) -> Read<Vec<Ref>>;

    /// Whether the user is a member of the cohort (a row's one question, where reading every
    /// member of a large cohort per row would cost a file of N rows N² reads).
    fn is_cohort_member(&mut self, cohort: Ref, user: Ref) -> Read<bool>;

    /// The users enrolled through an instance, in any status; `None` when the backend cannot
    /// tell (Moodle's core web services do not say through which instance).
    fn enrolled_through(&mut self, instance: Ref) -> Read<Option<Vec<Ref>>>;

    /// A user's picture.
    fn picture(&mut self, user: Ref) -> Read<PictureRec>;
}

/// Looks a group up by the identifier the settings name (a helper for group rules).
pub fn group_field(g: &GroupRec, by: GroupIdentifier) -> String {
    match by {
        GroupIdentifier::Name => g.name.clone(),
        GroupIdentifier::Idnumber => g.idnumber.clone(),
        GroupIdentifier::Id => g.id.id().map(|i| i.to_string()).unwrap_or_default(),
    }
}
