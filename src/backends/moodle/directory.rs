//! The accounts a run has looked up on the site, found or not, so each is asked for once: by
//! batches of `core_user_get_users_by_field`, and kept up to date by the run's own writes.

use super::client::{Client, Retry};
use super::form::Params;
use super::pool;
use super::split;
use crate::codes::Failure;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A field `core_user_get_users_by_field` finds accounts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Id,
    Username,
    Email,
    Idnumber,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Username => "username",
            Field::Email => "email",
            Field::Idnumber => "idnumber",
        }
    }

    /// The form a value is compared in: Moodle matches e-mail addresses regardless of case.
    fn key(self, v: &str) -> String {
        match self {
            Field::Email => v.to_lowercase(),
            _ => v.to_string(),
        }
    }
}

/// The text fields moosync compares and writes, as `get_users_by_field` names them.
pub use crate::command::USER_TEXT_FIELDS as TEXT_FIELDS;

/// An account as the site holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    /// `TEXT_FIELDS` values in that order; a field Moodle left out of its answer is empty.
    /// An array, not a map: a run may hold tens of thousands of accounts.
    pub text: [String; 15],
    pub suspended: bool,
    /// Moodle's lookups by id still return a deleted account, with no flag: its e-mail is
    /// then the md5 of its old username (delete_user).
    pub deleted: bool,
    /// Whether Moodle shows a picture of its own for the account (not the theme's default).
    pub has_picture: bool,
    pub mailformat: Option<i64>,
    /// Custom profile field values by shortname.
    pub custom: BTreeMap<String, String>,
}

