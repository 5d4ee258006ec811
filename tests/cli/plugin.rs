//! moosync's Moodle plugin (`moodle/local_moosync`) over real HTTP, on the lab Moodle with the
//! plugin installed (`moodle/install-into-lab.sh`). Each test makes what it needs through core
//! web services under names of its own, then reads the plugin's work back through another
//! function, so the tests need no reset and run in parallel.

use crate::lab::{unique, Session, Who};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Role ids of a fresh Moodle site, which the lab is.
const EDITINGTEACHER: i64 = 3;
const TEACHER: i64 = 4;
const STUDENT: i64 = 5;

/// The admin through the plugin's service: core functions to make things, the plugin's to test.
fn admin() -> Session {
    Session::connect(Who::Plugin)
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn users(s: &Session, tag: &str, n: usize) -> Vec<i64> {
    users_with(s, tag, n, |_| json!({}))
}

/// `n` new accounts; `extra(i)` adds fields to the i-th.
fn users_with(s: &Session, tag: &str, n: usize, extra: impl Fn(usize) -> Value) -> Vec<i64> {
    let base = unique(tag);
    let list: Vec<Value> = (0..n)
        .map(|i| {
            let mut u = json!({
                "username": format!("{base}u{i}"),
                "password": "Lab-Pass-1!",
                "firstname": format!("First{i}"),
                "lastname": format!("Last{i}"),
                "email": format!("{base}u{i}@example.edu"),
            });
            if let (Some(o), Value::Object(more)) = (u.as_object_mut(), extra(i)) {
                o.extend(more);
            }
            u
        })
        .collect();
    s.ok("core_user_create_users", json!({ "users": list }))
        .as_array()
        .expect("created users")
        .iter()
        .map(id)
        .collect()
}

fn course(s: &Session, tag: &str) -> i64 {
    let name = unique(tag);
    id(&s.ok(
        "core_course_create_courses",
        json!({"courses": [{"fullname": format!("Course {name}"), "shortname": name, "categoryid": 1}]}),
    )[0])
}

fn cohort(s: &Session, tag: &str, members: &[i64]) -> i64 {
    let cohort = cohort_with_idnumber(s, &unique(tag));
    add_to_cohort(s, cohort, members);
    cohort
}

/// A cohort through core, with this idnumber.
fn cohort_with_idnumber(s: &Session, idnumber: &str) -> i64 {
    id(&s.ok(
        "core_cohort_create_cohorts",
        json!({"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": format!("Cohort {idnumber}"), "idnumber": idnumber}]}),
    )[0])
}

fn add_to_cohort(s: &Session, cohort: i64, members: &[i64]) {
    if members.is_empty() {
        return;
    }
    let list: Vec<Value> = members
        .iter()
        .map(|u| json!({"cohorttype": {"type": "id", "value": cohort}, "usertype": {"type": "id", "value": u}}))
        .collect();
    let answer = s.ok("core_cohort_add_cohort_members", json!({ "members": list }));
    assert_eq!(answer["warnings"], json!([]), "{answer}");
}

fn enrol(s: &Session, course: i64, users: &[i64], role: i64) {
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({"roleid": role, "userid": u, "courseid": course}))
        .collect();
    s.ok("enrol_manual_enrol_users", json!({ "enrolments": list }));
}

fn group(s: &Session, course: i64, name: &str) -> i64 {
    id(&s.ok(
        "core_group_create_groups",
        json!({"groups": [{"courseid": course, "name": name, "description": ""}]}),
    )[0])
}

