//! The plugin's lean account lookup (`local_moosync_get_users`) against Moodle's own
//! (`core_user_get_users_by_field`) on the real lab Moodle: the same usernames, in calls of 100,
//! one call at a time, both ways. The accounts (`mspbench00000`…) are made on the first run.
//!
//! Needs the lab and the plugin (`../shared/moodle-lab/setup.sh`, `moodle/install-into-lab.sh`);
//! reads `MOODLE_URL` and `MOODLE_LAB_DIR` (or `MOODLE_PLUGIN_TOKEN`) as the tests do.
//!
//! `cargo bench --bench plugin_user_read [-- --users N]` (default 10,000 accounts).

#[allow(dead_code)]
#[path = "../tests/cli/lab.rs"]
mod lab;

use lab::{Session, Who};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const BATCH: usize = 100;
const PREFIX: &str = "mspbench";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let users = args
        .iter()
        .position(|a| a == "--users")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--users takes a number"))
        .unwrap_or(10_000);
    let s = Session::connect(Who::Plugin);
    let names: Vec<String> = (0..users).map(|i| format!("{PREFIX}{i:05}")).collect();
    make_missing(&s, &names);

    let core = |chunk: &[String]| {
        s.ok(
            "core_user_get_users_by_field",
            json!({"field": "username", "values": chunk}),
        )
    };
    let plugin = |chunk: &[String]| {
        s.ok(
            "local_moosync_get_users",
            json!({"field": "username", "values": chunk, "profilefields": ["moosynclab", "moosynclabdef"]}),
        )["users"]
            .clone()
    };
    // One call each first, so neither pays for a cold cache.
    core(&names[..BATCH.min(names.len())]);
    plugin(&names[..BATCH.min(names.len())]);
    let core_time = timed(&names, |chunk| core(chunk));
    let plugin_time = timed(&names, |chunk| plugin(chunk));

    let calls = names.len().div_ceil(BATCH);
    println!(
        "{} accounts looked up by username, {calls} calls of {BATCH}, one at a time, at {}",
        names.len(),
        lab::url()
    );
    println!("| function | seconds | ms per call | accounts/s |");
    println!("|---|---|---|---|");
    for (name, t) in [
        ("core_user_get_users_by_field", core_time),
        ("local_moosync_get_users", plugin_time),
    ] {
        println!(
            "| {name} | {:.2} | {:.1} | {:.0} |",
            t.as_secs_f64(),
            t.as_secs_f64() * 1000.0 / calls as f64,
            names.len() as f64 / t.as_secs_f64()
        );
    }
    println!(
        "local_moosync_get_users is {:.1}x faster",
        core_time.as_secs_f64() / plugin_time.as_secs_f64()
    );
}

/// Sends every chunk in turn; each answer must hold all its accounts.
fn timed(names: &[String], call: impl Fn(&[String]) -> Value) -> Duration {
    let start = Instant::now();
    for chunk in names.chunks(BATCH) {
        let found = call(chunk);
        let n = found.as_array().map_or(0, Vec::len);
        assert_eq!(n, chunk.len(), "{} of {} found", n, chunk.len());
    }
    start.elapsed()
}

/// Creates the bench accounts the site lacks (found with the plugin's lookup, the cheap one).
fn make_missing(s: &Session, names: &[String]) {
    let mut missing = Vec::new();
    for chunk in names.chunks(1000) {
        let found = s.ok(
            "local_moosync_get_users",
            json!({"field": "username", "values": chunk}),
        );
        let have: std::collections::HashSet<&str> = found["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["username"].as_str())
            .collect();
        missing.extend(chunk.iter().filter(|n| !have.contains(n.as_str())).cloned());
    }
    if missing.is_empty() {
        return;
    }
    eprintln!("creating {} bench accounts (once)…", missing.len());
    for chunk in missing.chunks(BATCH) {
        let list: Vec<Value> = chunk
            .iter()
            .map(|n| {
                json!({"username": n, "password": "Bench-Pass-1!", "firstname": "Bench", "lastname": n,
                       "email": format!("{n}@example.edu"), "city": "Benchville",
                       "customfields": [{"type": "moosynclab", "value": n}]})
            })
            .collect();
        s.ok("core_user_create_users", json!({ "users": list }));
    }
}
