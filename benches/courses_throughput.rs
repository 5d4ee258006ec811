//! End-to-end throughput of `moosync run` on a course upload feed (`uploadcourses.csv`):
//! a first run that creates every course (and its 1,000 categories), then an unchanged
//! re-run of the same file, where every course already exists and is skipped; then a
//! delete file (`deletecourses.csv`) that deletes every tenth course.
//!
//! `cargo bench --bench courses_throughput [-- --rows N]` (default 100,000 rows).
//! Exits non-zero only when a run fails or the store does not hold what the first run
//! should have written; a missed target is reported, not fatal.

mod support;

use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use support::{build_cli, fail, init_data_dir, measure_run, parse_rows, print_table};

const HEADER: &str = "shortname;fullname;category;idnumber;summary;startdate;visible";
const DEFAULT_ROWS: usize = 100_000;
/// Leaf categories: `FACULTIES` top-level categories of `PER_FACULTY` departments each.
const CATEGORIES: usize = 1_000;
const FACULTIES: usize = 10;
const PER_FACULTY: usize = CATEGORIES / FACULTIES;
const TARGET_CREATE_RPS: f64 = 20_000.0;

/// Streams `rows` courses to `path`; row i goes to leaf category i % CATEGORIES.
fn write_courses_csv(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "{HEADER}")?;
    for i in 1..=rows {
        let leaf = i % CATEGORIES;
        writeln!(
            out,
            "C{i:06};Course {i};Faculty {f:02}/Dept {leaf:04};ID{i:06};Summary of course {i};2026-09-01;1",
            f = leaf / PER_FACULTY,
        )?;
    }
    out.flush()
}

/// What the first run must have left in the store.
fn verify_store(data: &Path, rows: usize) {
    let db = data.join("moodle.db");
    // With fewer rows than leaves, only the leaves (and faculties) used exist.
    let leaves: HashSet<usize> = (1..=rows.min(CATEGORIES)).map(|i| i % CATEGORIES).collect();
    let faculties: HashSet<usize> = leaves.iter().map(|l| l / PER_FACULTY).collect();
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| fail(format!("open {}: {e}", db.display())));
    let checks = [
        ("mdl_course", rows + 1, "the courses plus the site course"),
        (
            "mdl_course_categories",
            leaves.len() + faculties.len() + 1,
            "leaf + top-level categories plus the seed 'Category 1'",
        ),
        (
            "mdl_enrol",
            3 * rows,
            "three enrolment instances per course",
        ),
    ];
    for (table, want, why) in checks {
        let got: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or_else(|e| fail(format!("count {table}: {e}")));
        if got != want as i64 {
            fail(format!(
                "store check: {table} has {got} rows, expected {want} ({why})"
            ));
        }
    }
}

fn main() {
    let rows = parse_rows(DEFAULT_ROWS);
    let bin = build_cli();

    let (tmp, data) = init_data_dir(&bin);
    // Outside inbox/, so it is not picked up (or archived) by the runs.
    let csv = tmp.path().join("uploadcourses.csv");
    write_courses_csv(&csv, rows).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));

    let first = measure_run(
        &bin,
        &data,
        (&csv, "uploadcourses.csv"),
        rows,
        &[
            format!(" {rows} rows: {rows} applied ("),
            ", 0 skipped, 0 failed".into(),
        ],
        "first run, all creates",
    );
    verify_store(&data, rows);
    let rerun = measure_run(
        &bin,
        &data,
        (&csv, "uploadcourses.csv"),
        rows,
        &[
            format!(" {rows} rows: 0 applied ("),
            format!(", {rows} skipped, 0 failed"),
        ],
        "unchanged re-run, all skipped",
    );
    // Every tenth course: headerless, one shortname per line.
    let doomed: Vec<usize> = (1..=rows).filter(|i| i % 10 == 0).collect();
    let delete_csv = tmp.path().join("deletecourses.csv");
    let text: String = doomed.iter().map(|i| format!("C{i:06}\n")).collect();
    fs::write(&delete_csv, text).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));
    let n = doomed.len();
    let delete = measure_run(
        &bin,
        &data,
        (&delete_csv, "deletecourses.csv"),
        n,
        &[
            format!(" {n} rows: {n} applied ("),
            ", 0 skipped, 0 failed".into(),
        ],
        "delete every tenth course",
    );
    let left: i64 =
        Connection::open_with_flags(data.join("moodle.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM mdl_course", [], |r| r.get(0)))
            .unwrap_or_else(|e| fail(format!("count courses: {e}")));
    if left != (rows - n + 1) as i64 {
        fail(format!(
            "after the delete: {left} courses, expected {}",
            rows - n + 1
        ));
    }

    println!();
    print_table(&[&first, &rerun, &delete]);
    let met = first.rows_per_sec() >= TARGET_CREATE_RPS;
    println!(
        "\ntarget: first run >= {TARGET_CREATE_RPS:.0} rows/s: {:.0} -> {}",
        first.rows_per_sec(),
        if met { "met" } else { "NOT met" }
    );
}
