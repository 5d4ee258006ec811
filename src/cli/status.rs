//! `moosync status`: the synthesis screen in text.

use super::exit;
use crate::filearea;
use crate::preset::TOOLS;
use crate::run::waiting_files;
use crate::state::State;
use std::path::Path;

pub fn run(data: &Path) -> i32 {
    super::exit_code(status(data))
}

fn status(data: &Path) -> Result<i32, crate::codes::Failure> {
    let s = crate::setup::load(data)?;
    let state = State::open(&s.area.state_path())?;
    let waiting = waiting_files(&s.area);
    let holder = crate::runlock::holder(&s.area);
    say!("data folder: {}", s.area.root().display());
    match &holder {
        Some(h) => say!("a run is going now ({h})"),
        None => say!("no run is going now"),
    }
    match (&s.cfg.feed.drop_folder, state.last_capture()) {
        (None, _) => {}
        (Some(drop), Ok(None)) => say!("drop folder: {} (no capture yet)", drop.display()),
        (Some(drop), Ok(Some((at, moved, messages)))) => {
            say!("drop folder: {}", drop.display());
            say!("  last capture: {at}, {moved} file(s) moved into inbox/");
            for m in messages {
                say!("  {m}");
            }
        }
        (Some(_), Err(f)) => say!("  last capture: unknown ({f})"),
    }
    for tool in TOOLS {
        say!();
        say!("{tool}");
        let mut presets: Vec<_> = s.presets.for_tool(tool).collect();
        presets.sort_by_key(|p| p.order);
        for p in presets {
            let names: Vec<&str> = waiting
                .iter()
                .filter(|(n, _)| s.presets.for_file(n).is_some_and(|q| q.name == p.name))
                .map(|(n, _)| n.as_str())
                .collect();
            say!(
                "  preset {} ({}): files {}",
                p.name,
                p.script_name(),
                p.file_names()
            );
            if p.on_demand {
                say!("    on demand: runs only with `moosync run {}`", p.name);
            }
            if names.is_empty() {
                say!("    waiting: none");
            } else {
                say!("    waiting: {}", names.join(", "));
            }
        }
        match state.last_file(tool) {
            Ok(Some(last)) => {
                let dry = if last.dry_run { " (dry run)" } else { "" };
                let how = match last.status.as_str() {
                    // Liveness comes from the lock: a run that died left this file "running".
                    "running" => match &holder {
                        Some(h) => format!("running now ({h})"),
                        None => "interrupted: the run processing it ended without finishing it; the next run processes it again".to_string(),
                    },
                    "aborted" => format!(
                        "stopped: {}",
                        last.message.as_deref().unwrap_or("no reason recorded")
                    ),
                    "rejected" => format!(
                        "refused: {}",
                        last.message.as_deref().unwrap_or("no reason recorded")
                    ),
                    other => format!("{other}: {}", last.counts.summary_line()),
                };
                let at = if last.status == "running" {
                    "started "
                } else {
                    ""
                };
                say!(
                    "  last run: {at}{}{dry}, {} {how}",
                    last.finished,
                    last.name
                );
                if let Some(r) = last.report {
                    say!("  last report: {r}");
                }
            }
            Ok(None) => say!("  last run: never"),
            Err(f) => say!("  last run: unknown ({f})"),
        }
    }
    let unmatched: Vec<&str> = waiting
        .iter()
        .filter(|(n, _)| s.presets.for_file(n).is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    say!();
    if unmatched.is_empty() {
        say!("waiting files that match no preset: none");
    } else {
        say!(
            "waiting files that match no preset (left alone): {}",
            unmatched.join(", ")
        );
    }
    let rejected = std::fs::read_dir(s.area.dir(filearea::REJECTED))
        .map(|d| d.count())
        .unwrap_or(0);
    if rejected > 0 {
        say!(
            "refused files waiting for an operator in {}/: {rejected}",
            filearea::REJECTED
        );
    }
    Ok(exit::OK)
}
