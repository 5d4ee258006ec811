//! The courses tool end to end: create/update, categories, templates, delete, reset, check
//! and meta links, on the embedded store.

use crate::workdir::{snapshot_settings, Workdir};

const UPLOAD: &str = "uploadcourses.csv";

fn upload(w: &Workdir, body: &str) -> crate::workdir::Output {
    w.drop_file(UPLOAD, body);
    w.run()
}

/// Users `t1`, `s1`, `s2` exist.
fn with_users() -> Workdir {
    let w = Workdir::new();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname\nt1;Tea;Cher\ns1;Stu;One\ns2;Stu;Two\n",
    );
    w.run().expect_code(0);
    w
}

fn course_id(w: &Workdir, shortname: &str) -> i64 {
    w.db()
        .query_row(
            "SELECT id FROM mdl_course WHERE shortname = ?1",
            [shortname],
            |r| r.get(0),
        )
        .unwrap()
}

fn course_field(w: &Workdir, shortname: &str, column: &str) -> String {
    w.db()
        .query_row(
            &format!("SELECT CAST({column} AS TEXT) FROM mdl_course WHERE shortname = ?1"),
            [shortname],
            |r| r.get::<_, Option<String>>(0),
        )
        .unwrap()
        .unwrap_or_default()
}

/// Enrols `user` in course `shortname` through its manual instance, with a role, as the
/// enrolments tool will: a user enrolment plus a role assignment in the course context.
fn enrol(w: &Workdir, shortname: &str, user: &str, role: &str) {
    let db = w.db();
    db.execute(
        "INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend)
         SELECT 0, e.id, u.id, 0, 0 FROM mdl_enrol e, mdl_user u, mdl_course c
         WHERE e.courseid = c.id AND e.enrol = 'manual' AND c.shortname = ?1 AND u.username = ?2",
        [shortname, user],
    )
    .unwrap();
    db.execute(
        "INSERT INTO mdl_role_assignments (roleid, contextid, userid, component, itemid)
         SELECT r.id, x.id, u.id, '', 0 FROM mdl_role r, mdl_context x, mdl_course c, mdl_user u
         WHERE r.shortname = ?3 AND x.contextlevel = 50 AND x.instanceid = c.id AND c.shortname = ?1 AND u.username = ?2",
        [shortname, user, role],
    )
    .unwrap();
}

fn add_group(w: &Workdir, shortname: &str, name: &str, member: &str) {
    let db = w.db();
    let course = course_id(w, shortname);
    db.execute(
        "INSERT INTO mdl_groups (courseid, name) VALUES (?1, ?2)",
        rusqlite::params![course, name],
    )
    .unwrap();
    let group = db.last_insert_rowid();
    db.execute(
        "INSERT INTO mdl_groups_members (groupid, userid) SELECT ?1, id FROM mdl_user WHERE username = ?2",
        rusqlite::params![group, member],
    )
    .unwrap();
    db.execute(
        "INSERT INTO mdl_groupings (courseid, name) VALUES (?1, 'G')",
        [course],
    )
    .unwrap();
    let grouping = db.last_insert_rowid();
    db.execute(
        "INSERT INTO mdl_groupings_groups (groupingid, groupid) VALUES (?1, ?2)",
        [grouping, group],
    )
    .unwrap();
}

