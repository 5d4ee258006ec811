//! Lookups that stay true while rows of enrolments and group members are applied (roles,
//! courses with their contexts, enrol instances, whether a course has meta children), kept
//! so each row pays for its own writes only. Anything that can change them (a course command,
//! a rolled-back row, a new file) empties the cache.

use super::cohort_sync::CohortInstance;
use super::lookup::ContextRow;
use crate::command::keys::{CohortIdentifier, CourseIdentifier};
use crate::plan::view::{CohortRec, CourseRec, InstanceRec, RoleRec};
use std::collections::HashMap;

/// An enrol instance: (id, status, default role).
pub(crate) type Instance = (i64, i64, i64);

#[derive(Default)]
pub(crate) struct Cache {
    /// The plan's reads: roles by shortname and by id, courses by key, a course's enrol
    /// instances.
    pub roles: HashMap<String, Option<RoleRec>>,
    pub roles_by_id: HashMap<i64, Option<RoleRec>>,
    pub courses: HashMap<(CourseIdentifier, String), Vec<CourseRec>>,
    pub course_instances: HashMap<i64, Vec<InstanceRec>>,
    /// (course, method) → the course's instance of that method, if any.
    pub instances: HashMap<(i64, String), Option<Instance>>,
    /// Course → its context.
    pub course_contexts: HashMap<i64, ContextRow>,
    /// Course → whether enabled meta links take participants from it.
    pub meta_parents: HashMap<i64, bool>,
    /// Cohort → the cohort enrol instances bound to it.
    pub cohort_instances: HashMap<i64, Vec<CohortInstance>>,
    /// The plan's reads of cohorts: by key, and a cohort's sync instances (a member row of a
    /// large cohort reads both).
    pub cohorts: HashMap<(CohortIdentifier, String), Vec<CohortRec>>,
    pub cohort_sync_instances: HashMap<i64, Vec<InstanceRec>>,
}

impl Cache {
    pub fn clear(&mut self) {
        *self = Cache::default();
    }

    /// An enrol instance was added, changed or deleted.
    pub fn instances_changed(&mut self) {
        self.cohort_instances.clear();
        self.cohort_sync_instances.clear();
        self.course_instances.clear();
        self.instances.clear();
    }
}
