//! The live feed behind `GET /ws`: upload progress from `wowlogs.uploads.v1`, finished
//! fights from `wowlogs.encounters.v1` and the roster members' status changes they make
//! ([`crate::progress_watch`]), read from their current end by every
//! API instance (no consumer group, nothing committed) and fanned out in process, through
//! one channel per guild: a connection only ever receives its own guild's messages, and
//! one guild's flood makes only its own slow connections skip.

use crate::metrics::ApiMetrics;
use crate::params::rfc3339;
use crate::progress_watch::ProgressWatch;
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use wowlogs_kafka::KafkaSettings;
use wowlogs_schemas::topics::{ENCOUNTERS, UPLOADS};
use wowlogs_schemas::{Codec, EncounterSummary, GuildId, Named, UploadStatus};

/// Players an `encounter_complete` message lists.
pub const TOP_PLAYERS: usize = 5;

/// One message for one guild's connections.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveMessage {
    pub guild_id: GuildId,
    pub body: Value,
}

impl LiveMessage {
    /// Upload parsing progress.
    pub fn progress(status: &UploadStatus) -> Self {
        let state = status.state.name();
        let percent = status
            .bytes_total
            .filter(|total| *total > 0)
            .map(|total| ((status.bytes_read as f64 / total as f64) * 100.0).clamp(0.0, 100.0));
        LiveMessage {
            guild_id: status.guild_id,
            body: json!({
                "type": "progress",
                "guild_id": status.guild_id.0,
                "upload_id": status.upload_id,
                "log_id": status.log_id.0.to_string(),
                "file_name": status.file_name,
                "state": state,
                "lines": status.lines,
                "events": status.events,
                "dead_letters": status.dead_letters,
                "bytes_read": status.bytes_read,
                "bytes_total": status.bytes_total,
                "progress": percent,
                "reason": status.reason,
                "at": rfc3339(status.timestamp_ms),
            }),
        }
    }

    /// A fight that ended.
    pub fn encounter_complete(summary: &EncounterSummary) -> Self {
        let fight = &summary.fight;
        let top: Vec<Value> = fight
            .players
            .iter()
            .filter(|p| !p.name.is_empty())
            .take(TOP_PLAYERS)
            .map(|p| json!({"name": p.name, "class": p.class, "dps": p.dps.round(), "hps": p.hps.round()}))
            .collect();
        let id = wowlogs_store::rows::fight_id(summary.guild_id, summary.log_id, fight.start_line);
        let first_death = fight.deaths.first().map(|d| {
            let blow = d.killing_blow.as_ref();
            json!({
                "name": d.name,
                "fight_time_ms": d.fight_time_ms,
                "ability": blow.map(|b| b.ability.as_str()),
                "source_name": blow.map(|b| b.source_name.as_str()),
            })
        });
        LiveMessage {
            guild_id: summary.guild_id,
            body: json!({
                "type": "encounter_complete",
                "guild_id": summary.guild_id.0,
                "id": id.to_string(),
                "log_id": summary.log_id.0.to_string(),
                "boss_name": fight.name,
                "kind": fight.kind.name(),
                "round": fight.round,
                "rounds_won": fight.rounds_won,
                "difficulty": fight.difficulty,
                "difficulty_name": fight.difficulty.and_then(wowlogs_encounters::difficulty_name),
                "kill": fight.kill,
                "boss_pct": fight.boss_pct,
                "boss_pct_missing": fight.boss_pct_missing,
                "first_death": first_death,
                "duration_ms": fight.duration_ms,
                "start": rfc3339(fight.start_ms),
                "top_players": top,
            }),
        }
    }
}

/// Messages each guild's channel keeps for its slow connections.
pub const GUILD_CAPACITY: usize = 1024;

/// The in-process fan-out of live messages: a channel per guild with connections.
#[derive(Clone)]
pub struct LiveFeed {
    capacity: usize,
    channels: Arc<Mutex<HashMap<GuildId, broadcast::Sender<Arc<LiveMessage>>>>>,
    reading: Arc<AtomicBool>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self::new(GUILD_CAPACITY)
    }
}

