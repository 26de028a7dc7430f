//! The `wowlogs-encounters` group: the encounter state machine per (guild, log).
//!
//! Events of a log are fed, in line order, to the same [`EncounterSegmenter`] that
//! `wowlogs analyze` uses; each completed fight becomes rows of `encounters`,
//! `encounter_details`, `encounter_players`, `encounter_deaths` and `character_logs`, and an
//! [`EncounterSummary`] on `wowlogs.encounters.v1`.
//!
//! A log ends when its `Completed` status has been read and its last event
//! (`last_event_line`) applied; the fights still open are then closed as incomplete,
//! exactly as at the end of a file.
//!
//! Restarts: the segmenter's state reaches back to the log's first line (pet owners,
//! the log owner, gear), so nothing of a log still open may be skipped after a restart.
//! The offsets of a partition are therefore never committed past the first record of a
//! log still open in it: a restart reads the log again from its start and produces
//! identical rows (replaced by the ReplacingMergeTree identities). That is stricter
//! than "not past the first event of an open fight", and what makes fights identical.
//! Summaries are at least once: a restart may publish a fight's summary again, with the
//! same `(guild_id, log_id, start_line)`.
//!
//! Co-partitioning: a log's events and statuses share the guild key, so with equal
//! partition counts they land on the same partition number of both topics, and the
//! range assignor gives both partitions to the same member.

use crate::batch::RowBatch;
use crate::group::{GroupConfig, GroupError, Projection, Record, TopicPartition, run_group};
use crate::metrics::ConsumerMetrics;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;
use wowlogs_encounters::{EncounterSegmenter, SegmentOutput};
use wowlogs_kafka::KafkaSettings;
use wowlogs_schemas::topics::{COMBAT_EVENTS, UPLOADS};
use wowlogs_schemas::{
    Codec, CombatEvent, EncounterSummary, FightSummary, GuildId, LIVE_UPLOAD_PREFIX, LogId, UploadState,
    UploadStatus,
};
use wowlogs_store::rows::{LogCharacters, fight_version};

/// The default group id.
pub const GROUP_ID: &str = "wowlogs-encounters";

/// When a log is known to be whole.
#[derive(Debug, Clone, Copy)]
enum LogEnd {
    /// The line of the last event (v1.1 statuses).
    LastEventLine(i64),
    /// Statuses written before v1.1 only count this run's events.
    Events(i64),
}

/// One log being segmented.
#[derive(Debug)]
struct OpenLog {
    partition: i32,
    /// When its first and latest records were received (wall-clock ms).
    first_ms: i64,
    last_ms: i64,
    /// The first record of this log read from each topic: where a restart must begin.
    pins: Vec<(&'static str, i64)>,
    segmenter: EncounterSegmenter,
    last_line: i64,
    events: i64,
    /// The upload id of the first status read; fights wait for it.
    upload_id: Option<String>,
    /// Read from its first record: the state machine has the whole context (pets,
    /// gear, the log owner). A log read again from the middle after a restart (another
    /// log's pin held the partition back) has not, and its rows must not replace those
    /// of the full read.
    full_context: bool,
    end: Option<LogEnd>,
    held: Vec<FightSummary>,
    characters: LogCharacters,
}

impl OpenLog {
    fn new(partition: i32, now_ms: i64) -> Self {
        OpenLog {
            partition,
            first_ms: now_ms,
            last_ms: now_ms,
            pins: Vec::new(),
            segmenter: EncounterSegmenter::new(),
            last_line: 0,
            events: 0,
            upload_id: None,
            full_context: false,
            end: None,
            held: Vec::new(),
            characters: LogCharacters::new(),
        }
    }

    fn pin(&mut self, topic: &'static str, offset: i64) {
        if !self.pins.iter().any(|(t, _)| *t == topic) {
            self.pins.push((topic, offset));
        }
    }

