//! Rules: the Rhai engine, its limits, and the host functions scripts may call.
//! A script is compiled once per run; `row()` is called per row with no top-level re-run.

mod convert;
pub mod dates;
mod error;
mod host;
mod script;
mod workers;

pub use error::script_failure;
pub use script::{RowInput, Script};
pub use workers::{stack_bytes, Workers};
