//! Bad and unusual input: encodings, quoting, ragged rows, refused files. Nothing panics,
//! nothing is lost, and every message names the file and the line.

use crate::workdir::Workdir;

const H: &str = "username;firstname;lastname;description\n";

#[test]
fn utf8_bom_is_accepted() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", format!("\u{feff}{H}bom;Bé;Om;x\n"));
    w.run().expect_code(0);
    assert_eq!(w.user_field("bom", "firstname").as_deref(), Some("Bé"));
}

#[test]
fn windows_1252_is_decoded_once() {
    let w = Workdir::new();
    w.settings("[csv]\nencoding = \"windows-1252\"\n");
    // "Chloé" and "Œuvre €" in Windows-1252 bytes.
    let mut bytes = H.as_bytes().to_vec();
    bytes.extend_from_slice(b"chloe;Chlo\xe9;\x8cuvre;\x80 5\r\n");
    w.drop_file("userimport.csv", bytes);
    w.run().expect_code(0);
    assert_eq!(w.user_field("chloe", "firstname").as_deref(), Some("Chloé"));
    assert_eq!(w.user_field("chloe", "lastname").as_deref(), Some("Œuvre"));
    assert_eq!(w.user_field("chloe", "description").as_deref(), Some("€ 5"));
}

#[test]
fn invalid_utf8_refuses_the_file_naming_the_line() {
    let w = Workdir::new();
    let mut bytes = format!("{H}ok;O;K;x\n").into_bytes();
    bytes.extend_from_slice(b"bad;Caf\xe9;X;y\n");
    w.drop_file("userimport.csv", bytes);
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("refused MS-I004 userimport.csv: line 3 is not valid UTF-8"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("windows-1252"),
        "suggests the fix: {}",
        out.stdout
    );
    // Nothing applied; the file waits in Rejected/ and is not run again.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username = 'ok'"),
        0
    );
    assert!(w.files("inbox").is_empty());
    assert_eq!(w.files("Rejected").len(), 1);
    assert!(w.report().contains("file refused MS-I004"));
    w.run().expect_code(0);
}

#[test]
fn quoted_delimiters_and_newlines_keep_physical_line_numbers() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", format!("{H}q1;\"Ann; Marie\";Q;\"two\nlines\"\nq2;B;Q;x\nq3;C;Q;\"\"\"quoted\"\"\"\nBad User;D;Q;x\n"));
    w.run().expect_code(1);
    assert_eq!(
        w.user_field("q1", "firstname").as_deref(),
        Some("Ann; Marie")
    );
    assert_eq!(
        w.user_field("q1", "description").as_deref(),
        Some("two\nlines")
    );
    assert_eq!(
        w.user_field("q3", "description").as_deref(),
        Some("\"quoted\"")
    );
    let report = w.report();
    assert!(
        report.contains("userimport.csv:4: applied: created user q2"),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv:6: failed MS-V001: username 'bad user'"),
        "{report}"
    );
}

#[test]
fn cr_only_line_ends_and_comments() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "# feed of the day\rusername;firstname;lastname\r\r# note\rc1;C;One\rc2;C;Two\r",
    );
    w.run().expect_code(0);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:5: applied: created user c1"),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv:6: applied: created user c2"),
        "{report}"
    );
}

#[test]
fn ragged_rows_fail_alone_and_go_to_the_tryback() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        format!("{H}r1;R;One;x\nr2;R;Two\nr3;R;Three;x;extra\nr4;R;Four;x\n"),
    );
    w.run().expect_code(1);
    let report = w.report();
    assert!(report.contains("userimport.csv:3: failed MS-I101: userimport.csv line 3: 3 fields where the header has 4"), "{report}");
    assert!(
        report.contains("userimport.csv:4: failed MS-I101"),
        "{report}"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username IN ('r1', 'r4')"),
        2
    );
    assert_eq!(
        w.tryback().unwrap(),
        format!("{H}r2;R;Two\nr3;R;Three;x;extra\n").into_bytes()
    );
}

#[test]
fn unterminated_quote_fails_with_a_hint() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        format!("{H}u1;U;One;x\nu2;\"U;Two;x\nu3;U;Three;x\n"),
    );
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:3: failed MS-I101")
            && report.contains("closing quote missing"),
        "{report}"
    );
    assert!(w.user_field("u1", "id").is_some());
}

