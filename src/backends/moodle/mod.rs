//! A real Moodle site (4.1 or later) over its REST web services, the supported way for an
//! outside program to change Moodle. Rows become batched calls; what Moodle refuses fails its
//! row with Moodle's own words; what no row can fix (token, service, maintenance, the site
//! unreachable) stops the file, which waits in inbox/.

mod apply;
mod calls;
mod catalogue;
pub mod client;
mod cohort_send;
mod cohorts;
mod course_parts;
mod course_send;
mod courses;
mod directory;
mod enrol_ops;
pub mod form;
mod group_ops;
mod instances_send;
mod ledger;
mod pictures;
mod pool;
mod redact;
mod split;
mod users;

use crate::codes::{Code, Failure};
use crate::command::keys::{CohortIdentifier, CourseIdentifier, UserIdentifier};
use crate::config::Config;
use crate::outcome::Change;
use crate::plan::view::{
    Capabilities, CategoryRec, CohortRec, CourseRec, GroupKind, GroupRec, InstanceRec, MemberRec,
    PictureRec, Read, ReadError, RoleAssignment, RoleHolder, RoleRec, SiteView, UeRec, UserRec,
    Wanted,
};
use crate::plan::{BatchApplied, Decision, Ref};
use client::{Client, Retry, Token};
use directory::{Directory, Field};
use serde_json::Value;
use std::collections::BTreeSet;
use std::collections::HashSet;
use std::time::Duration;

/// The web-service functions each tool calls, for `check-target` and for a clear error when
/// the token's service lacks one.
pub const FUNCTIONS: &[(&str, &[&str])] = &[
    ("every tool", &["core_webservice_get_site_info"]),
    (
        "courses",
        &[
            "core_course_get_courses_by_field",
            "core_course_get_categories",
            "core_course_create_categories",
            "core_course_create_courses",
            "core_course_update_courses",
            "core_course_delete_courses",
            // Participants counted by delete and check, and a course's teachers enrolled.
            "core_enrol_get_enrolled_users",
            "enrol_manual_enrol_users",
        ],
    ),
    (
        "pictures",
        &["core_user_get_users_by_field", "core_user_update_picture"],
    ),
    (
        "users",
        &[
            "core_user_get_users_by_field",
            "core_user_create_users",
            "core_user_update_users",
            "core_user_delete_users",
        ],
    ),
    (
        "enrolments",
        &[
            "core_course_get_courses_by_field",
            "core_enrol_get_enrolled_users",
            "enrol_manual_enrol_users",
            "enrol_manual_unenrol_users",
            "core_role_assign_roles",
            "core_role_unassign_roles",
        ],
    ),
    (
        "cohorts",
        &[
            "core_cohort_search_cohorts",
            "core_cohort_get_cohorts",
            "core_cohort_get_cohort_members",
            "core_cohort_create_cohorts",
            "core_cohort_update_cohorts",
            "core_cohort_delete_cohorts",
            "core_cohort_add_cohort_members",
            "core_cohort_delete_cohort_members",
        ],
    ),
    (
        "groups",
        &[
            "core_course_get_courses_by_field",
            "core_enrol_get_enrolled_users",
            "core_group_get_course_groups",
            "core_group_get_course_groupings",
            "core_group_get_groupings",
            "core_group_get_group_members",
            "core_group_create_groups",
            "core_group_create_groupings",
            "core_group_add_group_members",
            "core_group_delete_group_members",
            "core_group_assign_grouping",
            "core_group_delete_groups",
        ],
    ),
];

