//! What Grafana reads: the analysts' relations, deduplicated, in databases of their own.
//! (Over ~500 lines: the operators' and the guilds' relations are generated from one
//! list of tables and must stay equal, which a test checks; a split would be along the
//! two server generations, 18.16 and current, when 18.16 support ends.)
//!
//! The pipeline's tables are `ReplacingMergeTree`s (a re-delivered or re-read row is
//! replaced, not counted twice, once merged), so an exact read needs `FINAL`, and they
//! hold every guild. Dashboards read neither: they read **relations** of the same names
//! (`encounters`, `encounter_players`, ...) that are already deduplicated, from one of
//! two kinds of database:
//!
//! - `<database>_analytics`, every guild: the operators' data source. Each relation is
//!   a view that keeps the latest row of each key with `argMax(value, version)`, grouped
//!   by a key that starts with `guild_id`, so the data source's predicate push-down
//!   takes a panel's guild into it (see `Read::Latest`).
//! - `<database>_guild_<G>`, one guild: that guild's analysts' data source, read by a
//!   ClickHouse user who may read that database and nothing else ([`GuildAccess`]).
//!
//! The same dashboard SQL therefore runs in both places, and a guild's analysts cannot
//! name another guild's rows, the tenancy tables (`api_keys`, `audit_log`, ...) or the
//! raw events: none of them is a relation of their database.
//!
//! How one guild's database is walled off depends on the server (see [`AccessMode`]):
//!
//! - **Users in configuration files** (ClickHouse 18.16, the local stack): a view in the
//!   guild's database over `wowlogs` is refused to a user restricted to that database
//!   (18.16 checks the view's tables against the reader: measured, "Access denied to
//!   database"), and 18.16 ignores `users.xml` row filters. So the guild's database
//!   holds `Distributed` tables over a one-server cluster whose connections log in as a
//!   reader user (`wowlogs_guild_reader`, loopback only, its password in the server's
//!   configuration); each points at a view `<database>_guild_views.<relation>_g<G>`
//!   that keeps guild G's rows. The guild's user (a file in `users.d`, `readonly = 1`:
//!   no table functions, no DDL, no settings beyond its profile's) can only name its
//!   database's tables, and each of those fixes the view it reads.
//! - **SQL-driven access control** (current ClickHouse): the guild's database holds the
//!   same relations as views filtered by guild, the user is created with `CREATE USER`,
//!   granted `SELECT` on its database and on the tables its views read, and those
//!   tables carry a row policy `USING guild_id = G` for that user: even a query that
//!   reached a table directly would see guild G's rows only.

use crate::StoreSettings;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One relation analysts read: its name, how it reads the pipeline's tables, and what
/// SQL-driven access grants for it.
#[derive(Debug, Clone, Copy)]
pub struct Relation {
    pub name: &'static str,
    read: Read,
    /// The pipeline tables it reads (what SQL-driven access grants and puts row
    /// policies on).
    pub tables: &'static [&'static str],
    /// The columns granted on them, when not all (`guilds` holds contacts, `logs` the
    /// content hashes).
    columns: &'static str,
}

/// How a relation reads the pipeline's tables.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// A `SELECT` where `{db}` is the pipeline's database and `{filter}` a condition on
    /// `guild_id` (`1` for every guild).
    Select(&'static str),
    /// The latest version of each row of a `ReplacingMergeTree(version)` table: its
    /// `key` (the sorting key, plus columns that never change within it, so time filters
    /// reach the table too) and `values` (every other column but `version`), keeping the
    /// rows that satisfy `keep` (empty: all).
    ///
    /// One guild's relation reads the table with `FINAL` and the guild's filter inside.
    /// Every guild's (the operators') takes `argMax(value, version)` per key instead:
    /// 18.16 does not push a panel's `guild_id = ...` into a view with `FINAL`, so such a
    /// view deduplicated every guild's rows on every panel, while it does push it into a
    /// view grouped by a key that starts with `guild_id` (measured: BENCHMARKS.md). Both
    /// give the same rows as long as two rows of one key with one version are the same
    /// row, which every writer keeps (a re-delivered record is rewritten identically;
    /// migration 0010 lifted the one exception, 0009's backfill, to a version above).
    Latest {
        table: &'static str,
        key: &'static [&'static str],
        values: &'static [&'static str],
        keep: &'static str,
    },
}

