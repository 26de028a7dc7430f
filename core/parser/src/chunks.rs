//! A reader over a log that arrives in pieces (a live session's chunks, a followed
//! file's reads): the [`LogReader`](crate::LogReader) sees one continuous stream, so a
//! line cut between two pieces, or a character cut inside its UTF-8 bytes, is read
//! exactly as in the whole file.

use std::io::{self, BufRead, Read};

/// A [`BufRead`] over the pieces `next` hands out, in order: `Ok(Some(bytes))` is the
/// next piece, `Ok(None)` the end of the log, `Err` a stop (the reader fails with it).
/// `next` may block until a piece arrives.
pub struct ChunkReader<F> {
    next: F,
    piece: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<F: FnMut() -> io::Result<Option<Vec<u8>>>> ChunkReader<F> {
    pub fn new(next: F) -> Self {
        Self { next, piece: Vec::new(), at: 0, ended: false }
    }
}

impl<F: FnMut() -> io::Result<Option<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<F: FnMut() -> io::Result<Option<Vec<u8>>>> BufRead for ChunkReader<F> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.piece.len() && !self.ended {
            match (self.next)()? {
                Some(piece) => {
                    self.piece = piece;
                    self.at = 0;
                }
                None => self.ended = true,
            }
        }
        Ok(&self.piece[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.piece.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LogReader, ParseOptions, ParsedLine, YearHint};

    const LOG: &str = "4/2/2026 20:00:00.000-4  COMBAT_LOG_VERSION,22,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.2.0,PROJECT_ID,1\r\n\
4/2/2026 20:00:01.000-4  SPELL_CAST_SUCCESS,Player-1-0000000A,\"Кастиэлка-Ревущийфьорд-EU\",0x511,0x80000000,0000000000000000,nil,0x80000000,0x80000000,774,\"Омоложение\",0x8\r\n\
this line is not an event\r\n\
4/2/2026 20:00:02.000-4  SPELL_CAST_SUCCESS,Player-1-0000000A,\"Кастиэлка-Ревущийфьорд-EU\",0x511,0x80000000,0000000000000000,nil,0x80000000,0x80000000,774,\"Омоложение\",0x8";

    fn parsed(reader: impl BufRead) -> Vec<String> {
        LogReader::new(reader, ParseOptions::new(YearHint::FirstLineIn(2026)))
            .map(|line| match line.unwrap() {
                ParsedLine::Event(event) => format!("{event:?}"),
                ParsedLine::Malformed(bad) => format!("{:?} {:?}", bad.error, bad.raw),
            })
            .collect()
    }

    #[test]
    fn pieces_cut_anywhere_read_as_the_whole_log() {
        let whole = parsed(LOG.as_bytes());
        assert_eq!(whole.len(), 4);
        // Every cut: inside the CRLF, inside a Cyrillic character, between lines.
        for size in 1..=LOG.len() {
            let mut pieces = LOG.as_bytes().chunks(size).map(<[u8]>::to_vec).collect::<Vec<_>>().into_iter();
            assert_eq!(parsed(ChunkReader::new(|| Ok(pieces.next()))), whole, "pieces of {size} bytes");
        }
    }

    #[test]
    fn an_empty_piece_is_not_the_end_and_a_stop_is_an_error() {
        let mut pieces = vec![b"ab".to_vec(), Vec::new(), b"c".to_vec()].into_iter();
        let mut text = String::new();
        ChunkReader::new(|| Ok(pieces.next())).read_to_string(&mut text).unwrap();
        assert_eq!(text, "abc");
        let mut stopped = ChunkReader::new(|| Err(io::Error::other("session parked")));
        assert_eq!(stopped.fill_buf().unwrap_err().to_string(), "session parked");
    }
}
