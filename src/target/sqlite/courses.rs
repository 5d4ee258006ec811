//! Courses in the embedded store: found by the configured identifier, created with what
//! Moodle's create_course gives a course, updated only in the columns the file gives.

use super::categories;
use super::enrol;
use super::error::{row, RowError};
use super::lookup::{
    self, context_of, insert_context, parent_context, ContextRow, CONTEXT_COURSE, CONTEXT_COURSECAT,
};
use super::meta;
use super::Ctx;
use crate::codes::Code;
use crate::command::{CourseFields, Section};
use crate::config::CourseIdentifier;
use crate::outcome::{Action, Change};
use rusqlite::{params, types::Value, Connection, OptionalExtension};

/// The site course (front page) has id 1 and category 0; feeds never change it.
pub(crate) const SITE_COURSE: i64 = 1;

/// Positions in `SETTINGS`.
const VISIBLE: usize = 3;
const STARTDATE: usize = 4;
const ENDDATE: usize = 5;

/// `SETTINGS` of one course, as one literal for the statement cache (a test keeps the two
/// in step).
const SELECT_SETTINGS: &str = "SELECT fullname, summary, format, visible, startdate, enddate, lang, groupmode,
    groupmodeforce, showgrades, newsitems, maxbytes, enablecompletion FROM mdl_course WHERE id = ?1";

/// Columns copied from a template and compared on update, in this order.
const SETTINGS: [&str; 13] = [
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

#[derive(Debug, Clone)]
pub(crate) struct StoredCourse {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub idnumber: String,
    pub category: i64,
}

impl StoredCourse {
    /// "course 12 (CS101, Intro to CS)": how messages name a course.
    pub fn label(&self) -> String {
        format!("course {} ({}, {})", self.id, self.shortname, self.fullname)
    }
}

/// The course columns read back, then the condition: whole strings, so the statement cache
/// finds them without building SQL per row.
macro_rules! select_course {
    ($where:literal) => {
        concat!(
            "SELECT id, shortname, fullname, idnumber, category FROM mdl_course WHERE ",
            $where
        )
    };
}
const BY_SHORTNAME: &str = select_course!("shortname = ?1");
const BY_IDNUMBER: &str = select_course!("idnumber = ?1");
const BY_ID: &str = select_course!("id = ?1");
const OTHER_BY_SHORTNAME: &str = select_course!("shortname = ?1 AND id <> ?2 LIMIT 1");
const OTHER_BY_IDNUMBER: &str = select_course!("idnumber = ?1 AND id <> ?2 LIMIT 1");

fn read(r: &rusqlite::Row) -> rusqlite::Result<StoredCourse> {
    Ok(StoredCourse {
        id: r.get(0)?,
        shortname: r.get(1)?,
        fullname: r.get(2)?,
        idnumber: r.get(3)?,
        category: r.get(4)?,
    })
}

fn find_where(conn: &Connection, sql: &str, v: Value) -> Result<Vec<StoredCourse>, RowError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([v], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Finds the course whose `field` is `value`; several fail the row.
pub(crate) fn find_by(
    conn: &Connection,
    field: CourseIdentifier,
    value: &str,
) -> Result<Option<StoredCourse>, RowError> {
    let found = match field {
        CourseIdentifier::Shortname => find_where(conn, BY_SHORTNAME, Value::Text(value.into()))?,
        CourseIdentifier::Idnumber => {
            if value.is_empty() {
                return Ok(None);
            }
            find_where(conn, BY_IDNUMBER, Value::Text(value.into()))?
        }
        CourseIdentifier::Id => {
            let id: i64 = value.trim().parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("course id '{value}' is not a number ([courses] identifier = \"id\")"),
                )
            })?;
            find_where(conn, BY_ID, Value::Integer(id))?
        }
    };
    if found.len() > 1 {
        let all: Vec<String> = found.iter().map(StoredCourse::label).collect();
        return Err(row(
            Code::AmbiguousMatch,
            format!(
                "{} courses have {} '{value}': {}; make it unique in Moodle",
                found.len(),
                field.column(),
                all.join("; ")
            ),
        ));
    }
    Ok(found.into_iter().next())
}

