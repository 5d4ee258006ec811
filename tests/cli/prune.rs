//! `moosync files prune`: old reports, archives and trybacks go; nothing else is touched.

use crate::workdir::Workdir;
use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const DAY: u64 = 24 * 60 * 60;

fn days_ago(n: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(n * DAY)
}

/// Sets a file's or folder's modification time to `n` days ago.
fn age(path: &Path, n: u64) {
    let t = days_ago(n);
    File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

/// Sets a symlink's own modification time (not its target's) to `n` days ago.
fn age_link(path: &Path, n: u64) {
    use std::os::unix::ffi::OsStrExt;
    let secs = days_ago(n)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as libc::time_t;
    let ts = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            [ts, ts].as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

fn put(w: &Workdir, rel: &str, bytes: &[u8], days_old: u64) -> PathBuf {
    let p = w.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    age(&p, days_old);
    p
}

/// An archived picture folder, whose files are newer than the folder itself.
fn put_folder(w: &Workdir, rel: &str, days_old: u64) -> PathBuf {
    let p = w.join(rel);
    fs::create_dir_all(p.join("sub")).unwrap();
    fs::write(p.join("a.jpg"), vec![0u8; 1024 * 1024]).unwrap();
    fs::write(p.join("sub/b.jpg"), vec![0u8; 512 * 1024]).unwrap();
    age(&p, days_old);
    p
}

struct Layout {
    old: Vec<PathBuf>,
    new: Vec<PathBuf>,
    /// Old files outside the three areas.
    untouchable: Vec<PathBuf>,
}

fn layout(w: &Workdir) -> Layout {
    let old = vec![
        put(w, "Reports/20260101-120000_users_userimport.txt", b"r", 40),
        put(
            w,
            "Reports/20260101-120000_users_userimport.jsonl",
            b"{}",
            40,
        ),
        put(w, "Reports/.moosync-killed.tmp", b"", 40),
        put(w, "Archives/20260101-120000_userimport.csv", b"a;b\n", 40),
        put_folder(w, "Archives/20260101-120000_pictures", 40),
        put(
            w,
            "Trybacks/userimport_tryback_20260101-120000.csv",
            b"t",
            40,
        ),
    ];
    let new = vec![
        put(w, "Reports/20261120-120000_users_userimport.txt", b"r", 2),
        put(
            w,
            "Reports/20261120-120000_users_userimport.jsonl",
            b"{}",
            2,
        ),
        put(w, "Archives/20261120-120000_userimport.csv", b"a;b\n", 2),
        put_folder(w, "Archives/20261120-120000_pictures", 2),
        put(
            w,
            "Trybacks/userimport_tryback_20261120-120000.csv",
            b"t",
            2,
        ),
    ];
    let untouchable = vec![
        put(w, "inbox/userimport.csv", b"username\n", 400),
        put(w, "inbox/.claimed/courses.csv", b"shortname\n", 400),
        put(w, "Rejected/20260101-120000_bad.csv", b"x", 400),
        put(w, "scripts/old.rhai", b"", 400),
        put(w, "presets/old.toml", b"", 400),
    ];
    // An old file inside a new archived folder: the folder counts by its own time.
    put(w, "Archives/20261120-120000_pictures/old.jpg", b"j", 400);
    age(&w.join("Archives/20261120-120000_pictures"), 2);
    Layout {
        old,
        new,
        untouchable,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn rel(w: &Workdir, p: &Path) -> String {
    p.strip_prefix(w.join("")).unwrap().display().to_string()
}

#[test]
fn prune_removes_exactly_the_old_reports_archives_and_trybacks() {
    let w = Workdir::new();
    let l = layout(&w);
    // Old settings and databases beside the areas: never the prune's business.
    for name in ["moosync.toml", "moodle.db", "state.db"] {
        let p = w.join(name);
        if !p.exists() {
            fs::write(&p, "").unwrap();
        }
        age(&p, 400);
    }
    // `files prune` takes the data folder's lock as a run does.
    let root_before: Vec<String> = names(&w.join(""))
        .into_iter()
        .chain([".moosync.lock".to_string()])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let out = w.moosync(&["files", "prune", "--older-than", "30"]);
    out.expect_code(0);
    assert_eq!(names(&w.join("")), root_before);
    for p in &l.old {
        assert!(!p.exists(), "{} is gone", p.display());
    }
    for p in l.new.iter().chain(&l.untouchable) {
        assert!(p.exists(), "{} stays", p.display());
    }
    assert!(w.join("Archives/20261120-120000_pictures/old.jpg").exists());
    // One line per removed path, relative to the data folder, by area then name; then the total.
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    let total = lines.pop().unwrap();
    assert_eq!(
        lines,
        vec![
            "Reports/.moosync-killed.tmp",
            "Reports/20260101-120000_users_userimport.jsonl",
            "Reports/20260101-120000_users_userimport.txt",
            "Archives/20260101-120000_pictures",
            "Archives/20260101-120000_userimport.csv",
            "Trybacks/userimport_tryback_20260101-120000.csv",
        ]
    );
    assert_eq!(total, "pruned 6 files (1.5 MiB)");
    assert_eq!(out.stderr, "");
    // Nothing is old any more.
    let again = w.moosync(&["files", "prune", "--older-than", "30"]);
    again.expect_code(0);
    assert_eq!(again.stdout, "pruned 0 files (0.0 MiB)\n");
}

#[test]
fn area_flags_choose_what_is_pruned() {
    let w = Workdir::new();
    let l = layout(&w);
    let [r1, r2, r3, a1, a2, t1] = <[PathBuf; 6]>::try_from(l.old).unwrap();

    let out = w.moosync(&["files", "prune", "--older-than", "30", "--trybacks"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!("{}\npruned 1 file (0.0 MiB)\n", rel(&w, &t1))
    );
    assert!(!t1.exists());
    assert!([&r1, &r2, &r3, &a1, &a2].iter().all(|p| p.exists()));

    let out = w.moosync(&[
        "files",
        "prune",
        "--older-than",
        "30",
        "--reports",
        "--archives",
        "--quiet",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "pruned 5 files (1.5 MiB)\n");
    assert!([&r1, &r2, &r3, &a1, &a2].iter().all(|p| !p.exists()));
    assert!(l.new.iter().chain(&l.untouchable).all(|p| p.exists()));
}

#[test]
fn the_threshold_is_in_days() {
    let w = Workdir::new();
    let l = layout(&w);
    // 2 days old is newer than 3 days, older than 1 day; 40 days is older than both.
    w.moosync(&["files", "prune", "--older-than", "3", "--quiet"])
        .expect_code(0);
    assert!(l.old.iter().all(|p| !p.exists()));
    assert!(l.new.iter().all(|p| p.exists()));
    let out = w.moosync(&["files", "prune", "--older-than", "1", "--quiet"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "pruned 5 files (1.5 MiB)\n");
    assert!(l.new.iter().all(|p| !p.exists()));
    assert!(l.untouchable.iter().all(|p| p.exists()));
}

#[test]
fn dry_run_lists_and_deletes_nothing() {
    let w = Workdir::new();
    let l = layout(&w);
    let out = w.moosync(&["files", "prune", "--older-than", "30", "--dry-run"]);
    out.expect_code(0);
    assert!(l.old.iter().chain(&l.new).all(|p| p.exists()));
    assert_eq!(out.stdout.lines().count(), 7, "{}", out.stdout);
    assert!(out.stdout.contains("Archives/20260101-120000_pictures\n"));
    assert!(out
        .stdout
        .ends_with("would prune 6 files (1.5 MiB); dry run, nothing removed\n"));
    // The real prune then removes just what was listed.
    let real = w.moosync(&["files", "prune", "--older-than", "30"]);
    let listed: Vec<&str> = out.stdout.lines().take(6).collect();
    let removed: Vec<&str> = real.stdout.lines().take(6).collect();
    assert_eq!(listed, removed);
}

#[test]
fn symlinks_are_removed_as_links_never_followed() {
    let w = Workdir::new();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious.txt");
    fs::write(&target, "keep me").unwrap();
    let target_dir = outside.path().join("pictures");
    fs::create_dir(&target_dir).unwrap();
    fs::write(target_dir.join("a.jpg"), "jpeg").unwrap();
    age(&target_dir.join("a.jpg"), 400);
    age(&target_dir, 400);

    // An old link to a new file outside: the link goes, the file stays.
    let old_link = w.join("Reports/old-link.txt");
    std::os::unix::fs::symlink(&target, &old_link).unwrap();
    age_link(&old_link, 40);
    // A new link to an old folder outside: the link's own age counts, so it stays.
    let new_link = w.join("Archives/new-link");
    std::os::unix::fs::symlink(&target_dir, &new_link).unwrap();
    // An old link to a folder outside: removed as a link, the folder's files stay.
    let old_dir_link = w.join("Archives/old-link");
    std::os::unix::fs::symlink(&target_dir, &old_dir_link).unwrap();
    age_link(&old_dir_link, 40);

    let out = w.moosync(&["files", "prune", "--older-than", "30"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "Reports/old-link.txt\nArchives/old-link\npruned 2 files (0.0 MiB)\n"
    );
    assert!(fs::symlink_metadata(&old_link).is_err());
    assert!(fs::symlink_metadata(&old_dir_link).is_err());
    assert!(fs::symlink_metadata(&new_link).is_ok());
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    assert_eq!(
        fs::read_to_string(target_dir.join("a.jpg")).unwrap(),
        "jpeg"
    );
}

#[test]
fn a_problem_is_reported_the_rest_goes_on_and_the_exit_code_is_1() {
    let w = Workdir::new();
    let report = put(&w, "Reports/20260101-120000_users_u.txt", b"r", 40);
    // Trybacks/ replaced by a file: it cannot be read (this fails even for root).
    fs::remove_dir(w.join("Trybacks")).unwrap();
    fs::write(w.join("Trybacks"), "not a folder").unwrap();
    let out = w.moosync(&["files", "prune", "--older-than", "30"]);
    out.expect_code(1);
    assert!(!report.exists());
    assert!(
        out.stderr.contains("cannot read Trybacks/"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.ends_with("pruned 1 file (0.0 MiB)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn days_must_be_at_least_one() {
    let w = Workdir::new();
    let old = put(&w, "Reports/r.txt", b"r", 40);
    for bad in ["0", "-1", "soon", ""] {
        let arg = format!("--older-than={bad}");
        let out = w.moosync(&["files", "prune", &arg]);
        out.expect_code(2);
        assert!(out.stderr.contains("DAYS must be"), "{bad}: {}", out.stderr);
    }
    let out = w.moosync(&["files", "prune"]);
    out.expect_code(2);
    assert!(out.stderr.contains("--older-than <DAYS>"), "{}", out.stderr);
    assert!(old.exists());
}
