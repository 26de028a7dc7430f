//! Where a followed file's bytes go: a deployment (`--server`) or an analysis on the
//! spot (`--local`).

use std::time::Duration;

/// A piece of a followed file.
pub struct Piece<'a> {
    /// The file's name (no folder).
    pub name: &'a str,
    /// Its key: the hex SHA-256 of its first line.
    pub key: &'a str,
    pub offset: u64,
    pub bytes: &'a [u8],
}

/// What became of a piece, or of a close.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Taken: the next piece starts here (before the piece's end when the other side
    /// asks for bytes again, after it when it already had them).
    Next(u64),
    /// The file's log is complete; nothing more is taken.
    Closed,
    /// Not now: try again after this long (the server is unreachable, or busy).
    Retry { after: Duration, why: String },
    /// Never: this file is refused, for this reason.
    Refused(String),
}

/// See the module's documentation.
pub trait Sink {
    fn send(&mut self, piece: Piece<'_>) -> anyhow::Result<Sent>;
    /// The file is finished at `bytes`.
    fn close(&mut self, name: &str, key: &str, bytes: u64) -> anyhow::Result<Sent>;
}
