//! Reading a log line by line with bounded memory.
//!
//! A line longer than the limit is not buffered: its first `max_line_bytes` are kept
//! (for the dead-letter record) and the rest is skipped up to the next newline.

use memchr::memchr;
use std::io::{self, BufRead};

/// Default longest line kept whole. Real lines stay under a few KiB (the longest
/// `COMBATANT_INFO` in the fixtures is 2.5 KiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// One line as read, without its terminator (`\n` or `\r\n`).
#[derive(Debug)]
pub struct RawLine<'a> {
    /// 1-based line number.
    pub number: i64,
    pub bytes: &'a [u8],
    /// The full length when the line was longer than the limit and `bytes` is its start.
    pub truncated_from: Option<u64>,
}

/// Splits a byte stream into lines, never holding more than one capped line.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_line_bytes: usize,
    number: i64,
    bytes_read: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_max_line_bytes(inner, DEFAULT_MAX_LINE_BYTES)
    }

    pub fn with_max_line_bytes(inner: R, max_line_bytes: usize) -> Self {
        Self { inner, buf: Vec::with_capacity(1024), max_line_bytes, number: 0, bytes_read: 0 }
    }

    /// Bytes consumed from the underlying reader so far (after decompression).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The reader underneath, for a caller that reads it whole instead (the parallel
    /// parser, before any line was read).
    pub(crate) fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The line limit this reader applies.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        Ok(self.advance()?.map(|meta| self.line(meta)))
    }

    /// Reads the next line into the buffer and describes it without borrowing it, so a
    /// caller can skip lines in a loop and borrow only the one it keeps.
    pub(crate) fn advance(&mut self) -> io::Result<Option<LineMeta>> {
        self.buf.clear();
        let mut length: u64 = 0;
        let mut saw_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (chunk, consumed, done) = match memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.max_line_bytes.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            length += chunk.len() as u64;
            self.inner.consume(consumed);
            self.bytes_read += consumed as u64;
            if done {
                break;
            }
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') && length as usize == self.buf.len() {
            self.buf.pop();
            length -= 1;
        }
        let start = if self.number == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let truncated_from = (length > self.buf.len() as u64).then_some(length);
        Ok(Some(LineMeta { number: self.number, start, truncated_from }))
    }

    /// The line that [`Self::advance`] read.
    pub(crate) fn line(&self, meta: LineMeta) -> RawLine<'_> {
        RawLine { number: meta.number, bytes: &self.buf[meta.start..], truncated_from: meta.truncated_from }
    }
}

/// A line in a [`LineReader`]'s buffer, described without borrowing it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineMeta {
    pub number: i64,
    start: usize,
    pub truncated_from: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(i64, Vec<u8>, Option<u64>)> {
        let mut reader = LineReader::with_max_line_bytes(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((line.number, line.bytes.to_vec(), line.truncated_from));
        }
        out
    }

    #[test]
    fn splits_on_newlines_and_strips_carriage_returns() {
        assert_eq!(
            lines(b"a,b\r\ncd\n\nlast", 100),
            vec![
                (1, b"a,b".to_vec(), None),
                (2, b"cd".to_vec(), None),
                (3, b"".to_vec(), None),
                (4, b"last".to_vec(), None)
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_on_the_first_line_is_dropped() {
        assert_eq!(lines(b"\xEF\xBB\xBFx\n", 100), vec![(1, b"x".to_vec(), None)]);
    }

    #[test]
    fn an_overlong_line_keeps_its_start_and_its_true_length() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input, 16);
        assert_eq!(got[0], (1, vec![b'x'; 16], Some(10_000)));
        assert_eq!(got[1], (2, b"next".to_vec(), None));
    }
}