/// Every relation, as dashboards name them.
pub const RELATIONS: &[Relation] = &[
    Relation {
        name: "guilds",
        read: Read::Select("SELECT guild_id, name FROM {db}.guilds FINAL WHERE active = 1 AND {filter}"),
        tables: &["guilds"],
        columns: "(guild_id, name, active)",
    },
    Relation {
        name: "encounters",
        read: Read::Latest {
            table: "encounters",
            key: &["guild_id", "log_id", "start_line", "start", "start_ms"],
            values: &[
                "fight_id",
                "upload_id",
                "kind",
                "name",
                "encounter_id",
                "difficulty",
                "group_size",
                "instance_id",
                "kill",
                "complete",
                "end_ms",
                "duration_ms",
                "end_line",
                "key_level",
                "affixes",
                "match_type",
                "parent_start_line",
                "round",
                "rounds_won",
                "boss_pct",
                "boss_pct_missing",
                "zone_name",
            ],
            keep: "",
        },
        tables: &["encounters"],
        columns: "",
    },
    Relation {
        name: "encounter_details",
        read: Read::Latest {
            table: "encounter_details",
            key: &["guild_id", "log_id", "start_line", "start"],
            values: &[
                "fight_name",
                "difficulty",
                "boss_guid",
                "boss_name",
                "boss_npc_id",
                "boss_current_hp",
                "boss_max_hp",
                "boss_died",
                "taken_ability",
                "taken_spell_id",
                "taken_amount",
                "taken_absorbed",
                "taken_hits",
                "taken_players",
                "taken_killing_blows",
                "removal_timestamp_ms",
                "removal_kind",
                "removal_player_guid",
                "removal_source_name",
                "removal_ability",
                "removal_spell_id",
                "removal_removed",
                "removal_removed_spell_id",
                "removal_target_guid",
                "removal_target_name",
                "done_player_guid",
                "done_kind",
                "done_ability",
                "done_spell_id",
                "done_amount",
                "done_hits",
                "done_crits",
                "done_absorbed",
                "done_overhealing",
                "aura_player_guid",
                "aura_spell_id",
                "aura_name",
                "aura_debuff",
                "aura_uptime_ms",
                "aura_applications",
            ],
            keep: "",
        },
        tables: &["encounter_details"],
        columns: "",
    },
    Relation {
        name: "encounter_players",
        read: Read::Latest {
            table: "encounter_players",
            key: &["guild_id", "log_id", "start_line", "start", "player_guid"],
            values: &[
                "fight_name",
                "difficulty",
                "name",
                "class",
                "spec_id",
                "item_level",
                "damage_done",
                "healing_done",
                "overhealing",
                "absorbs_done",
                "damage_taken",
                "deaths",
                "casts",
                "dps",
                "hps",
                "interrupts",
                "dispels",
            ],
            keep: "",
        },
        tables: &["encounter_players"],
        columns: "",
    },
    Relation {
        name: "encounter_deaths",
        read: Read::Latest {
            table: "encounter_deaths",
            key: &["guild_id", "log_id", "start_line", "start", "line", "player_guid"],
            values: &[
                "fight_name",
                "difficulty",
                "timestamp",
                "timestamp_ms",
                "fight_time_ms",
                "player_name",
                "ability",
                "spell_id",
                "source_guid",
                "source_name",
                "amount",
                "overkill",
                "recap_timestamp_ms",
                "recap_kind",
                "recap_ability",
                "recap_spell_id",
                "recap_source_guid",
                "recap_source_name",
                "recap_amount",
                "recap_overkill",
                "recap_absorbed",
                "recap_overhealing",
                "recap_hp",
                "recap_max_hp",
            ],
            keep: "",
        },
        tables: &["encounter_deaths"],
        columns: "",
    },
    // A log's statuses can share a version (their millisecond), and then the last
    // written wins: only `FINAL` knows which that is.
    Relation {
        name: "logs",
        read: Read::Select(
            "SELECT guild_id, log_id, upload_id, file_name, state, bytes_read, lines, events, dead_letters, \
             reason, updated FROM {db}.logs FINAL WHERE {filter}",
        ),
        tables: &["logs"],
        columns: "(guild_id, log_id, upload_id, file_name, state, bytes_read, lines, events, dead_letters, reason, updated)",
    },
    Relation {
        name: "characters",
        read: Read::Select(
            "SELECT guild_id, player_guid, argMax(name, last_seen_ms) AS name, \
             argMaxIf(class, last_seen_ms, class != '') AS class, \
             argMaxIf(spec_id, last_seen_ms, isNotNull(spec_id)) AS spec_id, \
             argMaxIf(item_level, last_seen_ms, isNotNull(item_level)) AS item_level, \
             min(first_seen) AS first_seen, max(last_seen) AS last_seen, count() AS logs, sum(fights) AS fights \
             FROM {db}.character_logs FINAL WHERE {filter} GROUP BY guild_id, player_guid",
        ),
        tables: &["character_logs"],
        columns: "",
    },
    // The roll-ups (`crate::rollups`): the latest computation of each day, without the
    // rows of zeros that stand for a day, player or boss left with no fights.
    Relation {
        name: "guild_days",
        read: Read::Latest {
            table: "guild_days",
            key: &["guild_id", "day"],
            values: &[
                "pulls",
                "kills",
                "raid_pulls",
                "keystones",
                "arena_matches",
                "battlegrounds",
                "fight_ms",
                "last_end_ms",
                "zone",
            ],
            keep: "pulls > 0",
        },
        tables: &["guild_days"],
        columns: "",
    },
    Relation {
        name: "guild_day_players",
        read: Read::Latest {
            table: "guild_day_players",
            key: &["guild_id", "day", "player_guid"],
            values: &["name", "class", "fights", "dps_sum", "hps_sum", "deaths", "item_level_max"],
            keep: "fights > 0",
        },
        tables: &["guild_day_players"],
        columns: "",
    },
    // The progress plan's roster and weekly targets (what a guild master set; a
    // character who left and a week taken off are kept inactive, and left out here).
    Relation {
        name: "guild_roster",
        read: Read::Latest {
            table: "guild_roster",
            key: &["guild_id", "character"],
            values: &["name", "realm", "region", "rank", "main", "class", "active", "updated_ms"],
            keep: "active = 1",
        },
        tables: &["guild_roster"],
        columns: "",
    },
    Relation {
        name: "progress_targets",
        read: Read::Latest {
            table: "progress_targets",
            key: &["guild_id", "week_start"],
            values: &["target_item_level", "label", "active", "updated_ms"],
            keep: "active = 1",
        },
        tables: &["progress_targets"],
        columns: "",
    },
    Relation {
        name: "guild_day_bosses",
        read: Read::Latest {
            table: "guild_day_bosses",
            key: &["guild_id", "day", "name", "difficulty"],
            values: &["pulls", "kills", "wipes"],
            keep: "pulls > 0",
        },
        tables: &["guild_day_bosses"],
        columns: "",
    },
];

