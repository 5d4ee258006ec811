//! The one integration-test binary: moosync run end to end on real data folders.

mod workdir;

mod cohorts;
mod courses;
mod crash;
mod enrolments;
mod feed;
mod files_cmd;
mod groups;
mod input;
mod mail;
mod pictures;
mod plan_fixtures;
mod prune;
mod scripts;
mod smtp_sink;
mod users;
