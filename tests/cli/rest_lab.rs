//! The REST target end to end on the real lab Moodle: the moosync binary sends to Moodle 4.4
//! through a fault proxy (tests/support/fault_proxy) that forwards every call unchanged
//! unless a test asks for a fault the real site cannot be made to give on demand (a lost
//! answer, a 503, garbage, maintenance, a function taken out of the service, errors that
//! quote the request). Users and the transport are tested here; what each tool's commands
//! do to the site is the scenario corpus's (tests/scenarios).

use crate::fault_proxy::{FaultProxy, Odd, When};
use crate::lab::{self, unique, Session, Who};
use crate::workdir::{Output, Workdir};
use serde_json::{json, Value};

const TOKEN_VAR: &str = "MOOSYNC_TEST_TOKEN";
const HEADER: &str = "username;firstname;lastname;email;password\n";

/// A proxy in front of the lab, and a data folder sending to it with the lab's core token.
fn lab_site(extra: &str) -> (FaultProxy, Workdir) {
    lab_site_as(Who::Core, extra)
}

/// The same, the data folder's token being `who`'s (run it with `run_as`).
fn lab_site_as(who: Who, extra: &str) -> (FaultProxy, Workdir) {
    Session::connect(who);
    let proxy = FaultProxy::start(&lab::url());
    let w = Workdir::new();
    w.settings(&format!(
        "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_env = \"{TOKEN_VAR}\"\nretries = 2\n{extra}",
        proxy.url()
    ));
    (proxy, w)
}

fn token() -> String {
    lab::token(Who::Core)
}

fn run(w: &Workdir) -> Output {
    w.moosync_env(&["run", "--quiet"], &[(TOKEN_VAR, &token())])
}

/// `n` accounts named `{p}{i}`, with passwords Moodle's policy accepts.
fn users(p: &str, n: usize) -> String {
    let mut s = String::from(HEADER);
    for i in 0..n {
        s.push_str(&format!(
            "{p}{i};First{i};Last{i};{p}{i}@example.edu;Secret-{i}!\n"
        ));
    }
    s
}

/// The account as Moodle holds it, if it exists (and is not deleted).
fn user(name: &str) -> Option<Value> {
    let found = Session::connect(Who::Core).ok(
        "core_user_get_users_by_field",
        json!({"field": "username", "values": [name]}),
    );
    found.as_array().and_then(|a| a.first()).cloned()
}

fn make_user(name: &str, email: &str) -> i64 {
    let made = Session::connect(Who::Core).ok(
        "core_user_create_users",
        json!({"users": [{"username": name, "firstname": "F", "lastname": "L",
            "email": email, "password": "Lab-Pass-1!"}]}),
    );
    made[0]["id"].as_i64().expect("an id")
}

/// Calls of functions that change the site.
fn writes(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .calls()
        .into_iter()
        .map(|c| c.function)
        .filter(|f| {
            [
                "_create_", "_update_", "_delete_", "_enrol_", "_assign_", "_add_",
            ]
            .iter()
            .any(|w| f.contains(w))
        })
        .collect()
}

#[test]
fn a_users_file_creates_accounts_and_an_unchanged_rerun_only_reads() {
    let (proxy, w) = lab_site("batch_size = 4\n");
    let p = unique("cr");
    w.drop_file("userimport.csv", users(&p, 10));
    run(&w).expect_code(0);
    for i in 0..10 {
        let u = user(&format!("{p}{i}")).expect("created");
        assert_eq!(u["firstname"], format!("First{i}"));
        assert_eq!(u["email"], format!("{p}{i}@example.edu"));
    }
    // Ten creates in calls of four.
    assert_eq!(proxy.calls_to("core_user_create_users"), 3);
    assert!(w.report().contains("10 created"), "{}", w.report());

    proxy.clear_calls();
    // The same accounts without passwords (Moodle never shows them, so they are set only on
    // creation): nothing differs, nothing is written, lookups go in batches.
    let mut same = String::from("username;firstname;lastname;email\n");
    for i in 0..10 {
        same.push_str(&format!("{p}{i};First{i};Last{i};{p}{i}@example.edu\n"));
    }
    w.drop_file("userimport.csv", &same);
    run(&w).expect_code(0);
    assert_eq!(writes(&proxy), Vec::<String>::new());
    assert!(w.report().contains("10 unchanged"), "{}", w.report());
    assert!(proxy.calls_to("core_user_get_users_by_field") <= 3 + 1);

    // That file again: every row is skipped as unchanged before any lookup ([run]
    // skip_unchanged); Moodle is only asked who the token is.
    proxy.clear_calls();
    w.drop_file("userimport.csv", &same);
    run(&w).expect_code(0);
    assert!(
        w.report().contains("10 unchanged (skipped)"),
        "{}",
        w.report()
    );
    let asked: Vec<String> = proxy.calls().into_iter().map(|c| c.function).collect();
    assert!(
        asked.iter().all(|f| f == "core_webservice_get_site_info"),
        "{asked:?}"
    );
}

