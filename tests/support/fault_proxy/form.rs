//! Request decoding as PHP does it before Moodle sees anything: form-urlencoded pairs (`+` is
//! a space, `%XX` a byte, brackets raw or escaped), then PHP's bracket syntax
//! (`users[0][customfields][0][type]`) folded into nested ordered arrays, as `$_POST` would be.

use std::borrow::Cow;

/// A PHP value as `$_POST` holds it: a string or an ordered array. Borrowed from the decoded
/// pairs, so that a 100-user batch is not copied again.
#[derive(Debug, Clone)]
pub enum PVal<'a> {
    Str(&'a str),
    Arr(PArr<'a>),
}

/// A PHP array: ordered keys (kept as strings; PHP's canonical-int keys are tracked for `[]`).
#[derive(Debug, Clone, Default)]
pub struct PArr<'a> {
    pub entries: Vec<(Cow<'a, str>, PVal<'a>)>,
    /// The index `[]` appends at: one past the largest integer key so far, like PHP.
    next_index: i64,
}

impl<'a> PArr<'a> {
    /// Later keys win, as in PHP (a key only repeats when a pair was sent twice).
    pub fn get(&self, key: &str) -> Option<&PVal<'a>> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn remove(&mut self, key: &str) -> Option<PVal<'a>> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }

    /// The value at `key` (appended when new). Searched from the end: the pairs of a batch
    /// arrive in order, so the key is nearly always the last one (decoding stays linear).
    fn slot(&mut self, key: Option<Cow<'a, str>>) -> &mut PVal<'a> {
        let key = key.unwrap_or_else(|| Cow::Owned(self.next_index.to_string()));
        if let Some(i) = canonical_int(&key) {
            self.next_index = self.next_index.max(i.saturating_add(1));
        }
        match self.entries.iter().rposition(|(k, _)| *k == key) {
            Some(at) => &mut self.entries[at].1,
            None => {
                self.entries.push((key, PVal::Str("")));
                &mut self.entries.last_mut().unwrap().1
            }
        }
    }
}

/// PHP turns "12" and "-3" (but not "012" or "+3") into integer keys.
fn canonical_int(key: &str) -> Option<i64> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && digits.len() == key.len() || !digits.starts_with('0'));
    canonical.then(|| key.parse().ok()).flatten()
}

/// `urldecode`: `+` is a space, `%XX` a byte, a malformed `%` stays as it is.
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The decoded `name=value` pairs of a query string or form body, in order, at most `max`
/// of them (PHP's `max_input_vars` silently drops the rest).
pub fn pairs(s: &str, max: usize) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .take(max)
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

/// Folds decoded pairs into one PHP array, as `php_register_variable_ex` does: later pairs
/// overwrite earlier ones, `[]` appends, a scalar in the way becomes an array.
pub fn php_parse(pairs: &[(String, String)]) -> PArr<'_> {
    let mut root = PArr::default();
    for (name, value) in pairs {
        let (base, path) = split_name(name);
        if base.is_empty() {
            continue;
        }
        let mut slot = root.slot(Some(base));
        for seg in path {
            if !matches!(slot, PVal::Arr(_)) {
                *slot = PVal::Arr(PArr::default());
            }
            let PVal::Arr(arr) = slot else { unreachable!() };
            slot = arr.slot(seg.map(Cow::Borrowed));
        }
        *slot = PVal::Str(value);
    }
    root
}

/// `users[0][type]` → ("users", [Some("0"), Some("type")]); `a[]` → ("a", [None]).
/// PHP replaces spaces and dots in the base name with `_`; an unclosed first bracket is
/// kept as part of the (mangled) base name; anything after the last `]` is ignored.
fn split_name<'a>(name: &'a str) -> (Cow<'a, str>, Vec<Option<&'a str>>) {
    let name = name.trim_start_matches(' ');
    let mangle = |s: &'a str| match s {
        s if s.contains([' ', '.']) => Cow::Owned(str::replace(s, [' ', '.'], "_")),
        s => Cow::Borrowed(s),
    };
    let Some(open) = name.find('[') else {
        return (mangle(name), Vec::new());
    };
    if !name[open..].contains(']') {
        return (Cow::Owned(mangle(name).replacen('[', "_", 1)), Vec::new());
    }
    let mut path = Vec::new();
    let mut rest = &name[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else { break };
        let seg = &inner[..close];
        path.push((!seg.is_empty()).then_some(seg));
        rest = &inner[close + 1..];
    }
    (mangle(&name[..open]), path)
}

/// PHP's `print_r` of an array.
pub fn print_r(out: &mut String, arr: &PArr, depth: usize) {
    let pad = " ".repeat(depth * 8);
    out.push_str(&format!("Array\n{pad}(\n"));
    for (k, v) in &arr.entries {
        out.push_str(&format!("{pad}    [{k}] => "));
        match v {
            PVal::Str(s) => out.push_str(s),
            PVal::Arr(a) => {
                print_r(out, a, depth + 1);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str(&format!("{pad})\n"));
}
