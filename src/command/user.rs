//! User commands and their validation (Moodle's rules for usernames, emails, lengths).

use super::moodle_rules::{
    is_auth_plugin_name, is_country_code, is_lang_code, is_profile_field_shortname, is_timezone,
    is_valid_email, username_problem, NOT_AUTH, NOT_COUNTRY, NOT_LANG, NOT_PROFILE_FIELD,
    NOT_TIMEZONE,
};
use crate::codes::{Code, Failure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fields of an account. `None` means "not in the file": never written on update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFields {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldusername: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idnumber: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Plain text; the embedded store hashes it as Moodle does, REST sends it to Moodle.
    /// Printed (plan, dry run) only as `********`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redact"
    )]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maildisplay: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailformat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
    /// Custom profile fields by shortname (`profile_field_<shortname>` columns).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile: BTreeMap<String, String>,
    /// Shortnames of the `profile` fields whose values are secret (a PIN, a national number):
    /// `plan` shows them as `********`, and what Moodle answers is cleared of them before it
    /// is printed, reported or stored, as it always is of the password.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret: Vec<String>,
}

/// An account's text fields (Moodle's `user` columns and web-service keys alike), in the
/// order `UserFields::text_values` gives them; `description` may be NULL in Moodle.
pub const USER_TEXT_FIELDS: [&str; 15] = [
    "firstname",
    "lastname",
    "idnumber",
    "email",
    "auth",
    "institution",
    "department",
    "city",
    "country",
    "lang",
    "timezone",
    "phone1",
    "phone2",
    "address",
    "description",
];

/// The width of the text columns of Moodle's user table that have one (install.xml).
pub const USER_FIELD_WIDTHS: [(&str, usize); 12] = [
    ("firstname", 100),
    ("lastname", 100),
    ("idnumber", 255),
    ("email", 100),
    ("auth", 20),
    ("institution", 255),
    ("department", 255),
    ("city", 120),
    ("timezone", 100),
    ("phone1", 20),
    ("phone2", 20),
    ("address", 255),
];

/// The width of a user text column, for the settings that give new accounts a value.
pub fn user_field_width(field: &str) -> Option<usize> {
    USER_FIELD_WIDTHS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, w)| *w)
}

/// An existing account (to delete or suspend), found by the configured identifier field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idnumber: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
}

fn redact<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(p) if !p.is_empty() => s.serialize_str("********"),
        _ => s.serialize_str(""),
    }
}

fn invalid(code: Code, msg: String) -> Result<(), Failure> {
    Err(Failure::new(code, msg))
}

