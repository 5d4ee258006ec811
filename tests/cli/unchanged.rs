//! Skipping what did not change (`[run] skip_unchanged`, on by default): a row exactly as
//! when its preset last applied it, under the same scripts, presets, settings and site, is
//! counted "unchanged (skipped)" and neither mapped nor sent; `run --full` applies it anyway.

use crate::workdir::Workdir;

const USERS: &str = "username;firstname;lastname;email;password\n\
    ann;Ann;A;ann@example.edu;Secret-1a\n\
    bob;Bob;B;bob@example.edu;Secret-2b\n\
    cy;Cy;C;cy@example.edu;Secret-3c\n";

fn summary(w: &Workdir) -> String {
    w.report()
        .lines()
        .find(|l| l.contains("summary:"))
        .expect("a summary line")
        .trim()
        .to_string()
}

/// Changes an account behind moosync's back, as a person would in Moodle.
fn by_hand(w: &Workdir, username: &str, firstname: &str) {
    w.db()
        .execute(
            "UPDATE mdl_user SET firstname = ?2 WHERE username = ?1",
            [username, firstname],
        )
        .unwrap();
}

fn with_users() -> Workdir {
    let w = Workdir::new();
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    w
}

#[test]
fn an_unchanged_file_is_counted_without_touching_the_store_and_full_applies_it() {
    let w = with_users();
    let hash = w.user_field("ann", "password");
    // Changed by hand: a skipped row does not see it, which proves the store was not read
    // nor written for it.
    by_hand(&w, "ann", "Hand");
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert_eq!(
        summary(&w),
        "summary: 3 rows: 0 applied (0 created, 0 updated, 0 unchanged, 0 renamed, 0 deleted), 3 unchanged (skipped), 0 skipped, 0 failed"
    );
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Hand"));
    assert_eq!(
        w.user_field("ann", "password"),
        hash,
        "no password hashed again"
    );
    // A few lines of counts: no line per row, in the text or the JSON Lines twin.
    assert!(!w.report().contains("userimport.csv:2:"), "{}", w.report());
    assert!(
        w.report_jsonl().iter().all(|l| l.get("line").is_none()),
        "{:?}",
        w.report_jsonl()
    );
    // --full applies every row: the hand-made change is undone.
    w.drop_file("userimport.csv", USERS);
    w.moosync(&["run", "--quiet", "--full"]).expect_code(0);
    assert!(summary(&w).contains("3 rows: 3 applied"), "{}", summary(&w));
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Ann"));
    // And remembers them: the next plain run skips again.
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(
        summary(&w).contains("3 unchanged (skipped)"),
        "{}",
        summary(&w)
    );
}

#[test]
fn only_the_changed_row_is_applied_and_a_row_changed_back_is_applied_again() {
    let w = with_users();
    let changed = USERS.replace("Bob;B", "Robert;B");
    w.drop_file("userimport.csv", &changed);
    w.run().expect_code(0);
    assert!(
        summary(&w).contains("3 rows: 1 applied (0 created, 1 updated")
            && summary(&w).contains("2 unchanged (skipped)"),
        "{}",
        summary(&w)
    );
    assert_eq!(w.user_field("bob", "firstname").as_deref(), Some("Robert"));
    // Back to Bob: the preset's last file had Robert, so Bob's row is applied again.
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(summary(&w).contains("1 applied"), "{}", summary(&w));
    assert_eq!(w.user_field("bob", "firstname").as_deref(), Some("Bob"));
}

#[test]
fn a_script_edit_or_a_setting_change_applies_every_row_again() {
    let w = with_users();
    let script = w.join("scripts").join("users.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, format!("{text}\n// reviewed\n")).unwrap();
    by_hand(&w, "ann", "Hand");
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(summary(&w).contains("3 rows: 3 applied"), "{}", summary(&w));
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Ann"));

    by_hand(&w, "ann", "Hand");
    let settings = w.join("moosync.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("allow_delete = true"), "{text}");
    std::fs::write(
        &settings,
        text.replace("allow_delete = true", "allow_delete = false"),
    )
    .unwrap();
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(summary(&w).contains("3 rows: 3 applied"), "{}", summary(&w));
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Ann"));
}

#[test]
fn failed_rows_run_again_and_a_new_store_is_a_new_site() {
    let w = Workdir::new();
    let rows = format!("{USERS}bad name;Dee;D;dee@example.edu;Secret-4d\n");
    w.drop_file("userimport.csv", &rows);
    w.run().expect_code(1);
    w.drop_file("userimport.csv", &rows);
    w.run().expect_code(1);
    assert!(
        summary(&w).contains("3 unchanged (skipped), 0 skipped, 1 failed"),
        "{}",
        summary(&w)
    );
    // The store made again at the same place is another site: nothing is skipped for it.
    std::fs::remove_file(w.join("moodle.db")).unwrap();
    for extra in ["moodle.db-wal", "moodle.db-shm"] {
        let _ = std::fs::remove_file(w.join(extra));
    }
    w.drop_file("userimport.csv", &rows);
    w.run().expect_code(1);
    assert!(
        summary(&w).contains("3 applied (3 created"),
        "{}",
        summary(&w)
    );
}

#[test]
fn skipping_turned_off_applies_every_row_and_a_dry_run_counts_what_it_would_skip() {
    let w = with_users();
    w.drop_file("userimport.csv", USERS);
    w.moosync(&["run", "--quiet", "--dry-run"]).expect_code(0);
    assert!(
        summary(&w).contains("3 unchanged (skipped)"),
        "{}",
        summary(&w)
    );
    w.settings("[run]\nskip_unchanged = false\n");
    by_hand(&w, "ann", "Hand");
    w.run().expect_code(0);
    assert!(summary(&w).contains("3 rows: 3 applied"), "{}", summary(&w));
    assert_eq!(w.user_field("ann", "firstname").as_deref(), Some("Ann"));
    // Rows applied while skipping was off are not remembered from before: turned on again,
    // the first file applies every row.
    w.settings("");
    by_hand(&w, "ann", "Hand");
    w.drop_file("userimport.csv", USERS);
    w.run().expect_code(0);
    assert!(summary(&w).contains("3 rows: 3 applied"), "{}", summary(&w));
}

#[test]
fn a_data_folder_moved_elsewhere_still_skips_what_it_applied() {
    let w = with_users();
    let moved = Workdir::new();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", w.root().display()))
        .arg(moved.root())
        .status()
        .unwrap();
    assert!(copied.success());
    moved.drop_file("userimport.csv", USERS);
    moved.run().expect_code(0);
    assert!(
        summary(&moved).contains("3 unchanged (skipped)"),
        "{}",
        summary(&moved)
    );
}
