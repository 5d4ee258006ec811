//! The Moodle REST target end to end: the real moosync binary against a local server that
//! answers as the recorded Moodle 4.4 site did (tests/support/fake_moodle).

use crate::fake_moodle::{DropWhen, FakeMoodle, Odd};
use crate::workdir::{Output, Workdir};

const TOKEN_VAR: &str = "MOOSYNC_TEST_TOKEN";
const HEADER: &str = "username;firstname;lastname;email;password\n";

/// A data folder sending to `site`, its token in the environment.
fn to_moodle(site: &FakeMoodle, extra: &str) -> Workdir {
    let w = Workdir::new();
    w.settings(&format!(
        "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_env = \"{TOKEN_VAR}\"\nretries = 2\n{extra}",
        site.url()
    ));
    w
}

fn run(w: &Workdir) -> Output {
    w.moosync_env(&["run", "--quiet"], &[(TOKEN_VAR, FakeMoodle::TOKEN)])
}

fn users(n: usize, from: usize) -> String {
    let mut s = String::from(HEADER);
    for i in from..from + n {
        s.push_str(&format!(
            "u{i};First{i};Last{i};u{i}@example.edu;Secret-{i}!\n"
        ));
    }
    s
}

fn calls_to(site: &FakeMoodle, function: &str) -> usize {
    site.calls()
        .iter()
        .filter(|c| c.function == function)
        .count()
}

#[test]
fn a_users_file_creates_accounts_and_an_unchanged_rerun_only_reads() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "batch_size = 4\n");
    w.drop_file("userimport.csv", users(10, 0));
    run(&w).expect_code(0);
    for i in 0..10 {
        let u = site.user(&format!("u{i}")).expect("created");
        assert_eq!(u["firstname"], format!("First{i}"));
        assert_eq!(u["email"], format!("u{i}@example.edu"));
    }
    // Ten creates in calls of four.
    assert_eq!(calls_to(&site, "core_user_create_users"), 3);
    assert!(w.report().contains("10 created"), "{}", w.report());

    site.clear_calls();
    // The same accounts again without passwords (which Moodle never shows, so are set only
    // on creation): nothing differs, nothing is written.
    let mut same = String::from("username;firstname;lastname;email\n");
    for i in 0..10 {
        same.push_str(&format!("u{i};First{i};Last{i};u{i}@example.edu\n"));
    }
    w.drop_file("userimport.csv", same);
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    assert!(w.report().contains("10 unchanged"), "{}", w.report());
    // Lookups went in batches too.
    assert!(calls_to(&site, "core_user_get_users_by_field") <= 3 + 1);
}

#[test]
fn a_changed_field_is_the_only_one_sent() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(2, 0));
    run(&w).expect_code(0);
    site.clear_calls();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\nu0;First0;Last0;u0@example.edu\nu1;Renamed;Last1;u1@example.edu\n",
    );
    run(&w).expect_code(0);
    let updates: Vec<_> = site
        .calls()
        .into_iter()
        .filter(|c| c.function == "core_user_update_users")
        .collect();
    assert_eq!(updates.len(), 1);
    let keys: Vec<&str> = updates[0].params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["users[0][id]", "users[0][firstname]"]);
    assert_eq!(site.user("u1").unwrap()["firstname"], "Renamed");
}

#[test]
fn requests_use_moodles_nested_form_encoding() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;profile_field_dept;suspended\nann;Ann;Smith;ann@example.edu;Maths & Stats;1\n",
    );
    run(&w).expect_code(0);
    let create = site
        .calls()
        .into_iter()
        .find(|c| c.function == "core_user_create_users")
        .expect("a create call");
    let has = |k: &str, v: &str| create.params.iter().any(|(pk, pv)| pk == k && pv == v);
    assert!(has("users[0][username]", "ann"), "{:?}", create.params);
    assert!(has("users[0][customfields][0][type]", "dept"));
    assert!(has("users[0][customfields][0][value]", "Maths & Stats"));
    // No password in the file: Moodle makes one and mails it.
    assert!(has("users[0][createpassword]", "1"));
    assert!(create
        .raw_body
        .contains("users%5B0%5D%5Bcustomfields%5D%5B0%5D%5Btype%5D=dept"));
    assert!(create.raw_body.contains("Maths+%26+Stats"));
    // Created suspended: Moodle's create takes no `suspended`, an update follows.
    assert_eq!(site.user("ann").unwrap()["suspended"], true);
}

#[test]
fn one_bad_row_in_a_batch_is_isolated_and_the_rest_created() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "batch_size = 100\n");
    let mut rows = users(20, 0);
    // Moodle's default password policy refuses it; moosync cannot know the site's policy.
    rows = rows.replace(
        "u7;First7;Last7;u7@example.edu;Secret-7!",
        "u7;First7;Last7;u7@example.edu;weak",
    );
    w.drop_file("userimport.csv", rows);
    run(&w).expect_code(1);
    assert!(site.user("u7").is_none());
    for i in (0..20).filter(|i| *i != 7) {
        assert!(site.user(&format!("u{i}")).is_some(), "u{i} created");
    }
    let tryback = String::from_utf8(w.tryback().expect("a tryback")).unwrap();
    assert_eq!(tryback.lines().count(), 2, "{tryback}");
    assert!(tryback.contains("u7;"));
    assert!(w.report().contains("MS-R004"), "{}", w.report());
    assert!(
        w.report().contains("Passwords must be at least 8"),
        "{}",
        w.report()
    );
    // Halving 20 rows down to one: a handful of calls, not one per row.
    let creates = calls_to(&site, "core_user_create_users");
    assert!((3..=11).contains(&creates), "{creates} create calls");
}

