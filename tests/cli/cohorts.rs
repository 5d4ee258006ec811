//! Cohorts, their members and their bindings to courses, end to end.

use crate::workdir::Workdir;

/// Users u1…u4, course C1 (and C2), run.
fn setup() -> Workdir {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nu1;U;One\nu2;U;Two\nu3;U;Three\nu4;U;Four\n",
    );
    w.drop_file("uploadcourses.csv", "shortname;fullname\nC1;One\nC2;Two\n");
    w.run().expect_code(0);
    w
}

fn members(w: &Workdir, idnumber: &str) -> Vec<String> {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT u.username FROM mdl_cohort_members m JOIN mdl_cohort c ON c.id = m.cohortid
             JOIN mdl_user u ON u.id = m.userid WHERE c.idnumber = ?1 ORDER BY u.username",
        )
        .unwrap();
    stmt.query_map([idnumber], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn cohort_count(w: &Workdir, idnumber: &str) -> i64 {
    w.count(&format!(
        "SELECT COUNT(*) FROM mdl_cohort WHERE idnumber = '{idnumber}'"
    ))
}

/// Users enrolled in the course through its cohort instances (active enrolments).
fn cohort_enrolled(w: &Workdir, course: &str) -> Vec<String> {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT u.username FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid
             JOIN mdl_course c ON c.id = e.courseid JOIN mdl_user u ON u.id = ue.userid
             WHERE c.shortname = ?1 AND e.enrol = 'cohort' AND e.status = 0 AND ue.status = 0
             ORDER BY u.username",
        )
        .unwrap();
    stmt.query_map([course], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn student_roles(w: &Workdir, course: &str, user: &str) -> i64 {
    w.count(&format!(
        "SELECT COUNT(*) FROM mdl_role_assignments ra JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50
         JOIN mdl_course c ON c.id = x.instanceid JOIN mdl_user u ON u.id = ra.userid
         WHERE c.shortname = '{course}' AND u.username = '{user}' AND ra.component = 'enrol_cohort'"
    ))
}

#[test]
fn add_creates_updates_and_fills_a_cohort() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;cname;cdescription;userid\n\
         add;Y1;Year 1;First year;u1\n\
         ;Y1;;;u2\n\
         ADD;Y1;Year One;;\n\
         add;Y2;;;u1\n\
         add;Y1;;;nobody\n",
    );
    w.run().expect_code(1);
    assert_eq!(members(&w, "Y1"), ["u1", "u2"]);
    let (name, description): (String, String) = w
        .db()
        .query_row(
            "SELECT name, description FROM mdl_cohort WHERE idnumber = 'Y1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(name, "Year One", "cname updates an existing cohort");
    assert_eq!(description, "First year");
    assert_eq!(cohort_count(&w, "Y2"), 0, "a new cohort needs a name");
    let report = w.report();
    assert!(
        report.contains(
            ":5: failed MS-V003: cohort 'Y2' does not exist and a new cohort needs a name (cname)"
        ),
        "{report}"
    );
    assert!(
        report.contains(":4: applied: updated cohort Year 1 (Y1) (id 1): name"),
        "{report}"
    );
    assert!(
        report.contains(":6: failed MS-T009: no account has username 'nobody'"),
        "{report}"
    );
    // Failed rows go to the tryback (tool_sync never wrote one for cohorts).
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert_eq!(
        tryback,
        "cmd;cidnumber;cname;cdescription;userid\nadd;Y2;;;u1\nadd;Y1;;;nobody\n"
    );
}

#[test]
fn del_with_an_unknown_user_fails_and_the_cohort_survives() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;cname;userid\nadd;Y1;Year 1;u1\nadd;Y1;Year 1;u2\n",
    );
    w.run().expect_code(0);
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;cname;userid\ndel;Y1;;ghost\ndel;Y1;;u2\ndel;Y1;;u3\ndel;Y1;;\n",
    );
    w.run().expect_code(1);
    assert!(
        w.report().contains(":5: failed MS-S002: cohorts.rhai:")
            && w.report().contains("del with an empty userid"),
        "an empty userid cell never deletes the whole cohort:\n{}",
        w.report()
    );
    assert_eq!(
        cohort_count(&w, "Y1"),
        1,
        "tool_sync deleted the whole cohort here"
    );
    assert_eq!(members(&w, "Y1"), ["u1"]);
    let report = w.report();
    assert!(report.contains(":2: failed MS-T009"), "{report}");
    assert!(
        report.contains(":4: skipped: u3 is not a member"),
        "{report}"
    );
}

