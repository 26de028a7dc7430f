//! The `wowlogs-events-sink` group: raw events, upload statuses and dead letters.
//!
//! `wowlogs.combat-events.v1` → `combat_events` (and each `COMBATANT_INFO`'s equipped
//! slots → `character_gear`), `wowlogs.uploads.v1` → `logs`, `wowlogs.dead-letter.v1` →
//! `dead_letters`. Each row's identity is deterministic, so a replayed record replaces
//! its twins.

use crate::batch::RowBatch;
use crate::group::{GroupConfig, GroupError, Projection, Record, run_group};
use crate::metrics::ConsumerMetrics;
use std::future::Future;
use wowlogs_schemas::topics::{COMBAT_EVENTS, DEAD_LETTER, UPLOADS};
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, UploadStatus};
use wowlogs_store::rows::{CombatEventRow, DeadLetterRow, GearRow, LogRow};

/// The default group id.
pub const GROUP_ID: &str = "wowlogs-events-sink";

/// Records to rows, one for one.
pub struct EventsSink {
    events: Codec<CombatEvent>,
    statuses: Codec<UploadStatus>,
    letters: Codec<DeadLetter>,
}

impl EventsSink {
    pub fn new() -> Self {
        Self {
            events: Codec::new().expect("valid schema"),
            statuses: Codec::new().expect("valid schema"),
            letters: Codec::new().expect("valid schema"),
        }
    }
}

impl Default for EventsSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Projection for EventsSink {
    fn topics(&self) -> Vec<&'static str> {
        vec![COMBAT_EVENTS.name, UPLOADS.name, DEAD_LETTER.name]
    }

    fn take(&mut self, record: Record<'_>, batch: &mut RowBatch) -> Result<(), String> {
        // The record's offset is the row version: a replay writes the same version.
        let version = record.offset as u64;
        let decoded = if record.topic == COMBAT_EVENTS.name {
            self.events.decode(record.payload).map(|e| event_rows(&e, version, batch))
        } else if record.topic == UPLOADS.name {
            self.statuses.decode(record.payload).map(|s| batch.logs.push(LogRow::from_status(&s)))
        } else {
            self.letters
                .decode(record.payload)
                .map(|l| batch.dead_letters.push(DeadLetterRow::from_letter(&l, version)))
        };
        decoded.map_err(|e| e.to_string())
    }
}

/// The rows of one event: its `combat_events` row and, for a `COMBATANT_INFO`, its
/// equipped slots (`character_gear`).
pub fn event_rows(event: &CombatEvent, version: u64, batch: &mut RowBatch) {
    batch.gear.extend(GearRow::from_event(event, version));
    batch.events.push(CombatEventRow::from_event(event, version));
}

/// Runs the events sink until `shutdown` completes.
pub async fn run(
    config: GroupConfig,
    metrics: ConsumerMetrics,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GroupError> {
    run_group(&config, EventsSink::new(), metrics, shutdown).await
}
