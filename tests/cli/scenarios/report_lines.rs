//! A step's report lines, normalized once for every backend: the heading (which names the
//! target) left out, the prefix as `{P}`, an id the scenario's files gave as its placeholder
//! (`{id:user:{P}ann}`), other ids as `#`, the data folder and the site's address redacted.

use crate::workdir::Workdir;
use std::path::PathBuf;

/// The text reports in `Reports/` now.
pub fn reports(w: &Workdir) -> Vec<PathBuf> {
    w.files("Reports")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect()
}

/// The reports written since `before`, each as `report <file>` and its lines.
pub fn since(w: &Workdir, before: &[PathBuf], prefix: &str, resolved: &[(i64, String)]) -> String {
    let mut out = String::new();
    for path in reports(w).into_iter().filter(|p| !before.contains(p)) {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let mut file = String::new();
        // The heading ends at the first blank line; of it only the file is kept (the target
        // line differs by backend by design).
        for l in lines.by_ref() {
            if l.is_empty() {
                break;
            }
            if let Some(f) = l.strip_prefix("file:") {
                file = f.trim().to_string();
            }
        }
        out.push_str(&format!(
            "report {}\n",
            normalize(w, &file, prefix, resolved)
        ));
        for l in lines.filter(|l| !l.is_empty()) {
            out.push_str(&format!("  {}\n", normalize(w, l, prefix, resolved)));
        }
    }
    out
}

/// One line of moosync's output as the snapshots hold it.
pub fn normalize(w: &Workdir, line: &str, prefix: &str, resolved: &[(i64, String)]) -> String {
    let data = w.root().display().to_string();
    let line = line
        .replace(&data, "[DATA]")
        .replace(&crate::lab::url(), "[SITE]");
    let line = ids_hidden(&line);
    ids_named(&line, resolved).replace(prefix, "{P}")
}

/// Where a report echoes a file's value: after these words, in quotes, or as an entry name
/// `(123.png)`.
const ECHO_WORDS: &[&str] = &[
    "enrolment ",
    "group_member ",
    "picture ",
    "cohort_member ",
    "role_assignment ",
    "in ",
    "of ",
    "'",
];

/// A number the scenario's files gave through `{id:…}` becomes that placeholder again where
/// the report echoes a file's value ([`ECHO_WORDS`]); elsewhere a number is a count or a line.
fn ids_named(line: &str, resolved: &[(i64, String)]) -> String {
    let mut out = String::with_capacity(line.len());
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let whole = end == b.len() || !b[end].is_ascii_alphanumeric();
            let echoed = ECHO_WORDS.iter().any(|w| line[..i].ends_with(w))
                || (line[..i].ends_with('(') && b.get(end) == Some(&b'.'));
            let named = line[i..end]
                .parse::<i64>()
                .ok()
                .and_then(|n| resolved.iter().find(|(id, _)| *id == n));
            match named {
                Some((_, name)) if whole && echoed => out.push_str(name),
                _ => out.push_str(&line[i..end]),
            }
            i = end;
        } else {
            let ch = line[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The words after which a number is an id: `(id 42)`, `course 7 (CS101, …)`.
const ID_WORDS: &[&str] = &[
    "id ",
    "course ",
    "user ",
    "account ",
    "cohort ",
    "group ",
    "grouping ",
    "category ",
    "instance ",
];

/// An id after one of [`ID_WORDS`] becomes `#`: ids differ by backend and by run.
fn ids_hidden(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some((at, word)) = ID_WORDS
        .iter()
        .filter_map(|w| rest.find(w).map(|at| (at, *w)))
        .min()
    {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        out.push_str(&rest[..at + word.len()]);
        rest = &rest[at + word.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if before_ok && digits > 0 {
            out.push('#');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}
