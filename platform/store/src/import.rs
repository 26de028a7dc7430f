//! Importing a full export (`GET /api/v1/encounters/export?full=true`, as NDJSON or as
//! one JSON document) into a guild: a guild moving to another instance, or an instance
//! administrator rebuilding a guild's numbers from what it took away.
//!
//! Each exported fight (and each Solo Shuffle round) becomes the rows the encounter
//! consumer would have written for it ([`FightRows`]): its `encounters` row, its players,
//! its deaths, its players' `character_logs`, and an `encounter_details` row; then the
//! roll-ups of the days it touched are computed again. Under the target guild the fight
//! gets the target's id (ids are derived from guild, log and first line, which the
//! export carries). A fight the guild already has (an earlier import of the same file,
//! or the guild's own log) is left as it is, so an import is idempotent and never
//! replaces a log's own rows by an export's thinner ones.
//!
//! What an export does not carry, an imported fight does not have: each player's
//! abilities and auras, each boss unit's health, the death recaps' lines before the
//! killing blow, the raw events, dead letters and gear. And an imported fight is on no
//! topic: a `wowlogs rebuild encounters` or a restore, which make the tables again from
//! the topics, leave it out — import the file again after either.

use crate::StoreSettings;
use crate::rows::{FightRows, LogCharacters, fight_version};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use wowlogs_schemas::{DeathRecord, FightKind, FightSummary, GuildId, KillingBlow, LogId, PlayerMetrics};

