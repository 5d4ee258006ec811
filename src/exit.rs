//! Exit codes, documented in the README: a cron wrapper tells by them what a run came to.

/// Every row applied or skipped.
pub const OK: i32 = 0;
/// Some rows failed (see the report and the tryback).
pub const ROWS_FAILED: i32 = 1;
/// Nothing done for a file or the run: configuration or input-file error.
pub const INPUT_ERROR: i32 = 2;
/// Another moosync run holds the data folder's lock.
pub const LOCKED: i32 = 3;
/// The Moodle site could not be reached, or is in maintenance: nothing is wrong with the
/// input; the next run tries again.
pub const UNREACHABLE: i32 = 4;

/// The exit code of a failure that stopped a file or the run.
pub fn of_failure(f: &crate::codes::Failure) -> i32 {
    use crate::codes::Code;
    match f.code {
        Code::RemoteUnreachable | Code::RemoteMaintenance => UNREACHABLE,
        _ => INPUT_ERROR,
    }
}
