//! The enrolments tool end to end: enrol, unenrol, shift, role-only rows, group commands, and
//! the users file's course<N> columns.

use crate::workdir::Workdir;

const ENROLS: &str = "enrols.csv";

/// Users u1..u3 and courses C1, C2 (C2 has no self method... all have manual, guest, self).
fn setup() -> Workdir {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;idnumber\nu1;U;One;ID1\nu2;U;Two;ID2\nu3;U;Three;ID3\n",
    );
    w.drop_file(
        "uploadcourses.csv",
        "shortname;fullname;self\nC1;Course one;1\nC2;Course two;0\n",
    );
    w.run().expect_code(0);
    w
}

fn enrols(w: &Workdir, body: &str) -> crate::workdir::Output {
    w.drop_file(ENROLS, body);
    w.run()
}

/// (method, status, timestart, timeend) of u's enrolments in course c.
fn enrolment(w: &Workdir, user: &str, course: &str) -> Vec<(String, i64, i64, i64)> {
    w.db()
        .prepare(
            "SELECT e.enrol, ue.status, ue.timestart, ue.timeend FROM mdl_user_enrolments ue
             JOIN mdl_enrol e ON e.id = ue.enrolid JOIN mdl_course c ON c.id = e.courseid
             JOIN mdl_user u ON u.id = ue.userid WHERE u.username = ?1 AND c.shortname = ?2 ORDER BY e.enrol",
        )
        .unwrap()
        .query_map([user, course], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// (role, component) of u's role assignments in course c.
fn roles(w: &Workdir, user: &str, course: &str) -> Vec<(String, String)> {
    w.db()
        .prepare(
            "SELECT r.shortname, ra.component FROM mdl_role_assignments ra JOIN mdl_role r ON r.id = ra.roleid
             JOIN mdl_context x ON x.id = ra.contextid AND x.contextlevel = 50
             JOIN mdl_course c ON c.id = x.instanceid JOIN mdl_user u ON u.id = ra.userid
             WHERE u.username = ?1 AND c.shortname = ?2 ORDER BY r.shortname, ra.component",
        )
        .unwrap()
        .query_map([user, course], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Group names u is in within course c, with the membership's component.
fn groups_of(w: &Workdir, user: &str, course: &str) -> Vec<(String, String)> {
    w.db()
        .prepare(
            "SELECT g.name, m.component FROM mdl_groups_members m JOIN mdl_groups g ON g.id = m.groupid
             JOIN mdl_course c ON c.id = g.courseid JOIN mdl_user u ON u.id = m.userid
             WHERE u.username = ?1 AND c.shortname = ?2 ORDER BY g.name",
        )
        .unwrap()
        .query_map([user, course], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn add_then_new_dates_then_shift_then_del() {
    let w = setup();
    enrols(
        &w,
        "rolename;cid;uid;cmd;enrol;starttime;endtime\nstudent;C1;u1;add;manual;2026-09-01;2027-06-30\n",
    )
    .expect_code(0);
    assert_eq!(
        enrolment(&w, "u1", "C1"),
        [(s("manual"), 0, 1_788_220_800, 1_814_313_600)]
    );
    // Manual enrolments give plain role assignments, as Moodle's manual plugin does.
    assert_eq!(roles(&w, "u1", "C1"), [(s("student"), s(""))]);
    // Re-enrolling updates the dates and keeps one enrolment.
    enrols(
        &w,
        "rolename;cid;uid;cmd;enrol;starttime;endtime\nstudent;C1;u1;add;manual;1790000000;\n",
    )
    .expect_code(0);
    assert_eq!(
        enrolment(&w, "u1", "C1"),
        [(s("manual"), 0, 1_790_000_000, 1_814_313_600)]
    );
    let report = w.report();
    assert!(
        report.contains("updated enrolment u1 in C1 (manual)") && report.contains(": timestart"),
        "{report}"
    );
    // shift replaces the roles (the cmd in upper case is accepted).
    enrols(
        &w,
        "rolename;cid;uid;cmd;enrol\nteacher;C1;u1;SHIFT;manual\n",
    )
    .expect_code(0);
    assert_eq!(roles(&w, "u1", "C1"), [(s("teacher"), s(""))]);
    // del unenrols and, the last enrolment gone, removes the roles.
    enrols(&w, "rolename;cid;uid;cmd;enrol\n;C1;u1;del;manual\n").expect_code(0);
    assert!(enrolment(&w, "u1", "C1").is_empty());
    assert!(roles(&w, "u1", "C1").is_empty());
    // del again, applied (--full: not skipped as unchanged): nothing to do, a skip.
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;cmd;enrol\n;C1;u1;del;manual\n",
    );
    w.moosync(&["run", "--quiet", "--full"]).expect_code(0);
    assert!(
        w.report()
            .contains("skipped: u1 in C1: not enrolled through manual"),
        "{}",
        w.report()
    );
}

#[test]
fn a_suspended_enrolment_is_reactivated_only_when_the_row_says() {
    let w = setup();
    enrols(
        &w,
        "rolename;cid;uid;enrol;suspended\nstudent;C1;u1;self;1\n",
    )
    .expect_code(0);
    assert_eq!(enrolment(&w, "u1", "C1"), [(s("self"), 1, 0, 0)]);
    enrols(&w, "rolename;cid;uid;enrol\nstudent;C1;u1;self\n").expect_code(0);
    assert_eq!(
        enrolment(&w, "u1", "C1")[0].1,
        1,
        "no suspended column: status kept"
    );
    enrols(
        &w,
        "rolename;cid;uid;enrol;suspended\nstudent;C1;u1;self;0\n",
    )
    .expect_code(0);
    assert_eq!(enrolment(&w, "u1", "C1")[0].1, 0);
}

#[test]
fn methods_the_course_lacks_fail_and_role_only_rows_assign_roles() {
    let w = setup();
    let out = enrols(
        &w,
        "rolename;cid;uid;enrol\nstudent;C2;u1;self\nstudent;C1;u1;flatfile\nstudent;C1;u2;\n",
    );
    out.expect_code(1);
    let report = w.report();
    assert!(
        report.contains(":2: failed MS-V004: the self enrolment method of course"),
        "{report}"
    );
    assert!(
        report.contains(":3: failed MS-T009:")
            && report.contains("has no flatfile enrolment method"),
        "{report}"
    );
    // An empty enrol cell means manual.
    assert_eq!(enrolment(&w, "u2", "C1"), [(s("manual"), 0, 0, 0)]);
    assert!(
        roles(&w, "u1", "C1").is_empty(),
        "no silent fall-back to a bare role assignment"
    );
    // No enrol column: role assignments only, no enrolment.
    enrols(
        &w,
        "rolename;cid;uid;cmd\nteacher;C2;u3;add\nteacher;C2;u3;add\n",
    )
    .expect_code(0);
    assert_eq!(roles(&w, "u3", "C2"), [(s("teacher"), s(""))]);
    assert!(enrolment(&w, "u3", "C2").is_empty());
    assert!(
        w.report()
            .contains(":3: applied: unchanged role_assignment"),
        "{}",
        w.report()
    );
    enrols(&w, "rolename;cid;uid;cmd\nteacher;C2;u3;del\n").expect_code(0);
    assert!(roles(&w, "u3", "C2").is_empty());
}

#[test]
fn bad_rows_fail_alone() {
    let w = setup();
    let out = enrols(
        &w,
        "rolename;cid;uid;cmd;enrol;starttime;endtime;gcmd;g1;g2\n\
         student;C1;nobody;add;manual;;;;;\n\
         student;NOPE;u1;add;manual;;;;;\n\
         wizard;C1;u1;add;manual;;;;;\n\
         guest;C1;u1;add;manual;;;;;\n\
         ;C1;u1;shift;manual;;;;;\n\
         student;C1;u1;add;manual;2027-01-01;2026-01-01;;;\n\
         student;C1;u1;add;manual;;;gadd;A;A\n\
         student;C1;u1;Add;manual;;;;;\n",
    );
    out.expect_code(1);
    let report = w.report();
    for want in [
        ":2: failed MS-T009: no account has username 'nobody'",
        ":3: failed MS-T009: no course has shortname 'NOPE'",
        ":4: failed MS-T013: no role has shortname 'wizard'",
        ":5: failed MS-T013: role 'guest' cannot be given in a course",
        ":6: failed MS-V003: shift needs a role",
        ":7: failed MS-V004: the end",
        ":8: failed MS-V004: group 'A' is named twice",
        ":9: applied: created enrolment u1 in C1 (manual)",
    ] {
        assert!(report.contains(want), "missing {want:?} in\n{report}");
    }
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert_eq!(tryback.lines().count(), 1 + 7, "{tryback}");
    // Replaying the tryback once the user exists applies that row.
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nnobody;No;Body\n",
    );
    w.run().expect_code(0);
    w.drop_file("enrols_tryback.csv", &tryback);
    w.run().expect_code(1);
    assert_eq!(enrolment(&w, "nobody", "C1"), [(s("manual"), 0, 0, 0)]);
}

#[test]
fn group_commands() {
    let w = setup();
    // gadd on a missing group fails the whole row: the enrolment is not kept either.
    let out = enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;gadd;Red\n",
    );
    out.expect_code(1);
    assert!(
        w.report()
            .contains("has no group 'Red'; check the name, or create it first"),
        "{}",
        w.report()
    );
    assert!(roles(&w, "u1", "C1").is_empty());
    assert!(enrolment(&w, "u1", "C1").is_empty());
    // gaddcreate creates the groups.
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1;g2\nstudent;C1;u1;manual;gaddcreate;Red;Blue\n",
    )
    .expect_code(0);
    assert_eq!(
        groups_of(&w, "u1", "C1"),
        [
            (s("Blue"), s("local_moosync")),
            (s("Red"), s("local_moosync"))
        ]
    );
    // A membership made by hand in Moodle.
    w.db()
        .execute(
            "INSERT INTO mdl_groups (courseid, name) SELECT id, 'Hand' FROM mdl_course WHERE shortname = 'C1'",
            [],
        )
        .unwrap();
    w.db()
        .execute(
            "INSERT INTO mdl_groups_members (groupid, userid, component) SELECT g.id, u.id, '' FROM mdl_groups g, mdl_user u WHERE g.name = 'Hand' AND u.username = 'u1'",
            [],
        )
        .unwrap();
    // greplace leaves moosync's other groups but spares the hand-made membership.
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;greplace;Blue\n",
    )
    .expect_code(0);
    assert_eq!(
        groups_of(&w, "u1", "C1"),
        [(s("Blue"), s("local_moosync")), (s("Hand"), s(""))]
    );
    // greplacecreate creates and moves.
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;greplacecreate;Green\n",
    )
    .expect_code(0);
    assert_eq!(
        groups_of(&w, "u1", "C1"),
        [(s("Green"), s("local_moosync")), (s("Hand"), s(""))]
    );
    // gdel takes the user out of the named group, whoever made the membership.
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1;g2\nstudent;C1;u1;manual;gdel;Hand;Green\n",
    )
    .expect_code(0);
    assert!(groups_of(&w, "u1", "C1").is_empty());
    // Unenrolled from the course, a user leaves its groups (Moodle's unenrol_user).
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u2;manual;gadd;Red\n",
    )
    .expect_code(0);
    assert_eq!(groups_of(&w, "u2", "C1"), [(s("Red"), s("local_moosync"))]);
    enrols(&w, "rolename;cid;uid;cmd;enrol\n;C1;u2;del;manual\n").expect_code(0);
    assert!(groups_of(&w, "u2", "C1").is_empty());
}

