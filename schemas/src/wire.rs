//! Avro single-object encoding of the contract records.
//!
//! Every message is `C3 01`, the 8-byte little-endian CRC-64-AVRO (Rabin) fingerprint
//! of the writer's schema in canonical form, then the Avro binary datum. A subscriber
//! finds the writer's schema by fingerprint among the published `.avsc` files (no
//! registry needed) and reads it with its own schema through Avro schema resolution.

use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::{AvroSchema, Schema, SpecificSingleObjectReader, SpecificSingleObjectWriter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::marker::PhantomData;

/// A record with a published schema file.
pub trait Record: AvroSchema + Serialize + DeserializeOwned {
    /// The `.avsc` file, as published in `schemas/avro/`.
    const AVSC: &'static str;
    /// The file's name.
    const FILE: &'static str;
    /// The topic this record is published on.
    const TOPIC: crate::topics::TopicSpec;

    /// The guild (the record's key) and log (a header) the record belongs to.
    fn owner(&self) -> (crate::GuildId, crate::LogId);

    /// Writes the datum directly when the type has a hand-written encoder (the hot
    /// [`crate::CombatEvent`]); `false` to use apache-avro's serde encoder.
    fn encode_datum(&self, _out: &mut Vec<u8>) -> bool {
        false
    }

    /// Reads a datum of the current schema directly when the type has a hand-written
    /// decoder; `None` to use apache-avro's serde reader.
    fn decode_datum(_datum: &[u8]) -> Option<Result<Self, crate::DecodeError>> {
        None
    }

    /// The compacted topic that also takes the record, with the record's key there
    /// (compaction keeps the latest record per key): upload statuses only
    /// ([`crate::topics::UPLOAD_STATE`]).
    fn compacted(&self) -> Option<(crate::topics::TopicSpec, String)> {
        None
    }
}

macro_rules! record {
    ($type:ty, $file:literal, $topic:expr) => {
        impl Record for $type {
            const AVSC: &'static str = include_str!(concat!("../avro/", $file));
            const FILE: &'static str = $file;
            const TOPIC: crate::topics::TopicSpec = $topic;

            fn owner(&self) -> (crate::GuildId, crate::LogId) {
                (self.guild_id, self.log_id)
            }
        }
    };
}

impl Record for crate::CombatEvent {
    const AVSC: &'static str = include_str!("../avro/combat_event.avsc");
    const FILE: &'static str = "combat_event.avsc";
    const TOPIC: crate::topics::TopicSpec = crate::topics::COMBAT_EVENTS;

    fn owner(&self) -> (crate::GuildId, crate::LogId) {
        (self.guild_id, self.log_id)
    }

    fn encode_datum(&self, out: &mut Vec<u8>) -> bool {
        crate::AvroEncode::avro_encode(self, out);
        true
    }

    fn decode_datum(datum: &[u8]) -> Option<Result<Self, crate::DecodeError>> {
        Some(crate::decode_datum(datum))
    }
}

impl Record for crate::UploadStatus {
    const AVSC: &'static str = include_str!("../avro/upload_status.avsc");
    const FILE: &'static str = "upload_status.avsc";
    const TOPIC: crate::topics::TopicSpec = crate::topics::UPLOADS;

    fn owner(&self) -> (crate::GuildId, crate::LogId) {
        (self.guild_id, self.log_id)
    }

    fn compacted(&self) -> Option<(crate::topics::TopicSpec, String)> {
        let key = crate::topics::upload_state_key(self.guild_id, self.log_id, &self.upload_id);
        Some((crate::topics::UPLOAD_STATE, key))
    }
}

record!(crate::DeadLetter, "dead_letter.avsc", crate::topics::DEAD_LETTER);
record!(crate::EncounterSummary, "encounter_summary.avsc", crate::topics::ENCOUNTERS);

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("not an Avro single-object message (no C3 01 marker)")]
    NotSingleObject,
    #[error("unknown writer schema fingerprint {0:016x}; publish its .avsc to read it")]
    UnknownSchema(u64),
    #[error("Avro: {0}")]
    Avro(#[from] apache_avro::Error),
    #[error("Avro datum: {0}")]
    Datum(crate::DecodeError),
}

