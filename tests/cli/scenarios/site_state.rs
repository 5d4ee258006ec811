//! The normalized site state: one definition, read the same way on both backends.
//!
//! The state is read with SQL over Moodle's own tables, the same query text on the embedded
//! store (`moodle.db`, SQLite) and on the lab Moodle's PostgreSQL (read-only, `psql -At`).
//! The issue allowed web services or read-only SQL on the Moodle side; SQL on both sides is
//! one normalizer instead of two, and it sees what Moodle's web services never show:
//! enrolment status and dates, the component of a role assignment or group membership, the
//! cohort or master course an enrol instance points at, disabled instances, a grouping's
//! groups, a deleted account's remains.
//!
//! Every query keeps to the scenario's prefix (usernames, course shortnames, category names
//! and idnumbers, cohort idnumbers and names all start with it), so parallel runs and earlier
//! runs on the shared lab stay out. Ids never print: rows name what they point at (username,
//! course shortname, category path, cohort idnumber, role shortname, enrol method), lines
//! are sorted, a section with no line is left out, and the prefix prints as `{P}`.
//!
//! Left out, because they differ by design and say nothing about what a feed did: ids, times
//! of creation and modification, password hashes (salted; a REST-created account without a
//! password gets a random one from Moodle), sort orders, picture bytes and file hashes
//! (Moodle renders avatars with GD, the embedded store with its own resizer, so only "has a
//! picture" is compared), and the embedded store's hidden `userpicturehash` profile field
//! (its bookkeeping of the last image fed; the REST target keeps that in `remote.db`).
//! Dates print in UTC; one within two days of now prints `[now]` (a default of "today").

use super::site_db::SiteDb;
use std::collections::BTreeMap;