impl Account {
    pub fn from_json(v: &Value) -> Option<Account> {
        let o = v.as_object()?;
        let s = |k: &str| match o.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let text = TEXT_FIELDS.map(s);
        let custom = o
            .get("customfields")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| {
                        let name = c.get("shortname")?.as_str()?.to_string();
                        let value = match c.get("value")? {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        Some((name, value))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let email = &text[3];
        // The plugin's lean read says both outright; core's shows them only indirectly.
        let deleted = match o.get("deleted").and_then(Value::as_i64) {
            Some(d) => d != 0,
            None => {
                email.len() == 32
                    && email
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
        };
        let has_picture = match o.get("picture").and_then(Value::as_i64) {
            Some(p) => p != 0,
            None => o
                .get("profileimageurl")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("/pluginfile.php/")),
        };
        Some(Account {
            deleted,
            has_picture,
            id: o.get("id")?.as_i64()?,
            username: s("username"),
            text,
            suspended: matches!(o.get("suspended"), Some(Value::Bool(true)))
                || o.get("suspended").and_then(Value::as_i64) == Some(1),
            mailformat: o.get("mailformat").and_then(Value::as_i64),
            custom,
        })
    }

    pub fn set_field(&mut self, name: &str, value: String) {
        if let Some(i) = TEXT_FIELDS.iter().position(|f| *f == name) {
            self.text[i] = value;
        }
    }

    pub fn email(&self) -> &str {
        &self.text[3]
    }

    pub fn idnumber(&self) -> &str {
        &self.text[2]
    }
}

#[derive(Default)]
pub struct Directory {
    accounts: HashMap<i64, Account>,
    index: HashMap<(Field, String), Vec<i64>>,
    /// Values asked for and not found.
    absent: HashSet<(Field, String)>,
    /// Values Moodle refused to look up, with its words.
    refused: HashMap<(Field, String), String>,
    /// Set when accounts are read through the plugin's lean read, which answers only the
    /// custom profile fields asked for: these.
    lean: Option<BTreeSet<String>>,
}

/// The plugin's account read: only the fields moosync compares, about ten times cheaper for
/// the site than core's `core_user_get_users_by_field` (README, speed).
pub const LEAN_READ: &str = "local_moosync_get_users";

impl Directory {
    /// Accounts held; the target starts over past a bound, so memory stays flat on a large
    /// file (a later row for an account forgotten is simply looked up again).
    pub fn held(&self) -> usize {
        self.accounts.len()
    }

    /// Why Moodle refused to look `value` up, if it did.
    pub fn refused(&self, field: Field, value: &str) -> Option<&str> {
        self.refused
            .get(&(field, field.key(value)))
            .map(String::as_str)
    }

    /// The accounts holding `value` in `field`, when it has been looked up.
    pub fn find(&self, field: Field, value: &str) -> Option<Vec<&Account>> {
        let key = (field, field.key(value));
        if field == Field::Id {
            if let Some(a) = value
                .parse()
                .ok()
                .and_then(|id: i64| self.accounts.get(&id))
            {
                return Some(vec![a]);
            }
        }
        if let Some(ids) = self.index.get(&key) {
            return Some(ids.iter().filter_map(|i| self.accounts.get(i)).collect());
        }
        self.absent.contains(&key).then(Vec::new)
    }

    /// Keeps `a` as the site now holds it (after a lookup, a create or an update).
    pub fn put(&mut self, a: Account) {
        self.forget(a.id);
        for (field, value) in [
            (Field::Username, a.username.clone()),
            (Field::Email, a.email().to_string()),
            (Field::Idnumber, a.idnumber().to_string()),
            (Field::Id, a.id.to_string()),
        ] {
            if value.is_empty() {
                continue;
            }
            let key = (field, field.key(&value));
            self.absent.remove(&key);
            let ids = self.index.entry(key).or_default();
            if !ids.contains(&a.id) {
                ids.push(a.id);
            }
        }
        self.accounts.insert(a.id, a);
    }

    /// Records that the account now has a picture of its own.
    pub fn set_has_picture(&mut self, id: i64) {
        if let Some(a) = self.accounts.get_mut(&id) {
            a.has_picture = true;
        }
    }

    /// Drops an account (deleted, or about to be re-put with new values).
    pub fn forget(&mut self, id: i64) {
        let Some(old) = self.accounts.remove(&id) else {
            return;
        };
        for (field, value) in [
            (Field::Username, old.username.clone()),
            (Field::Email, old.email().to_string()),
            (Field::Idnumber, old.idnumber().to_string()),
            (Field::Id, old.id.to_string()),
        ] {
            let key = (field, field.key(&value));
            if let Some(ids) = self.index.get_mut(&key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.index.remove(&key);
                    self.absent.insert(key);
                }
            }
        }
    }

    /// Reads accounts through the plugin's lean read from now on, with these custom profile
    /// fields. Accounts read without one of them are forgotten first, so that no account is
    /// compared on a field it was read without.
    pub fn read_lean(&mut self, profile_fields: &BTreeSet<String>) {
        if self
            .lean
            .as_ref()
            .is_some_and(|have| profile_fields.is_subset(have))
        {
            return;
        }
        let mut fields = self.lean.take().unwrap_or_default();
        fields.extend(profile_fields.iter().cloned());
        *self = Directory {
            lean: Some(fields),
            ..Directory::default()
        };
    }

    /// Looks up every value not asked for yet, `batch` values per call, calls in parallel.
    pub fn fetch(
        &mut self,
        client: &Client,
        parallel: usize,
        batch: usize,
        wanted: impl IntoIterator<Item = (Field, String)>,
    ) -> Result<(), Failure> {
        let mut seen = HashSet::new();
        let mut by_field: BTreeMap<&'static str, (Field, Vec<String>)> = BTreeMap::new();
        for (field, value) in wanted {
            if value.is_empty() || self.find(field, &value).is_some() {
                continue;
            }
            if seen.insert((field, value.clone())) {
                let list = &mut by_field
                    .entry(field.name())
                    .or_insert((field, Vec::new()))
                    .1;
                // Moodle matches e-mails exactly on PostgreSQL: the address as written and
                // lower-cased (how most sites store them) are both asked for.
                let lower = value.to_lowercase();
                if field == Field::Email && lower != value && seen.insert((field, lower.clone())) {
                    list.push(lower);
                }
                list.push(value);
            }
        }
        let mut jobs: Vec<(Field, Vec<String>)> = Vec::new();
        for (_, (field, values)) in by_field {
            for chunk in values.chunks(batch.max(1)) {
                jobs.push((field, chunk.to_vec()));
            }
        }
        let lean = self.lean.as_ref();
        // A refused lookup is halved like a refused write: one value Moodle will not look up
        // (an id whose account was purged) fails only the rows that want it.
        let answers = pool::map(&jobs, parallel, |(field, values)| {
            let send = |r: std::ops::Range<usize>| {
                let mut p = Params::new();
                p.push("field", field.name());
                p.list("values", values[r].iter().cloned());
                match lean {
                    Some(fields) => {
                        p.list("profilefields", fields.iter().cloned());
                        client
                            .call(LEAN_READ, &p, Retry::Safe)
                            .map(|mut v| v["users"].take())
                    }
                    None => client.call("core_user_get_users_by_field", &p, Retry::Safe),
                }
            };
            // Parsed on the worker: the accounts are far smaller than the answer's JSON tree.
            split::send_split(values.len(), &send).map(|pieces| {
                pieces
                    .into_iter()
                    .map(|piece| match piece.answer {
                        Ok(v) => Ok(v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Account::from_json)
                            .collect::<Vec<_>>()),
                        Err(m) => Err((values[piece.items.start].clone(), m.describe())),
                    })
                    .collect::<Vec<_>>()
            })
        });
        for ((field, values), answer) in jobs.into_iter().zip(answers) {
            for piece in answer? {
                match piece {
                    Ok(accounts) => accounts.into_iter().for_each(|a| self.put(a)),
                    Err((value, why)) => {
                        self.refused.insert((field, field.key(&value)), why);
                    }
                }
            }
            for v in values {
                let key = (field, field.key(&v));
                // An id is indexed like the other fields, so one test serves all four.
                if !self.index.contains_key(&key) && !self.refused.contains_key(&key) {
                    self.absent.insert(key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_found_by_every_field_and_follows_its_changes() {
        let v: Value = serde_json::from_str(
            r#"{"id":7,"username":"jdoe","fullname":"J Doe","email":"JDoe@Example.edu","idnumber":"S1",
                "suspended":false,"customfields":[{"type":"text","value":"Maths","name":"Department","shortname":"dept"}]}"#,
        )
        .unwrap();
        let a = Account::from_json(&v).unwrap();
        assert_eq!(a.custom.get("dept").map(String::as_str), Some("Maths"));
        let mut d = Directory::default();
        d.put(a.clone());
        assert_eq!(d.find(Field::Email, "jdoe@example.EDU").unwrap()[0].id, 7);
        assert_eq!(d.find(Field::Idnumber, "S1").unwrap()[0].id, 7);
        assert!(d.find(Field::Username, "other").is_none(), "never asked");
        let mut renamed = a;
        renamed.username = "jdoe2".into();
        d.put(renamed);
        assert_eq!(d.find(Field::Username, "jdoe"), Some(vec![]));
        assert_eq!(d.find(Field::Username, "jdoe2").unwrap()[0].id, 7);
        d.forget(7);
        assert_eq!(d.find(Field::Id, "7"), Some(vec![]));
    }
}
