//! What moosync did on a Moodle site that Moodle itself does not say, kept in `remote.db`
//! beside state.db: the MD5 of the last image sent as each user's picture, and the group
//! memberships moosync made. Moodle's core group web services take and show no component
//! (the plugin's do), so this is how `shift` and `greplace` leave only the groups a feed put
//! a user in, never hand-made ones. Also the groups a feed's removals left empty, until a
//! file's end purges them (`[groups] purge_empty`), the roles a course's teachers' `shift`
//! could not take away, and the course copies not yet given their row's fields.
//! Keyed by site, so one data folder may feed several sites in turn.

use crate::codes::{Code, Failure};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::{Mutex, MutexGuard};

/// Behind a mutex, so the tools' parallel calls may share the run's context.
pub struct Ledger {
    conn: Mutex<Connection>,
}

fn storage(e: rusqlite::Error) -> Failure {
    Failure::new(Code::Storage, format!("remote.db: {e}"))
}

impl Ledger {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding it leaves no half-done statement: SQLite rolled it back.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn open(path: &std::path::Path) -> Result<Ledger, Failure> {
        let fail =
            |e: rusqlite::Error| Failure::new(Code::Storage, format!("{}: {e}", path.display()));
        crate::owner_only::prepare_database(path)
            .map_err(|e| Failure::new(Code::Storage, format!("{}: {e}", path.display())))?;
        let conn = Connection::open(path).map_err(fail)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS remote_pictures (
                site TEXT NOT NULL, userid INTEGER NOT NULL, md5 TEXT NOT NULL,
                PRIMARY KEY (site, userid));
             CREATE TABLE IF NOT EXISTS remote_links (
                site TEXT NOT NULL, kind TEXT NOT NULL,
                a INTEGER NOT NULL, b INTEGER NOT NULL, c INTEGER NOT NULL,
                PRIMARY KEY (site, kind, a, b, c));
             CREATE TABLE IF NOT EXISTS remote_pending_copies (
                site TEXT NOT NULL, shortname TEXT NOT NULL, PRIMARY KEY (site, shortname));",
        )
        .map_err(fail)?;
        Ok(Ledger {
            conn: Mutex::new(conn),
        })
    }

    pub fn picture_md5(&self, site: &str, user: i64) -> Option<String> {
        self.conn()
            .prepare_cached("SELECT md5 FROM remote_pictures WHERE site = ?1 AND userid = ?2")
            .and_then(|mut s| s.query_row(params![site, user], |r| r.get(0)).optional())
            .ok()
            .flatten()
    }

    pub fn record_picture(&self, site: &str, user: i64, md5: &str) -> Result<(), Failure> {
        self.conn()
            .prepare_cached(
                "INSERT INTO remote_pictures (site, userid, md5) VALUES (?1, ?2, ?3)
                 ON CONFLICT (site, userid) DO UPDATE SET md5 = excluded.md5",
            )
            .and_then(|mut s| s.execute(params![site, user, md5]))
            .map(|_| ())
            .map_err(storage)
    }

    /// Whether moosync made the link `key` of `kind` (and has not undone it since).
    pub fn linked(&self, site: &str, kind: Link, (a, b, c): Key) -> bool {
        self.conn()
            .prepare_cached(
                "SELECT 1 FROM remote_links WHERE site = ?1 AND kind = ?2 AND a = ?3 AND b = ?4 AND c = ?5",
            )
            .and_then(|mut s| {
                s.query_row(params![site, kind.name(), a, b, c], |_| Ok(()))
                    .optional()
            })
            .ok()
            .flatten()
            .is_some()
    }

    /// The links of `kind` whose second part is `b`, as their (a, c).
    pub fn links_to(&self, site: &str, kind: Link, b: i64) -> Result<Vec<(i64, i64)>, Failure> {
        let conn = self.conn();
        let mut s = conn
            .prepare_cached(
                "SELECT a, c FROM remote_links WHERE site = ?1 AND kind = ?2 AND b = ?3",
            )
            .map_err(storage)?;
        let rows = s
            .query_map(params![site, kind.name(), b], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// Every link of `kind`.
    pub fn links(&self, site: &str, kind: Link) -> Result<Vec<Key>, Failure> {
        let conn = self.conn();
        let mut s = conn
            .prepare_cached(
                "SELECT a, b, c FROM remote_links WHERE site = ?1 AND kind = ?2 ORDER BY a, b, c",
            )
            .map_err(storage)?;
        let rows = s
            .query_map(params![site, kind.name()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// Forgets every link of `kind`.
    pub fn forget_all(&self, site: &str, kind: Link) -> Result<(), Failure> {
        self.conn()
            .prepare_cached("DELETE FROM remote_links WHERE site = ?1 AND kind = ?2")
            .and_then(|mut s| s.execute(params![site, kind.name()]))
            .map(|_| ())
            .map_err(storage)
    }

    /// Links moosync made (`made`) or undid (`!made`), in one transaction.
    pub fn record_links(&self, site: &str, changes: &[(Link, Key, bool)]) -> Result<(), Failure> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(storage)?;
        {
            let mut add = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO remote_links (site, kind, a, b, c) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(storage)?;
            let mut del = tx
                .prepare_cached(
                    "DELETE FROM remote_links WHERE site = ?1 AND kind = ?2 AND a = ?3 AND b = ?4 AND c = ?5",
                )
                .map_err(storage)?;
            for &(kind, (a, b, c), made) in changes {
                let s = if made { &mut add } else { &mut del };
                s.execute(params![site, kind.name(), a, b, c])
                    .map_err(storage)?;
            }
        }
        tx.commit().map_err(storage)
    }

    /// Whether a copy of a template named `shortname` was asked for and not yet given its
    /// row's fields.
    pub fn copy_pending(&self, site: &str, shortname: &str) -> bool {
        self.conn()
            .prepare_cached(
                "SELECT 1 FROM remote_pending_copies WHERE site = ?1 AND shortname = ?2",
            )
            .and_then(|mut s| s.query_row(params![site, shortname], |_| Ok(())).optional())
            .ok()
            .flatten()
            .is_some()
    }

    /// Notes a copy as asked for (`pending`), or as finished.
    pub fn set_copy_pending(
        &self,
        site: &str,
        shortname: &str,
        pending: bool,
    ) -> Result<(), Failure> {
        let sql = if pending {
            "INSERT OR IGNORE INTO remote_pending_copies (site, shortname) VALUES (?1, ?2)"
        } else {
            "DELETE FROM remote_pending_copies WHERE site = ?1 AND shortname = ?2"
        };
        self.conn()
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![site, shortname]))
            .map(|_| ())
            .map_err(storage)
    }
}

/// A link's three parts; unused parts are 0.
pub type Key = (i64, i64, i64);

/// The links the ledger keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// a = user id, b = group id.
    GroupMember,
    /// a = group id, b = course id: a group a feed's removal left empty, kept for
    /// `[groups] purge_empty` until a file's end looks at it.
    EmptiedGroup,
}

impl Link {
    fn name(self) -> &'static str {
        match self {
            Link::GroupMember => "group_member",
            Link::EmptiedGroup => "emptied_group",
        }
    }
}