#[test]
fn two_bad_rows_in_a_batch_are_both_isolated() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    let rows = users(16, 0)
        .replace("u2@example.edu;Secret-2!", "u2@example.edu;short")
        .replace("u13@example.edu;Secret-13!", "u13@example.edu;nodigits");
    w.drop_file("userimport.csv", rows);
    run(&w).expect_code(1);
    assert_eq!(
        site.users().len(),
        2 + 14,
        "guest, admin and the 14 good accounts"
    );
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert!(
        tryback.contains("u2;") && tryback.contains("u13;"),
        "{tryback}"
    );
}

#[test]
fn rows_moodle_would_refuse_fail_before_any_call() {
    let site = FakeMoodle::start();
    site.add_user(serde_json::json!({
        "username": "taken", "firstname": "T", "lastname": "T", "email": "taken@example.edu"
    }));
    let w = to_moodle(&site, "");
    w.drop_file(
        "userimport.csv",
        format!(
            "{HEADER}a1;A;One;taken@example.edu;Secret-1!\na2;A;Two;same@example.edu;Secret-2!\na3;A;Three;SAME@example.edu;Secret-3!\na4;A;Four;;Secret-4!\n"
        ),
    );
    run(&w).expect_code(1);
    let report = w.report();
    // Another account's address, and one a row above has just taken (a case apart).
    assert!(report.contains(":2: failed MS-T002"), "{report}");
    assert!(report.contains(":4: failed MS-T002"), "{report}");
    assert!(report.contains("email is required"), "{report}");
    // Only a2 went: one create call, nothing refused by Moodle, nothing halved.
    assert_eq!(calls_to(&site, "core_user_create_users"), 1);
    assert!(site.user("a2").is_some());
}

#[test]
fn warnings_from_an_update_fail_only_their_rows() {
    let site = FakeMoodle::start();
    // Stored in mixed case: PostgreSQL's exact lookup does not find it by the lower-cased
    // address, but Moodle's duplicate check on update ignores case.
    site.add_user(serde_json::json!({
        "username": "other", "firstname": "O", "lastname": "O", "email": "Taken@Example.edu"
    }));
    for u in ["keep", "move"] {
        site.add_user(serde_json::json!({
            "username": u, "firstname": "K", "lastname": "K", "email": format!("{u}@example.edu")
        }));
    }
    let w = to_moodle(&site, "");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\nkeep;Kept;K;keep@example.edu\nmove;K;K;taken@example.edu\n",
    );
    run(&w).expect_code(1);
    assert_eq!(
        calls_to(&site, "core_user_update_users"),
        1,
        "one call, two items"
    );
    assert_eq!(site.user("keep").unwrap()["firstname"], "Kept");
    assert_eq!(site.user("move").unwrap()["email"], "move@example.edu");
    let report = w.report();
    assert!(report.contains(":3: failed MS-R005"), "{report}");
    assert!(report.contains("useremailduplicate"), "{report}");
}

#[test]
fn a_deleted_account_found_by_its_id_is_gone_as_in_the_embedded_store() {
    let site = FakeMoodle::start();
    let gone = site.add_user(serde_json::json!({
        "username": "gone", "firstname": "G", "lastname": "G", "email": "gone@example.edu"
    }));
    site.delete_user(gone);
    // By id, Moodle still returns a deleted account (renamed, an md5 for its e-mail).
    let w = to_moodle(&site, "[users]\nidentifier = \"id\"\n");
    // tool_sync's users columns have no id: a site's own script can match accounts by it.
    w.script(
        "users.rhai",
        "fn row(r) {\n    if r.deleted == \"1\" { return #{ op: \"user_delete\", id: parse_int(r.id) }; }\n    #{ op: \"user_upsert\", id: parse_int(r.id), username: r.username, firstname: r.firstname, lastname: r.lastname }\n}\n",
    );
    w.drop_file(
        "userimport.csv",
        format!(
            "id;username;firstname;lastname;deleted\n{gone};gone;Back;G;0\n{gone};gone;G;G;1\n"
        ),
    );
    run(&w).expect_code(1);
    let report = w.report();
    assert!(report.contains(":2: failed MS-T009"), "{report}");
    assert!(report.contains(":3: skipped"), "{report}");
    assert_eq!(site.write_calls(), 0, "{report}");
}

#[test]
fn rows_touching_one_account_go_in_file_order() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(1, 0));
    run(&w).expect_code(0);
    // The address u0 frees is taken by a new account two rows later, in the same batch.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;deleted\nu0;First0;Last0;u0@example.edu;1\nnew;N;N;other@example.edu;0\nheir;H;H;u0@example.edu;0\n",
    );
    run(&w).expect_code(0);
    assert!(site.user("u0").is_none());
    assert_eq!(site.user("heir").unwrap()["email"], "u0@example.edu");
}

#[test]
fn a_dropped_lookup_is_retried() {
    let site = FakeMoodle::start();
    site.drop_next("core_user_get_users_by_field", DropWhen::BeforeApply, 1);
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(3, 0));
    run(&w).expect_code(0);
    assert_eq!(site.users().len(), 2 + 3);
    site.fail_next_5xx("core_user_get_users_by_field", 1);
    w.drop_file("userimport.csv", users(3, 0));
    run(&w).expect_code(0);
}

#[test]
fn a_create_whose_answer_was_lost_is_checked_not_sent_again() {
    let site = FakeMoodle::start();
    // Moodle creates the accounts, then the connection drops before the answer.
    site.drop_next("core_user_create_users", DropWhen::AfterApply, 1);
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(3, 0));
    run(&w).expect_code(0);
    assert_eq!(
        calls_to(&site, "core_user_create_users"),
        1,
        "never sent twice"
    );
    assert_eq!(site.users().len(), 2 + 3);
    assert!(w.report().contains("3 created"), "{}", w.report());
}