#[test]
fn free_empties_and_del_deletes_with_bound_enrolments() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;cname;userid\nadd;Y1;Year 1;u1\nadd;Y1;Year 1;u2\nadd;Y2;Year 2;u3\n",
    );
    w.drop_file("cohortscourses.csv", "cohort;course\nY2;C1\n");
    w.run().expect_code(0);
    assert_eq!(cohort_enrolled(&w, "C1"), ["u3"]);

    w.drop_file("cohorts.csv", "cmd;cidnumber\nfree;Y1\nfree;Y9\ndel;Y2\n");
    w.run().expect_code(1);
    assert_eq!(cohort_count(&w, "Y1"), 1);
    assert!(members(&w, "Y1").is_empty());
    assert_eq!(cohort_count(&w, "Y2"), 0);
    // Deleting a cohort deletes its enrol instances with their enrolments and roles.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol WHERE enrol = 'cohort'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_user u ON u.id = ue.userid WHERE u.username = 'u3'"),
        0
    );
    assert_eq!(student_roles(&w, "C1", "u3"), 0);
    assert!(w
        .report()
        .contains(":3: failed MS-T009: no cohort has idnumber 'Y9'"));
}

#[test]
fn autocreate_off_and_taken_idnumbers_fail_the_row() {
    let w = setup();
    w.settings("[cohorts]\nidentifier = \"name\"\nautocreate = false\n");
    w.drop_file("cohorts.csv", "cname;userid\nYear 1;u1\n");
    w.run().expect_code(1);
    assert!(w.report().contains("autocreate is off"), "{}", w.report());

    w.settings("[cohorts]\nidentifier = \"name\"\n");
    w.drop_file(
        "cohorts.csv",
        "cname;cidnumber;userid\nYear 1;Y1;u1\nYear 2;Y1;u2\nYear 1;;u2\n",
    );
    w.run().expect_code(1);
    assert_eq!(members(&w, "Y1"), ["u1", "u2"], "cname is the key here");
    assert!(w.report().contains(":3: failed MS-T016"), "{}", w.report());
}

#[test]
fn category_context_and_unknown_category() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cidnumber;cname;ccatcontext\nY1;Year 1;1\nY2;Year 2;999\n",
    );
    w.run().expect_code(1);
    let level = w.count(
        "SELECT x.contextlevel FROM mdl_cohort c JOIN mdl_context x ON x.id = c.contextid WHERE c.idnumber = 'Y1'",
    );
    assert_eq!(level, 40, "held by category 1's context");
    assert_eq!(
        cohort_count(&w, "Y2"),
        0,
        "never silently put in the system context"
    );
    assert!(w.report().contains(":3: failed MS-T012"), "{}", w.report());
}

#[test]
fn the_users_file_cohort_column_adds_members() {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;cohort;cohortid\n\
         u1;U;One;Year 1;Y1\n\
         u2;U;Two;Year 1;\n\
         u3;U;Three;;\n\
         u4;U;Four;;Y1\n\
         u5;U;Five;;NOPE\n",
    );
    w.run().expect_code(0);
    assert_eq!(members(&w, "Y1"), ["u1", "u2", "u4"]);
    // A cohort named by idnumber alone is created with that idnumber as its name.
    assert_eq!(members(&w, "NOPE"), ["u5"]);
    let name: String = w
        .db()
        .query_row(
            "SELECT name FROM mdl_cohort WHERE idnumber = 'NOPE'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "NOPE");
}

#[test]
fn a_binding_follows_members_who_join_and_leave_afterwards() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cidnumber;cname;userid\nY1;Year 1;u1\nY1;Year 1;u2\n",
    );
    w.drop_file(
        "cohortscourses.csv",
        "cohort;course;role;makegroup;enrolend\n\
         Y1;C1;;yes;\n\
         Y1;NOPE;;;\n\
         Y9;C1;;;\n\
         Y1;C1;coursecreator;;\n\
         Y1;C2;teacher;;2030-01-01\n",
    );
    w.run().expect_code(1);
    assert_eq!(cohort_enrolled(&w, "C1"), ["u1", "u2"]);
    assert_eq!(student_roles(&w, "C1", "u1"), 1);
    let report = w.report();
    assert!(report.contains(":3: failed MS-T009"), "{report}");
    assert!(report.contains(":4: failed MS-T009"), "{report}");
    assert!(report.contains(":5: failed MS-T013"), "{report}");
    // The cohort's group, named after it, holds its members.
    let in_group = w.count(
        "SELECT COUNT(*) FROM mdl_groups_members gm JOIN mdl_groups g ON g.id = gm.groupid
         WHERE g.name = 'Year 1 cohort' AND gm.component = 'enrol_cohort'",
    );
    assert_eq!(in_group, 2);
    let end = w.count(
        "SELECT MAX(ue.timeend) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid
         JOIN mdl_course c ON c.id = e.courseid WHERE c.shortname = 'C2'",
    );
    assert_eq!(end, 1893456000, "enrolend dates the members' enrolments");

    // u3 joins, u1 leaves: the course follows.
    w.drop_file(
        "cohorts.csv",
        "cmd;cidnumber;userid\nadd;Y1;u3\ndel;Y1;u1\n",
    );
    w.run().expect_code(0);
    assert_eq!(cohort_enrolled(&w, "C1"), ["u2", "u3"]);
    assert_eq!(student_roles(&w, "C1", "u1"), 0);
    assert_eq!(student_roles(&w, "C1", "u3"), 1);
    let u1_in_group = w.count(
        "SELECT COUNT(*) FROM mdl_groups_members gm JOIN mdl_user u ON u.id = gm.userid WHERE u.username = 'u1'",
    );
    assert_eq!(u1_in_group, 0, "leaving the cohort leaves its group");

    // del disables; a member joining meanwhile is enrolled on restore.
    w.drop_file("cohortscourses.csv", "cohort;course;cmd\nY1;C1;del\n");
    w.run().expect_code(0);
    assert!(cohort_enrolled(&w, "C1").is_empty());
    // Disabled: the enrolments stay (inactive), the roles the instance gave go.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.enrol = 'cohort' AND e.courseid = (SELECT id FROM mdl_course WHERE shortname = 'C1')"),
        2
    );
    assert_eq!(student_roles(&w, "C1", "u2"), 0);
    w.drop_file("cohorts.csv", "cidnumber;userid\nY1;u4\n");
    w.run().expect_code(0);
    w.drop_file(
        "cohortscourses.csv",
        "cohort;course;cmd;role\nY1;C1;restore;*\n",
    );
    w.run().expect_code(0);
    assert_eq!(cohort_enrolled(&w, "C1"), ["u2", "u3", "u4"]);

    // fulldel deletes the instance with its enrolments, roles and group memberships.
    w.drop_file("cohortscourses.csv", "cohort;course;cmd\nY1;C1;fulldel\n");
    w.run().expect_code(0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol e JOIN mdl_course c ON c.id = e.courseid WHERE c.shortname = 'C1' AND e.enrol = 'cohort'"),
        0
    );
    assert_eq!(student_roles(&w, "C1", "u2"), 0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups_members WHERE component = 'enrol_cohort' AND groupid IN (SELECT id FROM mdl_groups WHERE name = 'Year 1 cohort')"),
        0
    );
}

