//! Pure mirrors of Moodle 4.4 value rules (usernames, e-mail, lang, country, auth plugin,
//! timezone, role and profile field shortnames), the one home of each: the commands check
//! rows with them and the settings check their defaults with them.
//! No I/O; std only.

/// Moodle's PARAM_USERNAME cleaning (lib/moodlelib.php clean_param, case PARAM_USERNAME, with $CFG->extendedusernamechars off):
/// trim, lower-case (Unicode lower-case like core_text::strtolower), then remove every character that is not a-z 0-9 - . @ _ (spaces removed too).
pub fn clean_username(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .chars()
        .filter(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '.' | '@' | '_'))
        .collect()
}

/// Why a username is not acceptable for user creation, or None when it is: blank; longer than 100 characters; not equal to clean_username(itself) (i.e. not already lower case and clean).
/// Why: mirrors user/lib.php user_create_user() ("Username must be lower case" / "contains invalid characters") and the 100-char user.username column.
pub fn username_problem(username: &str) -> Option<&'static str> {
    if username.trim().is_empty() {
        return Some("is empty");
    }
    if username.chars().count() > 100 {
        return Some("is longer than 100 characters");
    }
    if clean_username(username) == username {
        return None;
    }
    let lower = username.to_lowercase();
    if lower != username && clean_username(&lower) == lower {
        Some("is not lower-case")
    } else {
        Some("contains characters other than a-z 0-9 - . @ _")
    }
}

/// Moodle's validate_email (lib/weblib.php): false for empty or containing '<'/'>', otherwise
/// PHP 8.2 filter_var(FILTER_VALIDATE_EMAIL) (ext/filter/logical_filters.c, php_filter_validate_email, non-unicode regex).
///
/// Quoted local parts (`"a b"@ex.com`) are deliberately rejected altogether: the simplest
/// faithful choice given Moodle's reference results, and never needed for real accounts.
pub fn is_valid_email(email: &str) -> bool {
    if email.is_empty() || email.contains('<') || email.contains('>') {
        return false;
    }
    // PHP rejects > 320 bytes up front; its regex lookahead additionally caps the whole
    // address at 254 characters and the local part at 64.
    if email.len() > 320 || email.len() > 254 || !email.is_ascii() {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    local.len() <= 64 && is_local_part(local) && is_email_domain(domain)
}

/// Unquoted local part: dot-separated non-empty atoms of PHP's atext set (case-insensitive).
fn is_local_part(local: &str) -> bool {
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.bytes().all(|b| {
                matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'/'..=b'9' | b'=' | b'?')
                    || (b'^'..=b'~').contains(&b)
                    || b.is_ascii_uppercase()
            })
    })
}

/// Domain part: a dotted host name or a bracketed IP literal.
fn is_email_domain(domain: &str) -> bool {
    if let Some(inner) = domain.strip_prefix('[') {
        return inner.strip_suffix(']').is_some_and(is_ip_literal);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.len() >= 64 || !is_label(l)) {
        return false;
    }
    // The last (TLD-like) label must start with a letter.
    labels[labels.len() - 1]
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
}

