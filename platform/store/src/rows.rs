//! Rows of the pipeline tables, and how each is made from a contract record.
//!
//! Pure mappings: the consumers decode a topic record and hand it here. `version` is
//! the ReplacingMergeTree version: re-delivering a record gives an identical row, so any
//! deterministic value works; consumers pass the record's offset or timestamp.

use serde::{Deserialize, Serialize};
use wowlogs_schemas::{
    CombatEvent, DeadLetter, DeathRecord, FightKind, FightSummary, GuildId, LogId, Payload, PlayerMetrics,
    UploadState, UploadStatus,
};

/// The columns a row type writes, in order, with their ClickHouse types: what
/// `DESCRIBE TABLE` must say (tested against the real server, since the client's own
/// validation cannot run on ClickHouse 18.16).
pub trait TableRow: clickhouse::Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [(&'static str, &'static str)];
}

/// The one column of `SELECT count() AS n ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clickhouse::Row, Deserialize)]
pub struct Count {
    pub n: u64,
}

/// Inserts rows into their table in one INSERT.
pub async fn insert_rows<T>(client: &clickhouse::Client, rows: &[T]) -> Result<(), clickhouse::error::Error>
where
    T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut insert = client.insert::<T>(T::TABLE).await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Column {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

/// A table's columns and types as the server describes them, in declaration order
/// (`system.columns` lists them so; 18.16 has no `position` column to sort by): what a
/// row type's [`TableRow::COLUMNS`] must equal.
pub async fn table_columns(
    settings: &crate::StoreSettings,
    table: &str,
) -> Result<Vec<(String, String)>, clickhouse::error::Error> {
    let columns = settings
        .client()
        .query("SELECT name, type FROM system.columns WHERE database = ? AND table = ?")
        .bind(&settings.database)
        .bind(table)
        .fetch_all::<Column>()
        .await?;
    Ok(columns.into_iter().map(|c| (c.name, c.kind)).collect())
}

/// The declared columns of a row type, in the form [`table_columns`] returns.
pub fn declared_columns<T: TableRow>() -> Vec<(String, String)> {
    T::COLUMNS.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// Seconds for a `DateTime` column from epoch milliseconds.
pub fn datetime(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(1000)).unwrap_or(if ms < 0 { 0 } else { u32::MAX })
}

/// `combat_events`: one row per event.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct CombatEventRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub line: i64,
    pub timestamp: u32,
    pub timestamp_ms: i64,
    pub event_type: String,
    pub source_guid: String,
    pub source_name: String,
    pub source_flags: u32,
    pub target_guid: String,
    pub target_name: String,
    pub target_flags: u32,
    pub spell_id: i32,
    pub spell_name: String,
    pub spell_school: u32,
    pub amount: i64,
    pub overkill: i64,
    pub overhealing: i64,
    pub absorbed: i64,
    pub critical: u8,
    pub miss_type: String,
    pub aura_type: String,
    pub advanced_guid: String,
    pub advanced_owner_guid: String,
    pub current_hp: i64,
    pub max_hp: i64,
    pub position_x: f64,
    pub position_y: f64,
    pub level: i32,
    pub raw: String,
    pub version: u64,
}

impl TableRow for CombatEventRow {
    const TABLE: &'static str = "combat_events";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("line", "Int64"),
        ("timestamp", "DateTime('UTC')"),
        ("timestamp_ms", "Int64"),
        ("event_type", "String"),
        ("source_guid", "String"),
        ("source_name", "String"),
        ("source_flags", "UInt32"),
        ("target_guid", "String"),
        ("target_name", "String"),
        ("target_flags", "UInt32"),
        ("spell_id", "Int32"),
        ("spell_name", "String"),
        ("spell_school", "UInt32"),
        ("amount", "Int64"),
        ("overkill", "Int64"),
        ("overhealing", "Int64"),
        ("absorbed", "Int64"),
        ("critical", "UInt8"),
        ("miss_type", "String"),
        ("aura_type", "String"),
        ("advanced_guid", "String"),
        ("advanced_owner_guid", "String"),
        ("current_hp", "Int64"),
        ("max_hp", "Int64"),
        ("position_x", "Float64"),
        ("position_y", "Float64"),
        ("level", "Int32"),
        ("raw", "String"),
        ("version", "UInt64"),
    ];
}

