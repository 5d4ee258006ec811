//! Runs started from the console: an ordinary `run::run` on a thread of its own (same lock,
//! same exit codes), watched by an observer that turns what it sees into events, which the
//! browser receives as server-sent events while they happen.

use crate::exit;
use crate::run::{FileResult, Observer, Request};
use crate::setup::Setup;
use crate::sinks::{FileEnd, Rate};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How many finished runs the console remembers.
const KEPT: usize = 20;
/// Progress is told at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// One console run and what it said so far.
pub struct Feed {
    pub id: u64,
    /// "users", "all tools"…
    pub what: String,
    pub dry_run: bool,
    pub started: String,
    inner: Mutex<FeedState>,
    changed: Condvar,
}

#[derive(Default)]
struct FeedState {
    /// Each event's JSON, in order; its index is its SSE id.
    events: Vec<String>,
    /// The run's exit code once it ended.
    code: Option<i32>,
}

impl Feed {
    fn push(&self, event: serde_json::Value) {
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        st.events.push(event.to_string());
        self.changed.notify_all();
    }

    fn end(&self, code: i32) {
        self.push(json!({"kind": "end", "code": code, "verdict": verdict(code)}));
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        st.code = Some(code);
        self.changed.notify_all();
    }

    pub fn code(&self) -> Option<i32> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).code
    }

    /// The events from `from` on, waiting up to `wait` for one when there is none yet; and
    /// whether the run has ended.
    pub fn events_from(&self, from: usize, wait: Duration) -> (Vec<String>, bool) {
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if st.events.len() <= from && st.code.is_none() {
            st = self
                .changed
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let new = st.events.get(from..).unwrap_or_default().to_vec();
        (new, st.code.is_some())
    }
}

/// What an exit code means, as the console says it: exit 3 is the command line's answer to
/// a run that finds the lock held.
pub fn verdict(code: i32) -> &'static str {
    match code {
        exit::OK => "done: every row applied or skipped",
        exit::ROWS_FAILED => "done, but some rows failed: the reports list them, failures first",
        exit::LOCKED => {
            "not run: another run holds the data folder's lock (exit 3); try again when it ends"
        }
        exit::UNREACHABLE => {
            "not done: the Moodle site could not be reached or is in maintenance (exit 4); \
             the files wait in inbox/ for the next run"
        }
        _ => "a file or the run failed (exit 2): see the messages above",
    }
}

/// The console's runs, newest last.
#[derive(Default)]
pub struct Runs {
    next: Mutex<u64>,
    all: Mutex<Vec<Arc<Feed>>>,
}

impl Runs {
    pub fn get(&self, id: u64) -> Option<Arc<Feed>> {
        self.all
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|f| f.id == id)
            .cloned()
    }

    pub fn recent(&self) -> Vec<Arc<Feed>> {
        let mut v = self.all.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.reverse();
        v
    }

    /// Starts `req` on a thread; returns its feed at once.
    pub fn start(&self, setup: Setup, req: Request, what: String) -> Arc<Feed> {
        let id = {
            let mut n = self.next.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            *n
        };
        let feed = Arc::new(Feed {
            id,
            what,
            dry_run: req.dry_run,
            started: crate::state::now_text(),
            inner: Mutex::default(),
            changed: Condvar::new(),
        });
        {
            let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
            all.push(feed.clone());
            let extra = all.len().saturating_sub(KEPT);
            all.drain(..extra);
        }
        let watched = feed.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("moosync-console-run-{id}"))
            // The main thread's stack: scripts compile here as they would there.
            .stack_size(8 << 20)
            .spawn(move || {
                let watch = Watch {
                    feed: &watched,
                    root: setup.area.root().to_path_buf(),
                    file: Mutex::new(None),
                };
                let code = match crate::run::run(&setup, &req, None, &watch) {
                    Ok(summary) => summary.code,
                    Err(f) => {
                        watched.push(json!({"kind": "warn", "line": format!("moosync: {f}")}));
                        exit::of_failure(&f)
                    }
                };
                watched.end(code);
            });
        if let Err(e) = spawned {
            feed.push(json!({"kind": "warn", "line": format!("cannot start the run: {e}")}));
            feed.end(exit::INPUT_ERROR);
        }
        feed
    }
}