#[test]
fn a_create_lost_before_moodle_ran_it_is_sent_again_after_a_check() {
    let site = FakeMoodle::start();
    site.drop_next("core_user_create_users", DropWhen::BeforeApply, 1);
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(3, 0));
    run(&w).expect_code(0);
    assert_eq!(calls_to(&site, "core_user_create_users"), 2);
    assert_eq!(site.users().len(), 2 + 3);
}

/// The file stopped with one error line, the input back in inbox/, no row reported failed.
fn assert_stopped(w: &Workdir, out: &Output, code: &str) {
    // A site down or in maintenance has its own exit code; the rest is a configuration error.
    out.expect_code(if code == "MS-R001" || code == "MS-R003" {
        4
    } else {
        2
    });
    assert!(
        out.stdout.contains(code) || out.stderr.contains(code),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(w.join("inbox/userimport.csv").exists(), "the file waits");
    assert!(!w.report().contains("MS-R004"));
}

#[test]
fn maintenance_mode_stops_the_file_with_one_error() {
    let site = FakeMoodle::start();
    site.set_maintenance(true);
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(5, 0));
    let out = run(&w);
    assert_stopped(&w, &out, "MS-R003");
    assert_eq!(site.calls().len(), 1, "stopped at the first answer");
    // The next run, once the site is back, does the work.
    site.set_maintenance(false);
    run(&w).expect_code(0);
    assert_eq!(site.users().len(), 2 + 5);
}

#[test]
fn an_invalid_token_stops_the_file() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(2, 0));
    let out = w.moosync_env(
        &["run", "--quiet"],
        &[(TOKEN_VAR, "0123456789abcdef0123456789abcdef")],
    );
    assert_stopped(&w, &out, "MS-R002");
    assert!(out.stdout.contains("invalidtoken") || out.stderr.contains("invalidtoken"));
    // No token at all: a settings error naming the variable.
    let out = w.moosync(&["run", "--quiet"]);
    out.expect_code(2);
    assert!(out.stderr.contains(TOKEN_VAR), "{}", out.stderr);
}

#[test]
fn a_function_missing_from_the_service_is_named() {
    let site = FakeMoodle::start();
    site.remove_function("core_user_create_users");
    let w = to_moodle(&site, "");
    let check = w.moosync_env(&["check-target"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]);
    check.expect_code(2);
    assert!(
        check
            .stdout
            .contains("users: missing core_user_create_users"),
        "{}",
        check.stdout
    );
    w.drop_file("userimport.csv", users(2, 0));
    let out = run(&w);
    assert_stopped(&w, &out, "core_user_create_users");
}

#[test]
fn check_target_reports_the_site_and_the_token_user() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    let out = w.moosync_env(&["check-target"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]);
    out.expect_code(0);
    assert!(out.stdout.contains("users: ok"), "{}", out.stdout);
    assert!(out.stdout.contains("token of: admin"), "{}", out.stdout);
    // Optional functions are named, without failing the check.
    assert!(
        out.stdout
            .contains("course templates: off (optional; add core_course_duplicate_course"),
        "{}",
        out.stdout
    );
    site.add_function("core_course_duplicate_course");
    let out = w.moosync_env(&["check-target"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("course templates: ok"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_token_never_appears_in_any_output() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    let mut rows = users(4, 0);
    rows = rows.replace("Secret-1!", "weak");
    w.drop_file("userimport.csv", rows);
    // Moodle's errors quote the token: nothing moosync writes may.
    site.quote_token_in_errors(true);
    let mut outputs = vec![run(&w)];
    site.set_maintenance(true);
    w.drop_file("userimport.csv", users(1, 10));
    outputs.push(run(&w));
    outputs.push(w.moosync_env(&["check-target"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]));
    outputs.push(w.moosync_env(&["status"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]));
    for o in &outputs {
        assert!(!o.stdout.contains(FakeMoodle::TOKEN), "{}", o.stdout);
        assert!(!o.stderr.contains(FakeMoodle::TOKEN), "{}", o.stderr);
    }
    for area in ["Reports", "Trybacks", "Archives", "inbox"] {
        for f in w.files(area) {
            let bytes = std::fs::read(&f).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(FakeMoodle::TOKEN), "{}", f.display());
        }
    }
    let state = std::fs::read(w.join("state.db")).unwrap();
    assert!(!String::from_utf8_lossy(&state).contains(FakeMoodle::TOKEN));
}

#[test]
fn no_secret_from_a_moodle_that_echoes_requests_reaches_any_output() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    // The script marks the department secret, as a PIN or a national number would be.
    w.script(
        "users.rhai",
        r#"fn row(r) {
            let u = take(r, ["firstname", "lastname", "email", "password"]);
            u.op = "user_upsert";
            u.username = r.username;
            u.profile = with_prefix(r, "profile_field_");
            u.secret = ["dept"];
            u
        }"#,
    );
    let mut rows = String::from("username;firstname;lastname;email;password;profile_field_dept\n");
    let mut secrets = Vec::new();
    for i in 0..4 {
        // u3's password fails Moodle's policy: its call, and the batch's, are refused.
        let password = if i == 3 {
            "weakpw3".to_string()
        } else {
            format!("Pass-word-{i}!")
        };
        let dept = format!("Dept-hidden-{i}");
        rows.push_str(&format!(
            "u{i};First{i};Last{i};u{i}@example.edu;{password};{dept}\n"
        ));
        secrets.extend([password, dept]);
    }
    let bad_row = rows.lines().nth(4).unwrap().to_string();
    w.drop_file("userimport.csv", &rows);
    // As a site with developer debugging: errors print the request, passwords included.
    site.echo_request_in_errors(true);
    let mut outputs = vec![run(&w)];
    outputs[0].expect_code(1);
    outputs.push(w.moosync_env(&["status"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]));
    let planned = w.join("planned.csv");
    std::fs::write(&planned, &rows).unwrap();
    let plan = w.moosync(&["plan", "--tool", "users", planned.to_str().unwrap()]);
    assert!(plan.stdout.contains("dept: '********'"), "{}", plan.stdout);
    outputs.push(plan);

    assert!(site.user("u0").is_some() && site.user("u3").is_none());
    // The refusal is reported, with what Moodle said, cleared of the secrets.
    let report = w.report();
    assert!(
        report.contains("The bad value is") && report.contains("[password] => [secret]"),
        "{report}"
    );
    assert!(report.contains("[value] => [secret]"), "{report}");
    let mut texts: Vec<(String, String)> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        texts.push((format!("stdout {i}"), o.stdout.clone()));
        texts.push((format!("stderr {i}"), o.stderr.clone()));
    }
    for area in ["Reports", "Trybacks"] {
        for f in w.files(area) {
            let bytes = std::fs::read(&f).unwrap();
            texts.push((
                f.display().to_string(),
                String::from_utf8_lossy(&bytes).into(),
            ));
        }
    }
    for db in ["state.db", "state.db-wal", "remote.db", "remote.db-wal"] {
        if let Ok(bytes) = std::fs::read(w.join(db)) {
            texts.push((db.into(), String::from_utf8_lossy(&bytes).into()));
        }
    }
    // The tryback is the refused row as the file gave it (its own password is the
    // operator's, to be fixed and replayed), and nothing else.
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert_eq!(
        tryback,
        format!(
            "{}{bad_row}\n",
            rows.lines().next().unwrap().to_owned() + "\n"
        )
    );
    for (what, text) in &texts {
        let text = if what.contains("Trybacks") {
            text.replace(&bad_row, "")
        } else {
            text.clone()
        };
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} in {what}:\n{text}"
            );
        }
    }
}

