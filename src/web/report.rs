//! A report read for the console: its failures first, grouped by code with the code's remedy
//! and the identifiers of each failed row (from the tryback: never a password column), then
//! the other rows page by page, each change marked by what it did, and the errors-only CSV.

use crate::codes::Code;
use crate::filemanager;
use crate::setup::Setup;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rows of the other outcomes per page.
pub const PAGE: usize = 200;
/// Failures shown on the page; the CSV has them all.
pub const FAILURES_SHOWN: usize = 500;

/// Columns that name a row's subject, in the order they are shown.
const IDENTIFIERS: &[&str] = &[
    "username",
    "user",
    "useridnumber",
    "idnumber",
    "email",
    "course",
    "shortname",
    "courseidnumber",
    "role",
    "group",
    "grouping",
    "cohort",
    "category",
    "cmd",
];

#[derive(Debug, Serialize)]
pub struct ReportView {
    /// `Reports/….txt`.
    pub path: String,
    /// The heading lines of the text report (tool, file, target, started, mode).
    pub heading: Vec<String>,
    pub summary: Option<String>,
    pub status: Option<String>,
    /// Why the file was refused or stopped.
    pub file_failure: Option<String>,
    pub failed: usize,
    pub groups: Vec<Group>,
    pub notes: Vec<String>,
    pub rows: Vec<RowView>,
    /// The other rows: how many, and the page shown from.
    pub other: usize,
    pub from: usize,
    pub tryback: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub code: String,
    pub meaning: &'static str,
    pub remedy: &'static str,
    pub count: usize,
    pub failures: Vec<Failed>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub line: u64,
    pub code: String,
    pub message: String,
    /// `username=jdoe, course=CS101`.
    pub identifiers: String,
}

#[derive(Debug, Serialize)]
pub struct RowView {
    pub line: u64,
    /// `applied` or `skipped`.
    pub outcome: String,
    pub reason: Option<String>,
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Serialize)]
pub struct ChangeView {
    /// `created`, `updated`, `deleted`…: the mark a person reads first.
    pub action: String,
    pub entity: String,
    pub label: String,
    pub fields: String,
}

/// The report's text path and its JSON Lines twin, from either name.
fn paths(s: &Setup, rel: &str) -> Result<(String, PathBuf, PathBuf), String> {
    if !rel.starts_with(&format!("{}/", crate::filearea::REPORTS)) {
        return Err(format!("{rel} is not a report"));
    }
    let full = filemanager::file(&s.area, rel)?;
    let text = full.with_extension("txt");
    let json = full.with_extension("jsonl");
    if !json.is_file() {
        return Err(format!("{rel} has no .jsonl twin to read"));
    }
    Ok((filemanager::shown(&s.area, &text), text, json))
}

/// What one pass over a report's JSON Lines finds: every failure, the page of other rows
/// from `from` on, how many other rows there are, the notes and the closing summary.
#[derive(Default)]
struct Scan {
    failed: Vec<Failed>,
    rows: Vec<RowView>,
    other: usize,
    notes: Vec<String>,
    summary: Option<String>,
    status: Option<String>,
    file_failure: Option<String>,
}