#[test]
fn a_changed_field_is_the_only_one_sent_in_moodles_nested_form_encoding() {
    let (proxy, w) = lab_site("");
    let p = unique("ch");
    w.drop_file(
        "userimport.csv",
        format!(
            "username;firstname;lastname;email;profile_field_moosynclab;suspended\n\
             {p}a;Ann;Smith;{p}a@example.edu;Maths & Stats;1\n{p}b;Bob;Jones;{p}b@example.edu;;0\n"
        ),
    );
    run(&w).expect_code(0);
    let create = proxy
        .calls()
        .into_iter()
        .find(|c| c.function == "core_user_create_users")
        .expect("a create call");
    let has = |k: &str, v: &str| create.params.iter().any(|(pk, pv)| pk == k && pv == v);
    assert!(
        has("users[0][username]", &format!("{p}a")),
        "{:?}",
        create.params
    );
    assert!(has("users[0][customfields][0][type]", "moosynclab"));
    assert!(has("users[0][customfields][0][value]", "Maths & Stats"));
    // No password in the file: Moodle makes one and mails it.
    assert!(has("users[0][createpassword]", "1"));
    let ann = user(&format!("{p}a")).unwrap();
    // Created suspended: Moodle's create takes no `suspended`, an update follows.
    assert_eq!(ann["suspended"], true);
    assert_eq!(ann["customfields"][0]["value"], "Maths & Stats", "{ann}");

    proxy.clear_calls();
    w.drop_file(
        "userimport.csv",
        format!(
            "username;firstname;lastname;email\n{p}a;Ann;Smith;{p}a@example.edu\n{p}b;Renamed;Jones;{p}b@example.edu\n"
        ),
    );
    run(&w).expect_code(0);
    let updates: Vec<_> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.function == "core_user_update_users")
        .collect();
    assert_eq!(updates.len(), 1);
    let keys: Vec<&str> = updates[0].params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["users[0][id]", "users[0][firstname]"]);
    assert_eq!(user(&format!("{p}b")).unwrap()["firstname"], "Renamed");
}

#[test]
fn bad_rows_in_a_batch_are_isolated_by_halving_and_the_rest_created() {
    let (proxy, w) = lab_site("batch_size = 100\n");
    let p = unique("bd");
    // Moodle's default password policy refuses these; moosync cannot know a site's policy.
    let rows = users(&p, 20)
        .replace(
            &format!("{p}7@example.edu;Secret-7!"),
            &format!("{p}7@example.edu;weak"),
        )
        .replace(
            &format!("{p}13@example.edu;Secret-13!"),
            &format!("{p}13@example.edu;nodigits"),
        );
    w.drop_file("userimport.csv", rows);
    run(&w).expect_code(1);
    for i in 0..20 {
        let made = user(&format!("{p}{i}")).is_some();
        assert_eq!(made, i != 7 && i != 13, "{p}{i}");
    }
    let tryback = String::from_utf8(w.tryback().expect("a tryback")).unwrap();
    assert_eq!(tryback.lines().count(), 3, "{tryback}");
    assert!(tryback.contains(&format!("{p}7;")) && tryback.contains(&format!("{p}13;")));
    let report = w.report();
    assert!(report.contains("MS-R004"), "{report}");
    assert!(report.contains("Passwords must be at least 8"), "{report}");
    // Halving 20 rows down to the two: each bad row costs at most two calls a level, five
    // levels (1 + 2 * 2 * 5 = 21), not one call per row and more.
    let creates = proxy.calls_to("core_user_create_users");
    assert!((3..=21).contains(&creates), "{creates} create calls");
}

