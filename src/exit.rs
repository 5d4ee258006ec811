//! Exit codes, documented in the README: a cron wrapper tells by them what a run came to.

/// Every row applied or skipped.
pub const OK: i32 = 0;
/// Some rows failed (see the report and the tryback).
pub const ROWS_FAILED: i32 = 1;
/// Nothing done for a file or the run: configuration or input-file error.
pub const INPUT_ERROR: i32 = 2;
/// Another moosync run holds the data folder's lock.
pub const LOCKED: i32 = 3;
