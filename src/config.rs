//! `moosync.toml`: read and validated in full before anything else is opened.
//! Every table denies unknown keys, so a misspelt key fails with its name and line.

use crate::codes::{Code, Failure};
// How a row names an existing record, and an enrolment row's default command, are the
// commands' vocabulary; the settings choose among them.
use crate::command::keys::{
    CategoryIdentifier, CohortIdentifier, CourseIdentifier, GroupIdentifier, UserIdentifier,
};
use crate::command::moodle_rules::{
    is_auth_plugin_name, is_country_code, is_lang_code, is_profile_field_shortname,
    is_role_shortname, is_timezone, normalise_lang, NOT_AUTH, NOT_COUNTRY, NOT_LANG,
    NOT_PROFILE_FIELD, NOT_ROLE, NOT_TIMEZONE,
};
use crate::command::EnrolCmd;
use crate::toml_place::{line_col, TomlPlaces};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub target: TargetConfig,
    pub csv: CsvConfig,
    pub output: OutputConfig,
    pub run: RunConfig,
    pub limits: ScriptLimits,
    pub users: UsersConfig,
    pub courses: CoursesConfig,
    pub enrolments: EnrolmentsConfig,
    pub groups: GroupsConfig,
    pub cohorts: CohortsConfig,
    pub pictures: PicturesConfig,
    pub feed: FeedConfig,
    pub mail: MailConfig,
    pub prune: PruneConfig,
    pub embedded: EmbeddedConfig,
    pub web: WebConfig,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    #[default]
    Embedded,
    Moodle,
}

/// Where commands go. The Moodle keys matter only with `kind = "moodle"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetConfig {
    pub kind: TargetKind,
    /// The site's address, `https://moodle.example.edu` (no `/webservice/...`).
    pub url: String,
    /// The environment variable holding the web-service token.
    pub token_env: String,
    /// Or a file holding it (first line); never the settings file itself.
    pub token_file: String,
    /// Items per create or enrol call; Moodle rolls a whole call back on one bad item.
    pub batch_size: usize,
    /// Calls in flight at once, each on its own kept-alive connection.
    pub parallel: usize,
    pub timeout_seconds: u64,
    /// Tries after the first, for calls safe to repeat (reads; writes checked first).
    pub retries: u32,
    /// Role shortname to id on the site: no web service lists roles.
    pub roles: std::collections::BTreeMap<String, i64>,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            kind: TargetKind::Embedded,
            url: String::new(),
            token_env: String::new(),
            token_file: String::new(),
            batch_size: 100,
            parallel: 4,
            timeout_seconds: 60,
            retries: 3,
            // A fresh Moodle's role ids (install order).
            roles: [
                ("manager", 1),
                ("coursecreator", 2),
                ("editingteacher", 3),
                ("teacher", 4),
                ("student", 5),
                ("guest", 6),
                ("user", 7),
                ("frontpage", 8),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

/// Character encodings accepted for input files. Decoding happens exactly once.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8", alias = "UTF-8", alias = "utf8")]
    Utf8,
    #[serde(rename = "windows-1252", alias = "cp1252", alias = "WINDOWS-1252")]
    Windows1252,
    #[serde(rename = "iso-8859-1", alias = "latin1", alias = "ISO-8859-1")]
    Iso88591,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Iso88591 => "iso-8859-1",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvConfig {
    pub delimiter: Delimiter,
    pub encoding: Encoding,
    /// Longest accepted field, in bytes; a longer one fails its row (not the file).
    pub max_field_bytes: usize,
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig {
            delimiter: Delimiter(b';'),
            encoding: Encoding::Utf8,
            max_field_bytes: 64 * 1024,
        }
    }
}

/// A one-byte delimiter written as a one-character string (`";"`, `","`, `"\t"`, `"|"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl<'de> Deserialize<'de> for Delimiter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let s = if s == "tab" { "\t".to_string() } else { s };
        match s.as_bytes() {
            [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => Ok(Delimiter(*b)),
            _ => Err(serde::de::Error::custom(format!(
                "delimiter must be one ASCII character such as \";\", \",\" or \"tab\", not {s:?}"
            ))),
        }
    }
}