/// The course a row names by the configured identifier; a missing one fails the row, and the
/// site course is refused.
pub(crate) fn require(
    conn: &Connection,
    ctx: &Ctx,
    value: &str,
    what: &str,
) -> Result<StoredCourse, RowError> {
    require_by(conn, ctx.courses.identifier, value, what)
}

/// As `require`, by the given field.
pub(crate) fn require_by(
    conn: &Connection,
    field: CourseIdentifier,
    value: &str,
    what: &str,
) -> Result<StoredCourse, RowError> {
    let c = find_by(conn, field, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!("no {what} has {} '{value}'", field.column()),
        )
    })?;
    if c.id == SITE_COURSE {
        return Err(site_refused());
    }
    Ok(c)
}

fn site_refused() -> RowError {
    row(
        Code::SiteCourse,
        "that is the site course (the front page); a feed cannot change it".into(),
    )
}

pub(crate) fn course_context(conn: &Connection, id: i64) -> Result<ContextRow, RowError> {
    context_of(conn, CONTEXT_COURSE, id)?
        .ok_or_else(|| lookup::inconsistent(format!("course {id} has no context row")))
}

/// Another course using `value` (`sql` says in which field), for collision messages.
fn other_with(
    conn: &Connection,
    sql: &str,
    value: &str,
    except: i64,
) -> Result<Option<StoredCourse>, RowError> {
    if value.is_empty() {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![value, except], read)
        .optional()?)
}

fn check_collisions(conn: &Connection, c: &CourseFields, except: i64) -> Result<(), RowError> {
    if let Some(s) = &c.shortname {
        if let Some(o) = other_with(conn, OTHER_BY_SHORTNAME, s, except)? {
            return Err(row(
                Code::CourseShortnameTaken,
                format!("shortname '{s}' is already used by {}", o.label()),
            ));
        }
    }
    if let Some(i) = &c.idnumber {
        if let Some(o) = other_with(conn, OTHER_BY_IDNUMBER, i, except)? {
            return Err(row(
                Code::CourseIdnumberTaken,
                format!("idnumber '{i}' is already used by {}", o.label()),
            ));
        }
    }
    Ok(())
}

/// The identifier value of a course row.
fn key_of(ctx: &Ctx, c: &CourseFields) -> Result<String, RowError> {
    let v = match ctx.courses.identifier {
        CourseIdentifier::Shortname => c.shortname.clone(),
        CourseIdentifier::Idnumber => c.idnumber.clone().filter(|s| !s.is_empty()),
        CourseIdentifier::Id => c.id.map(|i| i.to_string()),
    };
    v.ok_or_else(|| {
        row(
            Code::MissingValue,
            format!(
                "the row has no {} ([courses] identifier) to find the course by",
                ctx.courses.identifier.column()
            ),
        )
    })
}

/// Teachers resolved before any write: (user id, role id, label).
fn resolve_teachers(
    conn: &Connection,
    ctx: &Ctx,
    c: &CourseFields,
) -> Result<Vec<(i64, i64, String)>, RowError> {
    let mut out = Vec::with_capacity(c.teachers.len());
    for t in &c.teachers {
        let user = lookup::user_id(conn, ctx.courses.teacher_identifier, &t.account)?;
        let role_name = t
            .role
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(&ctx.courses.teacher_role);
        let role = lookup::course_role_id(conn, role_name)?;
        out.push((user, role, format!("{} as {role_name}", t.account)));
    }
    Ok(out)
}

