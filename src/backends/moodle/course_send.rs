//! Planned course operations sent to Moodle: categories (core_course_create_categories, and
//! _update_categories to hide one), courses made (_create_courses, or a copy of a template:
//! _duplicate_course then _update_courses with the row's own fields), changed
//! (_update_courses), deleted (_delete_courses) and reset (the plugin's
//! local_moosync_reset_courses); a course's sections through the plugin's
//! local_moosync_set_sections and its self and guest methods through
//! local_moosync_set_enrol_methods.

use super::calls::{self, CallKind, Ctx, Item};
use super::catalogue::Catalogue;
use super::client::{CallError, MoodleError, Retry};
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::Section;
use crate::plan::ops::{CourseUpdate, NewCourse, Reset};
use crate::plan::view::{CategoryRec, Setting, COURSE_SETTINGS};
use crate::plan::{Applied, BatchApplied, Op, Ref};
use serde_json::Value;
use std::time::Duration;

pub const SET_SECTIONS: &str = "local_moosync_set_sections";
pub const SET_METHODS: &str = "local_moosync_set_enrol_methods";
pub const RESET: &str = "local_moosync_reset_courses";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    CreateCategories,
    HideCategories,
    DeleteCourses,
    CreateCourses,
    UpdateCourses,
    ResetCourses,
    SetSections,
    SetMethods,
}

impl CallKind for Call {
    fn function(self) -> &'static str {
        match self {
            Call::CreateCategories => "core_course_create_categories",
            Call::HideCategories => "core_course_update_categories",
            Call::DeleteCourses => "core_course_delete_courses",
            Call::CreateCourses => "core_course_create_courses",
            Call::UpdateCourses => "core_course_update_courses",
            Call::ResetCourses => RESET,
            Call::SetSections => SET_SECTIONS,
            Call::SetMethods => SET_METHODS,
        }
    }

    fn list(self) -> &'static str {
        match self {
            Call::CreateCategories | Call::HideCategories => "categories",
            Call::DeleteCourses => "courseids",
            Call::CreateCourses | Call::UpdateCourses | Call::ResetCourses => "courses",
            Call::SetSections => "sections",
            Call::SetMethods => "methods",
        }
    }

    fn retry(self) -> Retry {
        // A create or a delete sent twice fails on its own effect: never sent blindly again
        // (a lost answer stops the file; the next run looks before it writes). A reset is
        // not resent either: the next run asks for it again, if the file is run again.
        match self {
            Call::CreateCategories
            | Call::DeleteCourses
            | Call::CreateCourses
            | Call::ResetCourses => Retry::Never,
            _ => Retry::Safe,
        }
    }
}

fn rejected(m: &MoodleError) -> Failure {
    let hint = if m.errorcode == "invalidparameter" && m.debuginfo.is_none() {
        " (the site's debugging is off, so Moodle does not say why: a duplicate, or a value it refuses)"
    } else {
        ""
    };
    Failure::new(
        Code::RemoteRejected,
        format!("Moodle refused the row: {}{hint}", m.describe()),
    )
}

/// A warning of an answer as the row's failure.
fn warned(w: &Value) -> Failure {
    let text = |k: &str| w.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Failure::new(
        Code::RemoteWarning,
        format!(
            "Moodle did not apply the row: {}: {}",
            text("warningcode"),
            text("message")
        ),
    )
}

/// The warning an answer gives for the item at `index` of its piece (the plugin's) or for
/// the course `id` (core's).
fn warning_for(answer: &Value, index: Option<usize>, id: Option<i64>) -> Option<&Value> {
    answer
        .get("warnings")?
        .as_array()?
        .iter()
        .find(|w| match (index, id) {
            (Some(i), _) => w.get("index").and_then(Value::as_i64) == Some(i as i64),
            (None, Some(id)) => w.get("itemid").and_then(Value::as_i64) == Some(id),
            _ => false,
        })
}