    fn whole(&self) -> bool {
        match self.end {
            Some(LogEnd::LastEventLine(line)) => self.last_line >= line,
            Some(LogEnd::Events(events)) => self.events >= events,
            None => false,
        }
    }
}

/// The encounter projection: pure, fed with records, emitting rows.
pub struct EncounterProjector {
    events: Codec<CombatEvent>,
    statuses: Codec<UploadStatus>,
    logs: HashMap<(GuildId, LogId), OpenLog>,
    outputs: Vec<SegmentOutput>,
    /// How long a log may wait for its next record; a log followed live, longer.
    idle_ms: i64,
    live_idle_ms: i64,
    /// How many logs of one guild may be open at once (see [`Self::open_logs_per_guild`]).
    open_per_guild: usize,
    /// Logs closed early to keep a guild within `open_per_guild`, since the start.
    shed: u64,
    /// Receipt time of the record being taken (wall-clock ms, from the group loop).
    now_ms: i64,
}

impl Default for EncounterProjector {
    fn default() -> Self {
        Self::new()
    }
}

/// Fight summaries on the public topic carry at most this many players (the highest
/// damage first; every player's numbers are in ClickHouse) and deaths.
pub const SUMMARY_MAX_PLAYERS: usize = 40;
/// Names in fight summaries are cut to this many characters.
pub const SUMMARY_MAX_NAME_CHARS: usize = 64;
/// Each death's recap in a fight summary keeps its newest lines, the killing blow first
/// (the whole recap is in ClickHouse): 40 deaths of 10 lines stay far below the broker's
/// message size.
pub const SUMMARY_MAX_RECAP_LINES: usize = 10;
/// Abilities, and auras, a summary keeps of each player (the most done, the longest up);
/// the rows keep the fight core's 25 and 20.
pub const SUMMARY_MAX_PLAYER_LINES: usize = 10;
/// Logs of one guild open at once, by default (`WOWLOGS_CONSUMER_MAX_OPEN_LOGS_PER_GUILD`):
/// a bulk import publishes one log per core at a time, and a raid night's uploads a few.
pub const DEFAULT_OPEN_LOGS_PER_GUILD: usize = 64;

impl EncounterProjector {
    pub fn new() -> Self {
        Self::with_idle(Duration::from_secs(15 * 60))
    }

    /// A projector that closes a log as incomplete after `idle` without a record.
    pub fn with_idle(idle: Duration) -> Self {
        Self {
            events: Codec::new().expect("valid schema"),
            statuses: Codec::new().expect("valid schema"),
            logs: HashMap::new(),
            outputs: Vec::new(),
            idle_ms: idle.as_millis() as i64,
            live_idle_ms: idle.as_millis() as i64 * 4,
            open_per_guild: DEFAULT_OPEN_LOGS_PER_GUILD,
            shed: 0,
            now_ms: 0,
        }
    }

    /// How long a log followed live (its upload id starts with
    /// [`LIVE_UPLOAD_PREFIX`]) may wait for its next record: a raid's break writes
    /// nothing, and its log goes on after it (default: four times the idle time).
    pub fn live_idle(mut self, idle: Duration) -> Self {
        self.live_idle_ms = idle.as_millis() as i64;
        self
    }

    /// Bounds the logs one guild may hold open at once: each holds a fight state
    /// machine (up to `wowlogs_encounters::MAX_PENDING_BYTES` while an arena is being
    /// recognised), so a guild that starts logs without ending them would otherwise grow
    /// the member until it is killed, at the same offset on every restart, stopping
    /// every guild it reads for. At the bound, a guild's new log closes that guild's
    /// least recently active one as incomplete (as an idle log is); other guilds' logs
    /// are never touched.
    pub fn open_logs_per_guild(mut self, bound: usize) -> Self {
        self.open_per_guild = bound.max(1);
        self
    }

