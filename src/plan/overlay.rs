//! What earlier rows of a batch will have done, laid over what the view reads: a later row
//! finds the account or course an earlier row creates, and no longer finds one an earlier row
//! renames or deletes. Rewound to a mark when a row fails, so a failed row leaves no trace.

use super::view::{
    CategoryRec, CohortRec, CourseRec, GroupRec, InstanceRec, MemberRec, PictureRec,
    RoleAssignment, UeRec, UserRec,
};
use super::Ref;
use std::collections::HashMap;
use std::hash::Hash;

/// A point to rewind to.
#[derive(Debug, Clone, Copy)]
pub struct Mark(u64);

/// Values by key as earlier rows leave them: `Some(v)` set, `None` gone (deleted). A key not
/// here is as the view reads it.
#[derive(Debug)]
pub struct Layer<K, V> {
    map: HashMap<K, Option<V>>,
    /// Each change, with its sequence number and the entry it replaced, newest last.
    journal: Vec<(u64, K, Option<Option<V>>)>,
}

impl<K, V> Default for Layer<K, V> {
    fn default() -> Self {
        Layer {
            map: HashMap::new(),
            journal: Vec::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Layer<K, V> {
    /// What earlier rows left at `k`: `None` when they did not touch it.
    pub fn get(&self, k: &K) -> Option<&Option<V>> {
        self.map.get(k)
    }

    fn put(&mut self, seq: u64, k: K, v: Option<V>) {
        let before = self.map.insert(k.clone(), v);
        self.journal.push((seq, k, before));
    }

    fn rewind(&mut self, mark: u64) {
        while self.journal.last().is_some_and(|(seq, _, _)| *seq >= mark) {
            let Some((_, k, before)) = self.journal.pop() else {
                break;
            };
            match before {
                Some(v) => {
                    self.map.insert(k, v);
                }
                None => {
                    self.map.remove(&k);
                }
            }
        }
    }

    /// The view's records as earlier rows leave them, those gone dropped, with the records
    /// earlier rows made or changed that `keep` also takes.
    pub fn merge(
        &self,
        from_view: Vec<V>,
        key: impl Fn(&V) -> K,
        keep: impl Fn(&V) -> bool,
    ) -> Vec<V> {
        let mut seen: Vec<K> = Vec::new();
        let mut out: Vec<V> = Vec::new();
        for v in from_view {
            let k = key(&v);
            let now = match self.map.get(&k) {
                Some(Some(changed)) => Some(changed.clone()),
                Some(None) => None,
                None => Some(v),
            };
            seen.push(k);
            if let Some(v) = now.filter(|v| keep(v)) {
                out.push(v);
            }
        }
        for (k, v) in &self.map {
            if let Some(v) = v {
                if !seen.contains(k) && keep(v) {
                    out.push(v.clone());
                }
            }
        }
        out
    }
}

/// Every kind of thing a plan reads, as earlier rows of the batch leave it.
#[derive(Debug, Default)]
pub struct Overlay {
    seq: u64,
    pub users: Layer<Ref, UserRec>,
    pub courses: Layer<Ref, CourseRec>,
    pub categories: Layer<Ref, CategoryRec>,
    pub instances: Layer<Ref, InstanceRec>,
    pub groups: Layer<Ref, GroupRec>,
    pub cohorts: Layer<Ref, CohortRec>,
    /// A user's enrolments in a course: (course, user).
    pub enrolments: Layer<(Ref, Ref), Vec<UeRec>>,
    /// A user's roles in a course: (course, user).
    pub roles: Layer<(Ref, Ref), Vec<RoleAssignment>>,
    /// The groups in a grouping.
    pub grouping_groups: Layer<Ref, Vec<Ref>>,
    /// The members of a group.
    pub members: Layer<Ref, Vec<MemberRec>>,
    /// Cohort memberships, (cohort, user), each its own entry: a row joins or leaves one
    /// cohort, and a cohort may have many thousand members.
    pub cohort_members: Layer<(Ref, Ref), (Ref, Ref)>,
    pub pictures: Layer<Ref, PictureRec>,
}

macro_rules! setters {
    ($($name:ident: $layer:ident ($k:ty, $v:ty);)*) => {
        impl Overlay {
            $(
                /// Records the state earlier rows leave (`None`: gone).
                pub fn $name(&mut self, k: $k, v: Option<$v>) {
                    self.seq += 1;
                    self.$layer.put(self.seq, k, v);
                }
            )*

            fn rewind_all(&mut self, mark: u64) {
                $( self.$layer.rewind(mark); )*
            }
        }
    };
}

setters! {
    set_user: users (Ref, UserRec);
    set_course: courses (Ref, CourseRec);
    set_category: categories (Ref, CategoryRec);
    set_instance: instances (Ref, InstanceRec);
    set_group: groups (Ref, GroupRec);
    set_cohort: cohorts (Ref, CohortRec);
    set_enrolments: enrolments ((Ref, Ref), Vec<UeRec>);
    set_roles: roles ((Ref, Ref), Vec<RoleAssignment>);
    set_grouping_groups: grouping_groups (Ref, Vec<Ref>);
    set_members: members (Ref, Vec<MemberRec>);
    set_cohort_member: cohort_members ((Ref, Ref), (Ref, Ref));
    set_picture: pictures (Ref, PictureRec);
}

impl Overlay {
    pub fn mark(&self) -> Mark {
        Mark(self.seq + 1)
    }

    /// Undoes everything recorded since `mark`.
    pub fn rewind(&mut self, mark: Mark) {
        self.rewind_all(mark.0);
    }

    /// Records an account's state after an earlier row's operation.
    pub fn put_user(&mut self, rec: UserRec) {
        self.set_user(rec.id, Some(rec));
    }
}
