//! The one registry of stable error codes. Reports, trybacks, the journal and the JSON output
//! cite these codes; a code is never reused once retired, only marked as such here.

use std::fmt;

/// A stable error code: `MS-` + family letter + three digits.
/// Families: C configuration, I input file, S script, V command validation, T target,
/// F the external feed and mail, R a Moodle site over REST, O the run's own outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Code {
    // Configuration and presets: nothing is done.
    ConfigUnreadable,
    ConfigInvalid,
    PresetInvalid,
    ScriptMissing,
    DataFolderMissing,
    // Input files: the whole file is refused and moved to Rejected/.
    FileUnreadable,
    FileEmpty,
    FileBinary,
    FileNotUtf8,
    FileWrongDelimiter,
    HeaderDuplicate,
    HeaderEmptyName,
    HeaderRejected,
    // Input rows: the row fails and goes to the tryback.
    RowFieldCount,
    RowFieldTooLong,
    // Scripts.
    ScriptParse,
    ScriptThrow,
    ScriptRuntime,
    ScriptBudget,
    ScriptTooLarge,
    ScriptBadReturn,
    // Command validation.
    InvalidUsername,
    InvalidEmail,
    MissingValue,
    InvalidValue,
    // Target.
    CollisionUsername,
    CollisionEmail,
    CollisionIdnumber,
    RenameSourceMissing,
    AmbiguousMatch,
    ProtectedAccount,
    UnknownProfileField,
    Storage,
    NotFound,
    CourseShortnameTaken,
    CourseIdnumberTaken,
    CategoryUnresolved,
    UnknownRole,
    SiteCourse,
    GroupTaken,
    ArchiveUnreadable,
    ArchiveOverLimits,
    EntryUnsafeName,
    ImageUnsupported,
    ImageTooLarge,
    ImageCorrupt,
    CohortIdnumberTaken,
    HeaderTooWide,
    NotRegularFile,
    FileUtf16,
    EntryDuplicateUser,
    // The external feed and mail: reported, the run goes on.
    FeedUnreadable,
    FeedLockNotAFile,
    FeedStaleLock,
    FeedFileSkipped,
    FeedLockTooOld,
    MailFailed,
    // The run's own outputs: the input waits in inbox/ until they can be written.
    OutputUnwritable,
    // A Moodle site over its REST web services.
    RemoteUnreachable,
    RemoteAccess,
    RemoteMaintenance,
    RemoteRejected,
    RemoteWarning,
    RemoteUnsupported,
    RemoteBadAnswer,
    RemoteTooLarge,
}

