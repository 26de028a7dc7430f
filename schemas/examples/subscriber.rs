//! A stand-alone subscriber of `wowlogs.combat-events.v1`, using only rdkafka and
//! apache-avro: copy it into your own project.
//!
//! It loads the published `.avsc` files, indexes them by fingerprint, and decodes each
//! message (`C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint + datum) with the
//! writer's schema, resolved to the reader's (here the newest file), so it keeps
//! working when producers move to a newer, compatible schema.
//!
//!     cargo run -p wowlogs-schemas --example subscriber -- 127.0.0.1:9092 schemas/avro 10

use apache_avro::Schema;
use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::reader::datum::GenericDatumReader;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::HashMap;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let brokers = args.next().unwrap_or_else(|| "127.0.0.1:9092".into());
    let schema_dir = args.next().unwrap_or_else(|| "schemas/avro".into());
    let limit: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10);

    // Every published schema, by fingerprint (the writers' schemas).
    let mut schemas: HashMap<[u8; 8], Schema> = HashMap::new();
    for entry in std::fs::read_dir(&schema_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "avsc") {
            let schema = Schema::parse_str(&std::fs::read_to_string(&path)?)?;
            let header = RabinFingerprintHeader::from_schema(&schema).build_header();
            schemas.insert(header[2..10].try_into()?, schema);
        }
    }
    let reader_schema =
        Schema::parse_str(&std::fs::read_to_string(format!("{schema_dir}/combat_event.avsc"))?)?;

    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "example-subscriber")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&["wowlogs.combat-events.v1"])?;
    let mut seen = 0;
    let mut idle = 0;
    while seen < limit {
        // Joining the group takes a few seconds before the first message.
        let Some(message) = consumer.poll(Duration::from_secs(1)) else {
            idle += 1;
            if idle == 30 {
                eprintln!("no message within 30 s");
                break;
            }
            continue;
        };
        let message = message?;
        let payload = message.payload().ok_or("empty message")?;
        if payload.len() < 10 || payload[..2] != [0xC3, 0x01] {
            eprintln!("offset {}: not an Avro single-object message", message.offset());
            continue;
        }
        let fingerprint: [u8; 8] = payload[2..10].try_into()?;
        let Some(writer_schema) = schemas.get(&fingerprint) else {
            eprintln!(
                "offset {}: unknown schema {fingerprint:02x?}; fetch the newer .avsc",
                message.offset()
            );
            continue;
        };
        let value = GenericDatumReader::builder(writer_schema)
            .reader_schema(&reader_schema)
            .build()?
            .read_value(&mut &payload[10..])?;
        let guild = String::from_utf8_lossy(message.key().unwrap_or_default());
        println!("guild {guild} partition {} offset {}: {value:?}", message.partition(), message.offset());
        seen += 1;
    }
    Ok(())
}
