//! `moosync status`: the synthesis screen in text (the console renders the same overview).

use super::exit;
use crate::overview::{Overview, RECENT_RUNS};
use std::path::Path;

pub fn run(data: &Path) -> i32 {
    super::exit_code((|| {
        let s = crate::setup::load(data)?;
        show(&crate::overview::gather(&s, &Default::default())?);
        Ok(exit::OK)
    })())
}

fn show(o: &Overview) {
    say!("data folder: {}", o.data);
    say!("target: {}", o.target);
    match &o.running {
        Some(h) => say!("a run is going now ({h})"),
        None => say!("no run is going now"),
    }
    if let Some(drop) = &o.drop_folder {
        match &o.last_capture {
            None => say!("drop folder: {drop} (no capture yet)"),
            Some((at, moved, messages)) => {
                say!("drop folder: {drop}");
                say!("  last capture: {at}, {moved} file(s) moved into inbox/");
                for m in messages {
                    say!("  {m}");
                }
            }
        }
    }
    for t in &o.tools {
        say!();
        say!("{}", t.tool);
        for p in &t.presets {
            say!("  {} with {} (preset {})", p.label, p.script, p.name);
            if p.on_demand {
                say!("    on demand: runs only with `moosync run {}`", p.name);
            }
            if p.waiting.is_empty() {
                say!("    waiting: none");
            } else {
                say!("    waiting: {}", p.waiting.join(", "));
            }
        }
        if t.last.is_empty() {
            say!("  last run: never");
        }
        for (i, f) in t.last.iter().enumerate() {
            let dry = if f.record.dry_run { " (dry run)" } else { "" };
            let at = if f.state == "running" || f.state == "interrupted" {
                "started "
            } else {
                ""
            };
            let head = if i == 0 { "last run:" } else { "before:  " };
            say!(
                "  {head} {at}{}{dry}, {} {}",
                f.record.finished,
                f.record.name,
                f.how
            );
            if let (0, Some(r)) = (i, &f.report) {
                say!("  last report: {r}");
            }
        }
    }
    say!();
    let broken: Vec<_> = o.scripts.iter().filter(|s| s.error.is_some()).collect();
    if broken.is_empty() {
        say!("scripts: all {} compile", o.scripts.len());
    }
    for sc in broken {
        say!(
            "script {} does not compile (its files wait in inbox/): {}",
            sc.name,
            sc.error.as_deref().unwrap_or_default()
        );
    }
    say!(
        "failed rows in the last {RECENT_RUNS} runs: {} (`moosync problems` lists them){}",
        o.failed_rows,
        match o.failed_files {
            0 => String::new(),
            n => format!("; files refused or stopped: {n}"),
        }
    );
    match o.mail_failures.first() {
        None => say!("mails not sent: none"),
        Some(last) => say!(
            "mails not sent: {} (last {}, {}: {})",
            o.mail_failures.len(),
            last.at,
            last.what,
            last.error
        ),
    }
    say!("trybacks waiting in Trybacks/: {}", o.trybacks.len());
    if o.unmatched.is_empty() {
        say!("waiting files that match no preset: none");
    } else {
        say!(
            "waiting files that match no preset (left alone): {}",
            o.unmatched.join(", ")
        );
    }
    say!(
        "refused files waiting for an operator in Rejected/: {}",
        o.rejected.len()
    );
    if let Some(held) = &o.held {
        say!(
            "held files waiting for an operator in Held/: {}",
            held.len()
        );
    }
}
