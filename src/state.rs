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
CREATE TABLE IF NOT EXISTS mail_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    what TEXT NOT NULL,
    error TEXT NOT NULL
);
-- Per preset, the print of each row its last file applied (run::unchanged): a row with the
-- same print is skipped as unchanged.
CREATE TABLE IF NOT EXISTS row_prints (
    preset TEXT NOT NULL,
    print BLOB NOT NULL,
    PRIMARY KEY (preset, print)
) WITHOUT ROWID;
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

/// A processed file as state.db keeps it: what `status`, `problems` and the console show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileRecord {
    pub id: i64,
    pub run_id: i64,
    pub tool: String,
    pub preset: String,
    pub name: String,
    /// `running` (or interrupted: see `runlock::holder`), `done`, `rejected`, `aborted`,
    /// `interrupted`.
    pub status: String,
    pub dry_run: bool,
    pub started: String,
    /// When it ended; its start while it runs.
    pub finished: String,
    pub counts: Counts,
    /// Why a file stopped or was refused (its code first).
    pub message: Option<String>,
    pub report: Option<String>,
    pub tryback: Option<String>,
}

/// One failed row (or a file refused or stopped as a whole, without a line).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub file_id: i64,
    pub file: String,
    pub tool: String,
    pub dry_run: bool,
    pub finished: String,
    pub line: Option<u64>,
    pub code: String,
    pub message: String,
    pub report: Option<String>,
}

/// A mail that could not be sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailFailure {
    pub at: String,
    pub what: String,
    pub error: String,
}

const FILE_COLUMNS: &str = "id, run_id, tool, preset, name, status, dry_run, started, COALESCE(finished, started), rows, applied, skipped, failed, created, updated, unchanged, renamed, deleted, message, report, tryback, kept";