/// The state of everything the prefix names, as sorted text lines under section headings.
pub fn read(db: &SiteDb, prefix: &str) -> String {
    let p = |sql: &str| with_joins(sql).replace("{P}", prefix);
    let categories = Categories::read(db);
    let mut out = String::new();

    let users = db.rows(&p(USERS));
    section(&mut out, "users", users.iter().map(|r| user_line(r)));

    let profile = db.rows(&p(PROFILE));
    section(
        &mut out,
        "profile fields",
        profile
            .iter()
            .map(|r| format!("{} {}={}", r[0], r[1], r[2])),
    );

    section(
        &mut out,
        "categories",
        categories.by_id.keys().filter_map(|id| {
            let path = categories.path(*id);
            let c = &categories.by_id[id];
            (path.starts_with(prefix) || c.idnumber.starts_with(prefix))
                .then(|| format!("{path} idnumber={} visible={}", c.idnumber, c.visible))
        }),
    );

    let courses = db.rows(&p(COURSES));
    section(
        &mut out,
        "courses",
        courses.iter().map(|r| {
            fields(
                &r[0],
                &[
                    ("fullname", r[1].clone()),
                    ("idnumber", r[2].clone()),
                    ("category", categories.path_of(&r[3])),
                    ("visible", r[4].clone()),
                    ("format", r[5].clone()),
                    ("startdate", date(&r[6])),
                    ("enddate", date(&r[7])),
                    ("summary", r[8].clone()),
                    ("lang", r[9].clone()),
                    ("groupmode", r[10].clone()),
                    ("groupmodeforce", r[11].clone()),
                    ("showgrades", r[12].clone()),
                    ("newsitems", r[13].clone()),
                    ("enablecompletion", r[14].clone()),
                ],
            )
        }),
    );

    let sections = db.rows(&p(SECTIONS));
    section(
        &mut out,
        "named sections",
        sections.iter().map(|r| {
            fields(
                &format!("{} #{}", r[0], r[1]),
                &[("name", r[2].clone()), ("summary", r[3].clone())],
            )
        }),
    );

    let instances = db.rows(&p(ENROL_INSTANCES));
    section(
        &mut out,
        "enrol instances",
        instances.iter().map(|r| {
            fields(
                &format!("{} {}", r[0], instance(&r[1], &r[2], &r[3])),
                &[
                    ("status", r[4].clone()),
                    ("role", r[5].clone()),
                    ("group", r[6].clone()),
                    ("enrolstartdate", date(&r[7])),
                    ("enrolenddate", date(&r[8])),
                ],
            )
        }),
    );

    let enrolments = db.rows(&p(USER_ENROLMENTS));
    section(
        &mut out,
        "user enrolments",
        enrolments.iter().map(|r| {
            fields(
                &format!("{} {} {}", r[0], instance(&r[1], &r[2], &r[3]), r[4]),
                &[
                    ("status", r[5].clone()),
                    ("timestart", date(&r[6])),
                    ("timeend", date(&r[7])),
                ],
            )
        }),
    );

    let roles = db.rows(&p(COURSE_ROLES));
    section(
        &mut out,
        "course role assignments",
        roles.iter().map(|r| {
            let by = if r[3].is_empty() {
                String::new()
            } else {
                format!(" by {}", instance(&r[4], &r[5], &r[6]))
            };
            format!("{} {} {} component={}{by}", r[0], r[1], r[2], r[3])
        }),
    );

    let groups = db.rows(&p(GROUPS));
    section(
        &mut out,
        "groups",
        groups.iter().map(|r| {
            fields(
                &format!("{} {}", r[0], r[1]),
                &[("idnumber", r[2].clone()), ("description", r[3].clone())],
            )
        }),
    );
    let groupings = db.rows(&p(GROUPINGS));
    section(
        &mut out,
        "groupings",
        groupings.iter().map(|r| {
            fields(
                &format!("{} {}", r[0], r[1]),
                &[("idnumber", r[2].clone()), ("description", r[3].clone())],
            )
        }),
    );
    let grouping_groups = db.rows(&p(GROUPING_GROUPS));
    section(
        &mut out,
        "grouping groups",
        grouping_groups
            .iter()
            .map(|r| format!("{} {} > {}", r[0], r[1], r[2])),
    );
    let members = db.rows(&p(GROUP_MEMBERS));
    section(
        &mut out,
        "group members",
        members
            .iter()
            .map(|r| format!("{} {} {} component={}", r[0], r[1], r[2], r[3])),
    );

    let cohorts = db.rows(&p(COHORTS));
    section(
        &mut out,
        "cohorts",
        cohorts.iter().map(|r| {
            let context = match r[3].as_str() {
                "10" => "system".to_string(),
                "40" => categories.path_of(&r[4]),
                other => format!("context level {other}"),
            };
            fields(
                &cohort_label(&r[0], &r[1]),
                &[
                    ("name", r[1].clone()),
                    ("description", r[2].clone()),
                    ("context", context),
                    ("visible", r[5].clone()),
                    ("component", r[6].clone()),
                ],
            )
        }),
    );
    let cohort_members = db.rows(&p(COHORT_MEMBERS));
    section(
        &mut out,
        "cohort members",
        cohort_members
            .iter()
            .map(|r| format!("{} {}", cohort_label(&r[0], &r[1]), r[2])),
    );

    out.replace(prefix, "{P}")
}

/// Users the prefix names. A deleted account keeps its row with the username
/// `<email>.<time>`, so an e-mail starting with the prefix keeps it in view.
const USERS: &str = "SELECT u.username, u.auth, u.suspended, u.deleted, u.idnumber, u.firstname, \
     u.lastname, u.email, u.institution, u.department, u.city, u.country, u.lang, u.timezone, \
     u.phone1, u.phone2, u.address, u.description, u.maildisplay, u.mailformat, \
     CASE WHEN u.picture <> 0 THEN 1 ELSE 0 END \
     FROM mdl_user u WHERE u.username LIKE '{P}%'";

fn user_line(r: &[String]) -> String {
    let deleted = r[3] == "1";
    let mut username = r[0].clone();
    let mut email = r[7].clone();
    if deleted {
        // delete_user(): the username becomes `<email>.<time>`, the e-mail the MD5 of the old
        // username. The time and the hash differ run by run: their shape is what matters.
        if let Some((head, tail)) = username.rsplit_once('.') {
            if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
                username = format!("{head}.[time]");
            }
        }
        if email.len() == 32 && email.chars().all(|c| c.is_ascii_hexdigit()) {
            email = "[md5 of the old username]".to_string();
        }
    }
    let names = [
        "auth",
        "suspended",
        "deleted",
        "idnumber",
        "firstname",
        "lastname",
        "email",
        "institution",
        "department",
        "city",
        "country",
        "lang",
        "timezone",
        "phone1",
        "phone2",
        "address",
        "description",
        "maildisplay",
        "mailformat",
        "picture",
    ];
    let values: Vec<(&str, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                *n,
                if *n == "email" {
                    email.clone()
                } else {
                    r[i + 1].clone()
                },
            )
        })
        .collect();
    fields(&username, &values)
}