impl Relation {
    /// The relation's `SELECT` over the pipeline's database `db`: for one guild when
    /// `guild` is set, else for every guild.
    pub fn select(&self, db: &str, guild: Option<i64>) -> String {
        let filter = guild.map_or_else(|| "1".to_string(), |guild| active_guild_filter(db, guild));
        match self.read {
            Read::Select(select) => select.replace("{db}", db).replace("{filter}", &filter),
            Read::Latest { table, key, values, keep } => match guild {
                Some(_) => {
                    let keep = if keep.is_empty() { String::new() } else { format!(" AND {keep}") };
                    format!(
                        "SELECT {}, {} FROM {db}.{table} FINAL WHERE {filter}{keep}",
                        key.join(", "),
                        values.join(", ")
                    )
                }
                None => {
                    let latest: Vec<String> =
                        values.iter().map(|v| format!("argMax({v}, version) AS {v}")).collect();
                    let keep = if keep.is_empty() { String::new() } else { format!(" HAVING {keep}") };
                    format!(
                        "SELECT {}, {} FROM {db}.{table} GROUP BY {}{keep}",
                        key.join(", "),
                        latest.join(", "),
                        key.join(", ")
                    )
                }
            },
        }
    }

    /// For relations that keep the latest row of a table: the table and every column the relation names
    /// with `version` (what the table must hold, no more and no less).
    pub fn latest_columns(&self) -> Option<(&'static str, Vec<&'static str>)> {
        match self.read {
            Read::Latest { table, key, values, .. } => {
                Some((table, key.iter().chain(values).copied().chain(["version"]).collect()))
            }
            Read::Select(_) => None,
        }
    }
}

/// The operators' own relations (never in a guild's database): stored events per guild,
/// and the audit trail of every guild and of the instance.
const OPERATOR_VIEWS: &[(&str, &str)] = &[
    (
        "guild_storage",
        "SELECT guild_id, name AS guild, events, events * (\
             SELECT sum(bytes_on_disk) / greatest(sum(rows), 1) FROM system.parts \
             WHERE active AND database = '{db}' AND table IN ('combat_events', 'combat_events_local')\
         ) AS approx_bytes_on_disk \
         FROM (SELECT guild_id, count() AS events FROM {db}.combat_events GROUP BY guild_id) AS stored \
         ANY INNER JOIN (SELECT guild_id, name FROM {db}.guilds FINAL) AS named USING (guild_id)",
    ),
    (
        "audit_trail",
        "SELECT at, at_ms, guild_id, actor, action, target, detail, remote_addr, request_id \
         FROM {db}.audit_log",
    ),
];

/// The database of the operators' relations.
pub fn analytics_database(settings: &StoreSettings) -> String {
    format!("{}_analytics", settings.database)
}

