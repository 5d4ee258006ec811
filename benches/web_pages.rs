//! How long the web console takes to answer each screen on a big data folder: 10,000 files
//! in Reports/ and a report of 100,000 rows (10,000 of them failed), all through `moosync
//! serve` over loopback HTTP, as a browser would ask. The target is 100 ms a page.
//!
//! `cargo bench --bench web_pages [-- --rows N]` (default 100,000 rows).
//! Exits non-zero only when the console cannot be set up; missed targets are reported.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{fail, machine_line, parse_rows};

const SECRET: &str = "bench-console-secret-0123";
const REPORTS: usize = 10_000;
const TARGET_MS: f64 = 100.0;
const TRIES: usize = 20;

fn moosync(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap_or_else(|e| fail(format!("cannot start moosync: {e}")))
}

/// `rows` users, one in ten with a username Moodle refuses.
fn users(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "username;firstname;lastname;email;idnumber").unwrap();
    for i in 0..rows {
        let name = if i % 10 == 9 {
            format!("bad user {i}!")
        } else {
            format!("user{i:07}")
        };
        writeln!(
            out,
            "{name};First{i};Last{i};user{i:07}@example.edu;ID{i:08}"
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn main() {
    let rows = parse_rows(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = moosync(&data, &["init"]);
    if !out.status.success() {
        fail(format!("init: {}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::write(
        data.join("moosync.toml"),
        "[web]\nsecret_env = \"BENCH_CONSOLE_SECRET\"\n",
    )
    .unwrap();
    users(&data.join("inbox/userimport.csv"), rows);
    let started = Instant::now();
    let out = moosync(&data, &["run", "--quiet"]);
    if out.status.code() != Some(1) {
        fail(format!(
            "the big run: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!(
        "the {rows}-row run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let reports = data.join("Reports");
    let big = std::fs::read_dir(&reports)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".txt"))
        .unwrap_or_else(|| fail("no report"));
    // The other reports: small pairs, up to 10,000 files in all.
    users(&tmp.path().join("small.csv"), 5);
    let small_txt = "moosync report\ntool:     users (preset tool_sync.users, script users.rhai)\n\nuserimport.csv:2: applied: created user a (id 2)\n\nsummary: 1 rows\n";
    let small_json = "{\"line\":2,\"outcome\":\"applied\",\"changes\":[{\"action\":\"created\",\"entity\":\"user\",\"id\":2,\"label\":\"a\"}]}\n";
    for i in 0..(REPORTS - 2) / 2 {
        let stem = format!("2025{:04}-{:06}_users_userimport_{i}.csv", i % 1231, i);
        std::fs::write(reports.join(format!("{stem}.txt")), small_txt).unwrap();
        std::fs::write(reports.join(format!("{stem}.jsonl")), small_json).unwrap();
    }
    users(&data.join("inbox/userimport_next.csv"), 1_000);

    let mut child = Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("BENCH_CONSOLE_SECRET", SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start serve: {e}")));
    let first = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .and_then(|l| l.ok())
        .unwrap_or_else(|| fail("serve said nothing"));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| fail(format!("no address in {first}")))
        .trim_end_matches('/')
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let login = agent
        .post(&format!("{url}/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("secret={SECRET}").as_bytes())
        .unwrap_or_else(|e| fail(format!("login: {e}")));
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| fail("no session"))
        .to_string();
    let big = format!("Reports/{big}");
    let pages = [
        ("synthesis", "/".to_string()),
        ("files: Reports/ (10,000)", "/files?area=Reports".into()),
        (
            "files: Reports/, last page",
            "/files?area=Reports&page=49".into(),
        ),
        (
            "report: 100k rows, failures first",
            format!("/report?path={big}"),
        ),
        (
            "report: rows 50,000-50,499",
            format!("/report?path={big}&from=50000"),
        ),
        (
            "report: errors-only CSV",
            format!("/report/errors.csv?path={big}"),
        ),
        ("problems", "/problems".into()),
        ("problems CSV", "/problems.csv".into()),
        ("run", "/run".into()),
        ("settings and scripts", "/settings".into()),
        (
            "preview: 1,000-row file",
            "/preview?path=inbox/userimport_next.csv".into(),
        ),
    ];
    println!("{}", machine_line());
    println!(
        "{:<36} {:>9} {:>9} {:>10} {:>7}",
        "page", "median ms", "max ms", "bytes", "target"
    );
    let mut missed = 0;
    for (label, path) in &pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..TRIES {
            let t = Instant::now();
            let mut r = agent
                .get(&format!("{url}{path}"))
                .header("Cookie", &cookie)
                .call()
                .unwrap_or_else(|e| fail(format!("{path}: {e}")));
            let body = r
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_vec()
                .unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if r.status() != 200 {
                fail(format!(
                    "{path}: {} {}",
                    r.status(),
                    String::from_utf8_lossy(&body)
                ));
            }
            bytes = body.len();
        }
        times.sort_by(f64::total_cmp);
        let (median, max) = (times[TRIES / 2], times[TRIES - 1]);
        let ok = median < TARGET_MS;
        missed += usize::from(!ok);
        println!(
            "{label:<36} {median:>9.1} {max:>9.1} {bytes:>10} {:>7}",
            if ok { "met" } else { "MISSED" }
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{} of {} pages under {TARGET_MS} ms (median of {TRIES})",
        pages.len() - missed,
        pages.len()
    );
}