/// Enrols the resolved teachers through the manual instance `instance`.
fn enrol_teachers(
    conn: &Connection,
    ctx: &Ctx,
    course: i64,
    instance: i64,
    course_ctx: &ContextRow,
    teachers: Vec<(i64, i64, String)>,
    changes: &mut Vec<Change>,
) -> Result<(), RowError> {
    let mut any = false;
    for (user, role, label) in teachers {
        let enrolled = enrol::enrol_user(conn, instance, user, ctx.now)?;
        let assigned = enrol::assign_role(conn, role, course_ctx.id, user, "", 0, ctx.now)?;
        any |= enrolled || assigned;
        changes.push(Change::new(
            if enrolled || assigned {
                Action::Created
            } else {
                Action::Unchanged
            },
            "enrolment",
            user,
            label,
        ));
    }
    if any {
        meta::sync_children(conn, course, ctx.now, meta::Scope::All)?;
    }
    Ok(())
}

pub(crate) fn upsert(
    conn: &Connection,
    ctx: &Ctx,
    c: &CourseFields,
) -> Result<Vec<Change>, RowError> {
    let key = key_of(ctx, c)?;
    match find_by(conn, ctx.courses.identifier, &key)? {
        Some(e) if e.id == SITE_COURSE => Err(site_refused()),
        Some(e) if !ctx.courses.update_existing => Err(RowError::Nothing(format!(
            "{} already exists; updates are off ([courses] update_existing)",
            e.label()
        ))),
        Some(e) => update(conn, ctx, c, &e),
        None if ctx.courses.identifier == CourseIdentifier::Id => Err(row(
            Code::NotFound,
            format!("no course has id {key}; with [courses] identifier = \"id\" only existing courses can be updated"),
        )),
        None => create(conn, ctx, c),
    }
}

