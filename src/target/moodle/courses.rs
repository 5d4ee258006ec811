//! Courses over REST: created in their category (a path's missing levels created first),
//! updated where they differ (with `[courses] update_existing`), deleted, and checked.
//! A new course with a template is a copy of it (`core_course_duplicate_course`, its
//! content without participants, as tool_sync restores a template's backup), then given the
//! row's other fields. Sections and the self and guest methods have no web service that
//! sets them: a row asking for them fails (MS-R006).

use super::calls::{self, CallKind, Ctx};
use super::client::{CallError, Client, Retry};
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::{Command, CourseCheck, CourseFields, CourseRef};
use crate::config::{CategoryIdentifier, CourseIdentifier};
use crate::outcome::{Action, Change, Outcome};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// A course as `core_course_get_courses_by_field` shows it.
#[derive(Debug, Clone, Default)]
pub(super) struct Record {
    pub(super) id: i64,
    shortname: String,
    fullname: String,
    idnumber: String,
    category: i64,
    summary: String,
    format: String,
    visible: bool,
    startdate: i64,
    enddate: i64,
}

impl Record {
    fn from_json(v: &Value) -> Option<Record> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        Some(Record {
            id: v.get("id")?.as_i64()?,
            shortname: s("shortname"),
            fullname: s("fullname"),
            idnumber: s("idnumber"),
            category: n("categoryid"),
            summary: s("summary"),
            format: s("format"),
            visible: n("visible") != 0 || v.get("visible").and_then(Value::as_bool) == Some(true),
            startdate: n("startdate"),
            enddate: n("enddate"),
        })
    }
}

impl Record {
    /// The course as the plan reads it: the settings `core_course_get_courses_by_field`
    /// shows, the others unknown.
    pub(super) fn rec(&self) -> crate::plan::view::CourseRec {
        use crate::plan::view::{CourseRec, Setting, COURSE_SETTINGS};
        let settings = COURSE_SETTINGS
            .iter()
            .map(|s| match *s {
                "fullname" => Some(Setting::Text(self.fullname.clone())),
                "summary" => Some(Setting::Text(self.summary.clone())),
                "format" => Some(Setting::Text(self.format.clone())),
                "visible" => Some(Setting::Int(i64::from(self.visible))),
                "startdate" => Some(Setting::Int(self.startdate)),
                "enddate" => Some(Setting::Int(self.enddate)),
                _ => None,
            })
            .collect();
        CourseRec {
            id: crate::plan::Ref::Id(self.id),
            shortname: self.shortname.clone(),
            fullname: self.fullname.clone(),
            idnumber: self.idnumber.clone(),
            category: crate::plan::Ref::Id(self.category),
            settings,
            sections: None,
            // Moodle's front page is course 1 (SITEID).
            site: self.id == 1,
        }
    }
}

/// Distinct courses looked up one by one; more are read in one call for all.
const MANY: usize = 20;

/// Courses and categories as the run has seen them.
#[derive(Default)]
pub struct Catalogue {
    courses: HashMap<(CourseIdentifier, String), Option<Record>>,
    /// (parent id, name) -> category ids; (0, idnumber) under the key `#idnumber`.
    categories: HashMap<(i64, String), Vec<i64>>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Create,
    Update,
    Delete,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::Create => "core_course_create_courses",
            Call::Update => "core_course_update_courses",
            Call::Delete => "core_course_delete_courses",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::Create | Call::Update => "courses",
            Call::Delete => "courseids",
        }
    }

    fn retry(self) -> Retry {
        // A create or delete sent twice would fail on its own effect: neither is sent
        // blindly again (a lost answer stops the file; the next run looks before it writes).
        if self == Call::Update {
            Retry::Safe
        } else {
            Retry::Never
        }
    }
}

struct Plan {
    call: Call,
    item: Params,
    change: Change,
    /// A copy of a template: `core_course_duplicate_course`'s parameters; `item` is then
    /// the update that gives the copy the row's other fields.
    copy: Option<Params>,
    /// The shortname of an unfinished copy this row's update finishes.
    finishes: Option<String>,
}

