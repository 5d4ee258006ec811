//! Meta links: a `meta` enrol instance in the child course whose enrolments and roles follow
//! the parent course's, as Moodle's enrol_meta sync keeps them (`enrol/meta/locallib.php`):
//! active when any non-meta enrolment in the parent is, with the earliest start and latest
//! end of those; a user gone from the parent is suspended and loses the meta roles (the
//! plugin's default `unenrolaction`); roles mirror the parent course's, component `enrol_meta`.

use super::enrol::{DISABLED, ENABLED};
use super::error::RowError;
use super::lookup::{context_of, CONTEXT_COURSE};
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, BTreeSet};

/// Far future, standing for "no end" while taking the latest end.
const NO_END: i64 = 9_999_999_999;

/// What one sync did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Synced {
    pub enrolled: usize,
    pub updated: usize,
    pub suspended: usize,
}

/// A query in its two forms, picked by `Scope::pick`: for every user (`?N IS NULL`, bound to
/// NULL) and for one user (`<column> = ?N`), spelt out as literals so SQLite uses the user's
/// index for the second (an `OR` of the two would not) and no SQL is built per row.
macro_rules! scoped {
    ($head:literal, $column:literal, $param:literal, $tail:literal) => {
        [
            concat!($head, " ", $param, " IS NULL", $tail),
            concat!($head, " ", $column, " = ", $param, $tail),
        ]
    };
}

/// The parent's non-meta enrolments aggregated per user: (status, start, end).
const PARENT_ENROLMENTS: [&str; 2] = scoped!(
    "SELECT ue.userid,
        MIN(ue.status + e.status),
        MIN(CASE WHEN ue.status + e.status = 0 THEN ue.timestart ELSE ?2 END),
        MAX(CASE WHEN ue.status + e.status = 0 THEN
              (CASE WHEN ue.timeend = 0 THEN ?2 ELSE ue.timeend END) ELSE 0 END)
    FROM mdl_user_enrolments ue
    JOIN mdl_enrol e ON e.id = ue.enrolid AND e.enrol <> 'meta' AND e.courseid = ?1
    JOIN mdl_user u ON u.id = ue.userid AND u.deleted = 0
    WHERE",
    "ue.userid",
    "?3",
    " GROUP BY ue.userid"
);
const CHILD_ENROLMENTS: [&str; 2] = scoped!(
    "SELECT userid, status, timestart, timeend FROM mdl_user_enrolments WHERE enrolid = ?1 AND",
    "userid",
    "?2",
    ""
);
const PARENT_ROLES: [&str; 2] = scoped!(
    "SELECT DISTINCT userid, roleid FROM mdl_role_assignments
     WHERE roleid IN (SELECT id FROM mdl_role) AND contextid = ?1 AND component <> 'enrol_meta' AND",
    "userid",
    "?2",
    ""
);
const CHILD_ROLES: [&str; 2] = scoped!(
    "SELECT userid, roleid FROM mdl_role_assignments
     WHERE component = 'enrol_meta' AND itemid = ?1 AND",
    "userid",
    "?2",
    ""
);

/// Which users a sync looks at: a whole link (when it is made, or its parent reset), or the
/// one user a row changed in the parent, which keeps an enrolment row's cost independent of
/// the size of the course.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    All,
    User(i64),
}

impl Scope {
    fn user(self) -> Option<i64> {
        match self {
            Scope::All => None,
            Scope::User(u) => Some(u),
        }
    }