/// A course's `SETTINGS` values.
fn read_settings(conn: &Connection, id: i64) -> Result<Vec<Value>, RowError> {
    Ok(conn.prepare_cached(SELECT_SETTINGS)?.query_row([id], |r| {
        (0..SETTINGS.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    })?)
}

/// A template course's settings and sections.
struct Template {
    values: Vec<Value>,
    sections: Vec<(i64, Option<String>, Option<String>)>,
}

fn load_template(conn: &Connection, shortname: &str) -> Result<Template, RowError> {
    let Some(t) = find_by(conn, CourseIdentifier::Shortname, shortname)? else {
        return Err(row(
            Code::NotFound,
            format!("template course '{shortname}' does not exist (a template must exist before the row that uses it: create it in an earlier row or file)"),
        ));
    };
    if t.id == SITE_COURSE {
        return Err(row(
            Code::SiteCourse,
            format!(
                "template '{shortname}' is the site course (the front page); name a real course"
            ),
        ));
    }
    let values = read_settings(conn, t.id)?;
    let sections = conn
        .prepare_cached("SELECT section, name, summary FROM mdl_course_sections WHERE course = ?1 ORDER BY section")?
        .query_map([t.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Template { values, sections })
}

/// The row's value for each of `SETTINGS`, where given.
fn given(c: &CourseFields) -> [Option<Value>; 13] {
    let t = |v: &Option<String>| v.clone().map(Value::Text);
    let i = |v: Option<i64>| v.map(Value::Integer);
    let b = |v: Option<bool>| v.map(|b| Value::Integer(i64::from(b)));
    [
        t(&c.fullname),
        t(&c.summary),
        t(&c.format),
        b(c.visible),
        i(c.startdate),
        i(c.enddate),
        t(&c.lang),
        i(c.groupmode),
        b(c.groupmodeforce),
        b(c.showgrades),
        i(c.newsitems),
        i(c.maxbytes),
        b(c.enablecompletion),
    ]
}

fn create(conn: &Connection, ctx: &Ctx, c: &CourseFields) -> Result<Vec<Change>, RowError> {
    let shortname = c.shortname.as_deref().unwrap_or_default();
    if shortname.is_empty() {
        return Err(row(
            Code::MissingValue,
            "a new course needs a shortname".into(),
        ));
    }
    if c.fullname.as_deref().is_none_or(str::is_empty) {
        return Err(row(
            Code::MissingValue,
            "a new course needs a fullname".into(),
        ));
    }
    // Everything that can fail the row is checked before the first write.
    check_collisions(conn, c, 0)?;
    let template = c
        .template
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| load_template(conn, t))
        .transpose()?;
    let teachers = resolve_teachers(conn, ctx, c)?;
    let student = lookup::role_id(conn, "student")?;
    let placement = categories::resolve(conn, ctx, c.category.as_deref())?;

    // A new course's defaults (Moodle's `moodlecourse` settings), in `SETTINGS` order.
    let mut values: Vec<Value> = vec![
        Value::Null,
        Value::Text(String::new()),
        Value::Text(ctx.courses.default_format.clone()),
        Value::Integer(1),
        Value::Integer(ctx.now),
        Value::Integer(0),
        Value::Text(String::new()),
        Value::Integer(0),
        Value::Integer(0),
        Value::Integer(1),
        Value::Integer(5),
        Value::Integer(0),
        Value::Integer(0),
    ];
    if let Some(t) = &template {
        // The template's settings, but not its dates: those belong to the template's own run.
        for (i, v) in t.values.iter().enumerate() {
            if !matches!(SETTINGS[i], "startdate" | "enddate") {
                values[i] = v.clone();
            }
        }
    }
    let row_values = given(c);
    let visible_given = row_values[VISIBLE].is_some() || template.is_some();
    for (slot, v) in values.iter_mut().zip(row_values) {
        if let Some(v) = v {
            *slot = v;
        }
    }
    check_dates(&values[STARTDATE], &values[ENDDATE])?;

    let (category, mut changes) = categories::realise(conn, ctx, placement)?;
    if !visible_given {
        // As create_course: a course in a hidden category starts hidden.
        values[VISIBLE] = Value::Integer(
            conn.prepare_cached("SELECT visible FROM mdl_course_categories WHERE id = ?1")?
                .query_row([category], |r| r.get(0))?,
        );
    }
    let (cat_sort, cat_count): (i64, i64) = conn
        .prepare_cached("SELECT sortorder, coursecount FROM mdl_course_categories WHERE id = ?1")?
        .query_row([category], |r| Ok((r.get(0)?, r.get(1)?)))?;
    conn.prepare_cached(
        "INSERT INTO mdl_course (category, sortorder, shortname, idnumber, timecreated, timemodified,
            fullname, summary, format, visible, startdate, enddate, lang, groupmode, groupmodeforce, showgrades,
            newsitems, maxbytes, enablecompletion, visibleold)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?9)",
    )?
    .execute(rusqlite::params_from_iter(
        [
            Value::Integer(category),
            Value::Integer(cat_sort + cat_count + 1),
            Value::Text(shortname.to_string()),
            Value::Text(c.idnumber.clone().unwrap_or_default()),
            Value::Integer(ctx.now),
        ]
        .into_iter()
        .chain(values),
    ))?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount + 1 WHERE id = ?1",
    )?
    .execute([category])?;
    let course_ctx = insert_context(conn, CONTEXT_COURSE, id, &parent_context(conn, category)?)?;

    // Section 0, the template's sections, then the row's.
    let mut sections: Vec<Section> = template
        .map(|t| {
            t.sections
                .into_iter()
                .map(|(section, name, summary)| Section {
                    section,
                    name,
                    summary,
                })
                .collect()
        })
        .unwrap_or_default();
    if !sections.iter().any(|s| s.section == 0) {
        sections.insert(
            0,
            Section {
                section: 0,
                name: None,
                summary: Some(String::new()),
            },
        );
    }
    for s in &sections {
        write_section(conn, id, s, ctx.now)?;
    }
    for s in &c.sections {
        write_section(conn, id, s, ctx.now)?;
    }
    if sections.len() > 1 || !c.sections.is_empty() {
        fill_section_gaps(conn, id, ctx.now)?;
    }
    let manual = enrol::add_default_instances(
        conn,
        id,
        student,
        c.guest_enrol.unwrap_or(false),
        c.self_enrol.unwrap_or(false),
        ctx.now,
    )?;
    changes.push(Change::new(
        Action::Created,
        "course",
        id,
        shortname.to_string(),
    ));
    enrol_teachers(conn, ctx, id, manual, &course_ctx, teachers, &mut changes)?;
    Ok(changes)
}