#[test]
fn new_course_gets_what_moodle_gives_one() {
    let w = with_users();
    let out = upload(
        &w,
        "shortname;fullname;category;idnumber;startdate;enddate;topic1;topic3;teacher1_account;teacher2_account;teacher2_role;self\n\
         CS101;Intro;Science/Computing;CS-1;2026-09-01 08:00;1798761600;Welcome|Read first;Week 3;t1;s1;student;1\n",
    );
    out.expect_code(0);
    let id = course_id(&w, "CS101");
    // Categories: path, depth and contexts chained from the system context.
    let (cat, cat_path, depth): (i64, String, i64) = w
        .db()
        .query_row(
            "SELECT k.id, k.path, k.depth FROM mdl_course_categories k JOIN mdl_course c ON c.category = k.id WHERE c.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let parent: i64 = w.count(&format!(
        "SELECT parent FROM mdl_course_categories WHERE id = {cat}"
    ));
    assert_eq!((cat_path, depth), (format!("/{parent}/{cat}"), 2));
    let cat_ctx: String = w
        .db()
        .query_row(
            "SELECT path FROM mdl_context WHERE contextlevel = 40 AND instanceid = ?1",
            [cat],
            |r| r.get(0),
        )
        .unwrap();
    let (course_ctx, course_depth): (String, i64) = w
        .db()
        .query_row(
            "SELECT path, depth FROM mdl_context WHERE contextlevel = 50 AND instanceid = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        course_ctx.starts_with(&format!("{cat_ctx}/")),
        "{course_ctx}"
    );
    assert!(cat_ctx.starts_with("/1/"));
    assert_eq!(course_depth, 4);
    // Enrol instances: manual enabled with the student role; guest off; self on (row said so).
    let instances: Vec<(String, i64, i64)> = w
        .db()
        .prepare(
            "SELECT enrol, status, roleid FROM mdl_enrol WHERE courseid = ?1 ORDER BY sortorder",
        )
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        instances,
        [
            ("manual".to_string(), 0, 5),
            ("guest".to_string(), 1, 0),
            ("self".to_string(), 0, 5)
        ]
    );
    // Section 0 plus the topic sections, named and summarised.
    let sections: Vec<(i64, Option<String>, Option<String>)> = w
        .db()
        .prepare("SELECT section, name, summary FROM mdl_course_sections WHERE course = ?1 ORDER BY section")
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        sections,
        [
            (0, None, Some(String::new())),
            (1, Some("Welcome".into()), Some("Read first".into())),
            // Moodle numbers sections without gaps: section 2 exists, empty.
            (2, None, Some(String::new())),
            (3, Some("Week 3".into()), Some(String::new())),
        ]
    );
    // Dates: ISO in local time (TZ=UTC here) and a Unix timestamp.
    assert_eq!(course_field(&w, "CS101", "startdate"), "1788249600");
    assert_eq!(course_field(&w, "CS101", "enddate"), "1798761600");
    // Teachers: enrolled through the manual instance with their roles.
    let roles: Vec<(String, String)> = w
        .db()
        .prepare(
            "SELECT u.username, r.shortname FROM mdl_role_assignments ra JOIN mdl_user u ON u.id = ra.userid
             JOIN mdl_role r ON r.id = ra.roleid JOIN mdl_context x ON x.id = ra.contextid
             WHERE x.contextlevel = 50 AND x.instanceid = ?1 ORDER BY u.username",
        )
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        roles,
        [
            ("s1".to_string(), "student".to_string()),
            ("t1".to_string(), "editingteacher".to_string())
        ]
    );
    assert_eq!(
        w.count(&format!("SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = {id} AND e.enrol = 'manual'")),
        2
    );
    assert_eq!(
        w.count(&format!(
            "SELECT coursecount FROM mdl_course_categories WHERE id = {cat}"
        )),
        1
    );
}

#[test]
fn category_paths_reuse_levels_and_digits_are_names() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname;category\nA1;A;Faculty\n").expect_code(0);
    let out = upload(
        &w,
        "shortname;fullname;category\n\
         B1;B;Faculty/Dept/Year 1\n\
         B2;B;Faculty/Dept/Year 1\n\
         N1;N;2020\n\
         D1;D;\n",
    );
    out.expect_code(0);
    // The existing middle level is reused; two rows share one new category.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE name = 'Faculty'"),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE name = 'Year 1'"),
        1
    );
    let year = w.count("SELECT id FROM mdl_course_categories WHERE name = 'Year 1'");
    let dept = w.count("SELECT id FROM mdl_course_categories WHERE name = 'Dept'");
    let faculty = w.count("SELECT id FROM mdl_course_categories WHERE name = 'Faculty'");
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM mdl_course_categories WHERE id = {year} AND parent = {dept} AND depth = 3 AND path = '/{faculty}/{dept}/{year}'"
        )),
        1
    );
    assert_eq!(course_field(&w, "B2", "category"), year.to_string());
    // "2020" is a category name, not the id 2020.
    let n = w.count("SELECT id FROM mdl_course_categories WHERE name = '2020' AND parent = 0");
    assert_eq!(course_field(&w, "N1", "category"), n.to_string());
    // No category: Moodle's default one.
    assert_eq!(course_field(&w, "D1", "category"), "1");
    // "1" is a name too; since a category has id 1, the report says how it was read.
    upload(&w, "shortname;fullname;category\nONE;One;1\n").expect_code(0);
    assert_ne!(course_field(&w, "ONE", "category"), "1");
    assert!(
        w.report()
            .contains("note: '1' is taken as a name (category_identifier = \"path\"), though category id 1 exists"),
        "{}",
        w.report()
    );
}

