//! The two content checks Moodle runs on users beyond parameter types: `validate_email`
//! (PHP's `FILTER_VALIDATE_EMAIL` plus no `<`/`>`) and the default password policy.

/// `validate_email`: PHP's FILTER_VALIDATE_EMAIL (its regex, read as rules), not RFC 5322.
/// Accepts `a.b@example.com`, `A@Example.COM`, `a+b@ex.co`, `a@ex.c`, `a@[127.0.0.1]`;
/// rejects `root@localhost`, `a@ex`, `x y@example.com`, `jöe@example.com`, `a..b@ex.com`.
pub fn valid_email(email: &str) -> bool {
    if email.is_empty() || email.len() > 254 || email.contains(['<', '>', '\n', '\r']) {
        return false;
    }
    let Some(at) = email.rfind('@') else {
        return false;
    };
    let (local, domain) = (&email[..at], &email[at + 1..]);
    local.len() <= 64 && valid_local(local) && valid_domain(domain)
}

fn atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Dot-separated atoms or quoted strings (no spaces inside quotes: PHP's set excludes 0x20).
fn valid_local(local: &str) -> bool {
    let bytes = local.as_bytes();
    let mut i = 0;
    loop {
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match bytes.get(i) {
                    Some(b'"') => break,
                    Some(b'\\') if bytes.get(i + 1).is_some_and(|b| *b < 0x80) => i += 2,
                    Some(&b) if (0x01..0x80).contains(&b) && !b" \t\n\r\\".contains(&b) => i += 1,
                    _ => return false,
                }
            }
            i += 1;
        } else {
            let start = i;
            while bytes.get(i).is_some_and(|b| atom_char(*b as char)) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
        match bytes.get(i) {
            None => return true,
            Some(b'.') => i += 1,
            Some(_) => return false,
        }
    }
}

/// `label.label…tld` (ASCII, hyphens inside labels only, TLD starting with a letter, labels
/// under 64 chars, at least one dot) or an IPv4 literal in brackets.
fn valid_domain(domain: &str) -> bool {
    if let Some(ip) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let parts: Vec<&str> = ip.split('.').collect();
        return parts.len() == 4
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 3
                    && p.chars().all(|c| c.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
                    && p.parse::<u16>().is_ok_and(|n| n <= 255)
            });
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() < 64
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .unwrap()
            .starts_with(|c: char| c.is_ascii_alphabetic())
}

/// `check_password_policy` with Moodle's defaults (length 8, one each of digit, lower, upper
/// and non-alphanumeric): `None` when it passes, else the concatenated `<div>` texts that
/// Moodle uses as the exception's errorcode (file 008).
pub fn password_policy_errors(password: &str) -> Option<String> {
    let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
    let digits = count(|c| c.is_numeric());
    let lower = count(|c| c.is_lowercase());
    let upper = count(|c| c.is_uppercase());
    let special = count(|c| !(c.is_numeric() || c.is_lowercase() || c.is_uppercase()));
    let mut errors = String::new();
    let mut fail = |bad: bool, text: &str| {
        if bad {
            errors.push_str(&format!("<div>{text}</div>"));
        }
    };
    fail(
        password.chars().count() < 8,
        "Passwords must be at least 8 characters long.",
    );
    fail(digits < 1, "Passwords must have at least 1 digit(s).");
    fail(
        lower < 1,
        "Passwords must have at least 1 lower case letter(s).",
    );
    fail(
        upper < 1,
        "Passwords must have at least 1 upper case letter(s).",
    );
    fail(
        special < 1,
        "The password must have at least 1 special character(s) such as *, -, or #.",
    );
    (!errors.is_empty()).then_some(errors)
}

/// Auth plugins whose passwords Moodle keeps itself (`is_internal()`): a password (or
/// createpassword) is required for them, and the policy applies.
pub fn internal_auth(auth: &str) -> bool {
    matches!(auth, "manual" | "email" | "nologin" | "none" | "webservice")
}
