//! The data folder holds passwords and personal data: whatever the umask, what moosync makes
//! or takes in there is its owner's only (folders 0700, files 0600), and `init` tightens a
//! folder that is not.

use crate::pictures::{png, zip_of};
use crate::workdir::Workdir;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// Every folder and file under `root` with a mode other than 0700 / 0600.
fn wider(root: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        let want = if e.file_type().is_dir() { 0o700 } else { 0o600 };
        let got = mode(e.path());
        if got != want {
            bad.push(format!("{:04o} {}", got, e.path().display()));
        }
    }
    bad
}

#[test]
fn everything_a_run_leaves_is_its_owners_only_whatever_the_umask() {
    let w = Workdir::with_umask(0o000);
    let drop = tempfile::tempdir().unwrap();
    w.settings(&format!(
        "[feed]\ndrop_folder = \"{}\"\n",
        drop.path().display()
    ));
    // An SIS's file, world-readable, with passwords; one bad row for a tryback.
    let users = "username;firstname;lastname;password\nann;Ann;A;Ann-Secret-1\nbob;Bob;B;Bob-Secret-2\nBad Name;X;Y;Bad-Secret-3\n";
    fs::write(drop.path().join("userimport.csv"), users).unwrap();
    set_mode(&drop.path().join("userimport.csv"), 0o644);
    // Files an operator copied in by hand: a zip, a folder of pictures, a file refused whole.
    w.drop_file(
        "userpictures_1.zip",
        zip_of(&[("ann.png", &png([1, 2, 3]))]),
    );
    set_mode(&w.join("inbox/userpictures_1.zip"), 0o666);
    let folder = w.join("inbox/userpictures_2");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("bob.png"), png([4, 5, 6])).unwrap();
    set_mode(&folder, 0o777);
    set_mode(&folder.join("bob.png"), 0o666);
    w.drop_file("enrols.csv", "");
    set_mode(&w.join("inbox/enrols.csv"), 0o666);

    w.moosync(&["run", "--quiet"]).expect_code(2);

    // What the run was given all went somewhere: archived, a tryback, rejected, pictures.
    assert_eq!(w.files("Archives").len(), 2, "the csv and the zip");
    assert!(w.join("Archives").read_dir().unwrap().count() >= 3);
    assert_eq!(w.files("Trybacks").len(), 1);
    assert_eq!(w.files("Rejected").len(), 1);
    assert!(w.join("filedir").is_dir());
    assert!(w.files("inbox").is_empty());
    for db in ["moodle.db", "state.db", ".moosync.lock"] {
        assert!(w.join(db).is_file(), "{db}");
    }
    let bad = wider(w.root());
    assert!(
        bad.is_empty(),
        "wider than the owner's:\n{}",
        bad.join("\n")
    );
}

#[test]
fn init_tightens_a_data_folder_others_can_read_and_says_so() {
    let w = Workdir::new();
    w.drop_file("userimport.csv", "username;firstname;lastname\nann;Ann;A\n");
    w.run().expect_code(0);
    // As an older moosync, or a careless chmod, left it.
    let archived = &w.files("Archives")[0];
    for (p, m) in [
        (w.root(), 0o755),
        (&w.join("Archives"), 0o755),
        (archived.as_path(), 0o644),
        (&w.join("moodle.db"), 0o644),
        (&w.join("state.db"), 0o664),
    ] {
        set_mode(p, m);
    }
    // Not moosync's: left as it is.
    let other = w.join("other");
    fs::create_dir(&other).unwrap();
    set_mode(&other, 0o755);

    let out = w.moosync(&["init"]);
    out.expect_code(0);
    let root = w.root();
    for line in [
        format!("tightened {} from 0755 to 0700", root.display()),
        format!("tightened {}/Archives from 0755 to 0700", root.display()),
        format!("tightened 3 files in {}", root.display()),
    ] {
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
    assert_eq!(mode(w.root()), 0o700);
    assert_eq!(mode(&w.join("Archives")), 0o700);
    assert_eq!(mode(archived), 0o600);
    assert_eq!(mode(&w.join("moodle.db")), 0o600);
    assert_eq!(mode(&w.join("state.db")), 0o600);
    assert_eq!(mode(&other), 0o755);

    // Nothing left to tighten: init says nothing of it.
    let again = w.moosync(&["init"]);
    assert!(!again.stdout.contains("tightened"), "{}", again.stdout);
}