/// The settings profile of the operators' Grafana user (`deploy/clickhouse/users.d/grafana.xml`):
/// read-only, predicate push-down on.
pub const OPERATORS_PROFILE: &str = "grafana";

/// What the operators' data source reads with: their relations, under their profile.
pub fn operators_settings(settings: &StoreSettings) -> StoreSettings {
    StoreSettings {
        database: analytics_database(settings),
        profile: Some(OPERATORS_PROFILE.to_string()),
        ..settings.clone()
    }
}

/// The database of guild `guild_id`'s relations.
pub fn guild_database(settings: &StoreSettings, guild_id: i64) -> String {
    format!("{}_guild_{guild_id}", settings.database)
}

/// The database of the filtered views a guild's `Distributed` tables read (config mode).
pub fn guild_views_database(settings: &StoreSettings) -> String {
    format!("{}_guild_views", settings.database)
}

/// The ClickHouse user of guild `guild_id`'s analysts: named as its database (one name
/// per guild and pipeline database, so two databases on one server never share a user).
pub fn guild_user(settings: &StoreSettings, guild_id: i64) -> String {
    guild_database(settings, guild_id)
}

/// The condition that keeps guild `guild_id`'s rows: its row policy's.
fn guild_filter(guild_id: i64) -> String {
    format!("guild_id = {guild_id}")
}

/// The condition of a guild's relations: its rows, while it is active. Deactivating the
/// guild (by the admin API or the CLI, on any replica) thereby empties every relation
/// its analysts read, on both server generations and at once, with nothing to remove;
/// reactivating it shows them again. (The guilds table is a handful of rows: the
/// subquery is read once per query.)
fn active_guild_filter(db: &str, guild_id: i64) -> String {
    format!(
        "{} AND guild_id IN (SELECT guild_id FROM {db}.guilds FINAL WHERE guild_id = {guild_id} AND active = 1)",
        guild_filter(guild_id)
    )
}

/// Statements that (re)create guild `guild_id`'s relations as views in `database`, each
/// filtered by the guild: its own database on a server with SQL access control (behind
/// row policies too).
pub fn guild_view_statements(settings: &StoreSettings, guild_id: i64, database: &str) -> Vec<String> {
    let on = settings.on_cluster();
    RELATIONS
        .iter()
        .flat_map(|relation| {
            let name = relation.name;
            [
                format!("DROP TABLE IF EXISTS {database}.{name}{on}"),
                format!(
                    "CREATE VIEW IF NOT EXISTS {database}.{name}{on} AS {}",
                    relation.select(&settings.database, Some(guild_id))
                ),
            ]
        })
        .collect()
}

/// The pipeline tables the relations read, qualified: what SQL-driven access grants and
/// puts row policies on. In cluster mode their shard-local twins too: a `Distributed`
/// read reaches the shards as the guild's own user (the cluster's inter-server `secret`,
/// `deploy/k8s-clickhouse-cluster`), so the policy is enforced where the rows are.
fn policy_tables(settings: &StoreSettings) -> Vec<String> {
    RELATIONS
        .iter()
        .flat_map(|r| r.tables)
        .flat_map(|t| twins(settings).iter().map(move |suffix| format!("{}.{t}{suffix}", settings.database)))
        .collect()
}

/// The suffixes of a pipeline table's names that hold its rows: itself, and in cluster
/// mode its shard-local twin.
fn twins(settings: &StoreSettings) -> &'static [&'static str] {
    if settings.cluster.is_some() { &["", crate::cluster::LOCAL_SUFFIX] } else { &[""] }
}

/// The statements that (re)create the operators' relations: run by `migrate` after the
/// migrations, so the views always have the tables' current columns.
pub fn analytics_statements(settings: &StoreSettings) -> Vec<String> {
    let db = &settings.database;
    let analytics = analytics_database(settings);
    let on = settings.on_cluster();
    let mut statements = vec![format!("CREATE DATABASE IF NOT EXISTS {analytics}{on}")];
    let every_guild = RELATIONS.iter().map(|relation| (relation.name, relation.select(db, None)));
    let operators_own = OPERATOR_VIEWS.iter().map(|(name, select)| (*name, select.replace("{db}", db)));
    for (name, select) in every_guild.chain(operators_own) {
        statements.push(format!("DROP TABLE IF EXISTS {analytics}.{name}{on}"));
        statements.push(format!("CREATE VIEW IF NOT EXISTS {analytics}.{name}{on} AS {select}"));
    }
    statements
}

/// Creates or refreshes the operators' relations.
pub async fn install_analytics(settings: &StoreSettings) -> Result<(), clickhouse::error::Error> {
    crate::execute_all(&settings.server_client(), analytics_statements(settings)).await
}

