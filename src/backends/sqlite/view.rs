//! The embedded store read for the plan: every lookup is a query on Moodle's own tables,
//! inside the file's transaction, so it sees what the file's earlier batches applied.

use super::error::RowError;
use super::{groups, pictures, users, SqliteTarget};
use crate::codes::Failure;
use crate::command::keys::{CohortIdentifier, CourseIdentifier, UserIdentifier};
use crate::command::Section;
use crate::plan::view::{
    CategoryRec, CohortHome, CohortRec, CourseRec, GroupKind, GroupRec, InstanceRec, MemberRec,
    PictureRec, Read, ReadError, RoleAssignment, RoleHolder, RoleRec, Setting, SiteView, UeRec,
    UserRec, Wanted,
};
use crate::plan::Ref;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;

/// A store error while reading for the plan: a refusal fails the row, the rest stops the file.
pub(crate) fn read_error(e: RowError) -> ReadError {
    match e {
        RowError::Row(f) | RowError::Store(f) => ReadError::Row(f),
        RowError::Fatal(f) => ReadError::Stop(f),
    }
}

fn sql(e: rusqlite::Error) -> ReadError {
    read_error(RowError::from(e))
}

/// The id a reference names; one the plan has not seen created reads as nothing.
fn id(r: Ref) -> Option<i64> {
    r.id()
}

const SITE_COURSE: i64 = 1;