    /// Makes room for a new log of `guild`: closes its least recently active log if the
    /// guild is at its bound.
    fn make_room(&mut self, guild: GuildId, batch: &mut RowBatch) {
        let open = self.logs.iter().filter(|((g, _), _)| *g == guild);
        if open.clone().count() < self.open_per_guild {
            return;
        }
        let Some(oldest) = open.min_by_key(|(key, log)| (log.last_ms, **key)).map(|(key, _)| *key) else {
            return;
        };
        tracing::warn!(
            guild_id = guild.0,
            log_id = oldest.1.0,
            open_logs_per_guild = self.open_per_guild,
            "the guild has too many logs open: closing its least recently active one as incomplete"
        );
        self.shed += 1;
        self.close(oldest, batch);
    }

    /// Logs closed early to keep a guild within its bound, since the start.
    pub fn logs_shed(&self) -> u64 {
        self.shed
    }

    /// Closes, as at the end of a file, every log that has read nothing for the idle
    /// time: its uploader died, or never sends an end, and its pin is released.
    pub fn expire(&mut self, now_ms: i64, batch: &mut RowBatch) {
        let idle: Vec<(GuildId, LogId)> = self
            .logs
            .iter()
            .filter(|(_, log)| now_ms - log.last_ms >= self.idle_of(log))
            .map(|(key, _)| *key)
            .collect();
        for key in idle {
            tracing::warn!(
                guild_id = key.0.0,
                log_id = key.1.0,
                idle_ms = self.idle_of(&self.logs[&key]),
                "log idle: closing it as incomplete"
            );
            self.close(key, batch);
        }
    }

    fn idle_of(&self, log: &OpenLog) -> i64 {
        let live = log.upload_id.as_deref().is_some_and(|id| id.starts_with(LIVE_UPLOAD_PREFIX));
        if live { self.live_idle_ms } else { self.idle_ms }
    }

    /// Applies one event of a log.
    pub fn event(&mut self, partition: i32, offset: i64, event: &CombatEvent, batch: &mut RowBatch) {
        let key = (event.guild_id, event.log_id);
        if !self.logs.contains_key(&key) {
            self.make_room(key.0, batch);
        }
        let now_ms = self.now_ms;
        let log = self.logs.entry(key).or_insert_with(|| {
            let mut log = OpenLog::new(partition, now_ms);
            log.full_context = event.line == 1;
            log
        });
        log.last_ms = log.last_ms.max(now_ms);
        log.pin(COMBAT_EVENTS.name, offset);
        if event.line <= log.last_line {
            // Re-published by a resumed import, or read again after a rebalance.
            return;
        }
        log.last_line = event.line;
        log.events += 1;
        log.segmenter.push(event, &mut self.outputs);
        let fights = completed(&mut self.outputs);
        emit(key, log, fights, batch);
        self.close_if_whole(key, batch);
    }

    /// Applies one status of a log: its upload id, and its end.
    pub fn status(&mut self, partition: i32, offset: i64, status: &UploadStatus, batch: &mut RowBatch) {
        let key = (status.guild_id, status.log_id);
        if !self.logs.contains_key(&key) {
            self.make_room(key.0, batch);
        }
        let now_ms = self.now_ms;
        let log = self.logs.entry(key).or_insert_with(|| {
            let mut log = OpenLog::new(partition, now_ms);
            // A log's first statuses come before its first event.
            log.full_context = status.state == UploadState::Accepted
                || (status.state == UploadState::Parsing
                    && status.lines == 0
                    && status.acked_through_line == 0);
            log
        });
        log.last_ms = log.last_ms.max(now_ms);
        log.pin(UPLOADS.name, offset);
        if log.upload_id.is_none() {
            log.upload_id = Some(status.upload_id.clone());
            let held = std::mem::take(&mut log.held);
            emit(key, log, held, batch);
        }
        match status.state {
            UploadState::Completed => {
                log.end = Some(match status.last_event_line {
                    Some(line) => LogEnd::LastEventLine(line),
                    None => LogEnd::Events(status.events),
                });
            }
            // A failed (or refused) upload ends too: with what it published, every line
            // up to `acked_through_line`.
            UploadState::Failed => log.end = Some(LogEnd::LastEventLine(status.acked_through_line)),
            UploadState::Accepted | UploadState::Parsing => {}
        }
        self.close_if_whole(key, batch);
    }