/// How the server keeps its users (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    /// Users are files in `users.d` (ClickHouse 18.16): `Distributed` tables over the
    /// reader cluster, the user written by [`GuildAccess::user_file`].
    ConfigFiles,
    /// `CREATE USER`, `GRANT` and row policies (current ClickHouse).
    Sql,
}

impl AccessMode {
    /// The mode a server of `version` (as `SELECT version()` prints it) supports: SQL
    /// from 20.5, when `CREATE USER` and row policies arrived.
    pub fn for_version(version: &str) -> Self {
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if (major, minor) >= (20, 5) { AccessMode::Sql } else { AccessMode::ConfigFiles }
    }
}

/// The profile every guild user runs under (`deploy/clickhouse/users.d/grafana.xml`):
/// read-only (`readonly = 1`: no table functions, no DDL, no other settings), and the
/// Grafana data source's query timeout equal to its `max_execution_time`, which
/// `readonly = 1` accepts because it does not change it.
pub const GUILD_PROFILE: &str = "wowlogs_guild";

/// The cluster (`remote_servers`) whose connections log in as the reader user.
pub const READER_CLUSTER: &str = "wowlogs_guild_reader";

/// Queries one guild's analysts may run at once (SQL mode: their user's own setting).
/// A dashboard's panels run in parallel; more than this wait their turn at the server,
/// so one guild's Grafana cannot take every query slot of the shared server. (Servers
/// that keep users in files read a guild's views through the reader user, which every
/// guild shares: a per-user cap there would be every guild's, so none is set.)
pub const GUILD_MAX_CONCURRENT_QUERIES: u32 = 8;

/// One guild's analytics access: its database, its user and that user's password
/// (kept as SHA-256 only, as ClickHouse stores it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildAccess {
    pub guild_id: i64,
    pub database: String,
    pub user: String,
    pub password_sha256_hex: String,
}

impl GuildAccess {
    pub fn new(settings: &StoreSettings, guild_id: i64, password: &str) -> Self {
        Self {
            guild_id,
            database: guild_database(settings, guild_id),
            user: guild_user(settings, guild_id),
            password_sha256_hex: hex::encode(Sha256::digest(password.as_bytes())),
        }
    }

    /// The statements that give the guild its database and, in SQL mode, its user.
    pub fn statements(&self, settings: &StoreSettings, mode: AccessMode) -> Vec<String> {
        let (database, user, on) = (&self.database, &self.user, settings.on_cluster());
        let mut statements = vec![format!("CREATE DATABASE IF NOT EXISTS {database}{on}")];
        if mode == AccessMode::Sql {
            let settings = format!(
                "SETTINGS PROFILE '{GUILD_PROFILE}', max_concurrent_queries_for_user = {GUILD_MAX_CONCURRENT_QUERIES}"
            );
            statements.push(format!(
                "CREATE USER IF NOT EXISTS {user}{on} IDENTIFIED WITH sha256_hash BY '{}' \
                 DEFAULT DATABASE {database} {settings}",
                self.password_sha256_hex
            ));
            // A repeat brings an older user up to date: its password and its settings.
            statements.push(format!(
                "ALTER USER {user}{on} IDENTIFIED WITH sha256_hash BY '{}' {settings}",
                self.password_sha256_hex
            ));
            statements.push(format!("GRANT{on} SELECT ON {database}.* TO {user}"));
            // The wowlogs_guild quota of the users.d file, for this user alone.
            statements.push(format!(
                "CREATE QUOTA IF NOT EXISTS {user}{on} FOR INTERVAL 1 minute MAX queries = 1200, \
                 errors = 600, result_rows = 5000000, execution_time = 120 TO {user}"
            ));
        }
        statements.extend(relation_statements(settings, self.guild_id, mode));
        statements
    }

    /// The user's file for the server's `users.d` (config mode): its password's hash,
    /// the guild profile, and its one database.
    pub fn user_file(&self) -> String {
        format!(
            "<!-- Written by wowlogs grafana grant for guild {guild}: guild {guild}'s analysts read \
             {database} and nothing else. -->\n\
             <yandex>\n    <users>\n        <{user}>\n            \
             <password_sha256_hex>{hash}</password_sha256_hex>\n            \
             <profile>{GUILD_PROFILE}</profile>\n            <quota>{GUILD_PROFILE}</quota>\n            \
             <networks>\n                <ip>::/0</ip>\n            </networks>\n            \
             <allow_databases>\n                <database>{database}</database>\n            \
             </allow_databases>\n        </{user}>\n    </users>\n</yandex>\n",
            guild = self.guild_id,
            database = self.database,
            user = self.user,
            hash = self.password_sha256_hex,
        )
    }