#[test]
fn rows_moodle_would_refuse_fail_before_any_call() {
    let (proxy, w) = lab_site("");
    let p = unique("rf");
    make_user(&format!("{p}taken"), &format!("{p}taken@example.edu"));
    w.drop_file(
        "userimport.csv",
        format!(
            "{HEADER}{p}1;A;One;{p}taken@example.edu;Secret-1!\n{p}2;A;Two;{p}same@example.edu;Secret-2!\n\
             {p}3;A;Three;{P}SAME@example.edu;Secret-3!\n{p}4;A;Four;;Secret-4!\n",
            P = p.to_uppercase()
        ),
    );
    run(&w).expect_code(1);
    let report = w.report();
    // Another account's address, and one a row above has just taken (a case apart).
    assert!(report.contains(":2: failed MS-T002"), "{report}");
    assert!(report.contains(":4: failed MS-T002"), "{report}");
    assert!(report.contains("email is required"), "{report}");
    // Only the second went: one create call, nothing refused by Moodle, nothing halved.
    assert_eq!(proxy.calls_to("core_user_create_users"), 1);
    assert!(user(&format!("{p}2")).is_some());
}

#[test]
fn a_deleted_account_found_by_its_id_is_gone_as_in_the_embedded_store() {
    let (proxy, w) = lab_site("[users]\nidentifier = \"id\"\n");
    let p = unique("gone");
    let gone = make_user(&p, &format!("{p}@example.edu"));
    Session::connect(Who::Core).ok("core_user_delete_users", json!({"userids": [gone]}));
    proxy.clear_calls();
    // tool_sync's users columns have no id: a site's own script can match accounts by it.
    w.script(
        "users.rhai",
        "fn row(r) {\n    if r.deleted == \"1\" { return #{ op: \"user_delete\", id: parse_int(r.id) }; }\n    #{ op: \"user_upsert\", id: parse_int(r.id), username: r.username, firstname: r.firstname, lastname: r.lastname }\n}\n",
    );
    w.drop_file(
        "userimport.csv",
        format!("id;username;firstname;lastname;deleted\n{gone};{p};Back;G;0\n{gone};{p};G;G;1\n"),
    );
    run(&w).expect_code(1);
    let report = w.report();
    assert!(report.contains(":2: failed MS-T009"), "{report}");
    assert!(report.contains(":3: skipped"), "{report}");
    assert_eq!(writes(&proxy), Vec::<String>::new(), "{report}");
}

#[test]
fn rows_touching_one_account_go_in_file_order() {
    let (_proxy, w) = lab_site("");
    let p = unique("ord");
    w.drop_file("userimport.csv", users(&p, 1));
    run(&w).expect_code(0);
    // The address the first row frees is taken by a new account two rows later, in the
    // same batch.
    w.drop_file(
        "userimport.csv",
        format!(
            "username;firstname;lastname;email;deleted\n{p}0;First0;Last0;{p}0@example.edu;1\n\
             {p}new;N;N;{p}other@example.edu;0\n{p}heir;H;H;{p}0@example.edu;0\n"
        ),
    );
    run(&w).expect_code(0);
    assert!(user(&format!("{p}0")).is_none());
    assert_eq!(
        user(&format!("{p}heir")).unwrap()["email"],
        format!("{p}0@example.edu")
    );
}

#[test]
fn a_dropped_or_refused_lookup_is_retried() {
    let (proxy, w) = lab_site("");
    let p = unique("dl");
    proxy.drop_next("core_user_get_users_by_field", When::BeforeMoodle, 1);
    w.drop_file("userimport.csv", users(&p, 3));
    run(&w).expect_code(0);
    assert!((0..3).all(|i| user(&format!("{p}{i}")).is_some()));
    proxy.fail_next_5xx("core_user_get_users_by_field", 1);
    w.drop_file("userimport.csv", users(&p, 3));
    run(&w).expect_code(0);
    assert!(w.report().contains("3 unchanged"), "{}", w.report());
}