fn course(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<CourseRec> {
    let id: i64 = r.get(0)?;
    let mut settings = Vec::with_capacity(13);
    for i in 0..13 {
        settings.push(Some(match r.get::<_, Value>(5 + i)? {
            Value::Integer(n) => Setting::Int(n),
            Value::Text(t) => Setting::Text(t),
            Value::Null => Setting::Text(String::new()),
            Value::Real(f) => Setting::Int(f as i64),
            Value::Blob(_) => Setting::Text(String::new()),
        }));
    }
    let sections = conn
        .prepare_cached(
            "SELECT section, name, summary FROM mdl_course_sections WHERE course = ?1 ORDER BY section",
        )?
        .query_map([id], |r| {
            Ok(Section {
                section: r.get(0)?,
                name: r.get(1)?,
                summary: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CourseRec {
        id: Ref::Id(id),
        shortname: r.get(1)?,
        fullname: r.get(2)?,
        idnumber: r.get(3)?,
        category: Ref::Id(r.get(4)?),
        settings,
        sections: Some(sections),
        site: id == SITE_COURSE,
        copy_unfinished: false,
    })
}

macro_rules! select_course {
    ($where:literal) => {
        concat!(
            "SELECT id, shortname, fullname, idnumber, category, fullname, summary, format, visible,
             startdate, enddate, lang, groupmode, groupmodeforce, showgrades, newsitems, maxbytes,
             enablecompletion FROM mdl_course WHERE ",
            $where
        )
    };
}

fn category(r: &rusqlite::Row) -> rusqlite::Result<CategoryRec> {
    Ok(CategoryRec {
        id: Ref::Id(r.get(0)?),
        name: r.get(1)?,
        idnumber: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        parent: Ref::Id(r.get(3)?),
        visible: r.get::<_, i64>(4)? != 0,
    })
}

const SELECT_CATEGORY: &str =
    "SELECT id, name, idnumber, parent, visible FROM mdl_course_categories";

fn instance(r: &rusqlite::Row) -> rusqlite::Result<InstanceRec> {
    let method: String = r.get(2)?;
    let customint1: Option<i64> = r.get(5)?;
    let linked = method == "meta" || crate::command::COHORT_PLUGINS.contains(&method.as_str());
    Ok(InstanceRec {
        id: Ref::Id(r.get(0)?),
        course: Ref::Id(r.get(1)?),
        enabled: r.get::<_, i64>(3)? == super::enrol::ENABLED,
        role: r.get(4)?,
        link: customint1.filter(|_| linked).map(Ref::Id),
        group: r
            .get::<_, Option<i64>>(6)?
            .filter(|g| *g > 0 && crate::command::COHORT_PLUGINS.contains(&method.as_str()))
            .map(Ref::Id),
        start: Some(r.get::<_, Option<i64>>(7)?.unwrap_or(0)),
        end: Some(r.get::<_, Option<i64>>(8)?.unwrap_or(0)),
        method,
    })
}

const SELECT_INSTANCE: &str = "SELECT id, courseid, enrol, status, roleid, customint1, customint2,
    enrolstartdate, enrolenddate FROM mdl_enrol";

fn group(kind: GroupKind) -> impl Fn(&rusqlite::Row) -> rusqlite::Result<GroupRec> {
    move |r| {
        Ok(GroupRec {
            id: Ref::Id(r.get(0)?),
            kind,
            course: Ref::Id(r.get(1)?),
            name: r.get(2)?,
            idnumber: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            description: r.get(4)?,
        })
    }
}

fn cohort(r: &rusqlite::Row) -> rusqlite::Result<CohortRec> {
    let level: i64 = r.get(6)?;
    let instance: i64 = r.get(7)?;
    Ok(CohortRec {
        id: Ref::Id(r.get(0)?),
        name: r.get(1)?,
        idnumber: r.get(2)?,
        description: r.get(3)?,
        component: r.get(5)?,
        home: Some(if level == super::lookup::CONTEXT_COURSECAT {
            CohortHome::Category(Ref::Id(instance))
        } else {
            CohortHome::System
        }),
    })
}

macro_rules! select_cohort {
    ($where:literal) => {
        concat!(
            "SELECT c.id, c.name, COALESCE(c.idnumber, ''), COALESCE(c.description, ''), c.contextid,
             c.component, x.contextlevel, x.instanceid
             FROM mdl_cohort c JOIN mdl_context x ON x.id = c.contextid WHERE ",
            $where,
            " ORDER BY c.id"
        )
    };
}

/// The role assignments in a course's context: of one user, or of everyone. Two statements,
/// not one with `?2 IS NULL OR ra.userid = ?2`, which SQLite cannot answer from the index on
/// the user: each user's read would go through every assignment of the course.
fn assignments(
    conn: &Connection,
    course: i64,
    user: Option<i64>,
) -> rusqlite::Result<Vec<(i64, RoleAssignment)>> {
    let read = |r: &rusqlite::Row| {
        Ok((
            r.get(0)?,
            RoleAssignment {
                role: r.get(1)?,
                component: Some(r.get(2)?),
                itemid: Some(r.get(3)?),
            },
        ))
    };
    match user {
        Some(u) => conn
            .prepare_cached(
                "SELECT ra.userid, ra.roleid, ra.component, ra.itemid FROM mdl_role_assignments ra
                 JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50 AND x.instanceid = ?1
                 WHERE ra.userid = ?2 AND ra.roleid IN (SELECT id FROM mdl_role)
                 ORDER BY ra.roleid, ra.id",
            )?
            .query_map(params![course, u], read)?
            .collect(),
        None => conn
            .prepare_cached(
                "SELECT ra.userid, ra.roleid, ra.component, ra.itemid FROM mdl_role_assignments ra
                 JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50 AND x.instanceid = ?1
                 WHERE ra.roleid IN (SELECT id FROM mdl_role)
                 ORDER BY ra.userid, ra.roleid, ra.id",
            )?
            .query_map([course], read)?
            .collect(),
    }
}

impl SiteView for SqliteTarget {
    /// Reads ahead the ids of the accounts the batch names and, for those found, their memberships,
    /// enrolments and roles (`Ahead`): the per-row reads below answer from it.
    fn prefetch(&mut self, wanted: &Wanted) -> Result<(), Failure> {
        self.ahead.read(&self.conn, wanted).map_err(|e| match e {
            RowError::Row(f) | RowError::Store(f) | RowError::Fatal(f) => f,
        })
    }

    /// A lookup on the index is as cheap as a read ahead would make it.
    fn reads_collisions_ahead(&self) -> bool {
        false
    }

    fn users(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<UserRec>> {
        users::find(&self.conn, by, value).map_err(read_error)
    }

    fn user_ids(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<Ref>> {
        if let Some(found) = self.ahead.user_ids(by, value) {
            return Ok(found.clone());
        }
        users::find_ids(&self.conn, by, value).map_err(read_error)
    }

    fn password_matches(&mut self, user: i64, plain: &str) -> Read<Option<bool>> {
        users::password_matches(&self.conn, user, plain)
            .map(Some)
            .map_err(read_error)
    }

    fn profile_fields(&mut self) -> Read<Option<BTreeSet<String>>> {
        Ok(Some(self.profile_fields.keys().cloned().collect()))
    }

    fn languages(&mut self) -> Read<Option<BTreeSet<String>>> {
        let listed = &self.site.languages;
        Ok((!listed.is_empty()).then(|| listed.iter().cloned().collect()))
    }

    fn password_policy(&mut self) -> Read<Option<crate::plan::password_policy::PasswordPolicy>> {
        Ok(self.site.policy())
    }

    fn protected(&mut self) -> Read<Vec<(i64, &'static str)>> {
        let mut out = vec![(users::GUEST_ID, "the site's guest account")];
        out.extend(
            users::ADMIN_IDS
                .iter()
                .map(|id| (*id, "the site's admin account")),
        );
        Ok(out)
    }

    fn courses(&mut self, by: CourseIdentifier, value: &str) -> Read<Vec<CourseRec>> {
        let key = (by, value.to_string());
        if let Some(found) = self.cache.borrow().courses.get(&key) {
            return Ok(found.clone());
        }
        let found = self.read_courses(by, value)?;
        self.cache.borrow_mut().courses.insert(key, found.clone());
        Ok(found)
    }

    fn enrolled_count(&mut self, course: Ref) -> Read<Option<usize>> {
        let Some(c) = id(course) else {
            return Ok(Some(0));
        };
        self.conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT ue.userid) FROM mdl_user_enrolments ue
                 JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = ?1",
            )
            .and_then(|mut s| s.query_row([c], |r| r.get::<_, i64>(0)))
            .map(|n| Some(n as usize))
            .map_err(sql)
    }

    fn categories_named(&mut self, parent: Ref, name: &str) -> Read<Vec<CategoryRec>> {
        let Some(p) = id(parent) else {
            return Ok(Vec::new());
        };
        self.conn
            .prepare_cached(&format!(
                "{SELECT_CATEGORY} WHERE parent = ?1 AND name = ?2 ORDER BY id"
            ))
            .and_then(|mut s| s.query_map(params![p, name], category)?.collect())
            .map_err(sql)
    }

    fn categories_by_idnumber(&mut self, idnumber: &str) -> Read<Vec<CategoryRec>> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_CATEGORY} WHERE idnumber = ?1 ORDER BY id"
            ))
            .and_then(|mut s| s.query_map([idnumber], category)?.collect())
            .map_err(sql)
    }

    fn category(&mut self, c: Ref) -> Read<Option<CategoryRec>> {
        let Some(c) = id(c) else { return Ok(None) };
        self.conn
            .prepare_cached(&format!("{SELECT_CATEGORY} WHERE id = ?1"))
            .and_then(|mut s| s.query_row([c], category).optional())
            .map_err(sql)
    }

    fn default_category(&mut self) -> Read<Option<CategoryRec>> {
        // Moodle's default category: the first one created.
        self.conn
            .prepare_cached(&format!(
                "{SELECT_CATEGORY} WHERE id = (SELECT MIN(id) FROM mdl_course_categories)"
            ))
            .and_then(|mut s| s.query_row([], category).optional())
            .map_err(sql)
    }

    fn role(&mut self, shortname: &str) -> Read<Option<RoleRec>> {
        if let Some(r) = self.cache.borrow().roles.get(shortname) {
            return Ok(r.clone());
        }
        let r = self.read_role(shortname)?;
        self.cache
            .borrow_mut()
            .roles
            .insert(shortname.to_string(), r.clone());
        Ok(r)
    }

    fn role_by_id(&mut self, role: i64) -> Read<Option<RoleRec>> {
        if let Some(r) = self.cache.borrow().roles_by_id.get(&role) {
            return Ok(r.clone());
        }
        let name: Option<String> = self
            .conn
            .prepare_cached("SELECT shortname FROM mdl_role WHERE id = ?1")
            .and_then(|mut s| s.query_row([role], |r| r.get(0)).optional())
            .map_err(sql)?;
        let r = match name {
            Some(n) => self.role(&n)?,
            None => None,
        };
        self.cache.borrow_mut().roles_by_id.insert(role, r.clone());
        Ok(r)
    }

    fn instances(&mut self, course: Ref) -> Read<Vec<InstanceRec>> {
        let Some(c) = id(course) else {
            return Ok(Vec::new());
        };
        if let Some(found) = self.cache.borrow().course_instances.get(&c) {
            return Ok(found.clone());
        }
        let found: Vec<InstanceRec> = self
            .conn
            .prepare_cached(&format!(
                "{SELECT_INSTANCE} WHERE courseid = ?1 ORDER BY sortorder, id"
            ))
            .and_then(|mut s| s.query_map([c], instance)?.collect())
            .map_err(sql)?;
        self.cache
            .borrow_mut()
            .course_instances
            .insert(c, found.clone());
        Ok(found)
    }

    fn cohort_instances(&mut self, cohort: Ref) -> Read<Option<Vec<InstanceRec>>> {
        let Some(c) = id(cohort) else {
            return Ok(Some(Vec::new()));
        };
        if let Some(found) = self.cache.borrow().cohort_sync_instances.get(&c) {
            return Ok(Some(found.clone()));
        }
        let found: Vec<InstanceRec> = self
            .conn
            .prepare_cached(&format!(
                "{SELECT_INSTANCE} WHERE customint1 = ?1 AND enrol IN ('cohort', 'delayedcohort', 'cohortrestricted') ORDER BY id"
            ))
            .and_then(|mut s| s.query_map([c], instance)?.collect())
            .map_err(sql)?;
        self.cache
            .borrow_mut()
            .cohort_sync_instances
            .insert(c, found.clone());
        Ok(Some(found))
    }

    fn enrolments(&mut self, course: Ref, user: Ref) -> Read<Option<Vec<UeRec>>> {
        let (Some(c), Some(u)) = (id(course), id(user)) else {
            return Ok(Some(Vec::new()));
        };
        if let Some(found) = self.ahead.enrolments(c, u) {
            return Ok(Some(found));
        }
        self.conn
            .prepare_cached(
                "SELECT ue.enrolid, ue.status, ue.timestart, ue.timeend FROM mdl_user_enrolments ue
                 JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = ?1 AND ue.userid = ?2
                 ORDER BY e.sortorder, e.id",
            )
            .and_then(|mut s| {
                s.query_map(params![c, u], |r| {
                    Ok(UeRec {
                        instance: Ref::Id(r.get(0)?),
                        suspended: Some(r.get::<_, i64>(1)? != 0),
                        start: Some(r.get(2)?),
                        end: Some(r.get(3)?),
                    })
                })?
                .collect()
            })
            .map(Some)
            .map_err(sql)
    }

    fn is_enrolled(&mut self, course: Ref, user: Ref) -> Read<bool> {
        Ok(self
            .enrolments(course, user)?
            .is_some_and(|e| !e.is_empty()))
    }

    fn course_roles(&mut self, course: Ref, user: Ref) -> Read<Vec<RoleAssignment>> {
        let (Some(c), Some(u)) = (id(course), id(user)) else {
            return Ok(Vec::new());
        };
        if let Some(found) = self.ahead.course_roles(c, u) {
            return Ok(found);
        }
        assignments(&self.conn, c, Some(u))
            .map(|v| v.into_iter().map(|(_, a)| a).collect())
            .map_err(sql)
    }

    fn role_holders(&mut self, course: Ref) -> Read<Vec<RoleHolder>> {
        let Some(c) = id(course) else {
            return Ok(Vec::new());
        };
        let all = assignments(&self.conn, c, None).map_err(sql)?;
        let mut out: Vec<RoleHolder> = Vec::new();
        for (user, a) in all {
            match out.last_mut() {
                Some(h) if h.user == Ref::Id(user) => h.roles.push(a),
                _ => out.push(RoleHolder {
                    user: Ref::Id(user),
                    roles: vec![a],
                    enrolments: None,
                }),
            }
        }
        for h in &mut out {
            h.enrolments = self.enrolments(course, h.user)?;
        }
        Ok(out)
    }

    fn groups(&mut self, course: Ref, kind: GroupKind) -> Read<Vec<GroupRec>> {
        let Some(c) = id(course) else {
            return Ok(Vec::new());
        };
        let table = match kind {
            GroupKind::Group => "mdl_groups",
            GroupKind::Grouping => "mdl_groupings",
        };
        self.conn
            .prepare_cached(&format!(
                "SELECT id, courseid, name, idnumber, description FROM {table} WHERE courseid = ?1 ORDER BY id"
            ))
            .and_then(|mut s| s.query_map([c], group(kind))?.collect())
            .map_err(sql)
    }

    fn grouping_groups(&mut self, grouping: Ref) -> Read<Option<Vec<Ref>>> {
        let Some(g) = id(grouping) else {
            return Ok(Some(Vec::new()));
        };
        self.conn
            .prepare_cached(
                "SELECT groupid FROM mdl_groupings_groups WHERE groupingid = ?1 ORDER BY groupid",
            )
            .and_then(|mut s| s.query_map([g], |r| Ok(Ref::Id(r.get(0)?)))?.collect())
            .map(Some)
            .map_err(sql)
    }

    fn group_members(&mut self, g: Ref) -> Read<Vec<MemberRec>> {
        let Some(g) = id(g) else {
            return Ok(Vec::new());
        };
        self.conn
            .prepare_cached("SELECT userid, component FROM mdl_groups_members WHERE groupid = ?1 ORDER BY userid")
            .and_then(|mut s| {
                s.query_map([g], |r| {
                    Ok(MemberRec {
                        user: Ref::Id(r.get(0)?),
                        owned: Some(r.get::<_, String>(1)? == groups::COMPONENT),
                    })
                })?
                .collect()
            })
            .map_err(sql)
    }

    fn user_groups(&mut self, course: Ref, user: Ref) -> Read<Vec<(Ref, MemberRec)>> {
        let (Some(c), Some(u)) = (id(course), id(user)) else {
            return Ok(Vec::new());
        };
        self.conn
            .prepare_cached(
                "SELECT m.groupid, m.component FROM mdl_groups_members m JOIN mdl_groups g ON g.id = m.groupid
                 WHERE g.courseid = ?1 AND m.userid = ?2 ORDER BY m.groupid",
            )
            .and_then(|mut s| {
                s.query_map(params![c, u], |r| {
                    Ok((
                        Ref::Id(r.get(0)?),
                        MemberRec {
                            user: Ref::Id(u),
                            owned: Some(r.get::<_, String>(1)? == groups::COMPONENT),
                        },
                    ))
                })?
                .collect()
            })
            .map_err(sql)
    }

    fn emptied_groups(&mut self) -> Read<Vec<(Ref, Ref)>> {
        Ok(groups::emptied(&self.conn)
            .map_err(read_error)?
            .into_iter()
            .map(|(c, g)| (Ref::Id(c), Ref::Id(g)))
            .collect())
    }

    fn cohorts(&mut self, by: CohortIdentifier, value: &str) -> Read<Vec<CohortRec>> {
        let key = (by, value.to_string());
        if let Some(found) = self.cache.borrow().cohorts.get(&key) {
            return Ok(found.clone());
        }
        let found = self.read_cohorts(by, value)?;
        self.cache.borrow_mut().cohorts.insert(key, found.clone());
        Ok(found)
    }

    fn cohort_members(&mut self, c: Ref) -> Read<Vec<Ref>> {
        let Some(c) = id(c) else {
            return Ok(Vec::new());
        };
        self.conn
            .prepare_cached(
                "SELECT userid FROM mdl_cohort_members WHERE cohortid = ?1 ORDER BY userid",
            )
            .and_then(|mut s| s.query_map([c], |r| Ok(Ref::Id(r.get(0)?)))?.collect())
            .map_err(sql)
    }

    fn is_cohort_member(&mut self, cohort: Ref, user: Ref) -> Read<bool> {
        let (Some(c), Some(u)) = (id(cohort), id(user)) else {
            return Ok(false);
        };
        if let Some(member) = self.ahead.is_cohort_member(c, u) {
            return Ok(member);
        }
        self.conn
            .prepare_cached("SELECT 1 FROM mdl_cohort_members WHERE cohortid = ?1 AND userid = ?2")
            .and_then(|mut s| s.exists(params![c, u]))
            .map_err(sql)
    }

    fn enrolled_through(&mut self, instance: Ref) -> Read<Option<Vec<Ref>>> {
        let Some(i) = id(instance) else {
            return Ok(Some(Vec::new()));
        };
        self.conn
            .prepare_cached(
                "SELECT userid FROM mdl_user_enrolments WHERE enrolid = ?1 ORDER BY userid",
            )
            .and_then(|mut s| s.query_map([i], |r| Ok(Ref::Id(r.get(0)?)))?.collect())
            .map(Some)
            .map_err(sql)
    }

    fn picture(&mut self, user: Ref) -> Read<PictureRec> {
        let Some(u) = id(user) else {
            return Ok(PictureRec::default());
        };
        let field = self
            .profile_fields
            .get(pictures::HASH_FIELD)
            .copied()
            .unwrap_or(0);
        self.conn
            .prepare_cached(
                "SELECT u.picture, d.data FROM mdl_user u
                 LEFT JOIN mdl_user_info_data d ON d.userid = u.id AND d.fieldid = ?2
                 WHERE u.id = ?1",
            )
            .and_then(|mut s| {
                s.query_row(params![u, field], |r| {
                    Ok(PictureRec {
                        has: r.get::<_, i64>(0)? != 0,
                        md5: r.get(1)?,
                    })
                })
                .optional()
            })
            .map(Option::unwrap_or_default)
            .map_err(sql)
    }
}

