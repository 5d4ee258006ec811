//! What records a file's rows (report, tryback, journal) is on disk before its input is
//! archived: when one cannot be written, the input waits in inbox/ and runs again.

use crate::workdir::Workdir;

const USERS: &str =
    "username;firstname;lastname;email\nann;Ann;A;ann@example.org\nBAD NAME;B;B;b@example.org\n";

#[test]
fn an_unwritable_tryback_keeps_the_input_in_inbox_until_it_can_be_written() {
    let w = Workdir::new();
    // A file where the Trybacks/ folder should be: the tryback cannot be written.
    std::fs::remove_dir(w.join("Trybacks")).unwrap();
    std::fs::write(w.join("Trybacks"), "not a folder").unwrap();
    w.drop_file("userimport.csv", USERS);
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("MS-O001") && out.stdout.contains("Trybacks"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("userimport.csv is not archived; the file stays in inbox/"),
        "{}",
        out.stdout
    );
    assert!(w.files("Archives").is_empty(), "nothing archived");
    assert_eq!(
        std::fs::read_to_string(w.join("inbox/userimport.csv")).unwrap(),
        USERS,
        "the input waits, whole"
    );
    let status = w.moosync(&["status"]);
    assert!(
        status.stdout.contains("userimport.csv stopped") && status.stdout.contains("MS-O001"),
        "{}",
        status.stdout
    );

    // Once the folder is back, the next run writes the tryback and archives the input; the
    // row applied the first time (the store kept it) is skipped as unchanged.
    std::fs::remove_file(w.join("Trybacks")).unwrap();
    std::fs::create_dir(w.join("Trybacks")).unwrap();
    w.run().expect_code(1);
    assert!(
        w.report().contains("1 unchanged (skipped)"),
        "{}",
        w.report()
    );
    let tryback = String::from_utf8(w.tryback().expect("a tryback")).unwrap();
    assert!(tryback.contains("BAD NAME"), "{tryback}");
    assert_eq!(w.files("Archives").len(), 1);
    assert!(w.files("inbox").is_empty());
}

#[test]
fn an_unwritable_report_folder_stops_the_file_before_any_row() {
    let w = Workdir::new();
    std::fs::remove_dir(w.join("Reports")).unwrap();
    std::fs::write(w.join("Reports"), "not a folder").unwrap();
    w.drop_file("userimport.csv", USERS);
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("MS-O001") && out.stdout.contains("the report"),
        "{}",
        out.stdout
    );
    assert!(w.files("Archives").is_empty());
    assert!(w.join("inbox/userimport.csv").is_file());
    assert!(!w.join("inbox/.claimed/userimport.csv").exists());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username = 'ann'"),
        0
    );
}
