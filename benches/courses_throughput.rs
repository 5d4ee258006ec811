//! End-to-end throughput of `moosync run` on a course upload feed (`uploadcourses.csv`):
//! a first run that creates every course (and its 1,000 categories), then an unchanged
//! re-run of the same file, where every course already exists and is skipped; then a
//! delete file (`deletecourses.csv`) that deletes every tenth course.
//!
//! `cargo bench --bench courses_throughput [-- --rows N]` (default 100,000 rows).
//! Exits non-zero only when a run fails or the store does not hold what the first run
//! should have written; a missed target is reported, not fatal.

use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const HEADER: &str = "shortname;fullname;category;idnumber;summary;startdate;visible";
const DEFAULT_ROWS: usize = 100_000;
/// Leaf categories: `FACULTIES` top-level categories of `PER_FACULTY` departments each.
const CATEGORIES: usize = 1_000;
const FACULTIES: usize = 10;
const PER_FACULTY: usize = CATEGORIES / FACULTIES;
const TARGET_CREATE_RPS: f64 = 20_000.0;

/// One measured CLI run.
struct Measured {
    label: &'static str,
    rows: usize,
    seconds: f64,
    peak_rss_mib: f64,
}

impl Measured {
    fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
    fn micros_per_row(&self) -> f64 {
        self.seconds * 1e6 / self.rows as f64
    }
}

fn fail(msg: impl AsRef<str>) -> ! {
    eprintln!("courses_throughput: {}", msg.as_ref());
    std::process::exit(1);
}

/// `--rows N` from the command line; cargo's own `--bench` flag is ignored.
fn parse_rows() -> usize {
    let mut args = std::env::args().skip(1);
    let mut rows = DEFAULT_ROWS;
    while let Some(arg) = args.next() {
        if arg == "--rows" {
            let value = args.next().unwrap_or_else(|| fail("--rows needs a value"));
            rows = value
                .replace('_', "")
                .parse()
                .unwrap_or_else(|_| fail(format!("--rows: not a number: {value}")));
        }
    }
    if rows == 0 {
        fail("--rows must be at least 1");
    }
    rows
}

/// cargo bench does not build the bin target, so build it here (a no-op when fresh).
fn build_cli(manifest_dir: &Path) -> PathBuf {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--bin", "moosync"])
        .current_dir(manifest_dir)
        .status()
        .unwrap_or_else(|e| fail(format!("cannot start cargo build: {e}")));
    if !status.success() {
        fail(format!(
            "cargo build --release --bin moosync failed: {status}"
        ));
    }
    let bin = manifest_dir.join("target/release/moosync");
    if !bin.is_file() {
        fail(format!("release binary not found at {}", bin.display()));
    }
    bin
}

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

/// A fresh data folder initialised by the CLI; the TempDir removes it on drop.
fn init_data_dir(bin: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let data = tmp.path().join("data");
    let output = Command::new(bin)
        .arg("--data")
        .arg(&data)
        .arg("init")
        .output()
        .unwrap_or_else(|e| fail(format!("cannot start moosync init: {e}")));
    if !output.status.success() {
        fail(format!(
            "moosync init failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    (tmp, data)
}

/// Copies `csv` into the inbox as `name`, runs the CLI, and checks the summary holds every
/// `expect`.
fn measure_run(
    bin: &Path,
    data: &Path,
    csv: &Path,
    name: &str,
    rows: usize,
    expect: &[String],
    label: &'static str,
) -> Measured {
    // The run moves its input to Archives/, so every run gets a fresh copy.
    fs::copy(csv, data.join("inbox").join(name))
        .unwrap_or_else(|e| fail(format!("copy into inbox: {e}")));
    let started = Instant::now();
    // Reaped by libc::wait4 below, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(bin)
        .arg("--data")
        .arg(data)
        .args(["run", "--quiet"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start moosync run: {e}")));
    // Drain stdout before waiting so a full pipe cannot stall the child.
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut stdout)
        .unwrap_or_else(|e| fail(format!("reading moosync stdout: {e}")));
    // wait4 rather than Child::wait: it also returns the child's peak RSS.
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if waited != pid {
        fail(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !exited_ok || !expect.iter().all(|e| stdout.contains(e.as_str())) {
        fail(format!(
            "{label}: expected exit 0 and {expect:?}, got wait status {status}, stdout:\n{stdout}"
        ));
    }
    Measured {
        label,
        rows,
        seconds,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0, // KiB on Linux
    }
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

/// The first `key : value` line of a /proc file, for the machine facts.
fn proc_field(file: &str, key: &str) -> String {
    fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let rows = parse_rows();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = build_cli(manifest_dir);

    let (tmp, data) = init_data_dir(&bin);
    // Outside inbox/, so it is not picked up (or archived) by the runs.
    let csv = tmp.path().join("uploadcourses.csv");
    write_courses_csv(&csv, rows).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));

    let first = measure_run(
        &bin,
        &data,
        &csv,
        "uploadcourses.csv",
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
        &csv,
        "uploadcourses.csv",
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
        &delete_csv,
        "deletecourses.csv",
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

    let memory_kib: f64 = proc_field("/proc/meminfo", "MemTotal")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "machine: {} | {cores} cores | {:.1} GiB RAM",
        proc_field("/proc/cpuinfo", "model name"),
        memory_kib / 1048576.0
    );
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>8} {:>13}",
        "run", "rows", "seconds", "rows/s", "µs/row", "peak RSS MiB"
    );
    for m in [&first, &rerun, &delete] {
        println!(
            "{:<32} {:>9} {:>9.3} {:>9.0} {:>8.2} {:>13.1}",
            m.label,
            m.rows,
            m.seconds,
            m.rows_per_sec(),
            m.micros_per_row(),
            m.peak_rss_mib
        );
    }
    let met = first.rows_per_sec() >= TARGET_CREATE_RPS;
    println!(
        "\ntarget: first run >= {TARGET_CREATE_RPS:.0} rows/s: {:.0} -> {}",
        first.rows_per_sec(),
        if met { "met" } else { "NOT met" }
    );
}