    /// The statements that take the access away again (the user file is removed by the
    /// caller in config mode).
    pub fn revoke_statements(&self, settings: &StoreSettings, mode: AccessMode) -> Vec<String> {
        let on = settings.on_cluster();
        let mut statements = Vec::new();
        if mode == AccessMode::Sql {
            statements.push(format!(
                "DROP ROW POLICY IF EXISTS {user} ON {}{on}",
                policy_tables(settings).join(", "),
                user = self.user
            ));
            statements.push(format!("DROP QUOTA IF EXISTS {}{on}", self.user));
            statements.push(format!("DROP USER IF EXISTS {}{on}", self.user));
        } else {
            let views = guild_views_database(settings);
            for relation in RELATIONS {
                statements
                    .push(format!("DROP TABLE IF EXISTS {views}.{}_g{}{on}", relation.name, self.guild_id));
            }
        }
        statements.push(format!("DROP DATABASE IF EXISTS {}{on}", self.database));
        statements
    }

    /// The user's file in `users_dir` (config mode).
    pub fn user_file_path(&self, users_dir: &Path) -> PathBuf {
        users_dir.join(format!("{}.xml", self.user))
    }

    /// Settings that connect as the guild's user to its database, for checks.
    pub fn settings(&self, settings: &StoreSettings, password: &str) -> StoreSettings {
        StoreSettings {
            database: self.database.clone(),
            user: Some(self.user.clone()),
            password: Some(password.to_string()),
            cluster: None,
            ..settings.clone()
        }
    }
}

/// Why a guild's access could not be given or taken.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error(
        "this ClickHouse ({version}) keeps its users in files: name its users.d directory \
         (--clickhouse-users-dir or WOWLOGS_CLICKHOUSE_USERS_DIR)"
    )]
    UsersDirNeeded { version: String },
    #[error("writing {path}: {source}")]
    UserFile { path: PathBuf, source: std::io::Error },
    #[error("ClickHouse did not let {user} read {database} within {waited:?}: {last}")]
    NotLoaded { user: String, database: String, waited: Duration, last: String },
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Version {
    version: String,
}

/// The server's version and the access mode it supports.
pub async fn server_mode(settings: &StoreSettings) -> Result<(String, AccessMode), clickhouse::error::Error> {
    let version =
        settings.server_client().query("SELECT version() AS version").fetch_one::<Version>().await?.version;
    let mode = AccessMode::for_version(&version);
    Ok((version, mode))
}

/// Gives the guild its database and user (see the module); in config mode the user's
/// file is written to `users_dir` (atomically). Returns the mode used. Safe to repeat:
/// the relations are created again and the password replaced.
pub async fn grant_guild(
    settings: &StoreSettings,
    access: &GuildAccess,
    users_dir: Option<&Path>,
) -> Result<AccessMode, AccessError> {
    let (version, mode) = server_mode(settings).await?;
    if mode == AccessMode::ConfigFiles && users_dir.is_none() {
        return Err(AccessError::UsersDirNeeded { version });
    }
    crate::execute_all(&settings.server_client(), access.statements(settings, mode)).await?;
    if let (AccessMode::ConfigFiles, Some(dir)) = (mode, users_dir) {
        let path = access.user_file_path(dir);
        let partial = dir.join(format!(".{}.xml.partial", access.user));
        let write =
            std::fs::write(&partial, access.user_file()).and_then(|()| std::fs::rename(&partial, &path));
        write.map_err(|source| AccessError::UserFile { path, source })?;
    }
    tracing::info!(
        guild_id = access.guild_id,
        user = access.user,
        database = access.database,
        ?mode,
        "analytics access granted"
    );
    Ok(mode)
}

