//! The external feed: capture from the drop folder, its lock files, alarm mails, and one run
//! at a time.

use crate::smtp_sink::{closed_port, SmtpSink};
use crate::workdir::Workdir;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

const USERS: &str = "username;firstname;lastname\nann;Ann;A\n";

/// A data folder whose drop folder is `drop/` inside it, mailing a local sink (or nobody).
fn with_feed(mail: Option<u16>) -> (Workdir, PathBuf) {
    let w = Workdir::new();
    let drop = w.join("drop");
    fs::create_dir_all(&drop).unwrap();
    let mail = match mail {
        Some(port) => format!(
            "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
             from = \"moosync@example.edu\"\nto = [\"admin@example.edu\"]\ntimeout_seconds = 5\n"
        ),
        None => String::new(),
    };
    w.settings(&format!("[feed]\ndrop_folder = \"drop\"\n{mail}"));
    (w, drop)
}

fn age(path: &std::path::Path, minutes: u64) {
    let t = SystemTime::now() - Duration::from_secs(minutes * 60);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn capture_report(w: &Workdir) -> String {
    let p = w
        .files("Reports")
        .into_iter()
        .rfind(|p| {
            let n = p.to_string_lossy();
            n.contains("_capture") && n.ends_with(".txt")
        })
        .expect("a capture report");
    fs::read_to_string(p).unwrap()
}

fn names(dir: PathBuf) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn capture_takes_finished_files_and_leaves_the_rest() {
    let (w, drop) = with_feed(None);
    fs::write(drop.join("userimport.csv"), USERS).unwrap();
    fs::write(drop.join("enrols.csv.filepart"), "half").unwrap();
    fs::write(drop.join(".hidden.csv"), "x").unwrap();
    fs::write(drop.join("_for_the_sender.csv"), "x").unwrap();
    fs::create_dir(drop.join("sub")).unwrap();
    let out = w.run();
    out.expect_code(0);
    assert!(
        out.stdout.contains("capture: 1 file(s) moved"),
        "{}",
        out.stdout
    );
    // Captured, then processed in the same run.
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Ann"));
    assert_eq!(
        names(drop.clone()),
        [
            ".hidden.csv",
            "_for_the_sender.csv",
            "enrols.csv.filepart",
            "sub"
        ]
    );
    assert!(capture_report(&w).contains("enrols.csv.filepart: still uploading"));
    assert!(
        !drop.join("lock.txt").exists(),
        "the capture lock is released"
    );
    let status = w.moosync(&["status"]);
    assert!(status.stdout.contains("last capture"), "{}", status.stdout);
}

#[test]
fn nothing_is_captured_while_the_sender_holds_alock() {
    let (w, drop) = with_feed(None);
    fs::write(drop.join("userimport.csv"), USERS).unwrap();
    fs::write(drop.join("alock.txt"), "").unwrap();
    w.run().expect_code(0);
    assert!(drop.join("userimport.csv").exists());
    assert!(!w.join("inbox/userimport.csv").exists());
    assert!(capture_report(&w).contains("alock.txt is present"));
    fs::remove_file(drop.join("alock.txt")).unwrap();
    w.run().expect_code(0);
    assert!(!drop.join("userimport.csv").exists());
    assert!(w.user_field("ann", "id").is_some());
}

#[test]
fn a_stale_lock_from_a_dead_moosync_is_replaced_with_a_warning() {
    let (w, drop) = with_feed(None);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    fs::write(
        drop.join("lock.txt"),
        format!("moosync pid {pid} started 2026-11-24 01:00:00 UTC on elsewhere\n"),
    )
    .unwrap();
    fs::write(drop.join("userimport.csv"), USERS).unwrap();
    w.run().expect_code(0);
    let report = capture_report(&w);
    assert!(
        report.contains(&format!("replaced a stale lock.txt left by pid {pid}")),
        "{report}"
    );
    assert!(w.user_field("ann", "id").is_some());
    assert!(!drop.join("lock.txt").exists());
}

#[test]
fn a_name_clash_in_inbox_keeps_both() {
    let (w, drop) = with_feed(None);
    // A file waiting in inbox/ that this run will not take (its tool is not asked for).
    w.drop_file("enrols.csv", "rolename;cid;uid\nstudent;C1;ann\n");
    fs::write(
        drop.join("enrols.csv"),
        "rolename;cid;uid\nstudent;C2;ann\n",
    )
    .unwrap();
    w.moosync(&["run", "--quiet", "users"]).expect_code(0);
    let waiting = names(w.join("inbox"));
    assert!(waiting.contains(&"enrols.csv".to_string()), "{waiting:?}");
    assert!(waiting.contains(&"enrols~2.csv".to_string()), "{waiting:?}");
    assert_eq!(
        fs::read_to_string(w.join("inbox/enrols.csv")).unwrap(),
        "rolename;cid;uid\nstudent;C1;ann\n",
        "the waiting file is never overwritten"
    );
    assert!(capture_report(&w).contains("both kept, this one as enrols~2.csv"));
}

#[test]
fn after_a_name_clash_the_waiting_file_runs_first_and_the_newer_last() {
    let (w, drop) = with_feed(None);
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nann;Older;A\n",
    );
    fs::write(
        drop.join("userimport.csv"),
        "username;firstname;lastname\nann;Newer;A\n",
    )
    .unwrap();
    w.run().expect_code(0);
    // Both ran (the clash name matches the users preset), the newer one last.
    let left: Vec<String> = names(w.join("inbox"))
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Newer"));
    assert_eq!(w.files("Archives").len(), 2);
}

