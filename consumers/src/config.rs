//! A consumer group's settings (set from the command line and `WOWLOGS_*` variables by
//! `wowlogs consume` and `wowlogs rebuild`; documented in docs/configuration.md).

use std::time::Duration;
use wowlogs_kafka::KafkaSettings;
use wowlogs_store::StoreSettings;

/// A group's settings.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub kafka: KafkaSettings,
    pub store: StoreSettings,
    /// Where the registry's tables are (`deleted_logs`): the live database, also while a
    /// rebuild writes `store` into fresh tables.
    pub registry: StoreSettings,
    pub group_id: String,
    /// Rows buffered before a write.
    pub batch_rows: usize,
    /// Bytes of records buffered before a write: bounds memory whatever the records hold.
    pub batch_bytes: usize,
    /// How long an open log may wait for its next record before it is closed as
    /// incomplete (the encounter consumer).
    pub log_idle: Duration,
    /// The same for a log followed live (`wowlogs watch`): a raid's break writes
    /// nothing for a while, and its log goes on after it.
    pub live_log_idle: Duration,
    /// How many logs of one guild the encounter consumer holds open at once; a new one
    /// past it closes the guild's least recently active log as incomplete.
    pub max_open_logs_per_guild: usize,
    /// Longest time a record waits for its write.
    pub batch_age: Duration,
    /// Group session timeout: short in tests (killed members leave quickly), longer
    /// where the broker may be slow to answer (tansu on sqlite).
    pub session_timeout: Duration,
    /// Stop once every assigned partition was read to its end and nothing new arrived
    /// for this long (a rebuild); `None` runs until shut down.
    pub stop_when_idle: Option<Duration>,
    /// Static membership (`group.instance.id`): a member restarted under the same id
    /// takes its partitions back without waiting for the dead one to expire.
    pub instance_id: Option<String>,
    /// Longest an INSERT may take to send a piece or to be answered; past it the insert is
    /// retried like any passing failure: a ClickHouse that hangs cannot hold the group.
    pub insert_timeout: Duration,
}
