//! The site as the plan reads it: batched lookups a backend answers from its store or from
//! Moodle. A backend that cannot tell something says so (`None` where a field is optional),
//! and the plan decides what that means, the same way for every backend.

use crate::codes::Failure;
use crate::config::UserIdentifier;
use std::collections::{BTreeMap, BTreeSet};

use super::Ref;

/// A read failed: for one row (Moodle refused a lookup, an ambiguous match), or for the
/// whole file (the site is unreachable, the store failed).
#[derive(Debug, Clone)]
pub enum ReadError {
    Row(Failure),
    Stop(Failure),
}

impl From<Failure> for ReadError {
    /// A failure read as a row's: what stops the file is said with `ReadError::Stop`.
    fn from(f: Failure) -> Self {
        ReadError::Row(f)
    }
}

pub type Read<T> = Result<T, ReadError>;

/// An account as the site holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRec {
    pub id: Ref,
    pub username: String,
    pub deleted: bool,
    pub suspended: bool,
    /// The values of `USER_TEXT_FIELDS`, in that order.
    pub text: [String; 15],
    /// `None`: the backend cannot read it (Moodle's core web services do not return it).
    pub maildisplay: Option<i64>,
    pub mailformat: Option<i64>,
    /// Custom profile field values by shortname (absent: empty).
    pub profile: BTreeMap<String, String>,
}

impl UserRec {
    /// A text field's value by its name in `USER_TEXT_FIELDS`.
    pub fn field(&self, name: &str) -> &str {
        crate::command::USER_TEXT_FIELDS
            .iter()
            .position(|f| *f == name)
            .map(|i| self.text[i].as_str())
            .unwrap_or("")
    }

    pub fn email(&self) -> &str {
        &self.text[3]
    }

    /// "account id 4 (jdoe, jdoe@example.edu)": how messages name another account.
    pub fn label(&self) -> String {
        let id = match self.id {
            Ref::Id(id) => format!("account id {id}"),
            Ref::New(_) => "an account created by an earlier row of this file".to_string(),
        };
        if self.email().is_empty() {
            format!("{id} ({})", self.username)
        } else {
            format!("{id} ({}, {})", self.username, self.email())
        }
    }
}

/// Every key a batch will look up, so a backend that reads over the network can read them
/// in a few calls before the rows are planned one by one.
#[derive(Debug, Default)]
pub struct Wanted {
    pub users: BTreeSet<(UserIdentifier, String)>,
}

/// What a backend can do of what a plan may ask. What it cannot do fails the row with
/// MS-R006 naming why, the same way every time, instead of a refusal from the site.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Moodle's web services create no account without an e-mail address.
    pub account_without_email: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            account_without_email: true,
        }
    }
}

/// Read-only access to the site. Lookups may come from what `prefetch` read.
pub trait SiteView {
    /// What the backend behind the view can do.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Reads ahead what the batch's rows will look up.
    fn prefetch(&mut self, _wanted: &Wanted) -> Result<(), Failure> {
        Ok(())
    }

    /// The accounts whose `by` field is `value` (e-mail compared without case), deleted ones
    /// included when found by id or username.
    fn users(&mut self, by: UserIdentifier, value: &str) -> Read<Vec<UserRec>>;

    /// Whether `plain` is the account's password; `None` when the backend cannot tell
    /// (Moodle never reveals a password).
    fn password_matches(&mut self, user: i64, plain: &str) -> Read<Option<bool>>;

    /// The custom profile fields the site has, by shortname; `None` when the backend cannot
    /// list them.
    fn profile_fields(&mut self) -> Read<Option<BTreeSet<String>>>;

    /// Accounts a feed never changes or deletes (the guest, the site's administrators, the
    /// account a web-service token belongs to), each with what it is.
    fn protected(&mut self) -> Read<Vec<(i64, &'static str)>>;
}
