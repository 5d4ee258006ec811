//! `moosync problems`: the failed rows of the recent runs, with what to do about each.

use super::exit;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ProblemsArgs {
    /// How many runs back to look (the last run: 1).
    #[arg(long, default_value_t = crate::overview::RECENT_RUNS, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Write CSV (tool, file, line, code, message, remedy, dry_run, when).
    #[arg(long)]
    csv: bool,
}

pub fn run(data: &Path, args: ProblemsArgs) -> i32 {
    super::exit_code((|| {
        let s = crate::setup::load(data)?;
        let problems = crate::problems::recent(&s, args.runs)?;
        if args.csv {
            let mut out = std::io::stdout().lock();
            // A reader that left early (`| head`) is no error.
            let _ = crate::problems::write_csv(&mut out, &problems);
            return Ok(exit::OK);
        }
        if problems.is_empty() {
            say!("no failed rows in the last {} run(s)", args.runs);
            return Ok(exit::OK);
        }
        let mut file = None;
        for p in &problems {
            if file != Some(p.file_id) {
                file = Some(p.file_id);
                let dry = if p.dry_run { " (dry run)" } else { "" };
                say!("{} {}, {}{dry}", p.tool, p.file, p.finished);
            }
            let at = p
                .line
                .map_or("whole file".to_string(), |l| format!("line {l}"));
            say!("  {at}: {} {}", p.code, p.message);
            let remedy = crate::problems::remedy(&p.code);
            if !remedy.is_empty() {
                say!("    what to do: {remedy}");
            }
        }
        let rows = problems.iter().filter(|p| p.line.is_some()).count();
        say!(
            "{rows} failed row(s), {} file(s) refused or stopped, in the last {} run(s)",
            problems.len() - rows,
            args.runs
        );
        Ok(exit::OK)
    })())
}
