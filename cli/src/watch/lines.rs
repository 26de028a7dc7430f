//! Complete lines out of the pieces of a file being written, read as the parser reads
//! them (`wowlogs_parser::LineReader`): numbered from 1, the line end (`\n` or `\r\n`)
//! stripped, a byte-order mark before the first line dropped, a line longer than the
//! parser's limit kept to its start and marked. A line is handed out only once its
//! newline is written: the game writes in blocks that cut lines, and characters.

use wowlogs_parser::DEFAULT_MAX_LINE_BYTES;

/// See the module's documentation.
#[derive(Debug, Default)]
pub struct LineScan {
    /// The unfinished line: at most the limit's worth of its start.
    carry: Vec<u8>,
    /// Its whole length so far.
    carried: u64,
    number: i64,
}

/// A complete line.
#[derive(Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: i64,
    pub bytes: &'a [u8],
    /// The line was longer than the limit: `bytes` is its start.
    pub truncated: bool,
}

impl LineScan {
    /// Takes the next piece of the file, handing out each line it completes.
    pub fn feed(&mut self, mut piece: &[u8], mut each: impl FnMut(Line<'_>)) {
        while let Some(end) = memchr::memchr(b'\n', piece) {
            self.keep(&piece[..end]);
            self.emit(&mut each);
            piece = &piece[end + 1..];
        }
        self.keep(piece);
    }

    /// The file is closed: its last line, if it has no newline, is complete too.
    pub fn finish(&mut self, mut each: impl FnMut(Line<'_>)) {
        if self.carried > 0 {
            self.emit(&mut each);
        }
    }

    /// Lines handed out so far.
    pub fn lines(&self) -> i64 {
        self.number
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = DEFAULT_MAX_LINE_BYTES.saturating_sub(self.carry.len());
        self.carry.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.carried += bytes.len() as u64;
    }

    fn emit(&mut self, each: &mut impl FnMut(Line<'_>)) {
        self.number += 1;
        let truncated = self.carried > self.carry.len() as u64;
        let mut line = &self.carry[..];
        if !truncated && let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if self.number == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        each(Line { number: self.number, bytes: line, truncated });
        self.carry.clear();
        self.carried = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wowlogs_parser::LineReader;

    fn scanned(pieces: &[&[u8]]) -> Vec<(i64, Vec<u8>, bool)> {
        let mut scan = LineScan::default();
        let mut out = Vec::new();
        for piece in pieces {
            scan.feed(piece, |l| out.push((l.number, l.bytes.to_vec(), l.truncated)));
        }
        scan.finish(|l| out.push((l.number, l.bytes.to_vec(), l.truncated)));
        out
    }

    #[test]
    fn lines_cut_anywhere_come_out_as_the_parser_reads_the_whole_file() {
        let mut file = b"\xEF\xBB\xBF4/2/2026 20:00:00.000-4  COMBAT_LOG_VERSION,22\r\n".to_vec();
        file.extend_from_slice("4/2 20:00:01.000  SPELL_CAST_SUCCESS,\"Кастиэлка\"\r\n\r\nlast".as_bytes());
        let mut whole = Vec::new();
        let mut reader = LineReader::new(&file[..]);
        while let Some(line) = reader.next_line().unwrap() {
            whole.push((line.number, line.bytes.to_vec(), line.truncated_from.is_some()));
        }
        for size in 1..file.len() {
            let pieces: Vec<&[u8]> = file.chunks(size).collect();
            assert_eq!(scanned(&pieces), whole, "pieces of {size} bytes");
        }
    }

    #[test]
    fn a_line_longer_than_the_parsers_limit_is_kept_to_its_start_and_marked() {
        let long = vec![b'x'; DEFAULT_MAX_LINE_BYTES + 100];
        let lines = scanned(&[&long[..1000], &long[1000..], b"\r\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].1.len(), lines[0].2), (DEFAULT_MAX_LINE_BYTES, true));
        assert_eq!(lines[1], (2, b"next".to_vec(), false));
    }
}
