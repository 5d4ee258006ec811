//! moosync over REST against the real lab Moodle (../shared/moodle-lab, with moosync's plugin
//! from moodle/install-into-lab.sh), through the tests' fault proxy used only to count the
//! calls: a users feed created in calls of 100 (4 and 1 in flight), the same feed again
//! (lookups only) with core's account lookup and with the plugin's lean read, an unchanged
//! 10,000-account re-run both ways, and the HTTP calls per 1,000 rows of each tool's file.
//! Wall time is Moodle's and moosync's together; moosync's own CPU is measured apart (wait4).
//!
//! `cargo bench --bench moodle_throughput [-- --rows N]` (default 2,000 new accounts; the
//! 10,000 re-run accounts, `mtbench00000`…, are made once, on the first run against a lab).
//! Reads `MOODLE_URL` and `MOODLE_LAB_DIR` (or the `MOODLE_*TOKEN` variables) as the tests do.

#[path = "../tests/support/fault_proxy/mod.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "../tests/cli/lab.rs"]
mod lab;
mod support;

use fault_proxy::FaultProxy;
use lab::{Session, Who};
use std::fs;
use std::path::{Path, PathBuf};
use support::{build_cli, fail, init_data_dir, measure, parse_rows, print_table, Measured};

const RERUN_ACCOUNTS: usize = 10_000;

/// A data folder sending to the proxy with `who`'s token, `parallel` calls at once.
fn data_for(
    bin: &Path,
    proxy: &FaultProxy,
    who: Who,
    parallel: usize,
) -> (tempfile::TempDir, PathBuf) {
    let (tmp, data) = init_data_dir(bin);
    let token = tmp.path().join("token");
    fs::write(&token, lab::token(who)).unwrap_or_else(|e| fail(format!("token: {e}")));
    fs::write(
        data.join("moosync.toml"),
        format!(
            "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_file = \"{}\"\nbatch_size = 100\nparallel = {parallel}\n",
            proxy.url(),
            token.display()
        ),
    )
    .unwrap_or_else(|e| fail(format!("settings: {e}")));
    (tmp, data)
}

/// Accounts `{prefix}{i:05}` with a city and a custom profile field, as moosync compares them.
fn write_users(path: &Path, prefix: &str, rows: usize) {
    let mut s = String::with_capacity(rows * 80);
    s.push_str("username;firstname;lastname;email;city;profile_field_moosynclab\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{prefix}{i:05};First{i};Last{i};{prefix}{i:05}@example.edu;City{};Field {i}\n",
            i % 200
        ));
    }
    fs::write(path, s).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));
}

fn run(
    data: &Path,
    bin: &Path,
    (csv, name): (&Path, &str),
    rows: usize,
    expect: &str,
    label: &'static str,
) -> Measured {
    fs::copy(csv, data.join("inbox").join(name)).unwrap_or_else(|e| fail(format!("copy: {e}")));
    measure(bin, data, rows, &[expect.to_string()], label)
}

/// One line: the calls the proxy saw, by function, per 1,000 rows; then forgets them.
fn calls_line(proxy: &FaultProxy, rows: usize, label: &str) -> usize {
    let calls = proxy.calls();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &calls {
        *by.entry(c.function.clone()).or_default() += 1;
    }
    let per = calls.len() as f64 * 1000.0 / rows as f64;
    println!(
        "{label}: {} HTTP calls, {per:.1} per 1,000 rows: {by:?}",
        calls.len()
    );
    proxy.clear_calls();
    calls.len()
}