#[test]
fn category_by_idnumber_or_id_must_exist() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nFIRST;First\n").expect_code(0);
    w.db()
        .execute(
            "UPDATE mdl_course_categories SET idnumber = 'CAT1' WHERE id = 1",
            [],
        )
        .unwrap();
    w.settings("[courses]\ncategory_identifier = \"idnumber\"\n");
    let out = upload(&w, "shortname;fullname;category\nA;A;CAT1\nB;B;NOPE\n");
    out.expect_code(1);
    assert_eq!(course_field(&w, "A", "category"), "1");
    let report = w.report();
    assert!(
        report.contains("failed MS-T012: no category has idnumber 'NOPE'"),
        "{report}"
    );
    w.settings("[courses]\ncategory_identifier = \"id\"\n");
    let out = upload(&w, "shortname;fullname;category\nC;C;1\nD;D;999\n");
    out.expect_code(1);
    assert_eq!(course_field(&w, "C", "category"), "1");
    assert!(w.report().contains("MS-T012: no category has id 999"));
}

#[test]
fn a_category_that_cannot_be_made_fails_only_its_rows() {
    let w = Workdir::new();
    let long = "n".repeat(256);
    let out = upload(
        &w,
        &format!(
            "shortname;fullname;category\nA;A;Top/{long}\nB;B;Top/Fine\nC;C;Top/{long}/Deeper\n"
        ),
    );
    out.expect_code(1);
    let report = w.report();
    assert!(
        report.contains(":2: failed MS-V004: category name 'nnnn"),
        "{report}"
    );
    assert!(report.contains(":4: failed MS-V004"), "{report}");
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_course WHERE id > 1"), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE name = 'Top'"),
        1
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_course_categories"), 3);
}

#[test]
fn partial_update_leaves_other_columns_untouched() {
    let w = Workdir::new();
    upload(
        &w,
        "shortname;fullname;summary;idnumber;format;startdate;category\nC1;Course;Long text;ID1;weeks;2026-09-01;Old\n",
    )
    .expect_code(0);
    // Updates are off by default: the row is skipped and says why.
    let out = upload(&w, "shortname;fullname\nC1;Renamed\n");
    out.expect_code(0);
    assert!(w.report().contains("updates are off"), "{}", w.report());
    assert_eq!(course_field(&w, "C1", "fullname"), "Course");

    w.settings("[courses]\nupdate_existing = true\n");
    let out = upload(
        &w,
        "shortname;fullname;category;topic2\nC1;Renamed;New/Place;Two\n",
    );
    out.expect_code(0);
    assert_eq!(course_field(&w, "C1", "fullname"), "Renamed");
    // Columns absent from the file keep their values (tool_sync reset them to defaults).
    assert_eq!(course_field(&w, "C1", "summary"), "Long text");
    assert_eq!(course_field(&w, "C1", "idnumber"), "ID1");
    assert_eq!(course_field(&w, "C1", "format"), "weeks");
    assert_eq!(course_field(&w, "C1", "startdate"), "1788220800");
    // Moved: the course's context follows its new category.
    let cat = course_field(&w, "C1", "category");
    let cat_ctx: String = w
        .db()
        .query_row(
            &format!("SELECT path FROM mdl_context WHERE contextlevel = 40 AND instanceid = {cat}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let id = course_id(&w, "C1");
    let ctx: String = w
        .db()
        .query_row(
            &format!("SELECT path FROM mdl_context WHERE contextlevel = 50 AND instanceid = {id}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        ctx.starts_with(&format!("{cat_ctx}/")),
        "{ctx} under {cat_ctx}"
    );
    let report = w.report();
    assert!(
        report.contains("updated course C1")
            && report.contains("category")
            && report.contains("topic2"),
        "{report}"
    );
    // The same row again, applied (--full: not skipped as unchanged), changes nothing.
    w.drop_file(
        UPLOAD,
        "shortname;fullname;category;topic2\nC1;Renamed;New/Place;Two\n",
    );
    w.moosync(&["run", "--quiet", "--full"]).expect_code(0);
    assert!(w.report().contains("unchanged course C1"), "{}", w.report());
}

#[test]
fn collisions_name_the_other_course() {
    let w = Workdir::new();
    w.settings("[courses]\nidentifier = \"idnumber\"\nupdate_existing = true\n");
    upload(&w, "shortname;fullname;idnumber\nTAKEN;Taken one;X1\n").expect_code(0);
    let out = upload(
        &w,
        "shortname;fullname;idnumber\nTAKEN;New one;X2\nOTHER;Other;X3\n",
    );
    out.expect_code(1);
    let report = w.report();
    assert!(
        report.contains("failed MS-T010: shortname 'TAKEN' is already used by course")
            && report.contains("(TAKEN, Taken one)"),
        "{report}"
    );
    // Renaming X1's shortname to one taken by another course also fails.
    let out = upload(&w, "shortname;fullname;idnumber\nOTHER;Taken one;X1\n");
    out.expect_code(1);
    assert!(w.report().contains("MS-T010"), "{}", w.report());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'TAKEN'"),
        1
    );
}

#[test]
fn template_copies_settings_and_sections() {
    let w = Workdir::new();
    upload(
        &w,
        "shortname;fullname;summary;format;newsitems;startdate;topic1;topic2\nTPL;Template;Template summary;weeks;3;2020-09-01;One|First;Two\n",
    )
    .expect_code(0);
    let out = upload(
        &w,
        "shortname;fullname;template;summary\n\
         NEW;New course;TPL;\n\
         OWN;Own summary;TPL;Mine\n\
         EARLY;Early;LATER;\n\
         LATER;Later;;\n\
         MISSING;Missing;NOPE;\n",
    );
    out.expect_code(1);
    assert_eq!(course_field(&w, "NEW", "format"), "weeks");
    assert_eq!(course_field(&w, "NEW", "newsitems"), "3");
    assert_eq!(course_field(&w, "NEW", "summary"), "Template summary");
    assert_eq!(course_field(&w, "NEW", "fullname"), "New course");
    assert_eq!(course_field(&w, "OWN", "summary"), "Mine");
    // Not the template's old start date: a new course starts now unless the row says.
    let start: i64 = course_field(&w, "NEW", "startdate").parse().unwrap();
    assert!(start > 1_700_000_000, "{start}");
    let id = course_id(&w, "NEW");
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM mdl_course_sections WHERE course = {id} AND ((section = 1 AND name = 'One' AND summary = 'First') OR (section = 2 AND name = 'Two'))"
        )),
        2
    );
    // A template created later in the same file is not there yet: the row fails, and the
    // tryback replays it once the template exists.
    let report = w.report();
    assert!(
        report.contains(
            "uploadcourses.csv:4: failed MS-T009: template course 'LATER' does not exist"
        ),
        "{report}"
    );
    assert!(report.contains("template course 'NOPE' does not exist"));
    let tryback = String::from_utf8(w.tryback().unwrap()).unwrap();
    assert_eq!(
        tryback,
        "shortname;fullname;template;summary\nEARLY;Early;LATER;\nMISSING;Missing;NOPE;\n"
    );
    w.drop_file("uploadcourses_tryback.csv", &tryback);
    w.run().expect_code(1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'EARLY'"),
        1
    );
}

