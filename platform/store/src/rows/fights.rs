//! `encounters`, `encounter_details`, `encounter_players` and `encounter_deaths`: what the
//! fight core makes of a log.

use super::{datetime, name_cell};
use wowlogs_schemas::{DeathRecord, FightSummary, GuildId, LogId, Named, PlayerMetrics};

crate::table_row! {
    /// `encounters`: one row per fight.
    pub struct EncounterRow in "encounters" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        start_line: i64 = "Int64",
        fight_id: i64 = "Int64",
        upload_id: String = "String",
        /// `FightKind::code()`.
        kind: i8 = "Enum8('encounter' = 1, 'challenge_mode' = 2, 'arena' = 3, 'battleground' = 4)",
        name: String = "String",
        encounter_id: Option<i32> = "Nullable(Int32)",
        difficulty: Option<i32> = "Nullable(Int32)",
        group_size: Option<i32> = "Nullable(Int32)",
        instance_id: Option<i32> = "Nullable(Int32)",
        kill: Option<u8> = "Nullable(UInt8)",
        complete: u8 = "UInt8",
        start: u32 = "DateTime('UTC')",
        start_ms: i64 = "Int64",
        end_ms: i64 = "Int64",
        duration_ms: i64 = "Int64",
        end_line: i64 = "Int64",
        key_level: Option<i32> = "Nullable(Int32)",
        affixes: Vec<i32> = "Array(Int32)",
        match_type: String = "String",
        parent_start_line: Option<i64> = "Nullable(Int64)",
        version: u64 = "UInt64",
        /// A Solo Shuffle round's number (migration 0004).
        round: Option<i32> = "Nullable(Int32)",
        /// A Solo Shuffle match: the rounds the log owner's side won (migration 0004).
        rounds_won: Option<i32> = "Nullable(Int32)",
        /// Boss fights: the bosses' combined health at the end, in percent (migration 0013).
        boss_pct: Option<f64> = "Nullable(Float64)",
        /// Why a boss fight has no `boss_pct` (empty otherwise).
        boss_pct_missing: String = "String",
        /// The zone the fight was in, from the log's zone lines (empty when unknown).
        zone_name: String = "String",
    }
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
            kind: fight.kind.code(),
            name: name_cell(&fight.name),
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
            round: fight.round,
            rounds_won: fight.rounds_won,
            boss_pct: fight.boss_pct,
            boss_pct_missing: fight.boss_pct_missing.clone().unwrap_or_default(),
            zone_name: fight.zone_name.as_deref().map(name_cell).unwrap_or_default(),
        }
    }
}

