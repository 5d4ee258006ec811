//! `moosync cron`: what one crontab line runs. Captures the feed, runs every tool that has
//! input in dependency order, prints one line per file, then prunes old bookkeeping files
//! and mails a summary as the settings say.

use super::exit;
use super::run_cmd::{RunArgs, Terminal};
use crate::config::SummaryMail;
use std::path::Path;
use std::time::SystemTime;

#[derive(Debug, clap::Args)]
pub struct CronArgs {
    /// Also print each failed row (the report always has them).
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(data: &Path, args: CronArgs) -> i32 {
    let s = match crate::setup::load(data) {
        Ok(s) => s,
        Err(f) => {
            super::report(&f);
            return exit::INPUT_ERROR;
        }
    };
    let shown = Terminal::new(&RunArgs {
        verbose: args.verbose,
        quiet: true,
        ..Default::default()
    });
    // Held through the prune and the mail too: the whole cron run is one run. Another run
    // holding the folder does the rest.
    let lock = match crate::run::take_lock(&s, &shown) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let summary = match crate::run::run(&s, &Default::default(), Some(&lock), &shown) {
        Ok(s) => s,
        Err(f) => {
            super::report(&f);
            crate::run::Summary {
                code: exit::of_failure(&f),
                lines: vec![format!("moosync: {f}")],
                ..Default::default()
            }
        }
    };
    let mut lines = summary.lines;
    if lines.is_empty() {
        // So that cron's log tells a run that found nothing from a run that did not happen.
        say!(
            "{}: nothing to do: no file waiting in inbox/",
            crate::state::now_text()
        );
    }
    if let Some(pruned) =
        crate::prune::prune_from_settings(&s.area, &s.cfg.prune, SystemTime::now())
    {
        if !pruned.removed.is_empty() {
            let line = format!(
                "pruned {} files older than {} days ([prune] older_than_days)",
                pruned.removed.len(),
                s.cfg.prune.older_than_days
            );
            say!("{line}");
            lines.push(line);
        }
        for p in pruned.problems {
            let line = format!("prune: {p}");
            say!("{line}");
            lines.push(line);
        }
    }
    let wanted = match s.cfg.mail.summary {
        SummaryMail::Never => false,
        SummaryMail::Failure => summary.code != exit::OK,
        SummaryMail::Always => true,
    };
    if wanted && crate::mail::enabled(&s.cfg.mail) {
        let verdict = match summary.code {
            exit::OK => "done".to_string(),
            exit::ROWS_FAILED => "some rows failed".to_string(),
            code => format!("a file or the run failed (exit {code})"),
        };
        let subject = format!("moosync cron on {}: {verdict}", crate::mail::hostname());
        let body = if lines.is_empty() {
            format!("Data folder {}: nothing to do.\n", s.area.root().display())
        } else {
            format!(
                "Data folder {}.\n\n{}\n\nReports are in {}.\n",
                s.area.root().display(),
                lines.join("\n"),
                s.area.dir(crate::filearea::REPORTS).display()
            )
        };
        // A mail that cannot go never changes the run's outcome; status shows it.
        let sent = match crate::state::State::open(&s.area.state_path()) {
            Ok(state) => {
                crate::mail::send_recorded(&s.cfg.mail, &state, "run summary", &subject, &body)
            }
            Err(_) => crate::mail::send(&s.cfg.mail, &subject, &body),
        };
        if let Err(e) = sent {
            warn!(
                "moosync: {} the run summary could not be mailed: {e}",
                crate::codes::Code::MailFailed
            );
        }
    }
    drop(lock);
    summary.code
}