/// Fights written per insert: an export's page.
pub const IMPORT_CHUNK: usize = 200;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a full export (the serde error names the line and column).
    #[error("not a full export (`/api/v1/encounters/export?full=true`, JSON or NDJSON): {0}")]
    Format(#[from] serde_json::Error),
    #[error("fight {id}: log id {log_id:?} is not a number")]
    LogId { id: String, log_id: String },
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

/// One value of an export file: an NDJSON line (`{"guild_id", "guild_name", "data"}`)
/// or the JSON document (`{"guild_id", "guild_name", "encounters": [...]}`).
#[derive(Debug, Deserialize)]
struct ExportValue {
    guild_id: Option<i64>,
    data: Option<ExportedFight>,
    encounters: Option<Vec<ExportedFight>>,
}

/// A fight as a full export shows it (`FullEncounter` in the API's document).
#[derive(Debug, Clone, Deserialize)]
pub struct ExportedFight {
    /// The fight's id in the exporting guild (the target's is derived again).
    pub id: String,
    pub log_id: String,
    pub upload_id: String,
    pub kind: FightKind,
    pub name: String,
    pub encounter_id: Option<i32>,
    pub difficulty: Option<i32>,
    pub group_size: Option<i32>,
    pub instance_id: Option<i32>,
    pub zone_name: Option<String>,
    pub boss_pct: Option<f64>,
    pub boss_pct_missing: Option<String>,
    pub kill: Option<bool>,
    pub complete: bool,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub key_level: Option<i32>,
    #[serde(default)]
    pub affixes: Vec<i32>,
    pub match_type: Option<String>,
    pub round: Option<i32>,
    pub rounds_won: Option<i32>,
    pub start_line: i64,
    pub end_line: i64,
    pub parent_start_line: Option<i64>,
    pub players: Vec<ExportedPlayer>,
    pub deaths: Vec<ExportedDeath>,
    #[serde(default)]
    pub rounds: Vec<ExportedFight>,
}

/// A player's numbers in an exported fight (`PlayerLine`).
#[derive(Debug, Clone, Deserialize)]
pub struct ExportedPlayer {
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
    pub interrupts: i64,
    pub dispels: i64,
}

/// A death in an exported fight (`DeathLine`).
#[derive(Debug, Clone, Deserialize)]
pub struct ExportedDeath {
    pub line: i64,
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
}

impl ExportedFight {
    /// The fight as the fight core would have summed it up (without what an export leaves out).
    fn summary(&self) -> FightSummary {
        FightSummary {
            kind: self.kind,
            name: self.name.clone(),
            encounter_id: self.encounter_id,
            difficulty: self.difficulty,
            group_size: self.group_size,
            instance_id: self.instance_id,
            kill: self.kill,
            complete: self.complete,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            duration_ms: self.duration_ms,
            start_line: self.start_line,
            end_line: self.end_line,
            key_level: self.key_level,
            affixes: self.affixes.clone(),
            match_type: self.match_type.clone(),
            parent_start_line: self.parent_start_line,
            round: self.round,
            rounds_won: self.rounds_won,
            players: self.players.iter().map(ExportedPlayer::metrics).collect(),
            deaths: self.deaths.iter().map(ExportedDeath::record).collect(),
            boss_pct: self.boss_pct,
            boss_pct_missing: self.boss_pct_missing.clone(),
            bosses: Vec::new(),
            damage_taken_by_ability: Vec::new(),
            removals: Vec::new(),
            zone_name: self.zone_name.clone(),
        }
    }

    fn log(&self) -> Result<LogId, ImportError> {
        let log_id = self
            .log_id
            .trim()
            .parse()
            .map_err(|_| ImportError::LogId { id: self.id.clone(), log_id: self.log_id.clone() })?;
        Ok(LogId(log_id))
    }
}

impl ExportedPlayer {
    fn metrics(&self) -> PlayerMetrics {
        PlayerMetrics {
            guid: self.player_guid.clone(),
            name: self.name.clone(),
            class: (!self.class.is_empty()).then(|| self.class.clone()),
            spec_id: self.spec_id,
            item_level: self.item_level,
            damage_done: self.damage_done,
            healing_done: self.healing_done,
            overhealing: self.overhealing,
            absorbs_done: self.absorbs_done,
            damage_taken: self.damage_taken,
            deaths: self.deaths,
            casts: self.casts,
            interrupts: self.interrupts,
            dispels: self.dispels,
            dps: self.dps,
            hps: self.hps,
            abilities: Vec::new(),
            auras: Vec::new(),
        }
    }
}

impl ExportedDeath {
    fn record(&self) -> DeathRecord {
        DeathRecord {
            guid: self.player_guid.clone(),
            name: self.player_name.clone(),
            timestamp_ms: self.timestamp_ms,
            fight_time_ms: self.fight_time_ms,
            line: self.line,
            killing_blow: Some(KillingBlow {
                ability: self.ability.clone(),
                spell_id: self.spell_id,
                source_guid: self.source_guid.clone(),
                source_name: self.source_name.clone(),
                amount: self.amount,
                overkill: self.overkill,
            }),
            recap: Vec::new(),
        }
    }
}

/// The fights of an export file, as they come (an NDJSON file a line at a time; a JSON
/// document is read whole), in chunks of at most `chunk`; and the exporting guild, once
/// a value named it.
pub struct ExportReader<R: std::io::Read> {
    values: serde_json::StreamDeserializer<'static, serde_json::de::IoRead<R>, ExportValue>,
    pending: std::vec::IntoIter<ExportedFight>,
    chunk: usize,
    /// The guild the export came from, as the file says.
    pub source_guild: Option<i64>,
}

impl<R: std::io::Read> ExportReader<R> {
    pub fn new(reader: R, chunk: usize) -> Self {
        ExportReader {
            values: serde_json::Deserializer::from_reader(reader).into_iter(),
            pending: Vec::new().into_iter(),
            chunk: chunk.max(1),
            source_guild: None,
        }
    }

    /// The next fights (empty at the end of the file).
    pub fn next_chunk(&mut self) -> Result<Vec<ExportedFight>, ImportError> {
        let mut fights: Vec<ExportedFight> = self.pending.by_ref().take(self.chunk).collect();
        while fights.len() < self.chunk {
            let Some(value) = self.values.next() else { break };
            let value = value?;
            self.source_guild = self.source_guild.or(value.guild_id);
            match (value.data, value.encounters) {
                (Some(fight), _) => fights.push(fight),
                (None, Some(all)) => {
                    self.pending = all.into_iter();
                    fights.extend(self.pending.by_ref().take(self.chunk - fights.len()));
                }
                (None, None) => {
                    return Err(ImportError::Format(serde::de::Error::custom(
                        "a value with neither `data` (an NDJSON line) nor `encounters` (the JSON document)",
                    )));
                }
            }
        }
        Ok(fights)
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub fights: u64,
    /// Solo Shuffle rounds (fights of their own, beside their match).
    pub rounds: u64,
    pub players: u64,
    pub deaths: u64,
    /// The logs the fights came from.
    pub logs: BTreeSet<i64>,
    /// Fights the guild had already (not written again).
    pub already: u64,
}

/// Imports fights into `guild`, one call per chunk; `characters` carries each log's
/// players across chunks (a player's `character_logs` row counts every fight of theirs).
pub struct Importer {
    guild: GuildId,
    characters: HashMap<i64, LogCharacters>,
    pub imported: Imported,
}

impl Importer {
    pub fn new(guild_id: i64) -> Self {
        Importer { guild: GuildId(guild_id), characters: HashMap::new(), imported: Imported::default() }
    }

    /// The rows of these fights (and their rounds), as the encounter consumer makes them.
    pub fn rows<'a>(
        &mut self,
        fights: impl IntoIterator<Item = &'a ExportedFight>,
    ) -> Result<FightRows, ImportError> {
        let mut rows = FightRows::default();
        for fight in fights {
            let log = fight.log()?;
            for (one, round) in std::iter::once((fight, false)).chain(fight.rounds.iter().map(|r| (r, true)))
            {
                let mut summary = one.summary();
                if round {
                    summary.parent_start_line = summary.parent_start_line.or(Some(fight.start_line));
                    self.imported.rounds += 1;
                } else {
                    self.imported.fights += 1;
                }
                self.imported.players += summary.players.len() as u64;
                self.imported.deaths += summary.deaths.len() as u64;
                let characters = self.characters.entry(log.0).or_default();
                let version = fight_version(summary.end_line, true);
                rows.push((self.guild, log), &one.upload_id, &summary, version, characters);
            }
            self.imported.logs.insert(log.0);
        }
        Ok(rows)
    }

    /// Writes the rows of those of these fights the guild does not have yet (fights it
    /// has, from an earlier import or its own logs, are counted and left as they are: an
    /// export carries less than a log's own rows), and their days' roll-ups.
    pub async fn write(
        &mut self,
        settings: &StoreSettings,
        fights: &[ExportedFight],
    ) -> Result<(), ImportError> {
        #[derive(Debug, clickhouse::Row, Deserialize)]
        struct Held {
            log_id: i64,
            start_line: i64,
        }
        let client = settings.client();
        let placed = fights.iter().map(|f| Ok((f.log()?.0, f))).collect::<Result<Vec<_>, ImportError>>()?;
        let mut logs: Vec<i64> = placed.iter().map(|(log, _)| *log).collect();
        logs.sort_unstable();
        logs.dedup();
        let held: std::collections::HashSet<(i64, i64)> = client
            .query("SELECT DISTINCT log_id, start_line FROM encounters WHERE guild_id = ? AND has(?, log_id)")
            .bind(self.guild.0)
            .bind(logs)
            .fetch_all::<Held>()
            .await?
            .into_iter()
            .map(|h| (h.log_id, h.start_line))
            .collect();
        let (already, new): (Vec<_>, Vec<_>) =
            placed.into_iter().partition(|(log, fight)| held.contains(&(*log, fight.start_line)));
        self.imported.already += already.len() as u64;
        self.rows(new.into_iter().map(|(_, fight)| fight))?.write(&client).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fight(id: &str, start_line: i64, rounds: &str) -> String {
        format!(
            r#"{{"id":"{id}","log_id":"42","upload_id":"up-1","kind":"arena","name":"Nagrand Arena",
            "encounter_id":null,"difficulty":null,"difficulty_name":null,"group_size":null,"instance_id":1505,
            "zone_name":null,"boss_pct":null,"boss_pct_missing":null,"kill":true,"outcome":"win","complete":true,
            "start":"2024-01-01T00:00:00Z","start_ms":1704067200000,"end_ms":1704067260000,"duration_ms":60000,
            "key_level":null,"affixes":[],"match_type":"Rated Solo Shuffle","round":null,"rounds_won":4,
            "start_line":{start_line},"end_line":{end},"parent_start_line":null,
            "players":[{{"player_guid":"Player-1-A","name":"Ada","class":"MAGE","spec_id":63,"item_level":620.5,
            "damage_done":1000,"healing_done":0,"overhealing":0,"absorbs_done":0,"damage_taken":50,"deaths":1,
            "casts":12,"dps":16.7,"hps":0.0,"interrupts":1,"dispels":0}}],
            "deaths":[{{"line":{death},"timestamp_ms":1704067230000,"fight_time_ms":30000,"player_guid":"Player-1-A",
            "player_name":"Ada","ability":"Fireball","spell_id":133,"source_guid":"Player-2-B","source_name":"Bo",
            "amount":700,"overkill":20}}],
            "rounds":[{rounds}]}}"#,
            end = start_line + 100,
            death = start_line + 50,
        )
    }

    fn read_all(text: &str, chunk: usize) -> (Vec<Vec<String>>, Option<i64>) {
        let mut reader = ExportReader::new(text.as_bytes(), chunk);
        let mut chunks = Vec::new();
        loop {
            let fights = reader.next_chunk().unwrap();
            if fights.is_empty() {
                break;
            }
            chunks.push(fights.iter().map(|f| f.id.clone()).collect());
        }
        (chunks, reader.source_guild)
    }

    #[test]
    fn an_ndjson_export_and_a_json_document_give_the_same_fights_in_chunks() {
        let fights: Vec<String> = (1..=5).map(|i| fight(&i.to_string(), i * 1000, "")).collect();
        let ndjson: String = fights
            .iter()
            .map(|f| {
                format!(r#"{{"guild_id":7,"guild_name":"Seven","data":{}}}"#, f.replace('\n', " ")) + "\n"
            })
            .collect();
        let document =
            format!(r#"{{"guild_id":7,"guild_name":"Seven","encounters":[{}]}}"#, fights.join(","));
        let expected = vec![vec!["1", "2"], vec!["3", "4"], vec!["5"]];
        for text in [ndjson, document] {
            let (chunks, guild) = read_all(&text, 2);
            assert_eq!(chunks, expected);
            assert_eq!(guild, Some(7));
        }
    }

    #[test]
    fn a_fight_and_its_rounds_become_the_rows_the_consumer_writes_under_the_target_guild() {
        let round = fight("11", 1010, "").replace(r#""round":null"#, r#""round":1"#);
        let text = fight("10", 1000, &round);
        let exported: ExportedFight = serde_json::from_str(&text).unwrap();
        let mut importer = Importer::new(9);
        let rows = importer.rows(&[exported]).unwrap();
        assert_eq!(rows.encounters.len(), 2, "the match and its round");
        assert!(rows.encounters.iter().all(|e| e.guild_id == 9 && e.log_id == 42));
        assert_eq!(rows.encounters[0].fight_id, crate::rows::fight_id(GuildId(9), LogId(42), 1000));
        assert_eq!(rows.encounters[1].parent_start_line, Some(1000), "the round under its match");
        assert_eq!(rows.encounters[1].round, Some(1));
        assert_eq!(rows.players.len(), 2);
        assert_eq!((rows.players[0].damage_done, rows.players[0].interrupts), (1000, 1));
        assert_eq!(rows.deaths[0].ability, "Fireball");
        assert_eq!(rows.deaths[0].amount, 700);
        assert_eq!(rows.characters.last().unwrap().fights, 2, "one character row counting both fights");
        assert_eq!(
            importer.imported,
            Imported { fights: 1, rounds: 1, players: 2, deaths: 2, logs: BTreeSet::from([42]), already: 0 }
        );
    }

    #[test]
    fn a_file_that_is_not_an_export_says_so_with_where() {
        let mut reader = ExportReader::new(&b"{\"guild_id\":7}\n"[..], 10);
        let error = reader.next_chunk().unwrap_err().to_string();
        assert!(error.contains("neither `data`"), "{error}");
        let mut reader = ExportReader::new(&b"{\"data\":{\"id\":\"1\"}}"[..], 10);
        let error = reader.next_chunk().unwrap_err().to_string();
        assert!(error.starts_with("not a full export") && error.contains("line 1"), "{error}");
        let bad_log = fight("3", 1000, "").replace(r#""log_id":"42""#, r#""log_id":"x""#);
        let exported: ExportedFight = serde_json::from_str(&bad_log).unwrap();
        let error = Importer::new(1).rows(&[exported]).unwrap_err().to_string();
        assert_eq!(error, r#"fight 3: log id "x" is not a number"#);
    }
}
