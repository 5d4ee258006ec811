//! The Moodle REST target end to end: the real moosync binary against a local server that
//! answers as the recorded Moodle 4.4 site did (tests/support/fake_moodle).

use crate::fake_moodle::FakeMoodle;
use crate::workdir::{Output, Workdir};

const TOKEN_VAR: &str = "MOOSYNC_TEST_TOKEN";

/// A data folder sending to `site`, its token in the environment.
fn to_moodle(site: &FakeMoodle, extra: &str) -> Workdir {
    let w = Workdir::new();
    w.settings(&format!(
        "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_env = \"{TOKEN_VAR}\"\nretries = 2\n{extra}",
        site.url()
    ));
    w
}

fn run(w: &Workdir) -> Output {
    w.moosync_env(&["run", "--quiet"], &[(TOKEN_VAR, FakeMoodle::TOKEN)])
}

/// A site with two accounts and the courses given (shortname, has a manual instance).
fn site_with_courses(courses: &[(&str, bool)]) -> FakeMoodle {
    let site = FakeMoodle::start();
    for u in ["ann", "bob"] {
        site.add_user(serde_json::json!({
            "username": u, "firstname": u, "lastname": "L", "email": format!("{u}@example.edu")
        }));
    }
    for (c, manual) in courses {
        site.add_course(c, "", *manual);
    }
    site
}

#[test]
fn cohorts_and_their_members_and_an_unchanged_rerun_only_reads() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "");
    let file = "cmd;cname;cidnumber;userid\nadd;Year 1;Y1;ann\nadd;Year 1;Y1;bob\nadd;Year 2;Y2;\n";
    w.drop_file("cohorts.csv", file);
    run(&w).expect_code(0);
    let y1 = site.cohort("Y1").expect("created");
    assert_eq!(y1["name"], "Year 1");
    assert_eq!(y1["members"], serde_json::json!(["ann", "bob"]));
    assert!(site.cohort("Y2").is_some());
    site.clear_calls();
    w.drop_file("cohorts.csv", file);
    run(&w).expect_code(0);
    assert_eq!(site.write_calls(), 0, "{:?}", site.calls());
    // A member leaves; an unknown user fails the row and the cohort stays; free empties.
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;userid\ndel;Y1;ann\ndel;Y1;nobody\n",
    );
    run(&w).expect_code(1);
    assert_eq!(
        site.cohort("Y1").unwrap()["members"],
        serde_json::json!(["bob"])
    );
    assert!(w.report().contains(":3: failed MS-T009"), "{}", w.report());
    w.drop_file("cohorts.csv", "cmd;cidnumber\nfree;Y1\ndel;Y2\n");
    run(&w).expect_code(0);
    assert_eq!(site.cohort("Y1").unwrap()["members"], serde_json::json!([]));
    assert!(site.cohort("Y2").is_none());
}

#[test]
fn cohort_rows_moodle_cannot_take() {
    let site = site_with_courses(&[("C1", true)]);
    let w = to_moodle(&site, "[cohorts]\nidentifier = \"name\"\n");
    // Moodle's create_cohorts takes an empty idnumber once only.
    w.drop_file("cohorts.csv", "cname;cidnumber\nNo Number;\n");
    run(&w).expect_code(1);
    assert!(w.report().contains("MS-V003"), "{}", w.report());
    // No web service binds a cohort to a course.
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\n");
    run(&w).expect_code(1);
    assert!(w.report().contains("MS-R006"), "{}", w.report());
    assert!(w.report().contains("no web service"), "{}", w.report());
}
