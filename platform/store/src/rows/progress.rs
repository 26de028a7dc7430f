//! The progress plan's tables (migration 0016): each character's gear per slot (from the
//! events topic), and what a guild writes: its roster, weekly targets, weekly guidance
//! and its part in comparisons.

use super::{datetime, name_cell};
use chrono::NaiveDate;
use wowlogs_schemas::{CombatEvent, Payload};

/// A `Date` column's value: days since 1970-01-01 (dates before are the epoch, after
/// 2149 its end).
pub fn date_number(day: NaiveDate) -> u16 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    u16::try_from((day - epoch).num_days().max(0)).unwrap_or(u16::MAX)
}

/// The UTC day of an instant (ms since the epoch), as a `Date` column's value.
pub fn date_number_of_ms(ms: i64) -> u16 {
    u16::try_from(ms.div_euclid(86_400_000).max(0)).unwrap_or(u16::MAX)
}

/// The day of a `Date` column's value.
pub fn date_of(number: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date") + chrono::Days::new(u64::from(number))
}

crate::table_row! {
    /// `character_gear`: one row per equipped slot of a `COMBATANT_INFO`.
    pub struct GearRow in "character_gear" {
        guild_id: i64 = "Int64",
        player_guid: String = "String",
        log_id: i64 = "Int64",
        line: i64 = "Int64",
        timestamp: u32 = "DateTime('UTC')",
        timestamp_ms: i64 = "Int64",
        spec_id: i32 = "Int32",
        /// The snapshot's item level (`CombatantInfo::average_item_level`).
        average_item_level: f64 = "Float64",
        /// The game's inventory slot id (`wowlogs_schemas::slots`).
        slot: u8 = "UInt8",
        item_id: i64 = "Int64",
        item_level: i32 = "Int32",
        version: u64 = "UInt64",
    }
}

impl GearRow {
    /// The rows of an event: one per equipped slot of a `COMBATANT_INFO`, none for any
    /// other event (or a character with nothing equipped).
    pub fn from_event(event: &CombatEvent, version: u64) -> Vec<GearRow> {
        let Payload::CombatantInfo(info) = &event.payload else { return Vec::new() };
        let Some(average) = info.average_item_level() else { return Vec::new() };
        info.equipped()
            .map(|(slot, item)| GearRow {
                guild_id: event.guild_id.0,
                player_guid: name_cell(&info.player_guid),
                log_id: event.log_id.0,
                line: event.line,
                timestamp: datetime(event.timestamp_ms),
                timestamp_ms: event.timestamp_ms,
                spec_id: info.spec_id,
                average_item_level: average,
                slot: slot.id,
                item_id: item.item_id,
                item_level: item.item_level,
                version,
            })
            .collect()
    }
}

crate::table_row! {
    /// `guild_roster`: one row per guild and character; `active = 0` once they left.
    pub struct RosterRow in "guild_roster" {
        guild_id: i64 = "Int64",
        /// `wowlogs_progress::CharacterKey::id`: the same for every spelling.
        character: String = "String",
        name: String = "String",
        realm: String = "String",
        region: String = "String",
        rank: i32 = "Int32",
        /// The main's `Name-Realm-Region` for an alt; empty for a main.
        main: String = "String",
        class: String = "String",
        active: u8 = "UInt8",
        updated_ms: i64 = "Int64",
        version: u64 = "UInt64",
    }
}

crate::table_row! {
    /// `progress_targets`: one row per guild and week; `active = 0` once taken off.
    pub struct TargetRow in "progress_targets" {
        guild_id: i64 = "Int64",
        /// [`date_number`] of the week's first day.
        week_start: u16 = "Date",
        target_item_level: i32 = "Int32",
        label: String = "String",
        active: u8 = "UInt8",
        updated_ms: i64 = "Int64",
        version: u64 = "UInt64",
    }
}

crate::table_row! {
    /// `progress_messages`: every message the guild master wrote, by week.
    pub struct MessageRow in "progress_messages" {
        guild_id: i64 = "Int64",
        week_start: u16 = "Date",
        written_ms: i64 = "Int64",
        message: String = "String",
        /// The key (its public id) or operator that wrote it.
        author: String = "String",
        version: u64 = "UInt64",
    }
}

crate::table_row! {
    /// `progress_settings`: whether a guild takes part in comparisons.
    pub struct ProgressSettingsRow in "progress_settings" {
        guild_id: i64 = "Int64",
        /// `off`, `anonymous` or `named` (`crate::progress::Sharing`).
        comparisons: String = "String",
        updated_ms: i64 = "Int64",
        version: u64 = "UInt64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_numbers_count_days_from_the_epoch() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(date_number(day), 20_793);
        assert_eq!(date_of(date_number(day)), day);
        assert_eq!(date_number(NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()), 0);
    }
}
