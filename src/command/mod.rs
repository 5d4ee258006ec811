//! The typed commands a script may emit. A dry run and `plan` print exactly these; the host
//! validates each one before any target sees it.

pub mod moodle_rules;
mod user;

pub use user::{UserDelete, UserFields};

use crate::codes::Failure;
use serde::{Deserialize, Serialize};

/// One Moodle-level action. Scripts write it as a map whose `op` names the variant:
/// `#{ op: "user_upsert", username: "jdoe", ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
// Commands travel by value through one channel per chunk; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Create the account, or update the fields given when it exists.
    UserUpsert(UserFields),
    /// Soft-delete the account as Moodle's delete_user does.
    UserDelete(UserDelete),
}

impl Command {
    /// Checks what can be checked without the target: shapes, lengths, Moodle's value rules.
    pub fn validate(&self) -> Result<(), Failure> {
        match self {
            Command::UserUpsert(u) => u.validate(),
            Command::UserDelete(d) => d.validate(),
        }
    }
}

/// What the script decided for one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mapped {
    Commands(Vec<Command>),
    Skip(String),
}
