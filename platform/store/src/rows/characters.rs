//! `character_logs`: who played, per log (the `characters` view folds them per player).

use super::{datetime, name_cell};
use wowlogs_schemas::{FightSummary, GuildId, LogId, PlayerMetrics};

crate::table_row! {
    /// `character_logs`: one row per guild, player and log; the `characters` view folds
    /// them per player.
    pub struct CharacterLogRow in "character_logs" {
        guild_id: i64 = "Int64",
        player_guid: String = "String",
        log_id: i64 = "Int64",
        name: String = "String",
        class: String = "String",
        spec_id: Option<i32> = "Nullable(Int32)",
        item_level: Option<f64> = "Nullable(Float64)",
        first_seen: u32 = "DateTime('UTC')",
        last_seen: u32 = "DateTime('UTC')",
        last_seen_ms: i64 = "Int64",
        fights: i64 = "Int64",
        version: u64 = "UInt64",
    }
}

impl CharacterLogRow {
    /// A player's row after their first fight of a log.
    pub fn first(guild_id: GuildId, log_id: LogId, fight: &FightSummary, p: &PlayerMetrics) -> Self {
        CharacterLogRow {
            guild_id: guild_id.0,
            player_guid: name_cell(&p.guid),
            log_id: log_id.0,
            name: name_cell(&p.name),
            class: name_cell(p.class.as_deref().unwrap_or_default()),
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
            self.name = name_cell(&p.name);
        }
        if let Some(class) = &p.class
            && (newer || self.class.is_empty())
        {
            self.class = name_cell(class);
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
