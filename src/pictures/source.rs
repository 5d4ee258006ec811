//! A picture archive as rows: one per image entry, with the columns `file` (the entry's path
//! in the archive) and `user` (its file name without the extension), carrying the image.

use super::archive::{self, Limits, PictureArchive};
use crate::codes::Failure;
use crate::config::PicturesConfig;
use crate::source::{Row, RowSource};
use std::path::Path;
use std::sync::Arc;

/// Entries per batch: each carries its image, and a batch is rendered on all cores at once.
const BATCH: usize = 16;

pub struct PictureSource {
    archive: PictureArchive,
    columns: Vec<String>,
    next: usize,
}

impl PictureSource {
    /// Opens the archive; a corrupt one, or one over the limits, refuses the file.
    pub fn open(path: &Path, cfg: &PicturesConfig) -> Result<PictureSource, Failure> {
        const MIB: u64 = 1024 * 1024;
        let limits = Limits {
            max_entries: cfg.max_entries,
            max_unpacked_bytes: cfg.max_unpacked_mb.saturating_mul(MIB),
            max_ratio: cfg.max_ratio,
            max_entry_bytes: cfg.max_image_mb.saturating_mul(MIB),
        };
        Ok(PictureSource {
            archive: archive::open(path, &limits)?,
            columns: vec!["file".into(), "user".into()],
            next: 0,
        })
    }

    /// The entries' names in row order (row N is entry N-1), for the report and the tryback.
    pub fn entry_names(&self) -> Arc<Vec<String>> {
        Arc::new(
            self.archive
                .entries()
                .iter()
                .map(|e| e.name.clone())
                .collect(),
        )
    }

    pub fn ignored(&self) -> &[archive::Ignored] {
        self.archive.ignored()
    }

    pub fn len(&self) -> usize {
        self.archive.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RowSource for PictureSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_row(&mut self) -> Result<Option<Row>, Failure> {
        let index = self.next;
        let Some(entry) = self.archive.entries().get(index) else {
            return Ok(None);
        };
        self.next += 1;
        let fields = vec![entry.name.clone(), entry.stem.clone()];
        // An entry that cannot be read (unsafe name, too large, damaged) fails its own row.
        let (problem, payload) = match self.archive.read(index) {
            Ok(bytes) => (None, Some(Arc::new(bytes))),
            Err(f) => (Some(f), None),
        };
        Ok(Some(Row {
            line: index as u64 + 1,
            start: 0,
            end: 0,
            fields,
            problem,
            payload,
        }))
    }

    fn batch_limit(&self) -> usize {
        BATCH
    }
}