fn check_username(username: &str, what: &str) -> Result<(), Failure> {
    if let Some(why) = username_problem(username) {
        return invalid(
            Code::InvalidUsername,
            format!("{what} '{username}' {why}; Moodle usernames are lower-case a-z 0-9 - . @ _ (clean_username() in the script does this)"),
        );
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), Failure> {
    if !email.is_empty() && !is_valid_email(email) {
        return invalid(Code::InvalidEmail, format!("email '{email}' is not an address Moodle accepts; correct it or leave the cell empty"));
    }
    Ok(())
}

impl UserFields {
    /// Whether the script marked the profile field `shortname` secret.
    pub fn is_secret(&self, shortname: &str) -> bool {
        self.secret.iter().any(|s| s == shortname)
    }

    /// The fields as `plan` shows them: secret profile values as `********` (the password
    /// is always shown so).
    pub fn masked(mut self) -> UserFields {
        for (name, value) in self.profile.iter_mut() {
            if self.secret.contains(name) {
                *value = "********".into();
            }
        }
        self
    }

    /// The values of `USER_TEXT_FIELDS`, in that order.
    pub fn text_values(&self) -> [Option<&String>; 15] {
        [
            self.firstname.as_ref(),
            self.lastname.as_ref(),
            self.idnumber.as_ref(),
            self.email.as_ref(),
            self.auth.as_ref(),
            self.institution.as_ref(),
            self.department.as_ref(),
            self.city.as_ref(),
            self.country.as_ref(),
            self.lang.as_ref(),
            self.timezone.as_ref(),
            self.phone1.as_ref(),
            self.phone2.as_ref(),
            self.address.as_ref(),
            self.description.as_ref(),
        ]
    }

    /// The values of the fields of `USER_FIELD_WIDTHS`, in that order: checked so a long
    /// value fails its row here rather than being cut or refused by Moodle.
    fn sized_values(&self) -> [Option<&String>; 12] {
        [
            self.firstname.as_ref(),
            self.lastname.as_ref(),
            self.idnumber.as_ref(),
            self.email.as_ref(),
            self.auth.as_ref(),
            self.institution.as_ref(),
            self.department.as_ref(),
            self.city.as_ref(),
            self.timezone.as_ref(),
            self.phone1.as_ref(),
            self.phone2.as_ref(),
            self.address.as_ref(),
        ]
    }

    pub fn validate(&self) -> Result<(), Failure> {
        check_username(&self.username, "username")?;
        if let Some(old) = &self.oldusername {
            if !old.is_empty() {
                check_username(old, "oldusername")?;
            }
        }
        for (name, value) in [("firstname", &self.firstname), ("lastname", &self.lastname)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return invalid(
                    Code::MissingValue,
                    format!("{name} is empty; every account needs one"),
                );
            }
        }
        for ((name, width), value) in USER_FIELD_WIDTHS.iter().zip(self.sized_values()) {
            let width = *width;
            if let Some(v) = value {
                let n = v.chars().count();
                if n > width {
                    return invalid(
                        Code::InvalidValue,
                        format!("{name} has {n} characters; Moodle keeps at most {width}"),
                    );
                }
            }
        }
        if let Some(e) = &self.email {
            check_email(e)?;
        }
        if let Some(c) = &self.country {
            if !(c.is_empty() || is_country_code(c)) {
                return invalid(Code::InvalidValue, format!("country '{c}' {NOT_COUNTRY}"));
            }
        }
        if let Some(l) = &self.lang {
            if !l.is_empty() && !is_lang_code(l) {
                return invalid(Code::InvalidValue, format!("lang '{l}' {NOT_LANG}"));
            }
        }
        if let Some(a) = &self.auth {
            if !is_auth_plugin_name(a) {
                return invalid(Code::InvalidValue, format!("auth '{a}' {NOT_AUTH}"));
            }
        }
        if let Some(t) = &self.timezone {
            if !t.is_empty() && !is_timezone(t) {
                return invalid(Code::InvalidValue, format!("timezone '{t}' {NOT_TIMEZONE}"));
            }
        }
        if let Some(p) = &self.password {
            if p.chars().count() > 128 {
                return invalid(
                    Code::InvalidValue,
                    "password is longer than Moodle's 128 characters".to_string(),
                );
            }
        }
        if let Some(m) = self.maildisplay {
            if !(0..=2).contains(&m) {
                return invalid(
                    Code::InvalidValue,
                    format!("maildisplay {m} must be 0 (hide), 1 (everyone) or 2 (course members)"),
                );
            }
        }
        if let Some(m) = self.mailformat {
            if !(0..=1).contains(&m) {
                return invalid(
                    Code::InvalidValue,
                    format!("mailformat {m} must be 0 (plain text) or 1 (HTML)"),
                );
            }
        }
        for k in self.profile.keys() {
            if k.is_empty() {
                return invalid(
                    Code::InvalidValue,
                    "a profile field has an empty shortname".to_string(),
                );
            }
        }
        if let Some(s) = self.secret.iter().find(|s| !is_profile_field_shortname(s)) {
            return invalid(
                Code::InvalidValue,
                format!("secret names '{s}', which {NOT_PROFILE_FIELD}; it lists profile fields by shortname, such as [\"pin\"]"),
            );
        }
        Ok(())
    }
}