/// Functions only some columns need, outside the usual service: `check-target` says what
/// each enables; a file using one the service lacks stops, naming it.
pub const OPTIONAL_FUNCTIONS: &[(&str, &[&str])] = &[
    ("course templates", &["core_course_duplicate_course"]),
    (
        "hidden new categories ([courses] new_categories_visible = false)",
        &["core_course_update_categories"],
    ),
    (
        "teachers of existing courses without the plugin",
        &["core_enrol_get_course_enrolment_methods"],
    ),
    ("course reset (plugin local_moosync)", &[course_send::RESET]),
    (
        "meta links (plugin local_moosync)",
        &["local_moosync_set_meta_links", catalogue::GET_INSTANCES],
    ),
    (
        "section names and summaries (plugin local_moosync)",
        &[course_send::SET_SECTIONS, catalogue::GET_SECTIONS],
    ),
    (
        "self and guest methods (plugin local_moosync)",
        &[course_send::SET_METHODS, catalogue::GET_INSTANCES],
    ),
    (
        "cohort bindings, cohortscourses.csv (plugin local_moosync)",
        &[
            cohort_send::ADD_INSTANCES,
            cohort_send::UPDATE_INSTANCES,
            cohort_send::DELETE_INSTANCES,
            cohorts::GET_COHORTS,
            catalogue::GET_INSTANCES,
        ],
    ),
    (
        "cohorts without an idnumber, and a cohort's component (plugin local_moosync)",
        &[
            cohorts::GET_COHORTS,
            cohort_send::CREATE_COHORTS,
            cohort_send::SET_COMPONENTS,
        ],
    ),
    (
        "group and grouping updates (updateid)",
        &["core_group_update_groups", "core_group_update_groupings"],
    ),
    (
        "groupings left without groups ([groups] purge_empty = \"groupings\")",
        &["core_group_delete_groupings"],
    ),
];

/// Accounts kept between batches (about 1 KB each): a users file of a million rows looks each
/// account up once anyway, and an enrolment file's repeats mostly fall within a batch.
const MAX_CACHED_ACCOUNTS: usize = 20_000;

/// Who the token is, and what its service allows.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub sitename: String,
    pub release: String,
    pub username: String,
    pub userid: i64,
    pub functions: HashSet<String>,
    /// The version of moosync's plugin, `local_moosync`, as the site reports it beside the
    /// plugin's functions; `None` when the token's service offers none of them.
    pub plugin_version: Option<String>,
}

/// The plugin's read of the password policy and the installed languages.
const ACCOUNT_RULES: &str = "local_moosync_get_account_rules";

/// What Moodle checks of an account's values, as the plugin reads them.
#[derive(Debug, Clone)]
struct AccountRules {
    languages: BTreeSet<String>,
    password: Option<crate::plan::password_policy::PasswordPolicy>,
}