/// The observer of a console run.
struct Watch<'a> {
    feed: &'a Feed,
    root: std::path::PathBuf,
    /// The file going: its rows estimate, rate and when progress was last told.
    file: Mutex<Option<(u64, Rate, Instant)>>,
}

impl Watch<'_> {
    fn progress(&self, done: u64, rows: u64, rate: &Rate, now: Instant) {
        self.feed.push(json!({
            "kind": "progress",
            "done": done,
            "rows": rows.max(done),
            "rate": rate.per_second(now).map(|r| r.round()),
            "left": rate.left(now).map(|d| d.as_secs()),
            "text": rate.describe(now),
        }));
    }

    fn relative(&self, p: &Option<std::path::PathBuf>) -> Option<String> {
        p.as_ref().map(|p| {
            p.strip_prefix(&self.root)
                .unwrap_or(p)
                .display()
                .to_string()
        })
    }
}

impl Observer for Watch<'_> {
    fn note(&self, line: &str) {
        self.feed.push(json!({"kind": "note", "line": line}));
    }

    fn warn(&self, line: &str) {
        self.feed.push(json!({"kind": "warn", "line": line}));
    }

    fn file_started(&self, tool: &str, name: &str, rows: u64) {
        let now = Instant::now();
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((rows, Rate::new(rows, now), now));
        self.feed
            .push(json!({"kind": "start", "tool": tool, "name": name, "rows": rows}));
    }

    fn rows_done(&self, done: u64) {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((rows, rate, told)) = file.as_mut() {
            let now = Instant::now();
            rate.record(done, now);
            if now.duration_since(*told) >= PROGRESS_EVERY {
                *told = now;
                self.progress(done, *rows, rate, now);
            }
        }
    }

    fn file_done(&self, r: &FileResult, line: &str) {
        if let Some((rows, rate, _)) = self.file.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let now = Instant::now();
            self.progress(r.counts.rows, rows, &rate, now);
        }
        let state = match &r.end {
            FileEnd::Done if r.counts.failed > 0 => "failed-rows",
            FileEnd::Done => "done",
            FileEnd::Rejected(_) => "refused",
            FileEnd::Aborted(_) => "stopped",
        };
        self.feed.push(json!({
            "kind": "file",
            "tool": r.tool,
            "name": r.name,
            "line": line,
            "state": state,
            "failed": r.counts.failed,
            "report": self.relative(&r.report),
            "tryback": self.relative(&r.tryback),
        }));
    }
}

/// Streams a run's events to the browser as server-sent events, from `from` on, until the run
/// ends or the browser leaves. The stream writes its own response head: tiny_http's chunked
/// encoder holds 8 KiB before it sends anything, which would hold the events back.
pub fn stream(feed: &Feed, from: usize, out: &mut dyn Write) -> std::io::Result<()> {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    head.push_str("Content-Type: text/event-stream; charset=utf-8\r\nConnection: close\r\n");
    for (n, v) in super::http::SECURITY_HEADERS {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()?;
    let mut next = from;
    loop {
        let (events, ended) = feed.events_from(next, Duration::from_secs(15));
        if events.is_empty() && !ended {
            // Keeps the connection from idling out; the browser ignores comments.
            out.write_all(b": waiting\n\n")?;
        }
        for e in &events {
            write!(out, "id: {next}\ndata: {e}\n\n")?;
            next += 1;
        }
        out.flush()?;
        if ended && feed.events_from(next, Duration::ZERO).0.is_empty() {
            return Ok(());
        }
    }
}
