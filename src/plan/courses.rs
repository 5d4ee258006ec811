//! Courses: found by `[courses] identifier`, created in their category (a path's missing
//! levels first) with Moodle's defaults for a new course where the row, the settings and the
//! template say nothing, or updated (with `update_existing`) in the settings the row gives
//! and that differ, with the sections, the self and guest methods and the teachers the row
//! names. The site course is never changed.

use super::categories::{self, Placement};
use super::course_teachers::{self, Teacher};
use super::ops::{CourseUpdate, InstanceUpdate, NewCourse, NewInstance, Op};
use super::view::{
    needs_plugin, weeks_end, CourseRec, InstanceRec, Read, ReadError, Setting, SiteView, Wanted,
    COURSE_SETTINGS,
};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::{Code, Failure};
use crate::command::keys::CourseIdentifier;
use crate::command::{Command, CourseFields, Section};
use crate::outcome::Action;

fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

/// Positions in `COURSE_SETTINGS`.
const FORMAT: usize = 2;
const STARTDATE: usize = 4;
const ENDDATE: usize = 5;

/// What `create_course` gives a course on a fresh site (the `moodlecourse` defaults), in
/// `COURSE_SETTINGS` order; the format comes from `[courses] default_format`, the start date
/// is the run's (as tool_sync did, rather than Moodle's web service's 1 January 1970).
fn new_course_defaults(fullname: &str, format: &str, visible: bool, now: i64) -> Vec<Setting> {
    use Setting::{Int, Text};
    vec![
        Text(fullname.to_string()),
        Text(String::new()),
        Text(format.to_string()),
        Int(i64::from(visible)),
        Int(now),
        Int(0),
        Text(String::new()),
        Int(0),
        Int(0),
        Int(1),
        Int(5),
        Int(0),
        // The site's enablecompletion (moodlecourse | enablecompletion), on by default.
        Int(1),
    ]
}