impl Delimiter {
    pub fn describe(self) -> String {
        match self.0 {
            b'\t' => "tab".into(),
            b => format!("'{}'", b as char),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub reports: bool,
    pub trybacks: bool,
    pub archive: bool,
    /// Take the input out of `inbox/` once processed (moved to Archives/, or deleted when
    /// archiving is off). When false the input stays and the journal keeps it from being re-run.
    pub remove_input: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            reports: true,
            trybacks: true,
            archive: true,
            remove_input: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Rows per store transaction.
    pub batch_size: usize,
    /// Worker threads mapping rows through the script; 0 = one per core.
    pub workers: usize,
    /// A row whose content, rules and site are those of the last time it was applied from
    /// its preset is counted unchanged and neither mapped nor sent (`run --full` sends all).
    pub skip_unchanged: bool,
}

impl RunConfig {
    /// Past this many script threads, more only cost memory: rows are mapped far faster than
    /// any store or site takes them.
    pub const MAX_WORKERS: usize = 64;
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            batch_size: 10_000,
            workers: 0,
            skip_unchanged: true,
        }
    }
}

/// Limits on what one script call may do for one row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScriptLimits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_string_bytes: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Heap one row's script call may hold at once, in MiB.
    pub max_memory_mb: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 100_000,
            max_call_levels: 32,
            max_string_bytes: 1024 * 1024,
            max_array_size: 10_000,
            max_map_size: 1_000,
            max_memory_mb: 16,
        }
    }
}