const PROFILE: &str = "SELECT u.username, f.shortname, d.data FROM mdl_user_info_data d \
     JOIN mdl_user u ON u.id = d.userid JOIN mdl_user_info_field f ON f.id = d.fieldid \
     WHERE u.username LIKE '{P}%' AND f.shortname <> 'userpicturehash'";

const COURSES: &str = "SELECT c.shortname, c.fullname, c.idnumber, c.category, c.visible, \
     c.format, c.startdate, c.enddate, c.summary, c.lang, c.groupmode, c.groupmodeforce, \
     c.showgrades, c.newsitems, c.enablecompletion \
     FROM mdl_course c WHERE c.shortname LIKE '{P}%'";

/// Sections that carry a name or a summary (Moodle's create_course also makes the unnamed
/// sections of the course format's default count, which a feed does not ask for).
const SECTIONS: &str =
    "SELECT c.shortname, s.section, s.name, s.summary FROM mdl_course_sections s \
     JOIN mdl_course c ON c.id = s.course WHERE c.shortname LIKE '{P}%' \
     AND ((s.name IS NOT NULL AND s.name <> '') OR (s.summary IS NOT NULL AND s.summary <> ''))";

/// The joins that name what a cohort or meta instance points at (alias `e`).
const INSTANCE_JOINS: &str =
    "LEFT JOIN mdl_cohort ech ON e.enrol = 'cohort' AND ech.id = e.customint1 \
     LEFT JOIN mdl_course emc ON e.enrol = 'meta' AND emc.id = e.customint1";

const ENROL_INSTANCES: &str =
    "SELECT c.shortname, e.enrol, ech.idnumber, emc.shortname, e.status, \
     r.shortname, g.name, e.enrolstartdate, e.enrolenddate \
     FROM mdl_enrol e JOIN mdl_course c ON c.id = e.courseid \
     LEFT JOIN mdl_role r ON r.id = e.roleid \
     LEFT JOIN mdl_groups g ON e.enrol IN ('cohort', 'meta') AND g.id = e.customint2 \
     {JOINS} WHERE c.shortname LIKE '{P}%'";

const USER_ENROLMENTS: &str =
    "SELECT c.shortname, e.enrol, ech.idnumber, emc.shortname, u.username, \
     ue.status, ue.timestart, ue.timeend \
     FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid \
     JOIN mdl_course c ON c.id = e.courseid JOIN mdl_user u ON u.id = ue.userid \
     {JOINS} WHERE c.shortname LIKE '{P}%'";

/// Role assignments in course contexts; one an enrol plugin made names its instance.
const COURSE_ROLES: &str = "SELECT c.shortname, u.username, r.shortname, ra.component, \
     e.enrol, ech.idnumber, emc.shortname \
     FROM mdl_role_assignments ra \
     JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50 \
     JOIN mdl_course c ON c.id = x.instanceid JOIN mdl_user u ON u.id = ra.userid \
     JOIN mdl_role r ON r.id = ra.roleid \
     LEFT JOIN mdl_enrol e ON ra.component <> '' AND e.id = ra.itemid \
     {JOINS} WHERE c.shortname LIKE '{P}%'";

const GROUPS: &str = "SELECT c.shortname, g.name, g.idnumber, g.description FROM mdl_groups g \
     JOIN mdl_course c ON c.id = g.courseid WHERE c.shortname LIKE '{P}%'";

const GROUPINGS: &str =
    "SELECT c.shortname, g.name, g.idnumber, g.description FROM mdl_groupings g \
     JOIN mdl_course c ON c.id = g.courseid WHERE c.shortname LIKE '{P}%'";

const GROUPING_GROUPS: &str = "SELECT c.shortname, gp.name, g.name FROM mdl_groupings_groups gg \
     JOIN mdl_groupings gp ON gp.id = gg.groupingid JOIN mdl_groups g ON g.id = gg.groupid \
     JOIN mdl_course c ON c.id = gp.courseid WHERE c.shortname LIKE '{P}%'";

