//! Course categories: a `category` cell resolved by path, idnumber or id
//! (`[courses] category_identifier`), the missing levels of a path created (hidden below a
//! hidden parent, as Moodle does), and a category's path of names for messages.

use super::ops::Op;
use super::view::{CategoryRec, Read, ReadError, SiteView};
use super::{PlannedChange, Planner, Ref, RowDraft};
use crate::codes::{Code, Failure};
use crate::command::keys::CategoryIdentifier;
use crate::outcome::Action;

fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

/// The top level, parent of the top-level categories.
const TOP: Ref = Ref::Id(0);

/// Where a course goes, and whether the category is visible (a new course in a hidden
/// category starts hidden).
pub(super) struct Placement {
    pub category: Ref,
    pub visible: bool,
}

/// The levels of a path `A/B/C`: outer slashes ignored, each name trimmed, none empty.
fn path_levels(raw: &str) -> Read<Vec<String>> {
    let inner = raw.trim().trim_matches('/');
    let levels: Vec<String> = inner.split('/').map(|l| l.trim().to_string()).collect();
    if levels.iter().any(String::is_empty) {
        return Err(row(
            Code::InvalidValue,
            format!("category path '{raw}' has an empty level; write names separated by single slashes, e.g. Faculty/Department"),
        ));
    }
    if let Some(long) = levels.iter().find(|l| l.chars().count() > 255) {
        return Err(row(
            Code::InvalidValue,
            format!(
                "category name '{}…' is longer than Moodle's 255 characters; shorten it",
                long.chars().take(20).collect::<String>()
            ),
        ));
    }
    Ok(levels)
}

/// The categories below `parent` named `name`, as earlier rows of the batch leave them.
fn named(
    p: &mut Planner,
    view: &mut dyn SiteView,
    parent: Ref,
    name: &str,
) -> Read<Vec<CategoryRec>> {
    let seen = view.categories_named(parent, name)?;
    let mut found =
        p.overlay()
            .categories
            .merge(seen, |c| c.id, |c| c.parent == parent && c.name == name);
    found.sort_by_key(|c| c.id);
    Ok(found)
}

/// One category by id, as earlier rows of the batch leave it.
pub(super) fn by_id(
    p: &mut Planner,
    view: &mut dyn SiteView,
    id: Ref,
) -> Read<Option<CategoryRec>> {
    if let Some(known) = p.overlay().categories.get(&id) {
        return Ok(known.clone());
    }
    view.category(id)
}

/// Resolves a row's `category` cell, adding the operations that create a path's missing
/// levels (and their report lines) to the draft.
pub(super) fn place(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    raw: Option<&str>,
) -> Read<Placement> {
    let raw = match raw.map(str::trim) {
        None | Some("") => {
            let Some(c) = view.default_category()? else {
                return Err(row(
                    Code::CategoryUnresolved,
                    "the site has no category to put the course in; give a category".into(),
                ));
            };
            return Ok(Placement {
                category: c.id,
                visible: c.visible,
            });
        }
        Some(r) => r,
    };
    match p.cfg().courses.category_identifier {
        CategoryIdentifier::Path => by_path(p, view, draft, raw),
        CategoryIdentifier::Idnumber => {
            let seen = view.categories_by_idnumber(raw)?;
            let found = p
                .overlay()
                .categories
                .merge(seen, |c| c.id, |c| c.idnumber == raw);
            match found.as_slice() {
                [c] => Ok(Placement {
                    category: c.id,
                    visible: c.visible,
                }),
                [] => Err(row(
                    Code::CategoryUnresolved,
                    format!("no category has idnumber '{raw}' ([courses] category_identifier = \"idnumber\"); create it in Moodle or use a path"),
                )),
                _ => Err(row(
                    Code::AmbiguousMatch,
                    format!("several categories have idnumber '{raw}'"),
                )),
            }
        }
        CategoryIdentifier::Id => {
            let id: i64 = raw.parse().map_err(|_| {
                row(
                    Code::InvalidValue,
                    format!("category '{raw}' is not a category id ([courses] category_identifier = \"id\")"),
                )
            })?;
            match by_id(p, view, Ref::Id(id))? {
                Some(c) => Ok(Placement {
                    category: c.id,
                    visible: c.visible,
                }),
                None => Err(row(
                    Code::CategoryUnresolved,
                    format!("no category has id {id}"),
                )),
            }
        }
    }
}

