//! The one integration-test binary: moosync run end to end on real data folders.

mod workdir;

mod cohorts;
mod courses;
mod enrolments;
mod files_cmd;
mod groups;
mod input;
mod pictures;
mod plan_fixtures;
mod scripts;
mod users;