impl UserRef {
    /// `op` names the command in messages.
    pub fn validate(&self, op: &str) -> Result<(), Failure> {
        if let Some(u) = &self.username {
            check_username(u, "username")?;
        }
        if self.username.is_none()
            && self.idnumber.is_none()
            && self.email.is_none()
            && self.id.is_none()
        {
            return invalid(
                Code::MissingValue,
                format!("{op} names no account: give username, idnumber, email or id"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::*;

    fn user(f: impl FnOnce(&mut UserFields)) -> Result<(), Failure> {
        let mut u = UserFields {
            username: "jdoe".into(),
            firstname: Some("J".into()),
            lastname: Some("Doe".into()),
            ..Default::default()
        };
        f(&mut u);
        Command::UserUpsert(u).validate()
    }

    #[test]
    fn moodle_rules_are_enforced() {
        assert!(user(|_| {}).is_ok());
        assert_eq!(
            user(|u| u.username = "J Doe".into()).unwrap_err().code,
            Code::InvalidUsername
        );
        assert_eq!(
            user(|u| u.email = Some("root@localhost".into()))
                .unwrap_err()
                .code,
            Code::InvalidEmail
        );
        assert!(user(|u| u.email = Some(String::new())).is_ok());
        assert_eq!(
            user(|u| u.country = Some("fr".into())).unwrap_err().code,
            Code::InvalidValue
        );
        assert_eq!(
            user(|u| u.firstname = Some(" ".into())).unwrap_err().code,
            Code::MissingValue
        );
        assert_eq!(
            user(|u| u.phone1 = Some("1".repeat(21))).unwrap_err().code,
            Code::InvalidValue
        );
        assert_eq!(
            user(|u| u.maildisplay = Some(3)).unwrap_err().code,
            Code::InvalidValue
        );
    }

    #[test]
    fn rows_follow_the_rules_the_settings_follow() {
        let refused = |f: fn(&mut UserFields)| user(f).unwrap_err().message;
        assert!(
            refused(|u| u.country = Some("UK".into())).contains("not a country code Moodle knows")
        );
        assert!(refused(|u| u.timezone = Some("GMT+1".into())).contains("not a time zone"));
        assert!(refused(|u| u.auth = Some("2fa".into())).contains("authentication plugin"));
        assert!(refused(|u| u.secret = vec!["p-in".into()]).contains("secret names 'p-in'"));
        for ok in [
            |u: &mut UserFields| u.country = Some("GB".into()),
            |u: &mut UserFields| u.timezone = Some("Europe/London".into()),
            |u: &mut UserFields| u.timezone = Some("99".into()),
            |u: &mut UserFields| u.auth = Some("oauth2".into()),
            |u: &mut UserFields| u.secret = vec!["pin".into()],
        ] {
            assert!(user(ok).is_ok());
        }
    }

    #[test]
    fn secret_profile_values_are_masked_for_plan() {
        let mut u = UserFields {
            username: "a".into(),
            password: Some("pw".into()),
            secret: vec!["pin".into()],
            ..Default::default()
        };
        u.profile.insert("pin".into(), "1234".into());
        u.profile.insert("team".into(), "Blue".into());
        let shown = serde_json::to_string(&Command::UserUpsert(u).masked()).unwrap();
        assert!(shown.contains(r#""pin":"********""#), "{shown}");
        assert!(
            shown.contains(r#""team":"Blue""#) && !shown.contains("pw"),
            "{shown}"
        );
    }

    #[test]
    fn op_tag_and_unknown_fields() {
        let j = r#"{"op":"user_upsert","username":"a","emial":"x"}"#;
        let e = serde_json::from_str::<Command>(j).unwrap_err().to_string();
        assert!(e.contains("emial"), "{e}");
        let c: Command = serde_json::from_str(r#"{"op":"user_delete","username":"a"}"#).unwrap();
        assert!(matches!(c, Command::UserDelete(_)));
    }
}
