//! Courses in the embedded store: created as Moodle's
//! create_course (or a copy of a template) makes them, updated as update_course does.

use super::enrol;
use super::error::RowError;
use super::lookup::{
    self, context_of, insert_context, parent_context, ContextRow, CONTEXT_COURSE, CONTEXT_COURSECAT,
};
use super::Ctx;
use crate::command::Section;
use crate::plan::ops::{CourseUpdate, NewCourse};
use crate::plan::view::{weeks_end, Setting};
use rusqlite::{params, types::Value, Connection, OptionalExtension};

pub(crate) fn course_context(conn: &Connection, id: i64) -> Result<ContextRow, RowError> {
    context_of(conn, CONTEXT_COURSE, id)?
        .ok_or_else(|| lookup::inconsistent(format!("course {id} has no context row")))
}

fn value(s: &Setting) -> Value {
    match s {
        Setting::Text(t) => Value::Text(t.clone()),
        Setting::Int(n) => Value::Integer(*n),
    }
}

/// create_course (with the default enrol instances: manual enabled, guest and self as
/// asked), or a copy of `template`: its sections come along, then the row's are written.
pub(crate) fn create(
    conn: &Connection,
    ctx: &Ctx,
    c: &NewCourse,
    category: i64,
    template: Option<i64>,
) -> Result<i64, RowError> {
    let student = lookup::role_id(conn, "student")?;
    let (cat_sort, cat_count): (i64, i64) = conn
        .prepare_cached("SELECT sortorder, coursecount FROM mdl_course_categories WHERE id = ?1")?
        .query_row([category], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| lookup::inconsistent(format!("category {category} is missing")))?;
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
            Value::Text(c.shortname.clone()),
            Value::Text(c.idnumber.clone()),
            Value::Integer(ctx.now),
        ]
        .into_iter()
        .chain(c.settings.iter().map(value)),
    ))?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount + 1 WHERE id = ?1",
    )?
    .execute([category])?;
    insert_context(conn, CONTEXT_COURSE, id, &parent_context(conn, category)?)?;

    // Section 0 (or the template's sections), then the row's.
    let mut sections: Vec<Section> = match template {
        Some(t) => conn
            .prepare_cached(
                "SELECT section, name, summary FROM mdl_course_sections WHERE course = ?1 ORDER BY section",
            )?
            .query_map([t], |r| {
                Ok(Section {
                    section: r.get(0)?,
                    name: r.get(1)?,
                    summary: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
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
    let copied = sections.len() > 1;
    for s in sections.iter().chain(&c.sections) {
        write_section(conn, id, s, ctx.now)?;
    }
    if copied || !c.sections.is_empty() {
        fill_section_gaps(conn, id, ctx.now)?;
    }
    enrol::add_default_instances(conn, id, student, c.guest_enrol, c.self_enrol, ctx.now)?;
    follow_weeks_format(conn, id)?;
    Ok(id)
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

/// Creates section `s.section` or updates the name and summary given.
fn write_section(conn: &Connection, course: i64, s: &Section, now: i64) -> Result<(), RowError> {
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
        }
        Some((id, name, summary)) => {
            let name = s.name.clone().or(name);
            let summary = s.summary.clone().or(summary);
            conn.prepare_cached(
                "UPDATE mdl_course_sections SET name = ?2, summary = ?3, timemodified = ?4
                 WHERE id = ?1 AND (name IS NOT ?2 OR summary IS NOT ?3)",
            )?
            .execute(params![id, name, summary, now])?;
        }
    }
    Ok(())
}

/// format_weeks' observer: a `weeks` course ends a week after its last section starts
/// (Moodle's `automaticenddate`, on by default), whatever end date it was given.
fn follow_weeks_format(conn: &Connection, course: i64) -> Result<(), RowError> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT c.startdate, (SELECT MAX(section) FROM mdl_course_sections WHERE course = c.id)
             FROM mdl_course c WHERE c.id = ?1 AND c.format = 'weeks'",
        )?
        .query_row([course], |r| {
            Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
        })
        .optional()?;
    if let Some((start, last)) = found {
        conn.prepare_cached("UPDATE mdl_course SET enddate = ?2 WHERE id = ?1")?
            .execute(params![course, weeks_end(start, last)])?;
    }
    Ok(())
}

/// update_course with the values that change, a move to another category, and the row's
/// sections.
pub(crate) fn update(
    conn: &Connection,
    ctx: &Ctx,
    id: i64,
    u: &CourseUpdate,
    category: Option<i64>,
) -> Result<(), RowError> {
    if let Some(category) = category {
        move_course(conn, id, category)?;
    }
    if !u.set.is_empty() {
        let assign: Vec<String> = u
            .set
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{c} = ?{}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE mdl_course SET {}, timemodified = ?{} WHERE id = ?1",
            assign.join(", "),
            u.set.len() + 2
        );
        let mut values = vec![Value::Integer(id)];
        values.extend(u.set.iter().map(|(_, v)| value(v)));
        values.push(Value::Integer(ctx.now));
        conn.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(values))?;
        if u.set.iter().any(|(c, _)| *c == "visible") {
            conn.prepare_cached("UPDATE mdl_course SET visibleold = visible WHERE id = ?1")?
                .execute([id])?;
        }
    }
    for s in &u.sections {
        write_section(conn, id, s, ctx.now)?;
    }
    if !u.sections.is_empty() {
        fill_section_gaps(conn, id, ctx.now)?;
    }
    follow_weeks_format(conn, id)
}

/// Moves a course to another category: its context (and everything below) moves too.
fn move_course(conn: &Connection, id: i64, category: i64) -> Result<(), RowError> {
    let from: i64 = conn
        .prepare_cached("SELECT category FROM mdl_course WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    if from == category {
        return Ok(());
    }
    let old = course_context(conn, id)?;
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
        .execute(params![id, category])?;
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount - 1 WHERE id = ?1",
    )?
    .execute([from])?;
    conn.prepare_cached(
        "UPDATE mdl_course_categories SET coursecount = coursecount + 1 WHERE id = ?1",
    )?
    .execute([category])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::plan::view::weeks_end;

    #[test]
    fn weeks_end_counts_the_last_section() {
        let start = 1_900_000_000;
        assert_eq!(weeks_end(start, 0), start + 7 * 86_400);
        assert_eq!(weeks_end(start, 1), start + 7 * 86_400);
        assert_eq!(weeks_end(start, 3), start + 21 * 86_400);
    }
}
