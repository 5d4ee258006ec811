//! What moosync did on a Moodle site that Moodle itself does not say, kept in `remote.db`
//! beside state.db: the MD5 of the last image sent as each user's picture, and the group
//! memberships moosync made (Moodle's group web services take and show no component, so
//! this is how `shift` and `greplace` leave only the groups a feed put a user in, never
//! hand-made ones). Keyed by site, so one data folder may feed several sites in turn.

use crate::codes::{Code, Failure};
use rusqlite::{params, Connection, OptionalExtension};

pub struct Ledger {
    conn: Connection,
}

fn storage(e: rusqlite::Error) -> Failure {
    Failure::new(Code::Storage, format!("remote.db: {e}"))
}

impl Ledger {
    pub fn open(path: &std::path::Path) -> Result<Ledger, Failure> {
        let fail =
            |e: rusqlite::Error| Failure::new(Code::Storage, format!("{}: {e}", path.display()));
        let conn = Connection::open(path).map_err(fail)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS remote_pictures (
                site TEXT NOT NULL, userid INTEGER NOT NULL, md5 TEXT NOT NULL,
                PRIMARY KEY (site, userid));
             CREATE TABLE IF NOT EXISTS remote_group_members (
                site TEXT NOT NULL, userid INTEGER NOT NULL, groupid INTEGER NOT NULL,
                PRIMARY KEY (site, userid, groupid));",
        )
        .map_err(fail)?;
        Ok(Ledger { conn })
    }

    pub fn picture_md5(&self, site: &str, user: i64) -> Option<String> {
        self.conn
            .prepare_cached("SELECT md5 FROM remote_pictures WHERE site = ?1 AND userid = ?2")
            .and_then(|mut s| s.query_row(params![site, user], |r| r.get(0)).optional())
            .ok()
            .flatten()
    }

    pub fn record_picture(&self, site: &str, user: i64, md5: &str) -> Result<(), Failure> {
        self.conn
            .prepare_cached(
                "INSERT INTO remote_pictures (site, userid, md5) VALUES (?1, ?2, ?3)
                 ON CONFLICT (site, userid) DO UPDATE SET md5 = excluded.md5",
            )
            .and_then(|mut s| s.execute(params![site, user, md5]))
            .map(|_| ())
            .map_err(storage)
    }

    /// Whether moosync put `user` in `group` (and has not taken them out since).
    pub fn made_member(&self, site: &str, user: i64, group: i64) -> bool {
        self.conn
            .prepare_cached(
                "SELECT 1 FROM remote_group_members WHERE site = ?1 AND userid = ?2 AND groupid = ?3",
            )
            .and_then(|mut s| s.query_row(params![site, user, group], |_| Ok(())).optional())
            .ok()
            .flatten()
            .is_some()
    }

    /// Memberships moosync made (`joined`) or ended (`!joined`), in one transaction.
    pub fn record_members(
        &mut self,
        site: &str,
        changes: &[(i64, i64, bool)],
    ) -> Result<(), Failure> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(storage)?;
        {
            let mut add = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO remote_group_members (site, userid, groupid) VALUES (?1, ?2, ?3)",
                )
                .map_err(storage)?;
            let mut del = tx
                .prepare_cached(
                    "DELETE FROM remote_group_members WHERE site = ?1 AND userid = ?2 AND groupid = ?3",
                )
                .map_err(storage)?;
            for &(user, group, joined) in changes {
                let s = if joined { &mut add } else { &mut del };
                s.execute(params![site, user, group]).map_err(storage)?;
            }
        }
        tx.commit().map_err(storage)
    }
}
