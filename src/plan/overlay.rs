//! What earlier rows of a batch will have done, laid over what the view reads: a later row
//! finds the account an earlier row creates, and no longer finds one an earlier row renames
//! or deletes. Rewound to a mark when a row fails, so a failed row leaves no trace.

use super::view::UserRec;
use super::Ref;
use crate::config::UserIdentifier;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Overlay {
    users: HashMap<Ref, UserRec>,
    /// Each change with the value it replaced, newest last.
    journal: Vec<(Ref, Option<UserRec>)>,
}

/// A point to rewind to.
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

fn matches(rec: &UserRec, by: UserIdentifier, value: &str) -> bool {
    match by {
        UserIdentifier::Username => !rec.deleted && rec.username == value,
        UserIdentifier::Idnumber => !rec.deleted && rec.text[2] == value,
        UserIdentifier::Email => !rec.deleted && rec.text[3].eq_ignore_ascii_case(value),
        UserIdentifier::Id => rec.id.id().map(|id| id.to_string()).as_deref() == Some(value),
    }
}

impl Overlay {
    pub fn mark(&self) -> Mark {
        Mark(self.journal.len())
    }

    pub fn rewind(&mut self, mark: Mark) {
        while self.journal.len() > mark.0 {
            let Some((key, before)) = self.journal.pop() else {
                break;
            };
            match before {
                Some(rec) => {
                    self.users.insert(key, rec);
                }
                None => {
                    self.users.remove(&key);
                }
            }
        }
    }

    /// Records the account's state after an earlier row's operation.
    pub fn put_user(&mut self, rec: UserRec) {
        let before = self.users.insert(rec.id, rec.clone());
        self.journal.push((rec.id, before));
    }

    /// The accounts matching `by = value`: the view's, as earlier rows leave them, and those
    /// earlier rows create.
    pub fn users(&self, by: UserIdentifier, value: &str, from_view: Vec<UserRec>) -> Vec<UserRec> {
        let mut out: Vec<UserRec> = from_view
            .into_iter()
            .map(|rec| self.users.get(&rec.id).cloned().unwrap_or(rec))
            .filter(|rec| matches(rec, by, value))
            .collect();
        for rec in self.users.values() {
            if matches(rec, by, value) && !out.iter().any(|o| o.id == rec.id) {
                out.push(rec.clone());
            }
        }
        out.sort_by_key(|r| r.id);
        out
    }
}
