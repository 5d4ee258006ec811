//! The groups tool end to end: group and grouping definitions, then group members.

use crate::workdir::Workdir;

/// Courses C1 and C2, users u1 (student in C1) and u2 (in no course).
fn setup() -> Workdir {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nu1;U;One\nu2;U;Two\n",
    );
    w.drop_file("uploadcourses.csv", "shortname;fullname\nC1;One\nC2;Two\n");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;u1;manual\n",
    );
    w.run().expect_code(0);
    w
}

fn group_field(w: &Workdir, course: &str, name: &str, column: &str) -> Option<String> {
    use rusqlite::OptionalExtension;
    w.db()
        .query_row(
            &format!("SELECT CAST(g.{column} AS TEXT) FROM mdl_groups g JOIN mdl_course c ON c.id = g.courseid WHERE c.shortname = ?1 AND g.name = ?2"),
            [course, name],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
}

fn in_grouping(w: &Workdir, group: &str, grouping: &str) -> bool {
    w.count(&format!(
        "SELECT COUNT(*) FROM mdl_groupings_groups gg JOIN mdl_groups g ON g.id = gg.groupid
         JOIN mdl_groupings p ON p.id = gg.groupingid WHERE g.name = '{group}' AND p.name = '{grouping}'"
    )) == 1
}

#[test]
fn definitions_selfgrouping_binding_and_updates() {
    let w = setup();
    w.drop_file(
        "groups.csv",
        "courseid;name;type;idnumber;description;updateid;selfgrouping;grouping\n\
         C1;Grouping 1;grouping;GR1;;;;\n\
         C1;Group A;;GA;First;;1;\n\
         C1;Group B;;GB;;;;Grouping 1\n\
         C1;Group C;;;;;;Missing grouping\n\
         C2;Group A;;GA2;;;;\n",
    );
    let out = w.run();
    out.expect_code(1);
    assert_eq!(
        group_field(&w, "C1", "Group A", "idnumber").as_deref(),
        Some("GA")
    );
    // selfgrouping makes a grouping named after the group and puts the group in it.
    assert!(in_grouping(&w, "Group A", "Group A"));
    assert!(in_grouping(&w, "Group B", "Grouping 1"));
    assert!(
        w.report()
            .contains(":5: failed MS-T009: course C1 has no grouping with name 'Missing grouping'"),
        "{}",
        w.report()
    );
    assert_eq!(
        group_field(&w, "C1", "Group C", "id"),
        None,
        "nothing of a failed row is kept"
    );
    // Without updateid an existing group is left alone; with it only the given columns change.
    w.drop_file(
        "groups.csv",
        "courseid;name;description\nC1;Group A;Changed?\n",
    );
    w.run().expect_code(0);
    assert_eq!(
        group_field(&w, "C1", "Group A", "description").as_deref(),
        Some("First")
    );
    w.settings("[groups]\ngroup_identifier = \"idnumber\"\n");
    w.drop_file("groups.csv", "courseid;name;updateid\nC1;Group A2;GA\n");
    w.run().expect_code(0);
    assert_eq!(
        group_field(&w, "C1", "Group A2", "idnumber").as_deref(),
        Some("GA")
    );
    assert_eq!(
        group_field(&w, "C1", "Group A2", "description").as_deref(),
        Some("First")
    );
    // Renaming onto another group's name fails and names it.
    w.drop_file("groups.csv", "courseid;name;updateid\nC1;Group B;GA\n");
    w.run().expect_code(1);
    assert!(w.report().contains("failed MS-T015"), "{}", w.report());
}

#[test]
fn members_are_looked_up_within_their_course() {
    let w = setup();
    w.settings("[groups]\ngroup_identifier = \"idnumber\"\n");
    w.drop_file(
        "groups.csv",
        "courseid;name;idnumber\nC1;Group A;GA\nC2;Other;ONLY2\n",
    );
    w.run().expect_code(0);
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid;cmd\nC1;ONLY2;u1;\nC1;GA;u2;add\nC1;GA;u1;ADD\n",
    );
    w.run().expect_code(1);
    let report = w.report();
    // tool_sync found the idnumber in the other course and added the member there.
    assert!(
        report.contains(":2: failed MS-T009: course C1 has no group with idnumber 'ONLY2'"),
        "{report}"
    );
    assert!(
        report.contains(":3: failed MS-T009: u2 is not enrolled in C1: Moodle takes only enrolled users into groups"),
        "{report}"
    );
    assert!(
        report.contains(":4: applied: created group_member u1 in group GA of C1"),
        "{report}"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members"), 1);
}

#[test]
fn del_really_removes_and_purges_only_what_the_file_emptied() {
    let w = setup();
    w.settings("[groups]\npurge_empty = \"groupings\"\n");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol\nstudent;C1;u2;manual\n",
    );
    w.drop_file(
        "groups.csv",
        "courseid;name;type;grouping\nC1;Set;grouping;\nC1;Keep;;\nC1;Solo;;Set\nC1;Moved;;\nC2;Empty elsewhere;;\n",
    );
    w.run().expect_code(0);
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid;cmd\nC1;Keep;u1;add\nC1;Solo;u1;add\nC1;Moved;u1;add\n",
    );
    w.run().expect_code(0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members"), 3);
    // Solo is left empty; Moved is emptied and filled again later in the same file.
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid;cmd\nC1;Solo;u1;del\nC1;Moved;u1;del\nC1;Moved;u2;add\nC1;Solo;u1;del\n",
    );
    w.run().expect_code(0);
    let report = w.report();
    assert!(
        report.contains(":2: applied: deleted group_member u1 in group Solo of C1"),
        "{report}"
    );
    assert!(
        report.contains(":5: skipped: u1 in group Solo of C1: not a member"),
        "{report}"
    );
    assert!(
        report.contains("groupmembers.csv: after the last row: deleted group Solo in C1")
            && report.contains("after the last row: deleted grouping Set in C1"),
        "{report}"
    );
    // Solo and its grouping went; Moved (filled again), Keep (not emptied) and the other
    // course's empty group stay.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups WHERE name = 'Solo'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groupings WHERE name = 'Set'"),
        0
    );
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM mdl_groups WHERE name IN ('Keep', 'Moved', 'Empty elsewhere')"
        ),
        3
    );
}

