//! Courses looked up over REST (core_course_get_courses_by_field), for the plan's view and
//! for the tools that look courses up as they apply their rows.

use super::calls;
use super::client::{CallError, Client, Retry};
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::keys::CourseIdentifier;
use crate::plan::view::{CourseRec, Setting, COURSE_SETTINGS};
use crate::plan::Ref;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A course as `core_course_get_courses_by_field` shows it to a manager: its settings too.
#[derive(Debug, Clone, Default)]
pub(super) struct Record {
    pub(super) id: i64,
    shortname: String,
    fullname: String,
    idnumber: String,
    category: i64,
    /// `COURSE_SETTINGS` values; `None` where the answer has none.
    settings: Vec<Option<Setting>>,
}

/// The settings Moodle answers as text; the others are numbers.
const TEXT_SETTINGS: [&str; 4] = ["fullname", "summary", "format", "lang"];

impl Record {
    fn from_json(v: &Value) -> Option<Record> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let settings = COURSE_SETTINGS
            .iter()
            .map(|name| {
                let x = v.get(*name)?;
                Some(if TEXT_SETTINGS.contains(name) {
                    Setting::Text(x.as_str()?.to_string())
                } else {
                    Setting::Int(x.as_i64().or_else(|| x.as_bool().map(i64::from))?)
                })
            })
            .collect();
        Some(Record {
            id: v.get("id")?.as_i64()?,
            shortname: s("shortname"),
            fullname: s("fullname"),
            idnumber: s("idnumber"),
            category: v.get("categoryid").and_then(Value::as_i64).unwrap_or(0),
            settings,
        })
    }

    /// The course as the plan reads it; its sections are the catalogue's to add.
    pub(super) fn rec(&self) -> CourseRec {
        CourseRec {
            id: Ref::Id(self.id),
            shortname: self.shortname.clone(),
            fullname: self.fullname.clone(),
            idnumber: self.idnumber.clone(),
            category: Ref::Id(self.category),
            settings: self.settings.clone(),
            sections: None,
            // The site course (SITEID) is always the first.
            site: self.id == 1,
            copy_unfinished: false,
        }
    }
}

/// Distinct courses looked up one by one; more are read in one call for all.
const MANY: usize = 20;

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
