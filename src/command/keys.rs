//! How a row names an existing record: the identifier fields of accounts, courses, categories,
//! groups and cohorts, which commands carry and the settings choose among.

use serde::Deserialize;

/// The field that identifies an existing account.
#[derive(
    Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum UserIdentifier {
    #[default]
    Username,
    Idnumber,
    Email,
    Id,
}

impl UserIdentifier {
    pub fn column(self) -> &'static str {
        match self {
            UserIdentifier::Username => "username",
            UserIdentifier::Idnumber => "idnumber",
            UserIdentifier::Email => "email",
            UserIdentifier::Id => "id",
        }
    }
}

/// The field that identifies an existing course.
#[derive(
    Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum CourseIdentifier {
    #[default]
    Shortname,
    Idnumber,
    Id,
}

impl CourseIdentifier {
    pub fn column(self) -> &'static str {
        match self {
            CourseIdentifier::Shortname => "shortname",
            CourseIdentifier::Idnumber => "idnumber",
            CourseIdentifier::Id => "id",
        }
    }
}

/// How a course's `category` cell names its category.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum CategoryIdentifier {
    /// Names from the top, `A/B/C`; missing levels are created.
    #[default]
    Path,
    Idnumber,
    Id,
}

/// The field that identifies a group or a grouping within its course.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum GroupIdentifier {
    #[default]
    Name,
    Idnumber,
    Id,
}

impl GroupIdentifier {
    pub fn column(self) -> &'static str {
        match self {
            GroupIdentifier::Name => "name",
            GroupIdentifier::Idnumber => "idnumber",
            GroupIdentifier::Id => "id",
        }
    }
}

/// The field that identifies a cohort.
#[derive(
    Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum CohortIdentifier {
    #[default]
    Idnumber,
    Name,
    Id,
}

impl CohortIdentifier {
    pub fn column(self) -> &'static str {
        match self {
            CohortIdentifier::Idnumber => "idnumber",
            CohortIdentifier::Name => "name",
            CohortIdentifier::Id => "id",
        }
    }
}