/// The reads the view keeps in the store's cache (cleared by whatever can change them).
impl SqliteTarget {
    fn read_courses(&self, by: CourseIdentifier, value: &str) -> Read<Vec<CourseRec>> {
        let (q, v) = match by {
            CourseIdentifier::Shortname => {
                (select_course!("shortname = ?1"), Value::Text(value.into()))
            }
            CourseIdentifier::Idnumber if value.is_empty() => return Ok(Vec::new()),
            CourseIdentifier::Idnumber => {
                (select_course!("idnumber = ?1"), Value::Text(value.into()))
            }
            CourseIdentifier::Id => match value.trim().parse::<i64>() {
                Ok(id) => (select_course!("id = ?1"), Value::Integer(id)),
                Err(_) => return Ok(Vec::new()),
            },
        };
        let conn = &self.conn;
        conn.prepare_cached(q)
            .and_then(|mut s| s.query_map([v], |r| course(conn, r))?.collect())
            .map_err(sql)
    }

    fn read_role(&self, shortname: &str) -> Read<Option<RoleRec>> {
        self.conn
            .prepare_cached(
                // The archetypes Moodle lets one assign in a course (role_context_levels of
                // a fresh site).
                "SELECT id, shortname, archetype IN ('manager', 'editingteacher', 'teacher', 'student')
                 FROM mdl_role WHERE shortname = ?1",
            )
            .and_then(|mut s| {
                s.query_row([shortname], |r| {
                    Ok(RoleRec {
                        id: r.get(0)?,
                        shortname: r.get(1)?,
                        course_assignable: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(sql)
    }
}

impl SqliteTarget {
    fn read_cohorts(&mut self, by: CohortIdentifier, value: &str) -> Read<Vec<CohortRec>> {
        let (q, v) = match by {
            CohortIdentifier::Idnumber => {
                (select_cohort!("c.idnumber = ?1"), Value::Text(value.into()))
            }
            CohortIdentifier::Name => (select_cohort!("c.name = ?1"), Value::Text(value.into())),
            CohortIdentifier::Id => match value.trim().parse::<i64>() {
                Ok(id) => (select_cohort!("c.id = ?1"), Value::Integer(id)),
                Err(_) => return Ok(Vec::new()),
            },
        };
        self.conn
            .prepare_cached(q)
            .and_then(|mut s| s.query_map([v], cohort)?.collect())
            .map_err(sql)
    }
}