    fn close_if_whole(&mut self, key: (GuildId, LogId), batch: &mut RowBatch) {
        if self.logs.get(&key).is_some_and(OpenLog::whole) {
            self.close(key, batch);
        }
    }

    /// Closes a log: its fights still open end as incomplete.
    fn close(&mut self, key: (GuildId, LogId), batch: &mut RowBatch) {
        let Some(log) = self.logs.get_mut(&key) else { return };
        if log.upload_id.is_none() {
            // Closed without a status (idle): its fights are stored under no upload.
            log.upload_id = Some(String::new());
            let held = std::mem::take(&mut log.held);
            emit(key, log, held, batch);
        }
        log.segmenter.finish(&mut self.outputs);
        let fights = completed(&mut self.outputs);
        emit(key, log, fights, batch);
        debug_assert!(log.held.is_empty(), "a whole log has read a status, so its upload id");
        tracing::debug!(guild_id = key.0.0, log_id = key.1.0, events = log.events, "log complete");
        self.logs.remove(&key);
    }

    /// Logs still open.
    pub fn open_logs(&self) -> usize {
        self.logs.len()
    }

    /// Fights started and not yet ended, over all open logs.
    pub fn open_fights(&self) -> usize {
        self.logs.values().map(|l| l.segmenter.open_fights()).sum()
    }
}

/// The fights among the segmenter's outputs (anomalies are logged: `analyze` reports
/// them, the tables do not hold them).
fn completed(outputs: &mut Vec<SegmentOutput>) -> Vec<FightSummary> {
    outputs
        .drain(..)
        .filter_map(|output| match output {
            SegmentOutput::Fight(fight) => Some(fight),
            SegmentOutput::Anomaly(anomaly) => {
                tracing::debug!(
                    line = anomaly.line,
                    code = anomaly.code,
                    message = anomaly.message,
                    "anomaly"
                );
                None
            }
        })
        .collect()
}

/// Turns completed fights into rows, or holds them until the log's upload id is known.
fn emit(key: (GuildId, LogId), log: &mut OpenLog, fights: Vec<FightSummary>, batch: &mut RowBatch) {
    let (guild_id, log_id) = key;
    let Some(upload_id) = &log.upload_id else {
        log.held.extend(fights);
        return;
    };
    for fight in fights {
        let version = fight_version(fight.end_line, log.full_context);
        batch.fights.push(key, upload_id, &fight, version, &mut log.characters);
        batch.summaries.push(EncounterSummary { guild_id, log_id, fight: bounded(fight) });
    }
}

/// A fight as its summary carries it: the top players, the first deaths, names cut, so
/// that no log can write a summary the broker refuses (the rows keep every player, with
/// names up to `wowlogs_store::rows::MAX_NAME_CHARS`).
pub fn bounded(mut fight: FightSummary) -> FightSummary {
    let cut = |name: &mut String| {
        let kept = wowlogs_schemas::cut_chars(name, SUMMARY_MAX_NAME_CHARS).len();
        name.truncate(kept);
    };
    fight.players.truncate(SUMMARY_MAX_PLAYERS);
    fight.deaths.truncate(SUMMARY_MAX_PLAYERS);
    cut(&mut fight.name);
    for player in &mut fight.players {
        cut(&mut player.name);
        cut(&mut player.guid);
        player.abilities.truncate(SUMMARY_MAX_PLAYER_LINES);
        player.auras.truncate(SUMMARY_MAX_PLAYER_LINES);
        for ability in &mut player.abilities {
            cut(&mut ability.ability);
        }
        for aura in &mut player.auras {
            cut(&mut aura.aura);
        }
    }
    for death in &mut fight.deaths {
        cut(&mut death.name);
        cut(&mut death.guid);
        if let Some(blow) = &mut death.killing_blow {
            cut(&mut blow.ability);
            cut(&mut blow.source_name);
            cut(&mut blow.source_guid);
        }
        death.recap.truncate(SUMMARY_MAX_RECAP_LINES);
        for line in &mut death.recap {
            cut(&mut line.ability);
            cut(&mut line.source_name);
            cut(&mut line.source_guid);
        }
    }
    for boss in &mut fight.bosses {
        cut(&mut boss.name);
        cut(&mut boss.guid);
    }
    for ability in &mut fight.damage_taken_by_ability {
        cut(&mut ability.ability);
    }
    fight
}

impl Projection for EncounterProjector {
    fn topics(&self) -> Vec<&'static str> {
        vec![COMBAT_EVENTS.name, UPLOADS.name]
    }