impl CombatEventRow {
    /// The row of an event: the typed fields an analyst filters and sums on, flattened.
    pub fn from_event(event: &CombatEvent, version: u64) -> Self {
        let (source_guid, source_name, source_flags) = unit(event.source.as_ref());
        let (target_guid, target_name, target_flags) = unit(event.target.as_ref());
        let spell = event.spell.as_ref();
        let advanced = event.advanced.as_ref();
        let (mut amount, mut overkill, mut overhealing, mut absorbed, mut critical) = (0, 0, 0, 0, false);
        let (mut miss_type, mut aura_type) = (String::new(), String::new());
        match &event.payload {
            Payload::Damage(d) => {
                (amount, overkill, absorbed, critical) = (d.amount, d.overkill, d.absorbed, d.critical);
            }
            Payload::Heal(h) => {
                (amount, overhealing, absorbed, critical) = (h.amount, h.overhealing, h.absorbed, h.critical);
            }
            Payload::Absorbed(a) => (amount, critical) = (a.amount, a.critical),
            Payload::Missed(m) => {
                miss_type = m.miss_type.clone();
                amount = m.amount_missed.unwrap_or(0);
                critical = m.critical;
            }
            Payload::Aura(a) => {
                aura_type = format!("{:?}", a.aura_type).to_uppercase();
                amount = a.amount.unwrap_or(0);
            }
            Payload::Energize(e) => amount = e.amount as i64,
            Payload::Drain(d) => amount = d.amount,
            Payload::ExtraAttacks(e) => amount = e.amount,
            _ => {}
        }
        CombatEventRow {
            guild_id: event.guild_id.0,
            log_id: event.log_id.0,
            line: event.line,
            timestamp: datetime(event.timestamp_ms),
            timestamp_ms: event.timestamp_ms,
            event_type: event.event_type.to_string(),
            source_guid,
            source_name,
            source_flags,
            target_guid,
            target_name,
            target_flags,
            spell_id: spell.map_or(0, |s| s.id),
            spell_name: spell.map_or_else(String::new, |s| s.name.clone()),
            spell_school: spell.map_or(0, |s| s.school),
            amount,
            overkill,
            overhealing,
            absorbed,
            critical: u8::from(critical),
            miss_type,
            aura_type,
            advanced_guid: advanced.map_or_else(String::new, |a| a.guid.clone()),
            advanced_owner_guid: advanced.map_or_else(String::new, |a| a.owner_guid.clone()),
            current_hp: advanced.map_or(0, |a| a.current_hp),
            max_hp: advanced.map_or(0, |a| a.max_hp),
            position_x: advanced.map_or(0.0, |a| a.position_x),
            position_y: advanced.map_or(0.0, |a| a.position_y),
            level: advanced.map_or(0, |a| a.level),
            raw: event.raw.clone(),
            version,
        }
    }
}

fn unit(unit: Option<&wowlogs_schemas::Unit>) -> (String, String, u32) {
    unit.map_or_else(|| (String::new(), String::new(), 0), |u| (u.guid.clone(), u.name.clone(), u.flags))
}

/// `encounters`: one row per fight.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EncounterRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub start_line: i64,
    pub fight_id: i64,
    pub upload_id: String,
    /// Enum8: 1 encounter, 2 challenge_mode, 3 arena.
    pub kind: i8,
    pub name: String,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    pub group_size: Option<i32>,
    pub instance_id: Option<i32>,
    pub kill: Option<u8>,
    pub complete: u8,
    pub start: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub end_line: i64,
    pub key_level: Option<i32>,
    pub affixes: Vec<i32>,
    pub match_type: String,
    pub parent_start_line: Option<i64>,
    pub version: u64,
}

impl TableRow for EncounterRow {
    const TABLE: &'static str = "encounters";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("start_line", "Int64"),
        ("fight_id", "Int64"),
        ("upload_id", "String"),
        ("kind", "Enum8('encounter' = 1, 'challenge_mode' = 2, 'arena' = 3)"),
        ("name", "String"),
        ("encounter_id", "Nullable(Int32)"),
        ("difficulty", "Nullable(Int32)"),
        ("group_size", "Nullable(Int32)"),
        ("instance_id", "Nullable(Int32)"),
        ("kill", "Nullable(UInt8)"),
        ("complete", "UInt8"),
        ("start", "DateTime('UTC')"),
        ("start_ms", "Int64"),
        ("end_ms", "Int64"),
        ("duration_ms", "Int64"),
        ("end_line", "Int64"),
        ("key_level", "Nullable(Int32)"),
        ("affixes", "Array(Int32)"),
        ("match_type", "String"),
        ("parent_start_line", "Nullable(Int64)"),
        ("version", "UInt64"),
    ];
}