#[test]
fn huge_field_fails_its_row_only() {
    let w = Workdir::new();
    let big = "x".repeat(10 * 1024 * 1024);
    w.drop_file(
        "userimport.csv",
        format!("{H}h1;H;One;{big}\nh2;H;Two;small\n"),
    );
    w.run().expect_code(1);
    assert!(w.report().contains("userimport.csv:2: failed MS-I102: userimport.csv line 2: column 'description' holds 10485760 bytes"), "{}", w.report());
    assert!(w.user_field("h2", "id").is_some());
}

#[test]
fn refused_files_say_why() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty", b"", "MS-I002"),
        ("only comments", b"# nothing\n\n", "MS-I002"),
        ("binary", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "MS-I003"),
        (
            "wrong delimiter",
            b"username,firstname,lastname\na,b,c\n",
            "seems to use ',' as its delimiter; set delimiter = \",\"",
        ),
        (
            "duplicate header",
            b"username;firstname;lastname;Username\na;b;c;d\n",
            "MS-I006",
        ),
        (
            "missing column",
            b"username;firstname\na;b\n",
            "the users file needs a 'lastname' column",
        ),
        (
            "unknown column",
            b"username;firstname;lastname;shoesize\na;b;c;42\n",
            "unknown column 'shoesize'",
        ),
    ];
    for (what, bytes, expect) in cases {
        let w = Workdir::new();
        w.drop_file("userimport.csv", bytes);
        let out = w.run();
        assert_eq!(out.code, 2, "{what}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(expect), "{what}: {}", out.stdout);
        assert!(w.report().contains(expect), "{what}: {}", w.report());
        assert_eq!(w.files("Rejected").len(), 1, "{what}: kept for an operator");
        assert!(
            w.files("inbox").is_empty(),
            "{what}: not re-run by later runs"
        );
    }
}

#[test]
fn header_only_is_not_an_error() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", H);
    let out = w.run();
    out.expect_code(0);
    assert!(out.stdout.contains("0 rows"), "{}", out.stdout);
    assert!(w
        .report()
        .contains("the file has a header but no data rows"));
}

#[test]
fn bad_settings_stop_everything_with_the_key_and_line() {
    let w = Workdir::new();
    w.settings("[csv]\ndelimiter = \";\"\n\n[output]\nreport = false\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C;d\n"));
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("MS-C002")
            && out.stderr.contains("line 5")
            && out.stderr.contains("report"),
        "{}",
        out.stderr
    );
    assert_eq!(w.files("inbox").len(), 1, "nothing touched");
}

#[test]
fn a_bad_value_stops_everything_before_any_row_with_its_line_and_column() {
    let w = Workdir::new();
    // Accepted by the file's syntax, refused by Moodle's rules: once, at load, not per row.
    w.settings("[users]\ndefault_lang = \"en\"\ndefault_country = \"UK\"\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C;d\n"));
    let out = w.run();
    out.expect_code(2);
    let want = format!(
        "{}: line 3, column 19: [users] default_country \"UK\" is not a country code Moodle knows",
        w.join("moosync.toml").display()
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    assert_eq!(w.files("inbox").len(), 1, "nothing touched");
    assert!(w.files("Reports").is_empty());
}

#[test]
fn files_matching_no_preset_are_left_alone() {
    let w = Workdir::new();
    w.drop_file("enrolments-unknown.csv", "a;b\n")
        .drop_file(".hidden.csv", "x")
        .drop_file("userimport.csv.filepart", "x");
    w.run().expect_code(0);
    assert_eq!(w.files("inbox").len(), 3);
    let status = w.moosync(&["status"]);
    assert!(
        status
            .stdout
            .contains("match no preset (left alone): enrolments-unknown.csv"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_lone_cr_after_a_comment_does_not_swallow_rows() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nok1;A;B\r#c\rbad x;C;D\rok2;E;F\n",
    );
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:4: failed MS-V001"),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv:5: applied: created user ok2"),
        "{report}"
    );
    assert_eq!(
        w.tryback().unwrap(),
        b"username;firstname;lastname\nbad x;C;D\n"
    );
}