fn key_of(ctx: &Ctx, cmd: &Command) -> Option<(CourseIdentifier, String)> {
    let by = ctx.cfg.courses.identifier;
    match cmd {
        Command::CourseUpsert(c) => {
            let v = match by {
                CourseIdentifier::Shortname => c.shortname.clone(),
                CourseIdentifier::Idnumber => c.idnumber.clone(),
                CourseIdentifier::Id => c.id.map(|i| i.to_string()),
            }?;
            Some((by, v))
        }
        Command::CourseDelete(CourseRef { course })
        | Command::CourseCheck(CourseCheck { course, .. }) => Some((by, course.clone())),
        _ => None,
    }
}

/// How a row names a course: the field and its value.
pub(super) type CourseKey = (CourseIdentifier, String);

/// Finds courses by (field, value), each distinct key once. Moodle looks courses up one
/// value per call: past a few, one call for every course of the site is cheaper.
pub(super) fn look_up(
    client: &Client,
    parallel: usize,
    keys: impl IntoIterator<Item = (CourseIdentifier, String)>,
) -> Result<Vec<(CourseKey, Option<Record>)>, Failure> {
    let mut new: Vec<(CourseIdentifier, String)> = keys
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    new.sort_by(|a, b| a.1.cmp(&b.1));
    let matches = |r: &Record, by: CourseIdentifier, value: &str| match by {
        CourseIdentifier::Shortname => r.shortname == value,
        CourseIdentifier::Idnumber => r.idnumber == value,
        CourseIdentifier::Id => r.id.to_string() == value,
    };
    let records = |v: &Value| -> Vec<Record> {
        v.get("courses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Record::from_json)
            .collect()
    };
    let listed = if new.len() > MANY {
        let mut p = Params::new();
        p.push("field", "").push("value", "");
        match client.call("core_course_get_courses_by_field", &p, Retry::Safe) {
            Ok(v) => Some(v),
            // A site with more courses than one answer may hold: each is looked up instead.
            Err(CallError::Refused(f)) if f.code == Code::RemoteTooLarge => None,
            Err(e) => return Err(calls::stop_or(e, "the list of courses")),
        }
    } else {
        None
    };
    if let Some(v) = listed {
        let all = records(&v);
        let mut index: HashMap<(CourseIdentifier, String), &Record> = HashMap::new();
        for r in &all {
            index.insert((CourseIdentifier::Shortname, r.shortname.clone()), r);
            index.insert((CourseIdentifier::Id, r.id.to_string()), r);
            if !r.idnumber.is_empty() {
                index.insert((CourseIdentifier::Idnumber, r.idnumber.clone()), r);
            }
        }
        return Ok(new
            .into_iter()
            .map(|key| {
                let r = index.get(&key).map(|r| (*r).clone());
                (key, r)
            })
            .collect());
    }
    let found = pool::map(&new, parallel, |(by, value)| {
        let mut p = Params::new();
        p.push("field", by.column()).push("value", value.clone());
        let v = client.call("core_course_get_courses_by_field", &p, Retry::Safe)?;
        // Exact: Moodle matches the column, the answer is what it found.
        Ok::<_, CallError>(records(&v).into_iter().find(|r| matches(r, *by, value)))
    });
    new.into_iter()
        .zip(found)
        .map(|(k, r)| Ok((k, r.map_err(|e| calls::stop_or(e, "a course lookup"))?)))
        .collect()
}

/// The ids of the categories matching all `criteria` (without their subcategories) that
/// `keep` accepts.
fn categories_where(
    ctx: &Ctx,
    criteria: &[(&str, &str)],
    keep: impl Fn(&Value) -> bool,
) -> Result<Vec<i64>, Failure> {
    let mut p = Params::new();
    for (n, (key, value)) in criteria.iter().enumerate() {
        p.push(format!("criteria[{n}][key]"), *key)
            .push(format!("criteria[{n}][value]"), *value);
    }
    p.push("addsubcategories", "0");
    let v = ctx
        .client
        .call("core_course_get_categories", &p, Retry::Safe)
        .map_err(|e| calls::stop_or(e, "a category lookup"))?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter(|c| keep(c))
        .filter_map(|c| c.get("id").and_then(Value::as_i64))
        .collect())
}