impl ScriptLimits {
    /// The accepted range of each limit: 0 never means "unlimited". The array and map sizes
    /// also bound how deeply a value can nest (each level counts one entry), which is what
    /// the script threads' stacks are sized for (`rules::workers`); their defaults are their
    /// maxima for that reason.
    pub const RANGES: [(&'static str, u64, u64); 6] = [
        ("max_operations", 1, 100_000_000),
        ("max_call_levels", 1, 64),
        ("max_string_bytes", 1, 16 * 1024 * 1024),
        ("max_array_size", 1, 10_000),
        ("max_map_size", 1, 1_000),
        ("max_memory_mb", 1, 256),
    ];

    fn values(&self) -> [u64; 6] {
        [
            self.max_operations,
            self.max_call_levels as u64,
            self.max_string_bytes as u64,
            self.max_array_size as u64,
            self.max_map_size as u64,
            self.max_memory_mb as u64,
        ]
    }

    /// The first limit out of its range, as (key, why).
    pub fn out_of_range(&self) -> Option<(String, String)> {
        Self::RANGES
            .iter()
            .zip(self.values())
            .find(|((_, lo, hi), v)| !(lo..=hi).contains(&v))
            .map(|((key, lo, hi), v)| {
                (
                    format!("[limits] {key}"),
                    format!("is {v}; it must be between {lo} and {hi}"),
                )
            })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsersConfig {
    pub identifier: UserIdentifier,
    pub allow_rename: bool,
    pub allow_delete: bool,
    /// Values given to a new account for columns the file does not have.
    pub default_auth: String,
    pub default_lang: String,
    pub default_country: String,
    pub default_city: String,
    pub default_timezone: String,
}

impl Default for UsersConfig {
    fn default() -> Self {
        UsersConfig {
            identifier: UserIdentifier::Username,
            allow_rename: true,
            allow_delete: true,
            default_auth: "manual".into(),
            default_lang: "en".into(),
            default_country: String::new(),
            default_city: String::new(),
            default_timezone: "99".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoursesConfig {
    pub identifier: CourseIdentifier,
    pub category_identifier: CategoryIdentifier,
    pub new_categories_visible: bool,
    pub update_existing: bool,
    pub default_format: String,
    pub teacher_identifier: UserIdentifier,
    pub teacher_role: String,
}

impl Default for CoursesConfig {
    fn default() -> Self {
        CoursesConfig {
            identifier: CourseIdentifier::Shortname,
            category_identifier: CategoryIdentifier::Path,
            new_categories_visible: true,
            update_existing: false,
            default_format: "topics".into(),
            teacher_identifier: UserIdentifier::Username,
            teacher_role: "editingteacher".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrolmentsConfig {
    pub user_identifier: UserIdentifier,
    pub course_identifier: CourseIdentifier,
    /// The command of a row whose `cmd` is absent or empty.
    pub default_cmd: EnrolCmd,
}

impl Default for EnrolmentsConfig {
    fn default() -> Self {
        EnrolmentsConfig {
            user_identifier: UserIdentifier::Username,
            course_identifier: CourseIdentifier::Shortname,
            default_cmd: EnrolCmd::Add,
        }
    }
}

/// What a group-member removal does with what it leaves empty.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PurgeEmpty {
    #[default]
    None,
    /// Delete a group its last member left.
    Groups,
    /// Also delete a grouping left without groups.
    Groupings,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GroupsConfig {
    pub course_identifier: CourseIdentifier,
    pub group_identifier: GroupIdentifier,
    pub grouping_identifier: GroupIdentifier,
    pub user_identifier: UserIdentifier,
    pub purge_empty: PurgeEmpty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CohortsConfig {
    pub identifier: CohortIdentifier,
    pub user_identifier: UserIdentifier,
    pub course_identifier: CourseIdentifier,
    /// Create a cohort that a cohorts.csv `add` names and the store lacks.
    pub autocreate: bool,
}

impl Default for CohortsConfig {
    fn default() -> Self {
        CohortsConfig {
            identifier: CohortIdentifier::Idnumber,
            user_identifier: UserIdentifier::Username,
            course_identifier: CourseIdentifier::Shortname,
            autocreate: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PicturesConfig {
    /// The field that an image's file name (without extension) holds.
    pub user_identifier: UserIdentifier,
    /// Replace a picture the user already has.
    pub overwrite: bool,
    /// Limits on an untrusted archive: entries, unpacked total, compression ratio.
    pub max_entries: usize,
    pub max_unpacked_mb: u64,
    pub max_ratio: u64,
    /// Limits on one image: its bytes and its declared dimensions.
    pub max_image_mb: u64,
    pub max_side: u32,
    pub max_megapixels: u64,
}

impl Default for PicturesConfig {
    fn default() -> Self {
        PicturesConfig {
            user_identifier: UserIdentifier::Username,
            overwrite: true,
            max_entries: 20_000,
            max_unpacked_mb: 2048,
            max_ratio: 100,
            max_image_mb: 20,
            max_side: 12_000,
            max_megapixels: 50,
        }
    }
}

/// The external feed: where an SIS drops files, and how old its locks may get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// The folder the external side writes into (tool_sync's `<moodledata>/sync`); absent: no
    /// capture, files are put into inbox/ directly.
    pub drop_folder: Option<PathBuf>,
    /// A lock file older than this raises an alarm.
    pub stale_lock_minutes: u64,
    /// At most one alarm per lock within this period.
    pub alarm_every_minutes: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            drop_folder: None,
            stale_lock_minutes: 180,
            alarm_every_minutes: 1440,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    #[default]
    Smtp,
    Sendmail,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text: a relay on the same host or network only.
    None,
    /// Upgrade with STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// When `cron` mails the administrator a summary of its run.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SummaryMail {
    #[default]
    Never,
    Failure,
    Always,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub smtp_host: String,
    /// 0: the usual port of the TLS mode (25, 587 or 465).
    pub smtp_port: u16,
    pub tls: TlsMode,
    pub from: String,
    /// The administrators; empty: no mail is ever sent.
    pub to: Vec<String>,
    /// SMTP user; the password is read from the environment variable `password_env` or the
    /// file `password_file`, never from this file, and never logged.
    pub username: String,
    pub password_env: String,
    pub password_file: Option<PathBuf>,
    pub sendmail_command: String,
    pub timeout_seconds: u64,
    pub summary: SummaryMail,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: MailTransport::Smtp,
            smtp_host: "localhost".into(),
            smtp_port: 0,
            tls: TlsMode::Starttls,
            from: String::new(),
            to: Vec::new(),
            username: String::new(),
            password_env: String::new(),
            password_file: None,
            sendmail_command: "/usr/sbin/sendmail".into(),
            timeout_seconds: 30,
            summary: SummaryMail::Never,
        }
    }
}

/// Clean-up of old bookkeeping files by `cron`; inputs waiting in inbox/ are never pruned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneConfig {
    /// 0: `cron` prunes nothing.
    pub older_than_days: u64,
    pub reports: bool,
    pub archives: bool,
    pub trybacks: bool,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            older_than_days: 0,
            reports: true,
            archives: true,
            trybacks: true,
        }
    }
}

/// Settings of the embedded store only: what a Moodle site's administrator sets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// Text custom profile fields to create when missing (Moodle's admin does this by hand).
    pub profile_fields: Vec<String>,
    /// The language packs the site has; a new account's language must be one. Empty: any
    /// well-formed code (the store has no packs to check against).
    pub languages: Vec<String>,
    /// Moodle's password policy (`passwordpolicy`, `minpassword*`,
    /// `maxconsecutiveidentchars`), a fresh site's by default.
    pub password_policy: bool,
    pub min_password_length: usize,
    pub min_password_digits: usize,
    pub min_password_lower: usize,
    pub min_password_upper: usize,
    pub min_password_nonalphanum: usize,
    pub max_consecutive_identical_chars: usize,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        let p = crate::plan::password_policy::PasswordPolicy::default();
        EmbeddedConfig {
            profile_fields: Vec::new(),
            languages: Vec::new(),
            password_policy: true,
            min_password_length: p.min_length,
            min_password_digits: p.min_digits,
            min_password_lower: p.min_lower,
            min_password_upper: p.min_upper,
            min_password_nonalphanum: p.min_nonalphanum,
            max_consecutive_identical_chars: p.max_consecutive_identical,
        }
    }
}

impl EmbeddedConfig {
    /// The policy the embedded site applies, if it applies one.
    pub fn policy(&self) -> Option<crate::plan::password_policy::PasswordPolicy> {
        self.password_policy
            .then_some(crate::plan::password_policy::PasswordPolicy {
                min_length: self.min_password_length,
                min_digits: self.min_password_digits,
                min_lower: self.min_password_lower,
                min_upper: self.min_password_upper,
                min_nonalphanum: self.min_password_nonalphanum,
                max_consecutive_identical: self.max_consecutive_identical_chars,
            })
    }
}

/// `moosync serve`, the web console. The login secret is read from the environment variable
/// `secret_env` or the file `secret_file`, never from this file, and never logged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// `address:port`; anything but loopback needs `allow_remote`.
    pub listen: String,
    pub allow_remote: bool,
    pub secret_env: String,
    pub secret_file: Option<PathBuf>,
    /// The largest file the console takes into inbox/.
    pub upload_max_mb: u64,
    /// A session left unused this long ends.
    pub session_minutes: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: "127.0.0.1:8088".into(),
            allow_remote: false,
            secret_env: String::new(),
            secret_file: None,
            upload_max_mb: 50,
            session_minutes: 30,
        }
    }
}

impl WebConfig {
    /// The address to listen on, once `validate` passed.
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }
}

impl Config {
    /// Reads and validates the settings file. A missing file means all defaults.
    pub fn load(path: &Path) -> Result<Config, Failure> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(Failure::new(
                    Code::ConfigUnreadable,
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, Failure> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            Failure::new(
                Code::ConfigInvalid,
                format!("{}: {}", path.display(), describe_toml_error(text, &e)),
            )
        })?;
        cfg.validate(path, text)?;
        Ok(cfg)
    }