/// Waits until the server lets the guild's user read its database (a server that keeps
/// users in files reloads them every few seconds).
pub async fn await_access(
    settings: &StoreSettings,
    access: &GuildAccess,
    password: &str,
    within: Duration,
) -> Result<(), AccessError> {
    let client = access.settings(settings, password).client();
    let started = Instant::now();
    loop {
        match client.query("SELECT count() AS n FROM guilds").fetch_one::<crate::rows::Count>().await {
            Ok(_) => return Ok(()),
            Err(error) if started.elapsed() >= within => {
                return Err(AccessError::NotLoaded {
                    user: access.user.clone(),
                    database: access.database.clone(),
                    waited: started.elapsed(),
                    last: error.to_string(),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Takes the guild's access away: its user (file or SQL), its database and views.
pub async fn revoke_guild(
    settings: &StoreSettings,
    access: &GuildAccess,
    users_dir: Option<&Path>,
) -> Result<AccessMode, AccessError> {
    let (version, mode) = server_mode(settings).await?;
    if mode == AccessMode::ConfigFiles {
        let dir = users_dir.ok_or(AccessError::UsersDirNeeded { version })?;
        let path = access.user_file_path(dir);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(AccessError::UserFile { path, source }),
        }
    }
    crate::execute_all(&settings.server_client(), access.revoke_statements(settings, mode)).await?;
    tracing::info!(guild_id = access.guild_id, user = access.user, ?mode, "analytics access revoked");
    Ok(mode)
}

/// The statements that (re)create guild `guild_id`'s relations with the tables' current
/// columns (and, in SQL mode, its user's grants and row policy on every table they
/// read); no password involved, so `migrate` runs them for every granted guild.
pub fn relation_statements(settings: &StoreSettings, guild_id: i64, mode: AccessMode) -> Vec<String> {
    let db = &settings.database;
    let (guild, database, user) =
        (guild_id, guild_database(settings, guild_id), guild_user(settings, guild_id));
    let on = settings.on_cluster();
    let mut statements = vec![format!("CREATE DATABASE IF NOT EXISTS {database}{on}")];
    match mode {
        AccessMode::ConfigFiles => {
            let views = guild_views_database(settings);
            statements.push(format!("CREATE DATABASE IF NOT EXISTS {views}{on}"));
            for relation in RELATIONS {
                let name = relation.name;
                statements.push(format!("DROP TABLE IF EXISTS {database}.{name}{on}"));
                statements.push(format!("DROP TABLE IF EXISTS {views}.{name}_g{guild}{on}"));
                statements.push(format!(
                    "CREATE VIEW IF NOT EXISTS {views}.{name}_g{guild}{on} AS {}",
                    relation.select(db, Some(guild))
                ));
                statements.push(format!(
                    "CREATE TABLE IF NOT EXISTS {database}.{name}{on} AS {views}.{name}_g{guild} \
                     ENGINE = Distributed({READER_CLUSTER}, {views}, {name}_g{guild})"
                ));
            }
        }
        AccessMode::Sql => {
            statements.extend(guild_view_statements(settings, guild, &database));
            for relation in RELATIONS {
                for table in relation.tables {
                    for suffix in twins(settings) {
                        statements.push(format!(
                            "GRANT{on} SELECT{} ON {db}.{table}{suffix} TO {user}",
                            relation.columns
                        ));
                    }
                }
            }
            // One policy per table (`IF NOT EXISTS` adds the tables of later migrations).
            statements.push(format!(
                "CREATE ROW POLICY IF NOT EXISTS {user}{on} ON {} USING {} AS PERMISSIVE TO {user}",
                policy_tables(settings).join(", "),
                guild_filter(guild)
            ));
        }
    }
    statements
}

/// The guilds that have an analysts' database (`<database>_guild_<G>`).
pub async fn guild_databases(settings: &StoreSettings) -> Result<Vec<i64>, clickhouse::error::Error> {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Name {
        name: String,
    }
    let prefix = format!("{}_guild_", settings.database);
    let names =
        settings.server_client().query("SELECT name FROM system.databases").fetch_all::<Name>().await?;
    Ok(names.iter().filter_map(|n| n.name.strip_prefix(&prefix)?.parse::<i64>().ok()).collect())
}

/// Re-creates the relations of every guild that has a database (after migrations, so
/// they have the tables' current columns); returns the guilds refreshed.
pub async fn refresh_guild_databases(settings: &StoreSettings) -> Result<Vec<i64>, clickhouse::error::Error> {
    let (_, mode) = server_mode(settings).await?;
    let guilds = guild_databases(settings).await?;
    let client = settings.server_client();
    for guild in &guilds {
        crate::execute_all(&client, relation_statements(settings, *guild, mode)).await?;
    }
    Ok(guilds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StoreSettings {
        StoreSettings::new("http://127.0.0.1:8123", "wowlogs")
    }

    #[test]
    fn servers_from_20_5_take_sql_access_control() {
        assert_eq!(AccessMode::for_version("18.16.1"), AccessMode::ConfigFiles);
        assert_eq!(AccessMode::for_version("20.4.9.110"), AccessMode::ConfigFiles);
        assert_eq!(AccessMode::for_version("20.5.2.7"), AccessMode::Sql);
        assert_eq!(AccessMode::for_version("25.8.1.1"), AccessMode::Sql);
    }

    #[test]
    fn every_relation_of_a_guild_keeps_that_guilds_rows() {
        let access = GuildAccess::new(&settings(), 42, "secret");
        for mode in [AccessMode::ConfigFiles, AccessMode::Sql] {
            let statements = access.statements(&settings(), mode);
            let views: Vec<&String> = statements.iter().filter(|s| s.starts_with("CREATE VIEW")).collect();
            assert_eq!(views.len(), RELATIONS.len(), "{mode:?}");
            assert!(
                views.iter().all(|v| v.contains("WHERE guild_id = 42") || v.contains("AND guild_id = 42")),
                "{views:?}"
            );
        }
        let sql = access.statements(&settings(), AccessMode::Sql);
        assert!(
            sql.iter().any(|s| s.starts_with(
                "CREATE ROW POLICY IF NOT EXISTS wowlogs_guild_42 ON wowlogs.guilds, wowlogs.encounters"
            ) && s.ends_with("USING guild_id = 42 AS PERMISSIVE TO wowlogs_guild_42"))
        );
        assert!(
            !sql.iter()
                .any(|s| s.contains("api_keys") || s.contains("audit_log") || s.contains("combat_events"))
        );
        // The user is capped in memory (its profile) and in queries at once (its own).
        let users: Vec<&String> =
            sql.iter().filter(|s| s.starts_with("CREATE USER") || s.starts_with("ALTER USER")).collect();
        assert_eq!(users.len(), 2);
        assert!(users.iter().all(|s| s.ends_with(&format!(
            "SETTINGS PROFILE '{GUILD_PROFILE}', max_concurrent_queries_for_user = {GUILD_MAX_CONCURRENT_QUERIES}"
        ))));
    }

    #[test]
    fn a_guilds_relations_keep_its_rows_only_while_it_is_active() {
        let access = GuildAccess::new(&settings(), 42, "secret");
        for mode in [AccessMode::ConfigFiles, AccessMode::Sql] {
            let views: Vec<String> = access
                .statements(&settings(), mode)
                .into_iter()
                .filter(|s| s.starts_with("CREATE VIEW"))
                .collect();
            assert!(
                views.iter().all(|v| v.contains(
                    "guild_id IN (SELECT guild_id FROM wowlogs.guilds FINAL WHERE guild_id = 42 AND active = 1)"
                )),
                "{mode:?}: {views:?}"
            );
        }
        // The operators' relations keep a deactivated guild's fights (their guild list
        // alone names active guilds): none but `guilds` reads the guilds.
        for relation in RELATIONS.iter().filter(|r| r.name != "guilds") {
            assert!(!relation.select("wowlogs", None).contains("wowlogs.guilds"), "{}", relation.name);
        }
    }

    #[test]
    fn in_cluster_mode_the_row_policy_and_grants_reach_the_shard_local_tables() {
        let cluster = StoreSettings { cluster: Some("wowlogs".into()), ..settings() };
        let sql = GuildAccess::new(&cluster, 42, "secret").statements(&cluster, AccessMode::Sql);
        for table in RELATIONS.iter().flat_map(|r| r.tables) {
            for name in [format!("wowlogs.{table}"), format!("wowlogs.{table}_local")] {
                assert!(
                    sql.iter().any(|s| s.starts_with("GRANT ON CLUSTER wowlogs SELECT")
                        && s.contains(&format!(" ON {name} TO wowlogs_guild_42"))),
                    "no grant on {name}"
                );
            }
        }
        let policy = sql.iter().find(|s| s.starts_with("CREATE ROW POLICY")).unwrap();
        assert!(
            policy.contains("ON CLUSTER wowlogs ON wowlogs.guilds, wowlogs.guilds_local, wowlogs.encounters")
        );
        assert!(policy.ends_with("USING guild_id = 42 AS PERMISSIVE TO wowlogs_guild_42"), "{policy}");
        let revoked = GuildAccess::new(&cluster, 42, "secret").revoke_statements(&cluster, AccessMode::Sql);
        assert!(revoked[0].starts_with(
            "DROP ROW POLICY IF EXISTS wowlogs_guild_42 ON wowlogs.guilds, wowlogs.guilds_local"
        ));
        // One server has no twins.
        let single = GuildAccess::new(&settings(), 42, "secret").statements(&settings(), AccessMode::Sql);
        assert!(single.iter().all(|s| !s.contains("_local")));
    }

    #[test]
    fn the_user_file_keeps_only_the_passwords_hash() {
        let access = GuildAccess::new(&settings(), 7, "correct horse");
        let file = access.user_file();
        assert!(!file.contains("correct horse"));
        assert!(
            file.contains(&format!(
                "<password_sha256_hex>{}</password_sha256_hex>",
                access.password_sha256_hex
            ))
        );
        assert!(file.contains("<allow_databases>\n                <database>wowlogs_guild_7</database>"));
        assert!(file.contains(&format!("<profile>{GUILD_PROFILE}</profile>")));
    }
}