/// Length of the single-object header.
pub const HEADER_LEN: usize = 10;

/// Encodes and decodes one record type.
pub struct Codec<T: Record> {
    writer: SpecificSingleObjectWriter<T>,
    reader: SpecificSingleObjectReader<T>,
    schema: Schema,
    fingerprint: u64,
    header: [u8; HEADER_LEN],
    /// Older (or newer) writer schemas this codec can resolve, by fingerprint.
    others: HashMap<u64, Schema>,
    _record: PhantomData<T>,
}

impl<T: Record> Codec<T> {
    /// A codec for the current schema of `T`.
    pub fn new() -> Result<Self, WireError> {
        let schema = T::get_schema();
        let header = RabinFingerprintHeader::from_schema(&schema).build_header();
        Ok(Self {
            writer: SpecificSingleObjectWriter::new()?,
            reader: SpecificSingleObjectReader::new()?,
            header: header.try_into().expect("a 10-byte header"),
            fingerprint: fingerprint(&schema),
            schema,
            others: HashMap::new(),
            _record: PhantomData,
        })
    }

    /// Also read messages written with `schema` (an older or newer version of `T`'s).
    pub fn with_writer_schema(mut self, schema: Schema) -> Self {
        self.others.insert(fingerprint(&schema), schema);
        self
    }

    /// The current schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The current schema's fingerprint (as it appears in headers, read little-endian).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Appends one single-object message to `out`.
    pub fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.extend_from_slice(&self.header);
        if !value.encode_datum(out) {
            out.truncate(start);
            self.writer.write_ref(value, out)?;
        }
        Ok(())
    }

    /// Encodes through apache-avro's serde encoder even where a direct encoder exists
    /// (the reference the direct encoders are tested against).
    pub fn encode_reference(&self, value: &T, out: &mut Vec<u8>) -> Result<(), WireError> {
        self.writer.write_ref(value, out)?;
        Ok(())
    }

    /// Decodes one message, resolving older schemas it knows to the current one.
    pub fn decode(&self, message: &[u8]) -> Result<T, WireError> {
        let written_with = message_fingerprint(message)?;
        if written_with == self.fingerprint {
            if let Some(decoded) = T::decode_datum(&message[HEADER_LEN..]) {
                return decoded.map_err(WireError::Datum);
            }
            return Ok(self.reader.read(&mut &message[..])?);
        }
        let writer_schema = self.others.get(&written_with).ok_or(WireError::UnknownSchema(written_with))?;
        let value = GenericDatumReader::builder(writer_schema)
            .reader_schema(&self.schema)
            .build()?
            .read_value(&mut &message[HEADER_LEN..])?;
        Ok(apache_avro::from_value(&value)?)
    }
}

/// The CRC-64-AVRO fingerprint of a schema's canonical form.
pub fn fingerprint(schema: &Schema) -> u64 {
    let header = RabinFingerprintHeader::from_schema(schema).build_header();
    u64::from_le_bytes(header[2..HEADER_LEN].try_into().expect("8 bytes"))
}

/// The writer-schema fingerprint of a single-object message.
pub fn message_fingerprint(message: &[u8]) -> Result<u64, WireError> {
    match message {
        [0xC3, 0x01, rest @ ..] if rest.len() >= 8 => {
            Ok(u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")))
        }
        _ => Err(WireError::NotSingleObject),
    }
}

#[cfg(test)]
mod tests {
    use super::Record;
    use crate::{CombatEvent, DeadLetter, EncounterSummary, UploadStatus};

    fn published_on_its_topic<T: Record>() {
        assert_eq!(T::TOPIC.schema_file, T::FILE, "{} is the schema of {}", T::FILE, T::TOPIC.name);
    }

    #[test]
    fn each_record_is_published_on_the_topic_that_names_its_schema() {
        published_on_its_topic::<CombatEvent>();
        published_on_its_topic::<UploadStatus>();
        published_on_its_topic::<DeadLetter>();
        published_on_its_topic::<EncounterSummary>();
    }
}