    fn take(&mut self, record: Record<'_>, batch: &mut RowBatch) -> Result<(), String> {
        self.now_ms = record.received_ms;
        if record.topic == COMBAT_EVENTS.name {
            let event = self.events.decode(record.payload).map_err(|e| e.to_string())?;
            self.event(record.partition, record.offset, &event, batch);
        } else {
            let status = self.statuses.decode(record.payload).map_err(|e| e.to_string())?;
            self.status(record.partition, record.offset, &status, batch);
        }
        Ok(())
    }

    fn restart_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.logs
            .values()
            .filter(|log| log.partition == partition)
            .flat_map(|log| log.pins.iter())
            .filter(|(t, _)| *t == topic)
            .map(|(_, offset)| *offset)
            .min()
    }

    fn retain_assigned(&mut self, assigned: &HashSet<TopicPartition>) {
        let before = self.logs.len();
        self.logs.retain(|_, log| {
            log.pins.iter().all(|(topic, _)| assigned.contains(&(topic.to_string(), log.partition)))
        });
        if self.logs.len() < before {
            tracing::info!(
                dropped = before - self.logs.len(),
                "partitions revoked; their open logs are left to the new owner"
            );
        }
    }

    fn open(&self) -> (usize, usize) {
        (self.open_logs(), self.open_fights())
    }

    fn logs_shed(&self) -> u64 {
        EncounterProjector::logs_shed(self)
    }

    fn expire(&mut self, now_ms: i64, batch: &mut RowBatch) {
        EncounterProjector::expire(self, now_ms, batch);
    }

    fn oldest_pin_ms(&self) -> Option<i64> {
        self.logs.values().map(|log| log.first_ms).min()
    }

    fn consumer_settings(&self) -> Vec<(&'static str, &'static str)> {
        // Same partition number of both topics to the same member (co-partitioning).
        vec![("partition.assignment.strategy", "range")]
    }
}

/// Checks that the two input topics have the same number of partitions: otherwise a
/// log's events and statuses could be read by different members.
pub fn check_copartitioned(kafka: &KafkaSettings, timeout: Duration) -> Result<(), GroupError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = kafka.client_config().create()?;
    let metadata = consumer.fetch_metadata(None, timeout)?;
    let count =
        |name: &str| metadata.topics().iter().find(|t| t.name() == name).map(|t| t.partitions().len());
    match (count(COMBAT_EVENTS.name), count(UPLOADS.name)) {
        (Some(events), Some(uploads)) if events == uploads => Ok(()),
        (Some(events), Some(uploads)) => Err(GroupError::Setup(format!(
            "{} has {events} partitions and {} has {uploads}: the encounter consumer needs them equal \
             (co-partitioned by guild); recreate the topics with `wowlogs topics create`",
            COMBAT_EVENTS.name, UPLOADS.name
        ))),
        _ => Err(GroupError::Setup(format!(
            "the topics {} and {} do not exist yet; run `wowlogs topics create`",
            COMBAT_EVENTS.name, UPLOADS.name
        ))),
    }
}

