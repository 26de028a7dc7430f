//! How a record of the contract is sent: on its record type's topic, keyed by its guild,
//! with the contract's headers (guild id, log id, writer schema fingerprint). Every
//! publisher goes through here: the producer's events, dead letters and upload statuses,
//! the consumers' dead letters and fight summaries.

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;
use wowlogs_schemas::topics::{
    HEADER_GUILD_ID, HEADER_LOG_ID, HEADER_SCHEMA_FINGERPRINT, fingerprint_header, guild_key,
};
use wowlogs_schemas::{Codec, GuildId, LogId, Record, WireError};

/// Where a guild's log's records of one type go: topic, key and headers. Computed once
/// per log by the hot path and cloned per record.
#[derive(Debug, Clone)]
pub struct Route {
    pub topic: &'static str,
    pub key: String,
    pub headers: OwnedHeaders,
}

impl Route {
    /// The route of `T` records of a guild's log.
    pub fn of<T: Record>(codec: &Codec<T>, guild_id: GuildId, log_id: LogId) -> Self {
        Route {
            topic: T::TOPIC.name,
            key: guild_key(guild_id),
            headers: record_headers(guild_id, log_id, codec.fingerprint()),
        }
    }
}

/// Encodes `record` into `buf` (cleared first) and routes it.
pub fn encode<T: Record>(codec: &Codec<T>, record: &T, buf: &mut Vec<u8>) -> Result<Route, WireError> {
    buf.clear();
    codec.encode(record, buf)?;
    let (guild_id, log_id) = record.owner();
    Ok(Route::of(codec, guild_id, log_id))
}

/// Why a record was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("encoding failed: {0}")]
    Encode(#[from] WireError),
    #[error("the broker did not acknowledge the record: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// The route of a record's compacted twin ([`Record::compacted`]): the same message on
/// the compacted topic under the record's key there, with the same headers.
pub fn twin<T: Record>(route: &Route, record: &T) -> Option<Route> {
    record.compacted().map(|(topic, key)| Route { topic: topic.name, key, headers: route.headers.clone() })
}

/// Encodes and sends one record (and its compacted twin, if it has one), waiting up to
/// `timeout` for each acknowledgement.
pub async fn publish<T: Record>(
    producer: &FutureProducer,
    codec: &Codec<T>,
    record: &T,
    timeout: Duration,
) -> Result<(), PublishError> {
    let mut buf = Vec::new();
    let route = encode(codec, record, &mut buf)?;
    for route in twin(&route, record).into_iter().chain([route]) {
        let message = FutureRecord::to(route.topic).key(&route.key).payload(&buf).headers(route.headers);
        producer.send(message, timeout).await.map_err(|(error, _)| error)?;
    }
    Ok(())
}

/// The contract's record headers: guild id, log id and writer schema fingerprint.
pub fn record_headers(guild_id: GuildId, log_id: LogId, schema_fingerprint: u64) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(3)
        .insert(Header { key: HEADER_GUILD_ID, value: Some(guild_id.0.to_string().as_bytes()) })
        .insert(Header { key: HEADER_LOG_ID, value: Some(log_id.0.to_string().as_bytes()) })
        .insert(Header {
            key: HEADER_SCHEMA_FINGERPRINT,
            value: Some(fingerprint_header(schema_fingerprint).as_bytes()),
        })
}
