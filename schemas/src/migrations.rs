//! The ClickHouse schema, as numbered migration files (`schemas/clickhouse/NNNN_name.sql`)
//! compiled into the binary. This crate owns the files; `wowlogs_store::migrate` applies
//! them, and every other crate reaches them through this list, never by a path.

/// One numbered migration file of `schemas/clickhouse/`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "pipeline_tables",
        sql: include_str!("../clickhouse/0001_pipeline_tables.sql"),
    },
    Migration { version: 2, name: "tenancy", sql: include_str!("../clickhouse/0002_tenancy.sql") },
    Migration {
        version: 3,
        name: "character_logs",
        sql: include_str!("../clickhouse/0003_character_logs.sql"),
    },
    Migration { version: 4, name: "pvp_fights", sql: include_str!("../clickhouse/0004_pvp_fights.sql") },
    Migration {
        version: 5,
        name: "administration",
        sql: include_str!("../clickhouse/0005_administration.sql"),
    },
    Migration {
        version: 6,
        name: "encounter_transfers",
        sql: include_str!("../clickhouse/0006_encounter_transfers.sql"),
    },
    Migration {
        version: 7,
        name: "retention_policies",
        sql: include_str!("../clickhouse/0007_retention_policies.sql"),
    },
    Migration { version: 8, name: "rollups", sql: include_str!("../clickhouse/0008_rollups.sql") },
    Migration {
        version: 9,
        name: "fight_context",
        sql: include_str!("../clickhouse/0009_fight_context.sql"),
    },
    Migration {
        version: 10,
        name: "distinct_versions",
        sql: include_str!("../clickhouse/0010_distinct_versions.sql"),
    },
    Migration {
        version: 11,
        name: "last_fight_end",
        sql: include_str!("../clickhouse/0011_last_fight_end.sql"),
    },
    Migration { version: 12, name: "deleted_logs", sql: include_str!("../clickhouse/0012_deleted_logs.sql") },
    Migration { version: 13, name: "why_we_wiped", sql: include_str!("../clickhouse/0013_why_we_wiped.sql") },
    Migration {
        version: 14,
        name: "guild_time_zones",
        sql: include_str!("../clickhouse/0014_guild_time_zones.sql"),
    },
    Migration {
        version: 15,
        name: "abilities_and_auras",
        sql: include_str!("../clickhouse/0015_abilities_and_auras.sql"),
    },
    Migration {
        version: 16,
        name: "progress_plan",
        sql: include_str!("../clickhouse/0016_progress_plan.sql"),
    },
    Migration {
        version: 17,
        name: "purged_guilds",
        sql: include_str!("../clickhouse/0017_purged_guilds.sql"),
    },
    Migration { version: 18, name: "key_expiry", sql: include_str!("../clickhouse/0018_key_expiry.sql") },
    Migration { version: 19, name: "key_usage", sql: include_str!("../clickhouse/0019_key_usage.sql") },
];

