//! A first streaming pass over an input file, so that a file-level problem (empty, binary,
//! not the declared encoding) refuses the whole file before any row is applied.

use crate::codes::{Code, Failure};
use crate::config::Encoding;
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Preflight {
    /// Length of a UTF-8 byte-order mark at the start (0 or 3).
    pub bom_len: u64,
    /// Physical lines in the file, for the progress bar.
    pub lines: u64,
    /// The first line ending found; trybacks are written with it.
    pub line_ending: LineEnding,
    pub size: u64,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub fn preflight(path: &Path, encoding: Encoding) -> Result<Preflight, Failure> {
    let name = super::file_name_of(path);
    let unreadable =
        |e: std::io::Error| Failure::new(Code::FileUnreadable, format!("{name}: cannot read: {e}"));
    let mut file = crate::filekind::open_input(path, &name)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    let mut lines = 0u64;
    let mut ending: Option<LineEnding> = None;
    let mut last_byte = None;
    let mut bom_len = 0;
    let mut first = true;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if first {
            first = false;
            if chunk.starts_with(BOM) {
                bom_len = 3;
            }
            let probe = &chunk[..chunk.len().min(64 * 1024)];
            if let Some(how) = utf16(probe) {
                return Err(Failure::new(
                    Code::FileUtf16,
                    format!("{name}: this is UTF-16 text ({how}), which moosync does not read; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8 {name} > utf8.csv, then drop utf8.csv as {name}), or export it as UTF-8 (Excel: \"CSV UTF-8\")"),
                ));
            }
            if probe.contains(&0) {
                return Err(Failure::new(
                    Code::FileBinary,
                    format!("{name}: this is not a text file (it holds NUL bytes); check that the right file was dropped"),
                ));
            }
        }
        if ending.is_none() {
            ending = detect_ending(chunk);
        }
        if encoding == Encoding::Utf8 {
            // Validate across chunk boundaries: an incomplete sequence at the end is carried.
            let mut data = std::mem::take(&mut carry);
            data.extend_from_slice(chunk);
            check_utf8(&data, &mut carry, lines, &name)?;
        }
        lines += count_breaks(chunk, &mut last_byte) as u64;
        offset += n as u64;
    }
    if !carry.is_empty() {
        return Err(not_utf8(&name, lines + 1));
    }
    if offset == 0 || offset == bom_len {
        return Err(Failure::new(
            Code::FileEmpty,
            format!("{name}: the file is empty; the feed that wrote it may have failed"),
        ));
    }
    // A last line without a line break, or a final lone `\r`, still ends a line.
    if last_byte.is_some_and(|b| b != b'\n') {
        lines += 1;
    }
    Ok(Preflight {
        bom_len,
        lines,
        line_ending: ending.unwrap_or(LineEnding::Lf),
        size: offset,
    })
}

/// How the start of a file shows it is UTF-16: its byte-order mark, or the NUL bytes that
/// ASCII text has every other byte in UTF-16 (Excel's "Unicode text" has no BOM at times).
fn utf16(probe: &[u8]) -> Option<&'static str> {
    match probe {
        [0xFF, 0xFE, ..] => return Some("little-endian byte-order mark"),
        [0xFE, 0xFF, ..] => return Some("big-endian byte-order mark"),
        _ => {}
    }
    // Text in UTF-16 has a NUL beside nearly every ASCII character, all on one side (odd
    // offsets little-endian, even big-endian); a binary file's NULs fall anywhere.
    let pairs = probe.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0, 0);
    for pair in probe.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let mostly = |n: usize| n * 10 >= pairs * 7;
    if mostly(odd) && even == 0 {
        Some("NUL bytes after each character: little-endian")
    } else if mostly(even) && odd == 0 {
        Some("NUL bytes before each character: big-endian")
    } else {
        None
    }
}

fn check_utf8(
    chunk: &[u8],
    carry: &mut Vec<u8>,
    lines_before: u64,
    name: &str,
) -> Result<(), Failure> {
    match std::str::from_utf8(chunk) {
        Ok(_) => Ok(()),
        Err(e) if e.error_len().is_none() => {
            carry.extend_from_slice(&chunk[e.valid_up_to()..]);
            Ok(())
        }
        Err(e) => {
            let mut last = None;
            let line = lines_before + count_breaks(&chunk[..e.valid_up_to()], &mut last) as u64 + 1;
            Err(not_utf8(name, line))
        }
    }
}

