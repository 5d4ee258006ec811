//! moosync's own cost when the target is a Moodle site over REST, against the local test
//! server (tests/support/fake_moodle) answering at once: a users feed created in calls of 100,
//! the same feed again (lookups only), and a smaller feed with a server delay per call, with
//! one and with four calls in flight.
//!
//! `cargo bench --bench moodle_throughput [-- --rows N]` (default 100,000 rows).

#[path = "../tests/support/fake_moodle/mod.rs"]
mod fake_moodle;
mod support;

use fake_moodle::FakeMoodle;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;
use support::{build_cli, fail, init_data_dir, measure, parse_rows, print_table, Measured};

/// Linux keeps a process's peak RSS across fork and exec, so a moosync started by this
/// process, which holds the test server's 100,000 accounts, would report this process's
/// peak. Runs are started instead by a copy of this bench launched while it was still small.
struct Launcher {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Launcher {
    fn start() -> Launcher {
        let mut child =
            Command::new(std::env::current_exe().unwrap_or_else(|e| fail(e.to_string())))
                .arg("--launcher")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| fail(format!("launcher: {e}")));
        let to = child.stdin.take().expect("piped");
        let from = BufReader::new(child.stdout.take().expect("piped"));
        Launcher { child, to, from }
    }

    fn measure(
        &mut self,
        bin: &Path,
        data: &Path,
        rows: usize,
        expect: &str,
        label: &'static str,
    ) -> Measured {
        writeln!(
            self.to,
            "{}\t{}\t{rows}\t{expect}",
            bin.display(),
            data.display()
        )
        .unwrap_or_else(|e| fail(format!("launcher: {e}")));
        let mut line = String::new();
        self.from
            .read_line(&mut line)
            .unwrap_or_else(|e| fail(format!("launcher: {e}")));
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() != 3 {
            fail(format!("{label}: the launcher said {line:?}"));
        }
        Measured {
            label,
            rows,
            seconds: f[0],
            peak_rss_mib: f[1],
            cpu_seconds: f[2],
        }
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The launcher's side: one measured run per request line.
fn serve_launches() {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let p: Vec<&str> = line.split('\t').collect();
        if p.len() != 4 {
            return;
        }
        let rows: usize = p[2].parse().unwrap_or(1);
        let m = measure(
            Path::new(p[0]),
            &PathBuf::from(p[1]),
            rows,
            &[p[3].to_string()],
            "run",
        );
        println!("{} {} {}", m.seconds, m.peak_rss_mib, m.cpu_seconds);
    }
}

fn write_users(path: &Path, rows: usize) {
    let mut s = String::with_capacity(rows * 64);
    s.push_str("username;firstname;lastname;email;city\n");
    for i in 0..rows {
        s.push_str(&format!(
            "user{i:07};First{i};Last{i};user{i:07}@example.edu;City{}\n",
            i % 200
        ));
    }
    fs::write(path, s).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));
}

/// A data folder sending to `site`, `parallel` calls at once.
fn data_for(
    bin: &Path,
    site: &FakeMoodle,
    parallel: usize,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, data) = init_data_dir(bin);
    let token = tmp.path().join("token");
    fs::write(&token, FakeMoodle::TOKEN).unwrap_or_else(|e| fail(format!("token: {e}")));
    fs::write(
        data.join("moosync.toml"),
        format!(
            "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_file = \"{}\"\nbatch_size = 100\nparallel = {parallel}\n",
            site.url(),
            token.display()
        ),
    )
    .unwrap_or_else(|e| fail(format!("settings: {e}")));
    (tmp, data)
}

fn run(
    launcher: &mut Launcher,
    bin: &Path,
    data: &Path,
    csv: &Path,
    rows: usize,
    expect: &str,
    label: &'static str,
) -> Measured {
    fs::copy(csv, data.join("inbox/userimport.csv")).unwrap_or_else(|e| fail(format!("copy: {e}")));
    launcher.measure(bin, data, rows, expect, label)
}

fn calls_line(site: &FakeMoodle, rows: usize, label: &str) {
    let calls = site.calls();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &calls {
        *by.entry(c.function.clone()).or_default() += 1;
    }
    let per = calls.len() as f64 * 1000.0 / rows as f64;
    println!(
        "{label}: {} HTTP calls, {per:.1} per 1,000 rows: {by:?}",
        calls.len()
    );
    site.clear_calls();
}

