//! Every key of `moosync.toml`, each with a bad value: the load refuses it and says where,
//! line and column, and which key. A key added to the shipped file without a case here fails
//! `every_key_has_a_case`.

use super::*;
use std::collections::BTreeSet;

/// (key, settings text, what the message says after the file name).
const CASES: &[(&str, &str, &str)] = &[
    ("[target] kind", "[target]\nkind = \"lms\"\n", "line 2, column 8: [target] kind: unknown variant"),
    ("[target] url", "[target]\nurl = \"moodle.example.edu\"\n", "line 2, column 7: [target] url \"moodle.example.edu\" must be the Moodle site's address"),
    ("[target] url", "[target]\nkind = \"moodle\"\nurl = \"https://m.example/webservice/rest/server.php\"\ntoken_env = \"T\"\n", "line 3, column 7: [target] url \"https://m.example/webservice/rest/server.php\" must be the site's address, without /webservice"),
    ("[target] token_env", "[target]\ntoken_env = \"MY-TOKEN\"\n", "line 2, column 13: [target] token_env \"MY-TOKEN\" is not an environment variable's name"),
    ("[target] token_env", "[target]\nkind = \"moodle\"\nurl = \"https://m.example\"\n", "line 1, column 1: [target] token_env / token_file name where the web-service token is"),
    ("[target] token_file", "[target]\ntoken_file = \"token.txt\"\n", "line 2, column 14: [target] token_file \"token.txt\" must be an absolute path"),
    ("[target] batch_size", "[target]\nbatch_size = 0\n", "line 2, column 14: [target] batch_size must be between 1 and 1000"),
    ("[target] parallel", "[target]\nparallel = 33\n", "line 2, column 12: [target] parallel must be between 1 and 32"),
    ("[target] timeout_seconds", "[target]\ntimeout_seconds = 0\n", "line 2, column 19: [target] timeout_seconds must be between 1 and 3600"),
    ("[target] retries", "[target]\nretries = 11\n", "line 2, column 11: [target] retries must be between 0 and 10"),
    ("[target.roles]", "[target.roles]\n\"Editing Teacher\" = 3\n", "line 2, column 21: [target.roles] \"Editing Teacher\" is not a role shortname"),
    ("[target.roles]", "[target.roles]\nstudent = 0\n", "line 2, column 11: [target.roles] \"student\" = 0: a role's id on the site is a positive number"),
    ("[csv] delimiter", "[csv]\ndelimiter = \";;\"\n", "line 2, column 13: [csv] delimiter: delimiter must be one ASCII character"),
    ("[csv] encoding", "[csv]\nencoding = \"utf-16\"\n", "line 2, column 12: [csv] encoding: unknown variant"),
    ("[csv] max_field_bytes", "[csv]\nmax_field_bytes = 0\n", "line 2, column 19: [csv] max_field_bytes must be between 1 and 16777216"),
    ("[output] reports", "[output]\nreports = \"yes\"\n", "line 2, column 11: [output] reports: invalid type"),
    ("[output] trybacks", "[output]\ntrybacks = 1\n", "line 2, column 12: [output] trybacks: invalid type"),
    ("[output] archive", "[output]\narchive = \"no\"\n", "line 2, column 11: [output] archive: invalid type"),
    ("[output] remove_input", "[output]\nremove_input = 0\n", "line 2, column 16: [output] remove_input: invalid type"),
    ("[run] batch_size", "[run]\nbatch_size = 0\n", "line 2, column 14: [run] batch_size must be at least 1"),
    ("[run] workers", "[run]\nworkers = 65\n", "line 2, column 11: [run] workers is 65; it must be between 0 (one per core) and 64"),
    ("[run] skip_unchanged", "[run]\nskip_unchanged = \"yes\"\n", "line 2, column 18: [run] skip_unchanged: invalid type"),
    ("[limits] max_operations", "[limits]\nmax_operations = 0\n", "line 2, column 18: [limits] max_operations is 0; it must be between 1 and 100000000"),
    ("[limits] max_call_levels", "[limits]\nmax_call_levels = 100000\n", "line 2, column 19: [limits] max_call_levels is 100000; it must be between 1 and 64"),
    ("[limits] max_string_bytes", "[limits]\nmax_string_bytes = 0\n", "line 2, column 20: [limits] max_string_bytes is 0; it must be between 1 and 16777216"),
    ("[limits] max_array_size", "[limits]\nmax_array_size = 10001\n", "line 2, column 18: [limits] max_array_size is 10001; it must be between 1 and 10000"),
    ("[limits] max_map_size", "[limits]\nmax_map_size = 0\n", "line 2, column 16: [limits] max_map_size is 0; it must be between 1 and 1000"),
    ("[limits] max_memory_mb", "[limits]\nmax_memory_mb = 257\n", "line 2, column 17: [limits] max_memory_mb is 257; it must be between 1 and 256"),
    ("[users] identifier", "[users]\nidentifier = \"phone\"\n", "line 2, column 14: [users] identifier: unknown variant"),
    ("[users] allow_rename", "[users]\nallow_rename = 1\n", "line 2, column 16: [users] allow_rename: invalid type"),
    ("[users] allow_delete", "[users]\nallow_delete = \"no\"\n", "line 2, column 16: [users] allow_delete: invalid type"),
    ("[users] default_auth", "[users]\ndefault_auth = \"Manual\"\n", "line 2, column 16: [users] default_auth \"Manual\" is not an authentication plugin name"),
    ("[users] default_lang", "[users]\ndefault_lang = \"fr-CA\"\n", "line 2, column 16: [users] default_lang \"fr-CA\" is not a Moodle language code such as en, fr or pt_br; write \"fr_ca\""),
    ("[users] default_country", "[users]\ndefault_country = \"UK\"\n", "line 2, column 19: [users] default_country \"UK\" is not a country code Moodle knows"),
    ("[users] default_city", "[users]\n\ndefault_city = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n", "line 3, column 16: [users] default_city is longer than Moodle's 120 characters"),
    ("[users] default_timezone", "[users]\ndefault_timezone = \"GMT+1\"\n", "line 2, column 20: [users] default_timezone \"GMT+1\" is not a time zone Moodle accepts"),
    ("[courses] identifier", "[courses]\nidentifier = \"name\"\n", "line 2, column 14: [courses] identifier: unknown variant"),
    ("[courses] category_identifier", "[courses]\ncategory_identifier = \"name\"\n", "line 2, column 23: [courses] category_identifier: unknown variant"),
    ("[courses] new_categories_visible", "[courses]\nnew_categories_visible = \"yes\"\n", "line 2, column 26: [courses] new_categories_visible: invalid type"),
    ("[courses] update_existing", "[courses]\nupdate_existing = 1\n", "line 2, column 19: [courses] update_existing: invalid type"),
    ("[courses] default_format", "[courses]\ndefault_format = \"grid\"\n", "line 2, column 18: [courses] default_format must be one of"),
    ("[courses] teacher_identifier", "[courses]\nteacher_identifier = \"phone\"\n", "line 2, column 22: [courses] teacher_identifier: unknown variant"),
    ("[courses] teacher_role", "[courses]\nteacher_role = \"Editing Teacher\"\n", "line 2, column 16: [courses] teacher_role \"Editing Teacher\" is not a role shortname"),
    ("[courses] teacher_role", "[target]\nkind = \"moodle\"\nurl = \"https://m.example\"\ntoken_env = \"T\"\n\n[courses]\nteacher_role = \"tutor\"\n", "line 7, column 16: [courses] teacher_role \"tutor\" is not in [target.roles]"),
    ("[enrolments] user_identifier", "[enrolments]\nuser_identifier = \"phone\"\n", "line 2, column 19: [enrolments] user_identifier: unknown variant"),
    ("[enrolments] course_identifier", "[enrolments]\ncourse_identifier = \"name\"\n", "line 2, column 21: [enrolments] course_identifier: unknown variant"),
    ("[enrolments] default_cmd", "[enrolments]\ndefault_cmd = \"move\"\n", "line 2, column 15: [enrolments] default_cmd: unknown variant"),
    ("[groups] course_identifier", "[groups]\ncourse_identifier = \"name\"\n", "line 2, column 21: [groups] course_identifier: unknown variant"),
    ("[groups] group_identifier", "[groups]\ngroup_identifier = \"title\"\n", "line 2, column 20: [groups] group_identifier: unknown variant"),
    ("[groups] grouping_identifier", "[groups]\ngrouping_identifier = \"title\"\n", "line 2, column 23: [groups] grouping_identifier: unknown variant"),
    ("[groups] user_identifier", "[groups]\nuser_identifier = \"phone\"\n", "line 2, column 19: [groups] user_identifier: unknown variant"),
    ("[groups] purge_empty", "[groups]\npurge_empty = \"all\"\n", "line 2, column 15: [groups] purge_empty: unknown variant"),
    ("[cohorts] identifier", "[cohorts]\nidentifier = \"code\"\n", "line 2, column 14: [cohorts] identifier: unknown variant"),
    ("[cohorts] user_identifier", "[cohorts]\nuser_identifier = \"phone\"\n", "line 2, column 19: [cohorts] user_identifier: unknown variant"),
    ("[cohorts] course_identifier", "[cohorts]\ncourse_identifier = \"name\"\n", "line 2, column 21: [cohorts] course_identifier: unknown variant"),
    ("[cohorts] autocreate", "[cohorts]\nautocreate = \"yes\"\n", "line 2, column 14: [cohorts] autocreate: invalid type"),
    ("[pictures] user_identifier", "[pictures]\nuser_identifier = \"phone\"\n", "line 2, column 19: [pictures] user_identifier: unknown variant"),
    ("[pictures] overwrite", "[pictures]\noverwrite = \"yes\"\n", "line 2, column 13: [pictures] overwrite: invalid type"),
    ("[pictures] max_entries", "[pictures]\nmax_entries = 0\n", "line 2, column 15: [pictures] max_entries must be at least 1"),
    ("[pictures] max_unpacked_mb", "[pictures]\nmax_unpacked_mb = 2000000\n", "line 2, column 19: [pictures] max_unpacked_mb must be between 1 and 1048576"),
    ("[pictures] max_ratio", "[pictures]\nmax_ratio = 0\n", "line 2, column 13: [pictures] max_ratio must be at least 1"),
    ("[pictures] max_image_mb", "[pictures]\nmax_image_mb = 2048\n", "line 2, column 16: [pictures] max_image_mb must be between 1 and 1024"),
    ("[pictures] max_side", "[pictures]\nmax_side = 70000\n", "line 2, column 12: [pictures] max_side must be between 1 and 65535"),
    ("[pictures] max_megapixels", "[pictures]\nmax_megapixels = 5000\n", "line 2, column 18: [pictures] max_megapixels must be between 1 and 1000"),
    ("[feed] drop_folder", "[feed]\ndrop_folder = \"\"\n", "line 2, column 15: [feed] drop_folder is empty"),
    ("[feed] stale_lock_minutes", "[feed]\nstale_lock_minutes = 0\n", "line 2, column 22: [feed] stale_lock_minutes must be between 1 and 525600"),
    ("[feed] alarm_every_minutes", "[feed]\nalarm_every_minutes = 600000\n", "line 2, column 23: [feed] alarm_every_minutes must be between 1 and 525600"),
    ("[mail] transport", "[mail]\ntransport = \"pigeon\"\n", "line 2, column 13: [mail] transport: unknown variant"),
    ("[mail] smtp_host", "[mail]\nsmtp_host = \"smtp://mail.example.org\"\n", "line 2, column 13: [mail] smtp_host \"smtp://mail.example.org\" is not a host name"),
    ("[mail] smtp_host", "[mail]\nsmtp_host = \"\"\nfrom = \"m@example.org\"\nto = [\"a@example.org\"]\n", "line 2, column 13: [mail] smtp_host is empty"),
    ("[mail] smtp_port", "[mail]\nsmtp_port = 70000\n", "line 2, column 13: [mail] smtp_port: invalid value"),
    ("[mail] tls", "[mail]\ntls = \"ssl\"\n", "line 2, column 7: [mail] tls: unknown variant"),
    ("[mail] from", "[mail]\nfrom = \"moosync\"\n", "line 2, column 8: [mail] from \"moosync\" is not a valid address"),
    ("[mail] from", "[mail]\nto = [\"a@example.org\"]\n", "line 1, column 1: [mail] from must be set when [mail] to names anyone"),
    ("[mail] to", "[mail]\nfrom = \"m@example.org\"\nto = [\"a@example.org\", \"root@localhost\"]\n", "line 3, column 24: [mail] to[1] \"root@localhost\" is not an address Moodle accepts"),
    ("[mail] username", "[mail]\nusername = \"bot\"\n", "line 2, column 12: [mail] username needs password_env or password_file"),
    ("[mail] password_env", "[mail]\npassword_env = \"SMTP PASS\"\n", "line 2, column 16: [mail] password_env \"SMTP PASS\" is not an environment variable's name"),
    ("[mail] password_file", "[mail]\npassword_file = \"pw.txt\"\n", "line 2, column 17: [mail] password_file \"pw.txt\" must be an absolute path"),
    ("[mail] sendmail_command", "[mail]\nsendmail_command = \"/usr/sbin/sendmail -t\"\n", "line 2, column 20: [mail] sendmail_command \"/usr/sbin/sendmail -t\" must be the sendmail program's path, without arguments"),
    ("[mail] timeout_seconds", "[mail]\ntimeout_seconds = 0\n", "line 2, column 19: [mail] timeout_seconds must be between 1 and 600"),
    ("[mail] summary", "[mail]\nsummary = \"weekly\"\n", "line 2, column 11: [mail] summary: unknown variant"),
    ("[prune] older_than_days", "[prune]\nolder_than_days = 100000\n", "line 2, column 19: [prune] older_than_days must be between 0 (never) and 36500 days"),
    ("[prune] reports", "[prune]\nreports = \"yes\"\n", "line 2, column 11: [prune] reports: invalid type"),
    ("[prune] archives", "[prune]\narchives = 1\n", "line 2, column 12: [prune] archives: invalid type"),
    ("[prune] trybacks", "[prune]\ntrybacks = \"no\"\n", "line 2, column 12: [prune] trybacks: invalid type"),
    ("[web] listen", "[web]\nlisten = \"localhost\"\n", "line 2, column 10: [web] listen \"localhost\" must be an address and a port"),
    ("[web] listen", "[web]\nlisten = \"0.0.0.0:8088\"\n", "line 2, column 10: [web] listen \"0.0.0.0:8088\" is not a loopback address: set [web] allow_remote = true"),
    ("[web] allow_remote", "[web]\nallow_remote = \"yes\"\n", "line 2, column 16: [web] allow_remote: invalid type"),
    ("[web] secret_env", "[web]\nsecret_env = \"MY SECRET\"\n", "line 2, column 14: [web] secret_env \"MY SECRET\" is not an environment variable's name"),
    ("[web] secret_file", "[web]\nsecret_file = \"secret.txt\"\n", "line 2, column 15: [web] secret_file \"secret.txt\" must be an absolute path"),
    ("[web] upload_max_mb", "[web]\nupload_max_mb = 0\n", "line 2, column 17: [web] upload_max_mb must be between 1 and 1024"),
    ("[web] session_minutes", "[web]\nsession_minutes = 1441\n", "line 2, column 19: [web] session_minutes must be between 1 and 1440"),
    ("[embedded] profile_fields", "[embedded]\nprofile_fields = [\"team\", \"team-2\"]\n", "line 2, column 27: [embedded] profile_fields[1] entry \"team-2\" is not a profile field shortname"),
    ("[embedded] languages", "[embedded]\nlanguages = [\"en\", \"fr-CA\"]\n", "line 2, column 20: [embedded] languages[1] entry \"fr-CA\" is not a Moodle language code"),
    ("[embedded] password_policy", "[embedded]\npassword_policy = \"yes\"\n", "line 2, column 19: [embedded] password_policy: invalid type"),
    ("[embedded] min_password_length", "[embedded]\nmin_password_length = 1001\n", "line 2, column 23: [embedded] min_password_length must be between 0 and 1000"),
    ("[embedded] min_password_digits", "[embedded]\nmin_password_digits = 1001\n", "line 2, column 23: [embedded] min_password_digits must be between 0 and 1000"),
    ("[embedded] min_password_lower", "[embedded]\nmin_password_lower = 1001\n", "line 2, column 22: [embedded] min_password_lower must be between 0 and 1000"),
    ("[embedded] min_password_upper", "[embedded]\nmin_password_upper = 1001\n", "line 2, column 22: [embedded] min_password_upper must be between 0 and 1000"),
    ("[embedded] min_password_nonalphanum", "[embedded]\nmin_password_nonalphanum = -1\n", "line 2, column 28: [embedded] min_password_nonalphanum: invalid value"),
    ("[embedded] max_consecutive_identical_chars", "[embedded]\nmax_consecutive_identical_chars = 1001\n", "line 2, column 35: [embedded] max_consecutive_identical_chars must be between 0 and 1000"),
];

