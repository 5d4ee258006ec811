//! The local file manager and the status screen.

use crate::workdir::Workdir;

#[test]
fn add_list_get_rm_stay_inside_the_data_folder() {
    let w = Workdir::new();
    let outside = tempfile::tempdir().unwrap();
    let src = outside.path().join("late.csv");
    std::fs::write(&src, "username;firstname;lastname\nl;L;L\n").unwrap();
    w.moosync(&[
        "files",
        "add",
        src.to_str().unwrap(),
        "--as",
        "userimport.csv",
    ])
    .expect_code(0);
    // A second add never overwrites the waiting file.
    let out = w.moosync(&[
        "files",
        "add",
        src.to_str().unwrap(),
        "--as",
        "userimport.csv",
    ]);
    assert!(out.stdout.contains("both are kept"), "{}", out.stdout);
    assert_eq!(w.files("inbox").len(), 2);
    let list = w.moosync(&["files", "list", "inbox"]);
    assert!(
        list.stdout.contains("inbox/userimport.csv")
            && list.stdout.contains("inbox/userimport~2.csv"),
        "{}",
        list.stdout
    );
    let got = w.moosync(&["files", "get", "inbox/userimport.csv"]);
    assert_eq!(got.stdout, "username;firstname;lastname\nl;L;L\n");
    w.moosync(&["files", "rm", "inbox/userimport~2.csv"])
        .expect_code(0);
    assert_eq!(w.files("inbox").len(), 1);
    for bad in [
        "../outside.txt",
        "/etc/passwd",
        "inbox/../../x",
        "moodle.db",
        "moosync.toml",
    ] {
        let out = w.moosync(&["files", "get", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stdout);
        let out = w.moosync(&["files", "rm", bad]);
        assert_eq!(out.code, 2, "{bad}");
    }
    assert!(
        w.join("moosync.toml").exists(),
        "rm refused to touch settings"
    );
    let out = w.moosync(&["files", "add", src.to_str().unwrap(), "--as", "../evil.csv"]);
    assert_eq!(out.code, 2);
}

#[test]
fn status_shows_tools_waiting_files_and_last_run() {
    let w = Workdir::new();
    let before = w.moosync(&["status"]);
    assert!(
        before
            .stdout
            .contains("users (userimport*.csv) with users.rhai (preset tool_sync.users)"),
        "{}",
        before.stdout
    );
    assert!(
        before.stdout.contains("last run: never"),
        "{}",
        before.stdout
    );
    w.drop_file("userimport.csv", "username;firstname;lastname\na;B;C\n");
    assert!(w
        .moosync(&["status"])
        .stdout
        .contains("waiting: userimport.csv"));
    w.run().expect_code(0);
    let after = w.moosync(&["status"]);
    assert!(
        after
            .stdout
            .contains("userimport.csv done: 1 rows: 1 applied (1 created"),
        "{}",
        after.stdout
    );
    assert!(
        after.stdout.contains("last report: ") && after.stdout.contains("Reports/"),
        "{}",
        after.stdout
    );
}

#[test]
fn a_data_folder_must_be_initialised() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(dir.path())
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MS-C005"));
}