impl LiveFeed {
    /// A feed keeping up to `capacity` messages per guild for slow connections (a
    /// connection further behind skips ahead and is told how many it missed).
    pub fn new(capacity: usize) -> Self {
        LiveFeed { capacity, channels: Arc::default(), reading: Arc::new(AtomicBool::new(false)) }
    }

    /// A receiver of `guild`'s messages, and of no other guild's.
    pub fn subscribe(&self, guild: GuildId) -> broadcast::Receiver<Arc<LiveMessage>> {
        let mut channels = self.channels.lock().expect("live channels lock");
        channels.entry(guild).or_insert_with(|| broadcast::channel(self.capacity).0).subscribe()
    }

    /// Sends a message to its guild's connections; a guild whose connections have all
    /// gone loses its channel.
    pub fn publish(&self, message: LiveMessage) {
        let mut channels = self.channels.lock().expect("live channels lock");
        let guild = message.guild_id;
        if let Some(sender) = channels.get(&guild)
            && sender.send(Arc::new(message)).is_err()
        {
            channels.remove(&guild);
        }
    }

    /// Whether `guild` has a channel (connections, or none since its last message).
    pub fn has_listeners(&self, guild: GuildId) -> bool {
        self.channels.lock().expect("live channels lock").contains_key(&guild)
    }

    /// Guilds with a channel (connections, or none since their last message).
    pub fn guilds(&self) -> usize {
        self.channels.lock().expect("live channels lock").len()
    }

    /// True once the topics are being read.
    pub fn is_reading(&self) -> bool {
        self.reading.load(Ordering::Relaxed)
    }

    /// Reads both topics from their current end until the process stops, reconnecting
    /// after errors; with `watch`, a finished fight also tells of the status changes it
    /// made.
    pub fn spawn_reader(
        &self,
        kafka: KafkaSettings,
        metrics: ApiMetrics,
        watch: Option<ProgressWatch>,
    ) -> tokio::task::JoinHandle<()> {
        let feed = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = feed.read(&kafka, &metrics, watch.as_ref()).await {
                    feed.reading.store(false, Ordering::Relaxed);
                    tracing::warn!(%error, "live feed: reading the topics failed; retrying in 2 s");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        })
    }

    async fn read(
        &self,
        kafka: &KafkaSettings,
        metrics: &ApiMetrics,
        watch: Option<&ProgressWatch>,
    ) -> Result<(), rdkafka::error::KafkaError> {
        let consumer: StreamConsumer = kafka
            .client_config()
            .set("group.id", format!("{}-live", kafka.client_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        for topic in [UPLOADS.name, ENCOUNTERS.name] {
            let metadata = tokio::task::block_in_place(|| {
                consumer.fetch_metadata(Some(topic), Duration::from_secs(10))
            })?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                assignment.add_partition_offset(topic, partition.id(), Offset::End)?;
            }
        }
        consumer.assign(&assignment)?;
        self.reading.store(true, Ordering::Relaxed);
        tracing::info!(
            partitions = assignment.count(),
            "live feed reading the uploads and encounters topics"
        );
        let statuses = Codec::<UploadStatus>::new().expect("valid schema");
        let summaries = Codec::<EncounterSummary>::new().expect("valid schema");
        let mut stream = consumer.stream();
        while let Some(message) = stream.next().await {
            let message = message?;
            let Some(payload) = message.payload() else { continue };
            let decoded = if message.topic() == UPLOADS.name {
                statuses.decode(payload).map(|s| LiveMessage::progress(&s))
            } else {
                summaries.decode(payload).map(|s| {
                    if let Some(watch) = watch.filter(|_| self.has_listeners(s.guild_id)) {
                        self.spawn_flips(watch.clone(), s.clone(), metrics.clone());
                    }
                    LiveMessage::encounter_complete(&s)
                })
            };
            match decoded {
                Ok(live) => {
                    metrics.live_message(live.body["type"].as_str().unwrap_or("unknown"));
                    self.publish(live);
                }
                Err(error) => tracing::warn!(
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    %error,
                    "live feed: skipping an undecodable record"
                ),
            }
        }
        Ok(())
    }
}

