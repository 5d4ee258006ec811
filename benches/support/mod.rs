//! What the end-to-end benchmarks share: building the release CLI, a fresh data folder, one
//! measured `moosync run` (wall time, and peak RSS from `wait4`), the machine's facts.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured CLI run.
pub struct Measured {
    pub label: &'static str,
    pub rows: usize,
    pub seconds: f64,
    pub peak_rss_mib: f64,
    /// moosync's own CPU time (user + system), from wait4.
    pub cpu_seconds: f64,
}

impl Measured {
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
    pub fn micros_per_row(&self) -> f64 {
        self.seconds * 1e6 / self.rows as f64
    }
}

pub fn fail(msg: impl AsRef<str>) -> ! {
    eprintln!("benchmark: {}", msg.as_ref());
    std::process::exit(1);
}

/// `--rows N` from the command line; cargo's own `--bench` flag is ignored.
pub fn parse_rows(default: usize) -> usize {
    let mut args = std::env::args().skip(1);
    let mut rows = default;
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
pub fn build_cli() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
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

/// A fresh data folder initialised by the CLI; the TempDir removes it on drop.
pub fn init_data_dir(bin: &Path) -> (tempfile::TempDir, PathBuf) {
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

/// Copies `csv` into the inbox as `name`, runs `moosync run`, and checks that it exits 0 and
/// that its summary holds every `expect`.
#[allow(dead_code)] // every bench but capture_throughput
pub fn measure_run(
    bin: &Path,
    data: &Path,
    (csv, name): (&Path, &str),
    rows: usize,
    expect: &[String],
    label: &'static str,
) -> Measured {
    // The run moves its input to Archives/, so every run gets a fresh copy.
    fs::copy(csv, data.join("inbox").join(name))
        .unwrap_or_else(|e| fail(format!("copy into inbox: {e}")));
    measure(bin, data, rows, expect, label)
}

/// Times one `moosync run` on the data folder as it stands (peak RSS from wait4), and checks
/// its exit code and output.
pub fn measure(
    bin: &Path,
    data: &Path,
    rows: usize,
    expect: &[String],
    label: &'static str,
) -> Measured {
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
        cpu_seconds: [usage.ru_utime, usage.ru_stime]
            .iter()
            .map(|t| t.tv_sec as f64 + t.tv_usec as f64 / 1e6)
            .sum(),
    }
}

/// The first `key : value` line of a /proc file.
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

/// "machine: <cpu> | N cores | M GiB RAM", for the figures' context.
pub fn machine_line() -> String {
    let memory_kib: f64 = proc_field("/proc/meminfo", "MemTotal")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "machine: {} | {cores} cores | {:.1} GiB RAM",
        proc_field("/proc/cpuinfo", "model name"),
        memory_kib / 1048576.0
    )
}

/// The machine, then one line per run: rows, seconds, rows/s, µs/row, peak RSS.
pub fn print_table(runs: &[&Measured]) {
    println!("{}", machine_line());
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>8} {:>13} {:>8}",
        "run", "rows", "seconds", "rows/s", "µs/row", "peak RSS MiB", "CPU s"
    );
    for m in runs {
        println!(
            "{:<32} {:>9} {:>9.3} {:>9.0} {:>8.2} {:>13.1} {:>8.2}",
            m.label,
            m.rows,
            m.seconds,
            m.rows_per_sec(),
            m.micros_per_row(),
            m.peak_rss_mib,
            m.cpu_seconds
        );
    }
}
