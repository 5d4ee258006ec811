//! One read-only SQL door on both backends: the embedded store's `moodle.db` through rusqlite,
//! and the lab Moodle's PostgreSQL through `psql -At`, asked the same query text and answering
//! rows of text cells (NULL as an empty cell on both sides, as `psql -A` prints it).

use std::path::PathBuf;
use std::process::Command;

/// Where a scenario's site lives.
pub enum SiteDb {
    /// The embedded store of a data folder.
    Embedded(PathBuf),
    /// The lab Moodle's database (`MOODLE_LAB_DB`, `moodle`, on 127.0.0.1), read-only.
    Lab,
}

const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';

impl SiteDb {
    /// The rows of `sql`, each cell as text. A query the database refuses fails the test.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            SiteDb::Embedded(path) => sqlite_rows(path, sql),
            SiteDb::Lab => lab_rows(sql),
        }
    }

    /// The single number `sql` answers, if it answers one row.
    pub fn id(&self, sql: &str) -> Option<i64> {
        let rows = self.rows(sql);
        match rows.as_slice() {
            [] => None,
            [row] => Some(row[0].parse().expect("an id")),
            _ => panic!("{sql} answers {} rows, not one", rows.len()),
        }
    }
}

fn sqlite_rows(path: &std::path::Path, sql: &str) -> Vec<Vec<String>> {
    use rusqlite::types::ValueRef;
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => String::new(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => v.to_string(),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                    })
                })
                .collect::<Result<Vec<String>, rusqlite::Error>>()
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.map(|r| r.unwrap()).collect()
}

fn lab_rows(sql: &str) -> Vec<Vec<String>> {
    let db = std::env::var("MOODLE_LAB_DB").unwrap_or_else(|_| "moodle".to_string());
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "moodle",
        ])
        .arg("-d")
        .arg(&db)
        .arg(format!("--field-separator={FIELD}"))
        .arg(format!("--record-separator={RECORD}"))
        .arg("-c")
        .arg(sql)
        .env("PGPASSWORD", "moodlelab")
        // Every transaction of this session is read-only: the lab is shared.
        .env("PGOPTIONS", "-c default_transaction_read_only=on")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "psql cannot be run ({e}): the lab's database is read with it; {}",
                crate::lab::SETUP
            )
        });
    if !out.status.success() {
        panic!(
            "psql on the lab's database ({db}) failed: {}\nquery: {sql}\n{}",
            String::from_utf8_lossy(&out.stderr),
            crate::lab::SETUP
        );
    }
    let text = String::from_utf8(out.stdout).expect("UTF-8 from psql");
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.split(RECORD)
        .filter(|r| !r.is_empty())
        .map(|r| r.split(FIELD).map(str::to_string).collect())
        .collect()
}