/// A zip of `n` small PNG pictures named after the accounts.
fn picture_zip(names: &[String]) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (i, name) in names.iter().enumerate() {
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([i as u8, 90, 200]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png)
            .unwrap_or_else(|e| fail(format!("png: {e}")));
        z.start_file(
            format!("{name}.png"),
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
    let rows = parse_rows(2_000);
    Session::connect(Who::Plugin);
    let bin = build_cli();
    let proxy = FaultProxy::start(&lab::url());
    let scratch = tempfile::tempdir().unwrap_or_else(|e| fail(format!("temp dir: {e}")));
    println!("lab: {}", lab::url());

    // New accounts, 4 calls in flight, then the unchanged re-run with each lookup.
    let prefix = lab::unique("mtb");
    let csv = scratch.path().join("users.csv");
    write_users(&csv, &prefix, rows);
    let (_keep, core4) = data_for(&bin, &proxy, Who::Core, 4);
    let first = run(
        &core4,
        &bin,
        (&csv, "userimport.csv"),
        rows,
        &format!("{rows} created"),
        "first run, 4 in flight",
    );
    calls_line(&proxy, rows, "first run");
    let rerun_core = run(
        &core4,
        &bin,
        (&csv, "userimport.csv"),
        rows,
        &format!("{rows} unchanged"),
        "re-run, core lookup",
    );
    calls_line(&proxy, rows, "re-run, core lookup");
    let (_keep, lean) = data_for(&bin, &proxy, Who::Plugin, 4);
    let rerun_lean = run(
        &lean,
        &bin,
        (&csv, "userimport.csv"),
        rows,
        &format!("{rows} unchanged"),
        "re-run, plugin's lean read",
    );
    calls_line(&proxy, rows, "re-run, plugin's lean read");

    // One call in flight, on accounts of its own.
    let small = scratch.path().join("small.csv");
    let one = rows / 2;
    write_users(&small, &lab::unique("mtc"), one);
    let (_keep, core1) = data_for(&bin, &proxy, Who::Core, 1);
    let serial = run(
        &core1,
        &bin,
        (&small, "userimport.csv"),
        one,
        &format!("{one} created"),
        "first run, 1 in flight",
    );
    proxy.clear_calls();

    // The 10,000 accounts of the re-run comparison, made once per lab.
    let big = scratch.path().join("big.csv");
    write_users(&big, "mtbench", RERUN_ACCOUNTS);
    fs::copy(&big, core4.join("inbox/userimport.csv"))
        .unwrap_or_else(|e| fail(format!("copy: {e}")));
    measure(
        &bin,
        &core4,
        RERUN_ACCOUNTS,
        &[],
        "making the 10,000 accounts",
    );
    proxy.clear_calls();
    let big_core = run(
        &core4,
        &bin,
        (&big, "userimport.csv"),
        RERUN_ACCOUNTS,
        &format!("{RERUN_ACCOUNTS} unchanged"),
        "10,000 re-run, core lookup",
    );
    let big_lean = run(
        &lean,
        &bin,
        (&big, "userimport.csv"),
        RERUN_ACCOUNTS,
        &format!("{RERUN_ACCOUNTS} unchanged"),
        "10,000 re-run, lean read",
    );
    proxy.clear_calls();

    // HTTP calls per 1,000 rows of each tool's file, first run and unchanged re-run: 200
    // accounts (of the first run) in 10 courses.
    let n = 200.min(rows);
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i:05}")).collect();
    let tag = lab::unique("mtk");
    let mut courses = String::from("shortname;fullname;category\n");
    for c in 0..10 {
        courses.push_str(&format!("{tag}{c};Course {c};{tag}/Sub{}\n", c % 3));
    }
    let mut enrols = String::from("rolename;cid;uid;enrol\n");
    let mut cohorts = String::from("cname;cidnumber;userid\n");
    let mut groups = String::from("courseid;name\n");
    let mut members = String::from("courseid;groupid;userid\n");
    // Each member then moves to the course's second group (a shift leaves the first).
    let mut shifts = String::from("cmd;courseid;groupid;userid\n");
    for c in 0..10 {
        groups.push_str(&format!("{tag}{c};Group {c}\n{tag}{c};Group {c} B\n"));
    }
    for (i, u) in names.iter().enumerate() {
        let c = i % 10;
        enrols.push_str(&format!("student;{tag}{c};{u};\n"));
        cohorts.push_str(&format!("Year {c};{tag}Y{c};{u}\n"));
        members.push_str(&format!("{tag}{c};Group {c};{u}\n"));
        shifts.push_str(&format!("shift;{tag}{c};Group {c} B;{u}\n"));
    }
    let pictures = &names[..n / 5];
    let files: [(&str, Vec<u8>, usize); 7] = [
        ("uploadcourses.csv", courses.into_bytes(), 10),
        ("enrols.csv", enrols.into_bytes(), n),
        ("cohorts.csv", cohorts.into_bytes(), n),
        ("groups.csv", groups.into_bytes(), 20),
        ("groupmembers.csv", members.into_bytes(), n),
        ("groupmembers_shift.csv", shifts.into_bytes(), n),
        (
            "userpictures_bench.zip",
            picture_zip(pictures),
            pictures.len(),
        ),
    ];
    for (file, bytes, rows) in files {
        for pass in ["first run", "unchanged re-run"] {
            fs::write(core4.join("inbox").join(file), &bytes)
                .unwrap_or_else(|e| fail(format!("{file}: {e}")));
            // Failed rows are part of what is counted (a row the core service cannot do).
            let status = std::process::Command::new(&bin)
                .arg("--data")
                .arg(&core4)
                .args(["run", "--quiet"])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap_or_else(|e| fail(format!("moosync: {e}")));
            calls_line(
                &proxy,
                rows,
                &format!("{file}, {pass} (exit {})", status.code().unwrap_or(-1)),
            );
        }
    }

    print_table(&[
        &first,
        &serial,
        &rerun_core,
        &rerun_lean,
        &big_core,
        &big_lean,
    ]);
    println!(
        "moosync's own CPU: {:.0} µs per row on the first run, {:.0} on the core re-run, {:.0} on the lean re-run",
        first.cpu_seconds * 1e6 / rows as f64,
        rerun_core.cpu_seconds * 1e6 / rows as f64,
        rerun_lean.cpu_seconds * 1e6 / rows as f64,
    );
    println!(
        "unchanged 10,000-account re-run: {:.1} s with core's lookup, {:.1} s with the lean read ({:.1}x)",
        big_core.seconds,
        big_lean.seconds,
        big_core.seconds / big_lean.seconds
    );
}