impl Code {
    /// The stable identifier written to reports. Never change one; add a new variant instead.
    pub fn id(self) -> &'static str {
        use Code::*;
        match self {
            ConfigUnreadable => "MS-C001",
            ConfigInvalid => "MS-C002",
            PresetInvalid => "MS-C003",
            ScriptMissing => "MS-C004",
            DataFolderMissing => "MS-C005",
            FileUnreadable => "MS-I001",
            FileEmpty => "MS-I002",
            FileBinary => "MS-I003",
            FileNotUtf8 => "MS-I004",
            FileWrongDelimiter => "MS-I005",
            HeaderDuplicate => "MS-I006",
            HeaderEmptyName => "MS-I007",
            HeaderRejected => "MS-I008",
            RowFieldCount => "MS-I101",
            RowFieldTooLong => "MS-I102",
            ScriptParse => "MS-S001",
            ScriptThrow => "MS-S002",
            ScriptRuntime => "MS-S003",
            ScriptBudget => "MS-S004",
            ScriptTooLarge => "MS-S005",
            ScriptBadReturn => "MS-S006",
            InvalidUsername => "MS-V001",
            InvalidEmail => "MS-V002",
            MissingValue => "MS-V003",
            InvalidValue => "MS-V004",
            CollisionUsername => "MS-T001",
            CollisionEmail => "MS-T002",
            CollisionIdnumber => "MS-T003",
            RenameSourceMissing => "MS-T004",
            AmbiguousMatch => "MS-T005",
            ProtectedAccount => "MS-T006",
            UnknownProfileField => "MS-T007",
            Storage => "MS-T008",
            NotFound => "MS-T009",
            CourseShortnameTaken => "MS-T010",
            CourseIdnumberTaken => "MS-T011",
            CategoryUnresolved => "MS-T012",
            UnknownRole => "MS-T013",
            SiteCourse => "MS-T014",
            GroupTaken => "MS-T015",
            ArchiveUnreadable => "MS-I009",
            ArchiveOverLimits => "MS-I010",
            EntryUnsafeName => "MS-I103",
            ImageUnsupported => "MS-I104",
            ImageTooLarge => "MS-I105",
            ImageCorrupt => "MS-I106",
            CohortIdnumberTaken => "MS-T016",
            HeaderTooWide => "MS-I011",
            NotRegularFile => "MS-I012",
            FileUtf16 => "MS-I013",
            EntryDuplicateUser => "MS-I107",
            FeedUnreadable => "MS-F001",
            FeedLockNotAFile => "MS-F002",
            FeedStaleLock => "MS-F003",
            FeedFileSkipped => "MS-F004",
            FeedLockTooOld => "MS-F005",
            MailFailed => "MS-F006",
            OutputUnwritable => "MS-O001",
            RemoteUnreachable => "MS-R001",
            RemoteAccess => "MS-R002",
            RemoteMaintenance => "MS-R003",
            RemoteRejected => "MS-R004",
            RemoteWarning => "MS-R005",
            RemoteUnsupported => "MS-R006",
            RemoteBadAnswer => "MS-R007",
            RemoteTooLarge => "MS-R008",
        }
    }

    /// One-line description of what the code means, for `docs/` and `--help` texts.
    pub fn summary(self) -> &'static str {
        use Code::*;
        match self {
            ConfigUnreadable => "the settings file cannot be read",
            ConfigInvalid => "the settings file has an unknown key or a bad value",
            PresetInvalid => "a preset file is invalid",
            ScriptMissing => "a preset names a script that does not exist",
            DataFolderMissing => "the data folder is missing or not initialised",
            FileUnreadable => "the input file cannot be read",
            FileEmpty => "the input file is empty",
            FileBinary => "the input file is not text",
            FileNotUtf8 => "the input file is declared UTF-8 but is not",
            FileWrongDelimiter => "the header does not use the configured delimiter",
            HeaderDuplicate => "two header columns have the same name",
            HeaderEmptyName => "a header column has no name",
            HeaderRejected => "the script's header() rejected the columns",
            RowFieldCount => "the row has more or fewer fields than the header",
            RowFieldTooLong => "a field is longer than the configured limit",
            ScriptParse => "the script does not compile",
            ScriptThrow => "the script failed the row with throw",
            ScriptRuntime => "the script hit an error while mapping the row",
            ScriptBudget => "the script used up its operation budget (a loop?)",
            ScriptTooLarge => "the script built a string, array or map over its limit, or held more memory than [limits] max_memory_mb",
            ScriptBadReturn => "the script returned something that is not a command",
            InvalidUsername => "the username does not pass Moodle's username rule",
            InvalidEmail => "the email address does not pass Moodle's check",
            MissingValue => "a required value is missing",
            InvalidValue => "a value is not in an accepted form",
            CollisionUsername => "the username belongs to another account",
            CollisionEmail => "the email belongs to another account",
            CollisionIdnumber => "the idnumber belongs to another account",
            RenameSourceMissing => "no account has the old username to rename",
            AmbiguousMatch => "several accounts match the identifier",
            ProtectedAccount => "the guest and admin accounts cannot be changed this way",
            UnknownProfileField => "no custom profile field has that shortname",
            Storage => "the store refused the write",
            NotFound => "the entity to change does not exist",
            CourseShortnameTaken => "the shortname belongs to another course",
            CourseIdnumberTaken => "the idnumber belongs to another course",
            CategoryUnresolved => "the category cannot be found or created",
            UnknownRole => "no role has that shortname",
            SiteCourse => "the site course (front page) cannot be changed by a feed",
            GroupTaken => "another group or grouping of the course has that name or idnumber",
            ArchiveUnreadable => {
                "the picture archive cannot be read (corrupt, or not a zip or a folder)"
            }
            ArchiveOverLimits => {
                "the archive is over the limits on entries, unpacked size or compression ratio"
            }
            EntryUnsafeName => {
                "an archive entry's name leaves the archive (.. or an absolute path)"
            }
            ImageUnsupported => "the entry is not a JPEG, PNG or GIF image by its content",
            ImageTooLarge => "the image is over the size or dimension limits",
            ImageCorrupt => "the image cannot be decoded",
            CohortIdnumberTaken => "the idnumber belongs to another cohort",
            HeaderTooWide => "the header has more columns than moosync reads (1,000)",
            NotRegularFile => {
                "the input is not a regular file (a FIFO, socket, device, link or folder)"
            }
            FileUtf16 => "the input file is UTF-16 text: convert it to UTF-8",
            EntryDuplicateUser => "two archive entries give a picture for the same name",
            FeedUnreadable => "the drop folder cannot be read: nothing was captured",
            FeedLockNotAFile => {
                "a lock file in the drop folder is not a file: nothing was captured"
            }
            FeedStaleLock => "a lock.txt left by a moosync that is gone was replaced",
            FeedFileSkipped => {
                "a file in the drop folder was not captured (a link, unreadable, or vanished)"
            }
            FeedLockTooOld => "a lock file is older than [feed] stale_lock_minutes: an alarm",
            MailFailed => "a mail could not be sent; the run goes on",
            OutputUnwritable => "a report, tryback, archive or the journal could not be written: the input stays in inbox/ and runs again",
            RemoteUnreachable => "Moodle cannot be reached, or kept failing after the retries: the file stops and waits in inbox/",
            RemoteAccess => "Moodle refused the token, a function or a permission: the file stops and waits in inbox/",
            RemoteMaintenance => "the Moodle site is in maintenance mode: the file stops and waits in inbox/",
            RemoteRejected => "Moodle rejected the row (its own error code and message follow)",
            RemoteWarning => "Moodle skipped the row with a warning (its own warning code and message follow)",
            RemoteUnsupported => "Moodle has no web service for this command: it needs the embedded store or a Moodle-side plugin",
            RemoteBadAnswer => "Moodle's answer is not what the function returns: the row's outcome is unknown, check it in Moodle",
            RemoteTooLarge => {
                "Moodle's answer is larger than moosync takes for one call: the file stops and waits in inbox/"
            }
        }
    }

    /// What an operator does about it: the one line `problems` and the console show beside
    /// a failure.
    pub fn remedy(self) -> &'static str {
        use Code::*;
        match self {
            ConfigUnreadable => "make moosync.toml readable by the user moosync runs as",
            ConfigInvalid => {
                "fix the key the message names (file, line and column) in moosync.toml"
            }
            PresetInvalid => "fix the preset file the message names (presets/*.toml)",
            ScriptMissing => "put the script in scripts/ or fix the preset's script name",
            DataFolderMissing => "run `moosync --data DIR init`, or pass the right --data",
            FileUnreadable => "check the file's permissions, then drop it into inbox/ again",
            FileEmpty => "ask the sender for the file again: it arrived empty",
            FileBinary => "export the feed as CSV text (not a spreadsheet), then drop it again",
            FileNotUtf8 => "save the file as UTF-8, or set the preset's encoding to what it is",
            FileWrongDelimiter => {
                "export with the configured delimiter, or set the preset's delimiter"
            }
            HeaderDuplicate => "rename one of the two columns in the file's header",
            HeaderEmptyName => "give every header column a name",
            HeaderRejected => "send a file with the columns the script's header() asks for",
            RowFieldCount => "quote fields that hold the delimiter, or fix the row's field count",
            RowFieldTooLong => "shorten the field, or raise [csv] max_field_bytes",
            ScriptParse => "fix the script at the line and column named; `moosync plan` checks it",
            ScriptThrow => "fix the row as the script's message says, then replay the tryback",
            ScriptRuntime => "fix the script (or the row it trips on); `moosync plan` shows it",
            ScriptBudget => "look for a loop in the script, or raise [limits] max_operations",
            ScriptTooLarge => "make the script build smaller values, or raise the [limits]",
            ScriptBadReturn => "make fn row return a command, an array of commands or skip()",
            InvalidUsername => {
                "fix the username in the source: lower case letters, digits, _ - . @"
            }
            InvalidEmail => "fix the email address in the source",
            MissingValue => "fill in the value the message names, then replay the tryback",
            InvalidValue => "fix the value the message names, then replay the tryback",
            CollisionUsername => {
                "the username is another person's: fix the source, or rename the account"
            }
            CollisionEmail => "the email is another account's: fix the source or that account",
            CollisionIdnumber => {
                "the idnumber is another account's: fix the source or that account"
            }
            RenameSourceMissing => "check the old username, or create the account first",
            AmbiguousMatch => {
                "make the identifier unique on the site (merge or fix the duplicates)"
            }
            ProtectedAccount => "leave guest and admin out of the feed",
            UnknownProfileField => "create the profile field in Moodle, or fix the column name",
            Storage => "check the disk and the store; the file runs again from inbox/",
            NotFound => "create it first (an earlier file), or fix the identifier",
            CourseShortnameTaken => "give the course another shortname, or fix the source",
            CourseIdnumberTaken => "give the course another idnumber, or fix the source",
            CategoryUnresolved => "create the category, or fix the category path in the row",
            UnknownRole => "use a role shortname the site has (student, editingteacher…)",
            SiteCourse => "leave the front page course out of the feed",
            GroupTaken => "give the group another name or idnumber",
            ArchiveUnreadable => "send the pictures again as a zip or a folder",
            ArchiveOverLimits => "split the archive, or raise the [pictures] limits",
            EntryUnsafeName => "rebuild the archive with plain entry names",
            ImageUnsupported => "send the picture as JPEG, PNG or GIF",
            ImageTooLarge => "send a smaller picture, or raise the [pictures] limits",
            ImageCorrupt => "send the picture again: it cannot be decoded",
            CohortIdnumberTaken => "give the cohort another idnumber, or fix the source",
            HeaderTooWide => "export only the columns the tool reads",
            NotRegularFile => "drop a regular file (not a link, FIFO or folder)",
            FileUtf16 => "save the file as UTF-8 (Excel: CSV UTF-8)",
            EntryDuplicateUser => "keep one picture per user in the archive",
            FeedUnreadable => "check the drop folder's path and permissions ([feed] drop_folder)",
            FeedLockNotAFile => {
                "remove the folder or link named like the lock file from the drop folder"
            }
            FeedStaleLock => "nothing: it was replaced; check why the last moosync died",
            FeedFileSkipped => "check the file's type and permissions in the drop folder",
            FeedLockTooOld => "ask the sender why its lock file stays; remove it once it is stale",
            MailFailed => "check the [mail] settings with `moosync check-mail`",
            OutputUnwritable => {
                "free disk space or fix the folder's permissions; the file runs again"
            }
            RemoteUnreachable => "check that Moodle is up and [target] url; the file runs again",
            RemoteAccess => {
                "check the token and its service's functions with `moosync check-target`"
            }
            RemoteMaintenance => "wait for the site to leave maintenance mode; the file runs again",
            RemoteRejected => "read Moodle's message, fix the row, then replay the tryback",
            RemoteWarning => "read Moodle's warning, fix the row, then replay the tryback",
            RemoteUnsupported => "use the embedded store, or install the local_moosync plugin",
            RemoteBadAnswer => "check the row's entity in Moodle by hand; its outcome is unknown",
            RemoteTooLarge => "lower [target] batch_size; the file runs again",
        }
    }

    /// A fault of the tool script rather than of the input.
    pub fn is_script(self) -> bool {
        self.id().starts_with("MS-S")
    }

    pub const ALL: &'static [Code] = &[
        Code::ConfigUnreadable,
        Code::ConfigInvalid,
        Code::PresetInvalid,
        Code::ScriptMissing,
        Code::DataFolderMissing,
        Code::FileUnreadable,
        Code::FileEmpty,
        Code::FileBinary,
        Code::FileNotUtf8,
        Code::FileWrongDelimiter,
        Code::HeaderDuplicate,
        Code::HeaderEmptyName,
        Code::HeaderRejected,
        Code::RowFieldCount,
        Code::RowFieldTooLong,
        Code::ScriptParse,
        Code::ScriptThrow,
        Code::ScriptRuntime,
        Code::ScriptBudget,
        Code::ScriptTooLarge,
        Code::ScriptBadReturn,
        Code::InvalidUsername,
        Code::InvalidEmail,
        Code::MissingValue,
        Code::InvalidValue,
        Code::CollisionUsername,
        Code::CollisionEmail,
        Code::CollisionIdnumber,
        Code::RenameSourceMissing,
        Code::AmbiguousMatch,
        Code::ProtectedAccount,
        Code::UnknownProfileField,
        Code::Storage,
        Code::NotFound,
        Code::CourseShortnameTaken,
        Code::CourseIdnumberTaken,
        Code::CategoryUnresolved,
        Code::UnknownRole,
        Code::SiteCourse,
        Code::GroupTaken,
        Code::ArchiveUnreadable,
        Code::ArchiveOverLimits,
        Code::EntryUnsafeName,
        Code::ImageUnsupported,
        Code::ImageTooLarge,
        Code::ImageCorrupt,
        Code::CohortIdnumberTaken,
        Code::HeaderTooWide,
        Code::NotRegularFile,
        Code::FileUtf16,
        Code::EntryDuplicateUser,
        Code::FeedUnreadable,
        Code::FeedLockNotAFile,
        Code::FeedStaleLock,
        Code::FeedFileSkipped,
        Code::FeedLockTooOld,
        Code::MailFailed,
        Code::OutputUnwritable,
        Code::RemoteUnreachable,
        Code::RemoteAccess,
        Code::RemoteMaintenance,
        Code::RemoteRejected,
        Code::RemoteWarning,
        Code::RemoteUnsupported,
        Code::RemoteBadAnswer,
        Code::RemoteTooLarge,
    ];
}

impl Code {
    /// The code with this identifier (`MS-T001`), for codes read back from state.db.
    pub fn from_id(id: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.id() == id)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A failure with its stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            let id = c.id();
            assert!(seen.insert(id), "duplicate code {id}");
            assert_eq!(id.len(), 7, "{id}");
            assert!(id.starts_with("MS-"));
            assert!("CISVTFRO".contains(&id[3..4]), "{id}");
            assert!(!c.summary().is_empty());
            assert!(!c.remedy().is_empty());
        }
    }
}

#[cfg(test)]
mod docs_tests {
    use super::Code;

    #[test]
    fn error_code_page_lists_every_code() {
        let page = include_str!("../docs/error-codes.md");
        for c in Code::ALL {
            let row = format!("| {} | {} |", c.id(), c.summary());
            assert!(page.contains(&row), "docs/error-codes.md lacks: {row}");
        }
    }
}