#[test]
fn users_file_course_columns_enrol_for_every_n() {
    let w = setup();
    let out = {
        w.drop_file(
            "userimport.csv",
            "username;firstname;lastname;course1;role1;enrol1;start1;group1;course2;role2;course3\n\
             n1;New;One;C1;student;;2026-09-01;Team;C2;teacher;\n\
             n2;New;Two;NOPE;;;;;;;\n",
        );
        w.run()
    };
    out.expect_code(1);
    assert_eq!(
        enrolment(&w, "n1", "C1"),
        [(s("manual"), 0, 1_788_220_800, 0)]
    );
    assert_eq!(roles(&w, "n1", "C2"), [(s("teacher"), s(""))]);
    assert_eq!(groups_of(&w, "n1", "C1"), [(s("Team"), s("local_moosync"))]);
    // A row whose course does not exist fails whole: the account is not created either, and
    // the tryback replays both.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_user WHERE username = 'n2'"),
        0
    );
    assert!(
        w.report()
            .contains(":3: failed MS-T009: no course has shortname 'NOPE'"),
        "{}",
        w.report()
    );
}

#[test]
fn meta_courses_follow_enrolments_in_their_master() {
    let w = setup();
    w.drop_file("metacourses.csv", "master;meta\nC1;C2\n");
    w.run().expect_code(0);
    enrols(&w, "rolename;cid;uid;enrol\nstudent;C1;u1;manual\n").expect_code(0);
    assert_eq!(enrolment(&w, "u1", "C2"), [(s("meta"), 0, 0, 0)]);
    assert_eq!(roles(&w, "u1", "C2"), [(s("student"), s("enrol_meta"))]);
    enrols(&w, "rolename;cid;uid;cmd;enrol\n;C1;u1;del;manual\n").expect_code(0);
    assert_eq!(enrolment(&w, "u1", "C2"), [(s("meta"), 1, 0, 0)]);
    assert!(roles(&w, "u1", "C2").is_empty());
}