impl LiveFeed {
    /// Publishes the status changes a fight made, beside the reader.
    fn spawn_flips(&self, watch: ProgressWatch, summary: EncounterSummary, metrics: ApiMetrics) {
        let feed = self.clone();
        tokio::spawn(async move {
            match watch.flips(&summary).await {
                Ok(messages) => {
                    for body in messages {
                        metrics.live_message("member_status");
                        feed.publish(LiveMessage { guild_id: summary.guild_id, body });
                    }
                }
                Err(error) => tracing::warn!(
                    guild_id = summary.guild_id.0,
                    error = error.message.as_str(),
                    "live feed: members' statuses could not be read"
                ),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn message(guild: i64, n: u64) -> LiveMessage {
        LiveMessage { guild_id: GuildId(guild), body: json!({"n": n}) }
    }

    /// The fights of a real log, as the encounter consumer makes them.
    fn fights_of(fixture: &str) -> Vec<wowlogs_schemas::FightSummary> {
        use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
        use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
        let text = std::fs::read(wowlogs_testkit::fixture(fixture)).unwrap();
        let (mut segmenter, mut out) = (EncounterSegmenter::new(), Vec::new());
        for parsed in LogReader::new(text.as_slice(), ParseOptions::new(YearHint::FirstLineIn(2026))) {
            if let ParsedLine::Event(event) = parsed.unwrap() {
                segmenter.push(&event, &mut out);
            }
        }
        segmenter.finish(&mut out);
        out.into_iter().filter_map(|o| if let SegmentOutput::Fight(f) = o { Some(f) } else { None }).collect()
    }

    #[test]
    fn a_wipes_message_says_how_far_the_boss_got_and_who_died_first() {
        let fight = fights_of("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt").remove(0);
        let summary = EncounterSummary { guild_id: GuildId(1), log_id: wowlogs_schemas::LogId(2), fight };
        let body = LiveMessage::encounter_complete(&summary).body;
        assert_eq!(
            (body["type"].as_str(), body["kill"].as_bool()),
            (Some("encounter_complete"), Some(false))
        );
        assert_eq!(body["boss_pct"].as_f64(), Some(100.0 * 11_389_021.0 / 11_998_750.0));
        assert_eq!(body["difficulty_name"], "Normal");
        assert_eq!(
            (body["first_death"]["name"].as_str(), body["first_death"]["ability"].as_str()),
            (Some("Xamymage-Kazzak-EU"), Some("Oblivion"))
        );
    }

    #[test]
    fn one_guilds_flood_makes_only_its_own_slow_connections_skip() {
        let feed = LiveFeed::new(16);
        let mut flooded = feed.subscribe(GuildId(1));
        let mut other = feed.subscribe(GuildId(2));
        for n in 0..1_000 {
            feed.publish(message(1, n));
        }
        feed.publish(message(2, 7));
        assert!(
            matches!(flooded.try_recv(), Err(TryRecvError::Lagged(984))),
            "the flooding guild's reader skips"
        );
        let mine = other.try_recv().expect("the other guild's message, not a lag");
        assert_eq!((mine.guild_id, mine.body["n"].as_u64()), (GuildId(2), Some(7)));
        assert!(matches!(other.try_recv(), Err(TryRecvError::Empty)), "and nothing of the flood");
    }

    #[test]
    fn a_guild_whose_connections_are_gone_loses_its_channel() {
        let feed = LiveFeed::new(16);
        let reader = feed.subscribe(GuildId(3));
        feed.publish(message(4, 1));
        assert_eq!(feed.guilds(), 1, "nothing kept for a guild nobody listens to");
        drop(reader);
        feed.publish(message(3, 1));
        assert_eq!(feed.guilds(), 0);
    }
}