#[test]
fn every_bad_value_is_named_with_its_line_and_column() {
    let mut wrong = Vec::new();
    for (key, text, want) in CASES {
        match Config::parse(text, Path::new("m.toml")) {
            Ok(_) => wrong.push(format!("{key}: accepted\n{text}")),
            Err(e) => {
                let want = format!("m.toml: {want}");
                if e.code != Code::ConfigInvalid || !e.message.starts_with(&want) {
                    wrong.push(format!("{key}:\n  want {want}\n  got  {}", e.message));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_key_has_a_case() {
    // The shipped file's keys, its commented-out ones too.
    let text = DEFAULT_TOML
        .replace("\n# drop_folder", "\ndrop_folder")
        .replace("\n# password_file", "\npassword_file")
        .replace("\n# secret_file", "\nsecret_file");
    let doc = toml::de::DeTable::parse(&text).unwrap();
    let mut keys = BTreeSet::new();
    for (table, value) in doc.get_ref() {
        let toml::de::DeValue::Table(t) = value.get_ref() else {
            continue;
        };
        for (key, v) in t {
            match v.get_ref() {
                toml::de::DeValue::Table(_) => {
                    keys.insert(format!("[{}.{}]", table.get_ref(), key.get_ref()))
                }
                _ => keys.insert(format!("[{}] {}", table.get_ref(), key.get_ref())),
            };
        }
    }
    assert!(keys.contains("[feed] drop_folder") && keys.contains("[mail] password_file"));
    let covered: BTreeSet<String> = CASES.iter().map(|(k, _, _)| k.to_string()).collect();
    let missing: Vec<&String> = keys.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "keys without a bad-value case: {missing:?}"
    );
    let unknown: Vec<&String> = covered.difference(&keys).collect();
    assert!(
        unknown.is_empty(),
        "cases of keys the shipped file lacks: {unknown:?}"
    );
}

#[test]
fn the_shipped_defaults_pass_the_same_rules() {
    let text = DEFAULT_TOML
        .replace(
            "# drop_folder = \"/srv/sis-drop\"",
            "drop_folder = \"/srv/sis-drop\"",
        )
        .replace(
            "# password_file = \"/etc/moosync/smtp-password\"",
            "password_file = \"/etc/moosync/smtp-password\"",
        )
        .replace(
            "# secret_file = \"/etc/moosync/console-secret\"",
            "secret_file = \"/etc/moosync/console-secret\"",
        );
    Config::parse(&text, Path::new("moosync.toml")).unwrap();
}