/// A fight's stable id: 63 bits of FNV-1a over guild, log and start line, so every
/// component (consumers, API, dashboards) derives the same id without a lookup.
pub fn fight_id(guild_id: GuildId, log_id: LogId, start_line: i64) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in
        guild_id.0.to_be_bytes().iter().chain(&log_id.0.to_be_bytes()).chain(&start_line.to_be_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash >> 1) as i64
}

impl EncounterRow {
    pub fn from_fight(
        guild_id: GuildId,
        log_id: LogId,
        upload_id: &str,
        fight: &FightSummary,
        version: u64,
    ) -> Self {
        EncounterRow {
            guild_id: guild_id.0,
            log_id: log_id.0,
            start_line: fight.start_line,
            fight_id: fight_id(guild_id, log_id, fight.start_line),
            upload_id: upload_id.to_string(),
            kind: match fight.kind {
                FightKind::Encounter => 1,
                FightKind::ChallengeMode => 2,
                FightKind::Arena => 3,
            },
            name: fight.name.clone(),
            encounter_id: fight.encounter_id,
            difficulty: fight.difficulty,
            group_size: fight.group_size,
            instance_id: fight.instance_id,
            kill: fight.kill.map(u8::from),
            complete: u8::from(fight.complete),
            start: datetime(fight.start_ms),
            start_ms: fight.start_ms,
            end_ms: fight.end_ms,
            duration_ms: fight.duration_ms,
            end_line: fight.end_line,
            key_level: fight.key_level,
            affixes: fight.affixes.clone(),
            match_type: fight.match_type.clone().unwrap_or_default(),
            parent_start_line: fight.parent_start_line,
            version,
        }
    }
}

/// `encounter_players`: one row per fight and player.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EncounterPlayerRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub start_line: i64,
    pub start: u32,
    pub player_guid: String,
    pub name: String,
    pub class: String,
    pub spec_id: Option<i32>,
    pub item_level: Option<f64>,
    pub damage_done: i64,
    pub healing_done: i64,
    pub overhealing: i64,
    pub absorbs_done: i64,
    pub damage_taken: i64,
    pub deaths: i64,
    pub casts: i64,
    pub dps: f64,
    pub hps: f64,
    pub version: u64,
}

impl TableRow for EncounterPlayerRow {
    const TABLE: &'static str = "encounter_players";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("start_line", "Int64"),
        ("start", "DateTime('UTC')"),
        ("player_guid", "String"),
        ("name", "String"),
        ("class", "String"),
        ("spec_id", "Nullable(Int32)"),
        ("item_level", "Nullable(Float64)"),
        ("damage_done", "Int64"),
        ("healing_done", "Int64"),
        ("overhealing", "Int64"),
        ("absorbs_done", "Int64"),
        ("damage_taken", "Int64"),
        ("deaths", "Int64"),
        ("casts", "Int64"),
        ("dps", "Float64"),
        ("hps", "Float64"),
        ("version", "UInt64"),
    ];
}

impl EncounterPlayerRow {
    pub fn from_player(
        guild_id: GuildId,
        log_id: LogId,
        fight: &FightSummary,
        p: &PlayerMetrics,
        version: u64,
    ) -> Self {
        EncounterPlayerRow {
            guild_id: guild_id.0,
            log_id: log_id.0,
            start_line: fight.start_line,
            start: datetime(fight.start_ms),
            player_guid: p.guid.clone(),
            name: p.name.clone(),
            class: p.class.clone().unwrap_or_default(),
            spec_id: p.spec_id,
            item_level: p.item_level,
            damage_done: p.damage_done,
            healing_done: p.healing_done,
            overhealing: p.overhealing,
            absorbs_done: p.absorbs_done,
            damage_taken: p.damage_taken,
            deaths: p.deaths,
            casts: p.casts,
            dps: p.dps,
            hps: p.hps,
            version,
        }
    }
}

/// `encounter_deaths`: the death recap, one row per player death.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EncounterDeathRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub start_line: i64,
    pub start: u32,
    pub line: i64,
    pub timestamp: u32,
    pub timestamp_ms: i64,
    pub fight_time_ms: i64,
    pub player_guid: String,
    pub player_name: String,
    pub ability: String,
    pub spell_id: Option<i32>,
    pub source_guid: String,
    pub source_name: String,
    pub amount: i64,
    pub overkill: i64,
    pub version: u64,
}

impl TableRow for EncounterDeathRow {
    const TABLE: &'static str = "encounter_deaths";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("start_line", "Int64"),
        ("start", "DateTime('UTC')"),
        ("line", "Int64"),
        ("timestamp", "DateTime('UTC')"),
        ("timestamp_ms", "Int64"),
        ("fight_time_ms", "Int64"),
        ("player_guid", "String"),
        ("player_name", "String"),
        ("ability", "String"),
        ("spell_id", "Nullable(Int32)"),
        ("source_guid", "String"),
        ("source_name", "String"),
        ("amount", "Int64"),
        ("overkill", "Int64"),
        ("version", "UInt64"),
    ];
}