#[test]
fn add_adds_a_role_and_role_only_rows_take_no_dates() {
    let w = setup();
    enrols(
        &w,
        "rolename;cid;uid;enrol\nteacher;C1;u1;manual\nstudent;C1;u1;manual\n",
    )
    .expect_code(0);
    // add gives the role and keeps the others, as Moodle's enrol_user does; shift replaces.
    assert_eq!(
        roles(&w, "u1", "C1"),
        [(s("student"), s("")), (s("teacher"), s(""))]
    );
    let out = enrols(
        &w,
        "rolename;cid;uid;starttime;suspended\nstudent;C1;u2;2026-09-01;\nstudent;C1;U2;;\n",
    );
    out.expect_code(1);
    let report = w.report();
    assert!(
        report.contains(":2: failed MS-V004: dates and suspension belong to an enrolment"),
        "{report}"
    );
    assert!(
        report.contains(
            ":3: failed MS-T009: no account has username 'U2' (Moodle usernames are lower-case)"
        ),
        "{report}"
    );
    // gdel for a group the user is not in: the row applies and says so.
    w.drop_file("groups.csv", "courseid;name\nC1;Empty\n");
    w.run().expect_code(0);
    enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;gdel;Empty\n",
    )
    .expect_code(0);
    assert!(
        w.report()
            .contains("note: u1 is in none of those groups of C1"),
        "{}",
        w.report()
    );
    // gdel naming a group the course does not have fails too: a group problem is a row problem.
    let out = enrols(
        &w,
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;gdel;Nowhere\n",
    );
    out.expect_code(1);
    assert!(
        w.report().contains("has no group 'Nowhere'"),
        "{}",
        w.report()
    );
}
