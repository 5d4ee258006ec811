//! What moosync did on a Moodle site that Moodle itself does not say, kept in `remote.db`
//! beside state.db: the MD5 of the last image sent as each user's picture, and the group
//! links moosync made between groups and users or groupings. Moodle's group web services
//! take and show no component, so this is how `shift` and `greplace` leave only the groups
//! a feed put a user in, never hand-made ones; and no function in the usual service lists a
//! grouping's groups, so this is how a re-run knows a group is already in its grouping.
//! Keyed by site, so one data folder may feed several sites in turn.

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
             CREATE TABLE IF NOT EXISTS remote_links (
                site TEXT NOT NULL, kind TEXT NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL,
                PRIMARY KEY (site, kind, a, b));",
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

    /// Whether moosync made the link `a`–`b` of `kind` (and has not undone it since).
    pub fn linked(&self, site: &str, kind: Link, a: i64, b: i64) -> bool {
        self.conn
            .prepare_cached(
                "SELECT 1 FROM remote_links WHERE site = ?1 AND kind = ?2 AND a = ?3 AND b = ?4",
            )
            .and_then(|mut s| {
                s.query_row(params![site, kind.name(), a, b], |_| Ok(()))
                    .optional()
            })
            .ok()
            .flatten()
            .is_some()
    }

    /// Links moosync made (`made`) or undid (`!made`), in one transaction.
    pub fn record_links(
        &mut self,
        site: &str,
        changes: &[(Link, i64, i64, bool)],
    ) -> Result<(), Failure> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(storage)?;
        {
            let mut add = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO remote_links (site, kind, a, b) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(storage)?;
            let mut del = tx
                .prepare_cached(
                    "DELETE FROM remote_links WHERE site = ?1 AND kind = ?2 AND a = ?3 AND b = ?4",
                )
                .map_err(storage)?;
            for &(kind, a, b, made) in changes {
                let s = if made { &mut add } else { &mut del };
                s.execute(params![site, kind.name(), a, b])
                    .map_err(storage)?;
            }
        }
        tx.commit().map_err(storage)
    }
}

/// The links the ledger keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// a = user id, b = group id.
    GroupMember,
    /// a = grouping id, b = group id.
    GroupingGroup,
}

impl Link {
    fn name(self) -> &'static str {
        match self {
            Link::GroupMember => "group_member",
            Link::GroupingGroup => "grouping_group",
        }
    }
}