impl Catalogue {
    fn fetch_courses(
        &mut self,
        ctx: &Ctx,
        keys: Vec<(CourseIdentifier, String)>,
    ) -> Result<(), Failure> {
        let new = keys.into_iter().filter(|k| !self.courses.contains_key(k));
        for (key, r) in look_up(ctx.client, ctx.cfg.target.parallel, new)? {
            self.courses.insert(key, r);
        }
        Ok(())
    }

    /// The categories under `parent` named `name`, asked once.
    fn children(&mut self, ctx: &Ctx, parent: i64, name: &str) -> Result<Vec<i64>, Failure> {
        if let Some(ids) = self.categories.get(&(parent, name.to_string())) {
            return Ok(ids.clone());
        }
        let parent_id = parent.to_string();
        let ids = categories_where(ctx, &[("name", name), ("parent", &parent_id)], |c| {
            c.get("name").and_then(Value::as_str) == Some(name)
        })?;
        self.categories
            .insert((parent, name.to_string()), ids.clone());
        Ok(ids)
    }

    /// The category a row names, created level by level when its path is missing (not in a
    /// dry run, where a missing level is a category to come: id 0).
    fn category(&mut self, ctx: &Ctx, wanted: &str) -> Result<i64, Failure> {
        let bad = |m: String| Failure::new(Code::CategoryUnresolved, m);
        match ctx.cfg.courses.category_identifier {
            CategoryIdentifier::Id => wanted.trim().parse().map_err(|_| {
                bad(format!(
                    "category '{wanted}' is not an id ([courses] category_identifier = \"id\")"
                ))
            }),
            CategoryIdentifier::Idnumber => {
                let key = (0, format!("#{wanted}"));
                if let Some(ids) = self.categories.get(&key) {
                    return ids
                        .first()
                        .copied()
                        .ok_or_else(|| bad(format!("no category has idnumber '{wanted}'")));
                }
                let ids = categories_where(ctx, &[("idnumber", wanted)], |_| true)?;
                self.categories.insert(key, ids.clone());
                ids.first()
                    .copied()
                    .ok_or_else(|| bad(format!("no category has idnumber '{wanted}'")))
            }
            CategoryIdentifier::Path => {
                let levels: Vec<&str> = wanted.split('/').map(str::trim).collect();
                if levels.iter().any(|l| l.is_empty()) {
                    return Err(bad(format!("category path '{wanted}' has an empty level")));
                }
                let mut parent = 0;
                for level in levels {
                    let ids = self.children(ctx, parent, level)?;
                    parent = match ids.as_slice() {
                        [id] => *id,
                        [] => {
                            if ctx.dry_run {
                                return Ok(0);
                            }
                            calls::require(ctx.functions, "core_course_create_categories")?;
                            let mut p = Params::new();
                            p.push("categories[0][name]", level).push("categories[0][parent]", parent.to_string());
                            let v = ctx.client.call("core_course_create_categories", &p, Retry::Never).map_err(|e| calls::stop_or(e, "creating a category"))?;
                            let id = v.get(0).and_then(|c| c.get("id")).and_then(Value::as_i64).ok_or_else(|| bad(format!("Moodle did not answer the id of the new category '{level}'")))?;
                            self.categories.insert((parent, level.to_string()), vec![id]);
                            id
                        }
                        many => {
                            return Err(Failure::new(
                                Code::AmbiguousMatch,
                                format!("{} categories named '{level}' under the same parent; the path '{wanted}' is ambiguous", many.len()),
                            ))
                        }
                    };
                }
                Ok(parent)
            }
        }
    }
}