#[test]
fn one_run_defines_groups_before_enrolments_and_members_after() {
    let w = Workdir::new();
    w.drop_file("groupmembers.csv", "courseid;groupid;userid\nC1;Blue;u1\n");
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;gadd;Red\n",
    );
    w.drop_file(
        "groups.csv",
        "courseid;name;idnumber;description\nC1;Red;R1;The red team\nC1;Blue;B1;\n",
    );
    w.drop_file("userimport.csv", "username;firstname;lastname\nu1;U;One\n");
    w.drop_file("uploadcourses.csv", "shortname;fullname\nC1;One\n");
    let out = w.run();
    out.expect_code(0);
    let order: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(
        order,
        [
            "courses uploadcourses.csv",
            "users userimport.csv",
            "groups groups.csv",
            "enrolments enrols.csv",
            "groups groupmembers.csv"
        ]
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members"), 2);
    assert_eq!(
        group_field(&w, "C1", "Red", "description").as_deref(),
        Some("The red team")
    );
}

#[test]
fn shift_moves_between_moosync_groups_only() {
    let w = setup();
    w.drop_file("groups.csv", "courseid;name\nC1;A\nC1;B\nC1;Hand\n");
    w.run().expect_code(0);
    w.drop_file("groupmembers.csv", "courseid;groupid;userid\nC1;A;u1\n");
    w.run().expect_code(0);
    w.db()
        .execute(
            "INSERT INTO mdl_groups_members (groupid, userid, component) SELECT g.id, u.id, '' FROM mdl_groups g, mdl_user u WHERE g.name = 'Hand' AND u.username = 'u1'",
            [],
        )
        .unwrap();
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid;cmd\nC1;B;u1;shift\n",
    );
    w.run().expect_code(0);
    let names: Vec<String> = w
        .db()
        .prepare("SELECT g.name FROM mdl_groups_members m JOIN mdl_groups g ON g.id = m.groupid ORDER BY g.name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["B", "Hand"]);
}