    fn pick(self, forms: [&'static str; 2]) -> &'static str {
        match self {
            Scope::All => forms[0],
            Scope::User(_) => forms[1],
        }
    }
}

type Enrolled = BTreeMap<i64, (i64, i64, i64)>;

fn parent_enrolments(conn: &Connection, parent: i64, scope: Scope) -> Result<Enrolled, RowError> {
    let rows: Vec<(i64, i64, i64, i64)> = conn
        .prepare_cached(scope.pick(PARENT_ENROLMENTS))?
        .query_map(params![parent, NO_END, scope.user()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(user, st, start, end)| {
            let status = if st == 0 { 0 } else { 1 };
            let start = if start == NO_END { 0 } else { start };
            let end = if end == NO_END { 0 } else { end };
            (user, (status, start, end))
        })
        .collect())
}

fn child_enrolments(conn: &Connection, instance: i64, scope: Scope) -> Result<Enrolled, RowError> {
    let mut stmt = conn.prepare_cached(scope.pick(CHILD_ENROLMENTS))?;
    let rows = stmt.query_map(params![instance, scope.user()], |r| {
        Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Brings one meta instance in line with its parent course, for `scope`'s users.
pub(crate) fn sync_instance(
    conn: &Connection,
    instance: i64,
    now: i64,
    scope: Scope,
) -> Result<Synced, RowError> {
    let (child, parent, status): (i64, i64, i64) = conn
        .prepare_cached("SELECT courseid, customint1, status FROM mdl_enrol WHERE id = ?1")?
        .query_row([instance], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut done = Synced::default();
    let Some(child_ctx) = context_of(conn, CONTEXT_COURSE, child)? else {
        return Ok(done);
    };
    if status != ENABLED {
        // A disabled link keeps its enrolments (inactive with the instance) but gives no roles.
        remove_meta_roles(conn, instance)?;
        return Ok(done);
    }
    let wanted = parent_enrolments(conn, parent, scope)?;
    let have = child_enrolments(conn, instance, scope)?;
    for (user, want) in &wanted {
        match have.get(user) {
            None => {
                conn.prepare_cached(
                    "INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, timecreated, timemodified)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                )?
                .execute(params![want.0, instance, user, want.1, want.2, now])?;
                done.enrolled += 1;
            }
            Some(h) if h != want => {
                conn.prepare_cached(
                    "UPDATE mdl_user_enrolments SET status = ?3, timestart = ?4, timeend = ?5, timemodified = ?6
                     WHERE enrolid = ?1 AND userid = ?2",
                )?
                .execute(params![instance, user, want.0, want.1, want.2, now])?;
                done.updated += 1;
            }
            Some(_) => {}
        }
    }
    for (user, h) in &have {
        if !wanted.contains_key(user) && h.0 == 0 {
            conn.prepare_cached(
                "UPDATE mdl_user_enrolments SET status = 1, timemodified = ?3 WHERE enrolid = ?1 AND userid = ?2",
            )?
            .execute(params![instance, user, now])?;
            done.suspended += 1;
        }
    }
    // Roles: the parent's own (non-meta) course roles of every actively meta-enrolled user.
    let active: BTreeSet<i64> = wanted
        .iter()
        .filter(|(_, w)| w.0 == 0)
        .map(|(u, _)| *u)
        .collect();
    let mut want_roles: BTreeSet<(i64, i64)> = BTreeSet::new();
    if let Some(parent_ctx) = context_of(conn, CONTEXT_COURSE, parent)? {
        let mut stmt = conn.prepare_cached(scope.pick(PARENT_ROLES))?;
        for r in stmt.query_map(params![parent_ctx.id, scope.user()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })? {
            let (u, role) = r?;
            if active.contains(&u) {
                want_roles.insert((u, role));
            }
        }
    }
    let mut have_roles: BTreeSet<(i64, i64)> = BTreeSet::new();
    {
        let mut stmt = conn.prepare_cached(scope.pick(CHILD_ROLES))?;
        for r in stmt.query_map(params![instance, scope.user()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })? {
            have_roles.insert(r?);
        }
    }
    for (u, role) in want_roles.difference(&have_roles) {
        conn.prepare_cached(
            "INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, component, itemid)
             VALUES (?1, ?2, ?3, ?4, 'enrol_meta', ?5)",
        )?
        .execute(params![role, child_ctx.id, u, now, instance])?;
    }
    for (u, role) in have_roles.difference(&want_roles) {
        conn.prepare_cached(
            "DELETE FROM mdl_role_assignments
             WHERE component = 'enrol_meta' AND itemid = ?1 AND userid = ?2 AND roleid = ?3",
        )?
        .execute(params![instance, u, role])?;
    }
    Ok(done)
}

/// Removes every role a meta instance gave.
pub(crate) fn remove_meta_roles(conn: &Connection, instance: i64) -> Result<(), RowError> {
    conn.prepare_cached(
        "DELETE FROM mdl_role_assignments WHERE component = 'enrol_meta' AND itemid = ?1",
    )?
    .execute([instance])?;
    Ok(())
}

/// Re-syncs every enabled meta link that takes participants from `parent`: called after
/// anything changes the parent's enrolments or roles (of `scope`'s users).
pub(crate) fn sync_children(
    conn: &Connection,
    parent: i64,
    now: i64,
    scope: Scope,
) -> Result<Synced, RowError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM mdl_enrol WHERE enrol = 'meta' AND customint1 = ?1 AND status = ?2",
        )?
        .query_map(params![parent, ENABLED], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut total = Synced::default();
    for id in ids {
        let s = sync_instance(conn, id, now, scope)?;
        total.enrolled += s.enrolled;
        total.updated += s.updated;
        total.suspended += s.suspended;
    }
    Ok(total)
}

/// The parent course is being deleted: its links are disabled and lose their roles, as
/// enrol_meta's course_deleted observer does with the default `unenrolaction`.
pub(crate) fn orphan_children(conn: &Connection, parent: i64, now: i64) -> Result<usize, RowError> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM mdl_enrol WHERE enrol = 'meta' AND customint1 = ?1")?
        .query_map([parent], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        conn.prepare_cached("UPDATE mdl_enrol SET status = ?2, timemodified = ?3 WHERE id = ?1")?
            .execute(params![id, DISABLED, now])?;
        remove_meta_roles(conn, *id)?;
    }
    Ok(ids.len())
}
