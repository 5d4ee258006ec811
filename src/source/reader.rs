//! Streaming CSV reading (RFC 4180) into decoded rows with physical line numbers.

use super::preflight::Preflight;
use super::window::Window;
use crate::codes::{Code, Failure};
use crate::config::{Delimiter, Encoding};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;

/// The most columns a header may have. tool_sync's widest file, a users file enrolling in ten
/// courses (`course<N>`, `role<N>`, `enrol<N>`, `start<N>`, `end<N>`, `group<N>`) beside its
/// 25 own columns and a few dozen profile fields, has about 100, so a real SIS file is far
/// inside this. It also keeps a row's map within the scripts' default `max_map_size` (1,000),
/// so a file this wide still maps row by row instead of failing every row.
pub const MAX_COLUMNS: usize = 1_000;

#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub delimiter: Delimiter,
    pub encoding: Encoding,
    pub max_field_bytes: usize,
    /// A headerless file's column names; every line is data. A line may leave out trailing
    /// columns (they read as empty); extra values go to the last column, or fail the line
    /// when the file has only one column (empty extras are ignored).
    pub columns: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Header {
    /// Names trimmed and lower-cased: columns match without regard to case.
    pub columns: Vec<String>,
    /// File offsets of the header line's own bytes, for the tryback.
    pub start: u64,
    pub end: u64,
    pub line: u64,
}

/// One data row. `start..end` are offsets in the file of the row's original bytes (without
/// its line break), so a tryback can copy them byte for byte.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub start: u64,
    pub end: u64,
    pub fields: Vec<String>,
    /// Set when the row cannot be handed to a script (wrong field count, oversized field).
    pub problem: Option<Failure>,
    /// Bytes the row carries besides its cells (a picture entry's image), for the commands.
    pub payload: Option<std::sync::Arc<Vec<u8>>>,
}

pub struct CsvSource {
    reader: csv::Reader<Window<BufReader<File>>>,
    record: csv::ByteRecord,
    header: Header,
    opts: SourceOptions,
    bom_len: u64,
    name: String,
}

