//! The primitive operations a plan decides and a backend applies: each is one call of
//! Moodle's own API (create_user, user_update_user, delete_user, …), so that a backend maps
//! it onto its store or onto a web service without deciding anything.

use super::Ref;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
// Operations are made once and applied once; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum Op {
    CreateUser(NewUser),
    UpdateUser(UserUpdate),
    /// Moodle's delete_user: the account stays, soft-deleted, with its username, email and
    /// idnumber freed; its enrolments, roles, memberships and files go.
    DeleteUser {
        user: Ref,
        username: String,
        email: String,
    },
}

/// A new account, with the settings' defaults already in place of what the file lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// The reference later operations use for it.
    pub new: Ref,
    pub username: String,
    /// Plain text; the backend stores it as its site does. `None`: no password.
    pub password: Option<String>,
    /// The values of `USER_TEXT_FIELDS`, in that order.
    pub text: [String; 15],
    pub maildisplay: i64,
    pub mailformat: i64,
    pub suspended: bool,
    pub profile: BTreeMap<String, String>,
    /// Profile fields whose values are secret (never in a message).
    pub secret: Vec<String>,
}

impl NewUser {
    pub fn field(&self, name: &str) -> &str {
        field_of(&self.text, name)
    }
}

/// The fields of an account that change, and only those.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserUpdate {
    pub user: Option<Ref>,
    /// Its username before this update (messages, and what a rename frees).
    pub username: String,
    pub new_username: Option<String>,
    /// `USER_TEXT_FIELDS` names with their new values.
    pub text: Vec<(&'static str, String)>,
    pub password: Option<String>,
    pub maildisplay: Option<i64>,
    pub mailformat: Option<i64>,
    pub suspended: Option<bool>,
    pub profile: Vec<(String, String)>,
    pub secret: Vec<String>,
}

impl UserUpdate {
    pub fn user(&self) -> Ref {
        self.user.expect("an update names its account")
    }

    /// The new value of a text field, if this update changes it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.text
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.as_str())
    }

    /// The columns it writes, as the report names them.
    pub fn written(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.new_username.is_some() {
            out.push("username".to_string());
        }
        out.extend(self.text.iter().map(|(f, _)| f.to_string()));
        for (name, set) in [
            ("maildisplay", self.maildisplay.is_some()),
            ("mailformat", self.mailformat.is_some()),
            ("suspended", self.suspended.is_some()),
            ("password", self.password.is_some()),
        ] {
            if set {
                out.push(name.to_string());
            }
        }
        out.extend(
            self.profile
                .iter()
                .map(|(name, _)| format!("profile_field_{name}")),
        );
        out
    }

    pub fn is_empty(&self) -> bool {
        self.written().is_empty()
    }
}

fn field_of<'a>(text: &'a [String; 15], name: &str) -> &'a str {
    crate::command::USER_TEXT_FIELDS
        .iter()
        .position(|f| *f == name)
        .map(|i| text[i].as_str())
        .unwrap_or("")
}