crate::table_row! {
    /// `encounter_details`: one row per fight, what one fight's pages show (migration
    /// 0013): each boss's health, the abilities that hurt the players most, the players'
    /// interrupts and dispels, as parallel arrays.
    pub struct EncounterDetailRow in "encounter_details" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        start_line: i64 = "Int64",
        start: u32 = "DateTime('UTC')",
        /// The fight's name and difficulty, as on `encounter_players`.
        fight_name: String = "String",
        difficulty: Option<i32> = "Nullable(Int32)",
        /// One element per boss, largest first.
        boss_guid: Vec<String> = "Array(String)",
        boss_name: Vec<String> = "Array(String)",
        boss_npc_id: Vec<Option<i32>> = "Array(Nullable(Int32))",
        boss_current_hp: Vec<i64> = "Array(Int64)",
        boss_max_hp: Vec<i64> = "Array(Int64)",
        boss_died: Vec<u8> = "Array(UInt8)",
        /// One element per ability that hurt the players most, most first.
        taken_ability: Vec<String> = "Array(String)",
        taken_spell_id: Vec<Option<i32>> = "Array(Nullable(Int32))",
        taken_amount: Vec<i64> = "Array(Int64)",
        taken_absorbed: Vec<i64> = "Array(Int64)",
        taken_hits: Vec<i64> = "Array(Int64)",
        taken_players: Vec<i64> = "Array(Int64)",
        taken_killing_blows: Vec<i64> = "Array(Int64)",
        /// The players' interrupts, dispels and spellsteals in order, one element each.
        removal_timestamp_ms: Vec<i64> = "Array(Int64)",
        /// `interrupt`, `dispel` or `steal`.
        removal_kind: Vec<String> = "Array(String)",
        removal_player_guid: Vec<String> = "Array(String)",
        removal_source_name: Vec<String> = "Array(String)",
        removal_ability: Vec<String> = "Array(String)",
        removal_spell_id: Vec<i32> = "Array(Int32)",
        removal_removed: Vec<String> = "Array(String)",
        removal_removed_spell_id: Vec<i32> = "Array(Int32)",
        removal_target_guid: Vec<String> = "Array(String)",
        removal_target_name: Vec<String> = "Array(String)",
        /// Each player's damage and healing done and damage taken by ability (migration
        /// 0015), one element per player and ability, players in the fight's order, each
        /// player's most done first, then most taken.
        done_player_guid: Vec<String> = "Array(String)",
        /// `damage`, `heal` or `taken`.
        done_kind: Vec<String> = "Array(String)",
        done_ability: Vec<String> = "Array(String)",
        done_spell_id: Vec<Option<i32>> = "Array(Nullable(Int32))",
        done_amount: Vec<i64> = "Array(Int64)",
        done_hits: Vec<i64> = "Array(Int64)",
        done_crits: Vec<i64> = "Array(Int64)",
        done_absorbed: Vec<i64> = "Array(Int64)",
        done_overhealing: Vec<i64> = "Array(Int64)",
        /// Each player's auras, one element per player and aura, the longest up first.
        aura_player_guid: Vec<String> = "Array(String)",
        aura_spell_id: Vec<i32> = "Array(Int32)",
        aura_name: Vec<String> = "Array(String)",
        aura_debuff: Vec<u8> = "Array(UInt8)",
        aura_uptime_ms: Vec<i64> = "Array(Int64)",
        aura_applications: Vec<i64> = "Array(Int64)",
        version: u64 = "UInt64",
    }
}

impl EncounterDetailRow {
    pub fn from_fight(guild_id: GuildId, log_id: LogId, fight: &FightSummary, version: u64) -> Self {
        let done = || fight.players.iter().flat_map(|p| p.abilities.iter().map(move |a| (p, a)));
        let auras = || fight.players.iter().flat_map(|p| p.auras.iter().map(move |a| (p, a)));
        EncounterDetailRow {
            guild_id: guild_id.0,
            log_id: log_id.0,
            start_line: fight.start_line,
            start: datetime(fight.start_ms),
            fight_name: name_cell(&fight.name),
            difficulty: fight.difficulty,
            boss_guid: fight.bosses.iter().map(|b| name_cell(&b.guid)).collect(),
            boss_name: fight.bosses.iter().map(|b| name_cell(&b.name)).collect(),
            boss_npc_id: fight.bosses.iter().map(|b| b.npc_id).collect(),
            boss_current_hp: fight.bosses.iter().map(|b| b.current_hp).collect(),
            boss_max_hp: fight.bosses.iter().map(|b| b.max_hp).collect(),
            boss_died: fight.bosses.iter().map(|b| u8::from(b.died)).collect(),
            taken_ability: fight.damage_taken_by_ability.iter().map(|a| name_cell(&a.ability)).collect(),
            taken_spell_id: fight.damage_taken_by_ability.iter().map(|a| a.spell_id).collect(),
            taken_amount: fight.damage_taken_by_ability.iter().map(|a| a.amount).collect(),
            taken_absorbed: fight.damage_taken_by_ability.iter().map(|a| a.absorbed).collect(),
            taken_hits: fight.damage_taken_by_ability.iter().map(|a| a.hits).collect(),
            taken_players: fight.damage_taken_by_ability.iter().map(|a| a.players).collect(),
            taken_killing_blows: fight.damage_taken_by_ability.iter().map(|a| a.killing_blows).collect(),
            removal_timestamp_ms: fight.removals.iter().map(|r| r.timestamp_ms).collect(),
            removal_kind: fight.removals.iter().map(|r| r.kind.name().to_string()).collect(),
            removal_player_guid: fight.removals.iter().map(|r| name_cell(&r.player_guid)).collect(),
            removal_source_name: fight.removals.iter().map(|r| name_cell(&r.source_name)).collect(),
            removal_ability: fight.removals.iter().map(|r| name_cell(&r.ability)).collect(),
            removal_spell_id: fight.removals.iter().map(|r| r.spell_id).collect(),
            removal_removed: fight.removals.iter().map(|r| name_cell(&r.removed)).collect(),
            removal_removed_spell_id: fight.removals.iter().map(|r| r.removed_spell_id).collect(),
            removal_target_guid: fight.removals.iter().map(|r| name_cell(&r.target_guid)).collect(),
            removal_target_name: fight.removals.iter().map(|r| name_cell(&r.target_name)).collect(),
            done_player_guid: done().map(|(p, _)| name_cell(&p.guid)).collect(),
            done_kind: done().map(|(_, a)| a.kind.name().to_string()).collect(),
            done_ability: done().map(|(_, a)| name_cell(&a.ability)).collect(),
            done_spell_id: done().map(|(_, a)| a.spell_id).collect(),
            done_amount: done().map(|(_, a)| a.amount).collect(),
            done_hits: done().map(|(_, a)| a.hits).collect(),
            done_crits: done().map(|(_, a)| a.crits).collect(),
            done_absorbed: done().map(|(_, a)| a.absorbed).collect(),
            done_overhealing: done().map(|(_, a)| a.overhealing).collect(),
            aura_player_guid: auras().map(|(p, _)| name_cell(&p.guid)).collect(),
            aura_spell_id: auras().map(|(_, a)| a.spell_id).collect(),
            aura_name: auras().map(|(_, a)| name_cell(&a.aura)).collect(),
            aura_debuff: auras().map(|(_, a)| u8::from(a.debuff)).collect(),
            aura_uptime_ms: auras().map(|(_, a)| a.uptime_ms).collect(),
            aura_applications: auras().map(|(_, a)| a.applications).collect(),
            version,
        }
    }
}

