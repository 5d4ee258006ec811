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
fn pictures_are_uploaded_then_set_and_the_same_image_is_not_sent_again() {
    use crate::pictures::{jpeg, png, zip_of};
    use md5::{Digest, Md5};
    let site = site_with_courses(&[]);
    let w = to_moodle(&site, "");
    let red = png([200, 0, 0]);
    let blue = jpeg();
    let zip = zip_of(&[
        ("ann.png", &red),
        ("bob.jpg", &blue),
        ("nobody.png", &red),
        ("x.jpg", b"not an image at all"),
    ]);
    w.drop_file("userpictures_a.zip", &zip);
    run(&w).expect_code(1);
    let hex = |b: &[u8]| format!("{:x}", Md5::digest(b));
    assert_eq!(site.picture_md5("ann"), Some(hex(&red)));
    assert_eq!(site.picture_md5("bob"), Some(hex(&blue)));
    let report = w.report();
    assert!(report.contains("MS-T009"), "{report}");
    assert!(report.contains("MS-I104"), "{report}");
    assert_eq!(calls_to(&site, "webservice_upload"), 2);
    assert_eq!(calls_to(&site, "core_user_update_picture"), 2);
    // The same images again: Moodle does not say which image a user has, moosync remembers
    // what it sent, and sends nothing.
    site.clear_calls();
    w.drop_file(
        "userpictures_a.zip",
        zip_of(&[("ann.png", &red), ("bob.jpg", &blue)]),
    );
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    // A new image for ann only.
    let green = png([0, 200, 0]);
    w.drop_file(
        "userpictures_a.zip",
        zip_of(&[("ann.png", &green), ("bob.jpg", &blue)]),
    );
    run(&w).expect_code(0);
    assert_eq!(calls_to(&site, "webservice_upload"), 1);
    assert_eq!(site.picture_md5("ann"), Some(hex(&green)));
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