/// The row's value for each of `COURSE_SETTINGS`, where given.
fn given(c: &CourseFields) -> Vec<Option<Setting>> {
    let t = |v: &Option<String>| v.clone().map(Setting::Text);
    let i = |v: Option<i64>| v.map(Setting::Int);
    let b = |v: Option<bool>| v.map(|b| Setting::Int(i64::from(b)));
    vec![
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

fn int(s: Option<&Setting>) -> i64 {
    match s {
        Some(Setting::Int(n)) => *n,
        _ => 0,
    }
}

fn is_weeks(s: Option<&Setting>) -> bool {
    matches!(s, Some(Setting::Text(f)) if f == "weeks")
}

/// Moodle refuses an end date before the start date (`enddatebeforestartdate`); 0 is no end.
fn check_dates(start: i64, end: i64) -> Read<()> {
    if end != 0 && end < start {
        return Err(row(
            Code::InvalidValue,
            format!(
                "the enddate ({end}) is before the startdate ({start}); give both, or a later end"
            ),
        ));
    }
    Ok(())
}

/// The value a row names its course by, for `by`.
pub(super) fn key_of(by: CourseIdentifier, c: &CourseFields) -> Option<String> {
    match by {
        CourseIdentifier::Shortname => c.shortname.clone().filter(|s| !s.is_empty()),
        CourseIdentifier::Idnumber => c.idnumber.clone().filter(|s| !s.is_empty()),
        CourseIdentifier::Id => c.id.map(|i| i.to_string()),
    }
}

/// Whether the course holds `value` in `by`, as the view would find it.
fn matches(c: &CourseRec, by: CourseIdentifier, value: &str) -> bool {
    match by {
        CourseIdentifier::Shortname => c.shortname == value,
        CourseIdentifier::Idnumber => !value.is_empty() && c.idnumber == value,
        CourseIdentifier::Id => c.id.id().map(|id| id.to_string()).as_deref() == Some(value.trim()),
    }
}

/// The courses whose `by` is `value`, as the batch's earlier rows leave them.
fn find_all(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CourseIdentifier,
    value: &str,
) -> Read<Vec<CourseRec>> {
    if by == CourseIdentifier::Id && value.trim().parse::<i64>().is_err() {
        return Err(row(
            Code::InvalidValue,
            format!("course id '{value}' is not a number ([courses] identifier = \"id\")"),
        ));
    }
    let seen = view.courses(by, value)?;
    let o = p.overlay();
    let mut found = o.courses.merge_among(
        seen,
        |c| c.id,
        |c| matches(c, by, value),
        o.courses_holding(by, value).iter(),
    );
    found.sort_by_key(|c| c.id);
    Ok(found)
}

/// The one course whose `by` is `value`; several fail the row.
pub(super) fn find(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CourseIdentifier,
    value: &str,
) -> Read<Option<CourseRec>> {
    let found = find_all(p, view, by, value)?;
    if found.len() > 1 {
        let all: Vec<String> = found.iter().map(CourseRec::label).collect();
        return Err(row(
            Code::AmbiguousMatch,
            format!(
                "{} courses have {} '{value}': {}; make it unique in Moodle",
                found.len(),
                by.column(),
                all.join("; ")
            ),
        ));
    }
    Ok(found.into_iter().next())
}

pub(super) fn site_refused() -> ReadError {
    row(
        Code::SiteCourse,
        "that is the site course (the front page); a feed cannot change it".into(),
    )
}

/// The course a row names (`what` says which, in the message); a missing one fails the row,
/// and the site course is refused.
pub(super) fn require(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CourseIdentifier,
    value: &str,
    what: &str,
) -> Read<CourseRec> {
    let c = find(p, view, by, value)?.ok_or_else(|| {
        row(
            Code::NotFound,
            format!("no {what} has {} '{value}'", by.column()),
        )
    })?;
    if c.site {
        return Err(site_refused());
    }
    Ok(c)
}

/// The course's enrol instances, as the batch's earlier rows leave them, in Moodle's order.
pub(super) fn instances(
    p: &mut Planner,
    view: &mut dyn SiteView,
    course: Ref,
) -> Read<Vec<InstanceRec>> {
    let seen = view.instances(course)?;
    Ok(p.overlay()
        .instances
        .merge(seen, |i| i.id, |i| i.course == course))
}

/// What a course command looks up, for the view to read ahead.
pub(super) fn wanted(cfg: &crate::config::Config, cmd: &Command, w: &mut Wanted) {
    let by = cfg.courses.identifier;
    let mut course = |by: CourseIdentifier, v: &str| {
        if !v.is_empty() {
            w.courses.insert((by, v.to_string()));
        }
    };
    match cmd {
        Command::CourseUpsert(c) => {
            if let Some(k) = key_of(by, c) {
                course(by, &k);
                let parts = !c.sections.is_empty()
                    || !c.teachers.is_empty()
                    || c.self_enrol.is_some()
                    || c.guest_enrol.is_some();
                if parts {
                    w.course_parts.insert((by, k));
                }
            }
            if let Some(t) = c.template.as_deref().filter(|t| !t.is_empty()) {
                course(CourseIdentifier::Shortname, t);
                // An unfinished copy is found by its shortname.
                if let Some(s) = &c.shortname {
                    course(CourseIdentifier::Shortname, s);
                }
            }
            for t in &c.teachers {
                if !t.account.is_empty() {
                    w.users
                        .insert((cfg.courses.teacher_identifier, t.account.clone()));
                }
            }
        }
        Command::CourseDelete(r) => {
            course(by, &r.course);
            w.counts.insert((by, r.course.clone()));
        }
        Command::CourseCheck(r) => {
            course(by, &r.course);
            w.counts.insert((by, r.course.clone()));
        }
        Command::CourseReset(r) => {
            let by = r.by.unwrap_or(by);
            course(by, &r.course);
            w.course_parts.insert((by, r.course.clone()));
        }
        Command::MetaLink(m) | Command::MetaUnlink(m) => {
            course(by, &m.master);
            course(by, &m.meta);
            w.course_parts.insert((by, m.meta.clone()));
        }
        _ => {}
    }
}

/// Once the courses are read: the shortnames and idnumbers a create or a change would
/// collide with.
pub(super) fn wanted_next(
    cfg: &crate::config::Config,
    view: &mut dyn SiteView,
    cmd: &Command,
    w: &mut Wanted,
) {
    let Command::CourseUpsert(c) = cmd else {
        return;
    };
    let by = cfg.courses.identifier;
    let found = key_of(by, c)
        .and_then(|k| view.courses(by, &k).ok())
        .and_then(|f| f.into_iter().next());
    let f = found.as_ref();
    if let Some(s) = c.shortname.as_deref().filter(|s| !s.is_empty()) {
        if f.is_none_or(|f| f.shortname != s) {
            w.courses
                .insert((CourseIdentifier::Shortname, s.to_string()));
        }
    }
    if let Some(i) = c.idnumber.as_deref().filter(|s| !s.is_empty()) {
        if f.is_none_or(|f| f.idnumber != i) {
            w.courses
                .insert((CourseIdentifier::Idnumber, i.to_string()));
        }
    }
}

/// Another course (not `except`) using `value` in `by`.
fn other(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: CourseIdentifier,
    value: &str,
    except: Option<Ref>,
) -> Read<Option<CourseRec>> {
    if value.is_empty() {
        return Ok(None);
    }
    Ok(find_all(p, view, by, value)?
        .into_iter()
        .find(|c| Some(c.id) != except))
}

fn check_collisions(
    p: &mut Planner,
    view: &mut dyn SiteView,
    shortname: Option<&str>,
    idnumber: Option<&str>,
    except: Option<Ref>,
) -> Read<()> {
    if let Some(s) = shortname {
        if let Some(o) = other(p, view, CourseIdentifier::Shortname, s, except)? {
            return Err(row(
                Code::CourseShortnameTaken,
                format!("shortname '{s}' is already used by {}", o.label()),
            ));
        }
    }
    if let Some(i) = idnumber {
        if let Some(o) = other(p, view, CourseIdentifier::Idnumber, i, except)? {
            return Err(row(
                Code::CourseIdnumberTaken,
                format!("idnumber '{i}' is already used by {}", o.label()),
            ));
        }
    }
    Ok(())
}

/// What the row asks of the backend beyond the course's own settings, checked against what
/// it can do.
fn check_capabilities(view: &dyn SiteView, sections: bool, methods: bool) -> Read<()> {
    let caps = view.capabilities();
    if sections && !caps.section_names {
        return Err(ReadError::Row(needs_plugin(
            "naming a course's sections (topic<N>)",
            "local_moosync_set_sections",
        )));
    }
    if methods && !caps.self_guest_methods {
        return Err(ReadError::Row(needs_plugin(
            "enabling or disabling a course's self or guest method",
            "local_moosync_set_enrol_methods",
        )));
    }
    Ok(())
}

pub(super) fn upsert(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CourseFields,
) -> Read<Verdict> {
    let cfg = p.cfg().courses.clone();
    let by = cfg.identifier;
    let Some(key) = key_of(by, c) else {
        return Err(row(
            Code::MissingValue,
            format!(
                "the row has no {} ([courses] identifier) to find the course by",
                by.column()
            ),
        ));
    };
    let mut found = find(p, view, by, &key)?;
    let template = c.template.as_deref().filter(|t| !t.is_empty());
    if found.is_none() && template.is_some() && by != CourseIdentifier::Shortname {
        // A copy whose own fields were never set has no idnumber yet: found by shortname.
        if let Some(s) = c.shortname.as_deref().filter(|s| !s.is_empty()) {
            found = find(p, view, CourseIdentifier::Shortname, s)?.filter(|e| {
                e.copy_unfinished
                    && (e.idnumber.is_empty() || Some(e.idnumber.as_str()) == c.idnumber.as_deref())
            });
        }
    }
    match found {
        Some(e) if e.site => Err(site_refused()),
        Some(e) if e.copy_unfinished && template.is_some() => update(p, view, draft, c, e, true),
        Some(e) if !cfg.update_existing => Ok(Verdict::Nothing(format!(
            "{} already exists; updates are off ([courses] update_existing)",
            e.label()
        ))),
        Some(e) => update(p, view, draft, c, e, false),
        None if by == CourseIdentifier::Id => Err(row(
            Code::NotFound,
            format!("no course has id {key}; with [courses] identifier = \"id\" only existing courses can be updated"),
        )),
        None => create(p, view, draft, c),
    }
}

/// The template a row names: an existing course other than the site's.
fn template_of(p: &mut Planner, view: &mut dyn SiteView, name: &str) -> Read<CourseRec> {
    let Some(t) = find(p, view, CourseIdentifier::Shortname, name)? else {
        return Err(row(
            Code::NotFound,
            format!("template course '{name}' does not exist (a template must exist before the row that uses it: create it in an earlier row or file)"),
        ));
    };
    if t.site {
        return Err(row(
            Code::SiteCourse,
            format!("template '{name}' is the site course (the front page); name a real course"),
        ));
    }
    Ok(t)
}

/// The settings a new course gets, and which of them it gets without being told (Moodle's
/// defaults for a new course, or the template's for a copy).
struct NewSettings {
    values: Vec<Setting>,
    inherited: Vec<&'static str>,
}

fn new_settings(
    p: &Planner,
    c: &CourseFields,
    template: Option<&CourseRec>,
    placement: &Placement,
) -> NewSettings {
    let cfg = &p.cfg().courses;
    let mut values = new_course_defaults(
        c.fullname.as_deref().unwrap_or_default(),
        &cfg.default_format,
        placement.visible,
        p.now(),
    );
    // The format (a setting of moosync's) and the start date (the run's) are always said.
    let mut inherited: Vec<&'static str> = COURSE_SETTINGS
        .iter()
        .copied()
        .filter(|s| !matches!(*s, "format" | "startdate" | "fullname"))
        .collect();
    if let Some(t) = template {
        // The template's settings, but not its dates: those belong to the template's own run.
        for (i, name) in COURSE_SETTINGS.iter().enumerate() {
            if matches!(*name, "startdate" | "enddate" | "fullname") {
                continue;
            }
            if let Some(v) = t.settings.get(i).cloned().flatten() {
                values[i] = v;
            }
        }
        // A copy keeps the template's format unless the row names one; its end date is
        // told, as the template's is not its own.
        inherited.push("format");
        inherited.retain(|i| *i != "enddate");
    }
    for ((slot, name), v) in values.iter_mut().zip(COURSE_SETTINGS).zip(given(c)) {
        if let Some(v) = v {
            *slot = v;
            inherited.retain(|i| *i != name);
        }
    }
    NewSettings { values, inherited }
}

/// The sections a course has after the row's are written over `now`: a missing one is added
/// (and the numbers below it), a given name or summary replaces the old one.
fn with_sections(now: &[Section], row: &[Section]) -> Vec<Section> {
    let mut out: Vec<Section> = now.to_vec();
    for s in row {
        match out.iter_mut().find(|o| o.section == s.section) {
            Some(o) => {
                if s.name.is_some() {
                    o.name = s.name.clone();
                }
                if s.summary.is_some() {
                    o.summary = s.summary.clone();
                }
            }
            None => out.push(Section {
                section: s.section,
                name: s.name.clone(),
                summary: Some(s.summary.clone().unwrap_or_default()),
            }),
        }
    }
    let last = out.iter().map(|s| s.section).max().unwrap_or(0);
    for n in 0..last {
        if !out.iter().any(|s| s.section == n) {
            out.push(Section {
                section: n,
                name: None,
                summary: Some(String::new()),
            });
        }
    }
    out.sort_by_key(|s| s.section);
    out
}

fn last_section(sections: Option<&Vec<Section>>) -> i64 {
    sections
        .into_iter()
        .flatten()
        .map(|s| s.section)
        .max()
        .unwrap_or(0)
}

fn create(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CourseFields,
) -> Read<Verdict> {
    let shortname = c.shortname.clone().unwrap_or_default();
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
    check_collisions(p, view, Some(&shortname), c.idnumber.as_deref(), None)?;
    let template = match c.template.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(template_of(p, view, t)?),
        None => None,
    };
    let teachers = course_teachers::resolve(p, view, c)?;
    // A new course's self and guest methods start disabled: only enabling one asks for more.
    check_capabilities(
        view,
        !c.sections.is_empty(),
        c.self_enrol == Some(true) || c.guest_enrol == Some(true),
    )?;
    let placement = categories::place(p, view, draft, c.category.as_deref())?;
    let NewSettings {
        mut values,
        inherited,
    } = new_settings(p, c, template.as_ref(), &placement);
    check_dates(int(values.get(STARTDATE)), int(values.get(ENDDATE)))?;

    let from_template = template.as_ref().and_then(|t| t.sections.clone());
    let sections = with_sections(
        from_template.as_deref().unwrap_or(&[Section {
            section: 0,
            name: None,
            summary: Some(String::new()),
        }]),
        &c.sections,
    );
    if is_weeks(values.get(FORMAT)) {
        // format_weeks sets the end date from the start and the last section.
        values[ENDDATE] = Setting::Int(weeks_end(
            int(values.get(STARTDATE)),
            last_section(Some(&sections)),
        ));
    }
    let new = p.new_ref();
    let student = view.role("student")?.map(|r| r.id);
    let rec = CourseRec {
        id: new,
        shortname: shortname.clone(),
        fullname: c.fullname.clone().unwrap_or_default(),
        idnumber: c.idnumber.clone().unwrap_or_default(),
        category: placement.category,
        settings: values.iter().cloned().map(Some).collect(),
        sections: Some(sections),
        site: false,
        copy_unfinished: false,
    };
    p.overlay().put_course(rec);
    // What create_course gives a course: manual enabled, guest and self as asked.
    let mut manual = None;
    for (method, enabled, role) in [
        ("manual", true, student),
        ("guest", c.guest_enrol == Some(true), None),
        ("self", c.self_enrol == Some(true), student),
    ] {
        let id = p.new_ref();
        if method == "manual" {
            manual = Some(id);
        }
        p.overlay().set_instance(
            id,
            Some(InstanceRec {
                id,
                course: new,
                method: method.to_string(),
                enabled,
                role,
                link: None,
                group: None,
                start: Some(0),
                end: Some(0),
            }),
        );
    }
    draft.ops.push(Op::CreateCourse(NewCourse {
        new,
        category: placement.category,
        shortname: shortname.clone(),
        idnumber: c.idnumber.clone().unwrap_or_default(),
        settings: values,
        inherited,
        sections: c.sections.clone(),
        template: template.map(|t| t.id),
        guest_enrol: c.guest_enrol == Some(true),
        self_enrol: c.self_enrol == Some(true),
    }));
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "course",
        new,
        shortname,
    ));
    course_teachers::enrol(p, view, draft, new, manual, teachers)?;
    Ok(Verdict::Done)
}