fn by_path(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    raw: &str,
) -> Read<Placement> {
    let levels = path_levels(raw)?;
    let mut at = Placement {
        category: TOP,
        visible: true,
    };
    for (i, name) in levels.iter().enumerate() {
        match named(p, view, at.category, name)?.as_slice() {
            [c] => {
                at = Placement {
                    category: c.id,
                    visible: c.visible,
                }
            }
            [] => return create_below(p, view, draft, at, &levels[..i], &levels[i..]),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|c| match c.id {
                        Ref::Id(id) => id.to_string(),
                        Ref::New(_) => "new".to_string(),
                    })
                    .collect();
                return Err(row(
                    Code::AmbiguousMatch,
                    format!(
                        "category path '{raw}': {} categories named '{name}' share one parent (ids {}); rename one in Moodle",
                        many.len(),
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(at)
}

/// Creates the `missing` levels below `at` (whose path is `above`).
fn create_below(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    mut at: Placement,
    above: &[String],
    missing: &[String],
) -> Read<Placement> {
    let mut names: Vec<String> = above.to_vec();
    for name in missing {
        // Below a hidden category a new one is hidden too, as in Moodle.
        let visible = p.cfg().courses.new_categories_visible && at.visible;
        let mut fields = Vec::new();
        if let Some(id) = digits_naming_a_category(p, view, at.category, name)? {
            // tool_sync read a number as a category id: an old feed may mean that.
            fields.push(format!(
                "note: '{name}' is taken as a name (category_identifier = \"path\"), though category id {id} exists"
            ));
        }
        let new = p.new_ref();
        p.overlay().set_category(
            new,
            Some(CategoryRec {
                id: new,
                name: name.clone(),
                idnumber: String::new(),
                parent: at.category,
                visible,
            }),
        );
        draft.ops.push(Op::CreateCategory {
            new,
            parent: at.category,
            name: name.clone(),
            visible,
        });
        names.push(name.clone());
        draft.changes.push(
            PlannedChange::new(Action::Created, "category", new, names.join("/"))
                .with_fields(fields),
        );
        at = Placement {
            category: new,
            visible,
        };
    }
    Ok(at)
}

/// A top-level name made of digits that is also an existing category's id.
fn digits_naming_a_category(
    p: &mut Planner,
    view: &mut dyn SiteView,
    parent: Ref,
    name: &str,
) -> Read<Option<i64>> {
    if parent != TOP || name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Ok(id) = name.parse::<i64>() else {
        return Ok(None);
    };
    Ok(by_id(p, view, Ref::Id(id))?.map(|_| id))
}

/// "Faculty/Department": a category's names from the top ("" for the top level).
pub(super) fn path_label(p: &mut Planner, view: &mut dyn SiteView, id: Ref) -> Read<String> {
    let mut names = Vec::new();
    let mut at = id;
    // A category tree is shallow; the bound only guards against a loop in a broken store.
    for _ in 0..100 {
        if at == TOP {
            break;
        }
        let Some(c) = by_id(p, view, at)? else { break };
        names.push(c.name);
        at = c.parent;
    }
    names.reverse();
    Ok(names.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_levels_refuse_empty_levels() {
        assert_eq!(path_levels("/A/ B /C/").ok().unwrap(), ["A", "B", "C"]);
        assert_eq!(path_levels("2020").ok().unwrap(), ["2020"]);
        for bad in ["A//B", "/", " / "] {
            match path_levels(bad) {
                Err(ReadError::Row(f)) => assert_eq!(f.code, Code::InvalidValue),
                _ => panic!("{bad} accepted"),
            }
        }
    }
}
