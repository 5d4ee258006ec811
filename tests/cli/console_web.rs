//! The web console in a real headless Chromium: log in, upload a users file, dry run and run
//! it watching the progress to the end, read the report (failures first), download the
//! errors-only CSV and the tryback, send the tryback back to the inbox, delete a file. Every
//! step asserts on the page; a screenshot of each screen goes to target/web-screenshots/.

use crate::console_server::{self, Served, SECRET};
use crate::webdriver::Browser;
use std::time::Duration;

/// A users file of `n` good rows and two bad ones (an invalid username, an invalid email),
/// with a password column the console must never show (set on a few rows: hashing one takes
/// a millisecond, many more in a debug build).
fn users_file(n: usize) -> String {
    let mut text = String::from("username;firstname;lastname;email;idnumber;password\n");
    for i in 0..n {
        let pw = if i < 3 {
            format!("Secret-pw-{i}!")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "user{i:05};First{i};Last{i};user{i}@example.edu;S{i:05};{pw}\n"
        ));
    }
    text.push_str("bad user!;Bob;Broken;bob@example.edu;B1;Hidden-pw-1!\n");
    text.push_str("cnoemail;Chloé;Noel;not-an-email;B2;Hidden-pw-2!\n");
    text
}

#[test]
fn console_runs_a_users_file_from_upload_to_tryback() {
    let w = console_server::workdir();
    // Small batches: the progress moves as a run goes.
    w.settings("[web]\nsecret_env = \"MOOSYNC_TEST_SECRET\"\n\n[run]\nbatch_size = 250\n");
    let upload = tempfile::tempdir().unwrap();
    let file = upload.path().join("userimport.csv");
    std::fs::write(&file, users_file(3000)).unwrap();
    let served = Served::start(&w);
    let b = Browser::start();
    let url = &served.url;

    // Every page needs the login first.
    b.goto(&format!("{url}/"));
    assert!(b.url().ends_with("/login"), "{}", b.url());
    b.find("#secret");
    b.screenshot("login");
    b.type_into("#secret", "not the secret at all");
    b.click("#login");
    b.wait_text("#login-failed", Duration::from_secs(10), |t| {
        t.contains("not the console's secret")
    });
    b.type_into("#secret", SECRET);
    b.click("#login");
    b.wait_text("h1", Duration::from_secs(10), |t| t == "Synthesis");

    // Upload into inbox/.
    b.click("#nav-files");
    b.wait_text("h1", Duration::from_secs(10), |t| t == "Files");
    b.type_into("#upload-file", &file.display().to_string());
    b.click("#upload-button");
    b.wait_text("#upload-said", Duration::from_secs(20), |t| {
        t == "added inbox/userimport.csv"
    });
    // The page reloads with the file listed.
    b.wait_text("table.files", Duration::from_secs(10), |t| {
        t.contains("inbox/userimport.csv")
    });
    b.screenshot("files");
    assert_eq!(
        std::fs::read(w.join("inbox/userimport.csv")).unwrap(),
        std::fs::read(&file).unwrap()
    );

    // Preview: the plan of the file, passwords masked.
    b.goto(&format!("{url}/preview?path=inbox/userimport.csv"));
    let plan = b.wait_text("#plan", Duration::from_secs(20), |t| {
        t.contains("user00000")
    });
    assert!(!plan.contains("Secret-pw-0!"), "a password in the preview");
    b.screenshot("preview");

    // A dry run: the file stays, the run says what it would do.
    b.click("#nav-run");
    b.click("#dry-run-users");
    let verdict = b.wait_text("#verdict", Duration::from_secs(120), |t| !t.is_empty());
    assert!(verdict.contains("some rows failed"), "{verdict}");
    let lines = b.text("#lines");
    assert!(
        lines.contains("[dry run] users userimport.csv: 3002 rows"),
        "{lines}"
    );
    b.screenshot("dry-run");
    assert!(
        w.join("inbox/userimport.csv").exists(),
        "a dry run moved the file"
    );

    // The run, watched to its end.
    b.click("#nav-run");
    b.click("#run-users");
    let progress = b.wait_text("#progress", Duration::from_secs(120), |t| {
        t.starts_with("3002 of about 3002 rows")
    });
    assert!(
        progress.contains("rows/s") || progress.contains("measuring"),
        "{progress}"
    );
    let verdict = b.wait_text("#verdict", Duration::from_secs(120), |t| !t.is_empty());
    assert!(verdict.contains("some rows failed"), "{verdict}");
    assert_eq!(
        b.script("return document.getElementById('verdict').dataset.code"),
        "1"
    );
    b.screenshot("run");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username LIKE 'user%'"),
        3000
    );

    // The report: failures first, grouped by code, with the remedy and the row's identifiers.
    b.click("#lines a");
    b.wait_text("h1", Duration::from_secs(10), |t| t.starts_with("Report"));
    let page = b.text("main");
    let failures = page.find("Failures: 2").expect("the failures heading");
    let others = page
        .find("Other rows: 3,000")
        .expect("the other rows heading");
    assert!(failures < others, "failures come first");
    let group = b.text("#group-MS-V001");
    assert!(group.contains("What to do: fix the username"), "{group}");
    assert!(group.contains("username=bad user!"), "{group}");
    assert!(b.text("#group-MS-V002").contains("email=not-an-email"));
    assert!(!page.contains("Hidden-pw"), "a password on the report page");
    assert!(
        b.exists(".change.created .tag.created"),
        "creations are marked"
    );
    b.screenshot("report");

    // The errors-only CSV and the tryback, downloaded.
    b.click("#errors-csv");
    let (name, csv) = b.downloaded("_errors.csv");
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{name}: {csv}");
    assert!(lines[0].starts_with("report,line,code,message,remedy,identifiers"));
    assert!(
        lines[1].contains(",3002,MS-V001,") && lines[2].contains(",3003,MS-V002,"),
        "{csv}"
    );
    b.click("#tryback");
    let (_, tryback) = b.downloaded("userimport_tryback_");
    let tryback = String::from_utf8(tryback).unwrap();
    assert!(tryback.starts_with("username;firstname"), "{tryback}");
    assert!(tryback.contains("bad user!;Bob") && tryback.contains("cnoemail;Chlo"));

    // The tryback goes back to the inbox…
    b.goto(&format!("{url}/files?area=Trybacks"));
    b.click("button.retry");
    let said = b.wait_text("#said", Duration::from_secs(10), |t| !t.is_empty());
    assert!(
        said.starts_with("moved Trybacks/userimport_tryback_")
            && said.contains("to inbox/userimport_tryback_"),
        "{said}"
    );
    let back = w.files("inbox");
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(w.files("Trybacks").is_empty());

    // …and a file is deleted (after the browser's confirmation).
    b.goto(&format!("{url}/files?area=inbox"));
    b.click("button.delete");
    b.accept_alert();
    let said = b.wait_text("#said", Duration::from_secs(10), |t| !t.is_empty());
    assert!(
        said.starts_with("removed inbox/userimport_tryback_"),
        "{said}"
    );
    assert!(w.files("inbox").is_empty());
    b.screenshot("files-after");

    // The synthesis tells what happened; the problems and settings screens too.
    b.click("#nav-synthesis");
    let users = b.wait_text("#tool-users", Duration::from_secs(10), |t| {
        t.contains("userimport.csv")
    });
    assert!(users.contains("users (userimport*.csv)"), "{users}");
    assert!(users.contains("3002 rows: 3000 applied"), "{users}");
    assert!(
        b.text("#failed-rows").starts_with("4 failed rows"),
        "two from the dry run, two from the run"
    );
    b.screenshot("synthesis");
    b.click("#nav-problems");
    let problems = b.wait_text("main", Duration::from_secs(10), |t| t.contains("MS-V002"));
    assert!(problems.contains("fix the email address"), "{problems}");
    b.screenshot("problems");
    b.click("#nav-settings");
    let settings = b.wait_text("main", Duration::from_secs(10), |t| {
        t.contains("[web] secret_env")
    });
    assert!(settings.contains("MOOSYNC_TEST_SECRET") && !settings.contains(SECRET));
    b.screenshot("settings");

    // Logging out ends the session.
    b.click("#logout");
    b.wait_text("h1", Duration::from_secs(10), |t| t == "moosync console");
    b.goto(&format!("{url}/files"));
    assert!(b.url().ends_with("/login"));
}
