//! Moodle's generic parameter validation (`external_api::validate_parameters` plus
//! `validate_param`): every function declares its parameters, and the request must match the
//! declaration exactly. Missing required keys, unexpected keys, a list sent as a scalar (or
//! the reverse) and a scalar whose raw value differs from its cleaned form (`PARAM_*`) all
//! fail the whole call with `invalidparameter`, before the function runs.

use super::form::{PArr, PVal};

/// The `PARAM_*` cleaning types the user functions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Bool,
    Raw,
    RawTrimmed,
    Username,
    NoTags,
    Text,
    Alpha,
    /// Letters, `_` and `-` (`PARAM_ALPHAEXT`).
    AlphaExt,
    AlphaNumExt,
    Auth,
    Lang,
    Theme,
    Timezone,
    Plugin,
}

#[derive(Debug, Clone, Copy)]
pub enum Desc {
    Value(Ty),
    List(&'static Desc),
    Struct(&'static [Field]),
}

#[derive(Debug, Clone, Copy)]
pub enum Req {
    Required,
    Optional,
    /// `VALUE_DEFAULT`: filled in when absent.
    Default(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub desc: Desc,
    pub req: Req,
}

pub const fn req(name: &'static str, desc: Desc) -> Field {
    Field {
        name,
        desc,
        req: Req::Required,
    }
}
pub const fn opt(name: &'static str, desc: Desc) -> Field {
    Field {
        name,
        desc,
        req: Req::Optional,
    }
}
pub const fn def(name: &'static str, desc: Desc, value: &'static str) -> Field {
    Field {
        name,
        desc,
        req: Req::Default(value),
    }
}
pub const fn v(ty: Ty) -> Desc {
    Desc::Value(ty)
}

/// A validated parameter tree: structures keep only declared keys (defaults filled in).
/// Borrows the request's strings.
#[derive(Debug, Clone)]
pub enum V<'a> {
    S(&'a str),
    L(Vec<V<'a>>),
    O(Vec<(&'static str, V<'a>)>),
}

impl<'a> V<'a> {
    pub fn get(&self, key: &str) -> Option<&V<'a>> {
        match self {
            V::O(fields) => fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            V::S(s) => Some(*s),
            _ => None,
        }
    }
    pub fn list(&self, key: &str) -> &[V<'a>] {
        match self.get(key) {
            Some(V::L(items)) => items,
            _ => &[],
        }
    }
    pub fn as_str(&self) -> &'a str {
        match self {
            V::S(s) => s,
            _ => "",
        }
    }
    /// The present scalar keys of a structure, in declaration order.
    pub fn scalars(&self) -> impl Iterator<Item = (&'static str, &'a str)> + '_ {
        let fields: &[(&'static str, V<'a>)] = match self {
            V::O(f) => f,
            _ => &[],
        };
        fields.iter().filter_map(|(k, v)| match v {
            V::S(s) => Some((*k, *s)),
            _ => None,
        })
    }
}

/// The site's installed plugins and languages, which `PARAM_AUTH`/`PARAM_LANG`/`PARAM_THEME`
/// clean against (an unknown one cleans to '' and so fails validation).
pub const AUTH_PLUGINS: &[&str] = &[
    "manual",
    "nologin",
    "email",
    "db",
    "ldap",
    "cas",
    "shibboleth",
    "oauth2",
    "lti",
    "mnet",
    "none",
    "webservice",
];
pub const LANGS: &[&str] = &["en"];
pub const THEMES: &[&str] = &["boost", "classic"];

/// Validates the top-level parameters (an `external_function_parameters` structure).
pub fn validate<'a>(fields: &'static [Field], root: &PArr<'a>) -> Result<V<'a>, ()> {
    structure(fields, root)
}

fn structure<'a>(fields: &'static [Field], arr: &PArr<'a>) -> Result<V<'a>, ()> {
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        match (arr.get(f.name), f.req) {
            (Some(val), _) => out.push((f.name, value(&f.desc, val)?)),
            (None, Req::Required) => return Err(()),
            (None, Req::Default(d)) => out.push((f.name, V::S(d))),
            (None, Req::Optional) => {}
        }
    }
    // "Unexpected keys (...) detected in parameter array."
    if arr
        .entries
        .iter()
        .any(|(k, _)| !fields.iter().any(|f| f.name == k))
    {
        return Err(());
    }
    Ok(V::O(out))
}