#[test]
fn a_binding_re_added_unchanged_writes_nothing() {
    let w = setup();
    w.drop_file("cohorts.csv", "cidnumber;cname;userid\nY1;Year 1;u1\n");
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\n");
    w.run().expect_code(0);
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\n");
    // Applied (--full), not skipped as unchanged: the plan finds nothing to write.
    w.moosync(&["run", "--quiet", "--full"]).expect_code(0);
    assert!(w.report().contains("unchanged enrol"), "{}", w.report());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol WHERE enrol = 'cohort'"),
        1
    );
}

/// Participants of the meta course C2 (linked from C1) that hold a role there.
fn meta_participants(w: &Workdir) -> Vec<String> {
    let db = w.db();
    let mut stmt = db
        .prepare(
            "SELECT DISTINCT u.username FROM mdl_role_assignments ra
             JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50
             JOIN mdl_course c ON c.id = x.instanceid JOIN mdl_user u ON u.id = ra.userid
             WHERE c.shortname = 'C2' AND ra.component = 'enrol_meta' ORDER BY u.username",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_meta_course_follows_a_cohort_binding_of_its_master() {
    let w = setup();
    w.drop_file("metacourses.csv", "master;meta\nC1;C2\n");
    w.drop_file("cohorts.csv", "cidnumber;cname;userid\nY1;Year 1;u1\n");
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\n");
    w.run().expect_code(0);
    assert_eq!(meta_participants(&w), ["u1"]);

    w.drop_file("cohorts.csv", "cidnumber;userid\nY1;u2\n");
    w.run().expect_code(0);
    assert_eq!(
        meta_participants(&w),
        ["u1", "u2"],
        "a new member reaches the meta course"
    );

    w.drop_file("cohortscourses.csv", "cohort;course;cmd\nY1;C1;del\n");
    w.run().expect_code(0);
    assert!(
        meta_participants(&w).is_empty(),
        "a disabled binding leaves the meta course too"
    );

    w.drop_file("cohortscourses.csv", "cohort;course;cmd\nY1;C1;restore\n");
    w.run().expect_code(0);
    assert_eq!(meta_participants(&w), ["u1", "u2"]);
}

#[test]
fn two_cohorts_in_one_course_and_a_course_delete() {
    let w = setup();
    w.drop_file(
        "cohorts.csv",
        "cidnumber;cname;userid\nY1;Year 1;u1\nY2;Year 2;u1\n",
    );
    w.drop_file("cohortscourses.csv", "cohort;course\nY1;C1\nY2;C1\n");
    w.run().expect_code(0);
    assert_eq!(student_roles(&w, "C1", "u1"), 2);
    // Leaving one cohort keeps the enrolment and role the other gives.
    w.drop_file("cohorts.csv", "cmd;cidnumber;userid\ndel;Y1;u1\n");
    w.run().expect_code(0);
    assert_eq!(cohort_enrolled(&w, "C1"), ["u1"]);
    assert_eq!(student_roles(&w, "C1", "u1"), 1);
    // Deleting the course deletes its cohort instances; the cohorts stay.
    w.drop_file("deletecourses.csv", "C1\n");
    w.run().expect_code(0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol WHERE enrol = 'cohort'"),
        0
    );
    assert_eq!(members(&w, "Y2"), ["u1"]);
}
