//! The one integration-test binary: moosync run end to end on real data folders.

mod workdir;

// The fake Moodle REST server (shared with the benches, included by path) and its own tests;
// the test module needs another name than the support module it tests.
#[path = "../support/fault_proxy/mod.rs"]
mod fault_proxy;

mod bad_input;
mod cohorts;
mod console_http;
mod console_server;
mod console_web;
mod courses;
mod crash;
mod enrolments;
mod feed;
mod files_cmd;
mod groups;
mod input;
mod lab;
mod mail;
mod outputs;
mod pictures;
mod plan_fixtures;
mod plugin;
mod private_files;
mod prune;
mod rest_lab;
mod scenarios;
mod scripts;
mod smtp_sink;
mod status_cmd;
mod unchanged;
mod users;
mod webdriver;