fn update(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    c: &CourseFields,
    e: CourseRec,
    finishing: bool,
) -> Read<Verdict> {
    let shortname = c.shortname.as_deref().filter(|s| *s != e.shortname);
    let idnumber = c
        .idnumber
        .as_deref()
        .filter(|i| !i.is_empty() && *i != e.idnumber);
    check_collisions(p, view, shortname, idnumber, Some(e.id))?;
    let teachers: Vec<Teacher> = course_teachers::resolve(p, view, c)?;
    let manual = if teachers.is_empty() {
        None
    } else {
        let found = instances(p, view, e.id)?
            .into_iter()
            .filter(|i| i.method == "manual")
            .min_by_key(|i| i.id);
        match found {
            Some(m) => Some(m.id),
            None => {
                return Err(row(
                    Code::NotFound,
                    format!("{} has no manual enrolment method to enrol its teachers with; add one in Moodle", e.label()),
                ))
            }
        }
    };
    let placement = match c.category.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => Some(categories::place(p, view, draft, Some(raw))?),
        None => None,
    };

    // Only the settings the row gives are compared and written. A copy being finished gets
    // what a new copy would: the template's dates are not its own.
    let wanted: Vec<Option<Setting>> = if finishing {
        let mut w = given(c);
        if w[STARTDATE].is_none() {
            w[STARTDATE] = Some(Setting::Int(p.now()));
        }
        if w[ENDDATE].is_none() {
            w[ENDDATE] = Some(Setting::Int(0));
        }
        w
    } else {
        given(c)
    };
    let mut up = CourseUpdate {
        course: Some(e.id),
        shortname: c.shortname.clone().unwrap_or_else(|| e.shortname.clone()),
        finishes_copy: finishing,
        ..Default::default()
    };
    let mut fields: Vec<String> = Vec::new();
    if let Some(pl) = &placement {
        if pl.category != e.category {
            up.category = Some(pl.category);
            fields.push("category".into());
        }
    }
    let mut after = e.clone();
    for (i, (name, want)) in COURSE_SETTINGS.iter().zip(wanted).enumerate() {
        let Some(want) = want else { continue };
        if e.setting(name) != Some(&want) {
            after.settings[i] = Some(want.clone());
            up.set.push((name, want));
            fields.push(name.to_string());
        }
    }
    if let Some(s) = shortname {
        up.set.push(("shortname", Setting::Text(s.to_string())));
        fields.push("shortname".into());
        after.shortname = s.to_string();
    }
    if let Some(i) = c.idnumber.as_deref().filter(|i| *i != e.idnumber) {
        up.set.push(("idnumber", Setting::Text(i.to_string())));
        fields.push("idnumber".into());
        after.idnumber = i.to_string();
    }
    if let Some(v) = up.set.iter().find(|(n, _)| *n == "fullname") {
        if let Setting::Text(t) = &v.1 {
            after.fullname = t.clone();
        }
    }
    check_dates(
        int(after.setting("startdate")),
        int(after.setting("enddate")),
    )?;
    // Sections: those the row names whose name or summary would change. A backend that
    // cannot read them has each written.
    let sections_after = e
        .sections
        .as_ref()
        .map(|now| with_sections(now, &c.sections));
    for s in &c.sections {
        let changes = match (&e.sections, &sections_after) {
            (Some(now), Some(then)) => {
                now.iter().find(|o| o.section == s.section)
                    != then.iter().find(|o| o.section == s.section)
            }
            _ => true,
        };
        if changes {
            up.sections.push(s.clone());
            fields.push(format!("topic{}", s.section));
        }
    }
    // The self and guest methods: the course's first of each.
    let mut method_ops = Vec::new();
    for (method, on) in [("self", c.self_enrol), ("guest", c.guest_enrol)] {
        let Some(on) = on else { continue };
        let first = instances(p, view, e.id)?
            .into_iter()
            .filter(|i| i.method == method)
            .min_by_key(|i| i.id);
        match first {
            Some(i) if i.enabled == on => {}
            Some(mut i) => {
                method_ops.push(Op::UpdateInstance(InstanceUpdate {
                    instance: Some(i.id),
                    course: Some(e.id),
                    method: method.to_string(),
                    enabled: Some(on),
                    ..Default::default()
                }));
                i.enabled = on;
                p.overlay().set_instance(i.id, Some(i));
                fields.push(method.to_string());
            }
            // Nothing to disable.
            None if !on => {}
            None => {
                let new = p.new_ref();
                let role = match method {
                    "self" => view.role("student")?.map(|r| r.id),
                    _ => None,
                };
                method_ops.push(Op::AddInstance(NewInstance {
                    new,
                    course: e.id,
                    method: method.to_string(),
                    enabled: true,
                    role,
                    link: None,
                    group: None,
                    start: 0,
                    end: 0,
                }));
                p.overlay().set_instance(
                    new,
                    Some(InstanceRec {
                        id: new,
                        course: e.id,
                        method: method.to_string(),
                        enabled: true,
                        role,
                        link: None,
                        group: None,
                        start: Some(0),
                        end: Some(0),
                    }),
                );
                fields.push(method.to_string());
            }
        }
    }
    check_capabilities(view, !up.sections.is_empty(), !method_ops.is_empty())?;
    if let Some(cat) = up.category {
        after.category = cat;
    }
    if sections_after.is_some() {
        after.sections = sections_after;
    }
    if is_weeks(after.setting("format")) {
        let end = weeks_end(
            int(after.setting("startdate")),
            last_section(after.sections.as_ref()),
        );
        after.settings[ENDDATE] = Some(Setting::Int(end));
    }
    after.copy_unfinished = false;
    let changed = !up.set.is_empty() || up.category.is_some() || !up.sections.is_empty();
    if finishing {
        fields.push("the copy of its template finished".into());
    }
    draft.changes.push(
        PlannedChange::new(
            if fields.is_empty() {
                Action::Unchanged
            } else {
                Action::Updated
            },
            "course",
            e.id,
            up.shortname.clone(),
        )
        .with_fields(fields),
    );
    if changed || finishing {
        p.overlay().put_course(after);
        draft.ops.push(Op::UpdateCourse(up));
    }
    draft.ops.extend(method_ops);
    course_teachers::enrol(p, view, draft, e.id, manual, teachers)?;
    Ok(Verdict::Done)
}

/// The settings' positions in `COURSE_SETTINGS` match the row's `given`.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_name_their_settings() {
        assert_eq!(COURSE_SETTINGS[FORMAT], "format");
        assert_eq!(COURSE_SETTINGS[STARTDATE], "startdate");
        assert_eq!(COURSE_SETTINGS[ENDDATE], "enddate");
        let c = CourseFields {
            visible: Some(false),
            startdate: Some(7),
            ..Default::default()
        };
        let g = given(&c);
        assert_eq!(g[3], Some(Setting::Int(0)));
        assert_eq!(g[STARTDATE], Some(Setting::Int(7)));
    }

    #[test]
    fn sections_are_numbered_without_gaps() {
        let row = [Section {
            section: 3,
            name: Some("Three".into()),
            summary: None,
        }];
        let now = [Section {
            section: 0,
            name: None,
            summary: Some(String::new()),
        }];
        let out = with_sections(&now, &row);
        let numbers: Vec<i64> = out.iter().map(|s| s.section).collect();
        assert_eq!(numbers, [0, 1, 2, 3]);
        assert_eq!(out[3].name.as_deref(), Some("Three"));
        assert_eq!(out[3].summary.as_deref(), Some(""));
    }
}