#[test]
fn bad_rows_fail_alone_with_clear_messages() {
    let w = Workdir::new();
    let long = "x".repeat(300);
    let out = upload(
        &w,
        &format!(
            "shortname;fullname;category;startdate\n\
             OK1;Fine;A//B;\n\
             {long};Long;;\n\
             OK2;Fine;;01/09/2026\n\
             OK3;Fine;;2026-09-01\n\
             OK3;Twice;;\n\
             ;No shortname;;\n"
        ),
    );
    out.expect_code(1);
    let report = w.report();
    for want in [
        ":2: failed MS-V004: category path 'A//B' has an empty level",
        ":3: failed MS-V004: the shortname is 300 characters long; Moodle allows at most 255",
        ":4: failed MS-S002:",
        "is not a date: use 2026-09-01,",
        ":5: applied: created course OK3",
        ":6: skipped: course",
        ":7: failed MS-V003:",
    ] {
        assert!(report.contains(want), "missing {want:?} in\n{report}");
    }
    // Only OK3 was created, once; the input is archived with its report.
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_course WHERE id > 1"), 1);
    assert_eq!(w.files("Archives").len(), 1);
    assert!(w.files("inbox").is_empty());
}

#[test]
fn delete_removes_the_course_and_everything_in_it() {
    let w = with_users();
    upload(
        &w,
        "shortname;fullname;teacher1_account\nDEL;Doomed;t1\nKEEP;Kept;t1\n",
    )
    .expect_code(0);
    enrol(&w, "DEL", "s1", "student");
    add_group(&w, "DEL", "Group A", "s1");
    add_group(&w, "KEEP", "Group K", "t1");
    let id = course_id(&w, "DEL");
    let ctx = w.count(&format!(
        "SELECT id FROM mdl_context WHERE contextlevel = 50 AND instanceid = {id}"
    ));
    // A module context below the course, with a local role: it goes too.
    w.db()
        .execute(
            &format!("INSERT INTO mdl_context (contextlevel, instanceid, path, depth) SELECT 70, 1, path || '/99', 5 FROM mdl_context WHERE id = {ctx}"),
            [],
        )
        .unwrap();
    w.drop_file(
        "deletecourses.csv",
        "# courses closed this year\n\nDEL\n   \nNOPE\n",
    );
    let out = w.run();
    out.expect_code(0);
    for sql in [
        format!("SELECT COUNT(*) FROM mdl_course WHERE id = {id}"),
        format!("SELECT COUNT(*) FROM mdl_context WHERE id = {ctx} OR path LIKE '%/{ctx}/%'"),
        format!("SELECT COUNT(*) FROM mdl_enrol WHERE courseid = {id}"),
        format!("SELECT COUNT(*) FROM mdl_role_assignments WHERE contextid = {ctx}"),
        format!("SELECT COUNT(*) FROM mdl_groups WHERE courseid = {id}"),
        format!("SELECT COUNT(*) FROM mdl_groupings WHERE courseid = {id}"),
        format!("SELECT COUNT(*) FROM mdl_course_sections WHERE course = {id}"),
    ] {
        assert_eq!(w.count(&sql), 0, "{sql}");
    }
    // The other course keeps its enrolments and groups; orphans are gone.
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_user_enrolments WHERE enrolid NOT IN (SELECT id FROM mdl_enrol)"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members WHERE groupid NOT IN (SELECT id FROM mdl_groups)"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groupings_groups"), 1);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_user_enrolments"), 1);
    let report = w.report();
    // A course already gone has nothing to do: a feed that keeps listing it does not fail.
    assert!(
        report.contains("deletecourses.csv:3: applied: deleted course DEL")
            && report.contains("enrolled users 2")
            && report.contains(
                "deletecourses.csv:5: skipped: no course has shortname 'NOPE' to delete (already deleted, or never created)"
            ),
        "{report}"
    );
    assert!(w.tryback().is_none());
}