#[test]
fn a_dry_run_only_reads_and_says_what_it_would_do() {
    let site = FakeMoodle::start();
    site.add_user(serde_json::json!({
        "username": "u0", "firstname": "Old", "lastname": "Last0", "email": "u0@example.edu"
    }));
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(3, 0));
    w.moosync_env(
        &["run", "--quiet", "--dry-run"],
        &[(TOKEN_VAR, FakeMoodle::TOKEN)],
    )
    .expect_code(0);
    assert_eq!(site.write_calls(), 0);
    let report = w.report();
    assert!(report.contains("2 created, 1 updated"), "{report}");
    assert!(w.join("inbox/userimport.csv").exists());
}

#[test]
fn deletes_and_unmapped_commands() {
    let site = FakeMoodle::start();
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(2, 0));
    run(&w).expect_code(0);
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;deleted\nu0;First0;Last0;1\nnobody;N;N;1\n",
    );
    run(&w).expect_code(0);
    assert!(site.user("u0").is_none());
    assert!(w.report().contains("1 deleted"), "{}", w.report());
    // A command Moodle has no web service for fails its rows with a code that says so.
    w.drop_file("metacourses.csv", "master;meta\nC1;C2\n");
    run(&w).expect_code(1);
    assert!(w.report().contains("MS-R006"), "{}", w.report());
}

/// A site with two accounts and the courses given (shortname, has a manual instance).
fn site_with_courses(courses: &[(&str, bool)]) -> FakeMoodle {
    let site = FakeMoodle::start();
    for u in ["ann", "bob"] {
        site.add_user(serde_json::json!({
            "username": u, "firstname": u, "lastname": "L", "email": format!("{u}@example.edu")
        }));
    }
    for (c, manual) in courses {
        site.add_course(c, "", *manual);
    }
    site
}

#[test]
fn enrolments_go_through_the_manual_method_and_an_unchanged_rerun_only_reads() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    let file =
        "rolename;cid;uid;enrol;starttime\nstudent;C1;ann;;\nstudent;C1;bob;manual;2026-09-01\n";
    w.drop_file("enrols.csv", file);
    run(&w).expect_code(0);
    let ann = site.enrolment("ann", "C1").expect("enrolled");
    assert_eq!(ann["roles"], serde_json::json!(["student"]));
    assert_eq!(
        site.enrolment("bob", "C1").unwrap()["timestart"],
        1788220800
    );
    assert_eq!(
        calls_to(&site, "enrol_manual_enrol_users"),
        1,
        "two rows, one call"
    );
    site.clear_calls();
    // Again, without dates (Moodle does not show them, so a dated row is always sent).
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;\nstudent;C1;bob;manual\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    assert!(w.report().contains("2 unchanged"), "{}", w.report());
    // A second role for an enrolled user is a role assignment, not a re-enrolment that
    // would reset the enrolment's dates.
    w.drop_file("enrols.csv", "rolename;cid;uid;enrol\nteacher;C1;bob;\n");
    run(&w).expect_code(0);
    assert_eq!(calls_to(&site, "core_role_assign_roles"), 1);
    assert_eq!(calls_to(&site, "enrol_manual_enrol_users"), 0);
    let bob = site.enrolment("bob", "C1").unwrap();
    assert_eq!(bob["roles"], serde_json::json!(["student", "teacher"]));
    assert_eq!(bob["timestart"], 1788220800);
    // del unenrols; a second del has nothing to do.
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol\ndel;student;C1;ann;\ndel;student;C1;ann;\n",
    );
    run(&w).expect_code(0);
    assert!(site.enrolment("ann", "C1").is_none());
    assert_eq!(calls_to(&site, "enrol_manual_unenrol_users"), 1);
}