/// Moodle keeps a course's sections numbered 0..N without gaps: adds the missing ones, empty.
fn fill_section_gaps(conn: &Connection, course: i64, now: i64) -> Result<(), RowError> {
    conn.prepare_cached(
        "WITH RECURSIVE n(x) AS (
             SELECT 1 UNION ALL SELECT x + 1 FROM n
             WHERE x < (SELECT MAX(section) FROM mdl_course_sections WHERE course = ?1))
         INSERT OR IGNORE INTO mdl_course_sections (course, section, summary, sequence, timemodified)
         SELECT ?1, x, '', '', ?2 FROM n
         WHERE x < (SELECT MAX(section) FROM mdl_course_sections WHERE course = ?1)",
    )?
    .execute(params![course, now])?;
    Ok(())
}

/// Moodle refuses an end date before the start date (`enddatebeforestartdate`); 0 is no end.
fn check_dates(start: &Value, end: &Value) -> Result<(), RowError> {
    if let (Value::Integer(s), Value::Integer(e)) = (start, end) {
        if *e != 0 && e < s {
            return Err(row(
                Code::InvalidValue,
                format!(
                    "the enddate ({e}) is before the startdate ({s}); give both, or a later end"
                ),
            ));
        }
    }
    Ok(())
}

/// Creates section `s.section` or updates the name and summary given. Returns whether it
/// changed anything.
fn write_section(conn: &Connection, course: i64, s: &Section, now: i64) -> Result<bool, RowError> {
    let found: Option<(i64, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, name, summary FROM mdl_course_sections WHERE course = ?1 AND section = ?2",
        )?
        .query_row(params![course, s.section], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match found {
        None => {
            conn.prepare_cached(
                "INSERT INTO mdl_course_sections (course, section, name, summary, sequence, timemodified)
                 VALUES (?1, ?2, ?3, ?4, '', ?5)",
            )?
            .execute(params![course, s.section, s.name, s.summary.clone().unwrap_or_default(), now])?;
            Ok(true)
        }
        Some((id, name, summary)) => {
            let name = s.name.clone().or(name);
            let summary = s.summary.clone().or(summary);
            let n = conn
                .prepare_cached(
                    "UPDATE mdl_course_sections SET name = ?2, summary = ?3, timemodified = ?4
                     WHERE id = ?1 AND (name IS NOT ?2 OR summary IS NOT ?3)",
                )?
                .execute(params![id, name, summary, now])?;
            Ok(n > 0)
        }
    }
}

fn update(
    conn: &Connection,
    ctx: &Ctx,
    c: &CourseFields,
    e: &StoredCourse,
) -> Result<Vec<Change>, RowError> {
    check_collisions(conn, c, e.id)?;
    let teachers = resolve_teachers(conn, ctx, c)?;
    let placement = match c.category.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => Some(categories::resolve(conn, ctx, Some(raw))?),
        None => None,
    };
    let student = lookup::role_id(conn, "student")?;
    let manual = match (teachers.is_empty(), enrol::manual_instance(conn, e.id)?) {
        (true, m) => m.unwrap_or(0),
        (false, Some(m)) => m,
        (false, None) => {
            return Err(row(
                Code::NotFound,
                format!(
                "{} has no manual enrolment method to enrol its teachers with; add one in Moodle",
                e.label()
            ),
            ))
        }
    };
    let course_ctx = course_context(conn, e.id)?;

    let mut changes = Vec::new();
    let mut fields = Vec::new();
    // Only the columns the row gives are compared and written.
    let current = read_settings(conn, e.id)?;
    let mut sets: Vec<(String, Value)> = Vec::new();
    for ((col, now), want) in SETTINGS.iter().zip(&current).zip(given(c)) {
        if let Some(want) = want {
            if want != *now {
                sets.push((col.to_string(), want));
            }
        }
    }
    for (col, want, now) in [
        ("shortname", c.shortname.as_ref(), &e.shortname),
        ("idnumber", c.idnumber.as_ref(), &e.idnumber),
    ] {
        if let Some(w) = want {
            if w != now {
                sets.push((col.to_string(), Value::Text(w.clone())));
            }
        }
    }
    let merged = |i: usize| {
        sets.iter()
            .find(|(c, _)| c == SETTINGS[i])
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| current[i].clone())
    };
    check_dates(&merged(STARTDATE), &merged(ENDDATE))?;
    if let Some(p) = placement {
        let (category, created) = categories::realise(conn, ctx, p)?;
        changes.extend(created);
        if category != e.category {
            move_course(conn, e, category)?;
            fields.push("category".to_string());
        }
    }
    if !sets.is_empty() {
        let assign: Vec<String> = sets
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{c} = ?{}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE mdl_course SET {}, timemodified = ?{} WHERE id = ?1",
            assign.join(", "),
            sets.len() + 2
        );
        let mut values = vec![Value::Integer(e.id)];
        values.extend(sets.iter().map(|(_, v)| v.clone()));
        values.push(Value::Integer(ctx.now));
        conn.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(values))?;
        if sets.iter().any(|(c, _)| c == "visible") {
            conn.prepare_cached("UPDATE mdl_course SET visibleold = visible WHERE id = ?1")?
                .execute([e.id])?;
        }
        fields.extend(sets.into_iter().map(|(c, _)| c));
    }
    for s in &c.sections {
        if write_section(conn, e.id, s, ctx.now)? {
            fields.push(format!("topic{}", s.section));
        }
    }
    if !c.sections.is_empty() {
        fill_section_gaps(conn, e.id, ctx.now)?;
    }
    for (plugin, on, name) in [
        ("self", c.self_enrol, "self"),
        ("guest", c.guest_enrol, "guest"),
    ] {
        if let Some(on) = on {
            if enrol::set_status(conn, e.id, plugin, on, student, ctx.now)? {
                fields.push(name.to_string());
            }
        }
    }
    // Without a course-level change the row is unchanged even if teachers were enrolled.
    changes.push(Change {
        action: if fields.is_empty() {
            Action::Unchanged
        } else {
            Action::Updated
        },
        entity: "course",
        id: e.id,
        label: c.shortname.clone().unwrap_or_else(|| e.shortname.clone()),
        fields,
    });
    enrol_teachers(conn, ctx, e.id, manual, &course_ctx, teachers, &mut changes)?;
    Ok(changes)
}

