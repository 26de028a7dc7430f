//! Rows of the pipeline tables, and how each is made from a contract record.
//!
//! Pure mappings: the consumers decode a topic record and hand it here. `version` is
//! the ReplacingMergeTree version: re-delivering a record gives an identical row, so any
//! deterministic value works; consumers pass the record's offset or timestamp.

/// The columns a row type writes, in order, with their ClickHouse types: what
/// `DESCRIBE TABLE` must say (tested against the real server, since the client's own
/// validation cannot run on ClickHouse 18.16).
pub trait TableRow: clickhouse::Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// The column names as a `SELECT` list, in order: what reads of the whole row select.
    const SELECT: &'static str;

    /// A `SELECT` list of the whole row that reads from disk only the array columns
    /// whose names start with one of `wanted` (and every column that is not an array):
    /// the others read as empty arrays of their type, so the row still deserializes and
    /// a query that needs a few of a wide row's arrays does not decompress them all.
    fn select_arrays(wanted: &[&str]) -> String {
        Self::COLUMNS
            .iter()
            .map(|&(name, ty)| {
                if !ty.starts_with("Array(") || wanted.iter().any(|prefix| name.starts_with(prefix)) {
                    name.to_string()
                } else {
                    format!("CAST([] AS {ty}) AS {name}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Declares a row struct and its table's columns from one list (each field with its
/// Rust type and ClickHouse type), so the struct, the INSERT, the `SELECT` lists and the
/// `system.columns` test cannot disagree.
///
/// ```ignore
/// wowlogs_store::table_row! {
///     /// `guilds`: one row per guild.
///     pub struct GuildRow in "guilds" {
///         guild_id: i64 = "Int64",
///         name: String = "String",
///     }
/// }
/// ```
#[macro_export]
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $table:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $column:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, clickhouse::Row, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $crate::rows::TableRow for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [(&'static str, &'static str)] = &[$((stringify!($field), $column)),*];
            const SELECT: &'static str = $crate::select_list!($($field),*);
        }
    };
}

/// `a, b, c` from the field names (for [`table_row!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! select_list {
    ($first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
}

mod characters;
mod events;
mod fights;
mod logs;
mod progress;

pub use characters::CharacterLogRow;
pub use events::{CombatEventRow, DeadLetterRow};
pub use fights::{
    EncounterDeathRow, EncounterDetailRow, EncounterPlayerRow, EncounterRow, FightRows, LogCharacters,
    fight_id, fight_version,
};
pub use logs::LogRow;
pub use progress::{
    GearRow, MessageRow, ProgressSettingsRow, RosterRow, TargetRow, date_number, date_number_of_ms, date_of,
};

use serde::Deserialize;

/// Names, GUIDs and abilities in the fight tables keep at most this many characters.
/// Real ones are far shorter (a character's `Name-Realm` is under 50, a boss or spell
/// name under 80); a crafted log's 64 KiB names would otherwise make every answer that
/// lists a fight's players or deaths megabytes long (issue 27). The raw events keep
/// the whole text.
pub const MAX_NAME_CHARS: usize = 256;

/// `text` as the fight tables keep it: cut to [`MAX_NAME_CHARS`] characters.
pub fn name_cell(text: &str) -> String {
    wowlogs_schemas::cut_chars(text, MAX_NAME_CHARS).to_string()
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
    insert_rows_within(client, rows, None).await
}

/// [`insert_rows`] with a deadline for each piece sent and for the server's answer:
/// past it the INSERT fails with `TimedOut`, which is retryable ([`crate::classify`]):
/// a server that takes the connection and never answers cannot hold the caller.
pub async fn insert_rows_within<T>(
    client: &clickhouse::Client,
    rows: &[T],
    deadline: Option<std::time::Duration>,
) -> Result<(), clickhouse::error::Error>
where
    T: TableRow + clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut insert = client.insert::<T>(T::TABLE).await?.with_timeouts(deadline, deadline);
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
    fn select_lists_name_every_column_in_order() {
        assert_eq!(EncounterRow::SELECT.split(", ").collect::<Vec<_>>(), names::<EncounterRow>());
        assert_eq!(LogRow::SELECT.split(", ").count(), LogRow::COLUMNS.len());
    }

    #[test]
    fn a_narrow_select_reads_the_wanted_arrays_and_every_scalar_and_empties_the_rest() {
        let select = EncounterDetailRow::select_arrays(&["boss_", "taken_"]);
        let items: Vec<&str> = select.split(", ").collect();
        assert_eq!(items.len(), EncounterDetailRow::COLUMNS.len(), "{select}");
        for (item, (name, ty)) in items.iter().zip(EncounterDetailRow::COLUMNS) {
            if name.starts_with("boss_") || name.starts_with("taken_") || !ty.starts_with("Array(") {
                assert_eq!(item, name);
            } else {
                assert_eq!(*item, format!("CAST([] AS {ty}) AS {name}"));
            }
        }
        assert!(items.contains(&"CAST([] AS Array(Nullable(Int32))) AS done_spell_id"), "{select}");
        assert!(items.contains(&"fight_name") && items.contains(&"version"), "{select}");
        // Asking for every array is the plain list.
        assert_eq!(EncounterDetailRow::select_arrays(&[""]), EncounterDetailRow::SELECT);
    }

    #[test]
    fn enum_columns_are_declared_as_the_contract_names_them() {
        use wowlogs_schemas::{FightKind, Named, UploadState};
        let kind = EncounterRow::COLUMNS.iter().find(|(n, _)| *n == "kind").unwrap().1;
        assert_eq!(kind, FightKind::enum8_definition());
        let state = LogRow::COLUMNS.iter().find(|(n, _)| *n == "state").unwrap().1;
        assert_eq!(state, UploadState::enum8_definition());
    }

    #[test]
    fn datetimes_are_whole_seconds_clamped_to_the_column() {
        assert_eq!(datetime(1_711_310_089_517), 1_711_310_089);
        assert_eq!(datetime(-5), 0);
    }

    #[test]
    fn names_are_kept_whole_up_to_the_bound() {
        assert_eq!(name_cell("Thrall-Draenor"), "Thrall-Draenor");
        let long = "é".repeat(MAX_NAME_CHARS + 10);
        let cut = name_cell(&long);
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(long.starts_with(&cut));
        assert_eq!(name_cell(&"x".repeat(MAX_NAME_CHARS)).len(), MAX_NAME_CHARS);
    }

    #[test]
    fn fight_rows_keep_bounded_names_whatever_the_log_wrote() {
        use wowlogs_schemas::{
            DeathRecord, FightKind, FightSummary, GuildId, KillingBlow, LogId, PlayerMetrics,
        };
        let huge = "N".repeat(60_000);
        let fight = FightSummary {
            kind: FightKind::Encounter,
            name: huge.clone(),
            encounter_id: None,
            difficulty: None,
            group_size: None,
            instance_id: None,
            kill: None,
            complete: true,
            start_ms: 0,
            end_ms: 1,
            duration_ms: 1,
            start_line: 1,
            end_line: 2,
            key_level: None,
            affixes: vec![],
            match_type: None,
            parent_start_line: None,
            round: None,
            rounds_won: None,
            players: vec![],
            deaths: vec![],
            boss_pct: None,
            boss_pct_missing: None,
            bosses: Vec::new(),
            damage_taken_by_ability: Vec::new(),
            removals: Vec::new(),
            zone_name: None,
        };
        let player = PlayerMetrics {
            guid: huge.clone(),
            name: huge.clone(),
            class: Some(huge.clone()),
            spec_id: None,
            item_level: None,
            damage_done: 0,
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
        };
        let blow = KillingBlow {
            ability: huge.clone(),
            source_name: huge.clone(),
            source_guid: huge.clone(),
            ..KillingBlow::default()
        };
        let death = DeathRecord {
            guid: huge.clone(),
            name: huge.clone(),
            timestamp_ms: 0,
            fight_time_ms: 0,
            line: 2,
            killing_blow: Some(blow),
            recap: vec![wowlogs_schemas::RecapEntry {
                timestamp_ms: 0,
                kind: wowlogs_schemas::RecapKind::Damage,
                ability: huge.clone(),
                spell_id: None,
                source_guid: huge.clone(),
                source_name: huge.clone(),
                amount: 1,
                overkill: 0,
                absorbed: 0,
                overhealing: 0,
                hp: None,
                max_hp: None,
            }],
        };
        let mut fight = fight;
        fight.bosses.push(wowlogs_schemas::BossHealth {
            guid: huge.clone(),
            name: huge.clone(),
            npc_id: None,
            current_hp: 1,
            max_hp: 2,
            pct: 50.0,
            died: false,
        });
        fight.damage_taken_by_ability.push(wowlogs_schemas::AbilityDamage {
            ability: huge.clone(),
            spell_id: None,
            amount: 1,
            absorbed: 0,
            hits: 1,
            players: 1,
            killing_blows: 0,
        });
        let (guild, log) = (GuildId(1), LogId(2));
        let row = EncounterRow::from_fight(guild, log, "u", &fight, 1);
        let details = EncounterDetailRow::from_fight(guild, log, &fight, 1);
        let players = EncounterPlayerRow::from_player(guild, log, &fight, &player, 1);
        let deaths = EncounterDeathRow::from_death(guild, log, &fight, &death, 1);
        let character = CharacterLogRow::first(guild, log, &fight, &player);
        for text in [
            &row.name,
            &players.name,
            &players.player_guid,
            &players.class,
            &players.fight_name,
            &deaths.player_name,
            &deaths.player_guid,
            &deaths.ability,
            &deaths.source_name,
            &deaths.source_guid,
            &deaths.fight_name,
            &deaths.recap_ability[0],
            &deaths.recap_source_name[0],
            &deaths.recap_source_guid[0],
            &details.boss_name[0],
            &details.boss_guid[0],
            &details.taken_ability[0],
            &details.fight_name,
            &character.name,
            &character.player_guid,
            &character.class,
        ] {
            assert_eq!(text.len(), MAX_NAME_CHARS);
        }
    }
}