#[test]
fn a_course_moodle_refuses_fails_only_its_rows() {
    let site = site_with_courses(&[("C1", true), ("NOMANUAL", false)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;\nstudent;NOMANUAL;bob;\nstudent;C1;bob;\nstudent;NOPE;ann;\nstudent;C1;nobody;\nstudent;C1;ann;self\n",
    );
    run(&w).expect_code(1);
    assert!(site.enrolment("ann", "C1").is_some());
    assert!(site.enrolment("bob", "C1").is_some());
    assert!(site.enrolment("bob", "NOMANUAL").is_none());
    let report = w.report();
    assert!(report.contains(":3: failed MS-R004"), "{report}");
    assert!(report.contains("wsnoinstance"), "{report}");
    assert!(report.contains(":5: failed MS-T009"), "{report}");
    assert!(report.contains(":6: failed MS-T009"), "{report}");
    assert!(report.contains(":7: failed MS-R006"), "{report}");
}

#[test]
fn role_only_rows_assign_and_remove_roles() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file("enrols.csv", "rolename;cid;uid\neditingteacher;C1;ann\n");
    run(&w).expect_code(0);
    let ann = site.enrolment("ann", "C1").unwrap();
    assert_eq!(ann["enrolled"], false);
    assert_eq!(ann["roles"], serde_json::json!(["editingteacher"]));
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid\ndel;editingteacher;C1;ann\n",
    );
    run(&w).expect_code(0);
    assert!(site.enrolment("ann", "C1").is_none());
    assert_eq!(calls_to(&site, "core_role_unassign_roles"), 1);
}

#[test]
fn cohorts_and_their_members_and_an_unchanged_rerun_only_reads() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    let file = "cmd;cname;cidnumber;userid\nadd;Year 1;Y1;ann\nadd;Year 1;Y1;bob\nadd;Year 2;Y2;\n";
    w.drop_file("cohorts.csv", file);
    run(&w).expect_code(0);
    let y1 = site.cohort("Y1").expect("created");
    assert_eq!(y1["name"], "Year 1");
    assert_eq!(y1["members"], serde_json::json!(["ann", "bob"]));
    assert!(site.cohort("Y2").is_some());
    site.clear_calls();
    w.drop_file("cohorts.csv", file);
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    // A member leaves; an unknown user fails the row and the cohort stays; free empties.
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;userid\ndel;Y1;ann\ndel;Y1;nobody\n",
    );
    run(&w).expect_code(1);
    assert_eq!(
        site.cohort("Y1").unwrap()["members"],
        serde_json::json!(["bob"])
    );
    assert!(w.report().contains(":3: failed MS-T009"), "{}", w.report());
    w.drop_file("cohorts.csv", "cmd;cidnumber\nfree;Y1\ndel;Y2\n");
    run(&w).expect_code(0);
    assert_eq!(site.cohort("Y1").unwrap()["members"], serde_json::json!([]));
    assert!(site.cohort("Y2").is_none());
}

#[test]
fn cohort_rows_moodle_cannot_take() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "[cohorts]\nidentifier = \"name\"\n");
    // Moodle's create_cohorts takes an empty idnumber once only.
    w.drop_file("cohorts.csv", "cname;cidnumber\nNo Number;\n");
    run(&w).expect_code(1);
    assert!(w.report().contains("MS-V003"), "{}", w.report());
    // No web service binds a cohort to a course.
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\n");
    run(&w).expect_code(1);
    assert!(w.report().contains("MS-R006"), "{}", w.report());
    assert!(w.report().contains("no web service"), "{}", w.report());
}

#[test]
fn groups_groupings_and_members_and_an_unchanged_rerun_only_reads() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file("enrols.csv", "rolename;cid;uid;enrol\nstudent;C1;ann;\n");
    run(&w).expect_code(0);
    let defs = "courseid;name;type;idnumber;description\nC1;Group A;group;GA;First\nC1;Set 1;grouping;S1;\n";
    w.drop_file("groups.csv", defs);
    run(&w).expect_code(0);
    assert_eq!(site.group("C1", "Group A").unwrap()["idnumber"], "GA");
    assert!(site.grouping("C1", "Set 1").is_some());
    let members = "courseid;groupid;userid\nC1;Group A;ann\nC1;Group A;bob\nC1;No Such;ann\n";
    w.drop_file("groupmembers.csv", members);
    run(&w).expect_code(1);
    assert_eq!(
        site.group("C1", "Group A").unwrap()["members"],
        serde_json::json!(["ann"])
    );
    let report = w.report();
    // bob is not enrolled: said before Moodle's wordless refusal.
    assert!(report.contains(":3: failed MS-T009"), "{report}");
    assert!(report.contains("not enrolled"), "{report}");
    assert!(report.contains(":4: failed MS-T009"), "{report}");
    site.clear_calls();
    w.drop_file("groups.csv", defs);
    run(&w).expect_code(0);
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid\nC1;Group A;ann\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    w.drop_file(
        "groupmembers.csv",
        "cmd;courseid;groupid;userid\ndel;C1;Group A;ann\n",
    );
    run(&w).expect_code(0);
    assert_eq!(
        site.group("C1", "Group A").unwrap()["members"],
        serde_json::json!([])
    );
}

#[test]
fn a_users_row_with_course_and_cohort_columns_goes_command_by_command() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;course1;role1;cohortid\n\
         new1;N;One;new1@example.edu;C1;student;Y9\n\
         new2;N;Two;new2@example.edu;NOPE;student;\n",
    );
    run(&w).expect_code(1);
    assert_eq!(
        site.enrolment("new1", "C1").unwrap()["roles"],
        serde_json::json!(["student"])
    );
    assert_eq!(
        site.cohort("Y9").unwrap()["members"],
        serde_json::json!(["new1"])
    );
    // Not all or nothing over REST: the account is made, the enrolment fails, and the row's
    // tryback line replays as unchanged what went through.
    assert!(site.user("new2").is_some());
    assert!(w.report().contains(":3: failed MS-T009"), "{}", w.report());
    site.clear_calls();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;course1;role1\nnew1;N;One;new1@example.edu;C1;student\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn an_enrolment_row_with_group_commands_enrols_then_files_into_groups() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file("groups.csv", "courseid;name\nC1;Red\nC1;Blue\n");
    run(&w).expect_code(0);
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1;g2\nstudent;C1;ann;;gadd;Red;Blue\nstudent;C1;bob;;gadd;Green;\n",
    );
    run(&w).expect_code(1);
    assert_eq!(
        site.group("C1", "Red").unwrap()["members"],
        serde_json::json!(["ann"])
    );
    assert_eq!(
        site.group("C1", "Blue").unwrap()["members"],
        serde_json::json!(["ann"])
    );
    assert!(w.report().contains(":3: failed MS-T009"), "{}", w.report());
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;ann;;gdel;Blue\n",
    );
    run(&w).expect_code(0);
    assert_eq!(
        site.group("C1", "Blue").unwrap()["members"],
        serde_json::json!([])
    );
}

