//! Moodle's password policy (`check_password_policy()` in lib/moodlelib.php, with the site's
//! `passwordpolicy`, `minpassword*` and `maxconsecutiveidentchars`), which Moodle applies to
//! every password it is given for an account, on creation and on change. The plan checks it
//! where the backend knows the site's policy, so that both backends refuse the same rows with
//! the same words.

/// A site's policy; `None` of a backend means it cannot tell (Moodle then decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub min_digits: usize,
    pub min_lower: usize,
    pub min_upper: usize,
    pub min_nonalphanum: usize,
    /// 0: not checked.
    pub max_consecutive_identical: usize,
}

impl Default for PasswordPolicy {
    /// A fresh Moodle's (admin/settings/security.php).
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            min_digits: 1,
            min_lower: 1,
            min_upper: 1,
            min_nonalphanum: 1,
            max_consecutive_identical: 0,
        }
    }
}

impl PasswordPolicy {
    /// Moodle's message for what `password` lacks (its lang/en/auth.php strings, each in a
    /// `<div>` as Moodle joins them), or `None` when the policy accepts it.
    pub fn problems(&self, password: &str) -> Option<String> {
        // PHP's POSIX classes under /u, which Moodle's checks use, are Unicode-aware.
        let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
        let digits = count(|c| c.is_numeric());
        let lower = count(|c| c.is_lowercase());
        let upper = count(|c| c.is_uppercase());
        let other = count(|c| !(c.is_numeric() || c.is_lowercase() || c.is_uppercase()));
        let mut out = String::new();
        let mut say = |short: bool, text: String| {
            if short {
                out.push_str(&format!("<div>{text}</div>"));
            }
        };
        say(
            password.chars().count() < self.min_length,
            format!(
                "Passwords must be at least {} characters long.",
                self.min_length
            ),
        );
        say(
            digits < self.min_digits,
            format!("Passwords must have at least {} digit(s).", self.min_digits),
        );
        say(
            lower < self.min_lower,
            format!(
                "Passwords must have at least {} lower case letter(s).",
                self.min_lower
            ),
        );
        say(
            upper < self.min_upper,
            format!(
                "Passwords must have at least {} upper case letter(s).",
                self.min_upper
            ),
        );
        say(
            other < self.min_nonalphanum,
            format!(
                "The password must have at least {} special character(s) such as *, -, or #.",
                self.min_nonalphanum
            ),
        );
        say(
            too_many_identical(password, self.max_consecutive_identical),
            format!(
                "Passwords must have at most {} consecutive identical characters.",
                self.max_consecutive_identical
            ),
        );
        (!out.is_empty()).then_some(out)
    }
}

/// Moodle's `check_consecutive_identical_characters`, which counts bytes, not characters.
fn too_many_identical(password: &str, max: usize) -> bool {
    if max < 1 || password.len() <= max {
        return false;
    }
    let bytes = password.as_bytes();
    let mut run = 1;
    for pair in bytes.windows(2) {
        run = if pair[0] == pair[1] { run + 1 } else { 1 };
        if run > max {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_sites_policy_says_what_each_password_lacks_as_moodle_does() {
        let p = PasswordPolicy::default();
        assert_eq!(p.problems("Secret-1!"), None);
        assert_eq!(p.problems("Été-2026"), None, "letters outside ASCII count");
        assert_eq!(
            p.problems("weak").as_deref(),
            Some(
                "<div>Passwords must be at least 8 characters long.</div>\
                 <div>Passwords must have at least 1 digit(s).</div>\
                 <div>Passwords must have at least 1 upper case letter(s).</div>\
                 <div>The password must have at least 1 special character(s) such as *, -, or #.</div>"
            )
        );
        let strict = PasswordPolicy {
            max_consecutive_identical: 2,
            ..PasswordPolicy::default()
        };
        assert!(strict.problems("Seccret-1").is_none());
        assert!(strict
            .problems("Secccret-1")
            .unwrap()
            .contains("at most 2 consecutive"));
    }
}