#[test]
fn a_create_whose_answer_was_lost_is_checked_not_sent_again() {
    let (proxy, w) = lab_site("");
    let p = unique("la");
    // Moodle creates the accounts, then the connection drops before the answer.
    proxy.drop_next("core_user_create_users", When::AfterMoodle, 1);
    w.drop_file("userimport.csv", users(&p, 3));
    run(&w).expect_code(0);
    assert_eq!(
        proxy.calls_to("core_user_create_users"),
        1,
        "never sent twice"
    );
    assert!((0..3).all(|i| user(&format!("{p}{i}")).is_some()));
    assert!(w.report().contains("3 created"), "{}", w.report());
}

#[test]
fn a_create_lost_before_moodle_ran_it_is_sent_again_after_a_check() {
    let (proxy, w) = lab_site("");
    let p = unique("lb");
    proxy.drop_next("core_user_create_users", When::BeforeMoodle, 1);
    w.drop_file("userimport.csv", users(&p, 3));
    run(&w).expect_code(0);
    assert_eq!(proxy.calls_to("core_user_create_users"), 2);
    assert!((0..3).all(|i| user(&format!("{p}{i}")).is_some()));
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
fn maintenance_mode_stops_the_file_with_one_error_and_the_next_run_does_the_work() {
    let (proxy, w) = lab_site("");
    let p = unique("mt");
    proxy.set_maintenance(true);
    w.drop_file("userimport.csv", users(&p, 5));
    let out = run(&w);
    assert_stopped(&w, &out, "MS-R003");
    assert_eq!(proxy.calls().len(), 1, "stopped at the first answer");
    proxy.set_maintenance(false);
    run(&w).expect_code(0);
    assert!((0..5).all(|i| user(&format!("{p}{i}")).is_some()));
}

#[test]
fn an_invalid_token_stops_the_file() {
    let (_proxy, w) = lab_site("");
    w.drop_file("userimport.csv", users(&unique("tk"), 2));
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
fn a_function_missing_from_the_service_is_named_and_optional_ones_said_off() {
    let (proxy, w) = lab_site("");
    let check = w.moosync_env(&["check-target"], &[(TOKEN_VAR, &token())]);
    check.expect_code(0);
    assert!(check.stdout.contains("users: ok"), "{}", check.stdout);
    assert!(check.stdout.contains("token of: admin"), "{}", check.stdout);
    proxy.remove_function("core_user_create_users");
    proxy.remove_function("core_course_duplicate_course");
    let check = w.moosync_env(&["check-target"], &[(TOKEN_VAR, &token())]);
    check.expect_code(2);
    assert!(
        check
            .stdout
            .contains("users: missing core_user_create_users"),
        "{}",
        check.stdout
    );
    // Optional functions are named, without failing the check on their own.
    assert!(
        check
            .stdout
            .contains("course templates: off (optional; add core_course_duplicate_course"),
        "{}",
        check.stdout
    );
    w.drop_file("userimport.csv", users(&unique("mf"), 2));
    let out = run(&w);
    assert_stopped(&w, &out, "core_user_create_users");
}

#[test]
fn the_token_never_appears_in_any_output() {
    let (proxy, w) = lab_site("");
    let p = unique("sec");
    let token = token();
    let rows = users(&p, 4).replace("Secret-1!", "weak");
    w.drop_file("userimport.csv", rows);
    // Errors quote the token: nothing moosync writes may.
    proxy.quote_token_in_errors(true);
    let mut outputs = vec![run(&w)];
    outputs[0].expect_code(1);
    proxy.set_maintenance(true);
    w.drop_file("userimport.csv", users(&format!("{p}x"), 1));
    outputs.push(run(&w));
    outputs.push(w.moosync_env(&["check-target"], &[(TOKEN_VAR, &token)]));
    outputs.push(w.moosync_env(&["status"], &[(TOKEN_VAR, &token)]));
    for o in &outputs {
        assert!(!o.stdout.contains(&token), "{}", o.stdout);
        assert!(!o.stderr.contains(&token), "{}", o.stderr);
    }
    for area in ["Reports", "Trybacks", "Archives", "inbox"] {
        for f in w.files(area) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&token),
                "{}",
                f.display()
            );
        }
    }
    let state = std::fs::read(w.join("state.db")).unwrap();
    assert!(!String::from_utf8_lossy(&state).contains(&token));
}

