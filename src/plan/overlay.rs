//! What earlier rows of a batch will have done, laid over what the view reads: a later row
//! finds the account or course an earlier row creates, and no longer finds one an earlier row
//! renames or deletes. Rewound to a mark when a row fails, so a failed row leaves no trace.

use super::view::{
    CategoryRec, CohortRec, CourseRec, GroupRec, InstanceRec, MemberRec, PictureRec,
    RoleAssignment, UeRec, UserRec,
};
use super::Ref;
use crate::command::keys::{CourseIdentifier, UserIdentifier};
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
        self.merge_among(from_view, key, keep, self.map.keys())
    }

    /// `merge`, looking among earlier rows' records at `candidates` only: those that can
    /// match, so a lookup costs the few records that once held its key rather than every
    /// record the batch has made (quadratic in a batch of 10,000 new accounts).
    pub fn merge_among<'k>(
        &self,
        from_view: Vec<V>,
        key: impl Fn(&V) -> K,
        keep: impl Fn(&V) -> bool,
        candidates: impl Iterator<Item = &'k K>,
    ) -> Vec<V>
    where
        K: 'k,
    {
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
        for k in candidates {
            if let Some(Some(v)) = self.map.get(k) {
                if !seen.contains(k) && keep(v) {
                    seen.push(k.clone());
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
    /// The accounts `users` ever held under each key a row can name one by (see `user_keys`),
    /// some perhaps no longer: the candidates of a lookup, checked against `users`.
    user_keys: Filed<UserIdentifier>,
    /// The same of `courses`, by shortname, idnumber and id.
    course_keys: Filed<CourseIdentifier>,
}

/// The records a layer held under each (field, value), kept for lookups: a record once filed
/// stays (a rewind or a rename does not unfile it), so a lookup checks its candidates.
#[derive(Debug)]
struct Filed<I>(HashMap<(I, String), Vec<Ref>>);

impl<I> Default for Filed<I> {
    fn default() -> Self {
        Filed(HashMap::new())
    }
}

impl<I: Eq + Hash> Filed<I> {
    fn file(&mut self, id: Ref, keys: Vec<(I, String)>) {
        for k in keys {
            let held = self.0.entry(k).or_default();
            if !held.contains(&id) {
                held.push(id);
            }
        }
    }

    fn holding(&self, key: (I, String)) -> &[Ref] {
        self.0.get(&key).map(Vec::as_slice).unwrap_or(&[])
    }
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
        self.user_keys.file(rec.id, user_keys(&rec));
        self.set_user(rec.id, Some(rec));
    }

    /// The accounts of `users` that may hold `value` in `by` (the caller checks that they do).
    pub fn users_holding(&self, by: UserIdentifier, value: &str) -> &[Ref] {
        self.user_keys.holding(user_key(by, value))
    }

    /// Records a course's state after an earlier row's operation.
    pub fn put_course(&mut self, rec: CourseRec) {
        let mut keys = vec![
            (CourseIdentifier::Shortname, rec.shortname.clone()),
            (CourseIdentifier::Idnumber, rec.idnumber.clone()),
        ];
        if let Some(id) = rec.id.id() {
            keys.push((CourseIdentifier::Id, id.to_string()));
        }
        self.course_keys.file(rec.id, keys);
        self.set_course(rec.id, Some(rec));
    }

    /// The courses of `courses` that may hold `value` in `by` (the caller checks that they do).
    pub fn courses_holding(&self, by: CourseIdentifier, value: &str) -> &[Ref] {
        let v = match by {
            CourseIdentifier::Id => value.trim(),
            CourseIdentifier::Shortname | CourseIdentifier::Idnumber => value,
        };
        self.course_keys.holding((by, v.to_string()))
    }
}

/// A lookup's key as `user_keys` files it: e-mail addresses compared without ASCII case,
/// ids without spaces, as the plan's lookups compare them.
fn user_key(by: UserIdentifier, value: &str) -> (UserIdentifier, String) {
    let v = match by {
        UserIdentifier::Email => value.to_ascii_lowercase(),
        UserIdentifier::Id => value.trim().to_string(),
        UserIdentifier::Username | UserIdentifier::Idnumber => value.to_string(),
    };
    (by, v)
}

fn user_keys(rec: &UserRec) -> Vec<(UserIdentifier, String)> {
    let mut keys = vec![
        user_key(UserIdentifier::Username, &rec.username),
        user_key(UserIdentifier::Idnumber, rec.field("idnumber")),
        user_key(UserIdentifier::Email, rec.email()),
    ];
    if let Some(id) = rec.id.id() {
        keys.push(user_key(UserIdentifier::Id, &id.to_string()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: Ref, username: &str, email: &str) -> UserRec {
        let mut text: [String; 15] = Default::default();
        text[3] = email.to_string();
        UserRec {
            id,
            username: username.to_string(),
            deleted: false,
            suspended: false,
            text,
            maildisplay: None,
            mailformat: None,
            profile: Default::default(),
        }
    }

    fn found(o: &Overlay, by: UserIdentifier, value: &str) -> Vec<Ref> {
        let holds = |u: &UserRec| match by {
            UserIdentifier::Username => u.username == value,
            UserIdentifier::Email => u.email().eq_ignore_ascii_case(value),
            _ => false,
        };
        o.users
            .merge_among(
                Vec::new(),
                |u| u.id,
                holds,
                o.users_holding(by, value).iter(),
            )
            .into_iter()
            .map(|u| u.id)
            .collect()
    }

    #[test]
    fn a_lookup_finds_what_earlier_rows_left_under_its_key_only() {
        let mut o = Overlay::default();
        o.put_user(account(Ref::New(1), "ann", "Ann@Example.edu"));
        o.put_user(account(Ref::New(2), "bob", "bob@example.edu"));
        assert_eq!(found(&o, UserIdentifier::Username, "ann"), [Ref::New(1)]);
        assert_eq!(
            found(&o, UserIdentifier::Email, "ann@EXAMPLE.edu"),
            [Ref::New(1)]
        );
        // A rename: the old name no longer finds the account, the new one does.
        let mark = o.mark();
        o.put_user(account(Ref::New(1), "anna", "Ann@Example.edu"));
        assert!(found(&o, UserIdentifier::Username, "ann").is_empty());
        assert_eq!(found(&o, UserIdentifier::Username, "anna"), [Ref::New(1)]);
        // Rewound, the account is found by its first name again and not by the new one.
        o.rewind(mark);
        assert_eq!(found(&o, UserIdentifier::Username, "ann"), [Ref::New(1)]);
        assert!(found(&o, UserIdentifier::Username, "anna").is_empty());
    }

    #[test]
    fn an_account_read_from_the_view_is_dropped_when_an_earlier_row_deleted_it() {
        let mut o = Overlay::default();
        o.set_user(Ref::Id(7), None);
        let seen = vec![account(Ref::Id(7), "cy", "cy@example.edu")];
        let left = o.users.merge_among(
            seen,
            |u| u.id,
            |_| true,
            o.users_holding(UserIdentifier::Username, "cy").iter(),
        );
        assert!(left.is_empty());
    }
}