/// The course's users as the plugin reads them: (user, enrolments, roles).
fn enrolments(s: &Session, course: i64) -> Vec<Value> {
    let answer = s.ok(
        "local_moosync_get_enrolments",
        json!({ "courseids": [course] }),
    );
    assert_eq!(answer["warnings"], json!([]), "{answer}");
    answer["courses"][0]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The users of `course` enrolled through `method`, whatever their status.
fn enrolled_by(s: &Session, course: i64, method: &str) -> BTreeSet<i64> {
    enrolments(s, course)
        .iter()
        .filter(|u| {
            u["enrolments"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["enrol"] == method)
        })
        .map(|u| u["userid"].as_i64().unwrap())
        .collect()
}

/// Who Moodle itself lists as a participant of `course` (core_enrol_get_enrolled_users).
fn core_participants(s: &Session, course: i64) -> BTreeSet<i64> {
    s.ok(
        "core_enrol_get_enrolled_users",
        json!({ "courseid": course }),
    )
    .as_array()
    .into_iter()
    .flatten()
    .map(id)
    .collect()
}

/// The (role, component, item) assignments of `user` in `course`.
fn roles_of(s: &Session, course: i64, user: i64) -> Vec<(i64, String, i64)> {
    enrolments(s, course)
        .iter()
        .filter(|u| u["userid"] == user)
        .flat_map(|u| u["roles"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["roleid"].as_i64().unwrap(),
                r["component"].as_str().unwrap().to_string(),
                r["itemid"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

/// The warning codes of an answer by item index.
fn warnings(answer: &Value) -> Vec<(i64, String)> {
    answer["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            (
                w["index"].as_i64().unwrap(),
                w["warningcode"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every item of a call is answered once: done (under `list`) or warned about.
#[track_caller]
fn each_item_once(answer: &Value, list: &str, items: usize) {
    let mut seen: Vec<i64> = answer[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {answer}"))
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .chain(warnings(answer).into_iter().map(|(i, _)| i))
        .collect();
    seen.sort();
    assert_eq!(seen, (0..items as i64).collect::<Vec<_>>(), "{answer}");
}

fn done<'a>(answer: &'a Value, list: &str, index: i64) -> &'a Value {
    answer[list]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["index"] == index)
        .unwrap_or_else(|| panic!("item {index} not done: {answer}"))
}

fn cohort_instance(s: &Session, course: i64, cohort: i64, role: i64) -> i64 {
    let answer = s.ok(
        "local_moosync_add_cohort_instances",
        json!({"instances": [{"courseid": course, "cohortid": cohort, "roleid": role}]}),
    );
    done(&answer, "instances", 0)["instanceid"]
        .as_i64()
        .unwrap()
}

#[test]
fn binding_a_cohort_enrols_its_members_and_a_bad_item_fails_alone() {
    let s = admin();
    let members = users(&s, "cb", 3);
    let c = course(&s, "cbc");
    let other = course(&s, "cbo");
    let k = cohort(&s, "cbk", &members);
    // A cohort of another category than the course's, which Moodle does not offer there.
    let category = id(&s.ok(
        "core_course_create_categories",
        json!({"categories": [{"name": unique("cbcat"), "parent": 0}]}),
    )[0]);
    let elsewhere = id(&s.ok(
        "core_cohort_create_cohorts",
        json!({"cohorts": [{"categorytype": {"type": "id", "value": category}, "name": unique("cbe"), "idnumber": unique("cbe")}]}),
    )[0]);
    let answer = s.ok(
        "local_moosync_add_cohort_instances",
        json!({"instances": [
            {"courseid": c, "cohortid": k, "roleid": STUDENT},
            {"courseid": 999_999_999, "cohortid": k, "roleid": STUDENT},
            {"courseid": other, "cohortid": 999_999_999, "roleid": STUDENT},
            {"courseid": other, "cohortid": k, "roleid": STUDENT, "status": 7},
            {"courseid": other, "cohortid": k, "roleid": STUDENT, "groupid": 999_999_999},
            {"courseid": 1, "cohortid": k, "roleid": STUDENT},
            {"courseid": other, "cohortid": k, "roleid": 999},
            {"courseid": other, "cohortid": elsewhere, "roleid": STUDENT},
        ]}),
    );
    each_item_once(&answer, "instances", 8);
    assert_eq!(
        warnings(&answer),
        vec![
            (1, "coursenotfound".into()),
            (2, "cohortnotfound".into()),
            (3, "invalidstatus".into()),
            (4, "groupnotincourse".into()),
            (5, "sitecourse".into()),
            (6, "rolenotassignable".into()),
            (7, "cohortnotavailable".into()),
        ]
    );
    let made = done(&answer, "instances", 0);
    assert_eq!(made["created"], true);
    assert_eq!(made["status"], 0);
    let instance = made["instanceid"].as_i64().unwrap();

    // Moodle's own participants list shows the members, enrolled by the cohort method with
    // the role it gives, owned by enrol_cohort.
    assert_eq!(core_participants(&s, c), set(&members));
    assert_eq!(enrolled_by(&s, c, "cohort"), set(&members));
    for u in &members {
        assert_eq!(
            roles_of(&s, c, *u),
            vec![(STUDENT, "enrol_cohort".to_string(), instance)]
        );
    }
    // The failed items left the other course alone.
    assert!(core_participants(&s, other).is_empty());

    // Sent again (a lost answer), the binding is found, not made twice.
    let again = s.ok(
        "local_moosync_add_cohort_instances",
        json!({"instances": [{"courseid": c, "cohortid": k, "roleid": STUDENT}]}),
    );
    assert_eq!(done(&again, "instances", 0)["created"], false);
    assert_eq!(done(&again, "instances", 0)["instanceid"], instance);
    let cohorts: Vec<Value> = s.ok(
        "local_moosync_get_enrol_instances",
        json!({"courseids": [c], "enrol": "cohort"}),
    )["instances"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(cohorts.len(), 1, "{cohorts:?}");
    assert_eq!(cohorts[0]["customint1"], k);
    assert_eq!(cohorts[0]["roleid"], STUDENT);
}

#[test]
fn a_cohort_instance_changes_role_status_period_and_group() {
    let s = admin();
    let members = users(&s, "cu", 2);
    let c = course(&s, "cuc");
    let k = cohort(&s, "cuk", &members);
    let instance = cohort_instance(&s, c, k, STUDENT);

    // Another role: the members hold it instead of the old one.
    let answer = s.ok(
        "local_moosync_update_cohort_instances",
        json!({"instances": [{"instanceid": instance, "roleid": TEACHER}, {"instanceid": 999_999_999, "roleid": TEACHER}]}),
    );
    each_item_once(&answer, "instances", 2);
    assert_eq!(warnings(&answer), vec![(1, "instancenotfound".into())]);
    assert_eq!(done(&answer, "instances", 0)["changed"], json!(["roleid"]));
    assert_eq!(
        roles_of(&s, c, members[0]),
        vec![(TEACHER, "enrol_cohort".to_string(), instance)]
    );

    // Disabled: the enrolments stay, the roles go, Moodle no longer counts them active.
    let answer = s.ok(
        "local_moosync_update_cohort_instances",
        json!({"instances": [{"instanceid": instance, "status": 1}]}),
    );
    assert_eq!(done(&answer, "instances", 0)["changed"], json!(["status"]));
    assert_eq!(enrolled_by(&s, c, "cohort"), set(&members));
    assert!(roles_of(&s, c, members[0]).is_empty());
    let e = &enrolments(&s, c)[0]["enrolments"][0];
    assert_eq!(e["instancestatus"], 1);

    // Enabled again with a period and a new group: roles back, dates on every enrolment,
    // members filed into a group named after the cohort.
    let (start, end) = (1_900_000_000_i64, 1_950_000_000_i64);
    let answer = s.ok(
        "local_moosync_update_cohort_instances",
        json!({"instances": [{"instanceid": instance, "status": 0, "enrolstartdate": start,
                               "enrolenddate": end, "groupid": -1}]}),
    );
    let row = done(&answer, "instances", 0);
    assert_eq!(row["enrolmentsupdated"], 2, "{answer}");
    let groupid = row["groupid"].as_i64().unwrap();
    assert!(groupid > 0, "{answer}");
    assert_eq!(
        roles_of(&s, c, members[1]),
        vec![(TEACHER, "enrol_cohort".to_string(), instance)]
    );
    for u in enrolments(&s, c) {
        let e = &u["enrolments"][0];
        assert_eq!(
            (e["timestart"].as_i64(), e["timeend"].as_i64()),
            (Some(start), Some(end))
        );
        assert_eq!(e["instancestatus"], 0);
    }
    let groups = s.ok("local_moosync_get_groups", json!({"courseids": [c]}));
    let g = &groups["courses"][0]["groups"][0];
    assert_eq!(g["id"], groupid);
    let owners: BTreeSet<(i64, String)> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["userid"].as_i64().unwrap(),
                m["component"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        members
            .iter()
            .map(|u| (*u, "enrol_cohort".to_string()))
            .collect()
    );

    // Bad settings fail their item and change nothing.
    let answer = s.ok(
        "local_moosync_update_cohort_instances",
        json!({"instances": [{"instanceid": instance, "enrolstartdate": 20, "enrolenddate": 10},
                             {"instanceid": instance, "status": 3}]}),
    );
    assert_eq!(
        warnings(&answer),
        vec![(0, "invalidperiod".into()), (1, "invalidstatus".into())]
    );
    let e = &enrolments(&s, c)[0]["enrolments"][0];
    assert_eq!(e["timestart"], start);
}

#[test]
fn the_cohort_sync_follows_the_cohort_and_a_deleted_instance_unenrols() {
    let s = admin();
    let members = users(&s, "cs", 3);
    let c = course(&s, "csc");
    let k = cohort(&s, "csk", &members[..2]);
    let instance = cohort_instance(&s, c, k, STUDENT);
    add_to_cohort(&s, k, &members[2..]);

    let answer = s.ok(
        "local_moosync_sync_cohort_instances",
        json!({"courseids": [c, 999_999_999]}),
    );
    each_item_once(&answer, "courses", 2);
    assert_eq!(warnings(&answer), vec![(1, "coursenotfound".into())]);
    assert_eq!(done(&answer, "courses", 0)["enrolled"], 3);
    assert_eq!(done(&answer, "courses", 0)["instances"], 1);
    assert_eq!(enrolled_by(&s, c, "cohort"), set(&members));

    let answer = s.ok(
        "local_moosync_delete_cohort_instances",
        json!({"instanceids": [instance, instance, 999_999_999]}),
    );
    each_item_once(&answer, "instances", 3);
    assert_eq!(
        warnings(&answer),
        vec![
            (1, "instancenotfound".into()),
            (2, "instancenotfound".into())
        ]
    );
    assert_eq!(done(&answer, "instances", 0)["unenrolled"], 3);
    assert!(core_participants(&s, c).is_empty());
    assert!(s.ok(
        "local_moosync_get_enrol_instances",
        json!({"courseids": [c], "enrol": "cohort"})
    )["instances"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_course_reset_unenrols_by_role_and_empties_groups() {
    let s = admin();
    let people = users(&s, "rs", 3);
    let (students, teacher) = (&people[..2], people[2]);
    let c = course(&s, "rsc");
    let untouched = course(&s, "rsu");
    enrol(&s, c, students, STUDENT);
    enrol(&s, c, &[teacher], EDITINGTEACHER);
    enrol(&s, untouched, students, STUDENT);
    let g = group(&s, c, "Reset group");
    s.ok(
        "core_group_add_group_members",
        json!({"members": [{"groupid": g, "userid": people[0]}, {"groupid": g, "userid": teacher}]}),
    );

    let answer = s.ok(
        "local_moosync_reset_courses",
        json!({"courses": [
            {"courseid": c, "unenrol_roles": ["student"], "groups_members": true, "events": true},
            {"courseid": 999_999_999, "unenrol_all": true},
            {"courseid": untouched, "unenrol_roles": ["nosuchrole"]},
            {"courseid": untouched, "unenrol_all": true, "module_options": [{"name": "reset_forum_everything", "value": "1"}]},
            {"courseid": untouched, "unenrol_all": true, "module_defaults": ["nosuchmodule"]},
        ]}),
    );
    each_item_once(&answer, "courses", 5);
    assert_eq!(
        warnings(&answer),
        vec![
            (1, "coursenotfound".into()),
            (2, "rolenotfound".into()),
            (3, "unknownresetoption".into()),
            (4, "modulenotfound".into()),
        ]
    );
    let status = done(&answer, "courses", 0)["status"].as_array().unwrap();
    assert!(
        status.iter().all(|l| l["error"] == ""),
        "Moodle reported a failure: {status:?}"
    );
    assert!(
        status
            .iter()
            .any(|l| l["item"].as_str().unwrap().contains("(2)")),
        "two users unenrolled: {status:?}"
    );
    // The students are gone, the teacher stays; the group stays, emptied.
    assert_eq!(core_participants(&s, c), set(&[teacher]));
    let groups = s.ok("local_moosync_get_groups", json!({"courseids": [c]}));
    assert_eq!(groups["courses"][0]["groups"][0]["id"], g);
    assert_eq!(groups["courses"][0]["groups"][0]["members"], json!([]));
    // The items that failed reset nothing.
    assert_eq!(core_participants(&s, untouched), set(students));

    // Everything, with every module's defaults: nobody is left, the groups go.
    let answer = s.ok(
        "local_moosync_reset_courses",
        json!({"courses": [{"courseid": c, "unenrol_all": true, "groups_remove": true, "groupings_remove": true,
                            "all_module_defaults": true, "module_options": [{"name": "reset_forum_all", "value": "1"}]}]}),
    );
    assert_eq!(warnings(&answer), vec![]);
    assert!(core_participants(&s, c).is_empty());
    let groups = s.ok("local_moosync_get_groups", json!({"courseids": [c]}));
    assert_eq!(groups["courses"][0]["groups"], json!([]));
}

#[test]
fn a_meta_link_disabled_keeps_its_enrolments_and_enabled_again_gives_the_roles_back() {
    let s = admin();
    let people = users(&s, "ml", 2);
    let master = course(&s, "mlm");
    let meta = course(&s, "mlx");
    enrol(&s, master, &people, STUDENT);

    let link = |enabled: bool| {
        s.ok(
            "local_moosync_set_meta_links",
            json!({"links": [{"courseid": meta, "linkedcourseid": master, "enabled": enabled}]}),
        )
    };
    let answer = link(true);
    let made = done(&answer, "links", 0);
    assert_eq!(made["action"], "created");
    assert_eq!(made["enrolled"], 2);
    let instance = made["instanceid"].as_i64().unwrap();
    assert_eq!(core_participants(&s, meta), set(&people));
    assert_eq!(
        roles_of(&s, meta, people[0]),
        vec![(STUDENT, "enrol_meta".to_string(), instance)]
    );

    let answer = link(false);
    assert_eq!(done(&answer, "links", 0)["action"], "disabled");
    assert_eq!(done(&answer, "links", 0)["status"], 1);
    // Kept, inactive with their instance.
    assert_eq!(enrolled_by(&s, meta, "meta"), set(&people));
    assert_eq!(
        enrolments(&s, meta)[0]["enrolments"][0]["instancestatus"],
        1
    );
    assert_eq!(link(false)["links"][0]["action"], "unchanged");

    let answer = link(true);
    let back = done(&answer, "links", 0);
    assert_eq!(back["action"], "enabled");
    assert_eq!(back["instanceid"], instance, "the same link, not a new one");
    assert_eq!(core_participants(&s, meta), set(&people));
    assert_eq!(
        roles_of(&s, meta, people[1]),
        vec![(STUDENT, "enrol_meta".to_string(), instance)]
    );
    assert_eq!(link(true)["links"][0]["action"], "unchanged");

    let other = course(&s, "mlo");
    let answer = s.ok(
        "local_moosync_set_meta_links",
        json!({"links": [
            {"courseid": meta, "linkedcourseid": meta, "enabled": true},
            {"courseid": other, "linkedcourseid": master, "enabled": false},
            {"courseid": other, "linkedcourseid": 999_999_999, "enabled": true},
            {"courseid": 999_999_999, "linkedcourseid": master, "enabled": true},
            {"courseid": other, "linkedcourseid": master, "enabled": true},
        ]}),
    );
    each_item_once(&answer, "links", 5);
    assert_eq!(
        warnings(&answer),
        vec![
            (0, "samecourse".into()),
            (1, "nolink".into()),
            (2, "linkedcoursenotfound".into()),
            (3, "coursenotfound".into()),
        ]
    );
    assert_eq!(done(&answer, "links", 4)["action"], "created");
}

#[test]
fn sections_are_named_and_the_self_and_guest_methods_set_as_asked() {
    let s = admin();
    let c = course(&s, "sec");
    let sections = |c: i64| -> Vec<(i64, Value, String)> {
        let answer = s.ok("local_moosync_get_sections", json!({ "courseids": [c] }));
        assert_eq!(answer["warnings"], json!([]), "{answer}");
        answer["courses"][0]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["section"].as_i64().unwrap(),
                    x["name"].clone(),
                    x["summary"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(sections(c), vec![(0, Value::Null, String::new())]);
    let answer = s.ok(
        "local_moosync_set_sections",
        json!({"sections": [
            {"courseid": c, "section": 2, "name": "Week two", "summary": "Start here"},
            {"courseid": c, "section": 2, "name": "Week two"},
            {"courseid": c, "section": 1, "summary": "Only a summary"},
            {"courseid": c, "section": 999},
            {"courseid": 999_999_999, "section": 1, "name": "x"},
        ]}),
    );
    each_item_once(&answer, "sections", 5);
    assert_eq!(
        warnings(&answer),
        vec![(3, "invalidsection".into()), (4, "coursenotfound".into())]
    );
    assert_eq!(done(&answer, "sections", 0)["created"], true);
    assert_eq!(
        done(&answer, "sections", 0)["changed"],
        json!(["name", "summary"])
    );
    assert_eq!(
        done(&answer, "sections", 1)["changed"],
        json!([]),
        "already so"
    );
    assert_eq!(done(&answer, "sections", 2)["changed"], json!(["summary"]));
    // Section 1 was added on the way to 2: no gaps, its name left to the format.
    assert_eq!(
        sections(c),
        vec![
            (0, Value::Null, String::new()),
            (1, Value::Null, "Only a summary".to_string()),
            (2, json!("Week two"), "Start here".to_string()),
        ]
    );

    let methods = |items: Value| {
        s.ok(
            "local_moosync_set_enrol_methods",
            json!({ "methods": items }),
        )
    };
    let status = |enrol: &str| -> Vec<i64> {
        let answer = s.ok(
            "local_moosync_get_enrol_instances",
            json!({"courseids": [c], "enrol": enrol}),
        );
        answer["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["status"].as_i64().unwrap())
            .collect()
    };
    // A new course has both, disabled (the site's defaults).
    assert_eq!((status("self"), status("guest")), (vec![1], vec![1]));
    let answer = methods(json!([
        {"courseid": c, "enrol": "self", "enabled": true},
        {"courseid": c, "enrol": "guest", "enabled": false},
        {"courseid": c, "enrol": "meta", "enabled": true},
        {"courseid": 999_999_999, "enrol": "self", "enabled": true},
    ]));
    each_item_once(&answer, "methods", 4);
    assert_eq!(
        warnings(&answer),
        vec![
            (2, "methodnotsupported".into()),
            (3, "coursenotfound".into())
        ]
    );
    assert_eq!(done(&answer, "methods", 0)["action"], "enabled");
    assert_eq!(done(&answer, "methods", 1)["action"], "unchanged");
    assert_eq!((status("self"), status("guest")), (vec![0], vec![1]));
    let answer = methods(json!([{"courseid": c, "enrol": "self", "enabled": false}]));
    assert_eq!(done(&answer, "methods", 0)["action"], "disabled");
    assert_eq!(status("self"), vec![1]);
}

#[test]
fn group_members_carry_the_component_and_only_their_own_are_removed_when_asked() {
    let s = admin();
    let people = users(&s, "gm", 4);
    let c = course(&s, "gmc");
    enrol(&s, c, &people[..3], STUDENT);
    let g = group(&s, c, "Synced");
    // A membership made by hand, which the plugin must not take for its own.
    s.ok(
        "core_group_add_group_members",
        json!({"members": [{"groupid": g, "userid": people[2]}]}),
    );

    let answer = s.ok(
        "local_moosync_add_group_members",
        json!({"members": [
            {"groupid": g, "userid": people[0], "itemid": 7},
            {"groupid": g, "userid": people[1]},
            {"groupid": g, "userid": people[2]},
            {"groupid": g, "userid": people[3]},
            {"groupid": 999_999_999, "userid": people[0]},
            {"groupid": g, "userid": 999_999_999},
        ]}),
    );
    each_item_once(&answer, "members", 6);
    assert_eq!(
        warnings(&answer),
        vec![
            (3, "notenrolled".into()),
            (4, "groupnotfound".into()),
            (5, "usernotfound".into()),
        ]
    );
    assert_eq!(done(&answer, "members", 0)["added"], true);
    assert_eq!(done(&answer, "members", 2)["added"], false);
    assert_eq!(done(&answer, "members", 2)["component"], "");

    let owned = |s: &Session| -> Vec<(i64, String, i64)> {
        let groups = s.ok("local_moosync_get_groups", json!({"courseids": [c]}));
        groups["courses"][0]["groups"][0]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["userid"].as_i64().unwrap(),
                    m["component"].as_str().unwrap().to_string(),
                    m["itemid"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let mut want = vec![
        (people[0], "local_moosync".to_string(), 7),
        (people[1], "local_moosync".to_string(), 0),
        (people[2], String::new(), 0),
    ];
    want.sort();
    assert_eq!(owned(&s), want);
    // Moodle's own list shows the three members.
    let core = s.ok("core_group_get_group_members", json!({"groupids": [g]}));
    let listed: BTreeSet<i64> = core[0]["userids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_i64().unwrap())
        .collect();
    assert_eq!(listed, set(&people[..3]));

    let answer = s.ok(
        "local_moosync_remove_group_members",
        json!({"members": [
            {"groupid": g, "userid": people[2], "onlyown": true},
            {"groupid": g, "userid": people[0], "onlyown": true},
            {"groupid": g, "userid": people[0]},
            {"groupid": 999_999_999, "userid": people[1]},
        ]}),
    );
    each_item_once(&answer, "members", 4);
    assert_eq!(
        warnings(&answer),
        vec![
            (0, "notowned".into()),
            (2, "notmember".into()),
            (3, "groupnotfound".into()),
        ]
    );
    assert_eq!(done(&answer, "members", 1)["component"], "local_moosync");
    assert_eq!(done(&answer, "members", 1)["itemid"], 7);
    // Without onlyown a membership made by hand goes too.
    let answer = s.ok(
        "local_moosync_remove_group_members",
        json!({"members": [{"groupid": g, "userid": people[2]}]}),
    );
    assert_eq!(done(&answer, "members", 0)["component"], "");
    assert_eq!(owned(&s), vec![(people[1], "local_moosync".to_string(), 0)]);
    // The plugin lets Moodle's own removal take its memberships (its setting to protect them
    // is off by default): local_moosync_allow_group_member_remove answers yes.
    s.ok(
        "core_group_delete_group_members",
        json!({"members": [{"groupid": g, "userid": people[1]}]}),
    );
    assert_eq!(owned(&s), vec![]);
}

#[test]
fn a_membership_another_component_owns_is_kept_when_it_forbids_removal() {
    let s = admin();
    let members = users(&s, "gc", 1);
    let c = course(&s, "gcc");
    let k = cohort(&s, "gck", &members);
    let answer = s.ok(
        "local_moosync_add_cohort_instances",
        json!({"instances": [{"courseid": c, "cohortid": k, "roleid": STUDENT, "groupid": -1}]}),
    );
    let g = done(&answer, "instances", 0)["groupid"].as_i64().unwrap();
    // enrol_cohort forbids taking its members out of its group by other means.
    let answer = s.ok(
        "local_moosync_remove_group_members",
        json!({"members": [{"groupid": g, "userid": members[0]}]}),
    );
    assert_eq!(warnings(&answer), vec![(0, "removenotallowed".into())]);
    let groups = s.ok("local_moosync_get_groups", json!({"courseids": [c]}));
    assert_eq!(
        groups["courses"][0]["groups"][0]["members"][0]["component"],
        "enrol_cohort"
    );
}

#[test]
fn the_lean_user_read_answers_what_core_answers() {
    let s = admin();
    let ids = users_with(&s, "lu", 3, |i| {
        json!({"idnumber": unique(&format!("luid{i}")), "city": format!("City{i}"),
               "customfields": [{"type": "moosynclab", "value": format!("Lab{i}")}]})
    });
    let core: Vec<Value> = s
        .ok(
            "core_user_get_users_by_field",
            json!({"field": "id", "values": ids}),
        )
        .as_array()
        .cloned()
        .unwrap();
    let by_core = |field: &str, id: i64| -> Value {
        core.iter().find(|u| u["id"] == id).unwrap()[field].clone()
    };
    let usernames: Vec<String> = ids
        .iter()
        .map(|i| by_core("username", *i).as_str().unwrap().to_string())
        .collect();

    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "username", "values": [usernames[0], usernames[1], usernames[2], "nobody-by-that-name"],
               "profilefields": ["moosynclab", "moosynclabdef", "nosuchfield"]}),
    );
    assert_eq!(answer["warnings"], json!([]));
    let found = answer["users"].as_array().unwrap();
    assert_eq!(found.len(), 3, "{answer}");
    for u in found {
        let i = id(u);
        for field in [
            "username",
            "firstname",
            "lastname",
            "email",
            "idnumber",
            "city",
            "auth",
            "lang",
        ] {
            assert_eq!(u[field], by_core(field, i), "{field}");
        }
        assert_eq!(u["suspended"], 0);
        assert_eq!(u["deleted"], 0);
        assert_eq!(u["picture"], 0);
        // The custom fields, as core gives them (a field without a value has its default).
        let mut ours: Vec<(String, String)> = u["customfields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["shortname"].as_str().unwrap().into(),
                    f["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut theirs: Vec<(String, String)> = by_core("customfields", i)
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|f| f["shortname"].as_str().unwrap().starts_with("moosynclab"))
            .map(|f| {
                (
                    f["shortname"].as_str().unwrap().into(),
                    f["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
        assert!(ours.contains(&("moosynclabdef".into(), "fallback".into())));
    }

    // By e-mail regardless of case, by idnumber, by id (a bad id is its value's warning).
    let email = by_core("email", ids[1]).as_str().unwrap().to_uppercase();
    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "email", "values": [email]}),
    );
    assert_eq!(id(&answer["users"][0]), ids[1]);
    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "idnumber", "values": [by_core("idnumber", ids[2])]}),
    );
    assert_eq!(id(&answer["users"][0]), ids[2]);
    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "id", "values": [ids[0].to_string(), "abc"]}),
    );
    assert_eq!(id(&answer["users"][0]), ids[0]);
    assert_eq!(warnings(&answer), vec![(1, "invalidvalue".into())]);
    assert_eq!(
        answer["users"][0]["customfields"],
        json!([]),
        "none asked for"
    );

    // A deleted account is found by id only, and says so.
    s.ok("core_user_delete_users", json!({"userids": [ids[2]]}));
    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "id", "values": [ids[2]]}),
    );
    assert_eq!(answer["users"][0]["deleted"], 1);
    let answer = s.ok(
        "local_moosync_get_users",
        json!({"field": "username", "values": [usernames[2]]}),
    );
    assert_eq!(answer["users"], json!([]));
}

#[test]
fn the_reads_list_instances_enrolments_and_cohorts() {
    let s = admin();
    let people = users(&s, "rd", 3);
    let c = course(&s, "rdc");
    enrol(&s, c, &people[..2], STUDENT);
    let k = cohort(&s, "rdk", &people[1..]);
    let instance = cohort_instance(&s, c, k, TEACHER);

    let answer = s.ok(
        "local_moosync_get_enrol_instances",
        json!({"courseids": [c, 999_999_999]}),
    );
    assert_eq!(warnings(&answer), vec![(1, "coursenotfound".into())]);
    let methods: Vec<&str> = answer["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["enrol"].as_str().unwrap())
        .collect();
    assert!(
        methods.contains(&"manual") && methods.contains(&"cohort"),
        "{methods:?}"
    );

    // Only the users asked for; the one in both the manual and the cohort method has both
    // enrolments and both roles.
    let answer = s.ok(
        "local_moosync_get_enrolments",
        json!({"courseids": [c], "userids": [people[1]]}),
    );
    let listed = answer["courses"][0]["users"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{answer}");
    let methods: BTreeSet<&str> = listed[0]["enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["enrol"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["cohort", "manual"].into_iter().collect());
    let mut roles = roles_of(&s, c, people[1]);
    roles.sort();
    assert_eq!(
        roles,
        vec![
            (TEACHER, "enrol_cohort".to_string(), instance),
            (STUDENT, String::new(), 0)
        ]
    );

    let name = s.ok(
        "local_moosync_get_cohorts",
        json!({"field": "id", "values": [k]}),
    )["cohorts"][0]["name"]
        .clone();
    for (field, value) in [("name", name), ("id", json!(k.to_string()))] {
        let answer = s.ok(
            "local_moosync_get_cohorts",
            json!({"field": field, "values": [value, "no-such-cohort-value"]}),
        );
        let found = answer["cohorts"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{answer}");
        assert_eq!(found[0]["id"], k);
        assert_eq!(found[0]["members"], json!(people[1..]));
    }
    let answer = s.ok(
        "local_moosync_get_cohorts",
        json!({"field": "id", "values": [k], "withmembers": false}),
    );
    assert_eq!(answer["cohorts"][0]["members"], json!([]));
    assert_eq!(answer["cohorts"][0]["instances"], json!([]));
    assert_eq!(answer["cohorts"][0]["categoryid"], 0);
    // With its bindings: the instance, its course, role and status.
    let answer = s.ok(
        "local_moosync_get_cohorts",
        json!({"field": "id", "values": [k], "withmembers": false, "withinstances": true}),
    );
    let bound = &answer["cohorts"][0]["instances"];
    assert_eq!(bound.as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(bound[0]["id"], instance);
    assert_eq!(bound[0]["courseid"], c);
    assert_eq!(bound[0]["roleid"], TEACHER);
    assert_eq!(bound[0]["status"], 0);
}

/// Cohorts made without an idnumber (two of them, which core refuses) and with a component,
/// in a category; a taken idnumber and a missing category fail their items alone; the
/// component is then changed, and each read back.
#[test]
fn cohorts_are_created_without_an_idnumber_or_with_a_component_and_the_component_changed() {
    let s = admin();
    let name = unique("mkk");
    let taken = unique("mkt");
    cohort_with_idnumber(&s, &taken);
    let answer = s.ok(
        "local_moosync_create_cohorts",
        json!({"cohorts": [
            {"categoryid": 0, "name": format!("{name} one")},
            {"categoryid": 0, "name": format!("{name} two"), "description": "Second"},
            {"categoryid": 1, "name": format!("{name} owned"), "idnumber": name, "component": "local_moosync"},
            {"categoryid": 0, "name": format!("{name} clash"), "idnumber": taken},
            {"categoryid": 999_999_999, "name": format!("{name} nowhere")},
        ]}),
    );
    assert_eq!(
        warnings(&answer),
        vec![
            (3, "cohortidnumbertaken".into()),
            (4, "categorynotfound".into())
        ]
    );
    each_item_once(&answer, "cohorts", 5);
    let read = |field: &str, value: &str| -> Value {
        let answer = s.ok(
            "local_moosync_get_cohorts",
            json!({"field": field, "values": [value]}),
        );
        answer["cohorts"][0].clone()
    };
    let one = read("name", &format!("{name} one"));
    let two = read("name", &format!("{name} two"));
    assert_eq!(
        (one["idnumber"].as_str(), two["idnumber"].as_str()),
        (Some(""), Some(""))
    );
    assert_eq!(two["description"], "Second");
    let owned = read("idnumber", &name);
    assert_eq!(owned["component"], "local_moosync");
    assert_eq!(owned["categoryid"], 1);
    assert!(read("idnumber", &taken)["name"]
        .as_str()
        .unwrap()
        .starts_with("Cohort"));

    let changed = s.ok(
        "local_moosync_set_cohort_components",
        json!({"cohorts": [
            {"cohortid": owned["id"], "component": ""},
            {"cohortid": 999_999_999, "component": "local_moosync"},
        ]}),
    );
    assert_eq!(warnings(&changed), vec![(1, "cohortnotfound".into())]);
    assert_eq!(read("idnumber", &name)["component"], "");
}

/// One call per function naming things that exist, so only the capability can refuse it.
fn a_call_of_each_function(s: &Session) -> Vec<(&'static str, Value)> {
    let people = users(s, "lim", 1);
    let c = course(s, "limc");
    let other = course(s, "limo");
    enrol(s, c, &people, STUDENT);
    let k = cohort(s, "limk", &people);
    let instance = cohort_instance(s, c, k, STUDENT);
    let g = group(s, c, "Limited");
    vec![
        (
            "local_moosync_add_cohort_instances",
            json!({"instances": [{"courseid": other, "cohortid": k, "roleid": STUDENT}]}),
        ),
        (
            "local_moosync_update_cohort_instances",
            json!({"instances": [{"instanceid": instance, "status": 1}]}),
        ),
        (
            "local_moosync_delete_cohort_instances",
            json!({"instanceids": [instance]}),
        ),
        (
            "local_moosync_sync_cohort_instances",
            json!({"courseids": [c]}),
        ),
        (
            "local_moosync_reset_courses",
            json!({"courses": [{"courseid": c, "unenrol_all": true}]}),
        ),
        (
            "local_moosync_set_meta_links",
            json!({"links": [{"courseid": other, "linkedcourseid": c, "enabled": true}]}),
        ),
        (
            "local_moosync_add_group_members",
            json!({"members": [{"groupid": g, "userid": people[0]}]}),
        ),
        (
            "local_moosync_remove_group_members",
            json!({"members": [{"groupid": g, "userid": people[0]}]}),
        ),
        (
            "local_moosync_get_users",
            json!({"field": "id", "values": [people[0]]}),
        ),
        ("local_moosync_get_enrolments", json!({"courseids": [c]})),
        ("local_moosync_get_groups", json!({"courseids": [c]})),
        (
            "local_moosync_get_cohorts",
            json!({"field": "id", "values": [k]}),
        ),
        (
            "local_moosync_get_enrol_instances",
            json!({"courseids": [c]}),
        ),
        (
            "local_moosync_set_enrol_methods",
            json!({"methods": [{"courseid": c, "enrol": "self", "enabled": true}]}),
        ),
        (
            "local_moosync_set_sections",
            json!({"sections": [{"courseid": c, "section": 1, "name": "x"}]}),
        ),
        ("local_moosync_get_sections", json!({"courseids": [c]})),
        ("local_moosync_get_account_rules", json!({})),
        (
            "local_moosync_set_enrolments",
            json!({"enrolments": [{"courseid": c, "enrol": "manual", "userid": people[0], "unenrol": true}]}),
        ),
        (
            "local_moosync_create_cohorts",
            json!({"cohorts": [{"categoryid": 0, "name": "Refused"}]}),
        ),
        (
            "local_moosync_set_cohort_components",
            json!({"cohorts": [{"cohortid": k, "component": "local_moosync"}]}),
        ),
    ]
}

/// Enrolling through the self method (which core cannot), changing the enrolment's status and
/// dates while keeping what is left out, and unenrolling; a course without the method fails
/// its item alone.
#[test]
fn enrolments_through_any_method_are_made_changed_and_removed() {
    let s = admin();
    let people = users(&s, "senr", 2);
    let c = course(&s, "senrc");
    let bare = course(&s, "senrb");
    // The self method of a new course exists, disabled: enrol_user works through it anyway,
    // as Moodle's own APIs allow.
    let send = |items: Value| {
        s.ok(
            "local_moosync_set_enrolments",
            json!({ "enrolments": items }),
        )
    };
    let answer = send(json!([
        {"courseid": c, "enrol": "self", "userid": people[0], "roleid": STUDENT, "timestart": 1_900_000_000},
        {"courseid": bare, "enrol": "nosuchmethod", "userid": people[1]},
    ]));
    assert_eq!(warnings(&answer).len(), 1, "{answer}");
    assert_eq!(warnings(&answer)[0].0, 1, "{answer}");
    assert_eq!(enrolled_by(&s, c, "self"), set(&[people[0]]));
    assert_eq!(roles_of(&s, c, people[0]).len(), 1);
    let detail = |user: i64| -> Value {
        enrolments(&s, c)
            .into_iter()
            .find(|u| u["userid"] == user)
            .map(|u| u["enrolments"][0].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(detail(people[0])["timestart"], 1_900_000_000);
    // Suspended, the start kept.
    send(json!([{"courseid": c, "enrol": "self", "userid": people[0], "suspended": true}]));
    assert_eq!(detail(people[0])["status"], 1);
    assert_eq!(detail(people[0])["timestart"], 1_900_000_000);
    // Unenrolled: gone with the role the method gave; again, nothing to do.
    let gone =
        send(json!([{"courseid": c, "enrol": "self", "userid": people[0], "unenrol": true}]));
    assert_eq!(gone["enrolments"][0]["changed"], true, "{gone}");
    assert!(enrolled_by(&s, c, "self").is_empty());
    assert!(roles_of(&s, c, people[0]).is_empty());
    let again =
        send(json!([{"courseid": c, "enrol": "self", "userid": people[0], "unenrol": true}]));
    assert_eq!(again["enrolments"][0]["changed"], false, "{again}");
}

/// The account rules are the lab's own settings: a fresh site's password policy, and English
/// as the only language pack.
#[test]
fn the_account_rules_are_the_sites_password_policy_and_languages() {
    let rules = admin().ok("local_moosync_get_account_rules", json!({}));
    assert_eq!(
        rules,
        json!({"passwordpolicy": true, "minpasswordlength": 8, "minpassworddigits": 1,
               "minpasswordlower": 1, "minpasswordupper": 1, "minpasswordnonalphanum": 1,
               "maxconsecutiveidentchars": 0, "languages": ["en"]})
    );
}

#[test]
fn a_user_without_the_capabilities_is_refused_by_every_function() {
    let s = admin();
    let limited = Session::connect(Who::Limited);
    let calls = a_call_of_each_function(&s);
    let offered = s.functions();
    let plugin: Vec<&String> = offered
        .iter()
        .filter(|f| f.starts_with("local_moosync_"))
        .collect();
    assert_eq!(
        plugin.len(),
        calls.len(),
        "a refusal case per function: {plugin:?}"
    );
    for (function, params) in &calls {
        match limited.call(function, params.clone()) {
            Err(e) => {
                assert_eq!(
                    e.exception,
                    "required_capability_exception",
                    "{function}: {}",
                    e.describe()
                );
                assert_eq!(e.errorcode, "nopermissions", "{function}");
            }
            Ok(v) => panic!("{function} answered the limited user: {v}"),
        }
    }
    // Nothing was done: the instance the refused calls named is still there, enabled.
    let c = calls[3].1["courseids"][0].as_i64().unwrap();
    let instances = s.ok(
        "local_moosync_get_enrol_instances",
        json!({"courseids": [c], "enrol": "cohort"}),
    );
    assert_eq!(instances["instances"][0]["status"], 0, "{instances}");
}

#[test]
fn bad_parameters_get_moodles_invalid_parameter_exception() {
    let s = admin();
    let cases = [
        (
            "local_moosync_add_cohort_instances",
            json!({"instances": [{"courseid": 2}]}),
        ),
        (
            "local_moosync_update_cohort_instances",
            json!({"instances": [{"instanceid": "abc"}]}),
        ),
        (
            "local_moosync_delete_cohort_instances",
            json!({"instanceids": ["abc"]}),
        ),
        (
            "local_moosync_sync_cohort_instances",
            json!({"courseids": ["abc"]}),
        ),
        (
            "local_moosync_reset_courses",
            json!({"courses": [{"courseid": 2, "wipe_everything": 1}]}),
        ),
        (
            "local_moosync_set_meta_links",
            json!({"links": [{"courseid": 2}]}),
        ),
        (
            "local_moosync_add_group_members",
            json!({"members": [{"groupid": "g", "userid": 2}]}),
        ),
        (
            "local_moosync_remove_group_members",
            json!({"members": [{"groupid": 1, "userid": 2, "onlyown": "maybe"}]}),
        ),
        (
            "local_moosync_get_users",
            json!({"field": "nickname", "values": ["x"]}),
        ),
        (
            "local_moosync_get_enrolments",
            json!({"courseids": ["abc"]}),
        ),
        ("local_moosync_get_groups", json!({"courseid": 2})),
        (
            "local_moosync_get_cohorts",
            json!({"field": "shortname", "values": ["x"]}),
        ),
        (
            "local_moosync_get_enrol_instances",
            json!({"courseids": [2], "enrol": "../x"}),
        ),
        (
            "local_moosync_set_enrol_methods",
            json!({"methods": [{"courseid": 2, "enrol": "self"}]}),
        ),
        (
            "local_moosync_set_sections",
            json!({"sections": [{"courseid": 2, "section": "first"}]}),
        ),
        ("local_moosync_get_sections", json!({"courseids": ["abc"]})),
        // It takes no parameters: one it does not know is refused.
        ("local_moosync_get_account_rules", json!({"surprise": 1})),
        (
            "local_moosync_set_enrolments",
            json!({"enrolments": [{"courseid": 2, "enrol": "self", "userid": "someone"}]}),
        ),
        (
            "local_moosync_create_cohorts",
            json!({"cohorts": [{"categoryid": "top", "name": "x"}]}),
        ),
        (
            "local_moosync_set_cohort_components",
            json!({"cohorts": [{"cohortid": "abc", "component": "local_moosync"}]}),
        ),
    ];
    assert_eq!(
        cases.len(),
        s.functions()
            .iter()
            .filter(|f| f.starts_with("local_moosync_"))
            .count()
    );
    for (function, params) in cases {
        match s.call(function, params) {
            Err(e) => {
                assert_eq!(
                    e.exception,
                    "invalid_parameter_exception",
                    "{function}: {}",
                    e.describe()
                );
                assert_eq!(e.errorcode, "invalidparameter", "{function}");
            }
            Ok(v) => panic!("{function} took bad parameters: {v}"),
        }
    }
}

#[test]
fn the_labs_own_service_runs_without_the_plugin() {
    let core = Session::connect(Who::Core);
    let offered = core.functions();
    assert!(offered.contains(&"core_user_get_users_by_field".to_string()));
    assert!(
        !offered.iter().any(|f| f.starts_with("local_moosync_")),
        "the lab's moosync service must not hold the plugin's functions: {offered:?}"
    );
    let refused = core
        .call(
            "local_moosync_get_users",
            json!({"field": "username", "values": ["admin"]}),
        )
        .expect_err("a function outside the service");
    assert_eq!(
        refused.exception,
        "webservice_access_exception",
        "{}",
        refused.describe()
    );
}

#[test]
fn every_php_file_of_the_plugin_passes_php_lint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("moodle");
    let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "php"))
        .map(|e| e.into_path())
        .collect();
    assert!(files.len() >= 20, "the plugin's PHP files: {files:?}");
    for f in files {
        let out = std::process::Command::new("php")
            .arg("-l")
            .arg(&f)
            .output()
            .unwrap_or_else(|e| panic!("php cannot be run ({e}); the Moodle lab installs it (../shared/moodle-lab/setup.sh)"));
        assert!(
            out.status.success(),
            "{}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `check-target` with a token of the plugin's service names the plugin's version (the one in
/// moodle/local_moosync/version.php, which the lab runs) and its functions; with the lab's own
/// service it says the plugin is absent and which code the rows needing it fail with.
#[test]
fn check_target_names_the_plugin_and_its_version_or_its_absence() {
    let version_php = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("moodle/local_moosync/version.php"),
    )
    .unwrap();
    let version = version_php
        .lines()
        .find_map(|l| l.strip_prefix("$plugin->version = "))
        .and_then(|v| v.split(';').next())
        .expect("version.php declares $plugin->version")
        .to_string();
    let check = |who: Who| {
        Session::connect(who);
        let w = crate::workdir::Workdir::new();
        let token = w.join("token.txt");
        std::fs::write(&token, crate::lab::token(who)).unwrap();
        w.settings(&format!(
            "[target]\nkind = \"moodle\"\nurl = \"{}\"\ntoken_file = \"{}\"\n",
            crate::lab::url(),
            token.display()
        ));
        w.moosync(&["check-target"])
    };
    let with = check(Who::Plugin);
    assert_eq!(with.code, 0, "{}{}", with.stdout, with.stderr);
    let line = with
        .stdout
        .lines()
        .find(|l| l.starts_with("plugin local_moosync:"))
        .unwrap_or_else(|| panic!("no plugin line: {}", with.stdout));
    assert!(
        line.starts_with(&format!("plugin local_moosync: version {version}, ")),
        "{line}"
    );
    for f in ["local_moosync_get_users", "local_moosync_add_group_members"] {
        assert!(line.contains(f), "{f} not listed: {line}");
    }
    let without = check(Who::Core);
    assert_eq!(without.code, 0, "{}{}", without.stdout, without.stderr);
    assert!(
        without
            .stdout
            .contains("plugin local_moosync: absent (or not in the token's service); rows needing it fail with MS-R006"),
        "{}",
        without.stdout
    );
}
