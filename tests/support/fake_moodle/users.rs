//! The fake site's `mdl_user` table in memory, with the indexes a 100,000-user benchmark needs
//! (username, lower-case email, idnumber: no scan per item), Moodle's soft delete, and the two
//! views of a row: the stored record (for test assertions) and the `user_description` the web
//! service returns (file 013: empty optional fields left out, `department` always present).

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// How a column reads in the stored record: text, a number, or a 0/1 flag shown as a bool.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Flag,
}

/// One `mdl_user` column: its default and the `varchar` length Postgres enforces (0 = none).
pub struct Column {
    pub name: &'static str,
    pub default: &'static str,
    pub max: usize,
    pub kind: Kind,
}

const fn col(name: &'static str, default: &'static str, max: usize, kind: Kind) -> Column {
    Column {
        name,
        default,
        max,
        kind,
    }
}
const fn text(name: &'static str, max: usize) -> Column {
    col(name, "", max, Kind::Text)
}
const fn int(name: &'static str, default: &'static str) -> Column {
    col(name, default, 0, Kind::Int)
}
const fn flag(name: &'static str, default: &'static str) -> Column {
    col(name, default, 0, Kind::Flag)
}

/// install.xml's `user` table (moodle.md §3.1), plus `interests` (tags, kept here for reading).
/// `confirmed` defaults to 1: every account made by the web service or seeded is confirmed.
pub const COLUMNS: &[Column] = &[
    col("auth", "manual", 20, Kind::Text),
    flag("confirmed", "1"),
    flag("policyagreed", "0"),
    flag("suspended", "0"),
    int("mnethostid", "1"),
    text("username", 100),
    text("password", 255),
    text("idnumber", 255),
    text("firstname", 100),
    text("lastname", 100),
    text("email", 100),
    flag("emailstop", "0"),
    text("phone1", 20),
    text("phone2", 20),
    text("institution", 255),
    text("department", 255),
    text("address", 255),
    text("city", 120),
    text("country", 2),
    col("lang", "en", 30, Kind::Text),
    col("calendartype", "gregorian", 30, Kind::Text),
    text("theme", 50),
    col("timezone", "99", 100, Kind::Text),
    int("firstaccess", "0"),
    int("lastaccess", "0"),
    int("lastlogin", "0"),
    int("currentlogin", "0"),
    int("picture", "0"),
    text("description", 0),
    int("descriptionformat", "1"),
    int("mailformat", "1"),
    int("maildigest", "0"),
    int("maildisplay", "2"),
    flag("autosubscribe", "1"),
    flag("trackforums", "0"),
    int("timecreated", "0"),
    int("timemodified", "0"),
    text("firstnamephonetic", 255),
    text("lastnamephonetic", 255),
    text("middlename", 255),
    text("alternatename", 255),
    text("interests", 0),
];

pub fn column(name: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// The site admins (`$CFG->siteadmins`) and the guest (`$CFG->siteguest`).
pub const ADMIN_ID: i64 = 2;
pub const GUEST_ID: i64 = 1;

/// One row. Only columns that differ from their default are stored, which keeps 100,000
/// users small; `get` fills in the default.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub id: i64,
    pub deleted: bool,
    cols: Vec<(&'static str, String)>,
    /// Custom profile field data by shortname (`user_info_data`).
    pub customfields: Vec<(String, String)>,
    pub preferences: Vec<(String, String)>,
}

impl User {
    pub fn get(&self, name: &str) -> &str {
        match self.cols.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => v,
            None => column(name).map_or("", |c| c.default),
        }
    }

    /// Panics on an unknown column: only the fake's own code and seeding call this.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let col = column(name).unwrap_or_else(|| panic!("fake Moodle: no user column {name}"));
        let value = value.into();
        match self.cols.iter().position(|(k, _)| *k == col.name) {
            Some(at) => self.cols[at].1 = value,
            None => self.cols.push((col.name, value)),
        }
    }

    pub fn set_customfield(&mut self, shortname: &str, value: &str) {
        match self.customfields.iter_mut().find(|(k, _)| k == shortname) {
            Some(slot) => slot.1 = value.to_string(),
            None => self
                .customfields
                .push((shortname.to_string(), value.to_string())),
        }
    }

    pub fn set_preference(&mut self, name: &str, value: &str) {
        match self.preferences.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.preferences.push((name.to_string(), value.to_string())),
        }
    }

    /// The first column whose value is longer than its `varchar`: the insert would fail.
    pub fn too_long(&self) -> bool {
        self.cols
            .iter()
            .any(|(k, v)| column(k).is_some_and(|c| c.max > 0 && v.chars().count() > c.max))
    }
}

