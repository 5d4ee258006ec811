//! Command-line surface: clap definitions, exit codes, human output. No business logic.

/// `println!` that never panics: stdout closed under moosync (a pipe whose reader left) must
/// not stop a run half-way. What is lost is only the echo; reports and the journal have it all.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics, for the same reason.
macro_rules! warn {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod check_mail;
mod check_target;
mod cron;
mod files;
mod init;
mod plan;
mod problems;
mod run_cmd;
mod serve;
mod status;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub use crate::exit;

/// A command that could not start: its failure, printed.
fn report(f: &crate::codes::Failure) {
    warn!("moosync: {f}");
}

/// A command's exit code: its own, or 2 with the failure printed when it could not start.
fn exit_code(result: Result<i32, crate::codes::Failure>) -> i32 {
    result.unwrap_or_else(|f| {
        report(&f);
        exit::of_failure(&f)
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "moosync",
    version,
    about = "Keeps a Moodle site in step with CSV feeds"
)]
pub struct Cli {
    /// The data folder (inbox/, Reports/, Archives/, Trybacks/, moodle.db, moosync.toml).
    #[arg(long, global = true, env = "MOOSYNC_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create the data folder, a commented moosync.toml, and copies of the shipped scripts and presets.
    Init,
    /// Process waiting input files: all tools, or the ones named.
    Run(run_cmd::RunArgs),
    /// What cron runs: capture the feed, run every tool with input in dependency order, prune
    /// old reports and archives, mail a summary (all as the settings say).
    Cron(cron::CronArgs),
    /// Print the commands the script makes from each row of FILE; writes nothing.
    Plan(plan::PlanArgs),
    /// Each tool, its file names, waiting input and its last runs; failed rows, scripts that
    /// do not compile, mails not sent, trybacks, held and refused files.
    Status,
    /// The failed rows of the recent runs: file, line, code, message and what to do.
    Problems(problems::ProblemsArgs),
    /// The web console on [web] listen (127.0.0.1:8088): the same views and actions.
    Serve(serve::ServeArgs),
    /// Send a test message with the [mail] settings, to check they work.
    CheckMail,
    /// Ask the Moodle site ([target] kind = "moodle") who the token is and whether its service
    /// offers every function moosync calls.
    CheckTarget,
    /// The local file manager: list, add, get, rm, prune.
    Files {
        #[command(subcommand)]
        action: files::FilesCmd,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    let Some(data) = cli.data else {
        warn!("moosync: no data folder: pass --data DIR or set MOOSYNC_DATA");
        return exit::INPUT_ERROR;
    };
    match cli.command {
        Cmd::Init => init::run(&data),
        Cmd::Run(args) => run_cmd::run(&data, args),
        Cmd::Cron(args) => cron::run(&data, args),
        Cmd::Plan(args) => plan::run(&data, args),
        Cmd::Status => status::run(&data),
        Cmd::Problems(args) => problems::run(&data, args),
        Cmd::Serve(args) => serve::run(&data, args),
        Cmd::CheckTarget => check_target::run(&data),
        Cmd::CheckMail => check_mail::run(&data),
        Cmd::Files { action } => files::run(&data, action),
    }
}
