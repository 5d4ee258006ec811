//! The users tool end to end: create, update, rename, delete, collisions, replay.

use crate::workdir::{snapshot_settings, Workdir};

const HEADER: &str = "username;firstname;lastname;email;idnumber;city\n";

fn with_users(rows: &str) -> Workdir {
    let w = Workdir::new();
    w.drop_file("userimport.csv", format!("{HEADER}{rows}"));
    w.run().expect_code(0);
    w
}

#[test]
fn creates_users_with_moodle_shape() {
    let w = with_users("jdoe;John;Doe;John.Doe@Example.edu;S1;Lyon\n");
    assert_eq!(
        w.user_field("jdoe", "email").as_deref(),
        Some("John.Doe@Example.edu")
    );
    assert_eq!(w.user_field("jdoe", "confirmed").as_deref(), Some("1"));
    assert_eq!(w.user_field("jdoe", "mnethostid").as_deref(), Some("1"));
    assert_eq!(w.user_field("jdoe", "auth").as_deref(), Some("manual"));
    // A user context under the system context, path /1/<contextid>, depth 2.
    let (path, depth): (String, i64) = w
        .db()
        .query_row(
            "SELECT c.path, c.depth FROM mdl_context c JOIN mdl_user u ON c.instanceid = u.id AND c.contextlevel = 30 WHERE u.username = 'jdoe'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let ctxid: i64 = w.count("SELECT c.id FROM mdl_context c JOIN mdl_user u ON c.instanceid = u.id AND c.contextlevel = 30 WHERE u.username = 'jdoe'");
    assert_eq!((path, depth), (format!("/1/{ctxid}"), 2));
    // The input went to Archives/, the journal recorded the created entity.
    assert!(w.files("inbox").is_empty());
    assert_eq!(w.files("Archives").len(), 1);
    let created: i64 = rusqlite::Connection::open(w.join("state.db"))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM created_entities WHERE entity = 'user' AND label = 'jdoe'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(created, 1);
}

#[test]
fn update_writes_only_the_columns_supplied() {
    let w = with_users("jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;idnumber\njdoe;Johnny;Doe;\n",
    );
    let out = w.run();
    out.expect_code(0);
    assert!(out.stdout.contains("1 updated"), "{}", out.stdout);
    assert_eq!(w.user_field("jdoe", "firstname").as_deref(), Some("Johnny"));
    // No city column, and an empty idnumber cell: both left as they were.
    assert_eq!(w.user_field("jdoe", "city").as_deref(), Some("Lyon"));
    assert_eq!(w.user_field("jdoe", "idnumber").as_deref(), Some("S1"));
    assert!(
        w.report().contains("updated user jdoe (id 3): firstname"),
        "{}",
        w.report()
    );
}

#[test]
fn unchanged_rerun_changes_nothing() {
    let w = with_users("jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n");
    let before = w.user_field("jdoe", "timemodified");
    w.drop_file(
        "userimport.csv",
        format!("{HEADER}jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n"),
    );
    let out = w.run();
    assert!(out.stdout.contains("1 unchanged"), "{}", out.stdout);
    assert_eq!(w.user_field("jdoe", "timemodified"), before);
}

#[test]
fn email_may_change_unless_another_account_has_it() {
    let w = with_users(
        "jdoe;John;Doe;jdoe@example.edu;S1;Lyon\nasmith;Ann;Smith;ann@example.edu;S2;Paris\n",
    );
    w.drop_file("userimport.csv", format!("{HEADER}jdoe;John;Doe;john.new@example.edu;S1;Lyon\nasmith;Ann;Smith;JOHN.NEW@example.edu;S2;Paris\n"));
    w.run().expect_code(1);
    assert_eq!(
        w.user_field("jdoe", "email").as_deref(),
        Some("john.new@example.edu")
    );
    assert_eq!(
        w.user_field("asmith", "email").as_deref(),
        Some("ann@example.edu")
    );
    let report = w.report();
    assert!(report.contains("failed MS-T002: email 'JOHN.NEW@example.edu' already belongs to account id 3 (jdoe, john.new@example.edu)"), "{report}");
}

#[test]
fn collisions_name_the_other_account() {
    let w = with_users("jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n");
    w.settings("[users]\nidentifier = \"idnumber\"\n");
    // A new idnumber, but the username belongs to jdoe (S1): a collision, not a silent merge.
    w.drop_file("userimport.csv", format!("{HEADER}jdoe;Other;Person;other@example.edu;S9;Nice\nnewbie;New;Bie;nb@example.edu;S1;Nice\n"));
    w.run().expect_code(1);
    let report = w.report();
    assert!(report.contains("userimport.csv:2: failed MS-T001: username 'jdoe' already belongs to account id 3 (jdoe, jdoe@example.edu)"), "{report}");
    // With identifier idnumber, S1 finds jdoe and renames it to newbie.
    assert!(
        report.contains("userimport.csv:3: applied: renamed user jdoe -> newbie (id 3); updated user newbie (id 3): username"),
        "{report}"
    );
    // With renaming off, the same row fails instead of renaming behind the admin's back.
    w.settings("[users]\nidentifier = \"idnumber\"\nallow_rename = false\n");
    w.drop_file(
        "userimport.csv",
        format!("{HEADER}again;New;Bie;nb@example.edu;S1;Nice\n"),
    );
    w.run().expect_code(1);
    assert!(
        w.report()
            .contains("failed MS-V004: the row would rename 'newbie' to 'again'"),
        "{}",
        w.report()
    );
    assert_eq!(w.user_field("newbie", "id").as_deref(), Some("3"));
}

#[test]
fn an_unknown_id_is_not_created_under_another_id() {
    let w = Workdir::new();
    w.settings("[users]\nidentifier = \"id\"\n");
    w.script(
        "users.rhai",
        "fn row(r) { #{ op: \"user_upsert\", id: parse_int(r.id), username: r.username, firstname: \"F\", lastname: \"L\" } }",
    );
    w.drop_file("userimport.csv", "id;username\n50;u1\n");
    w.run().expect_code(1);
    assert!(
        w.report().contains("failed MS-T009: no account has id 50"),
        "{}",
        w.report()
    );
    assert!(w.user_field("u1", "id").is_none());
}

#[test]
fn rename_keeps_the_account_and_replays_cleanly() {
    let w = with_users("jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n");
    let rename = "username;firstname;lastname;oldusername\njohn.doe;John;Doe;jdoe\n";
    w.drop_file("userimport.csv", rename);
    w.run().expect_code(0);
    assert_eq!(w.user_field("john.doe", "id").as_deref(), Some("3"));
    assert!(w.user_field("jdoe", "id").is_none());
    assert!(
        w.report().contains(
            "applied: renamed user jdoe -> john.doe (id 3); updated user john.doe (id 3): username"
        ),
        "{}",
        w.report()
    );
    // The same file again: the account already has its new name, so nothing fails.
    w.drop_file("userimport.csv", rename);
    let out = w.run();
    out.expect_code(0);
    assert!(out.stdout.contains("1 unchanged"), "{}", out.stdout);
    // A rename whose source never existed fails the row.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;oldusername\nx1;X;Y;ghost\n",
    );
    w.run().expect_code(1);
    assert!(w.report().contains("MS-T004"), "{}", w.report());
}

