//! `moosync files`: the local file manager. Paths name places inside the data folder only.

use super::exit;
use crate::filearea::{self, FileArea};
use crate::filemanager;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum FilesCmd {
    /// List the files of one area (inbox, Reports, Archives, Trybacks, Rejected, Held…) or of all.
    List { area: Option<String> },
    /// Copy a file into inbox/ (an operator's last-minute file); an existing name is never overwritten.
    Add {
        source: PathBuf,
        /// The name to give it in inbox/ (default: its own name).
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
    },
    /// Copy a file of the data folder (e.g. Reports/x.txt) to DEST, or print it.
    Get { path: String, dest: Option<PathBuf> },
    /// Remove a file of the data folder (e.g. Trybacks/x.csv).
    Rm { path: String },
    /// Send a tryback back to inbox/ (e.g. Trybacks/userimport_tryback_….csv): the next run
    /// replays its rows with the preset of the file it came from.
    Retry { path: String },
    /// Remove reports, archives and trybacks older than DAYS (all three unless some are named).
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove what was last modified more than DAYS days ago (1 or more).
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    older_than: u64,
    /// Prune Reports/.
    #[arg(long)]
    reports: bool,
    /// Prune Archives/ (an archived folder goes whole).
    #[arg(long)]
    archives: bool,
    /// Prune Trybacks/.
    #[arg(long)]
    trybacks: bool,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print only the total.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_days(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("DAYS must be 1 or more (0 would remove everything)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("DAYS must be a whole number of days, 1 or more".into()),
    }
}

pub fn run(data: &Path, cmd: FilesCmd) -> i32 {
    let area = FileArea::new(data);
    if !area.root().is_dir() {
        warn!(
            "moosync: {} does not exist; run `moosync --data {} init` first",
            data.display(),
            data.display()
        );
        return exit::INPUT_ERROR;
    }
    // Verbs that change the data folder wait for no run: one going holds the lock, and a
    // file it reads or is about to archive must not change under it.
    let _lock = match &cmd {
        FilesCmd::Add { .. }
        | FilesCmd::Rm { .. }
        | FilesCmd::Retry { .. }
        | FilesCmd::Prune(_) => match filemanager::lock(&area) {
            Ok(lock) => Some(lock),
            Err(e) => {
                warn!("moosync: {e}");
                return match e {
                    filemanager::Refused::Locked(_) => exit::LOCKED,
                    filemanager::Refused::Other(_) => exit::INPUT_ERROR,
                };
            }
        },
        FilesCmd::List { .. } | FilesCmd::Get { .. } => None,
    };
    let result = match cmd {
        FilesCmd::List { area: which } => list(&area, which.as_deref()),
        FilesCmd::Add { source, name } => add(&area, &source, name.as_deref()),
        FilesCmd::Get { path, dest } => get(&area, &path, dest.as_deref()),
        FilesCmd::Rm { path } => rm(&area, &path),
        FilesCmd::Retry { path } => filemanager::retry(&area, &path).map(|to| {
            say!("moved {path} to {}", filemanager::shown(&area, &to));
        }),
        FilesCmd::Prune(args) => return prune(&area, args),
    };
    match result {
        Ok(()) => exit::OK,
        Err(msg) => {
            warn!("moosync: {msg}");
            exit::INPUT_ERROR
        }
    }
}

fn list(area: &FileArea, which: Option<&str>) -> Result<(), String> {
    let areas = match which {
        Some(a) => vec![filemanager::area_named(area, a)?],
        None => filemanager::areas(area),
    };
    for a in areas {
        for e in filemanager::list(area, a)? {
            say!("{:>12}  {}  {}", e.size, e.modified(), e.path);
        }
    }
    Ok(())
}

fn add(area: &FileArea, source: &Path, name: Option<&str>) -> Result<(), String> {
    let name = match name {
        Some(n) => n.to_string(),
        None => source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or("the source has no file name")?,
    };
    if let Some(why) = filemanager::name_problem(&name) {
        return Err(why);
    }
    // Told by its metadata: a FIFO or a device is never opened.
    match crate::filekind::not_regular(source) {
        Ok(None) => {}
        Ok(Some(what)) => {
            return Err(format!(
                "{} is {what}, not a regular file; only files are added to inbox/",
                source.display()
            ))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", source.display())),
    }
    let mut from = std::fs::File::open(source)
        .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
    let put = filemanager::add(area, &name, &mut from, None)?;
    let rel = filemanager::shown(area, &put);
    if put != area.dir(filearea::INBOX).join(&name) {
        say!("added {rel} (inbox/{name} was already waiting; both are kept, and this one runs after it with the same preset)");
    } else {
        say!("added {rel}");
    }
    Ok(())
}

fn get(area: &FileArea, path: &str, dest: Option<&Path>) -> Result<(), String> {
    let full = filemanager::file(area, path)?;
    match dest {
        Some(d) => {
            let d = if d.is_dir() {
                d.join(full.file_name().unwrap_or_default())
            } else {
                d.to_path_buf()
            };
            let put = filearea::copy_atomic(&full, &d)
                .map_err(|e| format!("cannot copy to {}: {e}", d.display()))?;
            say!("copied {path} to {}", put.display());
        }
        None => {
            let bytes = std::fs::read(&full).map_err(|e| e.to_string())?;
            match std::io::stdout().write_all(&bytes) {
                // The reader left (`moosync files get … | head`): nothing more to do.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.map_err(|e| e.to_string())?,
            }
        }
    }
    Ok(())
}

fn rm(area: &FileArea, path: &str) -> Result<(), String> {
    filemanager::remove(area, path)?;
    say!("removed {path}");
    Ok(())
}

fn prune(area: &FileArea, args: PruneArgs) -> i32 {
    use crate::prune::{self, Which};
    let mut which = Which {
        reports: args.reports,
        archives: args.archives,
        trybacks: args.trybacks,
    };
    if which.areas().is_empty() {
        which = Which::ALL;
    }
    let older_than = prune::days(args.older_than);
    let now = std::time::SystemTime::now();
    let done = if args.dry_run {
        prune::preview(area, older_than, which, now)
    } else {
        prune::prune(area, older_than, which, now)
    };
    if !args.quiet {
        for p in &done.removed {
            say!("{}", p.strip_prefix(area.root()).unwrap_or(p).display());
        }
    }
    for problem in &done.problems {
        warn!("moosync: {problem}");
    }
    let mib = done.bytes as f64 / (1024.0 * 1024.0);
    let n = done.removed.len();
    let files = if n == 1 { "file" } else { "files" };
    if args.dry_run {
        say!("would prune {n} {files} ({mib:.1} MiB); dry run, nothing removed");
    } else {
        say!("pruned {n} {files} ({mib:.1} MiB)");
    }
    if done.problems.is_empty() {
        exit::OK
    } else {
        // 1: done in part; the messages above name what is left.
        exit::ROWS_FAILED
    }
}
