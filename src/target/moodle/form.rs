//! A web-service call's parameters, in PHP's form-array convention
//! (`users[0][customfields][0][type]=dept`), encoded as Moodle's REST server reads them.

use std::fmt::Write;

/// Form fields in the order they are sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn new() -> Params {
        Params(Vec::new())
    }

    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.push((key.into(), value.into()));
        self
    }

    /// `prefix[i]=v` for each value: a list of scalars.
    pub fn list(&mut self, prefix: &str, values: impl IntoIterator<Item = String>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            self.0.push((format!("{prefix}[{i}]"), v));
        }
        self
    }

    /// Appends every field of `item` as `prefix[index][key]`; a field with an empty key is
    /// a list's scalar, `prefix[index]` (`cohortids[0]=5`).
    pub fn item(&mut self, prefix: &str, index: usize, item: &Params) -> &mut Self {
        for (k, v) in &item.0 {
            if k.is_empty() {
                self.0.push((format!("{prefix}[{index}]"), v.clone()));
                continue;
            }
            // A nested key (`customfields][0][type`) is written with its own brackets.
            let key = match k.split_once('[') {
                Some((head, rest)) => format!("{prefix}[{index}][{head}][{rest}"),
                None => format!("{prefix}[{index}][{k}]"),
            };
            self.0.push((key, v.clone()));
        }
        self
    }

    /// The body after the three reserved fields, `application/x-www-form-urlencoded`.
    pub fn encode_into(&self, out: &mut String) {
        for (k, v) in &self.0 {
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
            for (k, v) in &f.0 {
                user.push(format!("customfields[{i}][{k}]"), v.clone());
            }
        }
        let mut p = Params::new();
        p.item("users", 0, &user);
        assert_eq!(
            p.0,
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
    fn utf8_is_percent_encoded_bytewise() {
        let mut out = String::new();
        escape_into("Zoë a+b", &mut out);
        assert_eq!(out, "Zo%C3%AB+a%2Bb");
    }
}
