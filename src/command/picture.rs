//! The user-picture command: the image comes from the archive entry, not from the script.

use super::keys::UserIdentifier;
use crate::codes::{Code, Failure};
use crate::pictures::avatar::Avatar;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Set the user's picture from the image of the row's archive entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPicture {
    pub user: String,
    /// Absent: `[pictures] user_identifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_by: Option<UserIdentifier>,
    /// Replace a picture the user has; absent: `[pictures] overwrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
    /// The image and what the host derives from it: never part of a script's map or a plan.
    #[serde(skip)]
    pub attached: Attached,
}

#[derive(Clone, Default)]
pub struct Attached {
    pub image: Option<Arc<Vec<u8>>>,
    /// MD5 of the image as fed, hex: tool_sync's `userpicturehash`.
    pub md5: String,
    /// The avatar set, rendered once the store knows the image is wanted.
    pub rendered: Option<Result<Arc<Avatar>, Failure>>,
}

// Two commands are alike when their images are: the bytes' hash stands for them.
impl PartialEq for Attached {
    fn eq(&self, other: &Self) -> bool {
        self.md5 == other.md5
    }
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("bytes", &self.image.as_ref().map(|i| i.len()))
            .field("md5", &self.md5)
            .field("rendered", &self.rendered.as_ref().map(|r| r.is_ok()))
            .finish()
    }
}

impl UserPicture {
    pub fn validate(&self) -> Result<(), Failure> {
        if self.user.trim().is_empty() {
            return Err(Failure::new(
                Code::MissingValue,
                "the image's file name gives no user identifier",
            ));
        }
        Ok(())
    }
}