#[test]
fn no_secret_from_a_moodle_that_echoes_requests_reaches_any_output() {
    let (proxy, w) = lab_site("");
    let p = unique("echo");
    // The script marks the profile field secret, as a PIN or a national number would be.
    w.script(
        "users.rhai",
        r#"fn row(r) {
            let u = take(r, ["firstname", "lastname", "email", "password"]);
            u.op = "user_upsert";
            u.username = r.username;
            u.profile = with_prefix(r, "profile_field_");
            u.secret = ["moosynclab"];
            u
        }"#,
    );
    let mut rows =
        String::from("username;firstname;lastname;email;password;profile_field_moosynclab\n");
    let mut secrets = Vec::new();
    for i in 0..4 {
        // The last password fails Moodle's policy: its call, and the batch's, are refused.
        let password = if i == 3 {
            "weakpw3".to_string()
        } else {
            format!("Pass-word-{i}!")
        };
        let hidden = format!("Hidden-{p}-{i}");
        rows.push_str(&format!(
            "{p}{i};First{i};Last{i};{p}{i}@example.edu;{password};{hidden}\n"
        ));
        secrets.extend([password, hidden]);
    }
    let bad_row = rows.lines().nth(4).unwrap().to_string();
    w.drop_file("userimport.csv", &rows);
    // As a site with developer debugging: errors print the request, passwords included.
    proxy.echo_request_in_errors(true);
    let mut outputs = vec![run(&w)];
    outputs[0].expect_code(1);
    outputs.push(w.moosync_env(&["status"], &[(TOKEN_VAR, &token())]));
    let planned = w.join("planned.csv");
    std::fs::write(&planned, &rows).unwrap();
    let plan = w.moosync(&["plan", "--tool", "users", planned.to_str().unwrap()]);
    assert!(
        plan.stdout.contains("moosynclab: '********'"),
        "{}",
        plan.stdout
    );
    outputs.push(plan);

    assert!(user(&format!("{p}0")).is_some() && user(&format!("{p}3")).is_none());
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
        format!("{}\n{bad_row}\n", rows.lines().next().unwrap())
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
    let (proxy, w) = lab_site("");
    let p = unique("dry");
    make_user(&format!("{p}0"), &format!("{p}0@example.edu"));
    proxy.clear_calls();
    w.drop_file("userimport.csv", users(&p, 3));
    w.moosync_env(&["run", "--quiet", "--dry-run"], &[(TOKEN_VAR, &token())])
        .expect_code(0);
    assert_eq!(writes(&proxy), Vec::<String>::new());
    assert!(
        w.report().contains("2 created, 1 updated"),
        "{}",
        w.report()
    );
    assert!(w.join("inbox/userimport.csv").exists());
    assert!(user(&format!("{p}1")).is_none());
}

#[test]
fn deletes_remove_the_account_and_an_unknown_one_is_nothing_to_do() {
    let (_proxy, w) = lab_site("");
    let p = unique("del");
    w.drop_file("userimport.csv", users(&p, 2));
    run(&w).expect_code(0);
    w.drop_file(
        "userimport.csv",
        format!("username;firstname;lastname;deleted\n{p}0;First0;Last0;1\n{p}nobody;N;N;1\n"),
    );
    run(&w).expect_code(0);
    assert!(user(&format!("{p}0")).is_none());
    assert!(user(&format!("{p}1")).is_some());
    assert!(w.report().contains("1 deleted"), "{}", w.report());
}

#[test]
fn an_answer_that_is_not_utf8_is_shown_not_called_unreachable() {
    let (proxy, w) = lab_site("");
    proxy.answer_next("core_user_get_users_by_field", Odd::NotUtf8, 1);
    w.drop_file("userimport.csv", users(&unique("nu"), 2));
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
    assert_eq!(proxy.calls_to("core_user_get_users_by_field"), 1);
    run(&w).expect_code(0);
}