fn bool01(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

fn setting(p: &mut Params, name: &str, v: &Setting) {
    match v {
        Setting::Text(t) => p.push(name, t.clone()),
        Setting::Int(n) => p.push(name, n.to_string()),
    };
}

/// Sends one kind of call for the items given (each with its row); `settle` sees each
/// item's answer, by the item's position in `items`: its element of the answer and its
/// position in the call, or the call's refusal.
fn send_kind(
    ctx: &Ctx,
    call: Call,
    items: Vec<(usize, Params)>,
    mut settle: impl FnMut(usize, usize, Result<(&Value, usize), &MoodleError>),
) -> Result<(), Failure> {
    if items.is_empty() {
        return Ok(());
    }
    let t = &ctx.cfg.target;
    let rows: Vec<(usize, Call, &Params)> = items
        .iter()
        .enumerate()
        .map(|(n, (_, p))| (n, call, p))
        .collect();
    for (_, these, pieces) in
        calls::send(ctx.client, ctx.functions, t.batch_size, t.parallel, rows)?
    {
        for piece in pieces {
            for (k, &n) in these[piece.items.clone()].iter().enumerate() {
                match &piece.answer {
                    Ok(v) => settle(n, items[n].0, Ok((v, k))),
                    Err(m) => settle(n, items[n].0, Err(m)),
                }
            }
        }
    }
    Ok(())
}

/// Settles each row of a call on courses, the `n`th naming course `ids[n]`: Moodle's
/// refusal, or a warning it gives about that course, fails the row.
fn by_course<'a>(
    out: &'a mut BatchApplied,
    ids: &'a [i64],
) -> impl FnMut(usize, usize, Result<(&Value, usize), &MoodleError>) + 'a {
    move |n, row, answer| match answer {
        Err(m) => out.fail(row, rejected(m)),
        Ok((v, _)) => {
            if let Some(w) = warning_for(v, None, Some(ids[n])) {
                out.fail(row, warned(w));
            }
        }
    }
}

/// Sends a wave's course operations: categories, deletes, creates, updates, resets.
pub fn send(
    ctx: &Ctx,
    cat: &mut Catalogue,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    categories(ctx, cat, wave, out)?;
    let mut wrote = false;
    // Deletes first: a course of the wave may take a deleted one's shortname.
    let deletes: Vec<(usize, Params)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::DeleteCourse { course } => {
                let mut p = Params::new();
                p.push("", out.sent_id(*course).to_string());
                Some((i.row, p))
            }
            _ => None,
        })
        .collect();
    wrote |= !deletes.is_empty();
    let ids: Vec<i64> = deletes
        .iter()
        .map(|(_, p)| p.fields[0].1.parse().unwrap_or(0))
        .collect();
    send_kind(ctx, Call::DeleteCourses, deletes, by_course(out, &ids))?;
    let creates: Vec<(&Item, &NewCourse)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::CreateCourse(c) => Some((*i, c)),
            _ => None,
        })
        .collect();
    wrote |= !creates.is_empty();
    create(ctx, &creates, out)?;
    let updates: Vec<(&Item, &CourseUpdate)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::UpdateCourse(u) => Some((*i, u)),
            _ => None,
        })
        .collect();
    wrote |= !updates.is_empty();
    update(ctx, &updates, out)?;
    let resets: Vec<(usize, i64, &Reset)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::ResetCourse { course, reset } => Some((i.row, out.sent_id(*course), reset)),
            _ => None,
        })
        .collect();
    wrote |= !resets.is_empty();
    reset(ctx, &resets, out)?;
    if wrote {
        cat.courses_changed();
    }
    Ok(())
}

fn categories(
    ctx: &Ctx,
    cat: &mut Catalogue,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let made: Vec<(&Item, u32, Ref, &String, bool)> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::CreateCategory {
                new: Ref::New(n),
                parent,
                name,
                visible,
            } => Some((*i, *n, *parent, name, *visible)),
            _ => None,
        })
        .collect();
    let items: Vec<(usize, Params)> = made
        .iter()
        .map(|(i, _, parent, name, _)| {
            let mut p = Params::new();
            p.push("name", name.as_str())
                .push("parent", out.sent_id(*parent).to_string());
            (i.row, p)
        })
        .collect();
    let mut answers: Vec<Option<i64>> = vec![None; made.len()];
    let mut failures = Vec::new();
    send_kind(ctx, Call::CreateCategories, items, |k, row, answer| {
        match answer {
            Err(m) => failures.push((row, rejected(m))),
            Ok((v, at)) => match v.get(at).and_then(|c| c.get("id")).and_then(Value::as_i64) {
                Some(id) => answers[k] = Some(id),
                None => failures.push((
                    row,
                    Failure::new(
                        Code::RemoteBadAnswer,
                        "Moodle did not answer the id of a new category; check the categories in Moodle",
                    ),
                )),
            },
        }
    })?;
    for (row, f) in failures {
        out.fail(row, f);
    }
    let mut hide = Vec::new();
    for ((item, n, parent, name, visible), id) in made.iter().zip(answers) {
        let Some(id) = id else { continue };
        out.created.insert(*n, id);
        cat.add_category(CategoryRec {
            id: Ref::Id(id),
            name: (*name).clone(),
            idnumber: String::new(),
            parent: Ref::Id(out.sent_id(*parent)),
            visible: *visible,
        });
        if !visible {
            let mut p = Params::new();
            p.push("id", id.to_string()).push("visible", "0");
            hide.push((item.row, p));
        }
    }
    send_kind(ctx, Call::HideCategories, hide, |_, row, answer| {
        if let Err(m) = answer {
            out.fail(row, rejected(m));
        }
    })
}