    /// Every key's value, with the line and column of a bad one; the rules of Moodle's values
    /// are the ones the commands check rows with (`command::moodle_rules`).
    fn validate(&self, path: &Path, text: &str) -> Result<(), Failure> {
        let places = TomlPlaces::parse(text);
        let fail = |place: String, key: &str, why: &str| {
            Err(Failure::new(
                Code::ConfigInvalid,
                format!("{}: {place}{key} {why}", path.display()),
            ))
        };
        let bad = |key: &str, why: &str| fail(places.at(key), key, why);
        if self.run.batch_size == 0 {
            return bad("[run] batch_size", "must be at least 1");
        }
        if let Some((key, why)) = self.limits.out_of_range() {
            return bad(&key, &why);
        }
        if self.run.workers > RunConfig::MAX_WORKERS {
            return bad(
                "[run] workers",
                &format!(
                    "is {}; it must be between 0 (one per core) and {}",
                    self.run.workers,
                    RunConfig::MAX_WORKERS
                ),
            );
        }
        let t = &self.target;
        if t.kind == TargetKind::Moodle || !t.url.is_empty() {
            if let Some(why) = url_problem(&t.url) {
                return bad("[target] url", &why);
            }
        }
        if t.kind == TargetKind::Moodle && t.token_env.is_empty() == t.token_file.is_empty() {
            return bad(
                "[target] token_env / token_file",
                "name where the web-service token is: exactly one of the two (the token itself never goes in this file)",
            );
        }
        if !t.token_env.is_empty() && !is_env_name(&t.token_env) {
            return bad(
                "[target] token_env",
                &format!("{:?} {NOT_ENV_NAME}", t.token_env),
            );
        }
        if !t.token_file.is_empty() {
            if let Some(why) = file_problem(Path::new(&t.token_file), path) {
                return bad("[target] token_file", &why);
            }
        }
        for (key, value, range) in [
            ("[target] batch_size", t.batch_size as u64, 1..=1000),
            ("[target] parallel", t.parallel as u64, 1..=32),
            ("[target] timeout_seconds", t.timeout_seconds, 1..=3600),
            ("[target] retries", t.retries as u64, 0..=10),
        ] {
            if !range.contains(&value) {
                return bad(key, &between(&range));
            }
        }
        for (name, id) in &t.roles {
            let place = places.at_path(&["target", "roles", name], None);
            let key = format!("[target.roles] {name:?}");
            if !is_role_shortname(name) {
                return fail(place, &key, NOT_ROLE);
            }
            if *id < 1 {
                return fail(
                    place,
                    &key,
                    &format!("= {id}: a role's id on the site is a positive number (Site administration > Users > Define roles)"),
                );
            }
        }
        if !(1..=MAX_FIELD_BYTES).contains(&self.csv.max_field_bytes) {
            return bad("[csv] max_field_bytes", &between(&(1..=MAX_FIELD_BYTES)));
        }
        let u = &self.users;
        if !is_auth_plugin_name(&u.default_auth) {
            return bad(
                "[users] default_auth",
                &format!("{:?} {NOT_AUTH}", u.default_auth),
            );
        }
        if !u.default_lang.is_empty() && !is_lang_code(&u.default_lang) {
            let normal = normalise_lang(&u.default_lang);
            let hint = if is_lang_code(&normal) {
                format!("; write {normal:?}")
            } else {
                String::new()
            };
            return bad(
                "[users] default_lang",
                &format!("{:?} {NOT_LANG}{hint}", u.default_lang),
            );
        }
        if !u.default_country.is_empty() && !is_country_code(&u.default_country) {
            return bad(
                "[users] default_country",
                &format!("{:?} {NOT_COUNTRY}, or empty", u.default_country),
            );
        }
        let city_width = crate::command::user_field_width("city").unwrap_or(120);
        if u.default_city.chars().count() > city_width {
            return bad(
                "[users] default_city",
                &format!("is longer than Moodle's {city_width} characters"),
            );
        }
        if !is_timezone(&u.default_timezone) {
            return bad(
                "[users] default_timezone",
                &format!("{:?} {NOT_TIMEZONE}", u.default_timezone),
            );
        }
        let formats = crate::command::FORMATS;
        if !formats.contains(&self.courses.default_format.as_str()) {
            return bad(
                "[courses] default_format",
                &format!("must be one of {}", formats.join(", ")),
            );
        }
        if self.courses.teacher_role.trim().is_empty() {
            return bad(
                "[courses] teacher_role",
                "must name a role, e.g. \"editingteacher\"",
            );
        }
        if !is_role_shortname(&self.courses.teacher_role) {
            return bad(
                "[courses] teacher_role",
                &format!("{:?} {NOT_ROLE}", self.courses.teacher_role),
            );
        }
        if t.kind == TargetKind::Moodle && !t.roles.contains_key(&self.courses.teacher_role) {
            return bad(
                "[courses] teacher_role",
                &format!(
                    "{:?} is not in [target.roles]; add it there with its id on the site",
                    self.courses.teacher_role
                ),
            );
        }
        let p = &self.pictures;
        for (key, zero) in [
            ("max_entries", p.max_entries == 0),
            ("max_unpacked_mb", p.max_unpacked_mb == 0),
            ("max_ratio", p.max_ratio == 0),
            ("max_image_mb", p.max_image_mb == 0),
            ("max_side", p.max_side == 0),
            ("max_megapixels", p.max_megapixels == 0),
        ] {
            if zero {
                return bad(&format!("[pictures] {key}"), "must be at least 1");
            }
        }
        for (key, value, max) in [
            ("max_entries", p.max_entries as u64, 1_000_000),
            ("max_unpacked_mb", p.max_unpacked_mb, 1_048_576),
            ("max_ratio", p.max_ratio, 10_000),
            ("max_image_mb", p.max_image_mb, 1024),
            ("max_side", p.max_side as u64, 65_535),
            ("max_megapixels", p.max_megapixels, 1000),
        ] {
            if value > max {
                return bad(&format!("[pictures] {key}"), &between(&(1..=max)));
            }
        }
        if let Some(folder) = &self.feed.drop_folder {
            if let Some(why) = folder_problem(folder) {
                return bad("[feed] drop_folder", &why);
            }
        }
        for (key, value) in [
            ("[feed] stale_lock_minutes", self.feed.stale_lock_minutes),
            ("[feed] alarm_every_minutes", self.feed.alarm_every_minutes),
        ] {
            if !(1..=MINUTES_A_YEAR).contains(&value) {
                return bad(key, &between(&(1..=MINUTES_A_YEAR)));
            }
        }
        let m = &self.mail;
        // An empty host matters only when mail goes by SMTP to someone.
        if !m.smtp_host.is_empty() || (m.transport == MailTransport::Smtp && !m.to.is_empty()) {
            if let Some(why) = host_problem(&m.smtp_host) {
                return bad("[mail] smtp_host", &why);
            }
        }
        if !m.from.trim().is_empty() {
            if let Some(why) = crate::mail::address_problem(&m.from) {
                return bad("[mail] from", &format!("{:?} {why}", m.from));
            }
        }
        for (i, to) in m.to.iter().enumerate() {
            if let Some(why) = crate::mail::address_problem(to) {
                return bad(&format!("[mail] to[{i}]"), &format!("{to:?} {why}"));
            }
        }
        if !self.mail.to.is_empty() && self.mail.from.trim().is_empty() {
            return bad("[mail] from", "must be set when [mail] to names anyone");
        }
        if !self.mail.username.is_empty()
            && self.mail.password_env.is_empty()
            && self.mail.password_file.is_none()
        {
            return bad(
                "[mail] username",
                "needs password_env or password_file (the password is never kept in this file)",
            );
        }
        if !m.password_env.is_empty() && !is_env_name(&m.password_env) {
            return bad(
                "[mail] password_env",
                &format!("{:?} {NOT_ENV_NAME}", m.password_env),
            );
        }
        if let Some(file) = &m.password_file {
            if let Some(why) = file_problem(file, path) {
                return bad("[mail] password_file", &why);
            }
        }
        let command = m.sendmail_command.trim();
        if (m.transport == MailTransport::Sendmail && command.is_empty())
            || command.contains(char::is_whitespace)
        {
            return bad(
                "[mail] sendmail_command",
                &format!(
                    "{:?} must be the sendmail program's path, without arguments, e.g. \"/usr/sbin/sendmail\"",
                    m.sendmail_command
                ),
            );
        }
        if !(1..=600).contains(&m.timeout_seconds) {
            return bad("[mail] timeout_seconds", &between(&(1..=600)));
        }
        if self.prune.older_than_days > 36_500 {
            return bad(
                "[prune] older_than_days",
                "must be between 0 (never) and 36500 days",
            );
        }
        let web = &self.web;
        match web.address() {
            None => {
                return bad(
                    "[web] listen",
                    &format!(
                        "{:?} must be an address and a port, e.g. \"127.0.0.1:8088\"",
                        web.listen
                    ),
                )
            }
            Some(a) if !a.ip().is_loopback() && !web.allow_remote => {
                return bad(
                    "[web] listen",
                    &format!(
                        "{:?} is not a loopback address: set [web] allow_remote = true to listen there, behind a reverse proxy that adds TLS (see the README)",
                        web.listen
                    ),
                )
            }
            Some(_) => {}
        }
        if !web.secret_env.is_empty() && !is_env_name(&web.secret_env) {
            return bad(
                "[web] secret_env",
                &format!("{:?} {NOT_ENV_NAME}", web.secret_env),
            );
        }
        if let Some(file) = &web.secret_file {
            if let Some(why) = file_problem(file, path) {
                return bad("[web] secret_file", &why);
            }
        }
        if !(1..=1024).contains(&web.upload_max_mb) {
            return bad("[web] upload_max_mb", &between(&(1..=1024)));
        }
        if !(1..=1440).contains(&web.session_minutes) {
            return bad("[web] session_minutes", &between(&(1..=1440)));
        }
        for (i, l) in self.embedded.languages.iter().enumerate() {
            if !is_lang_code(l) {
                return bad(
                    &format!("[embedded] languages[{i}]"),
                    &format!("entry {l:?} {NOT_LANG}"),
                );
            }
        }
        let e = &self.embedded;
        for (key, v) in [
            ("min_password_length", e.min_password_length),
            ("min_password_digits", e.min_password_digits),
            ("min_password_lower", e.min_password_lower),
            ("min_password_upper", e.min_password_upper),
            ("min_password_nonalphanum", e.min_password_nonalphanum),
            (
                "max_consecutive_identical_chars",
                e.max_consecutive_identical_chars,
            ),
        ] {
            if v > 1000 {
                return bad(&format!("[embedded] {key}"), &between(&(0..=1000)));
            }
        }
        for (i, f) in self.embedded.profile_fields.iter().enumerate() {
            if !is_profile_field_shortname(f) {
                return bad(
                    &format!("[embedded] profile_fields[{i}]"),
                    &format!("entry {f:?} {NOT_PROFILE_FIELD}"),
                );
            }
        }
        Ok(())
    }
}

