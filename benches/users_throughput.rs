//! End-to-end throughput of `moosync run` on a users feed: first run (all creates),
//! unchanged re-run, and the extra cost of a password column.
//!
//! `cargo bench --bench users_throughput [-- --rows N]` (default 1,000,000 rows).
//! Exits non-zero only when a run fails; missed targets are reported, not fatal.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const HEADER: &str = "username;firstname;lastname;email;idnumber;institution;department;city";
const TARGET_CREATE_RPS: f64 = 100_000.0;
const TARGET_RERUN_RPS: f64 = 200_000.0;
const TARGET_RSS_MIB: f64 = 200.0;
const MAX_PASSWORD_ROWS: usize = 20_000;

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
    eprintln!("users_throughput: {}", msg.as_ref());
    std::process::exit(1);
}

/// `--rows N` from the command line; cargo's own `--bench` flag is ignored.
fn parse_rows() -> usize {
    let mut args = std::env::args().skip(1);
    let mut rows = 1_000_000;
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

/// Streams `rows` users to `path`; with `password`, adds a ninth column.
fn write_users_csv(path: &Path, rows: usize, password: bool) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "{HEADER}{}", if password { ";password" } else { "" })?;
    for i in 0..rows {
        write!(
            out,
            "user{i:07};First{i};Last{i};user{i:07}@example.edu;ID{i:08};Example University;Dept{d};City{c}",
            d = i % 50,
            c = i % 200,
        )?;
        if password {
            write!(out, ";Pw-{i}-secret")?;
        }
        writeln!(out)?;
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

/// Copies `csv` into the inbox, runs the CLI, and checks the summary for `expect`.
fn measure_run(
    bin: &Path,
    data: &Path,
    csv: &Path,
    rows: usize,
    expect: &str,
    label: &'static str,
) -> Measured {
    // The run moves its input to Archives/, so every run gets a fresh copy.
    fs::copy(csv, data.join("inbox/userimport.csv"))
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
    let wanted = format!("{rows} {expect}");
    if !exited_ok || !stdout.contains(&wanted) {
        fail(format!(
            "{label}: expected exit 0 and \"{wanted}\", got wait status {status}, stdout:\n{stdout}"
        ));
    }
    Measured {
        label,
        rows,
        seconds,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0, // KiB on Linux
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
    let plain_csv = tmp.path().join("users.csv");
    write_users_csv(&plain_csv, rows, false).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));

    let first = measure_run(
        &bin,
        &data,
        &plain_csv,
        rows,
        "created",
        "first run, all creates",
    );
    let rerun = measure_run(
        &bin,
        &data,
        &plain_csv,
        rows,
        "unchanged",
        "unchanged re-run, nothing changes",
    );

    // Passwords are hashed per row, so a smaller file in its own data folder suffices.
    let pw_rows = rows.min(MAX_PASSWORD_ROWS);
    let (pw_tmp, pw_data) = init_data_dir(&bin);
    let pw_csv = pw_tmp.path().join("users_pw.csv");
    write_users_csv(&pw_csv, pw_rows, true).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));
    let pw = measure_run(
        &bin,
        &pw_data,
        &pw_csv,
        pw_rows,
        "created",
        "first run, with password column",
    );

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
        "{:<36} {:>10} {:>9} {:>11} {:>13}",
        "run", "rows", "seconds", "rows/s", "peak RSS MiB"
    );
    for m in [&first, &rerun, &pw] {
        println!(
            "{:<36} {:>10} {:>9.3} {:>11.0} {:>13.1}",
            m.label,
            m.rows,
            m.seconds,
            m.rows_per_sec(),
            m.peak_rss_mib
        );
    }
    let extra_us = pw.micros_per_row() - first.micros_per_row();
    println!();
    println!(
        "password column: {:.4} s per 1,000 rows, {:.2} µs/row raw; {:+.4} s per 1,000 rows, {:+.2} µs/row over the plain first run ({:.2} µs/row)",
        pw.micros_per_row() / 1000.0,
        pw.micros_per_row(),
        extra_us / 1000.0,
        extra_us,
        first.micros_per_row()
    );
    let peak_rss = [&first, &rerun, &pw]
        .map(|m| m.peak_rss_mib)
        .into_iter()
        .fold(0.0, f64::max);
    let targets = [
        (
            "first run >= 100000 rows/s",
            first.rows_per_sec(),
            first.rows_per_sec() >= TARGET_CREATE_RPS,
        ),
        (
            "re-run    >= 200000 rows/s",
            rerun.rows_per_sec(),
            rerun.rows_per_sec() >= TARGET_RERUN_RPS,
        ),
        (
            "peak RSS  <  200 MiB (all runs)",
            peak_rss,
            peak_rss < TARGET_RSS_MIB,
        ),
    ];
    println!("\ntargets:");
    for (what, value, met) in targets {
        println!(
            "  {what}: {value:.1} -> {}",
            if met { "met" } else { "MISSED" }
        );
    }
}