#[test]
fn a_file_dropped_during_a_run_is_not_confused_with_the_one_processed() {
    let w = Workdir::new();
    // A run that died left its file claimed: the next run puts it back beside the newer one.
    std::fs::create_dir_all(w.join("inbox/.claimed")).unwrap();
    std::fs::write(
        w.join("inbox/.claimed/userimport.csv"),
        "username;firstname;lastname\nold;O;D\n",
    )
    .unwrap();
    w.drop_file("userimport.csv", "username;firstname;lastname\nnew;N;W\n");
    let out = w.run();
    out.expect_code(0);
    assert!(out.stdout.contains("recovered"), "{}", out.stdout);
    assert!(w.user_field("old", "id").is_some() && w.user_field("new", "id").is_some());
    assert!(w.files("inbox").is_empty());
    assert_eq!(w.files("Archives").len(), 2);
}

#[test]
fn a_header_too_wide_is_refused_at_once_and_not_retried() {
    let w = Workdir::new();
    let columns: Vec<String> = ["username", "firstname", "lastname"]
        .into_iter()
        .map(String::from)
        .chain((0..200_000).map(|i| format!("profile_field_c{i}")))
        .collect();
    w.drop_file("userimport.csv", format!("{}\na;b;c\n", columns.join(";")));
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("refused MS-I011")
            && out
                .stdout
                .contains("the header has 200003 columns; moosync reads at most 1000"),
        "{}",
        out.stdout
    );
    assert!(w.report().contains("MS-I011"), "{}", w.report());
    assert_eq!(w.files("Rejected").len(), 1);
    assert!(w.files("inbox").is_empty());
    w.run().expect_code(0);
}

/// Makes a FIFO: no writer ever opens it, so a read of it would wait for ever.
pub fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_fifo_is_refused_at_once_wherever_it_is_given() {
    let limit = std::time::Duration::from_secs(60);
    let w = Workdir::new();
    mkfifo(&w.join("inbox/userimport.csv"));
    let out = w.moosync_within(&["run", "--quiet"], limit);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("refused MS-I012 userimport.csv is a FIFO (named pipe), not a regular file"),
        "{}",
        out.stdout
    );
    assert!(w.report().contains("MS-I012"), "{}", w.report());
    // Moved by its name, never opened: it waits in Rejected/ as the FIFO it is.
    let rejected = std::fs::read_dir(w.join("Rejected"))
        .unwrap()
        .map(|e| e.unwrap().file_type().unwrap())
        .collect::<Vec<_>>();
    use std::os::unix::fs::FileTypeExt;
    assert!(rejected.len() == 1 && rejected[0].is_fifo());
    assert_eq!(std::fs::read_dir(w.join("inbox")).unwrap().count(), 1); // .claimed only

    let fifo = w.join("elsewhere.csv");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let out = w.moosync_within(&["run", "users", "--file", fifo], limit);
    out.expect_code(2);
    assert!(
        out.stderr.contains("MS-I012") && out.stderr.contains("is a FIFO (named pipe)"),
        "{}",
        out.stderr
    );
    let out = w.moosync_within(&["plan", "--tool", "users", fifo], limit);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("MS-I012 elsewhere.csv is a FIFO (named pipe)"),
        "{}",
        out.stderr
    );
    let out = w.moosync_within(&["files", "add", fifo], limit);
    out.expect_code(2);
    assert!(
        out.stderr.contains("is a FIFO (named pipe)"),
        "{}",
        out.stderr
    );
    let out = w.moosync_within(&["run", "--file", w.join("inbox").to_str().unwrap()], limit);
    out.expect_code(2);
    let out = w.moosync_within(
        &["plan", "--tool", "users", w.join("inbox").to_str().unwrap()],
        limit,
    );
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("MS-I012 inbox is a folder, not a regular file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_link_in_inbox_is_named_and_left_alone() {
    let w = Workdir::new();
    let outside = w.join("outside.csv");
    std::fs::write(&outside, "username;firstname;lastname\nann;Ann;A\n").unwrap();
    std::os::unix::fs::symlink(&outside, w.join("inbox/userimport.csv")).unwrap();
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains(
            "users userimport.csv: not run: MS-I012 inbox/userimport.csv is a symbolic link"
        ),
        "{}",
        out.stdout
    );
    assert!(w.files("Reports").is_empty(), "never followed, never run");
    let link = std::fs::symlink_metadata(w.join("inbox/userimport.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "left where it is");
    assert!(outside.exists());
    // A link matching no preset is no input: nothing to say.
    std::fs::remove_file(w.join("inbox/userimport.csv")).unwrap();
    std::os::unix::fs::symlink(&outside, w.join("inbox/notes.txt")).unwrap();
    let out = w.run();
    out.expect_code(0);
    assert!(!out.stdout.contains("symbolic link"), "{}", out.stdout);
}
