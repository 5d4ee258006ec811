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

/// A value as deeply nested as the limits allow, and calls as deep as they allow, walked by
/// Rhai's recursive operations: the script threads' stacks (sized from the limits) hold them,
/// and each row ends with a code instead of the process dying. The array and map limits are
/// below their maxima only to keep the test quick: the stacks grow with them, per level.
#[test]
fn values_and_calls_at_the_deepest_the_limits_allow_fail_their_row_only() {
    let w = Workdir::new();
    w.settings(
        "[limits]\nmax_call_levels = 64\nmax_array_size = 2000\nmax_map_size = 200\nmax_operations = 1000000\n",
    );
    w.script(
        "users.rhai",
        r#"
// Each nesting level counts one entry against max_map_size or max_array_size.
fn deepest(maps) {
    let a = #{};
    for i in 0..maps { a = #{ x: a }; }
    for i in 0..400 { a = [[[[[a]]]]]; }
    a
}
fn walk() {
    let a = deepest(200);
    let text = "" + a;
    let same = a == a;
    debug(a);
    throw a;
}
fn down(n) {
    if n == 0 { return walk(); }
    let r = 1 + (2 * (3 + (4 * (5 + [down(n - 1)].len()))));
    r
}
fn row(r) {
    switch r.username {
        "walk" => walk(),
        "calls" => down(60),
        "command" => #{ op: "user_upsert", username: deepest(198) },
        "recurse" => down(100000),
        _ => skip("fine"),
    }
}
"#,
    );
    w.drop_file(
        "userimport.csv",
        format!("{H}walk;A;B\ncalls;A;B\ncommand;A;B\nrecurse;A;B\nok;A;B\n"),
    );
    let out = w.run();
    out.expect_code(1);
    let report = w.report();
    for want in [
        "userimport.csv:2: failed MS-S002: users.rhai:14:5: [[[[[",
        "userimport.csv:3: failed MS-S002: users.rhai:14:5: [[[[[",
        "userimport.csv:4: failed MS-S006",
        "userimport.csv:5: failed MS-S003",
        "userimport.csv:6: skipped: fine",
    ] {
        assert!(report.contains(want), "{want}\n{report}");
    }
    assert!(
        report.contains("… (cut)"),
        "a thrown giant is quoted in part"
    );
}

#[test]
fn a_row_holding_too_much_memory_fails_alone() {
    let w = Workdir::new();
    // Rhai bounds each string and each map's entries, but neither how many values live at
    // once nor the length of map keys: 1,000 keys of 1 MiB each would be 1 GiB.
    w.script(
        "users.rhai",
        r#"
fn row(r) {
    if r.username == "hog" {
        let s = "x"; for i in 0..19 { s += s; }
        let m = #{};
        for i in 0..1000 { m[s.sub_string(0, 1040000) + i] = i; }
    }
    #{ op: "user_upsert", username: r.username, firstname: r.firstname, lastname: r.lastname }
}
"#,
    );
    w.drop_file("userimport.csv", format!("{H}a;B;C\nhog;B;C\nz;B;C\n"));
    w.run().expect_code(1);
    let report = w.report();
    assert!(
        report.contains("userimport.csv:3: failed MS-S005")
            && report.contains("more than 16 MiB of memory"),
        "{report}"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username IN ('a', 'z')"),
        2
    );
}