impl EncounterDeathRow {
    pub fn from_death(
        guild_id: GuildId,
        log_id: LogId,
        fight: &FightSummary,
        d: &DeathRecord,
        version: u64,
    ) -> Self {
        let blow = d.killing_blow.clone().unwrap_or_default();
        EncounterDeathRow {
            guild_id: guild_id.0,
            log_id: log_id.0,
            start_line: fight.start_line,
            start: datetime(fight.start_ms),
            line: d.line,
            timestamp: datetime(d.timestamp_ms),
            timestamp_ms: d.timestamp_ms,
            fight_time_ms: d.fight_time_ms,
            player_guid: d.guid.clone(),
            player_name: d.name.clone(),
            ability: blow.ability,
            spell_id: blow.spell_id,
            source_guid: blow.source_guid,
            source_name: blow.source_name,
            amount: blow.amount,
            overkill: blow.overkill,
            version,
        }
    }
}

/// `character_logs`: one row per guild, player and log; the `characters` view folds
/// them per player.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct CharacterLogRow {
    pub guild_id: i64,
    pub player_guid: String,
    pub log_id: i64,
    pub name: String,
    pub class: String,
    pub spec_id: Option<i32>,
    pub item_level: Option<f64>,
    pub first_seen: u32,
    pub last_seen: u32,
    pub last_seen_ms: i64,
    pub fights: i64,
    pub version: u64,
}

impl TableRow for CharacterLogRow {
    const TABLE: &'static str = "character_logs";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("player_guid", "String"),
        ("log_id", "Int64"),
        ("name", "String"),
        ("class", "String"),
        ("spec_id", "Nullable(Int32)"),
        ("item_level", "Nullable(Float64)"),
        ("first_seen", "DateTime('UTC')"),
        ("last_seen", "DateTime('UTC')"),
        ("last_seen_ms", "Int64"),
        ("fights", "Int64"),
        ("version", "UInt64"),
    ];
}

impl CharacterLogRow {
    /// A player's row after their first fight of a log.
    pub fn first(guild_id: GuildId, log_id: LogId, fight: &FightSummary, p: &PlayerMetrics) -> Self {
        CharacterLogRow {
            guild_id: guild_id.0,
            player_guid: p.guid.clone(),
            log_id: log_id.0,
            name: p.name.clone(),
            class: p.class.clone().unwrap_or_default(),
            spec_id: p.spec_id,
            item_level: p.item_level,
            first_seen: datetime(fight.start_ms),
            last_seen: datetime(fight.end_ms),
            last_seen_ms: fight.end_ms,
            fights: 1,
            version: 1,
        }
    }

    /// Folds one more fight of the same log in: the latest known class, spec and item
    /// level, the earliest start, the latest end. `version` counts the fights, so the
    /// row written after the most fights replaces the others.
    pub fn seen_again(&mut self, fight: &FightSummary, p: &PlayerMetrics) {
        let newer = fight.end_ms >= self.last_seen_ms;
        if newer && !p.name.is_empty() {
            self.name = p.name.clone();
        }
        if let Some(class) = &p.class
            && (newer || self.class.is_empty())
        {
            self.class = class.clone();
        }
        if p.spec_id.is_some() && (newer || self.spec_id.is_none()) {
            self.spec_id = p.spec_id;
        }
        if p.item_level.is_some() && (newer || self.item_level.is_none()) {
            self.item_level = p.item_level;
        }
        self.first_seen = self.first_seen.min(datetime(fight.start_ms));
        if newer {
            self.last_seen = datetime(fight.end_ms);
            self.last_seen_ms = fight.end_ms;
        }
        self.fights += 1;
        self.version = self.fights as u64;
    }
}

/// `logs`: one row per uploaded log, replaced by each newer status.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct LogRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub content_sha256: String,
    pub upload_id: String,
    pub file_name: String,
    /// Enum8: 1 accepted, 2 parsing, 3 completed, 4 failed.
    pub state: i8,
    pub bytes_read: i64,
    pub lines: i64,
    pub events: i64,
    pub dead_letters: i64,
    pub reason: String,
    pub updated: u32,
    pub version: u64,
}