#[test]
fn an_oversized_answer_stops_the_file_and_a_course_list_is_read_course_by_course() {
    // batch_size 1: at most 8 MiB + 32 KiB an answer.
    let (proxy, w) = lab_site("batch_size = 1\n");
    proxy.answer_next(
        "core_user_get_users_by_field",
        Odd::Oversized(9 * 1024 * 1024),
        1,
    );
    w.drop_file("userimport.csv", users(&unique("ov"), 2));
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
    let p = unique("k");
    let mut file = String::from("shortname;fullname\n");
    for i in 0..25 {
        file.push_str(&format!("{p}{i};Course {i}\n"));
    }
    proxy.answer_next(
        "core_course_get_courses_by_field",
        Odd::Oversized(9 * 1024 * 1024),
        1,
    );
    proxy.clear_calls();
    w.drop_file("uploadcourses.csv", file);
    run(&w).expect_code(0);
    let made = Session::connect(Who::Core).ok(
        "core_course_get_courses_by_field",
        json!({"field": "shortname", "value": format!("{p}24")}),
    );
    assert_eq!(made["courses"].as_array().map(Vec::len), Some(1), "{made}");
    assert_eq!(proxy.calls_to("core_course_get_courses_by_field"), 1 + 25);
}

#[test]
fn with_the_plugin_accounts_are_read_through_its_lean_read_and_compare_the_same() {
    let (proxy, w) = lab_site_as(Who::Plugin, "");
    let p = unique("lean");
    let mut file = String::from(
        "username;firstname;lastname;email;idnumber;city;suspended;profile_field_moosynclab\n",
    );
    for i in 0..6 {
        file.push_str(&format!(
            "{p}{i};First{i};Last{i};{p}{i}@example.edu;{p}ID{i};City {i};{};Field {i}\n",
            i % 2
        ));
    }
    let token = lab::token(Who::Plugin);
    let run_as = |w: &Workdir| w.moosync_env(&["run", "--quiet"], &[(TOKEN_VAR, &token)]);
    w.drop_file("userimport.csv", &file);
    run_as(&w).expect_code(0);
    proxy.clear_calls();
    w.drop_file("userimport.csv", &file);
    // Applied (--full), not skipped as unchanged: the rows are read and compared.
    w.moosync_env(&["run", "--quiet", "--full"], &[(TOKEN_VAR, &token)])
        .expect_code(0);
    // Nothing differs when read lean (suspension and the custom field included), and only
    // the plugin's read was used.
    assert!(w.report().contains("6 unchanged"), "{}", w.report());
    assert_eq!(writes(&proxy), Vec::<String>::new());
    assert!(proxy.calls_to("local_moosync_get_users") >= 1);
    assert_eq!(proxy.calls_to("core_user_get_users_by_field"), 0);
    // A changed custom field is seen, and only it is sent.
    proxy.clear_calls();
    w.drop_file(
        "userimport.csv",
        file.replace(
            &format!("{p}ID3;City 3;1;Field 3"),
            &format!("{p}ID3;City 3;1;Changed"),
        ),
    );
    run_as(&w).expect_code(0);
    assert!(w.report().contains("5 unchanged"), "{}", w.report());
    assert_eq!(proxy.calls_to("core_user_update_users"), 1);
    let u = user(&format!("{p}3")).unwrap();
    assert_eq!(u["customfields"][0]["value"], "Changed", "{u}");
}

/// The course whose shortname is `shortname`, if any.
fn course(shortname: &str) -> Option<Value> {
    let found = Session::connect(Who::Core).ok(
        "core_course_get_courses_by_field",
        json!({"field": "shortname", "value": shortname}),
    );
    found["courses"].as_array().and_then(|a| a.first()).cloned()
}

/// A course made through core (Moodle gives it the default methods, manual among them).
fn make_course(shortname: &str) -> i64 {
    let made = Session::connect(Who::Core).ok(
        "core_course_create_courses",
        json!({"courses": [{"fullname": shortname, "shortname": shortname, "categoryid": 1}]}),
    );
    made[0]["id"].as_i64().expect("an id")
}

