//! What a preset reads its rows from, chosen once by the preset: a CSV file, or a picture
//! archive (a zip or a folder) whose entries are the rows. The rest of a file's run sees one
//! `Input`: its rows, their count, the notes its report starts with, how its report names a
//! row, and the tryback that collects its failed rows.

use crate::codes::Failure;
use crate::config::Config;
use crate::pictures::source::PictureSource;
use crate::preset::Preset;
use crate::rules::Script;
use crate::sinks::{EntryListSink, Sink, TrybackSink};
use crate::source::{preflight, CsvSource, Preflight, Row, RowSource, SourceOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub trait Input: RowSource {
    /// How many rows it holds, for the progress bar.
    fn rows(&self) -> u64;

    /// Lines for the report before the rows (what was left out, and why).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// The names the report gives rows, row N being entry N-1; `None`: rows go by line.
    fn entry_names(&self) -> Option<Arc<Vec<String>>> {
        None
    }

    /// The sink that keeps the failed rows for replay, written at `path_for(extension)`.
    fn tryback(&self, path_for: &dyn Fn(&str) -> PathBuf) -> Box<dyn Sink + Send>;
}

/// A CSV file, its first pass (lines, line ending) done.
pub struct CsvInput {
    path: PathBuf,
    pre: Preflight,
    source: CsvSource,
}

impl RowSource for CsvInput {
    fn columns(&self) -> &[String] {
        self.source.columns()
    }

    fn next_row(&mut self) -> Result<Option<Row>, Failure> {
        self.source.next_row()
    }
}

impl Input for CsvInput {
    fn rows(&self) -> u64 {
        self.pre.lines.saturating_sub(1)
    }

    /// The failed rows' own lines, under the file's header, with its line ending and name.
    fn tryback(&self, path_for: &dyn Fn(&str) -> PathBuf) -> Box<dyn Sink + Send> {
        let ext = self
            .path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let h = self.source.header();
        Box::new(TrybackSink::new(
            self.path.clone(),
            (h.start, h.end),
            self.pre.line_ending,
            path_for(&ext),
        ))
    }
}

impl Input for PictureSource {
    fn rows(&self) -> u64 {
        self.len() as u64
    }

    fn notes(&self) -> Vec<String> {
        self.ignored()
            .iter()
            .map(|i| format!(
                "{} ignored: {}, not an image (resource forks, hidden files, links and special files are skipped)",
                i.name, i.what
            ))
            .collect()
    }

    fn entry_names(&self) -> Option<Arc<Vec<String>>> {
        Some(PictureSource::entry_names(self))
    }

    /// The names of the failed entries, one a line.
    fn tryback(&self, path_for: &dyn Fn(&str) -> PathBuf) -> Box<dyn Sink + Send> {
        Box::new(EntryListSink::new(
            PictureSource::entry_names(self),
            path_for(".txt"),
        ))
    }
}

/// How the report names the preset's input.
pub fn describe(preset: &Preset, cfg: &Config) -> String {
    if preset.reads_archives() {
        "images: a zip archive or a folder".to_string()
    } else {
        let opts = preset.source_options(cfg.csv.max_field_bytes);
        format!(
            "{}, delimiter {}",
            opts.encoding.label(),
            opts.delimiter.describe()
        )
    }
}

/// Opens the input the preset reads, and has the script's `header()` see its columns: any
/// failure refuses the file.
pub fn open(
    path: &Path,
    preset: &Preset,
    cfg: &Config,
    script: &Script,
) -> Result<Box<dyn Input>, Failure> {
    let name = crate::source::file_name_of(path);
    if preset.reads_archives() {
        let source = PictureSource::open(path, &cfg.pictures)?;
        script
            .check_header(source.columns())
            .map_err(|f| Failure::new(f.code, format!("{name}: {}", f.message)))?;
        return Ok(Box::new(source));
    }
    let (pre, source) = open_csv(path, preset.source_options(cfg.csv.max_field_bytes))?;
    script.check_header(&source.header().columns).map_err(|f| {
        Failure::new(
            f.code,
            format!("{name} line {}: {}", source.header().line, f.message),
        )
    })?;
    Ok(Box::new(CsvInput {
        path: path.to_path_buf(),
        pre,
        source,
    }))
}

/// Preflight and header of a CSV file.
fn open_csv(path: &Path, opts: SourceOptions) -> Result<(Preflight, CsvSource), Failure> {
    let pre = preflight(path, opts.encoding)?;
    let source = CsvSource::open(path, opts, &pre)?;
    Ok((pre, source))
}