#[test]
fn reset_removes_enrolments_by_role_and_groups() {
    let w = with_users();
    upload(&w, "shortname;fullname;teacher1_account\nR1;Reset me;t1\n").expect_code(0);
    enrol(&w, "R1", "s1", "student");
    enrol(&w, "R1", "s2", "student");
    add_group(&w, "R1", "Group A", "s1");
    // Reset is on demand: a plain run leaves the file waiting.
    w.drop_file(
        "resetcourses.csv",
        "shortname;roles;groups;groupings;events\nR1;student;members;;yes\nR1;ghost;;;\nNOPE;all;;;\n",
    );
    let out = w.run();
    out.expect_code(0);
    assert_eq!(w.files("inbox").len(), 1);
    let out = w.moosync(&["run", "--quiet", "courses.reset"]);
    out.expect_code(1);
    let id = course_id(&w, "R1");
    let enrolled: Vec<String> = w
        .db()
        .prepare(&format!("SELECT u.username FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid JOIN mdl_user u ON u.id = ue.userid WHERE e.courseid = {id}"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(enrolled, ["t1"]);
    // Their roles and group memberships went with them; the group itself stays (members).
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_role_assignments WHERE roleid = 5"),
        0
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups_members"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups"), 1);
    let report = w.report();
    assert!(
        report.contains("reset course R1") && report.contains("unenrolled users 2"),
        "{report}"
    );
    assert!(
        report.contains(":3: failed MS-T013: no role has shortname 'ghost'"),
        "{report}"
    );
    assert!(report.contains(":4: failed MS-T009"), "{report}");
    // all + groups: everyone out, groups deleted, groupings deleted.
    w.drop_file(
        "resetcourses.csv",
        "shortname;roles;groups;groupings\nR1;all;all;all\n",
    );
    w.moosync(&["run", "--quiet", "courses.reset"])
        .expect_code(0);
    assert_eq!(w.count(&format!("SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = {id}")), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groups"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_groupings"), 0);
}