/// A zip of `n` small PNG pictures named after the accounts.
fn picture_zip(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..n {
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([i as u8, 90, 200]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png)
            .unwrap_or_else(|e| fail(format!("png: {e}")));
        z.start_file(
            format!("user{i:07}.png"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap_or_else(|e| fail(format!("zip: {e}")));
        z.write_all(png.get_ref())
            .unwrap_or_else(|e| fail(format!("zip: {e}")));
    }
    z.finish()
        .unwrap_or_else(|e| fail(format!("zip: {e}")))
        .into_inner()
}

fn main() {
    if std::env::args().any(|a| a == "--launcher") {
        return serve_launches();
    }
    let rows = parse_rows(100_000);
    let bin = build_cli();
    let mut launcher = Launcher::start();
    let scratch = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    let csv = scratch.path().join("users.csv");
    write_users(&csv, rows);

    let site = FakeMoodle::start();
    let (_keep, data) = data_for(&bin, &site, 4);
    let first = run(
        &mut launcher,
        &bin,
        &data,
        &csv,
        rows,
        &format!("{rows} created"),
        "first run: creates, no delay",
    );
    calls_line(&site, rows, "first run");
    let rerun = run(
        &mut launcher,
        &bin,
        &data,
        &csv,
        rows,
        &format!("{rows} unchanged"),
        "unchanged re-run, no delay",
    );
    calls_line(&site, rows, "unchanged re-run");
    if site.write_calls() != 0 {
        fail("the unchanged re-run wrote");
    }

    // A server that takes its time: what the pool of calls in flight buys.
    let delayed_rows = (rows / 10).max(100);
    let small = scratch.path().join("small.csv");
    write_users(&small, delayed_rows);
    let mut slow = Vec::new();
    for (parallel, label) in [
        (1, "20 ms per call, 1 in flight"),
        (4, "20 ms per call, 4 in flight"),
    ] {
        let site = FakeMoodle::start();
        site.set_delay(Duration::from_millis(20));
        let (_keep, data) = data_for(&bin, &site, parallel);
        slow.push(run(
            &mut launcher,
            &bin,
            &data,
            &small,
            delayed_rows,
            &format!("{delayed_rows} created"),
            label,
        ));
    }
    // HTTP calls per 1,000 rows of each tool's file, first run and unchanged re-run, on a
    // site with 1,000 accounts and 10 courses.
    let n = 1000;
    let site = FakeMoodle::start();
    site.record_calls(true);
    for i in 0..n {
        site.add_user(serde_json::json!({
            "username": format!("user{i:07}"), "firstname": "F", "lastname": "L",
            "email": format!("user{i:07}@example.edu")
        }));
    }
    let (_keep, data) = data_for(&bin, &site, 4);
    let mut courses = String::from("shortname;fullname;category\n");
    for i in 0..n {
        courses.push_str(&format!("K{i:04};Course {i};Top/Sub{}\n", i % 10));
    }
    let mut enrols = String::from("rolename;cid;uid;enrol\n");
    let mut cohorts = String::from("cname;cidnumber;userid\n");
    let mut groups = String::from("courseid;name\n");
    let mut members = String::from("courseid;groupid;userid\n");
    // Each member then moves to the course's second group (a shift leaves the first).
    let mut shifts = String::from("cmd;courseid;groupid;userid\n");
    for c in 0..10 {
        groups.push_str(&format!("K{c:04};Group {c}\nK{c:04};Group {c} B\n"));
    }
    for i in 0..n {
        enrols.push_str(&format!("student;K{:04};user{i:07};\n", i % 10));
        cohorts.push_str(&format!("Year {0};Y{0};user{i:07}\n", i % 10));
        members.push_str(&format!("K{:04};Group {};user{i:07}\n", i % 10, i % 10));
        shifts.push_str(&format!(
            "shift;K{:04};Group {} B;user{i:07}\n",
            i % 10,
            i % 10
        ));
    }
    let pictures = n / 5;
    let zip = picture_zip(pictures);
    for (file, bytes, rows) in [
        ("uploadcourses.csv", courses.into_bytes(), n),
        ("enrols.csv", enrols.into_bytes(), n),
        ("cohorts.csv", cohorts.into_bytes(), n),
        ("groups.csv", groups.into_bytes(), 20),
        ("groupmembers.csv", members.into_bytes(), n),
        ("groupmembers_shift.csv", shifts.into_bytes(), n),
        ("userpictures_bench.zip", zip, pictures),
    ] {
        for pass in ["first run", "unchanged re-run"] {
            fs::write(data.join("inbox").join(file), &bytes)
                .unwrap_or_else(|e| fail(format!("{file}: {e}")));
            launcher.measure(&bin, &data, rows, "", "run");
            calls_line(&site, rows, &format!("{file}, {pass}"));
        }
    }
    print_table(&[&first, &rerun, &slow[0], &slow[1]]);
    let per_call = first.seconds / (3.0 * rows as f64 / 100.0);
    println!(
        "moosync's own CPU: {:.1} µs per row on the first run, {:.1} on the re-run; \
         a call of 100 rows took {:.2} ms of wall time with no server delay",
        first.cpu_seconds * 1e6 / rows as f64,
        rerun.cpu_seconds * 1e6 / rows as f64,
        per_call * 1e3,
    );
}
