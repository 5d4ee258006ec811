//! The per-row reads of a batch of enrolment or cohort rows, read ahead: the ids of the
//! accounts its rows name, and for the accounts found their cohort memberships,
//! enrolments and course roles, each in one statement per few hundred keys rather than one or
//! two per row. True while the batch is planned, which only reads: whatever writes (a batch's
//! apply, a new file, a rollback) drops it, so a later read goes to the tables again.

use super::error::RowError;
use super::users;
use crate::command::keys::UserIdentifier;
use crate::plan::view::{RoleAssignment, UeRec, Wanted};
use crate::plan::Ref;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};

/// Keys bound per statement: a list padded with NULLs (which match nothing) to this length,
/// so each read is one cached statement whatever the batch's size.
pub(crate) const CHUNK: usize = 250;

/// `?1, ?2, … ?CHUNK`, for `IN (…)`.
pub(crate) fn placeholders() -> String {
    (1..=CHUNK)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `read` over `keys` a chunk at a time, each chunk padded to `CHUNK` values.
pub(crate) fn chunked(
    keys: &[Value],
    mut read: impl FnMut(&[Value]) -> Result<(), RowError>,
) -> Result<(), RowError> {
    for part in keys.chunks(CHUNK) {
        let mut bound = part.to_vec();
        bound.resize(CHUNK, Value::Null);
        read(&bound)?;
    }
    Ok(())
}

#[derive(Default)]
pub(crate) struct Ahead {
    /// The live accounts each looked-up value finds, as `users::find_ids` would answer
    /// (none: `[]`).
    user_ids: HashMap<UserIdentifier, HashMap<String, Vec<Ref>>>,
    /// By user, every cohort they belong to: a user here is a member of no other.
    cohorts_of: HashMap<i64, Vec<i64>>,
    /// By user, every enrolment they have, with its course, in Moodle's order.
    enrolments_of: HashMap<i64, Vec<(i64, UeRec)>>,
    /// By user, every role they hold in a course's context, with the course.
    roles_of: HashMap<i64, Vec<(i64, RoleAssignment)>>,
}

impl Ahead {
    pub fn clear(&mut self) {
        *self = Ahead::default();
    }

    pub fn user_ids(&self, by: UserIdentifier, value: &str) -> Option<&Vec<Ref>> {
        self.user_ids.get(&by)?.get(value)
    }

    pub fn is_cohort_member(&self, cohort: i64, user: i64) -> Option<bool> {
        self.cohorts_of.get(&user).map(|c| c.contains(&cohort))
    }

    pub fn enrolments(&self, course: i64, user: i64) -> Option<Vec<UeRec>> {
        self.enrolments_of.get(&user).map(|all| {
            all.iter()
                .filter(|(c, _)| *c == course)
                .map(|(_, e)| e.clone())
                .collect()
        })
    }

    pub fn course_roles(&self, course: i64, user: i64) -> Option<Vec<RoleAssignment>> {
        self.roles_of.get(&user).map(|all| {
            all.iter()
                .filter(|(c, _)| *c == course)
                .map(|(_, a)| a.clone())
                .collect()
        })
    }

    /// Reads what `w` names that is not read yet. Only for a batch whose rows read the
    /// enrolments, roles or memberships of the accounts they name, which need only the
    /// accounts' ids: a users file's rows read their whole account one by one as fast
    /// (measured: an unchanged 10,000-account file took 6% more CPU read ahead), the
    /// statement being no cheaper than the records it builds.
    pub fn read(&mut self, conn: &Connection, w: &Wanted) -> Result<(), RowError> {
        // Cohort rows ask whether the user is a member, and enrol members through the cohort's
        // sync instances; enrolment rows ask the user's enrolments and roles in the course.
        let cohorts = !w.cohorts.is_empty();
        let courses = !w.course_parts.is_empty();
        if !cohorts && !courses {
            return Ok(());
        }
        let mut asked: BTreeMap<UserIdentifier, Vec<String>> = BTreeMap::new();
        for (by, v) in &w.users {
            if self.user_ids(*by, v).is_none() {
                asked.entry(*by).or_default().push(v.clone());
            }
        }
        let mut found: Vec<i64> = Vec::new();
        for (by, values) in asked {
            let answers = users::find_ids_many(conn, by, &values)?;
            let known = self.user_ids.entry(by).or_default();
            for (v, ids) in values.into_iter().zip(answers) {
                found.extend(ids.iter().filter_map(|r| r.id()));
                known.insert(v, ids);
            }
        }
        found.sort_unstable();
        found.dedup();
        if cohorts {
            let ids = uncovered(&found, &self.cohorts_of);
            self.read_cohorts(conn, &ids)?;
        }
        if cohorts || courses {
            let ids = uncovered(&found, &self.enrolments_of);
            self.read_enrolments(conn, &ids)?;
        }
        if courses {
            let ids = uncovered(&found, &self.roles_of);
            self.read_roles(conn, &ids)?;
        }
        Ok(())
    }

    fn read_cohorts(&mut self, conn: &Connection, ids: &[Value]) -> Result<(), RowError> {
        let sql = format!(
            "SELECT userid, cohortid FROM mdl_cohort_members WHERE userid IN ({})",
            placeholders()
        );
        chunked(ids, |keys| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(keys))?;
            while let Some(r) = rows.next()? {
                let (u, c): (i64, i64) = (r.get(0)?, r.get(1)?);
                self.cohorts_of.entry(u).or_default().push(c);
            }
            Ok(())
        })?;
        cover(ids, &mut self.cohorts_of);
        Ok(())
    }

    fn read_enrolments(&mut self, conn: &Connection, ids: &[Value]) -> Result<(), RowError> {
        // The order `SiteView::enrolments` gives, within each user and course.
        let sql = format!(
            "SELECT ue.userid, e.courseid, ue.enrolid, ue.status, ue.timestart, ue.timeend
             FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid
             WHERE ue.userid IN ({}) ORDER BY ue.userid, e.sortorder, e.id",
            placeholders()
        );
        chunked(ids, |keys| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(keys))?;
            while let Some(r) = rows.next()? {
                let e = UeRec {
                    instance: Ref::Id(r.get(2)?),
                    suspended: Some(r.get::<_, i64>(3)? != 0),
                    start: Some(r.get(4)?),
                    end: Some(r.get(5)?),
                };
                self.enrolments_of
                    .entry(r.get(0)?)
                    .or_default()
                    .push((r.get(1)?, e));
            }
            Ok(())
        })?;
        cover(ids, &mut self.enrolments_of);
        Ok(())
    }

    fn read_roles(&mut self, conn: &Connection, ids: &[Value]) -> Result<(), RowError> {
        // The order `SiteView::course_roles` gives, within each user and course.
        let sql = format!(
            "SELECT ra.userid, x.instanceid, ra.roleid, ra.component, ra.itemid
             FROM mdl_role_assignments ra
             JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50
             WHERE ra.userid IN ({}) AND ra.roleid IN (SELECT id FROM mdl_role)
             ORDER BY ra.userid, ra.roleid, ra.id",
            placeholders()
        );
        chunked(ids, |keys| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(keys))?;
            while let Some(r) = rows.next()? {
                let a = RoleAssignment {
                    role: r.get(2)?,
                    component: Some(r.get(3)?),
                    itemid: Some(r.get(4)?),
                };
                self.roles_of
                    .entry(r.get(0)?)
                    .or_default()
                    .push((r.get(1)?, a));
            }
            Ok(())
        })?;
        cover(ids, &mut self.roles_of);
        Ok(())
    }
}