/// The roles `username` holds in the course.
fn roles_in(course_id: i64, username: &str) -> Vec<String> {
    let users = Session::connect(Who::Core).ok(
        "core_enrol_get_enrolled_users",
        json!({"courseid": course_id}),
    );
    users
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["username"] == username)
        .flat_map(|u| u["roles"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["shortname"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_course_with_a_template_is_a_copy_given_the_rows_fields() {
    let (proxy, w) = lab_site("");
    let p = unique("tpl");
    make_course(&format!("{p}tpl"));
    make_user(&format!("{p}ann"), &format!("{p}ann@example.edu"));
    let file = format!(
        "shortname;fullname;template;idnumber;summary;teacher1_account\n\
         {p}new1;New one;{p}tpl;{p}N1;Hello;{p}ann\n\
         {p}new2;Other;{p}nope;;;\n"
    );
    // Without the copy function in the service, the file stops, naming it.
    proxy.remove_function("core_course_duplicate_course");
    w.drop_file("uploadcourses.csv", &file);
    let out = run(&w);
    out.expect_code(2);
    assert!(
        out.stdout.contains("lacks core_course_duplicate_course"),
        "{}",
        out.stdout
    );
    assert!(course(&format!("{p}new1")).is_none());
    // The proxy's removal is for that run only: a fresh proxy forwards the lab's service.
    let (proxy, w2) = lab_site("");
    w2.drop_file("uploadcourses.csv", &file);
    run(&w2).expect_code(1);
    let new = course(&format!("{p}new1")).expect("copied");
    assert_eq!(new["idnumber"], format!("{p}N1"));
    assert_eq!(new["summary"], "Hello");
    assert_eq!(proxy.calls_to("core_course_duplicate_course"), 1);
    assert_eq!(proxy.calls_to("core_course_create_courses"), 0);
    // The copy has the template's manual method: its teacher is enrolled through it.
    assert_eq!(
        roles_in(new["id"].as_i64().unwrap(), &format!("{p}ann")),
        ["editingteacher"]
    );
    let report = w2.report();
    assert!(
        report.contains(&format!("created course {p}new1")),
        "{report}"
    );
    assert!(report.contains(":3: failed MS-T009"), "{report}");
    assert!(
        report.contains(&format!("template course '{p}nope'")),
        "{report}"
    );
    // Again: the copy exists, and is left as it is.
    proxy.clear_calls();
    w2.drop_file(
        "uploadcourses.csv",
        format!("shortname;fullname;template\n{p}new1;New one;{p}tpl\n"),
    );
    run(&w2).expect_code(0);
    assert_eq!(writes(&proxy), Vec::<String>::new());
}

#[test]
fn a_copy_whose_answer_was_lost_is_finished_by_the_next_run() {
    let (proxy, w) = lab_site("");
    let p = unique("cpy");
    make_course(&format!("{p}tpl"));
    let file = |summary: &str| {
        format!(
            "shortname;fullname;template;idnumber;summary\n{p}new1;New one;{p}tpl;{p}N1;{summary}\n"
        )
    };
    w.drop_file("uploadcourses.csv", file("Hello"));
    proxy.drop_next("core_course_duplicate_course", When::AfterMoodle, 1);
    // A lost answer is the site unreachable for that call.
    run(&w).expect_code(4);
    assert_eq!(course(&format!("{p}new1")).expect("made")["idnumber"], "");
    // The file waited in inbox/; updates are off, yet the copy is finished, not made again.
    run(&w).expect_code(0);
    let new = course(&format!("{p}new1")).unwrap();
    assert_eq!(new["idnumber"], format!("{p}N1"));
    assert_eq!(new["summary"], "Hello");
    assert_eq!(proxy.calls_to("core_course_duplicate_course"), 1);
    assert!(
        w.report().contains("the copy of its template finished"),
        "{}",
        w.report()
    );
    // Finished: the next run leaves it alone.
    proxy.clear_calls();
    w.drop_file("uploadcourses.csv", file("Changed"));
    run(&w).expect_code(0);
    assert_eq!(writes(&proxy), Vec::<String>::new());
}
