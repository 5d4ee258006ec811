//! The script corpus: every fixture under tests/fixtures/<tool>/ goes through `moosync plan`
//! with the shipped script, and its output is a snapshot. A `NAME.toml` beside a fixture holds
//! the settings it needs (its encoding, its delimiter). Accept a rule change with
//! `cargo insta review`.

use crate::workdir::{snapshot_settings, Workdir};

/// Plans every fixture of `tests/fixtures/<tool>/` with the tool's shipped presets (the file
/// name picks the preset, as in the inbox) and snapshots the output.
fn plan_fixtures(tool: &str) {
    let mut settings = snapshot_settings();
    settings.set_allow_empty_glob(false);
    settings.bind(|| {
        insta::glob!("../fixtures", &format!("{tool}/*.csv"), |path| {
            let w = Workdir::new();
            let overlay = path.with_extension("toml");
            if overlay.exists() {
                w.settings(&std::fs::read_to_string(overlay).unwrap());
            }
            let out = w.moosync(&["plan", "--tool", tool, path.to_str().unwrap()]);
            let shown = format!(
                "exit: {}\n{}{}",
                out.code,
                out.stdout,
                w.redact(&out.stderr)
                    .replace(path.to_str().unwrap(), "[FIXTURE]")
            );
            insta::assert_snapshot!(format!("{tool}_fixtures_plan"), shown);
        });
    });
}

#[test]
fn users_fixtures_plan() {
    plan_fixtures("users");
}

#[test]
fn courses_fixtures_plan() {
    plan_fixtures("courses");
}

#[test]
fn enrolments_fixtures_plan() {
    plan_fixtures("enrolments");
}

#[test]
fn groups_fixtures_plan() {
    plan_fixtures("groups");
}

#[test]
fn plan_json_writes_nothing() {
    let w = Workdir::new();
    let file = w.join("x.csv");
    std::fs::write(
        &file,
        "username;firstname;lastname;password\nj;J;K;secret\n",
    )
    .unwrap();
    let out = w.moosync(&[
        "plan",
        "--tool",
        "users",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    out.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["line"], 2);
    assert_eq!(v[0]["commands"][0]["op"], "user_upsert");
    assert_eq!(v[0]["commands"][0]["password"], "********");
    assert!(!w.join("moodle.db").exists(), "plan opens no store");
}

#[test]
fn cohorts_fixtures_plan() {
    plan_fixtures("cohorts");
}

/// A picture archive's plan: one row per image entry, the user from its file name; resource
/// forks never reach the script.
#[test]
fn pictures_plan() {
    use std::io::Write;
    let w = Workdir::new();
    let zip_path = w.join("userpictures_plan.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, bytes) in [
        ("jdoe.jpg", &b"\xFF\xD8\xFF"[..]),
        ("photos/asmith.png", b"\x89PNG"),
        ("__MACOSX/._jdoe.jpg", b"fork"),
        ("../escape.png", b"x"),
        (".png", b"x"),
    ] {
        z.start_file(name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    let out = w.moosync(&["plan", "--tool", "pictures", zip_path.to_str().unwrap()]);
    let shown = format!(
        "exit: {}\n{}{}",
        out.code,
        out.stdout,
        w.redact(&out.stderr)
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("pictures_plan", shown));
}