impl AccountRules {
    fn from_json(v: &Value) -> AccountRules {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
        AccountRules {
            languages: v
                .get("languages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect(),
            password: (v.get("passwordpolicy") == Some(&Value::Bool(true))).then(|| {
                crate::plan::password_policy::PasswordPolicy {
                    min_length: n("minpasswordlength"),
                    min_digits: n("minpassworddigits"),
                    min_lower: n("minpasswordlower"),
                    min_upper: n("minpasswordupper"),
                    min_nonalphanum: n("minpasswordnonalphanum"),
                    max_consecutive_identical: n("maxconsecutiveidentchars"),
                }
            }),
        }
    }
}

/// The name every function of moosync's plugin starts with.
pub const PLUGIN_PREFIX: &str = "local_moosync_";

/// Reads the token from where the settings say: an environment variable or a file.
fn read_token(cfg: &Config) -> Result<Token, Failure> {
    let t = &cfg.target;
    let bad = |m: String| Failure::new(Code::ConfigInvalid, m);
    let secret = if !t.token_env.is_empty() {
        std::env::var(&t.token_env).map_err(|_| {
            bad(format!(
                "[target] token_env names the environment variable {}, which is not set; export the web-service token in it",
                t.token_env
            ))
        })?
    } else {
        let text = std::fs::read_to_string(&t.token_file).map_err(|e| {
            bad(format!(
                "[target] token_file {} cannot be read ({e}); put the web-service token in it",
                t.token_file
            ))
        })?;
        text.lines().next().unwrap_or("").to_string()
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(bad(
            "the web-service token is empty ([target] token_env / token_file)".into(),
        ));
    }
    Ok(Token::new(secret))
}

pub struct MoodleTarget {
    client: Client,
    cfg: Config,
    dir: Directory,
    cohorts: cohorts::Cohorts,
    parts: course_parts::CourseParts,
    catalogue: catalogue::Catalogue,
    ledger: ledger::Ledger,
    dry_run: bool,
    site: Option<SiteInfo>,
    /// The plugin's account rules, read once (`None` inside: the site lacks the function).
    rules: Option<Option<AccountRules>>,
}

impl MoodleTarget {
    pub fn open(cfg: &Config, state: &std::path::Path) -> Result<MoodleTarget, Failure> {
        let t = &cfg.target;
        let client = Client::new(
            &t.url,
            read_token(cfg)?,
            t.parallel,
            Duration::from_secs(t.timeout_seconds),
            t.retries,
            t.batch_size,
        );
        Ok(MoodleTarget {
            client,
            cfg: cfg.clone(),
            dir: Directory::default(),
            cohorts: cohorts::Cohorts::default(),
            parts: course_parts::CourseParts::default(),
            catalogue: catalogue::Catalogue::default(),
            // Beside state.db, not in it: the run's journal holds state.db's write lock while
            // a file runs.
            ledger: ledger::Ledger::open(&state.with_file_name("remote.db"))?,
            dry_run: false,
            site: None,
            rules: None,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `core_webservice_get_site_info`, once per run.
    pub fn site_info(&mut self) -> Result<SiteInfo, Failure> {
        if let Some(s) = &self.site {
            return Ok(s.clone());
        }
        let v = self
            .client
            .call(
                "core_webservice_get_site_info",
                &form::Params::new(),
                Retry::Safe,
            )
            .map_err(|e| {
                e.stops_the_file().unwrap_or_else(|| match e {
                    client::CallError::Moodle(m) => Failure::new(
                        Code::RemoteAccess,
                        format!(
                            "Moodle refused core_webservice_get_site_info: {}",
                            m.describe()
                        ),
                    ),
                    _ => unreachable!("transport faults stop the file"),
                })
            })?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let functions = v
            .get("functions")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // Each function comes with its component's version: the plugin's is on its own.
        let plugin_version = v
            .get("functions")
            .and_then(Value::as_array)
            .and_then(|fs| {
                fs.iter().find(|f| {
                    f.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.starts_with(PLUGIN_PREFIX))
                })
            })
            .map(|f| match f.get("version") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "unknown".to_string(),
            });
        let info = SiteInfo {
            sitename: text("sitename"),
            release: text("release"),
            username: text("username"),
            userid: v.get("userid").and_then(Value::as_i64).unwrap_or(0),
            functions,
            plugin_version,
        };
        self.site = Some(info.clone());
        Ok(info)
    }
}

impl MoodleTarget {
    /// A read of the courses' parts (`course_parts`), with what it needs of the target.
    fn read_parts<T>(
        &mut self,
        f: impl FnOnce(&mut course_parts::CourseParts, &course_parts::Reader) -> Read<T>,
    ) -> Read<T> {
        let info = self.site_info().map_err(ReadError::Stop)?;
        let r = course_parts::Reader {
            client: &self.client,
            cfg: &self.cfg,
            functions: &info.functions,
            ledger: &self.ledger,
        };
        f(&mut self.parts, &r)
    }

    /// Reads of cohorts, by the site's functions.
    fn read_cohorts<T>(
        &mut self,
        f: impl FnOnce(&mut cohorts::Cohorts, &cohorts::Reader) -> Read<T>,
    ) -> Read<T> {
        self.site_info().map_err(ReadError::Stop)?;
        let r = cohorts::Reader {
            client: &self.client,
            functions: &self.site.as_ref().expect("read above").functions,
            parallel: self.cfg.target.parallel,
            batch: self.cfg.target.batch_size,
        };
        f(&mut self.cohorts, &r)
    }