impl CsvSource {
    /// Opens the file and reads its header; a header problem refuses the whole file.
    pub fn open(path: &Path, opts: SourceOptions, pre: &Preflight) -> Result<CsvSource, Failure> {
        let name = file_name_of(path);
        let mut file = crate::filekind::open_input(path, &name)?;
        file.seek(SeekFrom::Start(pre.bom_len))
            .map_err(|e| Failure::new(Code::FileUnreadable, format!("{name}: cannot read: {e}")))?;
        let reader = csv::ReaderBuilder::new()
            .delimiter(opts.delimiter.0)
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .buffer_capacity(64 * 1024)
            .from_reader(Window::new(BufReader::with_capacity(64 * 1024, file)));
        let mut src = CsvSource {
            reader,
            record: csv::ByteRecord::new(),
            header: Header {
                columns: vec![],
                start: 0,
                end: 0,
                line: 0,
            },
            opts,
            bom_len: pre.bom_len,
            name,
        };
        src.header = match src.opts.columns.clone() {
            Some(columns) => Header {
                columns,
                start: 0,
                end: 0,
                line: 0,
            },
            None => src.read_header()?,
        };
        Ok(src)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    fn read_header(&mut self) -> Result<Header, Failure> {
        let name = self.name.clone();
        let Some((line, start, end)) = self.advance()? else {
            return Err(Failure::new(
                Code::FileEmpty,
                format!("{name}: no header line, only blank or # comment lines"),
            ));
        };
        // Refused before anything looks at the names: every later step (the script's
        // `header(columns)` array, the row map built per row) costs at least the column count.
        if self.record.len() > MAX_COLUMNS {
            return Err(Failure::new(
                Code::HeaderTooWide,
                format!(
                    "{name} line {line}: the header has {} columns; moosync reads at most {MAX_COLUMNS}; check that this is the right file, or split its columns over several files",
                    self.record.len()
                ),
            ));
        }
        let raw = self
            .reader
            .get_ref()
            .slice(start - self.bom_len, end - self.bom_len)
            .to_vec();
        let mut columns = Vec::with_capacity(self.record.len());
        for f in self.record.iter() {
            columns.push(self.decode(f).trim().to_lowercase());
        }
        if columns.len() == 1 {
            if let Some(found) = [b',', b';', b'\t', b'|']
                .into_iter()
                .find(|&d| d != self.opts.delimiter.0 && raw.contains(&d))
            {
                let shown = Delimiter(found).describe();
                let value = if found == b'\t' {
                    "tab".to_string()
                } else {
                    (found as char).to_string()
                };
                return Err(Failure::new(
                    Code::FileWrongDelimiter,
                    format!(
                        "{name} line {line}: the header has no {} but has {shown}: the file seems to use {shown} as its delimiter; set delimiter = \"{value}\" in [csv] of moosync.toml or in the file's preset",
                        self.opts.delimiter.describe()
                    ),
                ));
            }
        }
        // Each name's first column, so a repeated name is found in one pass.
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                let hint = if i + 1 == columns.len() {
                    " (a delimiter at the end of the header line?)"
                } else {
                    ""
                };
                return Err(Failure::new(
                    Code::HeaderEmptyName,
                    format!("{name} line {line}: column {} of the header has no name{hint}; name it or remove it", i + 1),
                ));
            }
            if let Some(j) = first_at.insert(c, i) {
                return Err(Failure::new(
                    Code::HeaderDuplicate,
                    format!("{name} line {line}: column '{c}' appears twice (columns {} and {}); keep one", j + 1, i + 1),
                ));
            }
        }
        Ok(Header {
            columns,
            start,
            end,
            line,
        })
    }

    /// Reads the next non-blank record into `self.record`: (line, start, end) in file offsets.
    fn advance(&mut self) -> Result<Option<(u64, u64, u64)>, Failure> {
        loop {
            let got = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| {
                    Failure::new(
                        Code::FileUnreadable,
                        format!("{}: cannot read: {e}", self.name),
                    )
                })?;
            if !got {
                return Ok(None);
            }
            let raw_start = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let raw_end = self.reader.position().byte();
            let win = self.reader.get_mut();
            let start = win.trim_start(raw_start, raw_end);
            let end = win.trim_end(start, raw_end).max(start);
            let line = win.line_of(start);
            win.consume_to(start);
            if self
                .record
                .iter()
                .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
            {
                continue; // a line of empty cells (`;;;`) is a blank line
            }
            return Ok(Some((line, start + self.bom_len, end + self.bom_len)));
        }
    }

    /// The next data row, or None at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row>, Failure> {
        let Some((line, start, end)) = self.advance()? else {
            return Ok(None);
        };
        let expected = self.header.columns.len();
        let got = self.record.len();
        let headerless = self.opts.columns.is_some();
        let mut problem = None;
        let surplus_empty = self
            .record
            .iter()
            .skip(expected)
            .all(|f| f.iter().all(|b| b.is_ascii_whitespace()));
        if headerless && got > expected && !surplus_empty && expected == 1 {
            problem = Some(Failure::new(
                Code::RowFieldCount,
                format!(
                    "{} line {line}: {got} values where this file takes one ({}); a value holding the delimiter needs quotes",
                    self.name,
                    self.header.columns.join(", ")
                ),
            ));
        } else if got != expected && !headerless {
            let multiline = self
                .record
                .iter()
                .any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
            let hint = if multiline {
                " (a quoted field spans several lines: is a closing quote missing?)"
            } else {
                ""
            };
            problem = Some(Failure::new(
                Code::RowFieldCount,
                format!(
                    "{} line {line}: {got} fields where the header has {expected}{hint}; fix the row so it has one value per column",
                    self.name
                ),
            ));
        } else if let Some(i) = self
            .record
            .iter()
            .position(|f| f.len() > self.opts.max_field_bytes)
        {
            problem = Some(Failure::new(
                Code::RowFieldTooLong,
                format!(
                    "{} line {line}: column '{}' holds {} bytes, over the limit of {} ([csv] max_field_bytes)",
                    self.name,
                    self.header.columns[i],
                    self.record[i].len(),
                    self.opts.max_field_bytes
                ),
            ));
        }
        let fields = if problem.is_some() {
            Vec::new()
        } else {
            let mut fields: Vec<String> = self
                .record
                .iter()
                .map(|f| self.decode(f).trim().to_string())
                .collect();
            if headerless && fields.len() > expected && !surplus_empty {
                // The last column of a headerless file takes the rest of the line (a
                // description holding the delimiter).
                fields.truncate(expected - 1);
                let sep = (self.opts.delimiter.0 as char).to_string();
                let rest: Vec<String> = self
                    .record
                    .iter()
                    .skip(expected - 1)
                    .map(|f| self.decode(f))
                    .collect();
                fields.push(rest.join(&sep).trim().to_string());
            }
            fields.resize(expected, String::new());
            fields
        };
        Ok(Some(Row {
            line,
            start,
            end,
            fields,
            problem,
            payload: None,
        }))
    }

    fn decode(&self, bytes: &[u8]) -> String {
        match self.opts.encoding {
            // Validated by the preflight pass; a lossy decode cannot change anything here.
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            // True ISO-8859-1: every byte is the code point of the same value.
            Encoding::Iso88591 => bytes.iter().map(|&b| b as char).collect(),
        }
    }
}

pub fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads the original bytes of rows from the input file, for the tryback.
pub fn read_ranges(
    path: &Path,
    ranges: &[(u64, u64)],
    mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = crate::filekind::open_regular(path)?;
    let mut buf = Vec::new();
    for &(s, e) in ranges {
        f.seek(SeekFrom::Start(s))?;
        buf.resize((e - s) as usize, 0);
        f.read_exact(&mut buf)?;
        each(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::preflight;

    fn open_header(header: &str) -> Result<CsvSource, Failure> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.csv");
        std::fs::write(&p, format!("{header}\nx\n")).unwrap();
        let opts = SourceOptions {
            delimiter: Delimiter(b';'),
            encoding: Encoding::Utf8,
            max_field_bytes: 1024,
            columns: None,
        };
        let pre = preflight(&p, opts.encoding)?;
        CsvSource::open(&p, opts, &pre)
    }

    fn columns(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn a_header_over_the_column_cap_is_refused_whole() {
        let ok = open_header(&columns(MAX_COLUMNS).join(";")).unwrap();
        assert_eq!(ok.header().columns.len(), MAX_COLUMNS);
        let e = open_header(&columns(200_000).join(";")).err().unwrap();
        assert_eq!(e.code, Code::HeaderTooWide);
        assert!(
            e.message.contains("200000 columns") && e.message.contains("at most 1000"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_repeated_column_names_both_places() {
        let mut cols = columns(MAX_COLUMNS - 1);
        cols.push("C5".into());
        let e = open_header(&cols.join(";")).err().unwrap();
        assert_eq!(e.code, Code::HeaderDuplicate);
        assert!(
            e.message
                .contains("'c5' appears twice (columns 6 and 1000)"),
            "{}",
            e.message
        );
    }
}
