//! Which logs each guild already has, read back from the compacted upload-state topic
//! (`wowlogs.upload-state.v1`: the latest status of each upload of each log, however
//! long the uploads topic's history of running counts).
//!
//! That topic is the producer's memory: a log whose latest status is `Completed` is a
//! duplicate when uploaded again; a log that stopped half-way (a crash, an interrupted
//! import) resumes after its last acknowledged line. Statuses of one upload share a key
//! and so a partition, in order; two uploads of one log may not, and [`merge`] gives the
//! same answer whichever of theirs comes first (completed stays completed, the furthest
//! acknowledged line is kept).

use crate::identity::{LogIdentity, live_upload_id};
use rdkafka::Message;
use rdkafka::message::BorrowedMessage;
use std::collections::HashMap;
use std::time::Duration;
use wowlogs_kafka::{KafkaSettings, ReplayError, Start, follow_topic, read_topic_to_end};
use wowlogs_schemas::topics::{UPLOAD_STATE, UPLOADS};
use wowlogs_schemas::{Codec, GuildId, LogId, Record, UploadState, UploadStatus};

/// What to do with a log that arrives.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Never seen: publish everything.
    New,
    /// Seen before but not finished: publish the lines after this one.
    Resume { after_line: i64 },
    /// Completely published before: answer with that upload.
    Duplicate(Box<UploadStatus>),
}

/// The latest known status of every log, by guild and log id, and of every upload.
#[derive(Debug, Default, Clone)]
pub struct LogRegistry {
    logs: HashMap<(GuildId, LogId), UploadStatus>,
    /// Each upload's own latest status (two uploads of one log, through two replicas at
    /// once, each keep theirs: either answers for its upload).
    uploads: HashMap<String, UploadStatus>,
}

/// Merges a status into what is known: a completed log (or upload) stays completed;
/// otherwise the newest status wins, keeping the furthest acknowledged line.
fn merge(known: Option<&UploadStatus>, status: UploadStatus) -> Option<UploadStatus> {
    match known {
        Some(known) if known.state == UploadState::Completed => None,
        Some(known)
            if status.state != UploadState::Completed
                && known.acked_through_line > status.acked_through_line =>
        {
            Some(UploadStatus { acked_through_line: known.acked_through_line, ..status })
        }
        _ => Some(status),
    }
}

impl LogRegistry {
    /// Takes a status into account, for its log and for its upload.
    pub fn record(&mut self, status: UploadStatus) {
        let key = (status.guild_id, status.log_id);
        if let Some(merged) = merge(self.uploads.get(&status.upload_id), status.clone()) {
            self.uploads.insert(status.upload_id.clone(), merged);
        }
        if let Some(merged) = merge(self.logs.get(&key), status) {
            self.logs.insert(key, merged);
        }
    }

    /// The latest status of a log.
    pub fn get(&self, guild_id: GuildId, log_id: LogId) -> Option<&UploadStatus> {
        self.logs.get(&(guild_id, log_id))
    }

    /// The latest status of an upload, by its id.
    pub fn by_upload(&self, upload_id: &str) -> Option<&UploadStatus> {
        self.uploads.get(upload_id)
    }

    /// Every log of an upload: the one under its id, then those of a zip's further
    /// entries (`<id>-1`, `<id>-2`, ...).
    pub fn upload_logs(&self, upload_id: &str) -> Vec<UploadStatus> {
        let first = self.by_upload(upload_id).into_iter();
        let rest = (1..).map_while(|i| self.by_upload(&format!("{upload_id}-{i}")));
        first.chain(rest).cloned().collect()
    }

    /// Whether a log is new, to be resumed, or a duplicate.
    pub fn admit(&self, guild_id: GuildId, log_id: LogId) -> Admission {
        match self.get(guild_id, log_id) {
            None => Admission::New,
            Some(status) if status.state == UploadState::Completed => {
                Admission::Duplicate(Box::new(status.clone()))
            }
            Some(status) if status.acked_through_line > 0 => {
                Admission::Resume { after_line: status.acked_through_line }
            }
            Some(_) => Admission::New,
        }
    }

    /// Whether a log with this identity is new, to be resumed, or a duplicate, and under
    /// which log id: the file's live log when `wowlogs watch` followed the same file
    /// (same first line) and it is not finished, or it finished with this very content,
    /// so that a live session and a later upload of its file end as one log; otherwise
    /// the content's own. A live log that finished with other content (the file grew
    /// after its session was closed) leaves the upload its own log.
    pub fn admit_log(&self, guild_id: GuildId, identity: &LogIdentity) -> (LogId, Admission) {
        let live = self
            .by_upload(&live_upload_id(guild_id, &identity.live_key))
            .and_then(|status| self.get(guild_id, status.log_id));
        match live {
            Some(live) if live.state != UploadState::Completed => {
                (live.log_id, self.admit(guild_id, live.log_id))
            }
            Some(live) if live.content_sha256 == identity.content_sha256 => {
                (live.log_id, Admission::Duplicate(Box::new(live.clone())))
            }
            _ => (identity.log_id, self.admit(guild_id, identity.log_id)),
        }
    }