/// Longest accepted `[csv] max_field_bytes`: a field is held whole in memory.
const MAX_FIELD_BYTES: usize = 16 * 1024 * 1024;
const MINUTES_A_YEAR: u64 = 365 * 24 * 60;
const NOT_ENV_NAME: &str =
    "is not an environment variable's name: letters, digits and _, not starting with a digit";

fn between(range: &std::ops::RangeInclusive<impl std::fmt::Display>) -> String {
    format!("must be between {} and {}", range.start(), range.end())
}

fn is_env_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Why a Moodle site's address will not do, or None: `https://moodle.example.edu`, maybe
/// with a port and a path to the site, nothing after.
fn url_problem(url: &str) -> Option<String> {
    const EXAMPLE: &str = "e.g. \"https://moodle.example.edu\"";
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Some(format!(
            "{url:?} must be the Moodle site's address, {EXAMPLE}"
        ));
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    if host.is_empty() {
        return Some(format!("{url:?} names no host; {EXAMPLE}"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains(['?', '#']) {
        return Some(format!(
            "{url:?} must be the site's address alone (no spaces, no ?query or #part), {EXAMPLE}"
        ));
    }
    if rest.contains("/webservice") || rest.ends_with(".php") {
        return Some(format!(
            "{url:?} must be the site's address, without /webservice/... or a .php page, {EXAMPLE}"
        ));
    }
    None
}

/// Why a host name for SMTP will not do, or None.
fn host_problem(host: &str) -> Option<String> {
    if host.trim().is_empty() {
        return Some("is empty; name the mail server, e.g. \"mail.example.org\"".into());
    }
    let ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'));
    (!ok).then(|| {
        format!("{host:?} is not a host name or address; the port goes in smtp_port, e.g. \"mail.example.org\"")
    })
}

/// Why a file that holds a secret (a token, a password) is not named well, or None: an
/// absolute path (a relative one depends on where moosync is started), never this file.
fn file_problem(file: &Path, settings: &Path) -> Option<String> {
    if file.as_os_str().is_empty() || file.to_string_lossy().contains('\0') {
        return Some("must name a file by its absolute path".into());
    }
    if !file.is_absolute() {
        return Some(format!(
            "{:?} must be an absolute path (under cron a relative one is read from wherever moosync starts)",
            file.display().to_string()
        ));
    }
    let same = match (file.canonicalize(), settings.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => file == settings,
    };
    same.then(|| "must not be the settings file: the secret never goes in it".into())
}

/// Why a drop folder setting will not do, or None.
fn folder_problem(folder: &Path) -> Option<String> {
    if folder.as_os_str().is_empty() || folder.to_string_lossy().contains('\0') {
        return Some(
            "is empty; name the folder (relative to the data folder, or absolute), or remove the key"
                .into(),
        );
    }
    None
}

impl Config {
    /// The settings scripts may read with `setting("section.key")`: how each tool's files name
    /// things, which decides which column holds a key.
    pub fn script_settings(&self) -> rhai::Map {
        let pairs = [
            ("users.identifier", self.users.identifier.column()),
            ("courses.identifier", self.courses.identifier.column()),
            (
                "enrolments.user_identifier",
                self.enrolments.user_identifier.column(),
            ),
            (
                "enrolments.course_identifier",
                self.enrolments.course_identifier.column(),
            ),
            (
                "groups.course_identifier",
                self.groups.course_identifier.column(),
            ),
            (
                "groups.user_identifier",
                self.groups.user_identifier.column(),
            ),
            ("cohorts.identifier", self.cohorts.identifier.column()),
            (
                "cohorts.user_identifier",
                self.cohorts.user_identifier.column(),
            ),
            (
                "cohorts.course_identifier",
                self.cohorts.course_identifier.column(),
            ),
            (
                "pictures.user_identifier",
                self.pictures.user_identifier.column(),
            ),
        ];
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }
}

/// Renders a TOML error as "line L, column C: message" so the admin can find the key.
pub fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            // A value of the wrong type or form: say whose, as the checks of values do.
            match TomlPlaces::parse(text).key_at(span.start) {
                Some(key) => format!("line {line}, column {col}: {key}: {msg}"),
                None => format!("line {line}, column {col}: {msg}"),
            }
        }
        None => msg,
    }
}