/// A row line's outcome, read from its start without parsing it: a report has a line per
/// input row, and only a page of them is shown. An applied or skipped row starts
/// `{"line":12,"outcome":"applied"`; a failed one, its keys in order, `{"code":…` and holds
/// `"outcome":"failed"` (the file's closing summary starts so too, without it).
fn outcome_of<'a>(line: &'a [u8], failed: &memchr::memmem::Finder<'_>) -> Option<&'a [u8]> {
    if line.starts_with(br#"{"code":"#) {
        return failed.find(line).map(|_| &b"failed"[..]);
    }
    let rest = line.strip_prefix(br#"{"line":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest[digits..].strip_prefix(br#","outcome":""#)?;
    let end = memchr::memchr(b'"', rest)?;
    Some(&rest[..end])
}

fn scan(bytes: &[u8], from: usize, page: usize) -> Scan {
    let mut out = Scan::default();
    let failed = memchr::memmem::Finder::new(br#""outcome":"failed""#);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = &bytes[start..end];
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        let outcome = outcome_of(line, &failed);
        if let Some(o) = outcome {
            if o != b"failed" {
                out.other += 1;
                if out.other <= from || out.rows.len() >= page {
                    continue;
                }
            }
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        match outcome {
            Some(b"failed") => out.failed.push(Failed {
                line: v["line"].as_u64().unwrap_or(0),
                code: v["code"].as_str().unwrap_or("").to_string(),
                message: v["message"].as_str().unwrap_or("").to_string(),
                identifiers: String::new(),
            }),
            Some(_) => out.rows.push(RowView {
                line: v["line"].as_u64().unwrap_or(0),
                outcome: v["outcome"].as_str().unwrap_or("").to_string(),
                reason: v["reason"].as_str().map(str::to_string),
                changes: v["changes"]
                    .as_array()
                    .map(|a| a.iter().map(change_view).collect())
                    .unwrap_or_default(),
            }),
            None => {
                if let Some(n) = v["note"].as_str() {
                    out.notes.push(n.to_string());
                } else if let Some(c) = v.get("after_last_row") {
                    out.notes
                        .push(format!("after the last row: {}", changes_text(c)));
                } else if let Some(sum) = v.get("summary") {
                    let counts: crate::outcome::Counts =
                        serde_json::from_value(sum.clone()).unwrap_or_default();
                    out.summary = Some(counts.summary_line());
                    out.status = v["status"].as_str().map(str::to_string);
                    if let (Some(code), Some(m)) = (v["code"].as_str(), v["message"].as_str()) {
                        out.file_failure = Some(format!("{code} {m}"));
                    }
                }
            }
        }
    }
    out
}

/// Every failure of the report, in line order, with its row's identifiers; and the tryback.
pub fn failures(s: &Setup, rel: &str) -> Result<(Vec<Failed>, PathBuf), String> {
    let (_, text, json) = paths(s, rel)?;
    let bytes = std::fs::read(&json).map_err(|e| format!("cannot read {rel}: {e}"))?;
    let mut failed = scan(&bytes, 0, 0).failed;
    let tryback = tryback_of(s, &text);
    if let Some(t) = &tryback {
        identify(s, t, &mut failed);
    }
    Ok((failed, tryback.unwrap_or_default()))
}

/// The tryback written with this report, as state.db recorded it.
fn tryback_of(s: &Setup, report: &Path) -> Option<PathBuf> {
    let state = crate::state::State::open(&s.area.state_path()).ok()?;
    let rec = state.file_by_report(&report.display().to_string()).ok()??;
    rec.tryback.map(PathBuf::from).filter(|p| p.is_file())
}

/// Gives each failure the identifying fields of its row. The tryback holds the failed rows in
/// line order, one record each; when its count differs, nothing is guessed.
fn identify(s: &Setup, tryback: &Path, failed: &mut [Failed]) {
    let Ok(bytes) = std::fs::read(tryback) else {
        return;
    };
    let delimiter = s
        .presets
        .for_file(&crate::source::file_name_of(tryback))
        .map_or(s.cfg.csv.delimiter.0, |p| p.delimiter.0);
    let text = String::from_utf8_lossy(&bytes);
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let Ok(header) = r.headers().cloned() else {
        return;
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut shown: Vec<usize> = IDENTIFIERS
        .iter()
        .filter_map(|id| names.iter().position(|n| n == id))
        .collect();
    if shown.is_empty() {
        shown = (0..names.len())
            .filter(|i| !names[*i].contains("password"))
            .take(2)
            .collect();
    }
    let records: Vec<csv::StringRecord> = r.records().filter_map(|x| x.ok()).collect();
    let rows: Vec<&Failed> = failed.iter().filter(|f| f.line > 0).collect();
    if records.len() != rows.len() {
        return;
    }
    for (f, rec) in failed.iter_mut().filter(|f| f.line > 0).zip(&records) {
        f.identifiers = shown
            .iter()
            .filter_map(|i| Some(format!("{}={}", header.get(*i)?.trim(), rec.get(*i)?)))
            .collect::<Vec<_>>()
            .join(", ");
    }
}

/// The report for the console, its other rows from `from` on.
pub fn view(s: &Setup, rel: &str, from: usize) -> Result<ReportView, String> {
    let (shown, text, json) = paths(s, rel)?;
    let heading: Vec<String> = std::fs::read_to_string(&text)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let bytes = std::fs::read(&json).map_err(|e| format!("cannot read {rel}: {e}"))?;
    let mut found = scan(&bytes, from, PAGE);
    let tryback = tryback_of(s, &text);
    if let Some(t) = &tryback {
        identify(s, t, &mut found.failed);
    }
    Ok(ReportView {
        path: shown,
        heading,
        summary: found.summary,
        status: found.status,
        file_failure: found.file_failure,
        failed: found.failed.len(),
        groups: group(found.failed),
        notes: found.notes,
        rows: found.rows,
        other: found.other,
        from,
        tryback: tryback.map(|t| filemanager::shown(&s.area, &t)),
    })
}

fn change_view(c: &serde_json::Value) -> ChangeView {
    ChangeView {
        action: c["action"].as_str().unwrap_or("").to_string(),
        entity: c["entity"].as_str().unwrap_or("").replace('_', " "),
        label: c["label"].as_str().unwrap_or("").to_string(),
        fields: c["fields"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    }
}

fn changes_text(c: &serde_json::Value) -> String {
    c.as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let v = change_view(c);
                    format!("{} {} {}", v.action, v.entity, v.label)
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Failures grouped by code, the largest group first; each group keeps its share of the
/// failures shown.
fn group(failed: Vec<Failed>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut shown = 0;
    for f in failed {
        let i = match groups.iter().position(|g| g.code == f.code) {
            Some(i) => i,
            None => {
                let code = Code::from_id(&f.code);
                groups.push(Group {
                    code: f.code.clone(),
                    meaning: code.map_or("", Code::summary),
                    remedy: code.map_or("", Code::remedy),
                    count: 0,
                    failures: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[i].count += 1;
        if shown < FAILURES_SHOWN {
            shown += 1;
            groups[i].failures.push(f);
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    groups
}

/// The errors-only CSV of a report: file, line, code, message, remedy, identifiers.
pub fn errors_csv(s: &Setup, rel: &str, out: &mut dyn Write) -> Result<(), String> {
    let (failed, _) = failures(s, rel)?;
    let file = Path::new(rel)
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| e.to_string();
    w.write_record(["report", "line", "code", "message", "remedy", "identifiers"])
        .map_err(io)?;
    for f in &failed {
        w.write_record([
            file.as_str(),
            &f.line.to_string(),
            &f.code,
            &f.message,
            crate::problems::remedy(&f.code),
            &f.identifiers,
        ])
        .map_err(io)?;
    }
    w.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Code, Failure};
    use crate::outcome::{Action, Change, Counts, Outcome, RowReport};
    use crate::sinks::{FileEnd, ReportSink, Sink};

    /// A report as the report sink writes it: the scan finds each kind of line.
    #[test]
    fn one_pass_finds_failures_a_page_of_rows_and_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let heading = crate::sinks::report::ReportHeading {
            tool: "users".into(),
            preset: "tool_sync.users".into(),
            script: "users.rhai".into(),
            file: "userimport.csv".into(),
            target: "embedded".into(),
            started: "now".into(),
            dry_run: false,
            format: "utf-8".into(),
        };
        let mut sink: Box<dyn Sink> =
            Box::new(ReportSink::create(dir.path().join("r.txt"), heading).unwrap());
        let mut counts = Counts::default();
        let rows = [
            Outcome::Applied(vec![Change::new(Action::Created, "user", 2, "a")]),
            Outcome::Failed(Failure::new(Code::InvalidEmail, "email 'x' is not valid")),
            Outcome::Skipped("unchanged".into()),
            Outcome::Applied(vec![Change::new(Action::Deleted, "user", 3, "b")]),
        ];
        for (i, o) in rows.into_iter().enumerate() {
            let r = RowReport {
                line: i as u64 + 2,
                start: 0,
                end: 0,
                print: None,
                outcome: o,
            };
            counts.add(&r.outcome);
            sink.row(&r).unwrap();
        }
        sink.finish(&counts, &FileEnd::Done).unwrap();
        let bytes = std::fs::read(dir.path().join("r.jsonl")).unwrap();
        let all = scan(&bytes, 0, 10);
        assert_eq!(all.failed.len(), 1);
        assert_eq!(
            (all.failed[0].line, all.failed[0].code.as_str()),
            (3, "MS-V002")
        );
        assert_eq!(all.other, 3);
        let lines: Vec<u64> = all.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert_eq!(all.rows[2].changes[0].action, "deleted");
        assert_eq!(all.status.as_deref(), Some("done"));
        assert!(all.summary.unwrap().starts_with("4 rows: 2 applied"));
        // A page further on: the same failures, the rows after the first.
        let later = scan(&bytes, 1, 1);
        assert_eq!(later.failed.len(), 1);
        assert_eq!(later.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4]);
        assert_eq!(later.other, 3);
    }
}