    /// Number of known logs.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// True when no log is known.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// Reads the whole upload-state topic (up to its current end). Blocking: call it
    /// from a plain thread or `spawn_blocking`.
    pub fn load(settings: &KafkaSettings, timeout: Duration) -> Result<Self, ReplayError> {
        let mut registry = LogRegistry::default();
        let mut decode = status_decoder();
        read_topic_to_end(settings, UPLOAD_STATE.name, timeout, |message| {
            if let Some(status) = decode(message) {
                registry.record(status)
            }
        })?;
        Ok(registry)
    }
}

/// Decodes upload statuses, skipping (and logging) what does not decode.
fn status_decoder() -> impl FnMut(&BorrowedMessage<'_>) -> Option<UploadStatus> {
    let codec = Codec::<UploadStatus>::new().expect("the contract's schemas are valid");
    move |message| match message.payload().map(|p| codec.decode(p)) {
        Some(Ok(status)) => Some(status),
        Some(Err(error)) => {
            tracing::warn!(
                partition = message.partition(),
                offset = message.offset(),
                %error,
                "skipping an undecodable upload status"
            );
            None
        }
        None => None,
    }
}

/// Follows the upload-state topic from its beginning for as long as the process runs,
/// handing every status to `learn`: every replica of the upload service (and every
/// importer's statuses) ends up in every replica's registry, so any replica answers for
/// any upload and knows every log already published. The receiver answers once the
/// topic has been read to its end (the service serves only then), or with why it could
/// not be. A failure after that is logged and the topic followed again from its
/// beginning (recording a status twice changes nothing).
pub fn follow(
    settings: KafkaSettings,
    learn: impl Fn(UploadStatus) + Send + 'static,
) -> tokio::sync::oneshot::Receiver<Result<(), String>> {
    let (ready, caught_up) = tokio::sync::oneshot::channel();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::Builder::new()
        .name("uploads-follower".into())
        .spawn(move || {
            let mut ready = Some(ready);
            let mut decode = status_decoder();
            loop {
                let mut signal = ready.take();
                let outcome = follow_topic(
                    &settings,
                    UPLOAD_STATE.name,
                    Start::Beginning,
                    || stop.load(std::sync::atomic::Ordering::Relaxed),
                    || {
                        if let Some(ready) = signal.take() {
                            let _ = ready.send(Ok(()));
                        }
                    },
                    |message| {
                        if let Some(status) = decode(message) {
                            learn(status)
                        }
                    },
                );
                match (outcome, signal) {
                    (Err(error), Some(ready)) => {
                        let _ = ready.send(Err(error.to_string()));
                        return;
                    }
                    (Err(error), None) => {
                        tracing::warn!(%error, "following the upload-state topic failed; reading it again in 5 s");
                        std::thread::sleep(Duration::from_secs(5));
                    }
                    (Ok(()), _) => return,
                }
            }
        })
        .expect("spawning the uploads follower");
    caught_up
}

/// Why the upload-state topic could not be filled from the uploads topic.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Read(#[from] ReplayError),
    #[error("writing {topic}: {source}")]
    Write { topic: &'static str, source: wowlogs_kafka::OutboxError },
}

