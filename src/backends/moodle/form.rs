//! A web-service call's parameters, in PHP's form-array convention
//! (`users[0][customfields][0][type]=dept`), encoded as Moodle's REST server reads them.

use std::fmt::Write;

/// Form fields in the order they are sent, and which of their values are secret (passwords,
/// fields a script marks `secret`): Moodle's error replies may quote them, and the client
/// takes them out of every message it makes of a reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub fields: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// A field; one whose name is `password` (`users[0][password]`) is kept secret even when
    /// pushed so.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        if key.trim_end_matches(']').rsplit('[').next() == Some("password") {
            return self.push_secret(key, value);
        }
        self.fields.push((key, value.into()));
        self
    }

    /// Like `push`, for a value no message may show.
    pub fn push_secret(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.is_empty() && !self.secrets.contains(&value) {
            self.secrets.push(value.clone());
        }
        self.fields.push((key.into(), value));
        self
    }

    /// The secret values among the fields.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// How many form fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Appends `other`'s fields, its secrets kept secret.
    pub fn extend(&mut self, other: &Params) -> &mut Self {
        self.fields.extend(other.fields.iter().cloned());
        self.keep_secrets_of(other);
        self
    }

    fn keep_secrets_of(&mut self, other: &Params) {
        for s in &other.secrets {
            if !self.secrets.contains(s) {
                self.secrets.push(s.clone());
            }
        }
    }

    /// `prefix[i]=v` for each value: a list of scalars.
    pub fn list(&mut self, prefix: &str, values: impl IntoIterator<Item = String>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            self.fields.push((format!("{prefix}[{i}]"), v));
        }
        self
    }

    /// Appends every field of `item` as `prefix[index][key]`; a field with an empty key is
    /// a list's scalar, `prefix[index]` (`cohortids[0]=5`).
    pub fn item(&mut self, prefix: &str, index: usize, item: &Params) -> &mut Self {
        self.keep_secrets_of(item);
        for (k, v) in &item.fields {
            if k.is_empty() {
                self.fields.push((format!("{prefix}[{index}]"), v.clone()));
                continue;
            }
            // A nested key (`customfields][0][type`) is written with its own brackets.
            let key = match k.split_once('[') {
                Some((head, rest)) => format!("{prefix}[{index}][{head}][{rest}"),
                None => format!("{prefix}[{index}][{k}]"),
            };
            self.fields.push((key, v.clone()));
        }
        self
    }

    /// The body after the three reserved fields, `application/x-www-form-urlencoded`.
    pub fn encode_into(&self, out: &mut String) {
        for (k, v) in &self.fields {
            out.push('&');
            escape_into(k, out);
            out.push('=');
            escape_into(v, out);
        }
    }
}

/// Percent-encodes as HTML forms do: unreserved bytes stay, a space is `+`, brackets and
/// everything else are `%XX` (PHP decodes `%5B` like `[`).
pub fn escape_into(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lists_use_php_brackets() {
        let mut field = Params::new();
        field.push("type", "dept").push("value", "Maths & Stats");
        let mut user = Params::new();
        user.push("username", "jdoe");
        for (i, f) in [field].iter().enumerate() {
            for (k, v) in &f.fields {
                user.push(format!("customfields[{i}][{k}]"), v.clone());
            }
        }
        let mut p = Params::new();
        p.item("users", 0, &user);
        assert_eq!(
            p.fields,
            vec![
                ("users[0][username]".to_string(), "jdoe".to_string()),
                ("users[0][customfields][0][type]".into(), "dept".into()),
                (
                    "users[0][customfields][0][value]".into(),
                    "Maths & Stats".into()
                ),
            ]
        );
        let mut body = String::new();
        p.encode_into(&mut body);
        assert_eq!(
            body,
            "&users%5B0%5D%5Busername%5D=jdoe&users%5B0%5D%5Bcustomfields%5D%5B0%5D%5Btype%5D=dept\
             &users%5B0%5D%5Bcustomfields%5D%5B0%5D%5Bvalue%5D=Maths+%26+Stats"
        );
    }

    #[test]
    fn passwords_and_marked_values_stay_secret_in_a_batch() {
        let mut user = Params::new();
        user.push("username", "jdoe")
            .push("password", "pw1")
            .push("createpassword", "1")
            .push_secret("idnumber", "X-77");
        let mut call = Params::new();
        call.item("users", 0, &user);
        assert_eq!(call.secrets(), ["pw1", "X-77"]);
        assert_eq!(call.len(), 4);
    }

    #[test]
    fn utf8_is_percent_encoded_bytewise() {
        let mut out = String::new();
        escape_into("Zoë a+b", &mut out);
        assert_eq!(out, "Zo%C3%AB+a%2Bb");
    }
}