/// How a migration is undone (`wowlogs migrate --to N` below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// By these statements (`schemas/clickhouse/down/NNNN_name.sql`): what it added is
    /// made again from the topics, or computed, when it is applied again.
    Sql(&'static str),
    /// Not at all, and why: it holds what nothing can make again.
    Irreversible(&'static str),
}

/// How migration `version` is undone: the one table of this fact. A migration is
/// undone only when what it added can be made again (by a rebuild from the topics, or
/// computed from other tables); what people wrote (guilds, keys, plans, the audit
/// trail) or what keeps a deletion a deletion is never dropped by a rollback.
pub fn down(version: u32) -> Down {
    match version {
        1 => Down::Irreversible(
            "its tables hold every guild's events and fights: start over by dropping the database",
        ),
        2 => Down::Irreversible("guilds, API keys and the audit trail are written by people, on no topic"),
        3 => Down::Irreversible(
            "it dropped the older per-player `characters` table, whose rows cannot come back",
        ),
        4 => Down::Irreversible(
            "arena and battleground fights do not fit the older `kind` column (its Enum8 lacks them)",
        ),
        5 => Down::Irreversible(
            "guilds' contacts and time zones and the audit trail's request ids are on no topic",
        ),
        6 => Down::Irreversible(
            "recorded transfers are what a rebuild moves again: dropping them would undo transfers",
        ),
        7 => Down::Irreversible("guilds' retention policies are written by administrators, on no topic"),
        8 => Down::Sql(include_str!("../clickhouse/down/0008_rollups.sql")),
        9 => Down::Sql(include_str!("../clickhouse/down/0009_fight_context.sql")),
        10 => Down::Sql(include_str!("../clickhouse/down/0010_distinct_versions.sql")),
        11 => Down::Sql(include_str!("../clickhouse/down/0011_last_fight_end.sql")),
        12 => {
            Down::Irreversible("without `deleted_logs` a rebuild or a restore would bring deleted logs back")
        }
        13 => Down::Sql(include_str!("../clickhouse/down/0013_why_we_wiped.sql")),
        14 => Down::Sql(include_str!("../clickhouse/down/0014_guild_time_zones.sql")),
        15 => Down::Sql(include_str!("../clickhouse/down/0015_abilities_and_auras.sql")),
        16 => Down::Irreversible(
            "rosters, weekly targets and messages are written by guild masters, on no topic",
        ),
        17 => Down::Irreversible(
            "without `purged_guilds` a rebuild or a restore would bring purged guilds back",
        ),
        18 => Down::Irreversible("without `expires_ms` rotated and expired keys would work again, for ever"),
        19 => Down::Sql(include_str!("../clickhouse/down/0019_key_usage.sql")),
        _ => Down::Irreversible("no such migration"),
    }
}

/// `sql`'s statements: comments dropped, split at `;`.
fn split(sql: &str) -> Vec<String> {
    let without_comments: String =
        sql.lines().map(|line| line.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    without_comments.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl Migration {
    /// The statements of the file: comments dropped, split at `;`.
    pub fn statements(&self) -> Vec<String> {
        split(self.sql)
    }

    /// How it is undone ([`down`]).
    pub fn down(&self) -> Down {
        down(self.version)
    }

    /// The statements that undo it, or why it cannot be undone.
    pub fn down_statements(&self) -> Result<Vec<String>, &'static str> {
        match self.down() {
            Down::Sql(sql) => Ok(split(sql)),
            Down::Irreversible(why) => Err(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.sql` file of the folder, by name.
    fn files() -> Vec<String> {
        files_in("clickhouse")
    }

    /// Every `.sql` file of a folder of the crate, by name.
    fn files_in(folder: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_listed_once_in_order_under_its_own_name() {
        let listed: Vec<String> =
            MIGRATIONS.iter().map(|m| format!("{:04}_{}.sql", m.version, m.name)).collect();
        assert_eq!(listed, files());
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, i + 1, "versions are 1, 2, 3, ... with no gap");
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clickhouse").join(&listed[i]);
            assert_eq!(migration.sql, std::fs::read_to_string(file).unwrap(), "{}", listed[i]);
        }
    }

    #[test]
    fn every_undoable_migration_has_its_down_file_and_every_down_file_a_migration() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clickhouse/down");
        let files = files_in("clickhouse/down");
        let undoable: Vec<String> = MIGRATIONS
            .iter()
            .filter(|m| matches!(m.down(), Down::Sql(_)))
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, undoable, "one down file per migration that can be undone, named as it is");
        for m in MIGRATIONS {
            match m.down() {
                Down::Sql(sql) => {
                    let file = dir.join(format!("{:04}_{}.sql", m.version, m.name));
                    assert_eq!(sql, std::fs::read_to_string(file).unwrap());
                }
                Down::Irreversible(why) => {
                    assert!(why.len() > 20 && why != "no such migration", "{}", m.name)
                }
            }
        }
        assert_eq!(down(MIGRATIONS.len() as u32 + 1), Down::Irreversible("no such migration"));
    }

    #[test]
    fn statements_drop_comments_and_split_at_semicolons() {
        let migration = Migration {
            version: 1,
            name: "x",
            sql: "-- a note\nCREATE TABLE a (x UInt8) -- why\n;\n\nSELECT 1;",
        };
        assert_eq!(migration.statements(), ["CREATE TABLE a (x UInt8)", "SELECT 1"]);
    }
}