/// Moves a course to another category: its context (and everything below) moves too.
fn move_course(conn: &Connection, e: &StoredCourse, category: i64) -> Result<(), RowError> {
    let old = course_context(conn, e.id)?;
    let parent = context_of(conn, CONTEXT_COURSECAT, category)?
        .ok_or_else(|| lookup::inconsistent(format!("category {category} has no context row")))?;
    let new_path = format!("{}/{}", parent.path, old.id);
    let shift = parent.depth + 1 - old.depth;
    conn.prepare_cached(
        "UPDATE mdl_context SET path = ?2 || substr(path, length(?1) + 1), depth = depth + ?3
         WHERE path = ?1 OR (path >= ?4 AND path < ?5)",
    )?
    .execute(params![
        old.path,
        new_path,
        shift,
        old.below().0,
        old.below().1
    ])?;
    conn.prepare_cached("UPDATE mdl_course SET category = ?2 WHERE id = ?1")?
        .execute(params![e.id, category])?;
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount - 1 WHERE id = ?1",
    )?
    .execute([e.category])?;
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount + 1 WHERE id = ?1",
    )?
    .execute([category])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_query_reads_the_settings_in_order() {
        let cols: Vec<&str> = SELECT_SETTINGS
            .trim_start_matches("SELECT ")
            .split(" FROM ")
            .next()
            .unwrap()
            .split(',')
            .map(str::trim)
            .collect();
        assert_eq!(cols, SETTINGS);
        assert_eq!(SETTINGS[VISIBLE], "visible");
        assert_eq!(SETTINGS[STARTDATE], "startdate");
        assert_eq!(SETTINGS[ENDDATE], "enddate");
    }
}