#[test]
fn a_same_named_group_without_idnumber_is_adopted_and_selfgrouping_is_checked_first() {
    let w = setup();
    // A gaddcreate made Red, with no idnumber; the groups file then describes it.
    w.drop_file(
        "enrols.csv",
        "rolename;cid;uid;enrol;gcmd;g1\nstudent;C1;u1;manual;gaddcreate;Red\n",
    );
    w.run().expect_code(0);
    w.drop_file(
        "groups.csv",
        "courseid;name;idnumber;description\nC1;Red;R1;The red team\n",
    );
    w.run().expect_code(0);
    assert_eq!(
        group_field(&w, "C1", "Red", "idnumber").as_deref(),
        Some("R1")
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups WHERE name = 'Red'"),
        1
    );
    // Two groupings named Blue by hand: a selfgrouping row for group Blue cannot pick one,
    // and fails before writing anything.
    w.db()
        .execute_batch(
            "INSERT INTO mdl_groupings (courseid, name) SELECT id, 'Blue' FROM mdl_course WHERE shortname = 'C1';
             INSERT INTO mdl_groupings (courseid, name) SELECT id, 'Blue' FROM mdl_course WHERE shortname = 'C1';",
        )
        .unwrap();
    w.drop_file("groups.csv", "courseid;name;selfgrouping\nC1;Blue;1\n");
    w.run().expect_code(1);
    assert!(w.report().contains("failed MS-T005"), "{}", w.report());
    assert_eq!(group_field(&w, "C1", "Blue", "id"), None);
    // A self-grouping may not take an idnumber another grouping has.
    w.drop_file(
        "groups.csv",
        "courseid;name;type;idnumber;selfgrouping\nC1;Year 1;grouping;Y1;\nC1;Team A;group;Y1;1\n",
    );
    w.run().expect_code(1);
    assert!(
        w.report()
            .contains(":3: failed MS-T015: the self-grouping 'Team A' would take idnumber 'Y1'"),
        "{}",
        w.report()
    );
    assert_eq!(group_field(&w, "C1", "Team A", "id"), None);
}

#[test]
fn a_stopped_file_still_purges_what_its_committed_batches_emptied() {
    let w = setup();
    w.drop_file("groups.csv", "courseid;name\nC1;Gone\nC1;Other\n");
    w.drop_file("groupmembers.csv", "courseid;groupid;userid\nC1;Gone;u1\n");
    w.run().expect_code(0);
    w.settings("[run]\nbatch_size = 1\n\n[groups]\npurge_empty = \"groups\"\n");
    // A store failure on the second row stands in for a full disk.
    w.db()
        .execute_batch(
            "CREATE TRIGGER fail_other BEFORE INSERT ON mdl_groups_members
             WHEN NEW.groupid = (SELECT id FROM mdl_groups WHERE name = 'Other')
             BEGIN SELECT RAISE(ABORT, 'simulated store failure'); END;",
        )
        .unwrap();
    w.drop_file(
        "groupmembers.csv",
        "courseid;groupid;userid;cmd\nC1;Gone;u1;del\nC1;Other;u1;add\n",
    );
    let out = w.run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("simulated store failure"),
        "{}",
        out.stdout
    );
    // The first row's batch was committed: the membership is gone, the group still there.
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members"), 0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups WHERE name = 'Gone'"),
        1
    );
    // Fixed and run again: the replayed del is a skip, and the group the stopped run emptied
    // is purged at the end.
    w.db().execute_batch("DROP TRIGGER fail_other;").unwrap();
    w.run().expect_code(0);
    assert!(
        w.report()
            .contains("after the last row: deleted group Gone in C1"),
        "{}",
        w.report()
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups WHERE name = 'Gone'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_groups WHERE name = 'Other'"),
        1
    );
}
