//! A row's fate, decided once and handed to every sink.

use crate::codes::Failure;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Renamed,
    Deleted,
    /// A check found the entity; nothing changed.
    Found,
    /// Parts of the entity were emptied (a course reset).
    Reset,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Renamed => "renamed",
            Action::Deleted => "deleted",
            Action::Found => "found",
            Action::Reset => "reset",
        }
    }
}

/// One change a command made (or, in a dry run, would have made).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub action: Action,
    /// The Moodle table's entity: `user`, later `course`, `enrolment`…
    pub entity: &'static str,
    pub id: i64,
    /// How a person knows the entity: `jdoe`.
    pub label: String,
    /// For updates, the columns written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl Change {
    /// What `id` is, as the report names it: the entity's own id, or for a membership (an
    /// enrolment, a role, a group or cohort member) and a picture, its user's, which a
    /// reader would otherwise take for the enrolment's.
    pub fn id_name(&self) -> &'static str {
        match self.entity {
            "enrolment" | "role_assignment" | "group_member" | "cohort_member" | "user_picture" => {
                "user id"
            }
            _ => "id",
        }
    }

    /// A change that wrote no columns worth naming.
    pub fn new(action: Action, entity: &'static str, id: i64, label: impl Into<String>) -> Change {
        Change {
            action,
            entity,
            id,
            label: label.into(),
            fields: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(Vec<Change>),
    /// Exactly as when last applied from its preset (`[run] skip_unchanged`): neither the
    /// script nor the target saw it.
    Kept,
    Skipped(String),
    Failed(Failure),
}

impl Outcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Applied(_) => "applied",
            Outcome::Kept => "kept",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// A row's outcome with where it came from in the input.
#[derive(Debug, Clone)]
pub struct RowReport {
    pub line: u64,
    /// Byte range of the row's original text in the input file.
    pub start: u64,
    pub end: u64,
    /// The row's print, when rows are remembered for skipping (`run::unchanged`).
    pub print: Option<crate::run::unchanged::Print>,
    pub outcome: Outcome,
}

/// Counts over a file, for the report's last line, the journal and `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counts {
    pub rows: u64,
    pub applied: u64,
    pub skipped: u64,
    pub failed: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub renamed: u64,
    pub deleted: u64,
    /// Rows skipped as unchanged since they were last applied (`Outcome::Kept`).
    pub kept: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Outcome) {
        self.rows += 1;
        match o {
            Outcome::Applied(changes) => {
                self.applied += 1;
                for c in changes {
                    match c.action {
                        Action::Created => self.created += 1,
                        Action::Updated | Action::Reset => self.updated += 1,
                        Action::Unchanged => self.unchanged += 1,
                        Action::Renamed => self.renamed += 1,
                        Action::Deleted => self.deleted += 1,
                        // A found entity counts as an applied row and nothing else.
                        Action::Found => {}
                    }
                }
            }
            Outcome::Kept => self.kept += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
    }

    pub fn summary_line(&self) -> String {
        // Said only when there are some, so a file that skips nothing reads as it always did.
        let kept = match self.kept {
            0 => String::new(),
            n => format!("{n} unchanged (skipped), "),
        };
        format!(
            "{} rows: {} applied ({} created, {} updated, {} unchanged, {} renamed, {} deleted), {kept}{} skipped, {} failed",
            self.rows, self.applied, self.created, self.updated, self.unchanged, self.renamed, self.deleted, self.skipped, self.failed
        )
    }
}
