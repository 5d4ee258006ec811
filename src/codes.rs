//! The one registry of stable error codes. Reports, trybacks, the journal and the JSON output
//! cite these codes; a code is never reused once retired, only marked as such here.

use std::fmt;

/// Declares every code once, with all that is said of it: the enum, its stable identifier,
/// its one-line summary and its remedy, and the list of all codes, so none can be left out
/// of one of them.
macro_rules! registry {
    ($($name:ident = $id:literal, $summary:literal, $remedy:literal;)*) => {
        /// A stable error code: `MS-` + family letter + three digits.
        /// Families: C configuration, I input file, S script, V command validation, T target,
        /// F the external feed and mail, R a Moodle site over REST, O the run's own outputs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        pub enum Code {
            $($name,)*
        }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The stable identifier written to reports. Never change one; add a new code
            /// instead.
            pub fn id(self) -> &'static str {
                match self {
                    $(Code::$name => $id,)*
                }
            }

            /// One-line description of what the code means, for `docs/` and `--help` texts.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$name => $summary,)*
                }
            }

            /// What an operator does about it: the one line `problems` and the console show
            /// beside a failure.
            pub fn remedy(self) -> &'static str {
                match self {
                    $(Code::$name => $remedy,)*
                }
            }
        }
    };
}

// Each code: `Name = "identifier", "summary", "remedy";` — a new code goes at the end of its
// family with the next free number.
registry! {
    // Configuration and presets: nothing is done.
    ConfigUnreadable = "MS-C001",
        "the settings file cannot be read",
        "make moosync.toml readable by the user moosync runs as";
    ConfigInvalid = "MS-C002",
        "the settings file has an unknown key or a bad value",
        "fix the key the message names (file, line and column) in moosync.toml";
    PresetInvalid = "MS-C003",
        "a preset file is invalid",
        "fix the preset file the message names (presets/*.toml)";
    ScriptMissing = "MS-C004",
        "a preset names a script that does not exist",
        "put the script in scripts/ or fix the preset's script name";
    DataFolderMissing = "MS-C005",
        "the data folder is missing or not initialised",
        "run `moosync --data DIR init`, or pass the right --data";
    // Input files: the whole file is refused and moved to Rejected/.
    FileUnreadable = "MS-I001",
        "the input file cannot be read",
        "check the file's permissions, then drop it into inbox/ again";
    FileEmpty = "MS-I002",
        "the input file is empty",
        "ask the sender for the file again: it arrived empty";
    FileBinary = "MS-I003",
        "the input file is not text",
        "export the feed as CSV text (not a spreadsheet), then drop it again";
    FileNotUtf8 = "MS-I004",
        "the input file is declared UTF-8 but is not",
        "save the file as UTF-8, or set the preset's encoding to what it is";
    FileWrongDelimiter = "MS-I005",
        "the header does not use the configured delimiter",
        "export with the configured delimiter, or set the preset's delimiter";
    HeaderDuplicate = "MS-I006",
        "two header columns have the same name",
        "rename one of the two columns in the file's header";
    HeaderEmptyName = "MS-I007",
        "a header column has no name",
        "give every header column a name";
    HeaderRejected = "MS-I008",
        "the script's header() rejected the columns",
        "send a file with the columns the script's header() asks for";
    // Input rows: the row fails and goes to the tryback.
    RowFieldCount = "MS-I101",
        "the row has more or fewer fields than the header",
        "quote fields that hold the delimiter, or fix the row's field count";
    RowFieldTooLong = "MS-I102",
        "a field is longer than the configured limit",
        "shorten the field, or raise [csv] max_field_bytes";
    // Scripts.
    ScriptParse = "MS-S001",
        "the script does not compile",
        "fix the script at the line and column named; `moosync plan` checks it";
    ScriptThrow = "MS-S002",
        "the script failed the row with throw",
        "fix the row as the script's message says, then replay the tryback";
    ScriptRuntime = "MS-S003",
        "the script hit an error while mapping the row",
        "fix the script (or the row it trips on); `moosync plan` shows it";
    ScriptBudget = "MS-S004",
        "the script used up its operation budget (a loop?)",
        "look for a loop in the script, or raise [limits] max_operations";
    ScriptTooLarge = "MS-S005",
        "the script built a string, array or map over its limit, or held more memory than [limits] max_memory_mb",
        "make the script build smaller values, or raise the [limits]";
    ScriptBadReturn = "MS-S006",
        "the script returned something that is not a command",
        "make fn row return a command, an array of commands or skip()";
    // Command validation.
    InvalidUsername = "MS-V001",
        "the username does not pass Moodle's username rule",
        "fix the username in the source: lower case letters, digits, _ - . @";
    InvalidEmail = "MS-V002",
        "the email address does not pass Moodle's check",
        "fix the email address in the source";
    MissingValue = "MS-V003",
        "a required value is missing",
        "fill in the value the message names, then replay the tryback";
    InvalidValue = "MS-V004",
        "a value is not in an accepted form",
        "fix the value the message names, then replay the tryback";
    PasswordPolicy = "MS-V005",
        "the password does not meet the site's password policy",
        "give a password the policy accepts (the message says what it lacks), or leave the cell empty for Moodle to make one";
    LanguageNotInstalled = "MS-V006",
        "the language is not installed on the site",
        "install the language pack in Moodle, or give the row a language the site has";
    // Target.
    CollisionUsername = "MS-T001",
        "the username belongs to another account",
        "the username is another person's: fix the source, or rename the account";
    CollisionEmail = "MS-T002",
        "the email belongs to another account",
        "the email is another account's: fix the source or that account";
    CollisionIdnumber = "MS-T003",
        "the idnumber belongs to another account",
        "the idnumber is another account's: fix the source or that account";
    RenameSourceMissing = "MS-T004",
        "no account has the old username to rename",
        "check the old username, or create the account first";
    AmbiguousMatch = "MS-T005",
        "several accounts match the identifier",
        "make the identifier unique on the site (merge or fix the duplicates)";
    ProtectedAccount = "MS-T006",
        "the guest and admin accounts cannot be changed this way",
        "leave guest and admin out of the feed";
    UnknownProfileField = "MS-T007",
        "no custom profile field has that shortname",
        "create the profile field in Moodle, or fix the column name";
    Storage = "MS-T008",
        "the store refused the write",
        "check the disk and the store; the file runs again from inbox/";
    NotFound = "MS-T009",
        "the entity to change does not exist",
        "create it first (an earlier file), or fix the identifier";
    CourseShortnameTaken = "MS-T010",
        "the shortname belongs to another course",
        "give the course another shortname, or fix the source";
    CourseIdnumberTaken = "MS-T011",
        "the idnumber belongs to another course",
        "give the course another idnumber, or fix the source";
    CategoryUnresolved = "MS-T012",
        "the category cannot be found or created",
        "create the category, or fix the category path in the row";
    UnknownRole = "MS-T013",
        "no role has that shortname",
        "use a role shortname the site has (student, editingteacher…)";
    SiteCourse = "MS-T014",
        "the site course (front page) cannot be changed by a feed",
        "leave the front page course out of the feed";
    GroupTaken = "MS-T015",
        "another group or grouping of the course has that name or idnumber",
        "give the group another name or idnumber";
    ArchiveUnreadable = "MS-I009",
        "the picture archive cannot be read (corrupt, or not a zip or a folder)",
        "send the pictures again as a zip or a folder";
    ArchiveOverLimits = "MS-I010",
        "the archive is over the limits on entries, unpacked size or compression ratio",
        "split the archive, or raise the [pictures] limits";
    EntryUnsafeName = "MS-I103",
        "an archive entry's name leaves the archive (.. or an absolute path)",
        "rebuild the archive with plain entry names";
    ImageUnsupported = "MS-I104",
        "the entry is not a JPEG, PNG or GIF image by its content",
        "send the picture as JPEG, PNG or GIF";
    ImageTooLarge = "MS-I105",
        "the image is over the size or dimension limits",
        "send a smaller picture, or raise the [pictures] limits";
    ImageCorrupt = "MS-I106",
        "the image cannot be decoded",
        "send the picture again: it cannot be decoded";
    CohortIdnumberTaken = "MS-T016",
        "the idnumber belongs to another cohort",
        "give the cohort another idnumber, or fix the source";
    HeaderTooWide = "MS-I011",
        "the header has more columns than moosync reads (1,000)",
        "export only the columns the tool reads";
    NotRegularFile = "MS-I012",
        "the input is not a regular file (a FIFO, socket, device, link or folder)",
        "drop a regular file (not a link, FIFO or folder)";
    FileUtf16 = "MS-I013",
        "the input file is UTF-16 text: convert it to UTF-8",
        "save the file as UTF-8 (Excel: CSV UTF-8)";
    EntryDuplicateUser = "MS-I107",
        "two archive entries give a picture for the same name",
        "keep one picture per user in the archive";
    // The external feed and mail: reported, the run goes on.
    FeedUnreadable = "MS-F001",
        "the drop folder cannot be read: nothing was captured",
        "check the drop folder's path and permissions ([feed] drop_folder)";
    FeedLockNotAFile = "MS-F002",
        "a lock file in the drop folder is not a file: nothing was captured",
        "remove the folder or link named like the lock file from the drop folder";
    FeedStaleLock = "MS-F003",
        "a lock.txt left by a moosync that is gone was replaced",
        "nothing: it was replaced; check why the last moosync died";
    FeedFileSkipped = "MS-F004",
        "a file in the drop folder was not captured (a link, unreadable, or vanished)",
        "check the file's type and permissions in the drop folder";
    FeedLockTooOld = "MS-F005",
        "a lock file is older than [feed] stale_lock_minutes: an alarm",
        "ask the sender why its lock file stays; remove it once it is stale";
    MailFailed = "MS-F006",
        "a mail could not be sent; the run goes on",
        "check the [mail] settings with `moosync check-mail`";
    // The run's own outputs: the input waits in inbox/ until they can be written.
    OutputUnwritable = "MS-O001",
        "a report, tryback, archive or the journal could not be written: the input stays in inbox/ and runs again",
        "free disk space or fix the folder's permissions; the file runs again";
    // A Moodle site over its REST web services.
    RemoteUnreachable = "MS-R001",
        "Moodle cannot be reached, or kept failing after the retries: the file stops and waits in inbox/",
        "check that Moodle is up and [target] url; the file runs again";
    RemoteAccess = "MS-R002",
        "Moodle refused the token, a function or a permission: the file stops and waits in inbox/",
        "check the token and its service's functions with `moosync check-target`";
    RemoteMaintenance = "MS-R003",
        "the Moodle site is in maintenance mode: the file stops and waits in inbox/",
        "wait for the site to leave maintenance mode; the file runs again";
    RemoteRejected = "MS-R004",
        "Moodle rejected the row (its own error code and message follow)",
        "read Moodle's message, fix the row, then replay the tryback";
    RemoteWarning = "MS-R005",
        "Moodle skipped the row with a warning (its own warning code and message follow)",
        "read Moodle's warning, fix the row, then replay the tryback";
    RemoteUnsupported = "MS-R006",
        "Moodle has no web service for this command: it needs the embedded store or a Moodle-side plugin",
        "use the embedded store, or install the local_moosync plugin";
    RemoteBadAnswer = "MS-R007",
        "Moodle's answer is not what the function returns: the row's outcome is unknown, check it in Moodle",
        "check the row's entity in Moodle by hand; its outcome is unknown";
    RemoteTooLarge = "MS-R008",
        "Moodle's answer is larger than moosync takes for one call: the file stops and waits in inbox/",
        "lower [target] batch_size; the file runs again";
}

impl Code {
    /// A fault of the tool script rather than of the input.
    pub fn is_script(self) -> bool {
        self.id().starts_with("MS-S")
    }
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
