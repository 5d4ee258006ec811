//! End-to-end throughput of `moosync run` on a users feed: first run (all creates),
//! unchanged re-run, and the extra cost of a password column.
//!
//! `cargo bench --bench users_throughput [-- --rows N]` (default 1,000,000 rows).
//! Exits non-zero only when a run fails; missed targets are reported, not fatal.

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use support::{build_cli, fail, init_data_dir, measure_run, parse_rows, print_table};

const HEADER: &str = "username;firstname;lastname;email;idnumber;institution;department;city";
const TARGET_CREATE_RPS: f64 = 100_000.0;
const TARGET_RERUN_RPS: f64 = 200_000.0;
const TARGET_RSS_MIB: f64 = 200.0;
const MAX_PASSWORD_ROWS: usize = 20_000;

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

fn main() {
    let rows = parse_rows(1_000_000);
    let bin = build_cli();

    let (tmp, data) = init_data_dir(&bin);
    // Outside inbox/, so it is not picked up (or archived) by the runs.
    let plain_csv = tmp.path().join("users.csv");
    write_users_csv(&plain_csv, rows, false).unwrap_or_else(|e| fail(format!("writing CSV: {e}")));

    let inbox = "userimport.csv";
    let first = measure_run(
        &bin,
        &data,
        (&plain_csv, inbox),
        rows,
        &[format!("{rows} created")],
        "first run, all creates",
    );
    let rerun = measure_run(
        &bin,
        &data,
        (&plain_csv, inbox),
        rows,
        &[format!("{rows} unchanged")],
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
        (&pw_csv, inbox),
        pw_rows,
        &[format!("{pw_rows} created")],
        "first run, with password column",
    );

    println!();
    print_table(&[&first, &rerun, &pw]);
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