/// The fields of a new course Moodle is told: the row's and the settings', not what the
/// course gets by itself (the site's defaults, or a template's settings for a copy).
fn told(c: &NewCourse, skip: &[&str]) -> Params {
    let mut p = Params::new();
    if !c.idnumber.is_empty() {
        p.push("idnumber", c.idnumber.clone());
    }
    for (name, v) in COURSE_SETTINGS.iter().zip(&c.settings) {
        if c.inherited.contains(name) || skip.contains(name) {
            continue;
        }
        setting(&mut p, name, v);
    }
    p
}

fn create(
    ctx: &Ctx,
    creates: &[(&Item, &NewCourse)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let plain: Vec<&(&Item, &NewCourse)> = creates
        .iter()
        .filter(|(_, c)| c.template.is_none())
        .collect();
    let items: Vec<(usize, Params)> = plain
        .iter()
        .map(|(i, c)| {
            let mut p = Params::new();
            p.push("fullname", text_of(&c.settings[0]))
                .push("shortname", c.shortname.clone())
                .push("categoryid", out.sent_id(c.category).to_string());
            p.extend(&told(c, &["fullname"]));
            (i.row, p)
        })
        .collect();
    let mut made: Vec<Option<i64>> = vec![None; plain.len()];
    let mut failures = Vec::new();
    send_kind(
        ctx,
        Call::CreateCourses,
        items,
        |k, row, answer| {
            match answer {
            Err(m) => failures.push((row, rejected(m))),
            Ok((v, at)) => match v.get(at).and_then(|c| c.get("id")).and_then(Value::as_i64) {
                Some(id) => made[k] = Some(id),
                None => failures.push((
                    row,
                    Failure::new(
                        Code::RemoteBadAnswer,
                        "Moodle did not answer the id of the new course; check the course in Moodle",
                    ),
                )),
            },
        }
        },
    )?;
    for (row, f) in failures {
        out.fail(row, f);
    }
    let mut after: Vec<(usize, i64, &NewCourse)> = Vec::new();
    for ((item, c), id) in plain.iter().zip(made) {
        if let (Some(id), Ref::New(n)) = (id, c.new) {
            out.created.insert(n, id);
            after.push((item.row, id, c));
        }
    }
    let copies: Vec<&(&Item, &NewCourse)> = creates
        .iter()
        .filter(|(_, c)| c.template.is_some())
        .collect();
    after.extend(copy(ctx, &copies, out)?);
    // What create_courses does not set: the row's sections, and the self or guest method on.
    let sections: Vec<(usize, i64, &Section)> = after
        .iter()
        .flat_map(|(row, id, c)| c.sections.iter().map(move |s| (*row, *id, s)))
        .collect();
    set_sections(ctx, &sections, out)?;
    let methods: Vec<(usize, i64, &str, bool)> = after
        .iter()
        .flat_map(|(row, id, c)| {
            [("self", c.self_enrol), ("guest", c.guest_enrol)]
                .into_iter()
                .filter(|(_, on)| *on)
                .map(move |(m, _)| (*row, *id, m, true))
        })
        .collect();
    set_methods(ctx, &methods, out).map(|_| ())
}

fn text_of(s: &Setting) -> String {
    match s {
        Setting::Text(t) => t.clone(),
        Setting::Int(n) => n.to_string(),
    }
}

/// Copies of templates: one core_course_duplicate_course each (several at once), then the
/// row's own fields on each copy. A copy is noted before it is asked for, so that one whose
/// answer is lost is finished by the next run. Returns the copies made.
fn copy<'a>(
    ctx: &Ctx,
    copies: &[&(&Item, &'a NewCourse)],
    out: &mut BatchApplied,
) -> Result<Vec<(usize, i64, &'a NewCourse)>, Failure> {
    if copies.is_empty() {
        return Ok(Vec::new());
    }
    // Checked before the first write, so a service without them stops the file with
    // nothing half done.
    calls::require(ctx.functions, "core_course_duplicate_course")?;
    calls::require(ctx.functions, Call::UpdateCourses.function())?;
    let site = ctx.client.site();
    for (_, c) in copies {
        ctx.ledger.set_copy_pending(site, &c.shortname, true)?;
    }
    let asked: Vec<Params> = copies
        .iter()
        .map(|(_, c)| {
            let visible = COURSE_SETTINGS
                .iter()
                .position(|s| *s == "visible")
                .unwrap_or(3);
            let mut p = Params::new();
            p.push(
                "courseid",
                out.sent_id(c.template.expect("a copy names its template"))
                    .to_string(),
            )
            .push("fullname", text_of(&c.settings[0]))
            .push("shortname", c.shortname.clone())
            .push("categoryid", out.sent_id(c.category).to_string())
            .push("visible", text_of(&c.settings[visible]))
            // Said, as Moodle's code does not apply its documented default: a template's
            // participants never come along.
            .push("options[0][name]", "users")
            .push("options[0][value]", "0");
            p
        })
        .collect();
    // A copy is a backup and a restore on Moodle's side: it gets ten times the usual time,
    // at least ten minutes.
    let patience =
        (Duration::from_secs(ctx.cfg.target.timeout_seconds) * 10).max(Duration::from_secs(600));
    let answers = pool::map(&asked, ctx.cfg.target.parallel, |p| {
        ctx.client
            .call_within("core_course_duplicate_course", p, Some(patience))
    });
    let mut made = Vec::new();
    let mut finish = Vec::new();
    for ((item, c), answer) in copies.iter().zip(answers) {
        match answer {
            Ok(v) => {
                let id = v.get("id").and_then(Value::as_i64).unwrap_or(0);
                if let Ref::New(n) = c.new {
                    out.created.insert(n, id);
                }
                let mut p = Params::new();
                p.push("id", id.to_string());
                p.extend(&told(c, &["fullname", "visible"]));
                finish.push((item.row, p));
                made.push((item.row, id, *c));
            }
            Err(e) => {
                if let Some(stop) = e.stops_the_file() {
                    return Err(stop);
                }
                let CallError::Moodle(m) = e else {
                    unreachable!("transport faults stop the file")
                };
                // Refused: no copy was made.
                ctx.ledger.set_copy_pending(site, &c.shortname, false)?;
                out.fail(
                    item.row,
                    Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused to copy the template: {}", m.describe()),
                    ),
                );
            }
        }
    }
    let ids: Vec<i64> = made.iter().map(|(_, id, _)| *id).collect();
    let names: Vec<String> = made.iter().map(|(_, _, c)| c.shortname.clone()).collect();
    let mut done = Vec::new();
    send_kind(ctx, Call::UpdateCourses, finish, |n, row, answer| {
        let (id, name) = (ids[n], &names[n]);
        let refused = match answer {
            Err(m) => Some(m.describe()),
            Ok((v, _)) => warning_for(v, None, Some(id)).map(|w| w.to_string()),
        };
        match refused {
            None => done.push(name.clone()),
            Some(why) => out.fail(row,
                Failure::new(
                    Code::RemoteRejected,
                    format!("course {name} (id {id}) was copied from its template, but Moodle refused the row's other fields: {why}; fix them and send the row again: the next run finishes the copy"),
                ),),
        }
    })?;
    for name in done {
        ctx.ledger.set_copy_pending(site, &name, false)?;
    }
    Ok(made)
}

fn update(
    ctx: &Ctx,
    updates: &[(&Item, &CourseUpdate)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let mut items = Vec::new();
    let mut ids = Vec::new();
    for (i, u) in updates {
        let id = out.sent_id(u.course.expect("an update names its course"));
        if u.set.is_empty() && u.category.is_none() {
            continue;
        }
        let mut p = Params::new();
        p.push("id", id.to_string());
        for (name, v) in &u.set {
            setting(&mut p, name, v);
        }
        if let Some(c) = u.category {
            p.push("categoryid", out.sent_id(c).to_string());
        }
        items.push((i.row, p));
        ids.push(id);
    }
    send_kind(ctx, Call::UpdateCourses, items, by_course(out, &ids))?;
    let sections: Vec<(usize, i64, &Section)> = updates
        .iter()
        .filter(|(i, _)| out.rows[i.row] == Applied::Done)
        .flat_map(|(i, u)| {
            let id = out.sent_id(u.course.expect("an update names its course"));
            u.sections.iter().map(move |s| (i.row, id, s))
        })
        .collect();
    set_sections(ctx, &sections, out)?;
    let site = ctx.client.site();
    for (i, u) in updates {
        if u.finishes_copy && out.rows[i.row] == Applied::Done {
            ctx.ledger.set_copy_pending(site, &u.shortname, false)?;
        }
    }
    Ok(())
}

/// Names and summaries of sections, through the plugin.
fn set_sections(
    ctx: &Ctx,
    sections: &[(usize, i64, &Section)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let items: Vec<(usize, Params)> = sections
        .iter()
        .map(|(row, course, s)| {
            let mut p = Params::new();
            p.push("courseid", course.to_string())
                .push("section", s.section.to_string());
            if let Some(n) = &s.name {
                p.push("name", n.clone());
            }
            if let Some(x) = &s.summary {
                p.push("summary", x.clone());
            }
            (*row, p)
        })
        .collect();
    send_kind(
        ctx,
        Call::SetSections,
        items,
        |_, row, answer| match answer {
            Err(m) => out.fail(row, rejected(m)),
            Ok((v, at)) => {
                if let Some(w) = warning_for(v, Some(at), None) {
                    out.fail(row, warned(w));
                }
            }
        },
    )
}

/// The self or guest method of courses enabled or disabled, through the plugin. Returns the
/// instance ids answered, in order (0 for an item refused).
pub fn set_methods(
    ctx: &Ctx,
    methods: &[(usize, i64, &str, bool)],
    out: &mut BatchApplied,
) -> Result<Vec<i64>, Failure> {
    let items: Vec<(usize, Params)> = methods
        .iter()
        .map(|(row, course, m, on)| {
            let mut p = Params::new();
            p.push("courseid", course.to_string())
                .push("enrol", *m)
                .push("enabled", bool01(*on));
            (*row, p)
        })
        .collect();
    let mut ids = vec![0; methods.len()];
    send_kind(
        ctx,
        Call::SetMethods,
        items,
        |k, row, answer| match answer {
            Err(m) => out.fail(row, rejected(m)),
            Ok((v, at)) => match warning_for(v, Some(at), None) {
                Some(w) => out.fail(row, warned(w)),
                None => {
                    ids[k] = v
                        .get("methods")
                        .and_then(Value::as_array)
                        .and_then(|l| {
                            l.iter()
                                .find(|x| x.get("index").and_then(Value::as_i64) == Some(at as i64))
                        })
                        .and_then(|x| x.get("instanceid"))
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                }
            },
        },
    )?;
    Ok(ids)
}

fn reset(
    ctx: &Ctx,
    resets: &[(usize, i64, &Reset)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let roles = &ctx.cfg.target.roles;
    let items: Vec<(usize, Params)> = resets
        .iter()
        .map(|(row, course, r)| {
            let mut p = Params::new();
            p.push("courseid", course.to_string());
            let names = r
                .unenrol_roles
                .iter()
                .filter_map(|id| roles.iter().find(|(_, v)| *v == id).map(|(k, _)| k.clone()));
            for (n, name) in names.enumerate() {
                p.push(format!("unenrol_roles[{n}]"), name);
            }
            if r.unenrol_all {
                p.push("unenrol_all", "1");
            }
            let local = r.local_roles.as_deref();
            if matches!(local, Some("all" | "roles")) {
                p.push("roles_local", "1");
            }
            if matches!(local, Some("all" | "overrides")) {
                p.push("roles_overrides", "1");
            }
            for (what, v) in [("groups", &r.groups), ("groupings", &r.groupings)] {
                match v.as_deref() {
                    Some("members") => p.push(format!("{what}_members"), "1"),
                    Some(_) => p.push(format!("{what}_remove"), "1"),
                    None => continue,
                };
            }
            (*row, p)
        })
        .collect();
    send_kind(
        ctx,
        Call::ResetCourses,
        items,
        |_, row, answer| match answer {
            Err(m) => out.fail(row, rejected(m)),
            Ok((v, at)) => {
                if let Some(w) = warning_for(v, Some(at), None) {
                    out.fail(row, warned(w));
                }
            }
        },
    )
}