fn file_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        id: r.get(0)?,
        run_id: r.get(1)?,
        tool: r.get(2)?,
        preset: r.get(3)?,
        name: r.get(4)?,
        status: r.get(5)?,
        dry_run: r.get(6)?,
        started: r.get(7)?,
        finished: r.get(8)?,
        counts: Counts {
            rows: r.get(9)?,
            applied: r.get(10)?,
            skipped: r.get(11)?,
            failed: r.get(12)?,
            created: r.get(13)?,
            updated: r.get(14)?,
            unchanged: r.get(15)?,
            renamed: r.get(16)?,
            deleted: r.get(17)?,
            kept: r.get(21)?,
        },
        message: r.get(18)?,
        report: r.get(19)?,
        tryback: r.get(20)?,
    })
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
        // Columns added since state.db first shipped.
        let has_kept: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('files') WHERE name = 'kept'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(fail(path))?
            > 0;
        if !has_kept {
            conn.execute_batch("ALTER TABLE files ADD COLUMN kept INTEGER NOT NULL DEFAULT 0")
                .map_err(fail(path))?;
        }
        Ok(State { conn })
    }

    /// The prints of the rows the last file of `preset` applied or kept.
    pub fn row_prints(
        &self,
        preset: &str,
    ) -> Result<std::collections::HashSet<crate::run::unchanged::Print>, Failure> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT print FROM row_prints WHERE preset = ?1")
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map(params![preset], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.db(e))?;
        let mut out = std::collections::HashSet::new();
        for r in rows {
            if let Ok(p) =
                <crate::run::unchanged::Print>::try_from(r.map_err(|e| self.db(e))?.as_slice())
            {
                out.insert(p);
            }
        }
        Ok(out)
    }

    /// The rows a file of `preset` applied or kept become the preset's remembered rows (inside
    /// the caller's transaction).
    pub fn replace_row_prints(
        &self,
        preset: &str,
        prints: &[crate::run::unchanged::Print],
    ) -> Result<(), Failure> {
        self.conn
            .execute("DELETE FROM row_prints WHERE preset = ?1", params![preset])
            .map_err(|e| self.db(e))?;
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO row_prints (preset, print) VALUES (?1, ?2)")
            .map_err(|e| self.db(e))?;
        for p in prints {
            stmt.execute(params![preset, &p[..]])
                .map_err(|e| self.db(e))?;
        }
        Ok(())
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
            // Only counted: an unchanged file's rows cost the journal nothing.
            Outcome::Kept => return Ok(()),
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
                 updated = ?8, unchanged = ?9, renamed = ?10, deleted = ?11, message = ?12, report = ?13, tryback = ?14, archive = ?15,
                 kept = ?17 WHERE id = ?16",
                params![
                    status, now_text(), counts.rows, counts.applied, counts.skipped, counts.failed, counts.created, counts.updated,
                    counts.unchanged, counts.renamed, counts.deleted, message, report, tryback, archive, file_id, counts.kept
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The last `n` files of a tool (every tool: `None`), newest first.
    pub fn recent_files(&self, tool: Option<&str>, n: u32) -> Result<Vec<FileRecord>, Failure> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE ?1 IS NULL OR tool = ?1 ORDER BY id DESC LIMIT ?2"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map(params![tool, n], file_record)?.collect())
            .map_err(|e| self.db(e))
    }

    /// The file whose report is at `report` (as recorded: the full path).
    pub fn file_by_report(&self, report: &str) -> Result<Option<FileRecord>, Failure> {
        let sql =
            format!("SELECT {FILE_COLUMNS} FROM files WHERE report = ?1 ORDER BY id DESC LIMIT 1");
        self.conn
            .query_row(&sql, [report], file_record)
            .optional()
            .map_err(|e| self.db(e))
    }

    /// The failed rows, and the files refused or stopped whole, of the last `runs` runs, in
    /// the order they were processed.
    pub fn recent_problems(&self, runs: u32) -> Result<Vec<Problem>, Failure> {
        self.conn
            .prepare_cached(
                "WITH recent AS (SELECT id FROM runs ORDER BY id DESC LIMIT ?1)
                 SELECT f.id, f.name, f.tool, f.dry_run, COALESCE(f.finished, f.started), o.line, o.code, o.message, f.report
                   FROM files f JOIN row_outcomes o ON o.file_id = f.id
                  WHERE f.run_id IN recent AND o.outcome = 'failed'
                 UNION ALL
                 SELECT f.id, f.name, f.tool, f.dry_run, COALESCE(f.finished, f.started), NULL, substr(f.message, 1, 7), substr(f.message, 9), f.report
                   FROM files f
                  WHERE f.run_id IN recent AND f.status IN ('rejected', 'aborted') AND f.message IS NOT NULL
                 ORDER BY 1, 6",
            )
            .and_then(|mut s| {
                s.query_map([runs], |r| {
                    Ok(Problem {
                        file_id: r.get(0)?,
                        file: r.get(1)?,
                        tool: r.get(2)?,
                        dry_run: r.get(3)?,
                        finished: r.get(4)?,
                        line: r.get(5)?,
                        code: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        message: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                        report: r.get(8)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.db(e))
    }

    /// How many failed rows, and files refused or stopped, the last `runs` runs had.
    pub fn recent_problem_counts(&self, runs: u32) -> Result<(usize, usize), Failure> {
        self.conn
            .query_row(
                "WITH recent AS (SELECT id FROM runs ORDER BY id DESC LIMIT ?1)
                 SELECT (SELECT COALESCE(SUM(failed), 0) FROM files WHERE run_id IN recent),
                        (SELECT COUNT(*) FROM files WHERE run_id IN recent AND status IN ('rejected', 'aborted'))",
                [runs],
                |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)),
            )
            .map_err(|e| self.db(e))
    }

    /// Keeps a mail that could not be sent (a run summary, an alarm), for `status`.
    pub fn record_mail_failure(&self, what: &str, error: &str) -> Result<(), Failure> {
        self.conn
            .execute(
                "INSERT INTO mail_failures (at, what, error) VALUES (?1, ?2, ?3)",
                params![now_text(), what, error],
            )
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    /// The mails that could not be sent since the last one that could (or the last `n`).
    pub fn mail_failures(&self, n: u32) -> Result<Vec<MailFailure>, Failure> {
        self.conn
            .prepare_cached("SELECT at, what, error FROM mail_failures ORDER BY id DESC LIMIT ?1")
            .and_then(|mut s| {
                s.query_map([n], |r| {
                    Ok(MailFailure {
                        at: r.get(0)?,
                        what: r.get(1)?,
                        error: r.get(2)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.db(e))
    }

    /// A mail went: the failures before it are history.
    pub fn clear_mail_failures(&self) -> Result<(), Failure> {
        self.conn
            .execute("DELETE FROM mail_failures", [])
            .map(|_| ())
            .map_err(|e| self.db(e))
    }
}