#[test]
fn shift_gives_the_new_role_then_takes_the_others_away() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;manual\nteacher;C1;ann;\nstudent;C1;bob;manual\n",
    );
    run(&w).expect_code(0);
    site.clear_calls();
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol\nshift;editingteacher;C1;ann;manual\nshift;student;C1;bob;\nshift;;C1;bob;\n",
    );
    run(&w).expect_code(1);
    let ann = site.enrolment("ann", "C1").unwrap();
    assert_eq!(ann["roles"], serde_json::json!(["editingteacher"]));
    assert_eq!(ann["enrolled"], true);
    // bob holds student only: nothing to do.
    assert_eq!(
        site.enrolment("bob", "C1").unwrap()["roles"],
        serde_json::json!(["student"])
    );
    assert_eq!(calls_to(&site, "core_role_assign_roles"), 1);
    assert_eq!(
        calls_to(&site, "core_role_unassign_roles"),
        1,
        "ann's two old roles in one call"
    );
    let report = w.report();
    assert!(report.contains("roles removed 2"), "{report}");
    assert!(report.contains(":4: failed MS-V003"), "{report}");
    // Again: already so, only reads.
    site.clear_calls();
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol\nshift;editingteacher;C1;ann;manual\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn a_refused_new_role_leaves_the_old_ones() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(
        &site,
        "[target.roles]\nstudent = 5\nteacher = 4\neditingteacher = 3\nbogus = 99\n",
    );
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;manual\n",
    );
    run(&w).expect_code(0);
    w.drop_file("enrols.csv", "cmd;rolename;cid;uid\nshift;bogus;C1;ann\n");
    run(&w).expect_code(1);
    assert_eq!(
        site.enrolment("ann", "C1").unwrap()["roles"],
        serde_json::json!(["student"])
    );
    assert_eq!(calls_to(&site, "core_role_unassign_roles"), 0);
    assert!(w.report().contains(":2: failed MS-R004"), "{}", w.report());
}

/// Makes `user` a member of `group` of course C1 as a teacher would by hand.
fn join_by_hand(site: &FakeMoodle, group: &str, user: &str) {
    let g = site.group("C1", group).unwrap()["id"].to_string();
    let u = site.user(user).unwrap()["id"].to_string();
    site.call(
        "core_group_add_group_members",
        &[("members[0][groupid]", &g), ("members[0][userid]", &u)],
    );
}

fn members(site: &FakeMoodle, group: &str) -> serde_json::Value {
    site.group("C1", group).unwrap()["members"].clone()
}

#[test]
fn shift_and_greplace_leave_only_the_groups_moosync_put_the_user_in() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;\nstudent;C1;bob;\n",
    );
    run(&w).expect_code(0);
    w.drop_file(
        "groups.csv",
        "courseid;name\nC1;Red\nC1;Blue\nC1;Green\nC1;Tutors\n",
    );
    run(&w).expect_code(0);
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid\nC1;Red;ann\nC1;Red;bob\n",
    );
    run(&w).expect_code(0);
    // A teacher's own grouping, which no feed made.
    join_by_hand(&site, "Tutors", "ann");
    w.drop_file(
        "groupmembers.csv",
        "cmd;courseid;groupid;userid\nshift;C1;Blue;ann\n",
    );
    run(&w).expect_code(0);
    assert_eq!(members(&site, "Red"), serde_json::json!(["bob"]));
    assert_eq!(members(&site, "Blue"), serde_json::json!(["ann"]));
    assert_eq!(members(&site, "Tutors"), serde_json::json!(["ann"]));
    // greplace from an enrolment row: into Green, out of Blue, Tutors kept.
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;ann;;greplace;Green\n",
    );
    run(&w).expect_code(0);
    assert_eq!(members(&site, "Blue"), serde_json::json!([]));
    assert_eq!(members(&site, "Green"), serde_json::json!(["ann"]));
    assert_eq!(members(&site, "Tutors"), serde_json::json!(["ann"]));
    // Already so: only reads.
    site.clear_calls();
    run_again(
        &w,
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;ann;;greplace;Green\n",
    );
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

fn run_again(w: &Workdir, name: &str, body: &str) {
    w.drop_file(name, body);
    run(w).expect_code(0);
}

#[test]
fn gaddcreate_makes_a_missing_group_once_then_fills_it() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1;g2\nstudent;C1;ann;;gaddcreate;New;\nstudent;C1;bob;;gaddcreate;New;Other\n",
    );
    let out = w.moosync_env(&["run", "--dry-run"], &[(TOKEN_VAR, FakeMoodle::TOKEN)]);
    out.expect_code(0);
    assert!(site.group("C1", "New").is_none(), "a dry run makes nothing");
    assert_eq!(site.write_calls(), 0);
    run(&w).expect_code(0);
    assert_eq!(members(&site, "New"), serde_json::json!(["ann", "bob"]));
    assert_eq!(members(&site, "Other"), serde_json::json!(["bob"]));
    assert_eq!(
        calls_to(&site, "core_group_create_groups"),
        1,
        "both groups in one call"
    );
    let report = w.report();
    assert_eq!(
        report.matches("created group New in C1").count(),
        1,
        "{report}"
    );
}