/// The commented settings file that `init` writes.
pub const DEFAULT_TOML: &str = include_str!("moosync.default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_parses_to_defaults() {
        let c = Config::parse(DEFAULT_TOML, Path::new("moosync.toml")).unwrap();
        assert_eq!(c.csv.delimiter, Delimiter(b';'));
        assert_eq!(c.csv.encoding, Encoding::Utf8);
        assert_eq!(c.users.identifier, UserIdentifier::Username);
        assert!(c.output.reports && c.output.trybacks && c.output.archive);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = "[csv]\ndelimiter = \",\"\n\n[users]\nidentifer = \"email\"\n";
        let e = Config::parse(text, Path::new("m.toml")).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
        assert!(e.message.contains("line 5"), "{}", e.message);
        assert!(e.message.contains("identifer"), "{}", e.message);
    }

    #[test]
    fn bad_values_are_refused() {
        for text in [
            "[csv]\ndelimiter = \";;\"\n",
            "[csv]\nencoding = \"utf-16\"\n",
            "[users]\nidentifier = \"phone\"\n",
            "[run]\nbatch_size = 0\n",
            "[courses]\ndefault_format = \"grid\"\n",
            "[courses]\ncategory_identifier = \"name\"\n",
            "[courses]\nupdate_existng = true\n",
            "[target]\nkind = \"moodle\"\ntoken_env = \"T\"\n",
            "[target]\nkind = \"moodle\"\nurl = \"https://m.example\"\n",
            "[target]\nkind = \"moodle\"\nurl = \"https://m.example\"\ntoken_env = \"T\"\ntoken_file = \"/t\"\n",
            "[target]\nkind = \"moodle\"\nurl = \"https://m.example\"\ntoken_env = \"T\"\nbatch_size = 0\n",
            "[target]\ntoken = \"secret\"\n",
            "[limits]\nmax_string_bytes = 0\n",
            "[limits]\nmax_array_size = 0\n",
            "[limits]\nmax_map_size = 0\n",
            "[limits]\nmax_call_levels = 100000\n",
            "[limits]\nmax_array_size = 10001\n",
            "[limits]\nmax_memory_mb = 0\n",
            "[run]\nworkers = 100000\n",
        ] {
            assert!(Config::parse(text, Path::new("m.toml")).is_err(), "{text}");
        }
        let c = Config::parse(
            "[csv]\nencoding = \"windows-1252\"\ndelimiter = \"tab\"\n",
            Path::new("m"),
        )
        .unwrap();
        assert_eq!(c.csv.encoding, Encoding::Windows1252);
        assert_eq!(c.csv.delimiter, Delimiter(b'\t'));
    }
}

#[cfg(test)]
#[path = "config_keys_tests.rs"]
mod keys_tests;