const GROUP_MEMBERS: &str = "SELECT c.shortname, g.name, u.username, gm.component \
     FROM mdl_groups_members gm JOIN mdl_groups g ON g.id = gm.groupid \
     JOIN mdl_course c ON c.id = g.courseid JOIN mdl_user u ON u.id = gm.userid \
     WHERE c.shortname LIKE '{P}%'";

const COHORTS: &str = "SELECT ch.idnumber, ch.name, ch.description, x.contextlevel, x.instanceid, \
     ch.visible, ch.component FROM mdl_cohort ch JOIN mdl_context x ON x.id = ch.contextid \
     WHERE ch.idnumber LIKE '{P}%' OR ch.name LIKE '{P}%'";

const COHORT_MEMBERS: &str = "SELECT ch.idnumber, ch.name, u.username FROM mdl_cohort_members m \
     JOIN mdl_cohort ch ON ch.id = m.cohortid JOIN mdl_user u ON u.id = m.userid \
     WHERE ch.idnumber LIKE '{P}%' OR ch.name LIKE '{P}%'";

/// A query text as sent: the instance joins in place.
fn with_joins(sql: &str) -> String {
    sql.replace("{JOINS}", INSTANCE_JOINS)
}

/// A cohort by its idnumber, or by its name when it has none.
fn cohort_label(idnumber: &str, name: &str) -> String {
    if idnumber.is_empty() {
        format!("(name) {name}")
    } else {
        idnumber.to_string()
    }
}

/// An enrol instance as a person names it: `manual`, `cohort:<idnumber>`, `meta:<master>`.
fn instance(method: &str, cohort: &str, master: &str) -> String {
    match method {
        "cohort" => format!("cohort:{cohort}"),
        "meta" => format!("meta:{master}"),
        _ => method.to_string(),
    }
}

/// `head key=value …`, leaving out empty values.
fn fields(head: &str, values: &[(&str, String)]) -> String {
    let mut line = head.to_string();
    for (k, v) in values {
        if !v.is_empty() {
            line.push_str(&format!(" {k}={}", v.replace('\n', "\\n")));
        }
    }
    line
}

fn section(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let mut lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        return;
    }
    lines.sort();
    out.push_str(&format!("{title}:\n"));
    for l in lines {
        out.push_str(&format!("  {l}\n"));
    }
}

/// A Unix time as a UTC date; 0 stays 0 (no date), and one within two days of now is `[now]`.
fn date(v: &str) -> String {
    let Ok(t) = v.parse::<i64>() else {
        return v.to_string();
    };
    if t == 0 {
        return "0".to_string();
    }
    let now = chrono::Utc::now().timestamp();
    if (t - now).abs() < 2 * 86_400 {
        return "[now]".to_string();
    }
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| t.to_string())
}

struct Category {
    name: String,
    parent: i64,
    idnumber: String,
    visible: String,
}

/// Every category of the site, to print paths of names instead of ids.
struct Categories {
    by_id: BTreeMap<i64, Category>,
}

impl Categories {
    fn read(db: &SiteDb) -> Categories {
        let by_id = db
            .rows("SELECT id, parent, name, idnumber, visible FROM mdl_course_categories")
            .into_iter()
            .map(|r| {
                (
                    r[0].parse().unwrap(),
                    Category {
                        parent: r[1].parse().unwrap(),
                        name: r[2].clone(),
                        idnumber: r[3].clone(),
                        visible: r[4].clone(),
                    },
                )
            })
            .collect();
        Categories { by_id }
    }

    /// `Top/Child/…` by names.
    fn path(&self, id: i64) -> String {
        let mut names = Vec::new();
        let mut at = id;
        while let Some(c) = self.by_id.get(&at) {
            names.push(c.name.as_str());
            at = c.parent;
            if names.len() > 50 {
                break;
            }
        }
        names.reverse();
        names.join("/")
    }

    fn path_of(&self, id: &str) -> String {
        match id.parse::<i64>() {
            Ok(0) => "(none)".to_string(),
            Ok(id) if self.by_id.contains_key(&id) => self.path(id),
            _ => format!("(unknown category {id})"),
        }
    }
}