/// Applies course rows (no course twice); one outcome per row.
pub fn apply(ctx: &Ctx, cat: &mut Catalogue, rows: &[&Command]) -> Result<Vec<Outcome>, Failure> {
    let t = &ctx.cfg.target;
    // Templates, and the copies' own shortnames (an unfinished copy has no idnumber yet).
    let copies: Vec<(CourseIdentifier, String)> = rows
        .iter()
        .filter_map(|c| match c {
            Command::CourseUpsert(c) if c.template.as_deref().is_some_and(|t| !t.is_empty()) => {
                Some([c.template.clone(), c.shortname.clone()])
            }
            _ => None,
        })
        .flatten()
        .flatten()
        .map(|v| (CourseIdentifier::Shortname, v))
        .collect();
    cat.fetch_courses(
        ctx,
        rows.iter()
            .filter_map(|c| key_of(ctx, c))
            .chain(copies)
            .collect(),
    )?;
    let mut plans: Vec<Result<Plan, Outcome>> = Vec::with_capacity(rows.len());
    for c in rows {
        let p = plan(ctx, cat, c);
        // A category lookup or creation that met the site down, in maintenance or refusing
        // the token stops the file like any other call.
        if let Err(Outcome::Failed(f)) = &p {
            if matches!(
                f.code,
                Code::RemoteUnreachable | Code::RemoteAccess | Code::RemoteMaintenance
            ) {
                return Err(f.clone());
            }
        }
        plans.push(p);
    }
    if ctx.dry_run {
        return Ok(plans
            .into_iter()
            .map(|p| p.map_or_else(|o| o, |p| Outcome::Applied(vec![p.change])))
            .collect());
    }
    // Checked before the first write, so a service without the copy function stops the
    // file with nothing half done.
    if plans.iter().any(|p| matches!(p, Ok(p) if p.copy.is_some())) {
        calls::require(ctx.functions, "core_course_duplicate_course")?;
        calls::require(ctx.functions, Call::Update.function())?;
    }
    let sent = calls::send(
        ctx.client,
        ctx.functions,
        t.batch_size,
        t.parallel,
        plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
            .filter(|(_, p)| p.copy.is_none())
            .map(|(i, p)| (i, p.call, &p.item))
            .collect(),
    )?;
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    for (i, o) in copy_templates(ctx, &plans)? {
        outcomes[i] = Some(o);
    }
    for (call, these, pieces) in &sent {
        for piece in pieces {
            let warnings: Vec<&Value> = piece
                .answer
                .as_ref()
                .ok()
                .and_then(|v| v.get("warnings"))
                .and_then(Value::as_array)
                .map(|w| w.iter().collect())
                .unwrap_or_default();
            for (n, &i) in these[piece.items.clone()].iter().enumerate() {
                let Ok(plan) = &plans[i] else { continue };
                outcomes[i] = Some(match &piece.answer {
                    Err(m) => Outcome::Failed(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the row: {}", m.describe()),
                    )),
                    Ok(v) => {
                        // Update and delete answer warnings by course id.
                        let warned = warnings.iter().find(|w| {
                            w.get("itemid").and_then(Value::as_i64) == Some(plan.change.id)
                        });
                        match warned {
                            Some(w) => {
                                let text = |k: &str| {
                                    w.get(k).and_then(Value::as_str).unwrap_or("").to_string()
                                };
                                Outcome::Failed(Failure::new(
                                    Code::RemoteWarning,
                                    format!(
                                        "Moodle did not apply the row: {}: {}",
                                        text("warningcode"),
                                        text("message")
                                    ),
                                ))
                            }
                            None => {
                                let mut change = plan.change.clone();
                                if *call == Call::Create {
                                    change.id = v
                                        .get(n)
                                        .and_then(|c| c.get("id"))
                                        .and_then(Value::as_i64)
                                        .unwrap_or(0);
                                }
                                Outcome::Applied(vec![change])
                            }
                        }
                    }
                });
            }
        }
    }
    // A copy finished by this run is no longer pending.
    let site = ctx.client.site();
    for (p, o) in plans.iter().zip(&outcomes) {
        if let (Ok(p), Some(Outcome::Applied(_))) = (p, o) {
            if let Some(shortname) = &p.finishes {
                ctx.ledger.set_copy_pending(site, shortname, false)?;
            }
        }
    }
    // What was written is looked up again when named again.
    cat.courses.clear();
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .map(|(p, o)| match (p, o) {
            (_, Some(o)) => o,
            (Err(o), None) => o,
            (Ok(p), None) => Outcome::Applied(vec![p.change]),
        })
        .collect())
}

