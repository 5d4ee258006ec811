//! End-to-end throughput of `moosync run` on a cohort member feed (`cohorts.csv`): USERS
//! users join cohort Y1, which is already bound to course C1, so each new member is also
//! enrolled in C1 by the cohort sync (first run); then an unchanged re-run of the same file;
//! then the same users join a second cohort Y2 that no course is bound to (membership alone).
//!
//! The users are loaded first (`userimport.csv`, reported as a setup row); the course C1, the
//! empty cohort Y1 and its binding to C1 (`uploadcourses.csv`, `cohorts.csv`,
//! `cohortscourses.csv`) go in together in one more setup run, unmeasured.
//!
//! `cargo bench --bench cohorts_throughput [-- --rows N]` (default 100,000 members).
//! Exits non-zero when a run fails or the store does not hold what a run should have written.

mod support;

use rusqlite::{Connection, OpenFlags};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use support::{build_cli, fail, init_data_dir, measure_run, parse_rows, print_table};

const DEFAULT_ROWS: usize = 100_000;

fn write(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) {
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(path).unwrap_or_else(|e| fail(format!("{e}"))),
    );
    f(&mut out)
        .and_then(|()| out.flush())
        .unwrap_or_else(|e| fail(format!("writing {}: {e}", path.display())));
}

/// A member file: every user joins cohort `idnumber`.
fn write_members(path: &Path, users: usize, idnumber: &str, name: &str) {
    write(path, |o| {
        writeln!(o, "cmd;cidnumber;cname;userid")?;
        (1..=users).try_for_each(|i| writeln!(o, "add;{idnumber};{name};u{i:06}"))
    });
}

/// One `SELECT COUNT(*)` on the store, checked against `want`.
fn expect_count(data: &Path, what: &str, sql: &str, want: usize) {
    let db = data.join("moodle.db");
    let got: i64 = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or_else(|e| fail(format!("store check ({what}): {e}")));
    if got != want as i64 {
        fail(format!(
            "store check: {got} {what}, expected {want}\n  ({sql})"
        ));
    }
}

const MEMBERS_OF: &str = "SELECT COUNT(*) FROM mdl_cohort_members m
     JOIN mdl_cohort c ON c.id = m.cohortid WHERE c.idnumber = ";

/// The members of Y1 and their cohort enrolments (with a role each) in C1.
fn verify_bound(data: &Path, users: usize) {
    expect_count(data, "members of Y1", &format!("{MEMBERS_OF}'Y1'"), users);
    expect_count(
        data,
        "cohort enrolments in C1",
        "SELECT COUNT(*) FROM mdl_user_enrolments ue
         JOIN mdl_enrol e ON e.id = ue.enrolid AND e.enrol = 'cohort'
         JOIN mdl_course c ON c.id = e.courseid AND c.shortname = 'C1'",
        users,
    );
    expect_count(
        data,
        "role assignments in C1 (by the cohort enrolment)",
        "SELECT COUNT(*) FROM mdl_role_assignments ra
         JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50
         JOIN mdl_course c ON c.id = x.instanceid AND c.shortname = 'C1'",
        users,
    );
}