#[test]
fn groups_go_in_groupings_and_their_own_self_grouping_once() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    let defs = "courseid;name;type;idnumber;selfgrouping;grouping\n\
                C1;Set 1;grouping;S1;;\n\
                C1;Red;group;R;1;\n\
                C1;Blue;group;;;Set 1\n\
                C1;Green;group;;;No such\n";
    w.drop_file("groups.csv", defs);
    run(&w).expect_code(1);
    assert_eq!(
        site.grouping("C1", "Set 1").unwrap()["groups"],
        serde_json::json!(["Blue"])
    );
    let red = site.grouping("C1", "Red").expect("the self-grouping");
    assert_eq!(red["groups"], serde_json::json!(["Red"]));
    assert_eq!(red["idnumber"], "R");
    assert!(
        site.group("C1", "Green").is_none(),
        "refused before any call"
    );
    let report = w.report();
    assert!(report.contains(":5: failed MS-T009"), "{report}");
    assert!(report.contains("created grouping_group"), "{report}");
    // Again: the groups are in their groupings; nothing is sent.
    site.clear_calls();
    w.drop_file("groups.csv", defs);
    run(&w).expect_code(1);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    // An existing group put in a grouping: one assignment.
    w.drop_file("groups.csv", "courseid;name;grouping\nC1;Red;Set 1\n");
    run(&w).expect_code(0);
    assert_eq!(
        site.grouping("C1", "Set 1").unwrap()["groups"],
        serde_json::json!(["Blue", "Red"])
    );
    assert_eq!(calls_to(&site, "core_group_assign_grouping"), 1);
}

#[test]
fn updateid_changes_a_group_and_needs_the_update_function_in_the_service() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "groups.csv",
        "courseid;name;type;idnumber;description\nC1;Red;group;R;Old\nC1;Set;grouping;S;\n",
    );
    run(&w).expect_code(0);
    let change = "courseid;name;type;idnumber;description;updateid\n\
                  C1;Crimson;group;;New;Red\n\
                  C1;Set 2;grouping;S2;;Set\n";
    w.drop_file("groups.csv", change);
    // A function missing from the service stops the file, which waits in inbox/.
    let out = run(&w);
    out.expect_code(2);
    assert!(
        out.stdout.contains("lacks core_group_update_groups"),
        "{}",
        out.stdout
    );
    assert!(site.group("C1", "Red").is_some(), "nothing changed");
    site.add_function("core_group_update_groups");
    site.add_function("core_group_update_groupings");
    run(&w).expect_code(0);
    let g = site.group("C1", "Crimson").expect("renamed");
    assert_eq!(g["description"], "New");
    assert_eq!(g["idnumber"], "R", "an empty cell leaves the idnumber");
    assert_eq!(site.grouping("C1", "Set 2").unwrap()["idnumber"], "S2");
    // Again: already so.
    site.clear_calls();
    w.drop_file(
        "groups.csv",
        "courseid;name;type;description;updateid\nC1;Crimson;group;New;Crimson\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn a_course_with_a_template_is_a_copy_given_the_rows_fields() {
    let site = site_with_courses(&[("TPL", true)]);
    let w = to_moodle(&site, "");
    let file = "shortname;fullname;template;idnumber;summary;teacher1_account\n\
                NEW1;New one;TPL;N1;Hello;ann\n\
                NEW2;Other;NOPE;;;\n";
    w.drop_file("uploadcourses.csv", file);
    let out = run(&w);
    out.expect_code(2);
    assert!(
        out.stdout.contains("lacks core_course_duplicate_course"),
        "{}",
        out.stdout
    );
    assert!(site.course("NEW1").is_none());
    site.add_function("core_course_duplicate_course");
    site.clear_calls();
    run(&w).expect_code(1);
    let new = site.course("NEW1").expect("copied");
    assert_eq!(new["idnumber"], "N1");
    assert_eq!(new["summary"], "Hello");
    assert_eq!(calls_to(&site, "core_course_duplicate_course"), 1);
    assert_eq!(calls_to(&site, "core_course_create_courses"), 0);
    // The copy has the template's manual method: its teacher is enrolled through it.
    assert_eq!(
        site.enrolment("ann", "NEW1").unwrap()["roles"],
        serde_json::json!(["editingteacher"])
    );
    let report = w.report();
    assert!(report.contains("created course NEW1"), "{report}");
    assert!(report.contains(":3: failed MS-T009"), "{report}");
    assert!(report.contains("template course 'NOPE'"), "{report}");
    // Again: the copy exists, and is left as it is.
    site.clear_calls();
    w.drop_file(
        "uploadcourses.csv",
        "shortname;fullname;template\nNEW1;New one;TPL\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn a_copy_whose_answer_was_lost_is_finished_by_the_next_run() {
    let site = site_with_courses(&[("TPL", true)]);
    site.add_function("core_course_duplicate_course");
    let w = to_moodle(&site, "");
    w.drop_file(
        "uploadcourses.csv",
        "shortname;fullname;template;idnumber;summary\nNEW1;New one;TPL;N1;Hello\n",
    );
    site.drop_next("core_course_duplicate_course", DropWhen::AfterApply, 1);
    // A lost answer is the site unreachable for that call.
    run(&w).expect_code(4);
    assert_eq!(site.course("NEW1").expect("made")["idnumber"], "");
    // The file waited in inbox/; updates are off, yet the copy is finished, not made again.
    run(&w).expect_code(0);
    let new = site.course("NEW1").unwrap();
    assert_eq!(new["idnumber"], "N1");
    assert_eq!(new["summary"], "Hello");
    assert_eq!(calls_to(&site, "core_course_duplicate_course"), 1);
    assert!(
        w.report().contains("the copy of its template finished"),
        "{}",
        w.report()
    );
    // Finished: the next run leaves it alone.
    site.clear_calls();
    w.drop_file(
        "uploadcourses.csv",
        "shortname;fullname;template;idnumber;summary\nNEW1;New one;TPL;N1;Changed\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn a_membership_moosync_made_then_a_teacher_undid_is_forgotten() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file("enrols.csv", "rolename;cid;uid;enrol\nstudent;C1;ann;\n");
    run(&w).expect_code(0);
    w.drop_file("groups.csv", "courseid;name\nC1;Red\nC1;Blue\n");
    run(&w).expect_code(0);
    run_again(
        &w,
        "groupmembers.csv",
        "courseid;groupid;userid\nC1;Red;ann\n",
    );
    // A teacher takes ann out of Red; a run reads the course; the teacher puts her back.
    let (g, u) = (
        site.group("C1", "Red").unwrap()["id"].to_string(),
        site.user("ann").unwrap()["id"].to_string(),
    );
    let member = [
        ("members[0][groupid]", g.as_str()),
        ("members[0][userid]", u.as_str()),
    ];
    site.call("core_group_delete_group_members", &member);
    run_again(
        &w,
        "groupmembers.csv",
        "cmd;courseid;groupid;userid\ndel;C1;Blue;ann\n",
    );
    site.call("core_group_add_group_members", &member);
    // Red is now the teacher's: a shift to Blue leaves it.
    run_again(
        &w,
        "groupmembers.csv",
        "cmd;courseid;groupid;userid\nshift;C1;Blue;ann\n",
    );
    assert_eq!(members(&site, "Red"), serde_json::json!(["ann"]));
    assert_eq!(members(&site, "Blue"), serde_json::json!(["ann"]));
}

#[test]
fn gaddcreate_for_someone_not_enrolled_makes_no_group_and_gdel_of_no_group_sends_nothing() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file("groups.csv", "courseid;name\nC1;Red\n");
    run(&w).expect_code(0);
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol;gcmd;g1\ndel;;C1;bob;;gaddcreate;New\n",
    );
    run(&w).expect_code(1);
    assert!(site.group("C1", "New").is_none());
    assert_eq!(calls_to(&site, "core_group_create_groups"), 1, "Red only");
    w.drop_file("enrols.csv", "rolename;cid;uid;enrol\nstudent;C1;ann;\n");
    run(&w).expect_code(0);
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;ann;;gdel;Red\n",
    );
    site.clear_calls();
    run(&w).expect_code(0);
    assert_eq!(calls_to(&site, "core_group_delete_group_members"), 0);
}