crate::table_row! {
    /// `encounter_players`: one row per fight and player.
    pub struct EncounterPlayerRow in "encounter_players" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        start_line: i64 = "Int64",
        start: u32 = "DateTime('UTC')",
        player_guid: String = "String",
        name: String = "String",
        class: String = "String",
        spec_id: Option<i32> = "Nullable(Int32)",
        item_level: Option<f64> = "Nullable(Float64)",
        damage_done: i64 = "Int64",
        healing_done: i64 = "Int64",
        overhealing: i64 = "Int64",
        absorbs_done: i64 = "Int64",
        damage_taken: i64 = "Int64",
        deaths: i64 = "Int64",
        casts: i64 = "Int64",
        dps: f64 = "Float64",
        hps: f64 = "Float64",
        version: u64 = "UInt64",
        /// The fight's name and difficulty (migration 0009), so one boss's pulls are
        /// read without a subquery on `encounters`.
        fight_name: String = "String",
        difficulty: Option<i32> = "Nullable(Int32)",
        /// Casts interrupted, and auras dispelled or stolen (migration 0013).
        interrupts: i64 = "Int64",
        dispels: i64 = "Int64",
    }
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
            player_guid: name_cell(&p.guid),
            name: name_cell(&p.name),
            class: name_cell(p.class.as_deref().unwrap_or_default()),
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
            fight_name: name_cell(&fight.name),
            difficulty: fight.difficulty,
            interrupts: p.interrupts,
            dispels: p.dispels,
        }
    }
}

crate::table_row! {
    /// `encounter_deaths`: the death recap, one row per player death.
    pub struct EncounterDeathRow in "encounter_deaths" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        start_line: i64 = "Int64",
        start: u32 = "DateTime('UTC')",
        line: i64 = "Int64",
        timestamp: u32 = "DateTime('UTC')",
        timestamp_ms: i64 = "Int64",
        fight_time_ms: i64 = "Int64",
        player_guid: String = "String",
        player_name: String = "String",
        ability: String = "String",
        spell_id: Option<i32> = "Nullable(Int32)",
        source_guid: String = "String",
        source_name: String = "String",
        amount: i64 = "Int64",
        overkill: i64 = "Int64",
        version: u64 = "UInt64",
        /// As on `encounter_players` (migration 0009).
        fight_name: String = "String",
        difficulty: Option<i32> = "Nullable(Int32)",
        /// The recap, one element per line, newest (the killing blow) first (migration 0013).
        recap_timestamp_ms: Vec<i64> = "Array(Int64)",
        /// `damage` or `heal`.
        recap_kind: Vec<String> = "Array(String)",
        recap_ability: Vec<String> = "Array(String)",
        recap_spell_id: Vec<Option<i32>> = "Array(Nullable(Int32))",
        recap_source_guid: Vec<String> = "Array(String)",
        recap_source_name: Vec<String> = "Array(String)",
        recap_amount: Vec<i64> = "Array(Int64)",
        recap_overkill: Vec<i64> = "Array(Int64)",
        recap_absorbed: Vec<i64> = "Array(Int64)",
        recap_overhealing: Vec<i64> = "Array(Int64)",
        recap_hp: Vec<Option<i64>> = "Array(Nullable(Int64))",
        recap_max_hp: Vec<Option<i64>> = "Array(Nullable(Int64))",
    }
}

