//! `moosync run`: the waiting files, tool by tool, in dependency order, shown on the terminal.

use crate::run::{FileResult, Observer, Request};
use crate::sinks::Rate;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Tools to run (default: every tool with waiting input), or presets by name, such as
    /// courses.reset for an on-demand preset.
    pub tools: Vec<String>,
    /// Run on this file instead of the inbox (name one tool, or let its name pick the preset).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Plan every row as a real run would, but apply nothing and move no file.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply every row, also those unchanged since they were last applied ([run]
    /// skip_unchanged); run it weekly to undo changes made by hand in Moodle.
    #[arg(long)]
    pub full: bool,
    /// Also print each failed row (the report always has them).
    #[arg(long, short)]
    pub verbose: bool,
    /// Never draw a progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl RunArgs {
    pub fn request(&self) -> Request {
        Request {
            names: self.tools.clone(),
            file: self.file.clone(),
            dry_run: self.dry_run,
            full: self.full,
        }
    }
}

pub fn run(data: &Path, args: RunArgs) -> i32 {
    super::exit_code((|| {
        let s = crate::setup::load(data)?;
        let shown = Terminal::new(&args);
        crate::run::run(&s, &args.request(), None, &shown).map(|r| r.code)
    })())
}

/// What `run` and `cron` show on the terminal: a line per file and what the run said, the
/// failed rows with `-v`, and on a terminal a progress bar.
pub(super) struct Terminal {
    verbose: bool,
    bars: bool,
    bar: Mutex<Option<(ProgressBar, Rate, Instant)>>,
}

impl Terminal {
    pub(super) fn new(args: &RunArgs) -> Terminal {
        Terminal {
            verbose: args.verbose,
            // Lines go to stdout, the bar to stderr: a bar only when a person watches both,
            // never in a log that stdout was sent to.
            bars: !args.quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn clear_bar(&self) {
        if let Some((bar, _, _)) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Terminal {
    fn note(&self, line: &str) {
        say!("{line}");
    }

    fn warn(&self, line: &str) {
        warn!("{line}");
    }

    fn file_started(&self, _tool: &str, name: &str, rows: u64) {
        if !self.bars {
            return;
        }
        // The rate and time left are ours (see `Rate`): indicatif's own estimate follows
        // each update, and rows come in bursts of a batch.
        let bar = ProgressBar::new(rows);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} rows, {msg}")
                .expect("template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar.set_message("measuring");
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        let rate = Rate::new(rows, Instant::now());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some((bar, rate, Instant::now()));
    }

    fn rows_done(&self, done: u64) {
        if let Some((bar, rate, shown)) =
            self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
        {
            let now = Instant::now();
            rate.record(done, now);
            // The estimate can be low (it counts lines): the bar grows rather than overflows.
            if done > bar.length().unwrap_or(0) {
                bar.set_length(done);
            }
            bar.set_position(done);
            if now.duration_since(*shown) >= std::time::Duration::from_millis(200) {
                *shown = now;
                bar.set_message(rate.describe(now));
            }
        }
    }

    fn file_done(&self, r: &FileResult, line: &str) {
        self.clear_bar();
        say!("{line}");
        if self.verbose {
            if let Some(report) = &r.report {
                if let Ok(text) = std::fs::read_to_string(report) {
                    for l in text.lines().filter(|l| l.contains(": failed ")) {
                        say!("  {l}");
                    }
                }
            }
        }
    }
}
