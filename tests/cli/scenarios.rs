//! The parity corpus: every scenario under `tests/scenarios/` runs on the embedded store and on
//! the real Moodle of the lab (core service token, and the plugin service token), and each of
//! its steps must give the same snapshot on all three: the exit code, the report lines and the
//! normalized site state (`site_state`), under one snapshot name,
//! `snapshots/scenario__<scenario>__<NN>_<step>.snap`.
//!
//! A step lays its files into `inbox/` (placeholders replaced: `spec`), writes `moosync.toml`
//! (the scenario's settings, the step's, and for REST the lab's `[target]`), runs moosync,
//! then reads the reports it wrote and the site. Every step runs even when an earlier one
//! differs; the test fails at the end listing each step that did.
//!
//! The REST tests need the lab (`../shared/moodle-lab/setup.sh`, `moodle/install-into-lab.sh`)
//! and fail saying what to run when it cannot be reached. Known differences between the
//! backends are listed in `tests/scenarios/DIFFERENCES.md`.

mod report_lines;
mod site_db;
mod site_state;
mod spec;

use crate::lab::{self, Who};
use crate::workdir::{snapshot_settings, Workdir};
use site_db::SiteDb;
use spec::{Placeholders, Scenario};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Clone, Copy)]
enum Backend {
    Embedded,
    Rest(Who),
}

fn run(name: &str, backend: Backend) {
    let scenario = Scenario::load(name);
    // The `-` ends the prefix, so no prefix is the start of another (`…x1-` and `…x10-`).
    let prefix = format!("{}-", lab::unique("sc"));
    let w = Workdir::new();
    let (db, target, _token) = match backend {
        Backend::Embedded => {
            spread_embedded_ids(&w);
            (
                SiteDb::Embedded(w.join("moodle.db")),
                toml::Table::new(),
                None,
            )
        }
        Backend::Rest(who) => {
            lab::Session::connect(who);
            let token = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(token.path(), lab::token(who)).unwrap();
            let mut t = toml::Table::new();
            t.insert("kind".into(), "moodle".into());
            t.insert("url".into(), lab::url().into());
            t.insert(
                "token_file".into(),
                token.path().display().to_string().into(),
            );
            let mut extra = toml::Table::new();
            extra.insert("target".into(), toml::Value::Table(t));
            (SiteDb::Lab, extra, Some(token))
        }
    };
    let dir = spec::root().join(name);
    let resolved = std::cell::RefCell::new(Vec::new());
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for (i, step) in scenario.steps.iter().enumerate() {
        let mut snapshot = format!("scenario__{name}__{:02}_{}", i + 1, step.name);
        let mut expected_exit = step.exit;
        if let (Backend::Rest(Who::Core), Some(core)) = (backend, &step.core_rest) {
            assert!(
                !core.why.trim().is_empty(),
                "{snapshot}: core_rest needs a why"
            );
            snapshot.push_str("__core_rest");
            expected_exit = core.exit.unwrap_or(step.exit);
        }
        w.settings(&scenario.settings(step, &target));
        let placeholders = Placeholders {
            prefix: &prefix,
            db: &db,
            resolved: &resolved,
        };
        for f in &step.files {
            placeholders.drop_into(&dir, f, &w.join("inbox"));
        }
        let before = report_lines::reports(&w);
        let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
        let out = w.moosync(&args);
        let mut reports = report_lines::since(&w, &before, &prefix, &resolved.borrow());
        if reports.is_empty() {
            // No report (a file stopped before its first row, a refused setting): what moosync
            // said is the step's outcome.
            for l in out.stdout.lines().chain(out.stderr.lines()) {
                reports.push_str(&format!(
                    "  {}\n",
                    report_lines::normalize(&w, l, &prefix, &resolved.borrow())
                ));
            }
        }
        let doc = format!(
            "{}\nexit: {}\n\n{reports}\n{}",
            step.name,
            out.code,
            site_state::read(&db, &prefix)
        );
        if out.code != expected_exit {
            failures.push(format!(
                "{snapshot}: exit {} where scenario.toml expects {expected_exit}\nstdout:\n{}\nstderr:\n{}",
                out.code, out.stdout, out.stderr
            ));
        }
        let mut settings = snapshot_settings();
        settings.set_description(format!("{}: step {}", scenario.description, step.name));
        settings.set_omit_expression(true);
        let checked = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(snapshot.clone(), doc));
        }));
        if checked.is_err() {
            failures.push(format!("{snapshot}: differs from the snapshot"));
        }
    }
    eprintln!(
        "scenario {name} on {}: {} steps in {:.1} s",
        match backend {
            Backend::Embedded => "the embedded store",
            Backend::Rest(Who::Core) => "REST (core service)",
            Backend::Rest(_) => "REST (plugin service)",
        },
        scenario.steps.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "scenario {name}: {} step(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Makes the embedded store, then starts each table's ids at its own ten thousand, as on a
/// long-lived site: an id of one kind never equals another kind's or a count in a report, so a
/// mix-up of ids cannot pass unseen and the reports' ids can be told apart.
fn spread_embedded_ids(w: &Workdir) {
    // A users file with no rows makes the store and its tables, and changes nothing.
    w.drop_file("userimport.csv", "username;firstname;lastname\n");
    w.moosync(&["run"]).expect_code(0);
    let db = w.db();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mdl_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (i, table) in tables.iter().enumerate() {
        let start = (i as i64 + 1) * 10_000;
        let updated = db
            .execute(
                "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1",
                rusqlite::params![table, start],
            )
            .unwrap();
        if updated == 0 {
            db.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                rusqlite::params![table, start],
            )
            .unwrap();
        }
    }
}