impl EncounterDeathRow {
    pub fn from_death(
        guild_id: GuildId,
        log_id: LogId,
        fight: &FightSummary,
        d: &DeathRecord,
        version: u64,
    ) -> Self {
        let none = Default::default();
        let blow = d.killing_blow.as_ref().unwrap_or(&none);
        EncounterDeathRow {
            guild_id: guild_id.0,
            log_id: log_id.0,
            start_line: fight.start_line,
            start: datetime(fight.start_ms),
            line: d.line,
            timestamp: datetime(d.timestamp_ms),
            timestamp_ms: d.timestamp_ms,
            fight_time_ms: d.fight_time_ms,
            player_guid: name_cell(&d.guid),
            player_name: name_cell(&d.name),
            ability: name_cell(&blow.ability),
            spell_id: blow.spell_id,
            source_guid: name_cell(&blow.source_guid),
            source_name: name_cell(&blow.source_name),
            amount: blow.amount,
            overkill: blow.overkill,
            version,
            fight_name: name_cell(&fight.name),
            difficulty: fight.difficulty,
            recap_timestamp_ms: d.recap.iter().map(|e| e.timestamp_ms).collect(),
            recap_kind: d.recap.iter().map(|e| e.kind.name().to_string()).collect(),
            recap_ability: d.recap.iter().map(|e| name_cell(&e.ability)).collect(),
            recap_spell_id: d.recap.iter().map(|e| e.spell_id).collect(),
            recap_source_guid: d.recap.iter().map(|e| name_cell(&e.source_guid)).collect(),
            recap_source_name: d.recap.iter().map(|e| name_cell(&e.source_name)).collect(),
            recap_amount: d.recap.iter().map(|e| e.amount).collect(),
            recap_overkill: d.recap.iter().map(|e| e.overkill).collect(),
            recap_absorbed: d.recap.iter().map(|e| e.absorbed).collect(),
            recap_overhealing: d.recap.iter().map(|e| e.overhealing).collect(),
            recap_hp: d.recap.iter().map(|e| e.hp).collect(),
            recap_max_hp: d.recap.iter().map(|e| e.max_hp).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fight_ids_are_stable_and_distinct() {
        let id = fight_id(GuildId(1), LogId(2), 3);
        assert_eq!(id, fight_id(GuildId(1), LogId(2), 3));
        assert_ne!(id, fight_id(GuildId(1), LogId(2), 4));
        assert_ne!(id, fight_id(GuildId(2), LogId(2), 3));
        assert!(id >= 0);
    }
}

/// A fight's row version: its end line (deterministic, and growing with the fight),
/// shifted left, with the lowest bit set when the log was read from its start, so rows of
/// a read from the middle never replace those of a full read.
pub fn fight_version(end_line: i64, full_context: bool) -> u64 {
    ((end_line.max(0) as u64) << 1) | u64::from(full_context)
}

/// Every row fights write: the encounter consumer's from the fight core, an import's
/// from a full export. Inserted in the order of [`FightRows::TABLES`].
#[derive(Debug, Default)]
pub struct FightRows {
    pub encounters: Vec<EncounterRow>,
    pub details: Vec<EncounterDetailRow>,
    pub players: Vec<EncounterPlayerRow>,
    pub deaths: Vec<EncounterDeathRow>,
    /// A player's row of a log each time it changed (the last one, the highest version, wins).
    pub characters: Vec<crate::rows::CharacterLogRow>,
}

/// A log's players' `character_logs` rows as its fights fold them in, by player GUID.
pub type LogCharacters = std::collections::HashMap<String, crate::rows::CharacterLogRow>;

impl FightRows {
    /// The tables, in the order a writer inserts them: a fight's details, players and
    /// deaths before the fight, so a fight readers can see is whole (the query API caches
    /// a fight's detail for minutes).
    pub const TABLES: [&'static str; 5] =
        ["encounter_details", "encounter_players", "encounter_deaths", "character_logs", "encounters"];

    /// Adds one fight of a log's: its row, details, players, deaths, and its players'
    /// `character_logs` rows folded into `characters` (the log's so far).
    pub fn push(
        &mut self,
        (guild_id, log_id): (GuildId, LogId),
        upload_id: &str,
        fight: &FightSummary,
        version: u64,
        characters: &mut LogCharacters,
    ) {
        use crate::rows::CharacterLogRow;
        self.encounters.push(EncounterRow::from_fight(guild_id, log_id, upload_id, fight, version));
        self.details.push(EncounterDetailRow::from_fight(guild_id, log_id, fight, version));
        for player in &fight.players {
            self.players.push(EncounterPlayerRow::from_player(guild_id, log_id, fight, player, version));
            let row = characters
                .entry(player.guid.clone())
                .and_modify(|row| row.seen_again(fight, player))
                .or_insert_with(|| CharacterLogRow::first(guild_id, log_id, fight, player));
            self.characters.push(row.clone());
        }
        for death in &fight.deaths {
            self.deaths.push(EncounterDeathRow::from_death(guild_id, log_id, fight, death, version));
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.encounters.len()
            + self.details.len()
            + self.players.len()
            + self.deaths.len()
            + self.characters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `(guild, log)` of every row.
    pub fn logs(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.encounters
            .iter()
            .map(|r| (r.guild_id, r.log_id))
            .chain(self.details.iter().map(|r| (r.guild_id, r.log_id)))
            .chain(self.players.iter().map(|r| (r.guild_id, r.log_id)))
            .chain(self.deaths.iter().map(|r| (r.guild_id, r.log_id)))
            .chain(self.characters.iter().map(|r| (r.guild_id, r.log_id)))
    }

    /// Keeps only the rows of the `(guild, log)` pairs `kept` says yes to.
    pub fn retain_logs(&mut self, kept: impl Fn((i64, i64)) -> bool) {
        self.encounters.retain(|r| kept((r.guild_id, r.log_id)));
        self.details.retain(|r| kept((r.guild_id, r.log_id)));
        self.players.retain(|r| kept((r.guild_id, r.log_id)));
        self.deaths.retain(|r| kept((r.guild_id, r.log_id)));
        self.characters.retain(|r| kept((r.guild_id, r.log_id)));
    }

    /// Inserts the rows (in [`Self::TABLES`]' order) and computes the roll-ups of the days
    /// they touch again: how a writer without the consumers' retries stores fights (an
    /// import, the query API's test loader).
    pub async fn write(&self, client: &clickhouse::Client) -> Result<(), clickhouse::error::Error> {
        use crate::rows::insert_rows;
        insert_rows(client, &self.details).await?;
        insert_rows(client, &self.players).await?;
        insert_rows(client, &self.deaths).await?;
        insert_rows(client, &self.characters).await?;
        insert_rows(client, &self.encounters).await?;
        for (guild, days) in self.touched_days() {
            crate::rollups::refresh(client, guild, &days).await?;
        }
        Ok(())
    }

    /// Each guild's days with fights (or fight players) among the rows: what the
    /// roll-ups compute again.
    pub fn touched_days(&self) -> Vec<(i64, crate::rollups::Days)> {
        let mut starts: std::collections::BTreeMap<i64, Vec<u32>> = std::collections::BTreeMap::new();
        for (guild_id, start) in self
            .encounters
            .iter()
            .map(|e| (e.guild_id, e.start))
            .chain(self.players.iter().map(|p| (p.guild_id, p.start)))
        {
            starts.entry(guild_id).or_default().push(start);
        }
        starts.into_iter().map(|(guild, starts)| (guild, crate::rollups::Days::of_starts(starts))).collect()
    }
}
