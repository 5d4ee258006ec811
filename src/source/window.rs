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
    /// For files whose lines end in a lone CR: the CSV parser's comment handling only knows
    /// LF, so CR is handed to it as LF (same length, so every offset stays true).
    cr_to_lf: bool,
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if self.cr_to_lf {
            out[..n]
                .iter_mut()
                .filter(|b| **b == b'\r')
                .for_each(|b| *b = b'\n');
        }
        self.buf.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

impl<R> Window<R> {
    pub fn new(inner: R, cr_to_lf: bool) -> Self {
        Window {
            inner,
            buf: Vec::with_capacity(128 * 1024),
            base: 0,
            breaks: 0,
            counted: 0,
            last_was_cr: false,
            cr_to_lf,
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

    #[test]
    fn counts_lines_across_all_endings() {
        let mut w = Window::new(&b"a\r\nb\rc\n\nd"[..], false);
        let mut sink = Vec::new();
        w.read_to_end(&mut sink).unwrap();
        assert_eq!(w.line_of(0), 1);
        assert_eq!(w.line_of(3), 2);
        assert_eq!(w.line_of(5), 3);
        assert_eq!(w.line_of(8), 5);
    }

    #[test]
    fn trims_comments_and_blank_lines() {
        let mut w = Window::new(&b"\n# note\n\r\nx;y\r\n"[..], false);
        let mut sink = Vec::new();
        w.read_to_end(&mut sink).unwrap();
        let s = w.trim_start(0, 15);
        assert_eq!(w.slice(s, w.trim_end(s, 15)), b"x;y");
        assert_eq!(w.line_of(s), 4);
    }
}