    /// Reads of course records through the catalogue: the site's functions decide which.
    fn catalogue<R>(
        &mut self,
        f: impl FnOnce(
            &mut catalogue::Catalogue,
            &catalogue::Reader,
            &dyn Fn(&str) -> bool,
        ) -> Result<R, Failure>,
    ) -> Read<R> {
        self.site_info().map_err(ReadError::Stop)?;
        let functions = &self.site.as_ref().expect("read above").functions;
        let r = catalogue::Reader {
            client: &self.client,
            functions,
            parallel: self.cfg.target.parallel,
        };
        let (ledger, site) = (&self.ledger, self.client.site());
        let pending = |shortname: &str| ledger.copy_pending(site, shortname);
        f(&mut self.catalogue, &r, &pending).map_err(ReadError::Stop)
    }

    /// The site's password policy and languages, from the plugin (no core function shows
    /// them); `None` without it, and Moodle refuses such values itself.
    fn account_rules(&mut self) -> Read<Option<AccountRules>> {
        if let Some(known) = &self.rules {
            return Ok(known.clone());
        }
        let info = self.site_info().map_err(ReadError::Stop)?;
        let rules = if info.functions.contains(ACCOUNT_RULES) {
            let v = self
                .client
                .call(ACCOUNT_RULES, &form::Params::new(), Retry::Safe)
                .map_err(|e| ReadError::Stop(calls::stop_or(e, "the site's account rules")))?;
            Some(AccountRules::from_json(&v))
        } else {
            None
        };
        self.rules = Some(rules.clone());
        Ok(rules)
    }

    /// Looks the accounts up that are not known yet.
    /// The plugin's lean read is used when the site has it, answering the custom profile
    /// fields the file's commands set so far and `profile_fields`.
    fn fetch_users(
        &mut self,
        wanted: impl IntoIterator<Item = (Field, String)>,
        profile_fields: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        let info = self.site_info()?;
        if info.functions.contains(directory::LEAN_READ) {
            self.dir.read_lean(profile_fields);
        } else {
            calls::require(&info.functions, "core_user_get_users_by_field")?;
        }
        let t = &self.cfg.target;
        self.dir
            .fetch(&self.client, t.parallel, t.batch_size, wanted)
    }
}

/// A role of `[target.roles]`. Moodle lets the standard roles other than these four be given
/// only outside courses; a site's own roles are taken as course roles (Moodle refuses one
/// that is not).
fn role_rec(shortname: &str, id: i64) -> RoleRec {
    RoleRec {
        id,
        shortname: shortname.to_string(),
        course_assignable: !matches!(shortname, "coursecreator" | "guest" | "user" | "frontpage"),
    }
}

fn field_of(by: UserIdentifier) -> Field {
    match by {
        UserIdentifier::Username => Field::Username,
        UserIdentifier::Idnumber => Field::Idnumber,
        UserIdentifier::Email => Field::Email,
        UserIdentifier::Id => Field::Id,
    }
}

impl SiteView for MoodleTarget {
    /// What core's web services cannot do; the plugin's functions, when the site has them,
    /// read what core does not show and record moosync's memberships.
    fn capabilities(&self) -> Capabilities {
        // What the plugin's functions in the token's service make possible.
        let has = |fs: &[&str]| {
            self.site
                .as_ref()
                .is_some_and(|s| fs.iter().all(|f| s.functions.contains(*f)))
        };
        Capabilities {
            account_without_email: false,
            // Core enrols others through the manual method only.
            enrol_any_method: has(&[enrol_ops::SET_ENROLMENTS]),
            lists_disabled_instances: has(&[catalogue::GET_INSTANCES]),
            enrolment_details: has(&[course_parts::GET_ENROLMENTS]),
            membership_component: has(&[group_ops::PLUGIN_ADD]),
            course_reset: has(&[course_send::RESET]),
            meta_links: has(&["local_moosync_set_meta_links", catalogue::GET_INSTANCES]),
            section_names: has(&[course_send::SET_SECTIONS, catalogue::GET_SECTIONS]),
            self_guest_methods: has(&[course_send::SET_METHODS, catalogue::GET_INSTANCES]),
            cohort_bindings: has(&[
                cohort_send::ADD_INSTANCES,
                cohort_send::UPDATE_INSTANCES,
                cohort_send::DELETE_INSTANCES,
                cohorts::GET_COHORTS,
                catalogue::GET_INSTANCES,
            ]),
            third_party_cohort_methods: false,
            cohort_component: has(&[
                cohorts::GET_COHORTS,
                cohort_send::CREATE_COHORTS,
                cohort_send::SET_COMPONENTS,
            ]),
            cohort_without_idnumber: has(&[cohort_send::CREATE_COHORTS]),
        }
    }