#[test]
fn check_reports_without_changing_anything() {
    let w = Workdir::new();
    upload(
        &w,
        "shortname;fullname;category;idnumber\nC1;Course one;Arts;ID1\n",
    )
    .expect_code(0);
    let before = std::fs::read(w.join("moodle.db")).unwrap().len();
    w.drop_file("courses.csv", "C1;first course\nGHOST\n");
    w.moosync(&["run", "--quiet", "courses"]).expect_code(0);
    assert_eq!(w.files("inbox").len(), 1, "check waits to be asked for");
    let out = w.moosync(&["run", "--quiet", "courses.check"]);
    out.expect_code(1);
    let report = w.report();
    assert!(
        report.contains("courses.csv:1: applied: found course C1")
            && report.contains("fullname Course one")
            && report.contains("category Arts")
            && report.contains("description first course")
            && report.contains("courses.csv:2: failed MS-T009: no course has shortname 'GHOST'"),
        "{report}"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_course"), 2);
    assert_eq!(std::fs::read(w.join("moodle.db")).unwrap().len(), before);
}

#[test]
fn meta_links_follow_the_master_course() {
    let w = with_users();
    upload(
        &w,
        "shortname;fullname;teacher1_account\nMASTER;Master;t1\nMETA;Meta;\n",
    )
    .expect_code(0);
    enrol(&w, "MASTER", "s1", "student");
    w.drop_file(
        "metacourses.csv",
        "master;meta;cmd\nMASTER;META;add\nMASTER;NOWHERE;\nMETA;META;add\n",
    );
    w.run().expect_code(1);
    let meta = course_id(&w, "META");
    let enrolled = |w: &Workdir| -> Vec<(String, i64)> {
        w.db()
            .prepare(&format!("SELECT u.username, ue.status FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid JOIN mdl_user u ON u.id = ue.userid WHERE e.courseid = {meta} AND e.enrol = 'meta' ORDER BY u.username"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(enrolled(&w), [("s1".to_string(), 0), ("t1".to_string(), 0)]);
    // The master's roles are mirrored with component enrol_meta.
    assert_eq!(
        w.count(&format!("SELECT COUNT(*) FROM mdl_role_assignments ra JOIN mdl_context x ON x.id = ra.contextid WHERE x.instanceid = {meta} AND x.contextlevel = 50 AND ra.component = 'enrol_meta'")),
        2
    );
    let report = w.report();
    assert!(
        report.contains("created meta_link META from MASTER"),
        "{report}"
    );
    assert!(
        report.contains(":3: failed MS-T009: no meta course has shortname 'NOWHERE'"),
        "{report}"
    );
    assert!(report.contains(":4: failed MS-V004"), "{report}");

    // del disables: enrolments stay (inactive with the instance), roles go.
    w.drop_file("metacourses.csv", "master;meta;cmd\nMASTER;META;del\n");
    w.run().expect_code(0);
    assert_eq!(
        w.count(&format!(
            "SELECT status FROM mdl_enrol WHERE courseid = {meta} AND enrol = 'meta'"
        )),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_role_assignments WHERE component = 'enrol_meta'"),
        0
    );
    // add again re-enables the same instance.
    w.drop_file("metacourses.csv", "master;meta\nMASTER;META\n");
    w.run().expect_code(0);
    assert_eq!(w.count(&format!("SELECT COUNT(*) FROM mdl_enrol WHERE courseid = {meta} AND enrol = 'meta' AND status = 0")), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_role_assignments WHERE component = 'enrol_meta'"),
        2
    );
    // Deleting the master disables the link and takes its roles away.
    w.drop_file("deletecourses.csv", "MASTER\n");
    w.run().expect_code(0);
    assert_eq!(
        w.count(&format!(
            "SELECT status FROM mdl_enrol WHERE courseid = {meta} AND enrol = 'meta'"
        )),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_role_assignments WHERE component = 'enrol_meta'"),
        0
    );
}

#[test]
fn one_run_deletes_then_creates_then_links() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nOLD;Old\n").expect_code(0);
    // Dropped together: the delete frees OLD's shortname before the upload reuses it, and the
    // meta file links courses the upload creates.
    w.drop_file("metacourses.csv", "master;meta\nOLD;NEWMETA\n");
    w.drop_file(
        "uploadcourses.csv",
        "shortname;fullname\nOLD;Brand new\nNEWMETA;Meta\n",
    );
    w.drop_file("deletecourses.csv", "OLD\n");
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
            "courses deletecourses.csv",
            "courses uploadcourses.csv",
            "courses metacourses.csv"
        ]
    );
    assert_eq!(course_field(&w, "OLD", "fullname"), "Brand new");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol WHERE enrol = 'meta' AND status = 0"),
        1
    );
}

#[test]
fn headerless_line_with_extra_values_fails_alone() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nA;A\n").expect_code(0);
    w.drop_file("deletecourses.csv", "A;B\n");
    w.run().expect_code(1);
    assert!(
        w.report().contains("deletecourses.csv:1: failed MS-I101: deletecourses.csv line 1: 2 values where this file takes one (course)"),
        "{}",
        w.report()
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'A'"),
        1
    );
}