/// Host label: alphanumeric runs joined by hyphen runs (no leading/trailing hyphen).
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Body of `[...]`: IPv4, `IPv6:` full/compressed, or `IPv6:` prefix followed by IPv4.
fn is_ip_literal(body: &str) -> bool {
    if is_ipv4(body) {
        return true;
    }
    let Some(v6) = strip_prefix_ci(body, "IPv6:") else {
        return false;
    };
    if v6.contains('.') {
        // IPv4-embedded form: split at the last ':' (the prefix keeps its trailing ':').
        let Some(pos) = v6.rfind(':') else {
            return false;
        };
        let (prefix, v4) = (&v6[..=pos], &v6[pos + 1..]);
        if !is_ipv4(v4) {
            return false;
        }
        match prefix.split_once("::") {
            // Six full groups, each followed by ':'.
            None => hex_groups(&prefix[..prefix.len() - 1]) == Some(6),
            Some((left, rest)) => {
                let l = if left.is_empty() {
                    Some(0)
                } else {
                    hex_groups(left)
                };
                let r = if rest.is_empty() {
                    Some(0)
                } else {
                    rest.strip_suffix(':').and_then(hex_groups)
                };
                // PHP's lookahead allows at most 4 groups in total around "::".
                matches!((l, r), (Some(l), Some(r)) if l <= 4 && r <= 4 && l + r <= 4)
            }
        }
    } else {
        match v6.split_once("::") {
            None => hex_groups(v6) == Some(8),
            Some((left, right)) => {
                let l = if left.is_empty() {
                    Some(0)
                } else {
                    hex_groups(left)
                };
                let r = if right.is_empty() {
                    Some(0)
                } else {
                    hex_groups(right)
                };
                // PHP's lookahead allows at most 6 groups in total around "::".
                matches!((l, r), (Some(l), Some(r)) if l + r <= 6)
            }
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Number of ':'-separated groups of 1-4 hex digits, or None if any group is malformed.
fn hex_groups(s: &str) -> Option<usize> {
    let mut n = 0;
    for g in s.split(':') {
        if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// Dotted quad with octets 0-255 and no leading zeros.
fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// Moodle lang code normalisation as tool_sync does it: trim, lower-case, strip a trailing "_utf8", and replace '-' by '_' (so "fr-CA" -> "fr_ca", "EN_utf8" -> "en").
/// Why: mirrors Moodle 1.x-era "xx_utf8" pack names and lib/classes/string_manager_standard.php lang folder names.
pub fn normalise_lang(raw: &str) -> String {
    let code = raw.trim().to_lowercase().replace('-', "_");
    match code.strip_suffix("_utf8") {
        Some(stripped) => stripped.to_string(),
        None => code,
    }
}

/// True when the value is a valid lang code shape after normalisation: 2-3 ascii lowercase letters optionally followed by ('_' + 1..=20 ascii lowercase letters/digits/_ ).
/// Why: mirrors the lang pack folder names accepted by get_string_manager()->translation_exists() (PARAM_LANG).
pub fn is_lang_code(code: &str) -> bool {
    let (base, suffix) = match code.split_once('_') {
        Some((b, s)) => (b, Some(s)),
        None => (code, None),
    };
    let base_ok = (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_lowercase());
    let suffix_ok = suffix.is_none_or(|s| {
        (1..=20).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    base_ok && suffix_ok
}

/// ISO 3166-1 alpha-2: trim and upper-case; returns Some(code) when it is exactly two ASCII letters, None otherwise (empty -> None).
/// Why: mirrors user.country, validated against get_string_manager()->get_list_of_countries() keys.
pub fn normalise_country(raw: &str) -> Option<String> {
    // Check ASCII before upper-casing: Unicode upper-case would turn "ß" into "SS".
    let t = raw.trim();
    (t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic())).then(|| t.to_ascii_uppercase())
}

/// What each rule accepts, for the messages of rows and settings alike.
pub const NOT_COUNTRY: &str =
    "is not a country code Moodle knows: two upper-case letters of ISO 3166 such as FR or GB (not UK)";
pub const NOT_LANG: &str = "is not a Moodle language code such as en, fr or pt_br";
pub const NOT_AUTH: &str = "is not an authentication plugin name such as manual, ldap or cas";
pub const NOT_TIMEZONE: &str = "is not a time zone Moodle accepts: 99 (the site's), a zone name such as Europe/London, or an hour offset such as -5";
pub const NOT_ROLE: &str =
    "is not a role shortname as Moodle makes them: lower-case a-z 0-9 _ -, such as editingteacher";
pub const NOT_PROFILE_FIELD: &str =
    "is not a profile field shortname: letters, digits and _ (at most 100)";

/// Whether a country code is one Moodle lists (lang/en/countries.php, ISO 3166-1 alpha-2),
/// upper-case as `user.country` holds it. Why: Moodle's profile form offers only these, and a
/// code outside them ("UK") shows as no country.
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.binary_search(&code).is_ok()
}

/// The 249 country codes of Moodle 4.4's lang/en/countries.php, sorted.
const COUNTRY_CODES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether a name has the form of a Moodle plugin's (core_component::is_valid_plugin_name,
/// for types other than mod: `^[a-z](?:[a-z0-9_](?!__))*[a-z0-9]+$`) and fits `user.auth`'s
/// 20 characters. Why: `auth` names an authentication plugin; Moodle's web services refuse an
/// account whose plugin the site lacks, which only the site can tell.
pub fn is_auth_plugin_name(name: &str) -> bool {
    let b = name.as_bytes();
    (2..=20).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// Moodle's PARAM_TIMEZONE (lib/moodlelib.php clean_param): `99` (the site's zone), a zone
/// name such as `Europe/London` or `America/Port-au-Prince` (letters and digits, then
/// letters, `_` and `-` in parts after a `/`), or an old hour offset such as `-5` or `5.5`;
/// `user.timezone` holds at most 100 characters. Why: Moodle's web services refuse any other.
pub fn is_timezone(tz: &str) -> bool {
    tz.len() <= 100 && (tz == "99" || is_hour_offset(tz) || is_zone_name(tz))
}

/// `[+-]?(0?[0-9](\.[50])?|1[0-3](\.0)?|1[0-2]\.5)`.
fn is_hour_offset(tz: &str) -> bool {
    let t = tz.strip_prefix(['+', '-']).unwrap_or(tz);
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    let w = whole.as_bytes();
    let units = matches!(w, [d] | [b'0', d] if d.is_ascii_digit());
    let teens = match w {
        [b'1', d] if d.is_ascii_digit() => Some(10 + d - b'0'),
        _ => None,
    };
    match frac {
        None | Some("0") => units || teens.is_some_and(|h| h <= 13),
        Some("5") => units || teens.is_some_and(|h| h <= 12),
        _ => false,
    }
}

/// `[[:alnum:]]+(\/?[[:alpha:]_-])+`: digits only in the first run; every `/` is followed by a
/// letter, `_` or `-`.
fn is_zone_name(tz: &str) -> bool {
    let b = tz.as_bytes();
    let first = b
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .unwrap_or(b.len());
    if first == 0 {
        return false;
    }
    let rest = &b[first..];
    if rest.is_empty() {
        // All letters and digits: the last character must be a letter, the rest's one unit.
        return b.len() >= 2 && b[b.len() - 1].is_ascii_alphabetic();
    }
    let unit = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c == b'-';
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'/' {
            i += 1;
        }
        if i >= rest.len() || !unit(rest[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// A role shortname as Moodle makes one (admin/roles define_role_table_advanced: PARAM_ALPHANUMEXT,
/// lower-cased, at most 100 characters): a-z 0-9 _ -.
pub fn is_role_shortname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A custom profile field's shortname as Moodle accepts it (user/profile/definelib.php:
/// `^[a-zA-Z0-9_]+$`, at most 100 characters).
pub fn is_profile_field_shortname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_username_trims_lowercases_and_strips() {
        assert_eq!(clean_username("  John.DOE "), "john.doe");
        assert_eq!(clean_username("jöhn smith"), "jhnsmith");
        assert_eq!(clean_username("a_b-c@d.e"), "a_b-c@d.e");
        assert_eq!(clean_username("A+B!C#"), "abc");
        assert_eq!(clean_username("\u{212A}elvin"), "kelvin"); // Kelvin sign lower-cases to k
        assert_eq!(clean_username(""), "");
    }

    #[test]
    fn username_problems() {
        assert_eq!(username_problem("John"), Some("is not lower-case"));
        assert_eq!(username_problem("john_doe-1@x.y"), None);
        assert_eq!(username_problem(""), Some("is empty"));
        assert_eq!(username_problem("   "), Some("is empty"));
        let long = "a".repeat(101);
        assert_eq!(
            username_problem(&long),
            Some("is longer than 100 characters")
        );
        assert_eq!(username_problem(&"a".repeat(100)), None);
        let bad = Some("contains characters other than a-z 0-9 - . @ _");
        assert_eq!(username_problem("jöhn"), bad);
        assert_eq!(username_problem("john smith"), bad);
        assert_eq!(username_problem(" john"), bad);
        assert_eq!(username_problem("John Smith"), bad);
    }

    #[test]
    fn email_accepted() {
        for e in [
            "a.b@example.com",
            "A@Example.COM",
            "a+b@ex.co",
            "a@ex.c",
            "a@xn--bcher-kva.de",
            "a@[127.0.0.1]",
            "o'neil@sub.example.org",
            "x@a-b.c--d.com",
            "a@[IPv6:2001:db8:0:0:0:0:0:1]",
            "a@[ipv6:2001:db8::1]",
            "a@[IPv6:::ffff:192.0.2.1]",
            "a@[IPv6:1:2:3:4:5:6:192.0.2.1]",
        ] {
            assert!(is_valid_email(e), "should accept {e:?}");
        }
    }

    #[test]
    fn email_rejected() {
        for e in [
            "root@localhost",
            "a@ex",
            "x y@example.com",
            "jöe@example.com",
            "a@bücher.de",
            "\"a b\"@ex.com",
            "a..b@ex.com",
            ".a@ex.com",
            "a.@ex.com",
            "<a@ex.com>",
            "",
            "a@ex.com\n",
            "a@ex.com\r\nBcc: x@y.z",
            "a@b@ex.com",
            "@ex.com",
            "a@",
            "a@-ex.com",
            "a@ex-.com",
            "a@ex..com",
            "a@ex.com.",
            "a@ex.123",
            "a@[256.0.0.1]",
            "a@[01.0.0.1]",
            "a@[IPv6:1:2:3:4:5:6:7]",
            "a@[IPv6:1:2:3:4::5:6:7]",
            "a@[IPv6:1:2:3:4:5::192.0.2.1]",
            "a@[1.2.3.4",
        ] {
            assert!(!is_valid_email(e), "should reject {e:?}");
        }
    }

    #[test]
    fn email_length_limits() {
        let local64 = "a".repeat(64);
        assert!(is_valid_email(&format!("{local64}@ex.com")));
        assert!(!is_valid_email(&format!("a{local64}@ex.com")));
        let label63 = "b".repeat(63);
        assert!(is_valid_email(&format!("a@{label63}.com")));
        assert!(!is_valid_email(&format!("a@b{label63}.com")));
        let long = format!("a@{}com", "abcdefghi.".repeat(32));
        assert!(long.len() > 320);
        assert!(!is_valid_email(&long));
    }

    #[test]
    fn lang_normalisation() {
        assert_eq!(normalise_lang("fr-CA"), "fr_ca");
        assert_eq!(normalise_lang("EN_utf8"), "en");
        assert_eq!(normalise_lang("  pt_BR "), "pt_br");
        assert_eq!(normalise_lang("de"), "de");
        assert_eq!(normalise_lang(""), "");
    }

    #[test]
    fn lang_code_shape() {
        for c in ["en", "fr", "pt_br", "zh_cn", "en_us_k12", "haw", "de_du"] {
            assert!(is_lang_code(c), "should accept {c:?}");
        }
        for c in ["", "e", "engl", "EN", "en-us", "en_", "en_US", "1a", "en_ü"] {
            assert!(!is_lang_code(c), "should reject {c:?}");
        }
        assert!(is_lang_code(&format!("en_{}", "a".repeat(20))));
        assert!(!is_lang_code(&format!("en_{}", "a".repeat(21))));
    }

    #[test]
    fn country_codes_are_moodles() {
        for c in ["FR", "GB", "US", "AX", "ZW", "BQ"] {
            assert!(is_country_code(c), "{c}");
        }
        for c in ["UK", "EU", "fr", "", "FRA", "XX"] {
            assert!(!is_country_code(c), "{c}");
        }
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn auth_plugin_names() {
        for a in ["manual", "email", "ldap", "oauth2", "saml2", "no_login1"] {
            assert!(is_auth_plugin_name(a), "{a}");
        }
        for a in [
            "",
            "m",
            "Manual",
            "2fa",
            "_x",
            "x_",
            "a__b",
            "ma nual",
            "a-b",
            &"a".repeat(21),
        ] {
            assert!(!is_auth_plugin_name(a), "{a}");
        }
    }

    #[test]
    fn timezones_as_param_timezone() {
        for tz in [
            "99",
            "UTC",
            "Europe/London",
            "America/Port-au-Prince",
            "America/Argentina/Buenos_Aires",
            "EST5EDT",
            "-5",
            "+5.5",
            "05",
            "13",
            "13.0",
            "12.5",
            "9.5",
            "0",
        ] {
            assert!(is_timezone(tz), "{tz}");
        }
        for tz in [
            "",
            "U",
            "Europe/",
            "/Paris",
            "Etc/GMT+5",
            "Europe//Paris",
            "14",
            "13.5",
            "1.25",
            "5.",
            "Europe Paris",
            "Z9",
        ] {
            assert!(!is_timezone(tz), "{tz}");
        }
    }

    #[test]
    fn role_and_profile_shortnames() {
        assert!(is_role_shortname("editingteacher") && is_role_shortname("my-role_2"));
        for r in ["", "Student", "editing teacher", "rôle"] {
            assert!(!is_role_shortname(r), "{r}");
        }
        assert!(is_profile_field_shortname("Team_2"));
        for f in ["", "team-x", "team x", "é"] {
            assert!(!is_profile_field_shortname(f), "{f}");
        }
    }

    #[test]
    fn country_normalisation() {
        assert_eq!(normalise_country(" fr "), Some("FR".to_string()));
        assert_eq!(normalise_country("Us"), Some("US".to_string()));
        assert_eq!(normalise_country(""), None);
        assert_eq!(normalise_country("FRA"), None);
        assert_eq!(normalise_country("F1"), None);
        assert_eq!(normalise_country("ß"), None);
        assert_eq!(normalise_country("é"), None);
    }
}