impl TableRow for LogRow {
    const TABLE: &'static str = "logs";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("content_sha256", "String"),
        ("upload_id", "String"),
        ("file_name", "String"),
        ("state", "Enum8('accepted' = 1, 'parsing' = 2, 'completed' = 3, 'failed' = 4)"),
        ("bytes_read", "Int64"),
        ("lines", "Int64"),
        ("events", "Int64"),
        ("dead_letters", "Int64"),
        ("reason", "String"),
        ("updated", "DateTime('UTC')"),
        ("version", "UInt64"),
    ];
}

impl LogRow {
    /// The row of a status; its timestamp is the version, so the latest status wins.
    pub fn from_status(status: &UploadStatus) -> Self {
        LogRow {
            guild_id: status.guild_id.0,
            log_id: status.log_id.0,
            content_sha256: status.content_sha256.clone(),
            upload_id: status.upload_id.clone(),
            file_name: status.file_name.clone(),
            state: match status.state {
                UploadState::Accepted => 1,
                UploadState::Parsing => 2,
                UploadState::Completed => 3,
                UploadState::Failed => 4,
            },
            bytes_read: status.bytes_read,
            lines: status.lines,
            events: status.events,
            dead_letters: status.dead_letters,
            reason: status.reason.clone().unwrap_or_default(),
            updated: datetime(status.timestamp_ms),
            version: status.timestamp_ms.max(0) as u64,
        }
    }
}

/// `dead_letters`: one row per refused line or record.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct DeadLetterRow {
    pub guild_id: i64,
    pub log_id: i64,
    pub upload_id: String,
    pub source: String,
    pub line: i64,
    pub event: String,
    pub code: String,
    pub message: String,
    pub raw: String,
    pub timestamp: u32,
    pub timestamp_ms: i64,
    pub version: u64,
}

impl TableRow for DeadLetterRow {
    const TABLE: &'static str = "dead_letters";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("guild_id", "Int64"),
        ("log_id", "Int64"),
        ("upload_id", "String"),
        ("source", "String"),
        ("line", "Int64"),
        ("event", "String"),
        ("code", "String"),
        ("message", "String"),
        ("raw", "String"),
        ("timestamp", "DateTime('UTC')"),
        ("timestamp_ms", "Int64"),
        ("version", "UInt64"),
    ];
}

impl DeadLetterRow {
    /// The raw bytes are stored as text with invalid UTF-8 replaced (ClickHouse
    /// `String` holds bytes, but the row's serde type is `String`).
    pub fn from_letter(letter: &DeadLetter, version: u64) -> Self {
        DeadLetterRow {
            guild_id: letter.guild_id.0,
            log_id: letter.log_id.0,
            upload_id: letter.upload_id.clone(),
            source: letter.source.clone(),
            line: letter.line,
            event: letter.event.clone().unwrap_or_default(),
            code: letter.code.clone(),
            message: letter.message.clone(),
            raw: String::from_utf8_lossy(&letter.raw).into_owned(),
            timestamp: datetime(letter.timestamp_ms),
            timestamp_ms: letter.timestamp_ms,
            version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::Row;

    fn names<T: TableRow>() -> Vec<&'static str> {
        T::COLUMNS.iter().map(|(name, _)| *name).collect()
    }

    #[test]
    fn declared_columns_follow_the_structs_field_order() {
        assert_eq!(names::<CombatEventRow>(), CombatEventRow::COLUMN_NAMES);
        assert_eq!(names::<EncounterRow>(), EncounterRow::COLUMN_NAMES);
        assert_eq!(names::<EncounterPlayerRow>(), EncounterPlayerRow::COLUMN_NAMES);
        assert_eq!(names::<EncounterDeathRow>(), EncounterDeathRow::COLUMN_NAMES);
        assert_eq!(names::<LogRow>(), LogRow::COLUMN_NAMES);
        assert_eq!(names::<DeadLetterRow>(), DeadLetterRow::COLUMN_NAMES);
        assert_eq!(names::<CharacterLogRow>(), CharacterLogRow::COLUMN_NAMES);
    }

    #[test]
    fn fight_ids_are_stable_and_distinct() {
        let id = fight_id(GuildId(1), LogId(2), 3);
        assert_eq!(id, fight_id(GuildId(1), LogId(2), 3));
        assert_ne!(id, fight_id(GuildId(1), LogId(2), 4));
        assert_ne!(id, fight_id(GuildId(2), LogId(2), 3));
        assert!(id >= 0);
    }

    #[test]
    fn datetimes_are_whole_seconds_clamped_to_the_column() {
        assert_eq!(datetime(1_711_310_089_517), 1_711_310_089);
        assert_eq!(datetime(-5), 0);
    }
}
