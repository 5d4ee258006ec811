//! `status` and `problems` tell the truth the console shows: failed rows, scripts that do
//! not compile, mails not sent, trybacks, held and refused files; `cron` says when it found
//! nothing; the progress bar draws only for a person at a terminal.

use crate::workdir::Workdir;

const USERS: &str =
    "username;firstname;lastname;email\njdoe;J;Doe;j@example.edu\nbad user!;B;Ad;b@example.edu\ncnoemail;C;No;not-an-email\n";

#[test]
fn status_counts_failures_broken_scripts_unsent_mail_and_waiting_files() {
    let w = Workdir::new();
    // Mail goes to a port nothing listens on: the summary cannot be sent.
    w.settings("[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = 9\ntls = \"none\"\ntimeout_seconds = 2\nfrom = \"m@example.org\"\nto = [\"a@example.org\"]\nsummary = \"always\"\n");
    w.drop_file("userimport.csv", USERS);
    w.drop_file("enrols_empty.csv", "");
    w.moosync(&["cron"]).expect_code(2);
    std::fs::create_dir(w.join("Held")).unwrap();
    std::fs::write(w.join("Held/enrols.csv"), "x").unwrap();
    w.drop_file("cohorts.csv", "name,idnumber\nA,a\n");
    w.script("cohorts.rhai", "fn row(r) { let = 1; }\n");
    let out = w.moosync(&["status"]);
    out.expect_code(0);
    let s = &out.stdout;
    assert!(
        s.contains("  users (userimport*.csv) with users.rhai (preset tool_sync.users)"),
        "{s}"
    );
    assert!(s.contains("userimport.csv done: 3 rows: 1 applied"), "{s}");
    assert!(s.contains("failed rows in the last 5 runs: 2 (`moosync problems` lists them); files refused or stopped: 1"), "{s}");
    assert!(s.contains("script cohorts.rhai does not compile (its files wait in inbox/): MS-S001 cohorts.rhai:1:"), "{s}");
    assert!(s.contains("mails not sent: 1 (last "), "{s}");
    assert!(s.contains(", run summary: "), "{s}");
    assert!(s.contains("trybacks waiting in Trybacks/: 1"), "{s}");
    assert!(
        s.contains("refused files waiting for an operator in Rejected/: 1"),
        "{s}"
    );
    assert!(
        s.contains("held files waiting for an operator in Held/: 1"),
        "{s}"
    );
    // Held/ is a place of the file manager once it exists.
    let list = w.moosync(&["files", "list", "held"]);
    assert!(list.stdout.contains("Held/enrols.csv"), "{}", list.stdout);
}

#[test]
fn problems_lists_failed_rows_with_what_to_do_and_as_csv() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(1);
    let out = w.moosync(&["problems"]);
    out.expect_code(0);
    let s = &out.stdout;
    assert!(s.contains("users userimport.csv, "), "{s}");
    assert!(s.contains("  line 3: MS-V001 "), "{s}");
    assert!(
        s.contains("    what to do: fix the username in the source"),
        "{s}"
    );
    assert!(s.contains("  line 4: MS-V002 "), "{s}");
    assert!(
        s.contains("2 failed row(s), 0 file(s) refused or stopped, in the last 5 run(s)"),
        "{s}"
    );
    let csv = w.moosync(&["problems", "--csv"]).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "tool,file,line,code,message,remedy,dry_run,when");
    assert!(
        lines[1].starts_with("users,userimport.csv,3,MS-V001,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("users,userimport.csv,4,MS-V002,")
            && lines[2].contains("fix the email address in the source,no,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3);
    // A later clean run: the last run has no failure, the last two have.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\nzed;Z;Ed;z@example.edu\n",
    );
    w.run().expect_code(0);
    assert!(w
        .moosync(&["problems", "--runs", "1"])
        .stdout
        .contains("no failed rows in the last 1 run(s)"));
    assert!(w
        .moosync(&["problems", "--runs", "2"])
        .stdout
        .contains("2 failed row(s)"));
}

#[test]
fn cron_with_nothing_to_do_says_so_with_the_time() {
    let w = Workdir::new();
    let out = w.moosync(&["cron"]);
    out.expect_code(0);
    let line = out.stdout.trim();
    assert!(
        line.ends_with(": nothing to do: no file waiting in inbox/"),
        "{line:?}"
    );
    assert_eq!(out.stdout.lines().count(), 1);
    // "2026-01-31 12:00:00"
    assert_eq!(
        w.redact(line),
        "[TIME]: nothing to do: no file waiting in inbox/"
    );
}

#[test]
fn progress_bar_only_when_stdout_and_stderr_are_terminals() {
    let w = Workdir::new();
    let mut feed = String::from("username;firstname;lastname;email\n");
    for i in 0..3000 {
        feed.push_str(&format!("u{i};F;L;u{i}@example.edu\n"));
    }
    let run = |stdout_tty: bool| {
        w.drop_file("userimport.csv", &feed);
        let (err_master, err_slave) = pty();
        let (out_master, out_slave) = pty();
        let mut c = w.command_with(&["run", "--dry-run"]);
        c.stderr(err_slave);
        if stdout_tty {
            c.stdout(out_slave);
        } else {
            c.stdout(std::process::Stdio::null());
            drop(out_slave);
        }
        let status = c.status().unwrap();
        assert_eq!(status.code(), Some(0), "{status:?}");
        // The command keeps its copies of the slave ends: gone, the master reads to the end.
        drop(c);
        drop(out_master);
        read_all(err_master)
    };
    let seen = run(true);
    assert!(
        seen.contains("userimport.csv [") && seen.contains("rows,"),
        "no bar on a terminal: {seen:?}"
    );
    // No float rate and no indicatif estimate: our own words.
    assert!(
        !seen.contains("/s,") || seen.contains(" rows/s, "),
        "{seen:?}"
    );
    let seen = run(false);
    assert!(
        !seen.contains("rows,"),
        "a bar although stdout is not a terminal: {seen:?}"
    );
}

/// A pseudo-terminal: (master, slave).
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty writes the two descriptors it opens; no name, settings or size given.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty");
    // SAFETY: both descriptors are fresh and owned by nothing else.
    unsafe { (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s)) }
}

/// What the slave side was sent, once the child closed it.
fn read_all(mut master: std::fs::File) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Reading a master whose slave closed ends with EIO.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}