fn plan(ctx: &Ctx, cat: &mut Catalogue, cmd: &Command) -> Result<Plan, Outcome> {
    let fail = |code, m: String| Err(Outcome::Failed(Failure::new(code, m)));
    let Some(key) = key_of(ctx, cmd) else {
        return fail(
            Code::MissingValue,
            format!(
                "the row gives no {} ([courses] identifier)",
                ctx.cfg.courses.identifier.column()
            ),
        );
    };
    let found = cat.courses.get(&key).cloned().flatten();
    if found.as_ref().is_some_and(|r| r.id == 1) {
        return fail(
            Code::SiteCourse,
            "the site course (front page) cannot be changed by a feed".into(),
        );
    }
    match cmd {
        Command::CourseCheck(c) => match found {
            None => fail(
                Code::NotFound,
                format!(
                    "no course has {} '{}'{}",
                    key.0.column(),
                    key.1,
                    c.description
                        .as_deref()
                        .filter(|d| !d.is_empty())
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ),
            Some(r) => Err(Outcome::Applied(vec![Change {
                action: Action::Found,
                entity: "course",
                id: r.id,
                label: r.shortname.clone(),
                fields: vec![
                    format!("fullname {}", r.fullname),
                    format!(
                        "idnumber {}",
                        if r.idnumber.is_empty() {
                            "-"
                        } else {
                            &r.idnumber
                        }
                    ),
                    format!("category id {}", r.category),
                    (if r.visible { "visible" } else { "hidden" }).to_string(),
                ],
            }])),
        },
        Command::CourseDelete(_) => match found {
            None => Err(Outcome::Skipped(format!(
                "no course has {} '{}' to delete (already deleted, or never created)",
                key.0.column(),
                key.1
            ))),
            Some(r) => {
                let mut item = Params::new();
                item.push("", r.id.to_string());
                Ok(Plan {
                    call: Call::Delete,
                    item,
                    copy: None,
                    finishes: None,
                    change: Change::new(Action::Deleted, "course", r.id, r.shortname),
                })
            }
        },
        Command::CourseUpsert(c) => upsert(ctx, cat, c, found, &key),
        _ => unreachable!("only course commands come here"),
    }
}

fn upsert(
    ctx: &Ctx,
    cat: &mut Catalogue,
    c: &CourseFields,
    found: Option<Record>,
    key: &(CourseIdentifier, String),
) -> Result<Plan, Outcome> {
    let fail = |code, m: String| Err(Outcome::Failed(Failure::new(code, m)));
    let unsupported = [
        (
            "topic<N> sections",
            "no Moodle web service sets a section's name and summary",
            !c.sections.is_empty(),
        ),
        (
            "self",
            "no Moodle web service adds or enables a course's self enrolment method",
            c.self_enrol.is_some(),
        ),
        (
            "guest",
            "no Moodle web service adds or enables a course's guest access method",
            c.guest_enrol.is_some(),
        ),
    ];
    if let Some((what, why, _)) = unsupported.iter().find(|(_, _, on)| *on) {
        return fail(
            Code::RemoteUnsupported,
            format!("{what} over REST: {why}; it needs the embedded store or a Moodle-side plugin; leave the column empty to send the rest of the row"),
        );
    }
    let category = match c.category.as_deref().filter(|s| !s.is_empty()) {
        Some(wanted) => Some(cat.category(ctx, wanted).map_err(Outcome::Failed)?),
        None => None,
    };
    let mut item = Params::new();
    let bool01 = |b: bool| if b { "1" } else { "0" };
    // A copy whose row's fields were never set (the copy's answer was lost, the update
    // refused): it is finished now, whatever update_existing says. With [courses]
    // identifier = "idnumber" it is found by its shortname, as it has no idnumber yet.
    let site = ctx.client.site();
    let pending = c.template.as_deref().is_some_and(|t| !t.is_empty())
        && c.shortname
            .as_deref()
            .is_some_and(|s| ctx.ledger.copy_pending(site, s));
    let candidate = match (&found, pending) {
        (None, true) => cat
            .courses
            .get(&(
                CourseIdentifier::Shortname,
                c.shortname.clone().unwrap_or_default(),
            ))
            .cloned()
            .flatten(),
        _ => found.clone(),
    };
    // A copy has no idnumber until it is finished: a course that has another is not it.
    let pending = pending
        && candidate.as_ref().is_some_and(|r| {
            r.idnumber.is_empty() || Some(r.idnumber.as_str()) == c.idnumber.as_deref()
        });
    let found = if pending { candidate } else { found };
    match found {
        None if key.0 == CourseIdentifier::Id => fail(Code::NotFound, format!("no course has id {}; with [courses] identifier = \"id\" only existing courses can be updated", key.1)),
        None => {
            let (Some(shortname), Some(fullname)) = (c.shortname.as_deref(), c.fullname.as_deref()) else {
                return fail(Code::MissingValue, "a new course needs a shortname and a fullname".into());
            };
            item.push("fullname", fullname).push("shortname", shortname);
            // Moodle requires a category: the first one (Moodle's default) when the row has none.
            item.push("categoryid", category.unwrap_or(1).to_string());
            for (k, v) in [("idnumber", &c.idnumber), ("summary", &c.summary), ("lang", &c.lang)] {
                if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                    item.push(k, v);
                }
            }
            item.push("format", c.format.clone().unwrap_or_else(|| ctx.cfg.courses.default_format.clone()));
            if let Some(v) = c.visible {
                item.push("visible", bool01(v));
            }
            for (k, v) in [("startdate", c.startdate), ("enddate", c.enddate), ("groupmode", c.groupmode), ("newsitems", c.newsitems), ("maxbytes", c.maxbytes)] {
                if let Some(v) = v {
                    item.push(k, v.to_string());
                }
            }
            for (k, v) in [("groupmodeforce", c.groupmodeforce), ("showgrades", c.showgrades), ("enablecompletion", c.enablecompletion)] {
                if let Some(v) = v {
                    item.push(k, bool01(v));
                }
            }
            let change = Change::new(Action::Created, "course", 0, shortname);
            match c.template.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => from_template(cat, t, c, category, change),
                None => Ok(Plan { call: Call::Create, item, change, copy: None, finishes: None }),
            }
        }
        Some(r) if pending => {
            let fields = copy_fields(c);
            let mut change = Change::new(Action::Updated, "course", r.id, r.shortname);
            change.fields.push("the copy of its template finished".into());
            let mut item = Params::new();
            item.push("id", r.id.to_string());
            item.extend(&fields);
            Ok(Plan { call: Call::Update, item, change, copy: None, finishes: c.shortname.clone() })
        }
        Some(r) if !ctx.cfg.courses.update_existing => Err(Outcome::Skipped(format!("course {} already exists; updates are off ([courses] update_existing)", r.shortname))),
        Some(r) => {
            let mut fields = Vec::new();
            item.push("id", r.id.to_string());
            for (k, new, old) in [
                ("fullname", c.fullname.as_deref(), r.fullname.as_str()),
                ("shortname", c.shortname.as_deref(), r.shortname.as_str()),
                ("idnumber", c.idnumber.as_deref(), r.idnumber.as_str()),
                ("summary", c.summary.as_deref(), r.summary.as_str()),
                ("format", c.format.as_deref(), r.format.as_str()),
            ] {
                if let Some(v) = new.filter(|v| !v.is_empty() && *v != old) {
                    item.push(k, v);
                    fields.push(k.to_string());
                }
            }
            if let Some(cid) = category.filter(|cid| *cid != r.category && *cid != 0) {
                item.push("categoryid", cid.to_string());
                fields.push("category".into());
            }
            if let Some(v) = c.visible.filter(|v| *v != r.visible) {
                item.push("visible", bool01(v));
                fields.push("visible".into());
            }
            for (k, new, old) in [("startdate", c.startdate, r.startdate), ("enddate", c.enddate, r.enddate)] {
                if let Some(v) = new.filter(|v| *v != old) {
                    item.push(k, v.to_string());
                    fields.push(k.to_string());
                }
            }
            if fields.is_empty() {
                return Err(Outcome::Applied(vec![Change::new(Action::Unchanged, "course", r.id, r.shortname)]));
            }
            Ok(Plan { call: Call::Update, item, change: Change { action: Action::Updated, entity: "course", id: r.id, label: r.shortname, fields }, copy: None, finishes: None })
        }
    }
}