/// One module per scenario, each with a test per backend; `NAMES` lists them for the check
/// that every folder under tests/scenarios/ is run.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $(
            mod $name {
                use super::{run, Backend, Who};
                #[test]
                fn embedded() {
                    run(stringify!($name), Backend::Embedded);
                }
                #[test]
                fn rest() {
                    run(stringify!($name), Backend::Rest(Who::Core));
                }
                #[test]
                fn rest_plugin() {
                    run(stringify!($name), Backend::Rest(Who::Plugin));
                }
            }
        )*
    };
}

scenarios! {
    cohort_bindings,
    cohorts,
    cohorts_identifiers,
    courses,
    courses_identifiers,
    courses_reset,
    courses_template,
    enrolments,
    enrolments_groups,
    enrolments_identifiers,
    groups,
    groups_identifiers,
    meta,
    pictures,
    users,
    users_enrol_columns,
    users_identifiers,
    users_passwords,
    users_suspend,
}

#[test]
fn every_scenario_folder_is_in_the_list() {
    let mut folders: Vec<String> = std::fs::read_dir(spec::root())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut listed: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        folders, listed,
        "tests/scenarios/ and the scenarios! list in tests/cli/scenarios.rs must agree"
    );
}

#[test]
fn every_scenario_snapshot_is_a_step_of_a_scenario() {
    let mut steps: Vec<String> = NAMES
        .iter()
        .flat_map(|name| {
            let s = Scenario::load(name);
            s.steps
                .iter()
                .enumerate()
                .flat_map(|(i, step)| {
                    let base = format!("scenario__{name}__{:02}_{}", i + 1, step.name);
                    let core = step
                        .core_rest
                        .as_ref()
                        .map(|_| format!("{base}__core_rest.snap"));
                    std::iter::once(format!("{base}.snap")).chain(core)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    steps.sort();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let mut snaps: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("scenario__") && n.ends_with(".snap"))
        .collect();
    snaps.sort();
    assert_eq!(
        snaps, steps,
        "snapshots/scenario__*.snap must be exactly the scenarios' steps: remove a stale one"
    );
}
