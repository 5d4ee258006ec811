//! Admin scripts: errors with positions, limits that fail a row and not the run.

use crate::workdir::Workdir;

const H: &str = "username;firstname;lastname\n";

#[test]
fn parse_error_names_script_line_and_column_and_runs_nothing() {
    let w = Workdir::new();
    w.script("users.rhai", "fn row(r) {\n    let x = ;\n}\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C\n"));
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("MS-S001 users.rhai:2:"),
        "{}",
        out.stdout
    );
    assert_eq!(
        w.files("inbox").len(),
        1,
        "the file waits for the fixed script"
    );
}

#[test]
fn runtime_error_names_script_position_and_csv_line() {
    let w = Workdir::new();
    w.script("users.rhai", "fn row(r) {\n    if r.username == \"boom\" {\n        return r.nosuchcolumn;\n    }\n    #{ op: \"user_upsert\", username: r.username, firstname: r.firstname, lastname: r.lastname }\n}\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C\nboom;B;C\n"));
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:3: failed MS-S003: users.rhai:3:"),
        "{report}"
    );
    assert!(report.contains("nosuchcolumn"), "{report}");
    assert!(w.user_field("a", "id").is_some());
}

#[test]
fn a_looping_script_fails_its_row_not_the_run() {
    let w = Workdir::new();
    w.script("users.rhai", "fn row(r) {\n    if r.username == \"spin\" { loop { } }\n    #{ op: \"user_upsert\", username: r.username, firstname: r.firstname, lastname: r.lastname }\n}\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C\nspin;B;C\nz;B;C\n"));
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:3: failed MS-S004: users.rhai (in row()): "),
        "{report}"
    );
    assert!(report.contains("operations"), "{report}");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username IN ('a', 'z')"),
        2
    );
}

#[test]
fn runaway_recursion_and_huge_strings_are_bounded() {
    let w = Workdir::new();
    w.script(
        "users.rhai",
        "fn deep(n) { deep(n + 1) }\nfn row(r) {\n    if r.username == \"deep\" { deep(0); }\n    if r.username == \"big\" { let s = \"x\"; while true { s += s; } }\n    skip(\"fine\")\n}\n",
    );
    w.drop_file("userimport.csv", format!("{H}deep;B;C\nbig;B;C\nok;B;C\n"));
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:2: failed MS-S003") && report.contains("max_call_levels"),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv:3: failed MS-S005"),
        "{report}"
    );
    assert!(
        report.contains("userimport.csv:4: skipped: fine"),
        "{report}"
    );
}

#[test]
fn the_admins_copy_is_used_and_skips_are_not_failures() {
    let w = Workdir::new();
    let shipped = std::fs::read_to_string(w.join("scripts/users.rhai")).unwrap();
    // An admin edit: rows of a test account are skipped.
    let edited = shipped.replacen(
        "fn row(r) {",
        "fn row(r) {\n    if r.username.starts_with(\"test\") { return skip(\"test account\"); }",
        1,
    );
    w.script("users.rhai", &edited);
    w.drop_file("userimport.csv", format!("{H}test1;T;One\nreal;R;One\n"));
    w.run().expect_code(0);
    assert!(w
        .report()
        .contains("userimport.csv:2: skipped: test account"));
    assert!(w.tryback().is_none(), "a skip never reaches the tryback");
}

#[test]
fn a_broken_header_function_blames_the_script_not_the_file() {
    let w = Workdir::new();
    w.script("users.rhai", "fn header(c) { if !c.contians(\"username\") { throw \"x\"; } }\nfn row(r) { skip(\"\") }\n");
    w.drop_file("userimport.csv", format!("{H}a;B;C\n"));
    let out = w.run();
    out.expect_code(2);
    assert!(out.stdout.contains("MS-S003"), "{}", out.stdout);
    assert!(w.files("Rejected").is_empty());
    assert_eq!(
        w.files("inbox").len(),
        1,
        "the file waits for the fixed script"
    );
}
