//! Creating and upgrading the store's tables (versioned with `PRAGMA user_version`).

use crate::codes::{Code, Failure};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::Path;

/// Each entry upgrades the store by one version; never edit a shipped one, add another.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
];

pub fn open_store(path: &Path) -> Result<Connection, Failure> {
    let fail = |e: rusqlite::Error| Failure::new(Code::Storage, format!("{}: {e}", path.display()));
    crate::owner_only::prepare_database(path)
        .map_err(|e| Failure::new(Code::Storage, format!("{}: {e}", path.display())))?;
    let mut conn = Connection::open(path).map_err(fail)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    conn.pragma_update(None, "cache_size", -64_000)
        .map_err(fail)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(fail)?;
    conn.pragma_update(None, "wal_autocheckpoint", 10000)
        .map_err(fail)?;
    conn.set_prepared_statement_cache_capacity(128);
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(fail)?;
    if version > MIGRATIONS.len() {
        return Err(Failure::new(
            Code::Storage,
            format!(
                "{} was written by a newer moosync (store version {version}); upgrade moosync",
                path.display()
            ),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", i + 1)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(conn)
}

/// Creates the text profile fields named in settings that the store does not have yet.
pub fn ensure_profile_fields(conn: &Connection, names: &[String]) -> rusqlite::Result<()> {
    for name in names {
        conn.execute(
            "INSERT INTO mdl_user_info_field (shortname, name, datatype, categoryid, sortorder, visible)
             SELECT ?1, ?1, 'text', 1, (SELECT COALESCE(MAX(sortorder), 0) + 1 FROM mdl_user_info_field), 2
             WHERE NOT EXISTS (SELECT 1 FROM mdl_user_info_field WHERE shortname = ?1)",
            params![name],
        )?;
    }
    Ok(())
}

pub fn profile_fields(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare("SELECT shortname, id FROM mdl_user_info_field")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
