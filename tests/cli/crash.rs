//! Crash safety: a run killed with SIGKILL at any moment loses no input and leaves no
//! half-written report, tryback or archive; the next run ends with the store an uninterrupted
//! run makes.

use crate::workdir::Workdir;
use std::fs;
use std::time::Duration;

const ROWS: usize = 20_000;

/// A users feed with a bad row, so a tryback is written too.
fn feed() -> String {
    let mut s = String::from("username;firstname;lastname;email\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "user{i:05};First{i};Last{i};user{i}@example.edu\n"
        ));
    }
    s.push_str("BAD USER;B;C;bad@example.edu\n");
    s
}

/// Everything a users run decides, without times and ids.
fn store_dump(w: &Workdir) -> Vec<String> {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT username || '|' || firstname || '|' || lastname || '|' || email || '|' || deleted
             FROM mdl_user ORDER BY username",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn with_drop(text: &str) -> Workdir {
    let w = Workdir::new();
    w.settings("[feed]\ndrop_folder = \"drop\"\n");
    fs::create_dir_all(w.join("drop")).unwrap();
    fs::write(w.join("drop/userimport.csv"), text).unwrap();
    w
}

fn entries(w: &Workdir, area: &str) -> Vec<String> {
    fs::read_dir(w.join(area))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sigkill_at_any_point_loses_nothing_and_the_next_run_finishes_the_job() {
    let text = feed();
    let clean = with_drop(&text);
    clean.run().expect_code(1);
    let expected = store_dump(&clean);
    assert_eq!(
        expected.len(),
        ROWS + 2,
        "guest, admin and the feed's accounts"
    );

    // From the capture (the first milliseconds) to the end of the file and its bookkeeping.
    for delay_ms in [5, 40, 150, 400, 900, 1600, 2600] {
        let w = with_drop(&text);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_moosync"))
            .arg("--data")
            .arg(w.join(""))
            .args(["run", "--quiet"])
            .env("TZ", "UTC")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // The input is somewhere: the drop folder, inbox/ (maybe claimed), or the archive.
        let found = [
            w.join("drop/userimport.csv"),
            w.join("inbox/userimport.csv"),
            w.join("inbox/.claimed/userimport.csv"),
        ]
        .iter()
        .filter(|p| p.exists())
        .count()
            + entries(&w, "Archives").len();
        assert!(found >= 1, "killed after {delay_ms} ms: the input was lost");

        let again = w.run();
        assert!(
            again.code == 0 || again.code == 1,
            "killed after {delay_ms} ms, the next run: {}\n{}",
            again.stdout,
            again.stderr
        );
        assert_eq!(
            store_dump(&w),
            expected,
            "killed after {delay_ms} ms: the store differs from an uninterrupted run's"
        );
        assert!(!w.join("drop/userimport.csv").exists());
        assert!(entries(&w, "inbox").iter().all(|n| n == ".claimed"));
        assert!(entries(&w, "inbox/.claimed").is_empty());
        let archived = entries(&w, "Archives");
        assert_eq!(archived.len(), 1, "archived once: {archived:?}");
        let archived = fs::read_to_string(w.join("Archives").join(&archived[0])).unwrap();
        assert_eq!(archived, text, "the archive is the whole input");
        // No half-written bookkeeping: temporary files are gone, every report is complete.
        for area in ["Reports", "Trybacks", "Archives"] {
            assert!(
                entries(&w, area)
                    .iter()
                    .all(|n| !n.starts_with(".moosync-")),
                "{area}: {:?}",
                entries(&w, area)
            );
        }
        for p in w.files("Reports") {
            if p.extension().is_some_and(|e| e == "txt")
                && !p.to_string_lossy().contains("_capture")
            {
                let report = fs::read_to_string(&p).unwrap();
                assert!(report.contains("\nsummary: "), "{}: {report}", p.display());
            }
        }
        for p in w.files("Trybacks") {
            let tb = fs::read_to_string(&p).unwrap();
            assert_eq!(
                tb,
                "username;firstname;lastname;email\nBAD USER;B;C;bad@example.edu\n"
            );
        }
    }
}

#[test]
fn status_tells_a_running_file_from_one_whose_run_was_killed() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", feed());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_moosync"))
        .arg("--data")
        .arg(w.join(""))
        .args(["run", "--quiet"])
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // While the run holds the lock, its file is running, and the holder is named.
    let pid = format!("pid {}", child.id());
    let mut running = String::new();
    for _ in 0..400 {
        running = w.moosync(&["status"]).stdout;
        if running.contains("userimport.csv running now") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        running.contains(&format!("a run is going now ({pid} since"))
            && running.contains(&format!("userimport.csv running now ({pid}")),
        "{running}"
    );
    // Killed: nothing clears the file's "running" mark, but no live process holds the lock.
    let after = w.moosync(&["status"]).stdout;
    assert!(after.contains("no run is going now"), "{after}");
    assert!(
        after.contains("last run: started ")
            && after.contains("userimport.csv interrupted: the run processing it ended"),
        "{after}"
    );
    assert!(!after.contains("running now"), "{after}");
}
