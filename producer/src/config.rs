//! The upload service's settings (set from the command line and `WOWLOGS_*` variables by
//! `wowlogs serve`; documented in docs/configuration.md).

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// The settings of the upload use case.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Largest accepted upload, in bytes (compressed size as sent).
    pub max_upload_bytes: u64,
    /// Largest size an upload may expand to once decompressed (its logs together); an
    /// upload also may not expand more than [`crate::uploads::MAX_EXPANSION`] times past 64 MiB.
    pub max_decompressed_bytes: u64,
    /// Logs one upload may hold (the entries of a zip): one upload is one raid night or a
    /// few; years of logs go through `wowlogs import`, which resumes and reports per log.
    /// Beyond it the upload is refused (413) before anything is published, so one request
    /// cannot hold the service for hours nor fill the upload-state topic.
    pub max_logs_per_upload: usize,
    /// Events each guild may publish per minute, over all its keys (each key also has
    /// its own limit, from the registry).
    pub guild_events_per_minute: NonZeroU32,
    /// Upload requests each guild may make per minute, over all its keys, whatever their
    /// outcome (accepted, duplicate or refused): a guild sending bad uploads in a loop is
    /// answered 429 before anything is read or published.
    pub guild_uploads_per_minute: NonZeroU32,
    /// Where upload bodies are spooled while they are hashed and parsed.
    pub spool_dir: PathBuf,
    /// Unacknowledged messages per upload before parsing waits for the broker.
    pub max_in_flight: usize,
    /// Threads parsing each log of an upload (1 by default: uploads of many guilds share
    /// the cores, and an upload with more threads would take more than its share of
    /// them). Live sessions always parse on one.
    pub parse_threads: usize,
    /// Uploads in progress at once (from the first byte received to the last event
    /// published), over every guild and per guild; 429 beyond.
    pub max_concurrent_uploads: usize,
    pub max_concurrent_uploads_per_guild: usize,
    /// Bytes the uploads in progress may hold in the spool together (507 beyond).
    pub max_spool_bytes: u64,
    /// Bytes one guild's uploads in progress may hold in this replica's spool together
    /// (429 beyond): one guild's slow uploads cannot fill the spool for the others.
    pub max_spool_bytes_per_guild: u64,
    /// Longest wait for the next piece of an upload's body (408 beyond).
    pub body_idle_timeout: Duration,
    /// Longest an upload's whole body may take to arrive (408 beyond): a client trickling
    /// a byte now and then gives its slot and spool back too.
    pub body_timeout: Duration,
    /// Bytes each guild's uploads may expand to per hour, together (429 beyond).
    pub guild_decompressed_per_hour: u64,
    /// Upload service replicas sharing the per-guild and per-key limits above: each
    /// enforces its share (the limit divided by this, at least 1), so together they hold
    /// the limit whichever replica each upload reaches.
    pub replicas: u32,
    /// Live sessions (`wowlogs watch`): see [`LiveConfig`].
    pub live: LiveConfig,
}

pub use wowlogs_http::replicas::share;

impl UploadConfig {
    /// The per-guild limits as this replica enforces them: its share of each.
    pub(crate) fn per_replica(mut self) -> Self {
        let replicas = self.replicas;
        let events = share(u64::from(self.guild_events_per_minute.get()), replicas);
        self.guild_events_per_minute = NonZeroU32::new(events as u32).unwrap_or(NonZeroU32::MIN);
        let uploads = share(u64::from(self.guild_uploads_per_minute.get()), replicas);
        self.guild_uploads_per_minute = NonZeroU32::new(uploads as u32).unwrap_or(NonZeroU32::MIN);
        self.max_concurrent_uploads_per_guild =
            share(self.max_concurrent_uploads_per_guild as u64, replicas) as usize;
        self.guild_decompressed_per_hour = share(self.guild_decompressed_per_hour, replicas);
        self.live.max_sessions_per_guild = share(self.live.max_sessions_per_guild as u64, replicas) as usize;
        self
    }
}

/// The live sessions' settings (`WOWLOGS_LIVE_*`, docs/configuration.md).
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// A session without a chunk for this long is parked (its log stays open).
    pub idle: Duration,
    /// Sessions one process holds at once, over every guild, and per guild (this
    /// replica's share of it): each holds a thread while its file is written.
    pub max_sessions: usize,
    pub max_sessions_per_guild: usize,
    /// Largest chunk, in bytes (413 beyond).
    pub max_chunk_bytes: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(600),
            max_sessions: 200,
            max_sessions_per_guild: 4,
            max_chunk_bytes: 8 << 20,
        }
    }
}