pub struct Site {
    users: BTreeMap<i64, User>,
    by_username: HashMap<String, i64>,
    by_email: HashMap<String, Vec<i64>>,
    by_idnumber: HashMap<String, Vec<i64>>,
    next_id: i64,
    /// (shortname, name) of the custom profile fields, all of datatype `text`.
    pub profile_fields: Vec<(String, String)>,
    /// Courses, enrolments and course role assignments (see `courses`).
    pub courses: super::courses::Courses,
    /// Categories and cohorts (see `cohorts`).
    pub cohorts: super::cohorts::Cohorts,
    /// Course groups and groupings (see `groups`).
    pub groups: super::groups::Groups,
    /// Draft files and user pictures (see `files`).
    pub files: super::files::Files,
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Site {
    /// A fresh install: guest (1) and admin (2), as `lib/db/install.php` makes them.
    pub fn new(first_user_id: i64, profile_fields: Vec<(String, String)>) -> Site {
        let mut site = Site {
            users: BTreeMap::new(),
            by_username: HashMap::new(),
            by_email: HashMap::new(),
            by_idnumber: HashMap::new(),
            next_id: first_user_id.max(ADMIN_ID + 1),
            profile_fields,
            courses: Default::default(),
            cohorts: Default::default(),
            groups: Default::default(),
            files: Default::default(),
        };
        let mut guest = User {
            id: GUEST_ID,
            ..User::default()
        };
        for (k, v) in [
            ("username", "guest"),
            ("firstname", "Guest user"),
            ("lastname", " "),
            ("email", "root@localhost"),
            (
                "description",
                "This user is a special user that allows read-only access to some courses.",
            ),
        ] {
            guest.set(k, v);
        }
        let mut admin = User {
            id: ADMIN_ID,
            ..User::default()
        };
        for (k, v) in [
            ("username", "admin"),
            ("firstname", "Admin"),
            ("lastname", "User"),
            ("email", "admin@example.com"),
        ] {
            admin.set(k, v);
        }
        site.insert(guest);
        site.insert(admin);
        site
    }

    pub fn get(&self, id: i64) -> Option<&User> {
        self.users.get(&id)
    }

    /// Every row, deleted ones included (their usernames were rewritten), like the DB.
    pub fn id_by_username(&self, username: &str) -> Option<i64> {
        self.by_username.get(username).copied()
    }

    pub fn ids_by_email_ci(&self, email: &str) -> &[i64] {
        self.by_email.get(&email.to_lowercase()).map_or(&[], |v| v)
    }

    pub fn ids_by_idnumber(&self, idnumber: &str) -> &[i64] {
        self.by_idnumber.get(idnumber).map_or(&[], |v| v)
    }

    /// Whether a live user other than `except` has this email, compared case-insensitively.
    pub fn email_taken(&self, email: &str, except: Option<i64>) -> bool {
        self.ids_by_email_ci(email)
            .iter()
            .any(|id| Some(*id) != except && self.users.get(id).is_some_and(|u| !u.deleted))
    }

    pub fn live(&self) -> impl Iterator<Item = &User> {
        self.users.values().filter(|u| !u.deleted)
    }

    /// Inserts with the next id when `user.id` is 0. Panics on a duplicate username or id,
    /// which the DB's unique index would refuse (callers check first).
    pub fn insert(&mut self, mut user: User) -> i64 {
        if user.id == 0 {
            user.id = self.next_id;
        }
        assert!(
            !self.users.contains_key(&user.id),
            "fake Moodle: user id {} exists",
            user.id
        );
        assert!(
            !self.by_username.contains_key(user.get("username")),
            "fake Moodle: username {} exists",
            user.get("username")
        );
        self.next_id = self.next_id.max(user.id + 1);
        let id = user.id;
        self.index(&user);
        self.users.insert(id, user);
        id
    }

    /// Changes one row and keeps the indexes right.
    pub fn update(&mut self, id: i64, change: impl FnOnce(&mut User)) {
        let mut user = self.users.remove(&id).expect("update of a missing user");
        self.unindex(&user);
        change(&mut user);
        self.index(&user);
        self.users.insert(id, user);
    }

    fn index(&mut self, u: &User) {
        self.by_username.insert(u.get("username").to_string(), u.id);
        let email = u.get("email").to_lowercase();
        if !email.is_empty() {
            self.by_email.entry(email).or_default().push(u.id);
        }
        let idnumber = u.get("idnumber");
        if !idnumber.is_empty() {
            self.by_idnumber
                .entry(idnumber.to_string())
                .or_default()
                .push(u.id);
        }
    }

    fn unindex(&mut self, u: &User) {
        self.by_username.remove(u.get("username"));
        fn drop_id(map: &mut HashMap<String, Vec<i64>>, key: &str, id: i64) {
            if let Some(ids) = map.get_mut(key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    map.remove(key);
                }
            }
        }
        drop_id(&mut self.by_email, &u.get("email").to_lowercase(), u.id);
        drop_id(&mut self.by_idnumber, u.get("idnumber"), u.id);
    }