/// A new course as a copy of `template` (its content, settings and enrol methods, no
/// participants); the row's fields are then set on the copy.
fn from_template(
    cat: &Catalogue,
    template: &str,
    c: &CourseFields,
    category: Option<i64>,
    change: Change,
) -> Result<Plan, Outcome> {
    let fail = |code, m: String| Err(Outcome::Failed(Failure::new(code, m)));
    let found = cat
        .courses
        .get(&(CourseIdentifier::Shortname, template.to_string()))
        .cloned()
        .flatten();
    let Some(t) = found else {
        return fail(
            Code::NotFound,
            format!("template course '{template}' does not exist (a template must exist before the row that uses it: create it in an earlier row or file)"),
        );
    };
    if t.id == 1 {
        return fail(
            Code::SiteCourse,
            format!(
                "template '{template}' is the site course (the front page); name a real course"
            ),
        );
    }
    let mut copy = Params::new();
    copy.push("courseid", t.id.to_string())
        .push("fullname", c.fullname.clone().unwrap_or_default())
        .push("shortname", c.shortname.clone().unwrap_or_default())
        .push("categoryid", category.unwrap_or(1).to_string())
        .push(
            "visible",
            if c.visible.unwrap_or(t.visible) {
                "1"
            } else {
                "0"
            },
        )
        // Said, as Moodle's code does not apply its documented default: a template's
        // participants never come along.
        .push("options[0][name]", "users")
        .push("options[0][value]", "0");
    Ok(Plan {
        call: Call::Update,
        item: copy_fields(c),
        change,
        copy: Some(copy),
        finishes: None,
    })
}

