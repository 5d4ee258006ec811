//! A reader that remembers the bytes it has handed to the CSV parser until they are consumed,
//! so each record's physical line number and exact byte range can be recovered.

use std::io::{self, Read};

pub struct Window<R> {
    inner: R,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Line breaks seen before `counted`.
    breaks: u64,
    counted: u64,
    last_was_cr: bool,
    /// A CR held back at the end of a read until the next byte tells whether an LF follows.
    held_cr: bool,
}

/// The CSV parser ends a `#` comment only at LF, so a lone CR (old Mac line ends, or a stray
/// one in a mixed file) would swallow the lines after a comment. Every lone CR is therefore
/// handed to the parser as LF; CRLF stays as it is. Byte for byte, so every offset stays true;
/// trybacks copy the original bytes from the file.
impl<R: Read> Read for Window<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() < 2 {
            return Err(io::Error::other(
                "Window needs a read buffer of at least 2 bytes",
            ));
        }
        loop {
            let start = usize::from(self.held_cr);
            if self.held_cr {
                out[0] = b'\r';
            }
            let n = self.inner.read(&mut out[start..])?;
            let mut total = start + n;
            if n == 0 {
                // End of input: a held CR is a lone one.
                if self.held_cr {
                    out[0] = b'\n';
                    self.held_cr = false;
                }
                self.buf.extend_from_slice(&out[..total]);
                return Ok(total);
            }
            for i in 0..total - 1 {
                if out[i] == b'\r' && out[i + 1] != b'\n' {
                    out[i] = b'\n';
                }
            }
            self.held_cr = out[total - 1] == b'\r';
            if self.held_cr {
                total -= 1;
            }
            if total > 0 {
                self.buf.extend_from_slice(&out[..total]);
                return Ok(total);
            }
        }
    }
}

impl<R> Window<R> {
    pub fn new(inner: R) -> Self {
        Window {
            inner,
            buf: Vec::with_capacity(128 * 1024),
            base: 0,
            breaks: 0,
            counted: 0,
            last_was_cr: false,
            held_cr: false,
        }
    }

    /// The bytes of `[start, end)`, which must not have been consumed yet.
    pub fn slice(&self, start: u64, end: u64) -> &[u8] {
        let s = (start.saturating_sub(self.base)) as usize;
        let e = ((end - self.base) as usize).min(self.buf.len());
        &self.buf[s.min(e)..e]
    }

    /// Skips blank and `#` comment lines and stray line-break bytes at the start of a record
    /// range, returning the offset where the record's own text begins.
    pub fn trim_start(&self, start: u64, end: u64) -> u64 {
        let bytes = self.slice(start, end);
        let mut i = 0;
        loop {
            while i < bytes.len() && (bytes[i] == b'\n' || bytes[i] == b'\r') {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'#' {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            break;
        }
        start + i as u64
    }

    /// Offset just before the trailing line break of a record range.
    pub fn trim_end(&self, start: u64, end: u64) -> u64 {
        let bytes = self.slice(start, end);
        let mut e = bytes.len();
        while e > 0 && (bytes[e - 1] == b'\n' || bytes[e - 1] == b'\r') {
            e -= 1;
        }
        start + e as u64
    }

    /// Physical line number (1-based) of the byte at `offset`; offsets must not go backwards.
    pub fn line_of(&mut self, offset: u64) -> u64 {
        if offset > self.counted {
            let from = (self.counted - self.base) as usize;
            let to = (offset - self.base) as usize;
            for &b in &self.buf[from..to] {
                // `\n` ends a line; a `\r` ends one once we see that no `\n` follows it.
                if b == b'\n' || self.last_was_cr {
                    self.breaks += 1;
                }
                self.last_was_cr = b == b'\r';
            }
            self.counted = offset;
        }
        // A record never starts between `\r` and `\n`, so a trailing `\r` is a finished break.
        self.breaks + 1 + u64::from(self.last_was_cr)
    }

    /// Forgets bytes before `offset` (all of them already counted), compacting now and then.
    pub fn consume_to(&mut self, offset: u64) {
        let upto = offset.min(self.counted);
        let drop = (upto - self.base) as usize;
        if drop > 64 * 1024 && drop * 2 > self.buf.len() {
            self.buf.drain(..drop);
            self.base = upto;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads through a reader that hands out at most `step` bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lone_cr_becomes_lf_and_crlf_stays_across_any_read_split() {
        let input = b"a\r\nb\r#c\rd\r\r\ne\r";
        for step in 1..input.len() + 1 {
            let mut w = Window::new(Trickle(input, step));
            let mut got = Vec::new();
            let mut chunk = [0u8; 3];
            loop {
                let n = w.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(got, b"a\r\nb\n#c\nd\n\r\ne\n", "step {step}");
        }
    }

    #[test]
    fn counts_lines_across_all_endings() {
        let mut w = Window::new(&b"a\r\nb\rc\n\nd"[..]);
        let mut sink = Vec::new();
        w.read_to_end(&mut sink).unwrap();
        assert_eq!(w.line_of(0), 1);
        assert_eq!(w.line_of(3), 2);
        assert_eq!(w.line_of(5), 3);
        assert_eq!(w.line_of(8), 5);
    }

    #[test]
    fn trims_comments_and_blank_lines() {
        let mut w = Window::new(&b"\n# note\n\r\nx;y\r\n"[..]);
        let mut sink = Vec::new();
        w.read_to_end(&mut sink).unwrap();
        let s = w.trim_start(0, 15);
        assert_eq!(w.slice(s, w.trim_end(s, 15)), b"x;y");
        assert_eq!(w.line_of(s), 4);
    }
}