    /// `delete_user` (moodle.md §4.6): the row stays, username becomes
    /// `<email or username.id@unknownemail.invalid>.<time>` (cleaned, cut to fit 100 chars,
    /// bumped while taken), email md5(old username), idnumber and profile data cleared.
    pub fn soft_delete(&mut self, id: i64) {
        let user = &self.users[&id];
        let old_username = user.get("username").to_string();
        let email = user.get("email");
        let source = if email.is_empty() {
            format!("{old_username}.{id}@unknownemail.invalid")
        } else {
            email.to_string()
        };
        let cleaned: String = source
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| super::params::username_char(*c))
            .collect();
        let mut time = now();
        let stem: String = cleaned
            .chars()
            .take(100 - (time.to_string().len() + 1))
            .collect();
        while self.by_username.contains_key(&format!("{stem}.{time}")) {
            time += 1;
        }
        let new_username = format!("{stem}.{time}");
        let md5 = md5_hex(&old_username);
        self.courses.forget_user(id);
        self.cohorts.forget_user(id);
        self.groups.forget_user(id, None);
        self.files.pictures.remove(&id);
        self.update(id, |u| {
            u.deleted = true;
            u.set("username", new_username);
            u.set("email", md5);
            u.set("idnumber", "");
            u.set("picture", "0");
            u.set("timemodified", now().to_string());
            u.customfields.clear();
            u.preferences.clear();
        });
    }

    /// The stored row for assertions: every column (numbers as numbers, 0/1 flags such as
    /// `suspended` and `deleted` as booleans), and `customfields`/`preferences` as
    /// `{name: value}` objects. `password` is the plain text sent (or "" / "not cached").
    pub fn record(&self, u: &User) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(u.id));
        m.insert("deleted".into(), json!(u.deleted));
        for c in COLUMNS {
            let v = u.get(c.name);
            let value = match (c.kind, v.parse::<i64>()) {
                (Kind::Int, Ok(n)) => json!(n),
                (Kind::Flag, Ok(n)) => json!(n != 0),
                _ => json!(v),
            };
            m.insert(c.name.into(), value);
        }
        let obj = |pairs: &[(String, String)]| {
            Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
        };
        m.insert("customfields".into(), obj(&u.customfields));
        m.insert("preferences".into(), obj(&u.preferences));
        Value::Object(m)
    }

    /// `user_get_user_details` as the admin sees it, cleaned against `user_description`.
    pub fn details<'a>(&'a self, u: &'a User, base: &str) -> Details<'a> {
        let num = |k: &str| u.get(k).parse::<i64>().unwrap_or(0);
        let description = Some(u.get("description")).filter(|d| !d.is_empty());
        let (big, small) = super::files::image_urls(base, u.id, u.get("picture"));
        Details {
            id: u.id,
            username: u.get("username"),
            firstname: u.get("firstname"),
            lastname: u.get("lastname"),
            fullname: format!("{} {}", u.get("firstname"), u.get("lastname")),
            email: u.get("email"),
            address: u.get("address"),
            phone1: u.get("phone1"),
            phone2: u.get("phone2"),
            department: u.get("department"),
            institution: u.get("institution"),
            idnumber: u.get("idnumber"),
            interests: u.get("interests"),
            firstaccess: num("firstaccess"),
            lastaccess: num("lastaccess"),
            auth: u.get("auth"),
            suspended: u.get("suspended") == "1",
            confirmed: u.get("confirmed") == "1",
            lang: u.get("lang"),
            theme: u.get("theme"),
            timezone: u.get("timezone"),
            mailformat: num("mailformat"),
            description,
            descriptionformat: description.map(|_| num("descriptionformat")),
            city: u.get("city"),
            country: u.get("country"),
            profileimageurlsmall: small,
            profileimageurl: big,
            customfields: self
                .profile_fields
                .iter()
                .filter_map(|(short, name)| {
                    let (_, value) = u
                        .customfields
                        .iter()
                        .find(|(k, v)| k == short && !v.is_empty())?;
                    Some(CustomField {
                        kind: "text",
                        value,
                        displayvalue: value,
                        name,
                        shortname: short,
                    })
                })
                .collect(),
        }
    }
}