#[test]
fn soft_delete_as_moodle_does() {
    let w = with_users(
        "jdoe;John;Doe;jdoe@example.edu;S1;Lyon\nkeep;Kee;Pe;keep@example.edu;S2;Lyon\n",
    );
    let id = w.user_field("jdoe", "id").unwrap();
    w.db()
        .execute(
            "INSERT INTO mdl_user_info_data (userid, fieldid, data) VALUES (3, 1, 'https://x')",
            [],
        )
        .unwrap();
    w.db()
        .execute(
            "INSERT INTO mdl_cohort_members (cohortid, userid) VALUES (7, 3)",
            [],
        )
        .unwrap();
    // deleted = 0 and an empty deleted cell never delete (tool_sync deleted on any value).
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;deleted\njdoe;John;Doe;1\nkeep;Kee;Pe;0\n",
    );
    w.run().expect_code(0);
    let (username, email, idnumber, deleted): (String, String, String, i64) = w
        .db()
        .query_row(
            &format!("SELECT username, email, idnumber, deleted FROM mdl_user WHERE id = {id}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(username.starts_with("jdoe@example.edu."), "{username}");
    assert!(
        username["jdoe@example.edu.".len()..].parse::<i64>().is_ok(),
        "{username}"
    );
    assert_eq!(email, md5_hex("jdoe"));
    assert_eq!(idnumber, "");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user_info_data WHERE userid = 3"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_cohort_members WHERE userid = 3"),
        0
    );
    assert_eq!(w.user_field("keep", "deleted").as_deref(), Some("0"));
    assert!(w.report().contains("deleted user jdoe (id 3)"));
    // The username is free again at once.
    w.drop_file(
        "userimport.csv",
        format!("{HEADER}jdoe;John;Doe;jdoe@example.edu;S1;Lyon\n"),
    );
    w.run().expect_code(0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username = 'jdoe' AND deleted = 0"),
        1
    );
    // Deleting an account that is already gone is a skip, not a failure for every later feed.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;deleted\nghost;G;H;1\n",
    );
    w.run().expect_code(0);
    assert!(
        w.report()
            .contains("userimport.csv:2: skipped: no account with username 'ghost' to delete"),
        "{}",
        w.report()
    );
    // The admin account is never deleted.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;deleted\nadmin;A;B;yes\n",
    );
    w.run().expect_code(1);
    assert!(w.report().contains("MS-T006"));
}

fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    format!("{:x}", Md5::digest(s.as_bytes()))
}

#[test]
fn passwords_are_hashed_as_moodle_and_not_rehashed() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;password\npw;P;W;Secret-1\nnopw;N;P;\n",
    );
    w.run().expect_code(0);
    let hash = w.user_field("pw", "password").unwrap();
    assert!(hash.starts_with("$6$rounds=10000$"), "{hash}");
    assert_eq!(w.user_field("nopw", "password").as_deref(), Some(""));
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;password\npw;P;W;Secret-1\n",
    );
    assert!(w.run().stdout.contains("1 unchanged"));
    assert_eq!(w.user_field("pw", "password"), Some(hash.clone()));
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;password\npw;P;W;Other-22\n",
    );
    w.run().expect_code(0);
    assert_ne!(w.user_field("pw", "password"), Some(hash));
    // The plain text never reaches a report.
    for r in w.files("Reports") {
        assert!(!std::fs::read_to_string(r).unwrap().contains("Secret-1"));
    }
}

#[test]
fn tryback_replays_after_the_data_is_fixed() {
    let w = Workdir::new();
    let input = "username;firstname;lastname;email\r\nok1;A;B;ok1@example.edu\r\nbad;C;D;not-an-email\r\nok2;E;F;ok2@example.edu\r\n";
    w.drop_file("userimport.csv", input);
    w.run().expect_code(1);
    let tryback = w.tryback().expect("a tryback");
    // The original header and the failed row, byte for byte with their CRLF.
    assert_eq!(
        tryback,
        b"username;firstname;lastname;email\r\nbad;C;D;not-an-email\r\n"
    );
    let fixed = String::from_utf8(tryback)
        .unwrap()
        .replace("not-an-email", "bad@example.edu");
    let name = w.files("Trybacks")[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // The tryback's name matches the preset's userimport*.csv, so it is picked up as is.
    w.drop_file(&name, fixed);
    w.run().expect_code(0);
    assert_eq!(
        w.user_field("bad", "email").as_deref(),
        Some("bad@example.edu")
    );
}

#[test]
fn dry_run_writes_nothing_and_says_so() {
    let w = Workdir::new();
    w.settings("[embedded]\nprofile_fields = [\"team\"]\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nd1;D;One\nd1;D;Again\n",
    );
    let out = w.moosync(&["run", "--dry-run", "--quiet"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .starts_with("[dry run] users userimport.csv: 2 rows"),
        "{}",
        out.stdout
    );
    // The second row sees the first: a dry run goes through the same code path.
    assert!(
        out.stdout.contains("1 created, 1 updated"),
        "{}",
        out.stdout
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username = 'd1'"),
        0
    );
    assert!(w.report().contains("DRY RUN"));
    assert_eq!(w.files("inbox").len(), 1);
    assert!(w.files("Archives").is_empty() && w.files("Trybacks").is_empty());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user_info_field WHERE shortname = 'team'"),
        0
    );
}

#[test]
fn profile_fields_and_url() {
    let w = Workdir::new();
    w.settings("[embedded]\nprofile_fields = [\"team\"]\n");
    w.drop_file("userimport.csv", "username;firstname;lastname;profile_field_team;url;profile_field_nope\np1;P;One;Blue;https://p1.example;\np2;P;Two;Red;;x\n");
    w.run().expect_code(1);
    let data: Vec<(String, String)> = w
        .db()
        .prepare("SELECT f.shortname, d.data FROM mdl_user_info_data d JOIN mdl_user_info_field f ON f.id = d.fieldid JOIN mdl_user u ON u.id = d.userid WHERE u.username = 'p1' ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        data,
        vec![
            ("team".into(), "Blue".into()),
            ("url".into(), "https://p1.example".into())
        ]
    );
    let report = w.report();
    assert!(
        report.contains(
            "userimport.csv:3: failed MS-T007: no custom profile field has shortname 'nope'"
        ),
        "{report}"
    );
    assert!(
        w.user_field("p2", "id").is_none(),
        "a failed row leaves nothing behind"
    );
}

#[test]
fn report_and_tryback_snapshot() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;country;lang;suspended\n\
         # a comment line\n\
         alice;Alice;A;alice@example.edu;fr;FR_utf8;0\n\
         BOB;Bob;B;bob@example.edu;gb;en;yes\n\
         carol;Carol;C;carol@example.edu;FRA;fr;\n\
         dave;Dave;D;dave@example.edu;DE;de;maybe\n\
         \n\
         e v e;Eve;E;eve@example.edu;DE;de;\n\
         nofirst;;;;;;\n",
    );
    let out = w.run();
    out.expect_code(1);
    // The JSON Lines twin tells the same story as the text report.
    let json = w.report_jsonl();
    assert_eq!(json.len(), 7);
    assert_eq!(json[0]["line"], 3);
    assert_eq!(json[0]["changes"][0]["action"], "created");
    assert_eq!(json[2]["code"], "MS-V004");
    assert_eq!(json[6]["summary"]["failed"], 4);
    assert_eq!(json[6]["status"], "done");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("users_report", w.report());
        insta::assert_snapshot!(
            "users_tryback",
            String::from_utf8(w.tryback().unwrap()).unwrap()
        );
        insta::assert_snapshot!("users_stdout", w.redact(&out.stdout));
    });
}

