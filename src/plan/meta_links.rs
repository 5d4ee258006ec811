//! Meta links (`metacourses.csv`): the meta enrol instance by which a course takes its
//! participants from another. `meta_link` enables it (adding it when the course has none
//! from that master, enabling the disabled one it has otherwise), `meta_unlink` disables it:
//! its enrolments stay, inactive with the instance, and its roles go (Moodle's
//! `enrol_meta` with the default `unenrolaction`).

use super::courses::{instances, require};
use super::ops::{InstanceUpdate, NewInstance, Op};
use super::view::{needs_plugin, CourseRec, InstanceRec, Read, ReadError, SiteView};
use super::{PlannedChange, Planner, RowDraft, Verdict};
use crate::codes::{Code, Failure};
use crate::command::MetaLink;
use crate::outcome::Action;

const METHOD: &str = "meta";

/// Both courses of a link; a backend that cannot change meta links fails the row, as do a
/// missing course and a course linked to itself.
fn courses_of(
    p: &mut Planner,
    view: &mut dyn SiteView,
    m: &MetaLink,
) -> Read<(CourseRec, CourseRec)> {
    // Checked first: without it every row fails alike, whatever it names.
    if !view.capabilities().meta_links {
        return Err(ReadError::Row(needs_plugin(
            "adding, enabling or disabling a meta link",
            "local_moosync_set_meta_links",
        )));
    }
    let by = p.cfg().courses.identifier;
    let master = require(p, view, by, &m.master, "master course")?;
    let child = require(p, view, by, &m.meta, "meta course")?;
    if master.id == child.id {
        return Err(ReadError::Row(Failure::new(
            Code::InvalidValue,
            format!("{} cannot take its participants from itself", child.label()),
        )));
    }
    Ok((master, child))
}

/// The child's meta instance from `master`: an enabled one first, as Moodle lists them.
fn find_link(
    p: &mut Planner,
    view: &mut dyn SiteView,
    master: &CourseRec,
    child: &CourseRec,
) -> Read<Option<InstanceRec>> {
    let mut links: Vec<InstanceRec> = instances(p, view, child.id)?
        .into_iter()
        .filter(|i| i.method == METHOD && i.link == Some(master.id))
        .collect();
    links.sort_by_key(|i| (!i.enabled, i.id));
    Ok(links.into_iter().next())
}

fn label(master: &CourseRec, child: &CourseRec) -> String {
    format!("{} from {}", child.shortname, master.shortname)
}

fn set_enabled(
    p: &mut Planner,
    draft: &mut RowDraft,
    mut link: InstanceRec,
    master: &CourseRec,
    child: &CourseRec,
    enabled: bool,
) {
    draft.ops.push(Op::UpdateInstance(InstanceUpdate {
        instance: Some(link.id),
        course: Some(child.id),
        method: METHOD.to_string(),
        link: Some(master.id),
        enabled: Some(enabled),
        ..Default::default()
    }));
    draft.changes.push(
        PlannedChange::new(Action::Updated, "meta_link", link.id, label(master, child))
            .with_fields(vec![
                if enabled { "enabled" } else { "disabled" }.to_string()
            ]),
    );
    link.enabled = enabled;
    p.overlay().set_instance(link.id, Some(link));
}

pub(super) fn link(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    m: &MetaLink,
) -> Read<Verdict> {
    let (master, child) = courses_of(p, view, m)?;
    match find_link(p, view, &master, &child)? {
        Some(l) if l.enabled => draft.changes.push(PlannedChange::new(
            Action::Unchanged,
            "meta_link",
            l.id,
            label(&master, &child),
        )),
        Some(l) => set_enabled(p, draft, l, &master, &child, true),
        None => {
            let new = p.new_ref();
            draft.ops.push(Op::AddInstance(NewInstance {
                new,
                course: child.id,
                method: METHOD.to_string(),
                enabled: true,
                role: None,
                link: Some(master.id),
                group: None,
                start: 0,
                end: 0,
            }));
            p.overlay().set_instance(
                new,
                Some(InstanceRec {
                    id: new,
                    course: child.id,
                    method: METHOD.to_string(),
                    enabled: true,
                    role: None,
                    link: Some(master.id),
                    group: None,
                    start: Some(0),
                    end: Some(0),
                }),
            );
            draft.changes.push(PlannedChange::new(
                Action::Created,
                "meta_link",
                new,
                label(&master, &child),
            ));
        }
    }
    Ok(Verdict::Done)
}

pub(super) fn unlink(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    m: &MetaLink,
) -> Read<Verdict> {
    let (master, child) = courses_of(p, view, m)?;
    match find_link(p, view, &master, &child)? {
        Some(l) if l.enabled => {
            set_enabled(p, draft, l, &master, &child, false);
            Ok(Verdict::Done)
        }
        _ => Ok(Verdict::Nothing(format!(
            "{} has no enabled meta link from {}",
            child.shortname, master.shortname
        ))),
    }
}