    fn prefetch(&mut self, wanted: &Wanted) -> Result<(), Failure> {
        if !wanted.cohorts.is_empty() {
            self.read_cohorts(|c, r| c.prefetch(r, &wanted.cohorts).map_err(ReadError::Stop))
                .map_err(|e| match e {
                    ReadError::Row(f) | ReadError::Stop(f) => f,
                })?;
        }
        if !wanted.users.is_empty() {
            self.fetch_users(
                wanted
                    .users
                    .iter()
                    .map(|(by, v)| (field_of(*by), v.clone())),
                &wanted.profile_fields,
            )?;
        }
        if wanted.courses.is_empty()
            && wanted.course_parts.is_empty()
            && wanted.counts.is_empty()
            && wanted.course_groups.is_empty()
        {
            return Ok(());
        }
        self.catalogue(|c, r, _| c.prefetch(r, wanted))
            .and_then(|()| {
                // The participants and groups of the courses found, through the catalogue.
                let mut ids = |keys: &std::collections::BTreeSet<(CourseIdentifier, String)>| {
                    let mut ids = Vec::new();
                    for (by, v) in keys {
                        for c in self.courses(*by, v)? {
                            ids.extend(c.id.id());
                        }
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    Ok::<_, ReadError>(ids)
                };
                let people = ids(&wanted.course_parts)?;
                let groups = ids(&wanted.course_groups)?;
                self.read_parts(|parts, r| {
                    parts.prefetch(r, &people, &groups).map_err(ReadError::Stop)
                })
            })
            .map_err(|e| match e {
                ReadError::Row(f) | ReadError::Stop(f) => f,
            })
    }

    fn users(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<UserRec>> {
        let field = field_of(by);
        if self.dir.find(field, value).is_none() && self.dir.refused(field, value).is_none() {
            self.fetch_users([(field, value.to_string())], &BTreeSet::new())
                .map_err(ReadError::Stop)?;
        }
        if let Some(why) = self.dir.refused(field, value) {
            return Err(ReadError::Row(Failure::new(
                Code::RemoteRejected,
                format!(
                    "Moodle refused to look up the account with {} '{value}': {why}",
                    field.name()
                ),
            )));
        }
        Ok(self
            .dir
            .find(field, value)
            .unwrap_or_default()
            .into_iter()
            // Found by id only, a deleted account is seen (Moodle still returns it).
            .filter(|a| by == UserIdentifier::Id || !a.deleted)
            .map(users::rec)
            .collect())
    }

    fn password_matches(&mut self, _user: i64, _plain: &str) -> Read<Option<bool>> {
        // Moodle never reveals a password, nor says whether one matches.
        Ok(None)
    }

    fn profile_fields(&mut self) -> Read<Option<BTreeSet<String>>> {
        // No core web service lists them: Moodle ignores a shortname it does not have.
        Ok(None)
    }

    fn languages(&mut self) -> Read<Option<BTreeSet<String>>> {
        Ok(self.account_rules()?.map(|r| r.languages))
    }

    fn password_policy(&mut self) -> Read<Option<crate::plan::password_policy::PasswordPolicy>> {
        Ok(self.account_rules()?.and_then(|r| r.password))
    }

    fn courses(&mut self, by: CourseIdentifier, value: &str) -> Read<Vec<CourseRec>> {
        self.catalogue(|c, r, pending| c.courses(r, by, value, pending))
    }
    fn enrolled_count(&mut self, course: Ref) -> Read<Option<usize>> {
        self.catalogue(|c, r, _| c.enrolled_count(r, course))
    }
    fn categories_named(&mut self, parent: Ref, name: &str) -> Read<Vec<CategoryRec>> {
        self.catalogue(|c, r, _| c.categories_named(r, parent, name))
    }
    fn categories_by_idnumber(&mut self, idnumber: &str) -> Read<Vec<CategoryRec>> {
        self.catalogue(|c, r, _| c.categories_by_idnumber(r, idnumber))
    }
    fn category(&mut self, id: Ref) -> Read<Option<CategoryRec>> {
        self.catalogue(|c, r, _| c.category(r, id))
    }
    fn default_category(&mut self) -> Read<Option<CategoryRec>> {
        self.catalogue(|c, r, _| c.default_category(r))
    }
    fn role(&mut self, shortname: &str) -> Read<Option<RoleRec>> {
        // No web service lists roles: [target.roles] says what the site has.
        Ok(self
            .cfg
            .target
            .roles
            .get(shortname)
            .map(|id| role_rec(shortname, *id)))
    }
    fn role_by_id(&mut self, id: i64) -> Read<Option<RoleRec>> {
        Ok(self
            .cfg
            .target
            .roles
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(name, id)| role_rec(name, *id)))
    }
    fn instances(&mut self, course: Ref) -> Read<Vec<InstanceRec>> {
        self.catalogue(|c, r, _| c.instances(r, course))
    }
    fn cohort_instances(&mut self, cohort: Ref) -> Read<Option<Vec<InstanceRec>>> {
        self.read_cohorts(|c, r| c.bound(r, cohort))
    }
    fn enrolments(&mut self, course: Ref, user: Ref) -> Read<Option<Vec<UeRec>>> {
        self.read_parts(|parts, r| parts.enrolments(r, course, user))
    }
    fn is_enrolled(&mut self, course: Ref, user: Ref) -> Read<bool> {
        self.read_parts(|parts, r| parts.is_enrolled(r, course, user))
    }
    fn course_roles(&mut self, course: Ref, user: Ref) -> Read<Vec<RoleAssignment>> {
        self.read_parts(|parts, r| parts.course_roles(r, course, user))
    }
    fn role_holders(&mut self, course: Ref) -> Read<Vec<RoleHolder>> {
        self.catalogue(|c, r, _| c.role_holders(r, course))
    }
    fn groups(&mut self, course: Ref, kind: GroupKind) -> Read<Vec<GroupRec>> {
        self.read_parts(|parts, r| parts.groups(r, course, kind))
    }
    fn grouping_groups(&mut self, grouping: Ref) -> Read<Option<Vec<Ref>>> {
        self.read_parts(|parts, r| parts.grouping_groups(r, grouping))
    }
    fn group_members(&mut self, group: Ref) -> Read<Vec<MemberRec>> {
        self.read_parts(|parts, r| parts.group_members(r, group))
    }
    fn user_groups(&mut self, course: Ref, user: Ref) -> Read<Vec<(Ref, MemberRec)>> {
        self.read_parts(|parts, r| parts.user_groups(r, course, user))
    }
    fn emptied_groups(&mut self) -> Read<Vec<(Ref, Ref)>> {
        let site = self.client.site().to_string();
        Ok(self
            .ledger
            .links(&site, ledger::Link::EmptiedGroup)
            .map_err(ReadError::Stop)?
            .into_iter()
            .map(|(group, course, _)| (Ref::Id(course), Ref::Id(group)))
            .collect())
    }
    fn cohorts(&mut self, by: CohortIdentifier, value: &str) -> Read<Vec<CohortRec>> {
        self.read_cohorts(|c, r| c.find(r, by, value))
    }
    fn cohort_members(&mut self, cohort: Ref) -> Read<Vec<Ref>> {
        self.read_cohorts(|c, r| c.members(r, cohort))
    }
    fn is_cohort_member(&mut self, cohort: Ref, user: Ref) -> Read<bool> {
        self.read_cohorts(|c, r| c.is_member(r, cohort, user))
    }
    fn enrolled_through(&mut self, instance: Ref) -> Read<Option<Vec<Ref>>> {
        // Only the bindings the cohorts' reads found are asked about.
        let Some(course) = instance.id().and_then(|i| self.cohorts.course_of(i)) else {
            return Ok(None);
        };
        self.read_parts(|parts, r| parts.enrolled_through(r, course, instance))
    }
    fn picture(&mut self, user: Ref) -> Read<PictureRec> {
        // Moodle says whether an account shows a picture of its own, never which image: the
        // ledger remembers the last one sent.
        let Some(id) = user.id() else {
            return Ok(PictureRec::default());
        };
        let has = self
            .dir
            .find(Field::Id, &id.to_string())
            .unwrap_or_default()
            .first()
            .is_some_and(|a| a.has_picture);
        Ok(PictureRec {
            has,
            md5: has
                .then(|| self.ledger.picture_md5(self.client.site(), id))
                .flatten(),
        })
    }

    fn protected(&mut self) -> Read<Vec<(i64, &'static str)>> {
        let info = self.site_info().map_err(ReadError::Stop)?;
        Ok(vec![
            (1, "the site's guest account"),
            (2, "the site's admin account"),
            (info.userid, "the account moosync's token belongs to"),
        ])
    }
}

impl crate::backends::Target for MoodleTarget {
    fn describe(&self) -> String {
        format!("Moodle {} (REST web services)", self.client.site())
    }

