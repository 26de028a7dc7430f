//! Cluster mode: the same schema on a sharded, replicated ClickHouse cluster.
//!
//! Each table of the single-node schema becomes two on every server of the cluster:
//!
//! - `<table>_local`, holding this shard's rows: the same columns, ordering and
//!   partitioning, its engine made `Replicated…` (ZooKeeper path
//!   `/clickhouse/tables/{cluster}/{shard}/<database>.<table>_local/<stamp>`, replica
//!   `{replica}`: the servers' macros);
//! - `<table>`, a `Distributed` table over the locals, sharded by
//!   `cityHash64(guild_id)`: a guild's rows all live on one shard, so everything the
//!   services ask about one guild (its `FINAL` reads, its `IN` subqueries with
//!   `distributed_product_mode = 'local'`) is answered inside that shard.
//!
//! The services read and write the `Distributed` names, so their queries are the same
//! in both modes; only DDL and mutations (which go to the locals, `ON CLUSTER`) differ.
//! The stamp (the migration's time) keeps the ZooKeeper paths of a rebuild's fresh tables
//! apart from the live ones they replace.

/// The suffix of a table's shard-local twin.
pub const LOCAL_SUFFIX: &str = "_local";

/// Why a migration statement has no cluster form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterDdlError {
    #[error(
        "no cluster form for this statement (only CREATE TABLE/VIEW, ALTER TABLE, DROP TABLE and INSERT have one): {0}"
    )]
    Unsupported(String),
    #[error("a CREATE TABLE without `ENGINE = …`: {0}")]
    NoEngine(String),
}

/// A cluster and the database the schema lives in.
#[derive(Debug, Clone, Copy)]
pub struct ClusterDdl<'a> {
    pub cluster: &'a str,
    pub database: &'a str,
    /// Makes the replicated tables' ZooKeeper paths unique per migration run.
    pub stamp_ms: i64,
}

impl ClusterDdl<'_> {
    /// The cluster form of one single-node migration statement, in execution order.
    pub fn rewrite(&self, statement: &str) -> Result<Vec<String>, ClusterDdlError> {
        let statement = statement.trim();
        let unsupported = || ClusterDdlError::Unsupported(first_line(statement));
        if let Some(rest) = statement.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
            let (table, definition) = split_name(rest);
            return self.create_table(table, definition, statement);
        }
        if let Some(rest) = statement.strip_prefix("CREATE VIEW IF NOT EXISTS ") {
            let (view, definition) = split_name(rest);
            // The view's own tables too: the other servers run it without a database.
            let definition = self.qualify_sources(definition);
            return Ok(vec![format!(
                "CREATE VIEW IF NOT EXISTS {}{} {definition}",
                self.qualified(view),
                self.on_cluster()
            )]);
        }
        if let Some(rest) = statement.strip_prefix("ALTER TABLE ") {
            let (table, change) = split_name(rest);
            // A Distributed table cannot be altered ON CLUSTER on 18.16 ("isn't
            // replicated, but shard #1 is"): it holds no rows, so it is made again
            // with the local table's new columns.
            let mut statements =
                vec![format!("ALTER TABLE {}{} {change}", self.qualified(&local(table)), self.on_cluster())];
            statements.push(format!("DROP TABLE IF EXISTS {}{}", self.qualified(table), self.on_cluster()));
            statements.push(self.distributed(table));
            return Ok(statements);
        }
        if let Some(rest) = statement.strip_prefix("DROP TABLE IF EXISTS ") {
            let (table, tail) = split_name(rest);
            if !tail.is_empty() {
                return Err(unsupported());
            }
            return Ok(vec![
                format!("DROP TABLE IF EXISTS {}{}", self.qualified(table), self.on_cluster()),
                format!("DROP TABLE IF EXISTS {}{}", self.qualified(&local(table)), self.on_cluster()),
            ]);
        }
        if statement.starts_with("INSERT INTO ") {
            // Through the Distributed table, to the row's shard.
            return Ok(vec![statement.to_string()]);
        }
        Err(unsupported())
    }

    fn create_table(
        &self,
        table: &str,
        definition: &str,
        statement: &str,
    ) -> Result<Vec<String>, ClusterDdlError> {
        let at =
            definition.find("ENGINE = ").ok_or_else(|| ClusterDdlError::NoEngine(first_line(statement)))?;
        let (columns, engine_and_rest) = (definition[..at].trim(), &definition[at + "ENGINE = ".len()..]);
        let name_end =
            engine_and_rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(engine_and_rest.len());
        let (engine, after_name) = engine_and_rest.split_at(name_end);
        let (arguments, rest) = match after_name.strip_prefix('(') {
            Some(inside) => {
                let close =
                    inside.find(')').ok_or_else(|| ClusterDdlError::NoEngine(first_line(statement)))?;
                (inside[..close].trim(), &inside[close + 1..])
            }
            None => ("", after_name),
        };
        let local = self.qualified(&local(table));
        let path = format!("/clickhouse/tables/{{cluster}}/{{shard}}/{local}/{}", self.stamp_ms);
        let mut replicated_arguments = format!("'{path}', '{{replica}}'");
        if !arguments.is_empty() {
            replicated_arguments.push_str(", ");
            replicated_arguments.push_str(arguments);
        }
        Ok(vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {local}{} {columns} ENGINE = Replicated{engine}({replicated_arguments}){rest}",
                self.on_cluster()
            ),
            self.distributed(table),
        ])
    }

    /// `CREATE TABLE <table> … ENGINE = Distributed(…)` over the table's locals.
    pub fn distributed(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {distributed}{on} AS {local} \
             ENGINE = Distributed({cluster}, {database}, {table}{LOCAL_SUFFIX}, {key})",
            distributed = self.qualified(table),
            local = self.qualified(&local(table)),
            on = self.on_cluster(),
            cluster = self.cluster,
            database = self.database,
            key = sharding_key(table),
        )
    }

    /// Names qualified by the database: `ON CLUSTER` DDL runs on the other servers
    /// without the initiating session's current database.
    fn qualified(&self, table: &str) -> String {
        format!("{}.{table}", self.database)
    }

    /// `FROM t` and `JOIN t` with `t` qualified by the database.
    fn qualify_sources(&self, query: &str) -> String {
        let mut out = String::with_capacity(query.len() + 32);
        let mut words = query.split_inclusive(char::is_whitespace).peekable();
        while let Some(word) = words.next() {
            out.push_str(word);
            let keyword = word.trim();
            if (keyword.eq_ignore_ascii_case("FROM") || keyword.eq_ignore_ascii_case("JOIN"))
                && let Some(next) = words.peek()
                && next.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && !next.trim().contains('.')
            {
                out.push_str(self.database);
                out.push('.');
            }
        }
        out
    }

    fn on_cluster(&self) -> String {
        format!(" ON CLUSTER {}", self.cluster)
    }
}