/// The users of `found` not read yet into `of`, as statement values.
fn uncovered<T>(found: &[i64], of: &HashMap<i64, Vec<T>>) -> Vec<Value> {
    found
        .iter()
        .filter(|u| !of.contains_key(u))
        .map(|u| Value::Integer(*u))
        .collect()
}

/// Users read who had nothing are recorded as having nothing.
fn cover<T>(ids: &[Value], of: &mut HashMap<i64, Vec<T>>) {
    for v in ids {
        if let Value::Integer(u) = v {
            of.entry(*u).or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteTarget;
    use crate::backends::Target;
    use crate::command::keys::UserIdentifier as By;
    use crate::config::Config;
    use crate::plan::ops::{NewUser, Op};
    use crate::plan::view::{SiteView, Wanted};
    use crate::plan::{Decision, Ref};

    fn store(name: &str) -> SqliteTarget {
        let dir = std::env::temp_dir().join(format!("moosync-ahead-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let mut t =
            SqliteTarget::open(&dir.join("moodle.db"), &Config::default()).expect("a store");
        t.begin_file(false).expect("a transaction");
        // Two courses (20, 21) with a manual instance each; ann is in cohort 5, enrolled in
        // course 20 (suspended) and a student there; bob in nothing; cy is deleted.
        t.conn
            .execute_batch(
                "INSERT INTO mdl_user (id, mnethostid, username, email, idnumber, firstname)
                     VALUES (10, 1, 'ann', 'Ann@Example.edu', 'A1', 'Ann'),
                            (11, 1, 'bob', 'bob@example.edu', 'B1', 'Bob'),
                            (13, 1, 'dee', 'BOB@example.edu', 'D1', 'Dee');
                 INSERT INTO mdl_user (id, mnethostid, username, email, idnumber, deleted)
                     VALUES (12, 1, 'cy.1', 'x', '', 1);
                 INSERT INTO mdl_user_info_field (id, shortname) VALUES (50, 'year');
                 INSERT INTO mdl_user_info_data (userid, fieldid, data) VALUES (10, 50, '2');
                 INSERT INTO mdl_cohort_members (cohortid, userid) VALUES (5, 10);
                 INSERT INTO mdl_enrol (id, enrol, courseid, sortorder) VALUES (30, 'manual', 20, 0), (31, 'manual', 21, 0);
                 INSERT INTO mdl_user_enrolments (enrolid, userid, status, timestart) VALUES (30, 10, 1, 7);
                 INSERT INTO mdl_context (id, contextlevel, instanceid) VALUES (40, 50, 20), (41, 50, 21);
                 INSERT INTO mdl_role_assignments (roleid, contextid, userid) VALUES (5, 40, 10);",
            )
            .expect("the site's records");
        t
    }

    const KEYS: &[(By, &str)] = &[
        (By::Username, "ann"),
        (By::Username, "nobody"),
        (By::Username, "ANN"),
        (By::Email, "ann@EXAMPLE.edu"),
        (By::Email, "bob@example.edu"),
        (By::Email, ""),
        (By::Idnumber, "B1"),
        (By::Idnumber, ""),
        (By::Id, " 12 "),
        (By::Id, "10"),
        (By::Id, "x"),
    ];

    #[test]
    fn what_is_read_ahead_answers_as_the_tables_do() {
        let mut t = store("answers");
        let mut w = Wanted::default();
        w.users
            .extend(KEYS.iter().map(|(by, v)| (*by, v.to_string())));
        w.cohorts.insert((Default::default(), "Y1".into()));
        w.course_parts.insert((Default::default(), "C1".into()));
        let mut before = Vec::new();
        for (by, v) in KEYS {
            let ids = t.user_ids(*by, v).expect("a read");
            // The ids are those of the live accounts the whole lookup finds.
            let live: Vec<Ref> = t
                .users(*by, v)
                .expect("a read")
                .into_iter()
                .filter(|u| !u.deleted)
                .map(|u| u.id)
                .collect();
            assert_eq!(ids, live, "{by:?} '{v}'");
            before.push(ids);
        }
        let pairs = [(20, 10), (21, 10), (20, 11)];
        let enrolments: Vec<_> = pairs
            .iter()
            .map(|(c, u)| t.enrolments(Ref::Id(*c), Ref::Id(*u)).expect("a read"))
            .collect();
        let roles: Vec<_> = pairs
            .iter()
            .map(|(c, u)| t.course_roles(Ref::Id(*c), Ref::Id(*u)).expect("a read"))
            .collect();
        let members: Vec<_> = [(5, 10), (6, 10), (5, 11)]
            .iter()
            .map(|(c, u)| {
                t.is_cohort_member(Ref::Id(*c), Ref::Id(*u))
                    .expect("a read")
            })
            .collect();
        assert_eq!(before[0], [Ref::Id(10)]);
        assert_eq!(before[3], [Ref::Id(10)], "e-mail without case");
        assert_eq!(before[4].len(), 2, "bob@ and BOB@ both");
        assert!(before[8].is_empty(), "a deleted account is no participant");
        assert!(members[0] && !members[1] && !members[2]);

        t.prefetch(&w).expect("read ahead");
        for ((by, v), want) in KEYS.iter().zip(&before) {
            assert!(t.ahead.user_ids(*by, v).is_some(), "{by:?} {v} read ahead");
            assert_eq!(&t.user_ids(*by, v).expect("a read"), want, "{by:?} '{v}'");
        }
        for (i, (c, u)) in pairs.iter().enumerate() {
            assert!(t.ahead.enrolments(*c, *u).is_some());
            assert_eq!(
                t.enrolments(Ref::Id(*c), Ref::Id(*u)).expect("a read"),
                enrolments[i]
            );
            assert!(t.ahead.course_roles(*c, *u).is_some());
            assert_eq!(
                t.course_roles(Ref::Id(*c), Ref::Id(*u)).expect("a read"),
                roles[i]
            );
        }
        for (i, (c, u)) in [(5, 10), (6, 10), (5, 11)].iter().enumerate() {
            assert!(t.ahead.is_cohort_member(*c, *u).is_some());
            assert_eq!(
                t.is_cohort_member(Ref::Id(*c), Ref::Id(*u))
                    .expect("a read"),
                members[i]
            );
        }
    }

    #[test]
    fn a_users_file_reads_its_accounts_row_by_row() {
        let mut t = store("users");
        let mut w = Wanted::default();
        w.users.insert((By::Username, "ann".into()));
        t.prefetch(&w).expect("read ahead");
        assert!(t.ahead.user_ids(By::Username, "ann").is_none());
        assert_eq!(t.users(By::Username, "ann").expect("a read").len(), 1);
    }

    #[test]
    fn an_apply_drops_what_was_read_ahead() {
        let mut t = store("apply");
        let mut w = Wanted::default();
        w.users.insert((By::Username, "eve".into()));
        w.course_parts.insert((Default::default(), "C1".into()));
        t.prefetch(&w).expect("read ahead");
        assert!(t.ahead.user_ids(By::Username, "eve").is_some());
        assert!(t.user_ids(By::Username, "eve").expect("a read").is_empty());
        let eve = NewUser {
            new: Ref::New(1),
            username: "eve".into(),
            password: None,
            text: Default::default(),
            maildisplay: 2,
            mailformat: 1,
            suspended: false,
            profile: Default::default(),
            secret: Vec::new(),
        };
        let made = Decision::Apply {
            ops: vec![Op::CreateUser(eve)],
            changes: Vec::new(),
            nothing: Vec::new(),
        };
        t.apply_ops(&[made]).expect("applied");
        let found = t.user_ids(By::Username, "eve").expect("a read");
        assert_eq!(found.len(), 1, "the account the batch made is found");
    }
}
