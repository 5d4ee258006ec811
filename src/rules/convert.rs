//! A script's command map → a typed command. The `op` picks the variant; the other keys
//! must be exactly the variant's fields.

use crate::command::{
    CohortBinding, CohortLeave, CohortRef, CohortUpsert, Command, CourseCheck, CourseFields,
    CourseRef, CourseReset, Enrolment, GroupMember, GroupUpsert, MetaLink, UserFields, UserGroups,
    UserPicture, UserRef,
};
use rhai::{Dynamic, Map};
use serde::de::DeserializeOwned;

/// The ops a script may use, for messages.
const OPS: &[&str] = &[
    "user_upsert",
    "user_delete",
    "user_suspend",
    "course_upsert",
    "course_delete",
    "course_check",
    "course_reset",
    "meta_link",
    "meta_unlink",
    "enrolment",
    "user_groups",
    "group_upsert",
    "grouping_upsert",
    "group_member",
    "cohort_upsert",
    "cohort_leave",
    "cohort_delete",
    "cohort_empty",
    "cohort_binding",
    "user_picture",
];

fn fields<T: DeserializeOwned>(map: Map) -> Result<T, String> {
    // Deserializing the variant's struct directly avoids serde's buffering of a tagged enum.
    rhai::serde::from_dynamic::<T>(&Dynamic::from_map(map)).map_err(|e| {
        let msg = e.to_string();
        msg.split(" (line ").next().unwrap_or(&msg).to_string()
    })
}

pub fn command_from_map(mut map: Map) -> Result<Command, String> {
    let op = match map.remove("op") {
        Some(op) if op.is_string() => op.into_string().unwrap_or_default(),
        Some(other) => {
            return Err(format!(
                "returned a command whose op is {}, not a string",
                other.type_name()
            ))
        }
        None => {
            return Err(format!(
                "returned a map without an `op` (one of {})",
                OPS.join(", ")
            ))
        }
    };
    let bad = |m: String| format!("returned a {op} command that does not fit: {m}");
    match op.as_str() {
        "user_upsert" => fields::<UserFields>(map)
            .map(Command::UserUpsert)
            .map_err(bad),
        "user_delete" => fields::<UserRef>(map).map(Command::UserDelete).map_err(bad),
        "user_suspend" => fields::<UserRef>(map)
            .map(Command::UserSuspend)
            .map_err(bad),
        "course_upsert" => fields::<CourseFields>(map)
            .map(Command::CourseUpsert)
            .map_err(bad),
        "course_delete" => fields::<CourseRef>(map)
            .map(Command::CourseDelete)
            .map_err(bad),
        "course_check" => fields::<CourseCheck>(map)
            .map(Command::CourseCheck)
            .map_err(bad),
        "course_reset" => fields::<CourseReset>(map)
            .map(Command::CourseReset)
            .map_err(bad),
        "meta_link" => fields::<MetaLink>(map).map(Command::MetaLink).map_err(bad),
        "meta_unlink" => fields::<MetaLink>(map)
            .map(Command::MetaUnlink)
            .map_err(bad),
        "enrolment" => fields::<Enrolment>(map)
            .map(Command::Enrolment)
            .map_err(bad),
        "user_groups" => fields::<UserGroups>(map)
            .map(Command::UserGroups)
            .map_err(bad),
        "group_upsert" => fields::<GroupUpsert>(map)
            .map(Command::GroupUpsert)
            .map_err(bad),
        "grouping_upsert" => fields::<GroupUpsert>(map)
            .map(Command::GroupingUpsert)
            .map_err(bad),
        "group_member" => fields::<GroupMember>(map)
            .map(Command::GroupMember)
            .map_err(bad),
        "cohort_upsert" => fields::<CohortUpsert>(map)
            .map(Command::CohortUpsert)
            .map_err(bad),
        "cohort_leave" => fields::<CohortLeave>(map)
            .map(Command::CohortLeave)
            .map_err(bad),
        "cohort_delete" => fields::<CohortRef>(map)
            .map(Command::CohortDelete)
            .map_err(bad),
        "cohort_empty" => fields::<CohortRef>(map)
            .map(Command::CohortEmpty)
            .map_err(bad),
        "cohort_binding" => fields::<CohortBinding>(map)
            .map(Command::CohortBinding)
            .map_err(bad),
        "user_picture" => fields::<UserPicture>(map)
            .map(Command::UserPicture)
            .map_err(bad),
        other => Err(format!(
            "returned an unknown op '{other}' (known: {})",
            OPS.join(", ")
        )),
    }
}