/// How a table's rows are spread over the shards: by guild, so that a guild stays on
/// one shard (the migrations' own bookkeeping, which has no guild, by version).
pub fn sharding_key(table: &str) -> &'static str {
    if table == "schema_migrations" { "version" } else { "cityHash64(guild_id)" }
}

fn local(table: &str) -> String {
    format!("{table}{LOCAL_SUFFIX}")
}

fn split_name(rest: &str) -> (&str, &str) {
    let end = rest.find(|c: char| c.is_whitespace() || c == '(').unwrap_or(rest.len());
    (&rest[..end], rest[end..].trim())
}

fn first_line(statement: &str) -> String {
    statement.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MIGRATIONS;

    const DDL: ClusterDdl<'static> = ClusterDdl { cluster: "wowlogs", database: "db", stamp_ms: 42 };

    #[test]
    fn a_table_becomes_a_replicated_local_table_and_a_distributed_table_sharded_by_guild() {
        let statements = DDL
            .rewrite(
                "CREATE TABLE IF NOT EXISTS logs (\n    guild_id Int64,\n    version UInt64\n) \
                 ENGINE = ReplacingMergeTree(version)\nORDER BY (guild_id, log_id)",
            )
            .unwrap();
        assert_eq!(
            statements,
            [
                "CREATE TABLE IF NOT EXISTS db.logs_local ON CLUSTER wowlogs (\n    guild_id Int64,\n    version UInt64\n) \
                 ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{cluster}/{shard}/db.logs_local/42', \
                 '{replica}', version)\nORDER BY (guild_id, log_id)",
                "CREATE TABLE IF NOT EXISTS db.logs ON CLUSTER wowlogs AS db.logs_local \
                 ENGINE = Distributed(wowlogs, db, logs_local, cityHash64(guild_id))",
            ]
        );
    }

    #[test]
    fn an_engine_without_arguments_gets_only_the_replication_ones() {
        let statements = DDL
            .rewrite(
                "CREATE TABLE IF NOT EXISTS audit_log (guild_id Int64) ENGINE = MergeTree\nORDER BY guild_id",
            )
            .unwrap();
        assert!(
            statements[0].ends_with(
                "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{cluster}/{shard}/db.audit_log_local/42', \
                 '{replica}')\nORDER BY guild_id"
            ),
            "{}",
            statements[0]
        );
    }

    #[test]
    fn an_alter_changes_the_local_tables_and_makes_the_distributed_table_again() {
        let statements = DDL.rewrite("ALTER TABLE guilds ADD COLUMN timezone String DEFAULT 'UTC'").unwrap();
        assert_eq!(
            statements[0],
            "ALTER TABLE db.guilds_local ON CLUSTER wowlogs ADD COLUMN timezone String DEFAULT 'UTC'"
        );
        assert_eq!(statements[1], "DROP TABLE IF EXISTS db.guilds ON CLUSTER wowlogs");
        assert!(
            statements[2]
                .starts_with("CREATE TABLE IF NOT EXISTS db.guilds ON CLUSTER wowlogs AS db.guilds_local")
        );
    }

    #[test]
    fn every_migration_statement_has_a_cluster_form() {
        for migration in MIGRATIONS {
            for statement in migration.statements() {
                let rewritten = DDL.rewrite(&statement).unwrap_or_else(|e| panic!("{}: {e}", migration.name));
                for ddl in rewritten.iter().filter(|s| !s.starts_with("INSERT")) {
                    assert!(ddl.contains(" ON CLUSTER wowlogs"), "{ddl}");
                }
            }
        }
    }

    #[test]
    fn a_view_reads_its_tables_by_qualified_name() {
        let statements = DDL
            .rewrite("CREATE VIEW IF NOT EXISTS characters AS\nSELECT guild_id\nFROM character_logs FINAL\nGROUP BY guild_id")
            .unwrap();
        assert_eq!(
            statements,
            [
                "CREATE VIEW IF NOT EXISTS db.characters ON CLUSTER wowlogs AS\nSELECT guild_id\nFROM db.character_logs FINAL\nGROUP BY guild_id"
            ]
        );
    }

    #[test]
    fn statements_without_a_cluster_form_are_refused_by_name() {
        let error = DDL.rewrite("OPTIMIZE TABLE logs FINAL").unwrap_err();
        assert!(error.to_string().contains("OPTIMIZE TABLE logs FINAL"), "{error}");
    }
}