#[test]
fn courses_report_snapshot() {
    let w = with_users();
    upload(
        &w,
        "shortname;fullname;category;teacher1_account;topic1\n\
         S1;First;Faculty/Dept;t1;Intro|Start here\n\
         S2;Second;Faculty/Dept;nobody;\n\
         S3;Third;Faculty;;\n",
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("courses_report", w.report()));
}

#[test]
fn dry_run_and_the_site_course_change_nothing() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nKEEP;Keep\n").expect_code(0);
    w.drop_file(UPLOAD, "shortname;fullname;category\nDRY;Dry;New/Cat\n");
    let out = w.moosync(&["run", "--quiet", "--dry-run"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("[dry run]") && out.stdout.contains("created"),
        "{}",
        out.stdout
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'DRY'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE name = 'New'"),
        0
    );
    assert_eq!(w.files("inbox").len(), 1);
    std::fs::remove_file(w.join("inbox").join(UPLOAD)).unwrap();
    // The front page is course 1, shortname "moodle": feeds never touch it.
    w.drop_file("deletecourses.csv", "moodle\n");
    w.run().expect_code(1);
    assert!(w.report().contains("failed MS-T014"), "{}", w.report());
    assert_eq!(w.count("SELECT COUNT(*) FROM mdl_course WHERE id = 1"), 1);
}

#[test]
fn reset_finds_the_course_by_the_files_own_column() {
    let w = with_users();
    // X1 is one course's shortname and another's idnumber.
    upload(
        &w,
        "shortname;fullname;idnumber;teacher1_account\nX1;By name;;t1\nB;By idnumber;X1;t1\n",
    )
    .expect_code(0);
    w.drop_file("resetcourses.csv", "idnumber;roles\nX1;all\n");
    w.moosync(&["run", "--quiet", "courses.reset"])
        .expect_code(0);
    let enrolled = |c: &str| {
        w.count(&format!(
            "SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = {}",
            course_id(&w, c)
        ))
    };
    assert_eq!((enrolled("X1"), enrolled("B")), (1, 0));
}

#[test]
fn delete_and_check_follow_the_identifier_setting() {
    let w = Workdir::new();
    w.settings("[courses]\nidentifier = \"idnumber\"\n");
    upload(&w, "shortname;fullname;idnumber\nS1;One;ID1\nS2;Two;ID2\n").expect_code(0);
    w.drop_file("courses.csv", "ID1\nS2\n");
    w.moosync(&["run", "--quiet", "courses.check"])
        .expect_code(1);
    let report = w.report();
    assert!(
        report.contains(":1: applied: found course S1")
            && report.contains(":2: failed MS-T009: no course has idnumber 'S2'"),
        "{report}"
    );
    w.drop_file("deletecourses.csv", "ID2\n");
    w.run().expect_code(0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'S2'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course WHERE shortname = 'S1'"),
        1
    );
}

#[test]
fn headerless_tryback_replays() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nNOW;Now\n").expect_code(0);
    w.drop_file("courses.csv", "NOW\nLATER;the course to come\n");
    w.moosync(&["run", "--quiet", "courses.check"])
        .expect_code(1);
    // The tryback of a headerless file is the failed lines alone.
    let tryback = w.tryback().unwrap();
    assert_eq!(tryback, b"LATER;the course to come\n");
    upload(&w, "shortname;fullname\nLATER;Later\n").expect_code(0);
    w.drop_file("courses_tryback.csv", &tryback);
    w.moosync(&["run", "--quiet", "courses.check"])
        .expect_code(0);
    assert!(w.report().contains("found course LATER"), "{}", w.report());
}

#[test]
fn meta_link_with_a_missing_master_fails() {
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nMETA;Meta\n").expect_code(0);
    w.drop_file("metacourses.csv", "master;meta\nGONE;META\n");
    w.run().expect_code(1);
    assert!(
        w.report()
            .contains("failed MS-T009: no master course has shortname 'GONE'"),
        "{}",
        w.report()
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_enrol WHERE enrol = 'meta'"),
        0
    );
}