/// The fields a copy of a template is given after it is made: the row's, but for the
/// names, category and visibility the copy call sets. The template's format stays unless
/// the row names one. As in the embedded store, the dates are the row's, else today and
/// none: a template's dates are its own run's.
fn copy_fields(c: &CourseFields) -> Params {
    let bool01 = |b: bool| if b { "1" } else { "0" };
    let mut item = Params::new();
    for (k, v) in [
        ("idnumber", &c.idnumber),
        ("summary", &c.summary),
        ("lang", &c.lang),
        ("format", &c.format),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            item.push(k, v);
        }
    }
    item.push(
        "startdate",
        c.startdate
            .unwrap_or_else(|| chrono::Utc::now().timestamp())
            .to_string(),
    )
    .push("enddate", c.enddate.unwrap_or(0).to_string());
    for (k, v) in [
        ("groupmode", c.groupmode),
        ("newsitems", c.newsitems),
        ("maxbytes", c.maxbytes),
    ] {
        if let Some(v) = v {
            item.push(k, v.to_string());
        }
    }
    for (k, v) in [
        ("groupmodeforce", c.groupmodeforce),
        ("showgrades", c.showgrades),
        ("enablecompletion", c.enablecompletion),
    ] {
        if let Some(v) = v {
            item.push(k, bool01(v));
        }
    }
    item
}