fn value<'a>(desc: &Desc, val: &PVal<'a>) -> Result<V<'a>, ()> {
    match (desc, val) {
        (Desc::Value(ty), PVal::Str(s)) => clean_ok(*ty, s).then_some(V::S(s)).ok_or(()),
        // Multiple structures ignore the keys and keep the order of arrival.
        (Desc::List(item), PVal::Arr(arr)) => arr
            .entries
            .iter()
            .map(|(_, v)| value(item, v))
            .collect::<Result<_, _>>()
            .map(V::L),
        (Desc::Struct(fields), PVal::Arr(arr)) => structure(fields, arr),
        // "Scalar type expected" / "Only arrays accepted".
        _ => Err(()),
    }
}

/// `validate_param`: the raw value must equal `clean_param(value, type)`.
pub fn clean_ok(ty: Ty, s: &str) -> bool {
    match ty {
        Ty::Int => is_php_int(s),
        Ty::Bool => s == "0" || s == "1",
        Ty::Raw => true,
        Ty::RawTrimmed => s == php_trim(s),
        Ty::Username => s.chars().all(username_char),
        Ty::NoTags | Ty::Text => !has_tag(s),
        Ty::Alpha => s.chars().all(|c| c.is_ascii_alphabetic()),
        Ty::AlphaExt => s
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-'),
        Ty::AlphaNumExt => s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        Ty::Auth => AUTH_PLUGINS.contains(&s),
        Ty::Lang => s.is_empty() || LANGS.contains(&s),
        Ty::Theme => s.is_empty() || THEMES.contains(&s),
        Ty::Timezone => is_timezone(s),
        Ty::Plugin => {
            s.is_empty()
                || (s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        }
    }
}

/// `(string)(int)$s === $s`: plain decimal, no sign `+`, no leading zeros, in range.
pub fn is_php_int(s: &str) -> bool {
    s.parse::<i64>().is_ok_and(|n| n.to_string() == s)
}

/// The characters `PARAM_USERNAME` keeps (it also lower-cases, so upper case never survives).
pub fn username_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '@' | '_')
}

pub fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

/// Whether PHP's `strip_tags` would change `s`: a `<` not followed by white space opens a tag.
fn has_tag(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<' && !chars.peek().is_some_and(|n| n.is_whitespace()) {
            return true;
        }
    }
    false
}

/// `PARAM_TIMEZONE`'s pattern: `99`, a numeric offset (`-5`, `5.5`, `+10.0`), or a name
/// like `Europe/London` (`[[:alnum:]]+(\/?[[:alpha:]_-])+`).
fn is_timezone(s: &str) -> bool {
    if s == "99" {
        return true;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let numeric_ok = !int.is_empty()
        && int.len() <= 2
        && int.chars().all(|c| c.is_ascii_digit())
        && int.parse::<u32>().is_ok_and(|h| h <= 13)
        && (!unsigned.contains('.') || matches!(frac, "0" | "5"));
    if numeric_ok {
        return true;
    }
    let lead = s.chars().take_while(|c| c.is_alphanumeric()).count();
    if lead == 0 {
        return false;
    }
    let tail: Vec<char> = s.chars().skip(lead).collect();
    if tail.is_empty() {
        // The pattern needs at least one more letter after the alnum run; backtracking lets
        // a run of 2+ letters give its last letter to the group.
        return s.chars().count() >= 2 && s.chars().last().is_some_and(|c| c.is_alphabetic());
    }
    let mut i = 0;
    while i < tail.len() {
        if tail[i] == '/' {
            i += 1;
        }
        match tail.get(i) {
            Some(c) if c.is_alphabetic() || *c == '_' || *c == '-' => i += 1,
            _ => return false,
        }
    }
    true
}