#[test]
fn a_role_another_enrol_method_gives_is_kept_by_a_shift_and_not_asked_again() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;ann;manual\n",
    );
    run(&w).expect_code(0);
    site.give_plugin_role("ann", "C1", "teacher", "enrol_cohort");
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol\nshift;editingteacher;C1;ann;manual\n",
    );
    run(&w).expect_code(0);
    assert_eq!(
        site.enrolment("ann", "C1").unwrap()["roles"],
        serde_json::json!(["editingteacher", "teacher"])
    );
    let report = w.report();
    assert!(report.contains("roles removed 1"), "{report}");
    assert!(report.contains("roles kept 1"), "{report}");
    // Again: the kept role is not asked for again.
    site.clear_calls();
    w.drop_file(
        "enrols.csv",
        "cmd;rolename;cid;uid;enrol\nshift;editingteacher;C1;ann;manual\n",
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
}

#[test]
fn an_answer_that_is_not_utf8_is_shown_not_called_unreachable() {
    let site = FakeMoodle::start();
    site.answer_next("core_user_get_users_by_field", Odd::NotUtf8, 1);
    let w = to_moodle(&site, "");
    w.drop_file("userimport.csv", users(2, 0));
    let out = run(&w);
    assert_stopped(&w, &out, "MS-R007");
    let said = format!("{}{}", out.stdout, out.stderr);
    for part in [
        "core_user_get_users_by_field with 70 bytes of text/html; charset=iso-8859-1 that are not UTF-8 text",
        r#"it began: "<html><body>Erreur : la base de donn\xe9es est indisponible</body></html>""#,
    ] {
        assert!(said.contains(part), "{part}\n{said}");
    }
    assert!(!said.contains("MS-R001"), "{said}");
    // An answer is not a fault to retry.
    assert_eq!(calls_to(&site, "core_user_get_users_by_field"), 1);
    run(&w).expect_code(0);
}

#[test]
fn an_oversized_answer_stops_the_file_and_a_course_list_is_read_course_by_course() {
    // batch_size 1: at most 8 MiB + 32 KiB an answer.
    let site = FakeMoodle::start();
    site.answer_next(
        "core_user_get_users_by_field",
        Odd::Oversized(9 * 1024 * 1024),
        1,
    );
    let w = to_moodle(&site, "batch_size = 1\n");
    w.drop_file("userimport.csv", users(2, 0));
    let out = run(&w);
    assert_stopped(&w, &out, "MS-R008");
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("answered core_user_get_users_by_field with more than 8 MiB"),
        "{said}"
    );
    run(&w).expect_code(0);

    // More courses than are looked up one by one: the site's list is asked for, and when it
    // is too large, each course is looked up instead.
    let mut file = String::from("shortname;fullname\n");
    for i in 0..25 {
        file.push_str(&format!("K{i};Course {i}\n"));
    }
    site.answer_next(
        "core_course_get_courses_by_field",
        Odd::Oversized(9 * 1024 * 1024),
        1,
    );
    w.drop_file("uploadcourses.csv", file);
    run(&w).expect_code(0);
    assert!(site.course("K24").is_some());
    assert_eq!(calls_to(&site, "core_course_get_courses_by_field"), 1 + 25);
}
