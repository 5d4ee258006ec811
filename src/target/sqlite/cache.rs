//! Lookups that stay true while rows of enrolments and group members are applied (roles,
//! courses with their contexts, enrol instances, whether a course has meta children), kept
//! so each row pays for its own writes only. Anything that can change them (a course command,
//! a rolled-back row, a new file) empties the cache.

use super::cohort_sync::CohortInstance;
use super::courses::StoredCourse;
use super::lookup::ContextRow;
use crate::config::CourseIdentifier;
use std::collections::HashMap;

/// An enrol instance: (id, status, default role).
pub(crate) type Instance = (i64, i64, i64);

#[derive(Default)]
pub(crate) struct Cache {
    /// Role shortname → id, for roles that can be given in a course.
    pub course_roles: HashMap<String, i64>,
    pub role_names: HashMap<i64, String>,
    pub courses: HashMap<(CourseIdentifier, String), (StoredCourse, ContextRow)>,
    /// (course, method) → the course's instance of that method, if any.
    pub instances: HashMap<(i64, String), Option<Instance>>,
    /// Course → whether enabled meta links take participants from it.
    pub meta_parents: HashMap<i64, bool>,
    /// Cohort → the cohort enrol instances bound to it.
    pub cohort_instances: HashMap<i64, Vec<CohortInstance>>,
}

impl Cache {
    pub fn clear(&mut self) {
        *self = Cache::default();
    }
}
