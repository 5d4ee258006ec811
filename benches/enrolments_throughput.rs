//! End-to-end throughput of `moosync run` on an enrolment feed (`enrols.csv`): USERS users
//! each enrolled in 10 of 2,000 courses (1,000,000 rows by default), a first run that creates
//! every enrolment and role assignment, then an unchanged re-run of the same file. The users
//! and courses are loaded first, unmeasured.
//!
//! `cargo bench --bench enrolments_throughput [-- --rows N]` (rows rounded down to a multiple
//! of 10). Exits non-zero only when a run fails; a missed target is reported, not fatal.

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use support::{build_cli, fail, init_data_dir, measure_run, parse_rows, print_table};

const COURSES: usize = 2_000;
const PER_USER: usize = 10;
const TARGET_RPS: f64 = 100_000.0;
const TARGET_RSS_MIB: f64 = 200.0;

fn write(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) {
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(path).unwrap_or_else(|e| fail(format!("{e}"))),
    );
    f(&mut out)
        .and_then(|()| out.flush())
        .unwrap_or_else(|e| fail(format!("writing {}: {e}", path.display())));
}

fn main() {
    let users = parse_rows(1_000_000) / PER_USER;
    if users == 0 {
        fail("--rows must be at least 10");
    }
    let rows = users * PER_USER;
    let bin = build_cli();
    let (tmp, data) = init_data_dir(&bin);

    let users_csv = tmp.path().join("users.csv");
    write(&users_csv, |o| {
        writeln!(o, "username;firstname;lastname")?;
        (0..users).try_for_each(|i| writeln!(o, "u{i:07};First{i};Last{i}"))
    });
    let courses_csv = tmp.path().join("courses.csv");
    write(&courses_csv, |o| {
        writeln!(o, "shortname;fullname;category")?;
        (0..COURSES).try_for_each(|c| writeln!(o, "C{c:04};Course {c};Faculty {}", c % 20))
    });
    // User i takes 10 courses spread over the 2,000, every 200th from its own start.
    let enrols_csv = tmp.path().join("enrols.csv");
    write(&enrols_csv, |o| {
        writeln!(o, "rolename;cid;uid;enrol")?;
        for i in 0..users {
            for k in 0..PER_USER {
                let c = (i + k * (COURSES / PER_USER)) % COURSES;
                writeln!(o, "student;C{c:04};u{i:07};manual")?;
            }
        }
        Ok(())
    });
    measure_run(
        &bin,
        &data,
        (&users_csv, "userimport.csv"),
        users,
        &[format!("{users} created")],
        "setup: users",
    );
    measure_run(
        &bin,
        &data,
        (&courses_csv, "uploadcourses.csv"),
        COURSES,
        &[format!("{COURSES} applied")],
        "setup: courses",
    );

    let first = measure_run(
        &bin,
        &data,
        (&enrols_csv, "enrols.csv"),
        rows,
        &[
            format!("{rows} rows: {rows} applied ({rows} created"),
            ", 0 failed".into(),
        ],
        "first run, all enrolments new",
    );
    let rerun = measure_run(
        &bin,
        &data,
        (&enrols_csv, "enrols.csv"),
        rows,
        &[format!("{rows} unchanged"), ", 0 failed".into()],
        "unchanged re-run",
    );

    println!();
    print_table(&[&first, &rerun]);
    let peak = first.peak_rss_mib.max(rerun.peak_rss_mib);
    println!("\ntargets:");
    for (what, value, met) in [
        (
            "first run >= 100000 rows/s",
            first.rows_per_sec(),
            first.rows_per_sec() >= TARGET_RPS,
        ),
        (
            "re-run    >= 100000 rows/s",
            rerun.rows_per_sec(),
            rerun.rows_per_sec() >= TARGET_RPS,
        ),
        ("peak RSS  <  200 MiB", peak, peak < TARGET_RSS_MIB),
    ] {
        println!(
            "  {what}: {value:.1} -> {}",
            if met { "met" } else { "NOT met" }
        );
    }
}
