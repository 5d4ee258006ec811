//! `core_course_create_categories` and `core_course_get_categories` (moodle.md §2.12–2.13)
//! with the recordings' shapes (023–027). The tree itself lives in `cohorts::Cohorts`.

use super::cohorts::Category;
use super::errors;
use super::params::{def, opt, php_trim, req, v, Desc, Field, Ty, V};
use super::recordings::recording;
use super::users::Site;
use serde_json::{json, Value};

type Outcome = Result<String, Value>;

const NEW_CATEGORY: &[Field] = &[
    req("name", v(Ty::Text)),
    def("parent", v(Ty::Int), "0"),
    opt("idnumber", v(Ty::Raw)),
    opt("description", v(Ty::Raw)),
    def("descriptionformat", v(Ty::Int), "1"),
    opt("theme", v(Ty::Theme)),
];
const CRITERION: &[Field] = &[req("key", v(Ty::Alpha)), req("value", v(Ty::Raw))];

pub const CREATE_CATEGORIES: &[Field] =
    &[req("categories", Desc::List(&Desc::Struct(NEW_CATEGORY)))];
pub const GET_CATEGORIES: &[Field] = &[
    opt("criteria", Desc::List(&Desc::Struct(CRITERION))),
    def("addsubcategories", v(Ty::Bool), "1"),
];

fn int(s: &str) -> i64 {
    s.trim().parse().unwrap_or(0)
}

/// One transaction; per item: parent (`unknowcategory`), then `core_course_category::create`:
/// name required, idnumber (non-empty) unused (025). Earlier items of the batch count.
pub fn create_categories(site: &mut Site, p: &V) -> Outcome {
    let mut created: Vec<i64> = Vec::new();
    let mut answer = Vec::new();
    let cats = &mut site.cohorts;
    for item in p.list("categories") {
        let field = |key: &str| item.str(key).unwrap_or("");
        let parent = int(field("parent"));
        let idnumber = field("idnumber");
        let failure = if parent != 0 && !cats.categories.contains_key(&parent) {
            Some(errors::exception(
                "moodle_exception",
                "unknowcategory",
                "Category not known!",
            ))
        } else if php_trim(field("name")).is_empty() {
            Some(errors::exception(
                "moodle_exception",
                "categorynamerequired",
                "The category name is required.",
            ))
        } else if !idnumber.is_empty() && cats.categories.values().any(|c| c.idnumber == idnumber) {
            Some(recording("025").response.clone())
        } else {
            None
        };
        if let Some(error) = failure {
            for id in created {
                cats.categories.remove(&id);
            }
            return Err(error);
        }
        let format = int(field("descriptionformat"));
        let name = field("name");
        let id = cats.insert_category(name, idnumber, parent, field("description"), format);
        created.push(id);
        answer.push(json!({"id": id, "name": name}));
    }
    Ok(Value::Array(answer).to_string())
}

/// One category as get_categories shows it to the admin (026).
fn category_json(site: &Site, c: &Category) -> Value {
    let cats = &site.cohorts;
    let ancestry = cats.ancestry(c.id);
    let path: String = ancestry.iter().map(|a| format!("/{a}")).collect();
    let courses = site.courses.list.values();
    json!({
        "id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
        "descriptionformat": c.descriptionformat, "parent": c.parent,
        "sortorder": cats.sortorder(c.id),
        "coursecount": courses.filter(|k| k.categoryid == c.id).count(),
        "visible": i64::from(c.visible), "visibleold": 1, "timemodified": c.timemodified,
        "depth": ancestry.len(), "path": path, "theme": "",
    })
}

/// The criteria are ANDed (none: every category); `addsubcategories` adds every descendant
/// of a match. An unknown key is `criteriaerror`. By sortorder.
pub fn get_categories(site: &Site, p: &V) -> Outcome {
    let cats = &site.cohorts;
    let mut found: Vec<&Category> = cats.categories.values().collect();
    for criterion in p.list("criteria") {
        let value = criterion.str("value").unwrap_or("");
        let test: Box<dyn Fn(&Category) -> bool> = match criterion.str("key").unwrap_or("") {
            "id" => Box::new(move |c| c.id == int(value)),
            "ids" => Box::new(move |c| value.split(',').any(|id| int(id) == c.id)),
            "name" => Box::new(move |c| c.name == value),
            "parent" => Box::new(move |c| c.parent == int(value)),
            "idnumber" => Box::new(move |c| c.idnumber == value),
            "visible" => Box::new(move |c| i64::from(c.visible) == int(value)),
            "theme" => Box::new(move |_| value.is_empty()),
            _ => {
                return Err(errors::exception(
                    "moodle_exception",
                    "criteriaerror",
                    "Missing permissions to search on a criterion.",
                ))
            }
        };
        found.retain(|c| test(c));
    }
    if p.str("addsubcategories") == Some("1") {
        let matched: Vec<i64> = found.iter().map(|c| c.id).collect();
        found = cats
            .categories
            .values()
            .filter(|c| cats.ancestry(c.id).iter().any(|a| matched.contains(a)))
            .collect();
    }
    found.sort_by_key(|c| cats.sortorder(c.id));
    let out: Vec<Value> = found.iter().map(|c| category_json(site, c)).collect();
    Ok(Value::Array(out).to_string())
}
