//! Row-level failures versus failures of the store itself.

use crate::codes::{Code, Failure};
use rusqlite::ErrorCode;

pub(crate) enum RowError {
    /// This row cannot be applied; the others go on. Raised before the command writes.
    Row(Failure),
    /// SQLite refused a statement (a constraint, say): a row failure when the row runs under
    /// a savepoint, else the file stops so nothing half-written is kept.
    Store(Failure),
    /// The store cannot go on (disk full, I/O error, corruption): the file stops.
    Fatal(Failure),
}

impl From<Failure> for RowError {
    fn from(f: Failure) -> Self {
        RowError::Row(f)
    }
}

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        let fatal = matches!(
            e.sqlite_error_code(),
            Some(
                ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DatabaseCorrupt
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::NotADatabase
            )
        );
        let f = Failure::new(
            Code::Storage,
            format!("the embedded store refused the change: {e}"),
        );
        if fatal {
            RowError::Fatal(f)
        } else {
            RowError::Store(f)
        }
    }
}

pub(crate) fn row(code: Code, msg: String) -> RowError {
    RowError::Row(Failure::new(code, msg))
}
