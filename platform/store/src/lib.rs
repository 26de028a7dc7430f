//! ClickHouse for wowlogs: how to connect, and the schema's numbered migrations.
//!
//! The same code runs against the local ClickHouse (Debian's 18.16) and current
//! releases; the crate's row validation is off because 18.16 cannot answer
//! `RowBinaryWithNamesAndTypes` (tests compare `DESCRIBE TABLE` instead).

pub mod analytics;
pub mod cluster;
pub mod deletions;
pub mod errors;
pub mod import;
mod migrations;
pub mod progress;
pub mod purge;
pub mod retention;
pub mod rollups;
pub mod rows;
mod settings;
pub mod transfer;

pub use cluster::{ClusterDdl, ClusterDdlError};
pub use errors::{ErrorClass, classify};
pub use migrations::{
    Down, MIGRATIONS, Migrated, Migration, MigrationError, latest, migrate, migrate_to, planned_statements,
    refresh_analytics,
};
pub use retention::{
    LOG_TABLES, Removal, RetentionOutcome, RetentionPlan, TableOutcome, apply_retention, delete_logs,
};
pub use settings::{StoreSettings, execute_all};
pub use transfer::{TransferError, Transferred, reapply_transfers, transfer_encounters};
