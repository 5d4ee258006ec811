//! moosync's own bookkeeping in `state.db`: every run, every file, every row's outcome, and
//! which entities each feed created. Separate from the Moodle-shaped store.

use crate::codes::{Code, Failure};
use crate::outcome::{Action, Counts, Outcome, RowReport};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    command TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    tool TEXT NOT NULL,
    preset TEXT NOT NULL,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,            -- done | rejected | aborted
    dry_run INTEGER NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    rows INTEGER NOT NULL DEFAULT 0, applied INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0, renamed INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    report TEXT, tryback TEXT, archive TEXT
);
CREATE INDEX IF NOT EXISTS files_tool ON files (tool, id);
CREATE INDEX IF NOT EXISTS files_fingerprint ON files (name, fingerprint);
CREATE TABLE IF NOT EXISTS row_outcomes (
    file_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS row_outcomes_file ON row_outcomes (file_id, line);
CREATE TABLE IF NOT EXISTS created_entities (
    file_id INTEGER NOT NULL,
    tool TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS created_entities_entity ON created_entities (entity, entity_id);
CREATE TABLE IF NOT EXISTS alarms (
    lock TEXT PRIMARY KEY,
    last_sent INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    moved INTEGER NOT NULL,
    messages TEXT NOT NULL
);
";

pub struct State {
    conn: Connection,
}

/// What `status` shows of a tool's last file.
#[derive(Debug, Clone)]
pub struct LastFile {
    pub name: String,
    pub finished: String,
    pub status: String,
    pub counts: Counts,
    pub report: Option<String>,
    pub dry_run: bool,
    /// Why a file stopped or was refused.
    pub message: Option<String>,
}

fn fail(path: &Path) -> impl Fn(rusqlite::Error) -> Failure + '_ {
    move |e| Failure::new(Code::Storage, format!("{}: {e}", path.display()))
}

pub fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

impl State {
    pub fn open(path: &Path) -> Result<State, Failure> {
        crate::owner_only::prepare_database(path)
            .map_err(|e| Failure::new(Code::Storage, format!("{}: {e}", path.display())))?;
        let conn = Connection::open(path).map_err(fail(path))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail(path))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail(path))?;
        conn.execute_batch(SCHEMA).map_err(fail(path))?;
        Ok(State { conn })
    }

    fn db(&self, e: rusqlite::Error) -> Failure {
        Failure::new(Code::Storage, format!("state.db: {e}"))
    }

    /// When an alarm about `lock` was last mailed (Unix seconds).
    pub fn last_alarm(&self, lock: &str) -> Result<Option<i64>, Failure> {
        self.conn
            .query_row(
                "SELECT last_sent FROM alarms WHERE lock = ?1",
                [lock],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    pub fn record_alarm(&self, lock: &str, at: i64) -> Result<(), Failure> {
        self.conn
            .execute(
                "INSERT INTO alarms (lock, last_sent) VALUES (?1, ?2)
                 ON CONFLICT (lock) DO UPDATE SET last_sent = excluded.last_sent",
                params![lock, at],
            )
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    /// Keeps what a capture did and said, for `status`.
    pub fn record_capture(&self, moved: usize, messages: &[String]) -> Result<(), Failure> {
        self.conn
            .execute(
                "INSERT INTO captures (at, moved, messages) VALUES (?1, ?2, ?3)",
                params![now_text(), moved as i64, messages.join("\n")],
            )
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    /// The last capture: when, how many files it moved, its messages.
    pub fn last_capture(&self) -> Result<Option<(String, i64, Vec<String>)>, Failure> {
        self.conn
            .query_row(
                "SELECT at, moved, messages FROM captures ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    let text: String = r.get(2)?;
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        text.lines()
                            .filter(|l| !l.is_empty())
                            .map(str::to_string)
                            .collect(),
                    ))
                },
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    /// Files a killed run left `running` become `interrupted`; returns their names. Their
    /// input went back to inbox/ and runs again whole.
    pub fn mark_interrupted(&self) -> Result<Vec<String>, Failure> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM files WHERE status = 'running' ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.db(e))?;
        self.conn
            .execute(
                "UPDATE files SET status = 'interrupted', finished = ?1 WHERE status = 'running'",
                [now_text()],
            )
            .map_err(|e| self.db(e))?;
        Ok(names)
    }

    pub fn start_run(&self, command: &str, dry_run: bool) -> Result<i64, Failure> {
        self.conn
            .execute(
                "INSERT INTO runs (started, command, dry_run) VALUES (?1, ?2, ?3)",
                params![now_text(), command, dry_run],
            )
            .map_err(|e| self.db(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_run(&self, run_id: i64, exit_code: i32) -> Result<(), Failure> {
        self.conn
            .execute(
                "UPDATE runs SET finished = ?1, exit_code = ?2 WHERE id = ?3",
                params![now_text(), exit_code, run_id],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    pub fn start_file(
        &self,
        run_id: i64,
        tool: &str,
        preset: &str,
        name: &str,
        fingerprint: &str,
        dry_run: bool,
    ) -> Result<i64, Failure> {
        self.conn
            .execute(
                "INSERT INTO files (run_id, tool, preset, name, fingerprint, status, dry_run, started) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7)",
                params![run_id, tool, preset, name, fingerprint, dry_run, now_text()],
            )
            .map_err(|e| self.db(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Whether a file with this name and content was already processed (for `remove_input = false`).
    pub fn already_done(&self, name: &str, fingerprint: &str) -> Result<bool, Failure> {
        self.conn
            .query_row(
                "SELECT 1 FROM files WHERE name = ?1 AND fingerprint = ?2 AND status = 'done' AND dry_run = 0 LIMIT 1",
                params![name, fingerprint],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.db(e))
    }

    pub fn begin(&self) -> Result<(), Failure> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.db(e))
    }

    pub fn commit(&self) -> Result<(), Failure> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.db(e))
    }

    /// Records one row's outcome and, for creations, which entity the feed created.
    pub fn record_row(&self, file_id: i64, tool: &str, r: &RowReport) -> Result<(), Failure> {
        let (code, message) = match &r.outcome {
            Outcome::Applied(_) => (None, None),
            Outcome::Skipped(why) => (None, Some(why.as_str())),
            Outcome::Failed(f) => (Some(f.code.id()), Some(f.message.as_str())),
        };
        self.conn
            .prepare_cached("INSERT INTO row_outcomes (file_id, line, outcome, code, message) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![file_id, r.line, r.outcome.kind(), code, message]))
            .map_err(|e| self.db(e))?;
        if let Outcome::Applied(changes) = &r.outcome {
            for c in changes.iter().filter(|c| c.action == Action::Created) {
                self.conn
                    .prepare_cached("INSERT INTO created_entities (file_id, tool, entity, entity_id, label) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .and_then(|mut s| s.execute(params![file_id, tool, c.entity, c.id, c.label]))
                    .map_err(|e| self.db(e))?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn finish_file(
        &self,
        file_id: i64,
        status: &str,
        counts: &Counts,
        message: Option<&str>,
        report: Option<&str>,
        tryback: Option<&str>,
        archive: Option<&str>,
    ) -> Result<(), Failure> {
        self.conn
            .execute(
                "UPDATE files SET status = ?1, finished = ?2, rows = ?3, applied = ?4, skipped = ?5, failed = ?6, created = ?7,
                 updated = ?8, unchanged = ?9, renamed = ?10, deleted = ?11, message = ?12, report = ?13, tryback = ?14, archive = ?15
                 WHERE id = ?16",
                params![
                    status, now_text(), counts.rows, counts.applied, counts.skipped, counts.failed, counts.created, counts.updated,
                    counts.unchanged, counts.renamed, counts.deleted, message, report, tryback, archive, file_id
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    pub fn last_file(&self, tool: &str) -> Result<Option<LastFile>, Failure> {
        self.conn
            .query_row(
                "SELECT name, COALESCE(finished, started), status, rows, applied, skipped, failed, created, updated, unchanged, renamed, deleted, report, dry_run, message
                 FROM files WHERE tool = ?1 ORDER BY id DESC LIMIT 1",
                [tool],
                |r| {
                    Ok(LastFile {
                        name: r.get(0)?,
                        finished: r.get(1)?,
                        status: r.get(2)?,
                        counts: Counts {
                            rows: r.get(3)?,
                            applied: r.get(4)?,
                            skipped: r.get(5)?,
                            failed: r.get(6)?,
                            created: r.get(7)?,
                            updated: r.get(8)?,
                            unchanged: r.get(9)?,
                            renamed: r.get(10)?,
                            deleted: r.get(11)?,
                        },
                        report: r.get(12)?,
                        dry_run: r.get(13)?,
                        message: r.get(14)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.db(e))
    }
}