/// Makes the copies of templates (one call each, several at once), then gives each copy
/// its row's other fields in batched updates. Outcomes of the rows with a copy.
fn copy_templates(
    ctx: &Ctx,
    plans: &[Result<Plan, Outcome>],
) -> Result<Vec<(usize, Outcome)>, Failure> {
    let copies: Vec<(usize, &Plan, &Params)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let p = p.as_ref().ok()?;
            Some((i, p, p.copy.as_ref()?))
        })
        .collect();
    if copies.is_empty() {
        return Ok(Vec::new());
    }
    // Noted before it is asked for: a copy whose answer is lost is finished by the next run.
    let site = ctx.client.site();
    for (_, plan, _) in &copies {
        ctx.ledger
            .set_copy_pending(site, &plan.change.label, true)?;
    }
    // A copy is a backup and a restore on Moodle's side: it gets ten times the usual time,
    // at least ten minutes. Sent twice it would fail on its own shortname: never resent.
    let patience =
        (Duration::from_secs(ctx.cfg.target.timeout_seconds) * 10).max(Duration::from_secs(600));
    let made = pool::map(&copies, ctx.cfg.target.parallel, |(_, _, copy)| {
        ctx.client
            .call_within("core_course_duplicate_course", copy, Some(patience))
    });
    let mut out = Vec::new();
    let mut updates: Vec<(usize, Params, Change)> = Vec::new();
    for ((i, plan, _), answer) in copies.into_iter().zip(made) {
        match answer {
            Ok(v) => {
                let id = v.get("id").and_then(Value::as_i64).unwrap_or(0);
                let mut item = Params::new();
                item.push("id", id.to_string());
                item.extend(&plan.item);
                let mut change = plan.change.clone();
                change.id = id;
                updates.push((i, item, change));
            }
            Err(e) => {
                if let Some(stop) = e.stops_the_file() {
                    return Err(stop);
                }
                let CallError::Moodle(m) = e else {
                    unreachable!("transport faults stop the file")
                };
                // Refused: no copy was made.
                ctx.ledger
                    .set_copy_pending(site, &plan.change.label, false)?;
                out.push((
                    i,
                    Outcome::Failed(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused to copy the template: {}", m.describe()),
                    )),
                ));
            }
        }
    }
    let t = &ctx.cfg.target;
    let sent = calls::send(
        ctx.client,
        ctx.functions,
        t.batch_size,
        t.parallel,
        updates
            .iter()
            .enumerate()
            .map(|(n, (_, item, _))| (n, Call::Update, item))
            .collect(),
    )?;
    for (_, these, pieces) in &sent {
        for piece in pieces {
            for &n in &these[piece.items.clone()] {
                let (i, _, change) = &updates[n];
                let warned = piece.answer.as_ref().ok().and_then(|v| {
                    v.get("warnings")?
                        .as_array()?
                        .iter()
                        .find(|w| w.get("itemid").and_then(Value::as_i64) == Some(change.id))
                        .map(|w| w.to_string())
                });
                let refused = match &piece.answer {
                    Err(m) => Some(m.describe()),
                    Ok(_) => warned,
                };
                if refused.is_none() {
                    ctx.ledger.set_copy_pending(site, &change.label, false)?;
                }
                out.push((
                    *i,
                    match refused {
                        None => Outcome::Applied(vec![change.clone()]),
                        Some(why) => Outcome::Failed(Failure::new(
                            Code::RemoteRejected,
                            format!("course {} (id {}) was copied from its template, but Moodle refused the row's other fields: {why}; fix them and send the row again: the next run finishes the copy", change.label, change.id),
                        )),
                    },
                ));
            }
        }
    }
    Ok(out)
}