#[test]
fn exit_code_three_when_another_run_holds_the_lock() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", "username;firstname;lastname\na;B;C\n");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(w.join(".moosync.lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = w.run();
    out.expect_code(3);
    assert!(
        out.stderr.contains("another run holds the lock"),
        "{}",
        out.stderr
    );
    assert_eq!(w.files("inbox").len(), 1);
    drop(lock);
    w.run().expect_code(0);
}

#[test]
fn a_closed_stdout_does_not_stop_the_run() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", format!("{HEADER}jdoe;John;Doe;;;\n"));
    w.drop_file("uploadcourses.csv", "shortname;fullname\nC1;One\n");
    // stdout is a pipe nobody reads: every line moosync prints fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(w.join(""))
        .args(["run", "--quiet"])
        .env_remove("MOOSYNC_DATA")
        .stdout(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(w.files("Archives").len(), 2, "both files ran to the end");
    assert_eq!(w.user_field("jdoe", "firstname").as_deref(), Some("John"));
}

/// Moodle's password policy (a fresh site's by default) on every password given, at creation
/// and at a change, and the site's language packs for a new account's language.
#[test]
fn passwords_meet_the_sites_policy_and_languages_must_be_installed() {
    let w = Workdir::new();
    w.settings("[embedded]\nlanguages = [\"en\", \"fr\"]\nmin_password_length = 10\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;lang;password\n\
         ok;O;K;ok@example.edu;fr;Strong-pass-1\n\
         short;S;H;short@example.edu;en;Pass-1\n\
         de;D;E;de@example.edu;de;Strong-pass-2\n",
    );
    w.run().expect_code(1);
    let report = w.report();
    assert!(report.contains(":2: applied: created user ok"), "{report}");
    assert!(
        report.contains(":3: failed MS-V005: the password does not meet the site's password policy: <div>Passwords must be at least 10 characters long.</div>"),
        "{report}"
    );
    assert!(
        report.contains(":4: failed MS-V006: the language 'de' is not installed on the site (installed: en, fr)"),
        "{report}"
    );
    assert_eq!(w.user_field("short", "id"), None);
    // A change to a weak password is refused too, and the old one kept.
    let before = w.user_field("ok", "password");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;password\nok;O;K;weakweakweak\n",
    );
    w.run().expect_code(1);
    assert!(w.report().contains("failed MS-V005"), "{}", w.report());
    assert_eq!(w.user_field("ok", "password"), before);
    // With the policy off, any password goes.
    w.settings("[embedded]\npassword_policy = false\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;password\nok;O;K;weak\n",
    );
    w.run().expect_code(0);
    assert_ne!(w.user_field("ok", "password"), before);
}