fn main() {
    let users = parse_rows(DEFAULT_ROWS);
    let bin = build_cli();
    let (tmp, data) = init_data_dir(&bin);

    // Outside inbox/, so they are not picked up (or archived) before their run.
    let users_csv = tmp.path().join("users.csv");
    write(&users_csv, |o| {
        writeln!(o, "username;firstname;lastname")?;
        (1..=users).try_for_each(|i| writeln!(o, "u{i:06};First{i};Last{i}"))
    });
    let setup_users = measure_run(
        &bin,
        &data,
        (&users_csv, "userimport.csv"),
        users,
        &[
            format!("userimport.csv: {users} rows: {users} applied ({users} created"),
            ", 0 failed".into(),
        ],
        "setup: users",
    );

    // Course C1, the empty cohort Y1 and the binding Y1 -> C1 in one run: the presets order
    // courses before cohorts before bindings.
    let inbox = data.join("inbox");
    for (name, text) in [
        ("uploadcourses.csv", "shortname;fullname\nC1;Course 1\n"),
        ("cohorts.csv", "cmd;cidnumber;cname\nadd;Y1;Year 1\n"),
    ] {
        fs::write(inbox.join(name), text).unwrap_or_else(|e| fail(format!("{name}: {e}")));
    }
    let binding_csv = tmp.path().join("cohortscourses.csv");
    fs::write(&binding_csv, "cohort;course\nY1;C1\n")
        .unwrap_or_else(|e| fail(format!("cohortscourses.csv: {e}")));
    measure_run(
        &bin,
        &data,
        (&binding_csv, "cohortscourses.csv"),
        3,
        &[
            "uploadcourses.csv: 1 rows: 1 applied (1 created".into(),
            "cohorts.csv: 1 rows: 1 applied (1 created".into(),
            "cohortscourses.csv: 1 rows: 1 applied (1 created".into(),
        ],
        "setup: course, cohort, binding",
    );
    expect_count(
        &data,
        "cohort enrol instances bound to Y1",
        "SELECT COUNT(*) FROM mdl_enrol e JOIN mdl_cohort c ON c.id = e.customint1
         WHERE e.enrol = 'cohort' AND c.idnumber = 'Y1'",
        1,
    );

    // Each row creates a membership and a cohort enrolment: 2 changes a row.
    let members_csv = tmp.path().join("cohorts_y1.csv");
    write_members(&members_csv, users, "Y1", "Year 1");
    let first = measure_run(
        &bin,
        &data,
        (&members_csv, "cohorts.csv"),
        users,
        &[
            format!(
                "cohorts.csv: {users} rows: {users} applied ({} created, 0 updated, 0 unchanged",
                2 * users
            ),
            ", 0 skipped, 0 failed".into(),
        ],
        "first run, members + enrolments",
    );
    verify_bound(&data, users);

    let rerun = measure_run(
        &bin,
        &data,
        (&members_csv, "cohorts.csv"),
        users,
        &[
            format!(
                "cohorts.csv: {users} rows: {users} applied (0 created, 0 updated, {users} unchanged"
            ),
            ", 0 skipped, 0 failed".into(),
        ],
        "unchanged re-run",
    );
    verify_bound(&data, users);

    // Y2 does not exist yet: its first row creates it (autocreate), so N + 1 created.
    let unbound_csv = tmp.path().join("cohorts_y2.csv");
    write_members(&unbound_csv, users, "Y2", "Year 2");
    let unbound = measure_run(
        &bin,
        &data,
        (&unbound_csv, "cohorts_y2.csv"),
        users,
        &[
            format!(
                "cohorts_y2.csv: {users} rows: {users} applied ({} created, 0 updated, 0 unchanged",
                users + 1
            ),
            ", 0 skipped, 0 failed".into(),
        ],
        "cohort without binding",
    );
    expect_count(&data, "members of Y2", &format!("{MEMBERS_OF}'Y2'"), users);
    // Joining an unbound cohort enrols nobody anywhere.
    verify_bound(&data, users);
    expect_count(
        &data,
        "user enrolments in all",
        "SELECT COUNT(*) FROM mdl_user_enrolments",
        users,
    );

    // Binding the full cohort Y2 to a new course: one row, whose sync enrols every member
    // set-based (one statement per table). The course comes in the same run, before it.
    fs::write(
        inbox.join("uploadcourses.csv"),
        "shortname;fullname\nC2;Course 2\n",
    )
    .unwrap_or_else(|e| fail(format!("uploadcourses.csv: {e}")));
    let bind_y2 = tmp.path().join("cohortscourses_y2.csv");
    fs::write(&bind_y2, "cohort;course\nY2;C2\n")
        .unwrap_or_else(|e| fail(format!("cohortscourses_y2.csv: {e}")));
    let bind = measure_run(
        &bin,
        &data,
        (&bind_y2, "cohortscourses.csv"),
        users,
        &["cohortscourses.csv: 1 rows: 1 applied (1 created, 0 updated, 0 unchanged".into()],
        "bind the full cohort to a course (members enrolled)",
    );
    expect_count(
        &data,
        "user enrolments in all",
        "SELECT COUNT(*) FROM mdl_user_enrolments",
        2 * users,
    );

    println!();
    print_table(&[&setup_users, &first, &rerun, &unbound, &bind]);
    // The enrolment side of a new member, as the difference of the two member runs.
    println!(
        "\nenrolment by the cohort sync: about {:.2} µs/row on top of membership ({:.2} vs {:.2})",
        first.micros_per_row() - unbound.micros_per_row(),
        first.micros_per_row(),
        unbound.micros_per_row()
    );
}