/// Writes every status of the uploads topic to the compacted upload-state topic under
/// its key there: for a deployment whose statuses predate that topic (`wowlogs topics
/// create` does it when it creates the topic). Safe to repeat: the statuses land under
/// the same keys, in the same order, and the registry merges them to the same state.
/// Returns the statuses written. Blocking.
pub fn backfill_upload_state(
    settings: &KafkaSettings,
    producer: rdkafka::producer::FutureProducer,
    timeout: Duration,
) -> Result<u64, BackfillError> {
    let mut outbox = wowlogs_kafka::Outbox::new(producer, 10_000);
    let mut decode = status_decoder();
    let (mut written, mut failed) = (0, None);
    read_topic_to_end(settings, UPLOADS.name, timeout, |message| {
        if failed.is_some() {
            return;
        }
        // The status's compacted twin, as the producer writes it now (its topic and key).
        let Some((topic, key)) = decode(message).as_ref().and_then(Record::compacted) else { return };
        let headers = message.headers().map(|h| h.detach()).unwrap_or_default();
        let route = wowlogs_kafka::Route { topic: topic.name, key, headers };
        match outbox.send(&route, message.payload().unwrap_or_default(), (), |_, _| {}) {
            Ok(()) => written += 1,
            Err(error) => failed = Some(error),
        }
    })?;
    let write = |source| BackfillError::Write { topic: UPLOAD_STATE.name, source };
    match failed {
        Some(error) => Err(write(error)),
        None => outbox.flush(|_, _| {}).map(|()| written).map_err(write),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: UploadState, acked: i64) -> UploadStatus {
        UploadStatus {
            guild_id: GuildId(1),
            log_id: LogId(2),
            upload_id: format!("u-{acked}"),
            state,
            file_name: "WoWCombatLog.txt".into(),
            content_sha256: String::new(),
            bytes_total: None,
            bytes_read: 0,
            lines: acked,
            events: acked,
            dead_letters: 0,
            acked_through_line: acked,
            reason: None,
            timestamp_ms: acked,
            last_event_line: None,
        }
    }

    #[test]
    fn an_upload_of_a_file_followed_live_joins_its_live_log() {
        let content = b"12/6/2026 20:30:11.123-5  COMBAT_LOG_VERSION,22\n12/6/2026 20:30:12.000-5  SPELL_CAST_SUCCESS\n";
        let identity = crate::identity::identify(GuildId(1), &mut &content[..]).unwrap();
        let live_log = crate::identity::live_log_id(GuildId(1), &identity.live_key);
        let live = |state, acked, sha: &str| UploadStatus {
            log_id: live_log,
            upload_id: live_upload_id(GuildId(1), &identity.live_key),
            content_sha256: sha.into(),
            ..status(state, acked)
        };
        let mut registry = LogRegistry::default();
        assert_eq!(registry.admit_log(GuildId(1), &identity), (identity.log_id, Admission::New));
        registry.record(live(UploadState::Parsing, 1, ""));
        assert_eq!(
            registry.admit_log(GuildId(1), &identity),
            (live_log, Admission::Resume { after_line: 1 }),
            "a session that stopped half-way is finished by the upload"
        );
        assert_eq!(registry.admit_log(GuildId(2), &identity).0, identity.log_id, "only the same guild's");
        registry.record(live(UploadState::Completed, 2, &identity.content_sha256));
        assert!(
            matches!(registry.admit_log(GuildId(1), &identity), (id, Admission::Duplicate(_)) if id == live_log)
        );
        let longer = [&content[..], b"12/6/2026 20:31:00.000-5  SPELL_CAST_SUCCESS\n"].concat();
        let grown = crate::identity::identify(GuildId(1), &mut &longer[..]).unwrap();
        assert_eq!(grown.live_key, identity.live_key);
        assert_eq!(
            registry.admit_log(GuildId(1), &grown),
            (grown.log_id, Admission::New),
            "a file that grew after its live session closed is a log of its own"
        );
    }

    #[test]
    fn an_unknown_log_is_new() {
        assert_eq!(LogRegistry::default().admit(GuildId(1), LogId(2)), Admission::New);
    }

    #[test]
    fn an_interrupted_log_resumes_after_its_last_acknowledged_line() {
        let mut registry = LogRegistry::default();
        registry.record(status(UploadState::Parsing, 500));
        registry.record(status(UploadState::Failed, 300));
        assert_eq!(registry.admit(GuildId(1), LogId(2)), Admission::Resume { after_line: 500 });
    }

    #[test]
    fn a_completed_log_is_a_duplicate_for_good() {
        let mut registry = LogRegistry::default();
        registry.record(status(UploadState::Completed, 900));
        registry.record(status(UploadState::Parsing, 10));
        let Admission::Duplicate(known) = registry.admit(GuildId(1), LogId(2)) else { panic!() };
        assert_eq!(known.upload_id, "u-900");
        assert_eq!(registry.by_upload("u-900").unwrap().lines, 900);
    }

    #[test]
    fn the_same_content_in_another_guild_is_another_log() {
        let mut registry = LogRegistry::default();
        registry.record(status(UploadState::Completed, 900));
        assert_eq!(registry.admit(GuildId(9), LogId(2)), Admission::New);
    }

    #[test]
    fn an_upload_is_found_by_its_id_with_a_zips_further_entries() {
        let mut registry = LogRegistry::default();
        for (id, log) in [("u", 1), ("u-1", 2), ("u-2", 3), ("other", 4)] {
            registry.record(UploadStatus {
                upload_id: id.into(),
                log_id: LogId(log),
                ..status(UploadState::Completed, 9)
            });
        }
        let logs: Vec<i64> = registry.upload_logs("u").iter().map(|s| s.log_id.0).collect();
        assert_eq!(logs, [1, 2, 3]);
        assert!(registry.upload_logs("nope").is_empty());
    }
}