/// Runs the encounter consumer until `shutdown` completes.
pub async fn run(
    config: GroupConfig,
    metrics: ConsumerMetrics,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GroupError> {
    let kafka = config.kafka.clone();
    tokio::task::spawn_blocking(move || check_copartitioned(&kafka, Duration::from_secs(30)))
        .await
        .map_err(|e| GroupError::Setup(e.to_string()))??;
    let projector = EncounterProjector::with_idle(config.log_idle)
        .live_idle(config.live_log_idle)
        .open_logs_per_guild(config.max_open_logs_per_guild);
    run_group(&config, projector, metrics, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use wowlogs_schemas::{FightKind, PlayerMetrics};

    fn player(i: usize, name: String) -> PlayerMetrics {
        PlayerMetrics {
            guid: format!("Player-1-{i}"),
            name,
            class: None,
            spec_id: None,
            item_level: None,
            damage_done: 1000 - i as i64,
            healing_done: 0,
            overhealing: 0,
            absorbs_done: 0,
            damage_taken: 0,
            deaths: 0,
            casts: 0,
            interrupts: 0,
            dispels: 0,
            dps: 0.0,
            hps: 0.0,
            abilities: Vec::new(),
            auras: Vec::new(),
        }
    }

    #[test]
    fn a_summary_keeps_the_top_players_and_cuts_long_names() {
        let mut players: Vec<PlayerMetrics> = (0..60).map(|i| player(i, format!("P{i}"))).collect();
        players[0].name = "é".repeat(60_000);
        let line = |i: i64| wowlogs_schemas::RecapEntry {
            timestamp_ms: 1000 - i,
            kind: wowlogs_schemas::RecapKind::Damage,
            ability: "A".repeat(60_000),
            spell_id: None,
            source_guid: String::new(),
            source_name: String::new(),
            amount: i,
            overkill: 0,
            absorbed: 0,
            overhealing: 0,
            hp: None,
            max_hp: None,
        };
        let death = wowlogs_schemas::DeathRecord {
            guid: "Player-1-0".into(),
            name: "P0".into(),
            timestamp_ms: 1000,
            fight_time_ms: 1000,
            line: 2,
            killing_blow: None,
            recap: (0..100).map(line).collect(),
        };
        let fight = FightSummary {
            kind: FightKind::Encounter,
            name: "Boss".into(),
            encounter_id: None,
            difficulty: None,
            group_size: None,
            instance_id: None,
            kill: None,
            complete: true,
            start_ms: 0,
            end_ms: 0,
            duration_ms: 0,
            start_line: 1,
            end_line: 2,
            key_level: None,
            affixes: Vec::new(),
            match_type: None,
            parent_start_line: None,
            round: None,
            rounds_won: None,
            players,
            deaths: vec![death],
            boss_pct: None,
            boss_pct_missing: None,
            bosses: Vec::new(),
            damage_taken_by_ability: Vec::new(),
            removals: Vec::new(),
            zone_name: None,
        };
        let summary = bounded(fight);
        assert_eq!(summary.players.len(), SUMMARY_MAX_PLAYERS);
        assert_eq!(summary.players[0].name.chars().count(), SUMMARY_MAX_NAME_CHARS);
        assert_eq!(summary.players[39].guid, "Player-1-39", "the highest damage first, in order");
        let recap = &summary.deaths[0].recap;
        assert_eq!(recap.len(), SUMMARY_MAX_RECAP_LINES);
        assert_eq!((recap[0].amount, recap[9].amount), (0, 9), "the newest lines, the killing blow first");
        assert!(recap.iter().all(|l| l.ability.chars().count() == SUMMARY_MAX_NAME_CHARS));
    }
}