#[test]
fn moodle_rules_for_new_courses() {
    let w = with_users();
    w.settings("[courses]\nnew_categories_visible = false\nupdate_existing = true\n");
    let out = upload(
        &w,
        "shortname;fullname;category;template;teacher1_account;teacher1_role;enddate\n\
         HID;In a hidden category;Hidden/Below;;;;\n\
         SITE;From the front page;;moodle;;;\n\
         CC;Course creator;;;t1;coursecreator;\n\
         OLD;Ends in 2020;;;;;2020-01-01\n",
    );
    out.expect_code(1);
    // A course (and a category) below a hidden category is hidden.
    assert_eq!(course_field(&w, "HID", "visible"), "0");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE visible = 0"),
        2
    );
    let report = w.report();
    assert!(report.contains(":3: failed MS-T014"), "{report}");
    assert!(
        report.contains(":4: failed MS-T013: role 'coursecreator' cannot be given in a course"),
        "{report}"
    );
    assert!(
        report.contains(":5: failed MS-V004: the enddate"),
        "{report}"
    );
    // On update too: an end before the stored start fails.
    upload(
        &w,
        "shortname;fullname;enddate\nHID;In a hidden category;1970-01-02\n",
    )
    .expect_code(1);
    assert_eq!(course_field(&w, "HID", "enddate"), "0");
}

#[test]
fn a_given_file_must_name_its_preset_when_the_tool_has_several() {
    let w = Workdir::new();
    let file = w.join("feed.csv");
    std::fs::write(&file, "shortname;fullname\nC1;One\n").unwrap();
    let out = w.moosync(&["run", "courses", "--file", file.to_str().unwrap()]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("feed.csv matches none of the presets of tool 'courses'")
            && out.stderr.contains("courses.upload (uploadcourses*.csv)"),
        "{}",
        out.stderr
    );
    let out = w.moosync(&[
        "run",
        "--quiet",
        "courses.upload",
        "--file",
        file.to_str().unwrap(),
    ]);
    out.expect_code(0);
    assert_eq!(course_field(&w, "C1", "fullname"), "One");
    assert!(file.exists(), "a given file is left where it is");
}

#[test]
fn reset_takes_only_the_asked_role_from_a_user_holding_others() {
    let w = with_users();
    upload(&w, "shortname;fullname;teacher1_account\nR2;Two roles;t1\n").expect_code(0);
    enrol(&w, "R2", "s1", "student");
    // t1 is an editing teacher and, besides, a student.
    w.db()
        .execute(
            "INSERT INTO mdl_role_assignments (roleid, contextid, userid, component, itemid)
             SELECT r.id, x.id, u.id, '', 0 FROM mdl_role r, mdl_context x, mdl_course c, mdl_user u
             WHERE r.shortname = 'student' AND x.contextlevel = 50 AND x.instanceid = c.id
               AND c.shortname = 'R2' AND u.username = 't1'",
            [],
        )
        .unwrap();
    w.drop_file("resetcourses.csv", "shortname;roles\nR2;student\n");
    w.moosync(&["run", "--quiet", "courses.reset"])
        .expect_code(0);
    // As reset_course_userdata: s1 is unenrolled, t1 only loses the student role. Both
    // count as unenrolled users, as Moodle counts them.
    let id = course_id(&w, "R2");
    let held: Vec<(String, String)> = w
        .db()
        .prepare(&format!(
            "SELECT u.username, r.shortname FROM mdl_role_assignments ra JOIN mdl_role r ON r.id = ra.roleid
             JOIN mdl_user u ON u.id = ra.userid JOIN mdl_context x ON x.id = ra.contextid
             WHERE x.contextlevel = 50 AND x.instanceid = {id} ORDER BY u.username"
        ))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(held, [("t1".to_string(), "editingteacher".to_string())]);
    assert_eq!(
        w.count(&format!("SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.courseid = {id}")),
        1
    );
    assert!(
        w.report().contains("reset course R2") && w.report().contains("unenrolled users 2"),
        "{}",
        w.report()
    );
}

#[test]
fn categories_are_made_whatever_their_ids() {
    // A long-lived site: category ids past 214,748 once made the sort order overflow.
    let w = Workdir::new();
    upload(&w, "shortname;fullname\nFIRST;First\n").expect_code(0);
    w.db()
        .execute(
            "UPDATE sqlite_sequence SET seq = 5000000 WHERE name = 'mdl_course_categories'",
            [],
        )
        .unwrap();
    upload(
        &w,
        "shortname;fullname;category\nBIG;Big ids;Faculty/Department\n",
    )
    .expect_code(0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mdl_course_categories WHERE id > 5000000"),
        2
    );
    let (cat, sortorder): (i64, i64) = w
        .db()
        .query_row(
            "SELECT k.id, k.sortorder FROM mdl_course_categories k JOIN mdl_course c ON c.category = k.id WHERE c.shortname = 'BIG'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(cat > 5_000_000);
    // Sort orders follow the categories there are, not their ids.
    assert!(sortorder < 100_000, "{sortorder}");
}