fn empty(s: &&str) -> bool {
    s.is_empty()
}

/// A user as `core_user_get_users_by_field` returns it (file 013), in `user_description`'s
/// key order: empty optional fields left out (`department` is `isset` in Moodle, so always
/// there), `suspended`/`confirmed` booleans, `timezone` a string, custom fields only with a
/// value, no preferences (Moodle shows those to the user themself only). Borrows the row
/// so that answering 100 users does not build 100 JSON trees.
#[derive(Serialize)]
pub struct Details<'a> {
    id: i64,
    username: &'a str,
    firstname: &'a str,
    lastname: &'a str,
    fullname: String,
    email: &'a str,
    #[serde(skip_serializing_if = "empty")]
    address: &'a str,
    #[serde(skip_serializing_if = "empty")]
    phone1: &'a str,
    #[serde(skip_serializing_if = "empty")]
    phone2: &'a str,
    department: &'a str,
    #[serde(skip_serializing_if = "empty")]
    institution: &'a str,
    #[serde(skip_serializing_if = "empty")]
    idnumber: &'a str,
    #[serde(skip_serializing_if = "empty")]
    interests: &'a str,
    firstaccess: i64,
    lastaccess: i64,
    auth: &'a str,
    suspended: bool,
    confirmed: bool,
    lang: &'a str,
    theme: &'a str,
    timezone: &'a str,
    mailformat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    descriptionformat: Option<i64>,
    #[serde(skip_serializing_if = "empty")]
    city: &'a str,
    #[serde(skip_serializing_if = "empty")]
    country: &'a str,
    profileimageurlsmall: String,
    profileimageurl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    customfields: Vec<CustomField<'a>>,
}

#[derive(Serialize)]
pub struct CustomField<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
    displayvalue: &'a str,
    name: &'a str,
    shortname: &'a str,
}

fn md5_hex(s: &str) -> String {
    md5_hex_bytes(s.as_bytes())
}

pub fn md5_hex_bytes(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
