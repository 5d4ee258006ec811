//! Planned enrol instances of the course tools sent to Moodle: meta links through the
//! plugin's local_moosync_set_meta_links (made, enabled or disabled; Moodle's core services
//! cannot disable one and keep its enrolments), the self and guest methods through its
//! local_moosync_set_enrol_methods. Cohort sync instances have their own sender.

use super::calls::{self, CallKind, Ctx, Item};
use super::catalogue::Catalogue;
use super::course_send::set_methods;
use super::form::Params;
use crate::codes::{Code, Failure};
use crate::plan::{BatchApplied, Op, Ref};
use serde_json::Value;

/// The methods this sender takes.
pub fn takes(method: &str) -> bool {
    matches!(method, "meta" | "self" | "guest")
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SetMetaLinks;

impl CallKind for SetMetaLinks {
    fn function(self) -> &'static str {
        "local_moosync_set_meta_links"
    }

    fn list(self) -> &'static str {
        "links"
    }
}

/// One instance to set: its row, its course, the method, what it links, the state wanted,
/// and the reference to record when it is new.
struct Want {
    row: usize,
    course: i64,
    method: String,
    link: i64,
    enabled: bool,
    new: Option<u32>,
}

pub fn send(
    ctx: &Ctx,
    cat: &mut Catalogue,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let mut wants = Vec::new();
    for i in wave {
        let w = match i.op {
            Op::AddInstance(a) if takes(&a.method) => Want {
                row: i.row,
                course: out.sent_id(a.course),
                method: a.method.clone(),
                link: a.link.map(|l| out.sent_id(l)).unwrap_or(0),
                enabled: a.enabled,
                new: match a.new {
                    Ref::New(n) => Some(n),
                    Ref::Id(_) => None,
                },
            },
            Op::UpdateInstance(u) if takes(&u.method) => Want {
                row: i.row,
                course: out.sent_id(u.course.expect("an instance update names its course")),
                method: u.method.clone(),
                link: u.link.map(|l| out.sent_id(l)).unwrap_or(0),
                enabled: u.enabled.unwrap_or(true),
                new: None,
            },
            _ => continue,
        };
        wants.push(w);
    }
    if wants.is_empty() {
        return Ok(());
    }
    let (meta, access): (Vec<&Want>, Vec<&Want>) = wants.iter().partition(|w| w.method == "meta");
    let methods: Vec<(usize, i64, &str, bool)> = access
        .iter()
        .map(|w| (w.row, w.course, w.method.as_str(), w.enabled))
        .collect();
    let ids = set_methods(ctx, &methods, out)?;
    for (w, id) in access.iter().zip(ids) {
        if let (Some(n), true) = (w.new, id > 0) {
            out.created.insert(n, id);
        }
    }
    let t = &ctx.cfg.target;
    let items: Vec<Params> = meta
        .iter()
        .map(|w| {
            let mut p = Params::new();
            p.push("courseid", w.course.to_string())
                .push("linkedcourseid", w.link.to_string())
                .push("enabled", if w.enabled { "1" } else { "0" });
            p
        })
        .collect();
    let rows: Vec<(usize, SetMetaLinks, &Params)> = items
        .iter()
        .enumerate()
        .map(|(n, p)| (n, SetMetaLinks, p))
        .collect();
    for (_, these, pieces) in
        calls::send(ctx.client, ctx.functions, t.batch_size, t.parallel, rows)?
    {
        for piece in pieces {
            for (k, &n) in these[piece.items.clone()].iter().enumerate() {
                let w = meta[n];
                let failed = match &piece.answer {
                    Err(m) => Some(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the row: {}", m.describe()),
                    )),
                    Ok(v) => {
                        let at =
                            |l: &Value| l.get("index").and_then(Value::as_i64) == Some(k as i64);
                        let warned = v
                            .get("warnings")
                            .and_then(Value::as_array)
                            .and_then(|l| l.iter().find(|x| at(x)));
                        match warned {
                            Some(x) => {
                                let text = |key: &str| {
                                    x.get(key).and_then(Value::as_str).unwrap_or("").to_string()
                                };
                                Some(Failure::new(
                                    Code::RemoteWarning,
                                    format!(
                                        "Moodle did not apply the row: {}: {}",
                                        text("warningcode"),
                                        text("message")
                                    ),
                                ))
                            }
                            None => {
                                let id = v
                                    .get("links")
                                    .and_then(Value::as_array)
                                    .and_then(|l| l.iter().find(|x| at(x)))
                                    .and_then(|x| x.get("instanceid"))
                                    .and_then(Value::as_i64);
                                if let (Some(n), Some(id)) = (w.new, id) {
                                    out.created.insert(n, id);
                                }
                                None
                            }
                        }
                    }
                };
                if let Some(f) = failed {
                    out.fail(w.row, f);
                }
            }
        }
    }
    cat.courses_changed();
    Ok(())
}
