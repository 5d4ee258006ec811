//! moosync: keeps a Moodle site in step with CSV feeds.
//!
//! The flow of one file: [`source`] reads rows, [`rules`] maps each through the tool's Rhai
//! script into [`command`]s, the [`plan`] decides what each means in Moodle, one of the
//! [`backends`] reads the site and applies it, and [`sinks`] record every outcome.

pub mod backends;
pub mod cli;
pub mod codes;
pub mod command;
pub mod config;
pub mod exit;
pub mod feed;
pub mod filearea;
pub mod filekind;
pub mod filemanager;
pub mod mail;
pub mod memory;
pub mod outcome;
pub mod overview;
pub mod owner_only;
pub mod pictures;
pub mod plan;
pub mod preset;
pub mod preview;
pub mod problems;
pub mod prune;
pub mod rules;
pub mod run;
pub mod runlock;
pub mod setup;
pub mod sinks;
pub mod source;
pub mod state;
pub mod toml_place;
pub mod web;

/// Every allocation is counted per thread, so a script's row has a memory budget.
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::CountingAllocator;