#[test]
fn verbs_that_change_the_folder_wait_for_no_run_and_never_touch_a_claimed_file() {
    let w = Workdir::new();
    let outside = tempfile::tempdir().unwrap();
    let src = outside.path().join("late.csv");
    std::fs::write(&src, "username;firstname;lastname\nl;L;L\n").unwrap();
    w.drop_file("userimport.csv", "username;firstname;lastname\na;A;A\n");
    // What a run holds while it works: the lock, and its input under inbox/.claimed/.
    std::fs::create_dir_all(w.join("inbox/.claimed")).unwrap();
    std::fs::write(w.join("inbox/.claimed/enrols.csv"), "being read").unwrap();
    let mut lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(w.join(".moosync.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    use std::io::Write;
    writeln!(lock, "pid 4242 since 2026-12-06 10:00:00").unwrap();

    for args in [
        vec!["files", "add", src.to_str().unwrap()],
        vec!["files", "rm", "inbox/userimport.csv"],
        vec!["files", "prune", "--older-than", "1"],
    ] {
        let out = w.moosync(&args);
        out.expect_code(3);
        assert!(
            out.stderr
                .contains("another run holds the lock (pid 4242 since"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(w.join("inbox/userimport.csv").exists());
    assert!(!w.join("inbox/late.csv").exists());
    // Reading waits for nothing.
    w.moosync(&["files", "get", "inbox/userimport.csv"])
        .expect_code(0);
    w.moosync(&["files", "list"]).expect_code(0);
    drop(lock);

    // Without a run, a claimed file is still not the file manager's to remove or read.
    for verb in ["rm", "get"] {
        let out = w.moosync(&["files", verb, "inbox/.claimed/enrols.csv"]);
        out.expect_code(2);
        assert!(
            out.stderr.contains("moosync's own working files"),
            "{}",
            out.stderr
        );
    }
    assert!(w.join("inbox/.claimed/enrols.csv").exists());
    w.moosync(&["files", "add", src.to_str().unwrap()])
        .expect_code(0);
    assert!(w.join("inbox/late.csv").exists());
}

#[test]
fn a_file_added_beside_a_waiting_namesake_still_runs_with_its_preset() {
    // `cohorts.csv` is matched by its exact name: a name made by a clash must still be read
    // with that preset, after the file that was waiting.
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nu1;U;One\nu2;U;Two\n",
    );
    w.run().expect_code(0);
    let outside = tempfile::tempdir().unwrap();
    let first = outside.path().join("cohorts.csv");
    std::fs::write(&first, "cidnumber;cname;userid\nY1;Year 1;u1\n").unwrap();
    let second = outside.path().join("second.csv");
    std::fs::write(&second, "cidnumber;cname;userid\nY1;Year 1;u2\n").unwrap();
    w.moosync(&["files", "add", first.to_str().unwrap()])
        .expect_code(0);
    let out = w.moosync(&[
        "files",
        "add",
        second.to_str().unwrap(),
        "--as",
        "cohorts.csv",
    ]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("added inbox/cohorts~2.csv"),
        "{}",
        out.stdout
    );
    let status = w.moosync(&["status"]);
    assert!(
        status
            .stdout
            .contains("waiting: cohorts.csv, cohorts~2.csv"),
        "{}",
        status.stdout
    );
    let out = w.run();
    out.expect_code(0);
    let cohorts = out
        .stdout
        .find("cohorts cohorts.csv:")
        .expect("the first ran");
    let clashed = out
        .stdout
        .find("cohorts cohorts~2.csv:")
        .expect("the second ran");
    assert!(cohorts < clashed, "{}", out.stdout);
    assert!(w.files("inbox").is_empty());
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM mdl_cohort_members m JOIN mdl_cohort c ON c.id = m.cohortid WHERE c.idnumber = 'Y1'"
        ),
        2
    );
    // Given by hand with its tool, a clash name picks the same preset.
    std::fs::copy(&second, w.join("cohorts~3.csv")).unwrap();
    w.moosync(&[
        "run",
        "cohorts",
        "--file",
        w.join("cohorts~3.csv").to_str().unwrap(),
    ])
    .expect_code(0);
}

/// Runs moosync with its output read up to the first line, then closed, as `| head -1` does.
fn read_one_line_then_leave(w: &Workdir, args: &[&str]) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, Read};
    let mut child = w
        .command_with(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone now: every later write meets a closed pipe.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn a_reader_that_leaves_early_is_no_error() {
    let w = Workdir::new();
    let mut big = String::from("username;firstname;lastname\n");
    for i in 0..3000 {
        big.push_str(&format!("user{i};First;Last\n"));
    }
    let file = w.join("big.csv");
    std::fs::write(&file, &big).unwrap();
    let (status, stderr) =
        read_one_line_then_leave(&w, &["plan", "--tool", "users", file.to_str().unwrap()]);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "quiet");
    // Larger than a pipe holds, so the writer is still writing when the reader leaves.
    std::fs::write(w.join("Trybacks/big.csv"), big.repeat(10)).unwrap();
    let (status, stderr) = read_one_line_then_leave(&w, &["files", "get", "Trybacks/big.csv"]);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "quiet");
}