#[test]
fn a_drop_folder_that_is_the_inbox_captures_nothing_and_loses_nothing() {
    let w = Workdir::new();
    w.settings("[feed]\ndrop_folder = \"inbox\"\n");
    w.drop_file("enrols.csv", "rolename;cid;uid\nstudent;C1;ann\n");
    w.moosync(&["run", "--quiet", "users"]).expect_code(0);
    assert_eq!(names(w.join("inbox")), vec!["enrols.csv".to_string()]);
    assert!(
        capture_report(&w).contains("MS-F001"),
        "{}",
        capture_report(&w)
    );
    assert!(capture_report(&w).contains("one of its own folders"));
}

#[test]
fn a_locked_data_folder_still_mails_the_alarm_for_a_stuck_capture() {
    let sink = SmtpSink::start();
    let (w, drop) = with_feed(Some(sink.port()));
    // A run that hangs in its capture: it holds the data folder and lock.txt for hours.
    let held = fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(w.join(".moosync.lock"))
        .unwrap();
    held.try_lock().unwrap();
    fs::write(
        drop.join("lock.txt"),
        format!("pid {}\n", std::process::id()),
    )
    .unwrap();
    age(&drop.join("lock.txt"), 300);
    w.run().expect_code(3);
    let mails = sink.wait_for(1, Duration::from_secs(10));
    let subject = mails[0].header("Subject").unwrap();
    assert!(subject.contains("lock.txt is 5 h"), "{subject}");
    assert!(mails[0].body().contains("lock.txt"), "{}", mails[0].body());
    // Rate-limited like any alarm.
    w.run().expect_code(3);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn bad_drop_folders_and_entries_are_reported_and_the_run_goes_on() {
    let w = Workdir::new();
    w.settings("[feed]\ndrop_folder = \"no-such-folder\"\n");
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(w.user_field("ann", "id").is_some(), "the run went on");
    assert!(capture_report(&w).contains("cannot be read"));

    let (w, drop) = with_feed(None);
    let outside = tempfile::NamedTempFile::new().unwrap();
    fs::write(outside.path(), USERS).unwrap();
    std::os::unix::fs::symlink(outside.path(), drop.join("userimport.csv")).unwrap();
    fs::write(drop.join("enrols.csv"), "rolename;cid;uid\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(drop.join("enrols.csv"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::write(drop.join("groups.csv"), "courseid;name\n").unwrap();
    w.run().expect_code(0);
    let report = capture_report(&w);
    assert!(
        report.contains("userimport.csv: a symbolic link"),
        "{report}"
    );
    assert!(
        report.contains("enrols.csv: has no read permission"),
        "{report}"
    );
    assert!(outside.path().exists(), "a link's target is never touched");
    assert!(drop.join("enrols.csv").exists());
    assert!(
        !drop.join("groups.csv").exists(),
        "the readable file was taken"
    );

    let (w, drop) = with_feed(None);
    fs::create_dir(drop.join("lock.txt")).unwrap();
    fs::write(drop.join("userimport.csv"), USERS).unwrap();
    w.run().expect_code(0);
    assert!(capture_report(&w).contains("lock.txt in the drop folder is not a file"));
    assert!(drop.join("userimport.csv").exists());
    let status = w.moosync(&["status"]);
    assert!(
        status
            .stdout
            .contains("lock.txt in the drop folder is not a file"),
        "{}",
        status.stdout
    );
}

#[test]
fn an_old_alock_raises_one_alarm_per_period() {
    let sink = SmtpSink::start();
    let (w, drop) = with_feed(Some(sink.port()));
    fs::write(drop.join("alock.txt"), "").unwrap();
    age(&drop.join("alock.txt"), 4 * 60);
    w.run().expect_code(0);
    let got = sink.wait_for(1, Duration::from_secs(10));
    let m = &got[0];
    assert_eq!(m.to, ["admin@example.edu"]);
    let subject = m.header("Subject").unwrap();
    assert!(subject.contains("alock.txt is 4 h 0 min old"), "{subject}");
    assert!(m.body().contains("sending system"), "{}", m.body());
    assert!(m.body().contains("for 4 h 0 min"), "{}", m.body());
    assert!(m.body().contains("alock.txt"), "{}", m.body());
    // The next runs within the period send nothing more.
    w.run().expect_code(0);
    w.run().expect_code(0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1, "one alarm per lock per period");
    assert!(capture_report(&w).contains("already mailed"));
    // A young lock raises none.
    let sink2 = SmtpSink::start();
    let (w2, drop2) = with_feed(Some(sink2.port()));
    fs::write(drop2.join("alock.txt"), "").unwrap();
    w2.run().expect_code(0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(sink2.messages().is_empty());
}

#[test]
fn an_unreachable_mail_server_never_stops_the_run() {
    let (w, drop) = with_feed(Some(closed_port()));
    fs::write(drop.join("alock.txt"), "").unwrap();
    age(&drop.join("alock.txt"), 300);
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(w.user_field("ann", "id").is_some());
    assert!(
        capture_report(&w).contains("the alarm mail could not be sent"),
        "{}",
        capture_report(&w)
    );
}

#[test]
fn two_runs_at_once_the_second_exits_3_naming_the_first() {
    let w = Workdir::new();
    let mut rows = String::from("username;firstname;lastname;password\n");
    // Enough password hashing to keep the first run busy while the second starts.
    for i in 0..300 {
        rows.push_str(&format!("u{i};U;{i};Secret-{i}!\n"));
    }
    w.drop_file("userimport.csv", rows);
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(w.join(""))
        .args(["run", "--quiet"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run has claimed its file (it holds the lock by then).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while names(w.join("inbox")).contains(&"userimport.csv".to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = w.run();
    let first_code = first.wait().unwrap().code();
    second.expect_code(3);
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        second.stderr
    );
    assert_eq!(second.stderr.trim().lines().count(), 1, "{}", second.stderr);
    assert_eq!(first_code, Some(0));
}

#[test]
fn cron_runs_everything_and_mails_a_summary() {
    let sink = SmtpSink::start();
    let w = Workdir::new();
    w.settings(&format!(
        "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"m@example.edu\"\n\
         to = [\"admin@example.edu\"]\nsummary = \"failure\"\n",
        sink.port()
    ));
    w.drop_file("uploadcourses.csv", "shortname;fullname\nC1;One\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nann;Ann;A\nBAD USER;B;C\n",
    );
    let out = w.moosync(&["cron"]);
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per file:\n{}", out.stdout);
    assert!(lines[0].starts_with("courses uploadcourses.csv:"));
    assert!(lines[1].starts_with("users userimport.csv:"));
    let got = sink.wait_for(1, Duration::from_secs(10));
    assert!(got[0]
        .header("Subject")
        .unwrap()
        .contains("some rows failed"));
    assert!(
        got[0].body().contains("userimport.csv"),
        "{}",
        got[0].body()
    );
    // Nothing failed: no mail with summary = "failure".
    w.drop_file("userimport.csv", "username;firstname;lastname\nbob;Bob;B\n");
    w.moosync(&["cron"]).expect_code(0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn cron_prunes_old_bookkeeping_but_never_inbox() {
    let w = Workdir::new();
    w.settings("[prune]\nolder_than_days = 30\n");
    fs::write(w.join("Reports/old_report.txt"), "x").unwrap();
    age(&w.join("Reports/old_report.txt"), 40 * 24 * 60);
    w.drop_file("enrols_later.txt", "not an input of any preset");
    age(&w.join("inbox/enrols_later.txt"), 40 * 24 * 60);
    // An input whose own time is old: its archive is new, and stays.
    w.drop_file("userimport.csv", USERS);
    age(&w.join("inbox/userimport.csv"), 40 * 24 * 60);
    w.moosync(&["cron"]).expect_code(0);
    assert!(!w.join("Reports/old_report.txt").exists());
    assert!(w.join("inbox/enrols_later.txt").exists());
    assert_eq!(
        w.files("Archives").len(),
        1,
        "the just-archived input is not pruned"
    );
}

#[test]
fn a_fifo_in_the_drop_folder_or_in_inbox_is_never_opened() {
    let (w, drop) = with_feed(None);
    crate::input::mkfifo(&drop.join("enrols.csv"));
    // An empty file is compared with what holds its name in inbox/: a FIFO there only takes
    // the name, it is never read.
    fs::write(drop.join("userimport.csv"), "").unwrap();
    crate::input::mkfifo(&w.join("inbox/userimport.csv"));
    let out = w.moosync_within(&["run", "--quiet"], Duration::from_secs(60));
    out.expect_code(2);
    let report = capture_report(&w);
    assert!(
        report.contains(
            "enrols.csv: a FIFO (named pipe), not a regular file: only files are captured"
        ),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv: a file of that name already waits in inbox/; both kept, this one as userimport~2.csv"),
        "{report}"
    );
    assert!(drop.join("enrols.csv").exists(), "left in the drop folder");
}
