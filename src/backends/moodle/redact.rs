//! A reply may quote the request it answers: a site with debugging on puts the parameters in
//! an error's `debuginfo` (`the value is "…"`, `print_r` of a whole item), and a proxy's page
//! may echo the body. The client passes every text it makes of a reply (errors, warnings,
//! transport faults, a page that is not JSON) through the redaction of that request, so
//! neither the token nor a secret value of the request (passwords, fields a script marks
//! `secret`) reaches a message, and from there stdout, a report or state.db.

use super::client::{MoodleError, Token};
use super::form::{escape_into, Params};
use serde_json::Value;
use std::borrow::Cow;

pub const TOKEN_MARK: &str = "[token]";
pub const SECRET_MARK: &str = "[secret]";

/// The secret values of one request, as they may come back.
pub struct Redaction<'a> {
    token: &'a Token,
    secrets: &'a [String],
}

impl<'a> Redaction<'a> {
    pub fn of(token: &'a Token, request: &'a Params) -> Redaction<'a> {
        Redaction {
            token,
            secrets: request.secrets(),
        }
    }

    /// For a request whose only secret is the token (an upload).
    pub fn of_token(token: &'a Token) -> Redaction<'a> {
        Redaction {
            token,
            secrets: &[],
        }
    }

    /// Each secret as sent, as HTML-escaped by Moodle's `s()` and as form-encoded, with its
    /// mark; longest first, so a secret inside another never leaves the rest of it.
    fn needles(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        let token = self.token.as_secret();
        let all = std::iter::once((token, TOKEN_MARK))
            .chain(self.secrets.iter().map(|s| (s.as_str(), SECRET_MARK)));
        for (secret, mark) in all.filter(|(s, _)| !s.is_empty()) {
            let mut form = String::new();
            escape_into(secret, &mut form);
            for form in [secret.to_string(), html_escaped(secret), form] {
                if !out.iter().any(|(n, _)| *n == form) {
                    out.push((form, mark));
                }
            }
        }
        out.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        out
    }

    pub fn text(&self, text: &str) -> String {
        self.apply(&self.needles(), text).into_owned()
    }

    fn apply<'t>(&self, needles: &[(String, &'static str)], text: &'t str) -> Cow<'t, str> {
        if !needles.iter().any(|(n, _)| text.contains(n.as_str())) {
            return Cow::Borrowed(text);
        }
        // One pass, longest match first at each place, so a mark is never itself rewritten.
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(c) = rest.chars().next() {
            for (n, mark) in needles {
                if rest.starts_with(n.as_str()) {
                    out.push_str(mark);
                    rest = &rest[n.len()..];
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        Cow::Owned(out)
    }

    pub fn error(&self, e: MoodleError) -> MoodleError {
        let needles = self.needles();
        let clean = |s: String| match self.apply(&needles, &s) {
            Cow::Borrowed(_) => s,
            Cow::Owned(o) => o,
        };
        MoodleError {
            exception: clean(e.exception),
            errorcode: clean(e.errorcode),
            message: clean(e.message),
            debuginfo: e.debuginfo.map(clean),
        }
    }

    /// Redacts the texts under every `warnings` key of an answer (Moodle's per-item
    /// messages); the answer's data is left as Moodle gave it.
    pub fn warnings(&self, answer: &mut Value) {
        let mut needles = None;
        self.walk(answer, false, &mut needles);
    }

    fn walk(
        &self,
        v: &mut Value,
        in_warnings: bool,
        needles: &mut Option<Vec<(String, &'static str)>>,
    ) {
        match v {
            Value::String(s) if in_warnings => {
                let needles = needles.get_or_insert_with(|| self.needles());
                if let Cow::Owned(o) = self.apply(needles, s) {
                    *s = o;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, in_warnings, needles);
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    self.walk(item, in_warnings || k == "warnings", needles);
                }
            }
            _ => {}
        }
    }
}

/// PHP's `htmlspecialchars` with ENT_QUOTES, as Moodle's `s()` writes a value into a page.
fn html_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Params {
        let mut p = Params::new();
        p.push("users[0][username]", "jdoe")
            .push_secret("users[0][password]", "P@ss w<rd>'1")
            .push_secret("users[0][customfields][0][value]", "pin-42");
        p
    }

    #[test]
    fn every_form_of_every_secret_is_taken_out() {
        let token = Token::new("f00dface".into());
        let p = request();
        let r = Redaction::of(&token, &p);
        assert_eq!(
            r.text("users => Array ( [0] => Array ( [username] => jdoe [password] => P@ss w<rd>'1 ) ) wstoken=f00dface"),
            "users => Array ( [0] => Array ( [username] => jdoe [password] => [secret] ) ) wstoken=[token]"
        );
        assert_eq!(
            r.text("value=P@ss w&lt;rd&gt;&#039;1 sent as P%40ss+w%3Crd%3E%271, pin pin-42"),
            "value=[secret] sent as [secret], pin [secret]"
        );
        let e = r.error(MoodleError {
            exception: "invalid_parameter_exception".into(),
            errorcode: "invalidparameter".into(),
            message: "Invalid parameter value detected".into(),
            debuginfo: Some("the value is \"pin-42\"".into()),
        });
        assert_eq!(e.debuginfo.as_deref(), Some("the value is \"[secret]\""));
        assert_eq!(e.message, "Invalid parameter value detected");
    }

    #[test]
    fn warnings_are_redacted_and_data_is_not() {
        let token = Token::new("f00dface".into());
        let p = request();
        let mut answer = serde_json::json!({
            "users": [{"username": "pin-42"}],
            "warnings": [{"item": "user", "message": "pin-42 refused"}],
        });
        Redaction::of(&token, &p).warnings(&mut answer);
        assert_eq!(answer["users"][0]["username"], "pin-42");
        assert_eq!(answer["warnings"][0]["message"], "[secret] refused");
    }

    #[test]
    fn a_secret_inside_another_goes_whole_and_marks_stay_marks() {
        let token = Token::new("tok".into());
        let mut p = Params::new();
        p.push_secret("a", "secret")
            .push_secret("b", "secret-longer")
            .push_secret("c", "e");
        assert_eq!(
            Redaction::of(&token, &p).text("x secret-longer y secret z tok"),
            "x [secret] y [secret] z [token]"
        );
    }
}
