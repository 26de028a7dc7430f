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

impl Migration {
    /// The statements of the file: comments dropped, split at `;`.
    pub fn statements(&self) -> Vec<String> {
        let without_comments: String =
            self.sql.lines().map(|line| line.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        without_comments.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.sql` file of the folder, by name.
    fn files() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clickhouse");
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
    fn statements_drop_comments_and_split_at_semicolons() {
        let migration = Migration {
            version: 1,
            name: "x",
            sql: "-- a note\nCREATE TABLE a (x UInt8) -- why\n;\n\nSELECT 1;",
        };
        assert_eq!(migration.statements(), ["CREATE TABLE a (x UInt8)", "SELECT 1"]);
    }
}