fn not_utf8(name: &str, line: u64) -> Failure {
    Failure::new(
        Code::FileNotUtf8,
        format!(
            "{name}: line {line} is not valid UTF-8; save the file as UTF-8, or set encoding = \"windows-1252\" (or \"iso-8859-1\") in [csv] or in the file's preset"
        ),
    )
}

/// Counts line breaks (`\n`, `\r\n`, lone `\r`); `last` carries the previous chunk's last byte.
fn count_breaks(chunk: &[u8], last: &mut Option<u8>) -> usize {
    let mut n = 0;
    let mut prev = last.unwrap_or(0);
    for &b in chunk {
        // `\n` always ends a line; a `\r` ends one only when no `\n` follows it.
        if b == b'\n' || prev == b'\r' {
            n += 1;
        }
        prev = b;
    }
    if let Some(&b) = chunk.last() {
        *last = Some(b);
    }
    n
}

fn detect_ending(chunk: &[u8]) -> Option<LineEnding> {
    let i = chunk.iter().position(|&b| b == b'\n' || b == b'\r')?;
    Some(match (chunk[i], chunk.get(i + 1)) {
        (b'\n', _) => LineEnding::Lf,
        (b'\r', Some(b'\n')) => LineEnding::CrLf,
        (b'\r', Some(_)) => LineEnding::Cr,
        (b'\r', None) => LineEnding::CrLf,
        _ => unreachable!(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8], enc: Encoding) -> Result<Preflight, Failure> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.csv");
        std::fs::write(&p, bytes).unwrap();
        preflight(&p, enc)
    }

    #[test]
    fn counts_lines_for_every_ending() {
        assert_eq!(run(b"a\nb\nc\n", Encoding::Utf8).unwrap().lines, 3);
        assert_eq!(run(b"a\r\nb\r\nc", Encoding::Utf8).unwrap().lines, 3);
        assert_eq!(run(b"a\rb\rc\r", Encoding::Utf8).unwrap().lines, 3);
        assert_eq!(
            run(b"a\rb\rc\r", Encoding::Utf8).unwrap().line_ending,
            LineEnding::Cr
        );
        assert_eq!(
            run(b"\xEF\xBB\xBFa\r\n", Encoding::Utf8).unwrap().bom_len,
            3
        );
    }

    #[test]
    fn refuses_empty_binary_and_bad_utf8_naming_the_line() {
        assert_eq!(run(b"", Encoding::Utf8).unwrap_err().code, Code::FileEmpty);
        assert_eq!(
            run(b"\xEF\xBB\xBF", Encoding::Utf8).unwrap_err().code,
            Code::FileEmpty
        );
        assert_eq!(
            run(b"PK\x03\x04\x00\x00", Encoding::Utf8).unwrap_err().code,
            Code::FileBinary
        );
        let e = run(b"a;b\nc;d\r\ncaf\xE9;x\n", Encoding::Utf8).unwrap_err();
        assert_eq!(e.code, Code::FileNotUtf8);
        assert!(e.message.contains("line 3"), "{}", e.message);
        assert!(run(b"caf\xE9\n", Encoding::Windows1252).is_ok());
    }

    #[test]
    fn utf16_is_named_with_how_to_convert_it() {
        let le: Vec<u8> = "username;firstname\njdoe;J\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "username;firstname\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        for (bytes, how) in [
            (
                [&[0xFF, 0xFE][..], &le].concat(),
                "little-endian byte-order mark",
            ),
            (
                [&[0xFE, 0xFF][..], &be].concat(),
                "big-endian byte-order mark",
            ),
            (le.clone(), "after each character: little-endian"),
            (be.clone(), "before each character: big-endian"),
        ] {
            let e = run(&bytes, Encoding::Utf8).unwrap_err();
            assert_eq!(e.code, Code::FileUtf16, "{how}");
            assert!(e.message.contains(how), "{}", e.message);
            assert!(
                e.message.contains("iconv -f UTF-16 -t UTF-8 f.csv"),
                "{}",
                e.message
            );
            let e = run(&bytes, Encoding::Windows1252).unwrap_err();
            assert_eq!(e.code, Code::FileUtf16);
        }
        // A binary file's NULs are no UTF-16 text.
        assert_eq!(
            run(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", Encoding::Utf8)
                .unwrap_err()
                .code,
            Code::FileBinary
        );
    }

    #[test]
    fn utf8_sequence_split_across_chunks_is_fine() {
        let mut big = vec![b'a'; 256 * 1024 - 1];
        big.extend_from_slice("é\n".as_bytes());
        assert!(run(&big, Encoding::Utf8).is_ok());
    }
}