    fn apply_ops(&mut self, decisions: &[Decision]) -> Result<BatchApplied, Failure> {
        if self.dir.held() > MAX_CACHED_ACCOUNTS {
            self.dir = Directory::default();
        }
        let info = self.site_info()?;
        let ctx = calls::Ctx {
            client: &self.client,
            cfg: &self.cfg,
            functions: &info.functions,
            ledger: &self.ledger,
        };
        let applied = apply::apply(
            &ctx,
            &mut self.dir,
            &self.parts,
            &mut self.catalogue,
            &mut self.cohorts,
            decisions,
        )?;
        let plugin = info.functions.contains(group_ops::PLUGIN_ADD);
        let catalogue = &self.catalogue;
        let manual = |course: i64| catalogue.known_manual(course);
        self.parts.applied(plugin, &manual, decisions, &applied);
        // A cohort's members and bindings enrol and unenrol in the courses it is bound to:
        // their participants are read again.
        for course in self.cohorts.courses_touched(decisions, &applied) {
            self.parts.invalidate(course);
        }
        self.cohorts.applied(decisions, &applied);
        Ok(applied)
    }

    fn begin_file(&mut self, dry_run: bool) -> Result<(), Failure> {
        self.dry_run = dry_run;
        self.site_info().map(|_| ())
    }

    fn finish_file(&mut self) -> Result<Vec<Change>, Failure> {
        if !self.dry_run {
            // The file's end has looked at the groups a feed's removals left empty.
            let site = self.client.site().to_string();
            self.ledger.forget_all(&site, ledger::Link::EmptiedGroup)?;
        }
        // A dry run's lookups stay valid; its planned creates were never put in the directory.
        // Participants are read again per file: another file or a person may have changed them.
        self.cohorts = cohorts::Cohorts::default();
        self.parts = course_parts::CourseParts::default();
        self.catalogue = catalogue::Catalogue::default();
        Ok(Vec::new())
    }

    fn abort_file(&mut self) {
        // Moodle's calls are committed as they return; a stopped file's next run finds them
        // done and leaves them unchanged. The cache may be stale after an error: start over.
        self.dir = Directory::default();
        self.cohorts = cohorts::Cohorts::default();
        self.parts = course_parts::CourseParts::default();
        self.catalogue = catalogue::Catalogue::default();
    }
}
