//! Loads a log into ClickHouse the way the consumers would, minus Kafka: the parser, the
//! encounter consumer's projection (`EncounterProjector`) and the sink's row mappings,
//! written with the same insert, and the roll-ups of the days they touch refreshed. Shared by the query API's tests and its load benchmark.

#![allow(dead_code)]

use std::io::BufRead;
use wowlogs_consumers::batch::RowBatch;
use wowlogs_consumers::encounters::EncounterProjector;
use wowlogs_parser::{LogReader, ParseOptions, YearHint};
use wowlogs_schemas::{GuildId, LogId, UploadState, UploadStatus};
use wowlogs_store::rows::{DeadLetterRow, LogRow, insert_rows};

/// What a loaded log became.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub events: u64,
    pub fights: usize,
    pub fight_ids: Vec<i64>,
    pub players: Vec<String>,
}

/// Rows held before an INSERT (bounds memory for large logs).
const FLUSH_ROWS: usize = 200_000;

async fn flush(client: &clickhouse::Client, batch: &mut RowBatch, loaded: &mut Loaded) {
    loaded.fights += batch.fights.encounters.len();
    loaded.fight_ids.extend(batch.fights.encounters.iter().map(|e| e.fight_id));
    loaded.players.extend(batch.fights.players.iter().map(|p| p.name.clone()));
    insert_rows(client, &batch.events).await.expect("insert combat_events");
    insert_rows(client, &batch.gear).await.expect("insert character_gear");
    insert_rows(client, &batch.logs).await.expect("insert logs");
    insert_rows(client, &batch.dead_letters).await.expect("insert dead_letters");
    batch.fights.write(client).await.expect("insert the fights' rows and refresh their roll-ups");
    *batch = RowBatch::default();
}

/// Parses `input` as guild `guild`'s log `log` (upload `upload_id`) and stores its raw
/// events (when `raw`), its fights, players, deaths, characters and its `logs` row.
pub async fn load_log(
    client: &clickhouse::Client,
    guild: i64,
    log: i64,
    upload_id: &str,
    input: &mut dyn BufRead,
    raw: bool,
) -> Loaded {
    let options = ParseOptions::new(YearHint::FirstLineIn(2024)).for_log(GuildId(guild), LogId(log));
    let mut reader = LogReader::new(input, options);
    let mut projector = EncounterProjector::new();
    let mut batch = RowBatch::default();
    let mut loaded = Loaded::default();
    let (mut lines, mut last_line, mut dead_letters) = (0i64, 0i64, 0i64);
    while let Some(parsed) = reader.next_parsed().expect("readable log") {
        lines += 1;
        let event = match parsed.result {
            Ok(event) => event,
            Err(error) => {
                // Kept as the sink keeps the producer's dead letters.
                let letter =
                    error.dead_letter(GuildId(guild), LogId(log), upload_id, error.line, parsed.raw, 0);
                batch.dead_letters.push(DeadLetterRow::from_letter(&letter, 1));
                dead_letters += 1;
                continue;
            }
        };
        projector.event(0, loaded.events as i64, &event, &mut batch);
        if raw {
            wowlogs_consumers::events_sink::event_rows(&event, 1, &mut batch);
        }
        loaded.events += 1;
        last_line = event.line;
        if batch.len() >= FLUSH_ROWS {
            flush(client, &mut batch, &mut loaded).await;
        }
    }
    let status = UploadStatus {
        guild_id: GuildId(guild),
        log_id: LogId(log),
        upload_id: upload_id.to_string(),
        state: UploadState::Completed,
        file_name: format!("WoWCombatLog-{log}.txt"),
        content_sha256: format!("{log:064x}"),
        bytes_total: None,
        bytes_read: 0,
        lines,
        events: loaded.events as i64,
        dead_letters,
        acked_through_line: lines,
        reason: None,
        timestamp_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        last_event_line: Some(last_line),
    };
    projector.status(0, loaded.events as i64, &status, &mut batch);
    batch.logs.push(LogRow::from_status(&status));
    flush(client, &mut batch, &mut loaded).await;
    loaded
}
