//! The published Avro contract: `.avsc` files, framing, round trips and evolution.
//!
//! `WOWLOGS_UPDATE_AVSC=1 cargo test -p wowlogs-schemas --test contract` rewrites the
//! `.avsc` files from the Rust types after a deliberate schema change.

use apache_avro::types::Value;
use apache_avro::{AvroSchema, GenericSingleObjectWriter, Schema};
use std::path::PathBuf;
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::wire::{HEADER_LEN, fingerprint, message_fingerprint};
use wowlogs_schemas::{
    Codec, CombatEvent, DeadLetter, EncounterSummary, GuildId, LogId, Record, UploadState, UploadStatus,
};

fn check_avsc<T: Record>() {
    let derived = T::get_schema();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("avro").join(T::FILE);
    if std::env::var_os("WOWLOGS_UPDATE_AVSC").is_some() {
        let json = serde_json::to_string_pretty(&derived).unwrap();
        std::fs::write(&path, json + "\n").unwrap();
        return;
    }
    let published = Schema::parse_str(T::AVSC).unwrap_or_else(|e| panic!("{}: {e}", T::FILE));
    assert_eq!(
        published.canonical_form(),
        derived.canonical_form(),
        "{} differs from the Rust type; if the change is deliberate and compatible, regenerate it",
        T::FILE
    );
}

#[test]
fn every_avsc_file_is_the_canonical_schema_of_its_rust_type() {
    check_avsc::<CombatEvent>();
    check_avsc::<UploadStatus>();
    check_avsc::<DeadLetter>();
    check_avsc::<EncounterSummary>();
}

fn fixture_events(name: &str) -> Vec<CombatEvent> {
    let path = wowlogs_testkit::fixture(name);
    let file = std::fs::File::open(path).unwrap();
    let options = ParseOptions { keep_raw: true, ..ParseOptions::new(YearHint::FirstLineIn(2024)) }
        .for_log(GuildId(7), LogId(123_456_789));
    LogReader::new(std::io::BufReader::new(file), options)
        .map(|p| match p.unwrap() {
            ParsedLine::Event(e) => e,
            ParsedLine::Malformed(m) => panic!("{}", m.error),
        })
        .collect()
}

#[test]
fn every_fixture_event_survives_an_avro_round_trip() {
    let codec = Codec::<CombatEvent>::new().unwrap();
    let mut buf = Vec::new();
    for name in [
        "arena_3v3_tww_11.2.0.txt",
        "classic_sod_1.15.1_gnomeregan_raid.txt",
        "retail_sl_9.2_raid_wipe_snippet.txt",
        "retail_tww_11.0.2_dummies_skirmish.txt",
    ] {
        for event in fixture_events(name) {
            buf.clear();
            codec.encode(&event, &mut buf).unwrap();
            assert_eq!(codec.decode(&buf).unwrap(), event, "{name} line {}", event.line);
        }
    }
}

#[test]
fn messages_carry_the_single_object_header_with_the_schema_fingerprint() {
    let codec = Codec::<CombatEvent>::new().unwrap();
    let event = fixture_events("arena_3v3_tww_11.2.0.txt").remove(0);
    let mut buf = Vec::new();
    codec.encode(&event, &mut buf).unwrap();
    assert_eq!(&buf[..2], &[0xC3, 0x01]);
    assert_eq!(message_fingerprint(&buf).unwrap(), fingerprint(&CombatEvent::get_schema()));
    let published = Schema::parse_str(CombatEvent::AVSC).unwrap();
    assert_eq!(codec.fingerprint(), fingerprint(&published), "subscribers find the schema by fingerprint");
    assert!(matches!(codec.decode(&buf[HEADER_LEN..]), Err(wowlogs_schemas::WireError::NotSingleObject)));
}

#[test]
fn the_fingerprint_header_is_the_standard_fingerprint_bytes_as_in_the_message() {
    for avsc in [CombatEvent::AVSC, UploadStatus::AVSC] {
        let published = Schema::parse_str(avsc).unwrap();
        // Computed apart from the codec: apache-avro's CRC-64-AVRO of the parsing
        // canonical form, its bytes in order.
        let standard = published.fingerprint::<apache_avro::rabin::Rabin>();
        let hex: String = standard.bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(wowlogs_schemas::topics::fingerprint_header(fingerprint(&published)), hex);
    }
    let codec = Codec::<CombatEvent>::new().unwrap();
    let mut buf = Vec::new();
    codec.encode(&fixture_events("arena_3v3_tww_11.2.0.txt").remove(0), &mut buf).unwrap();
    let in_message: String = buf[2..HEADER_LEN].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(wowlogs_schemas::topics::fingerprint_header(codec.fingerprint()), in_message);
}

#[test]
fn other_records_round_trip() {
    let status = UploadStatus {
        guild_id: GuildId(2),
        log_id: LogId(99),
        upload_id: "u-1".into(),
        state: UploadState::Completed,
        file_name: "WoWCombatLog.txt".into(),
        content_sha256: "ab".repeat(32),
        bytes_total: Some(10),
        bytes_read: 10,
        lines: 3,
        events: 2,
        dead_letters: 1,
        acked_through_line: 3,
        reason: None,
        timestamp_ms: 1,
        last_event_line: Some(41),
    };
    let codec = Codec::<UploadStatus>::new().unwrap();
    let mut buf = Vec::new();
    codec.encode(&status, &mut buf).unwrap();
    assert_eq!(codec.decode(&buf).unwrap(), status);

    let letter = DeadLetter {
        guild_id: GuildId(2),
        log_id: LogId(99),
        upload_id: "u-1".into(),
        source: "parser".into(),
        line: 2,
        event: Some("SPELL_DAMAGE".into()),
        code: "invalid_utf8".into(),
        message: "line 2: not valid UTF-8 after byte 3".into(),
        raw: vec![0, 159, 146, 150, 255],
        timestamp_ms: 5,
    };
    let codec = Codec::<DeadLetter>::new().unwrap();
    buf.clear();
    codec.encode(&letter, &mut buf).unwrap();
    assert_eq!(codec.decode(&buf).unwrap(), letter);
}

/// The next version of the `CombatEvent` schema: the current one plus a field with a
/// default, the compatible way to evolve the contract.
fn next_version_schema() -> Schema {
    let mut json: serde_json::Value = serde_json::to_value(CombatEvent::get_schema()).unwrap();
    json["fields"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "client_locale", "type": "string", "default": ""
    }));
    Schema::parse(&json).unwrap()
}

#[test]
fn a_consumer_on_the_current_schema_reads_data_written_with_the_next_one() {
    let next = next_version_schema();
    let event = fixture_events("retail_tww_11.0.2_dummies_skirmish.txt").remove(1050);
    // A producer on the next version writes the event plus the new field. (The value is
    // built through the schema: serde's schema-less `to_value` does not know unions.)
    let mut current_message = Vec::new();
    Codec::<CombatEvent>::new().unwrap().encode(&event, &mut current_message).unwrap();
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&CombatEvent::get_schema())
        .build()
        .unwrap()
        .read_value(&mut &current_message[HEADER_LEN..])
        .unwrap();
    let Value::Record(mut fields) = value else { panic!() };
    fields.push(("client_locale".into(), Value::String("deDE".into())));
    let value = Value::Record(fields).resolve(&next).unwrap();
    let mut message = Vec::new();
    GenericSingleObjectWriter::new_with_capacity(&next, 1024)
        .unwrap()
        .write_value(value, &mut message)
        .unwrap();

    let current = Codec::<CombatEvent>::new().unwrap().with_writer_schema(next);
    assert_eq!(current.decode(&message).unwrap(), event);
}

#[test]
fn a_consumer_on_the_next_schema_reads_data_written_with_the_current_one() {
    let next = next_version_schema();
    let event = fixture_events("classic_sod_1.15.1_gnomeregan_raid.txt").remove(94);
    let mut message = Vec::new();
    Codec::<CombatEvent>::new().unwrap().encode(&event, &mut message).unwrap();

    let value = apache_avro::reader::datum::GenericDatumReader::builder(&CombatEvent::get_schema())
        .reader_schema(&next)
        .build()
        .unwrap()
        .read_value(&mut &message[HEADER_LEN..])
        .unwrap();
    let Value::Record(fields) = value else { panic!() };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("client_locale"), Value::String(String::new()), "the new field takes its default");
    assert_eq!(field("line"), Value::Long(event.line));
}

#[test]
fn unknown_writer_schemas_are_reported_not_misread() {
    let mut message = vec![0xC3, 0x01];
    message.extend_from_slice(&0x1234_u64.to_le_bytes());
    message.push(0);
    assert!(matches!(
        Codec::<CombatEvent>::new().unwrap().decode(&message),
        Err(wowlogs_schemas::WireError::UnknownSchema(0x1234))
    ));
}

/// Lines for the payload kinds the fixtures do not contain.
const RARE_EVENTS: &str = "\
5/1/2024 20:00:00.000-4  SPELL_HEAL_ABSORBED,Player-1-A,\"A\",0x511,0x0,Player-1-B,\"B\",0x512,0x0,1,\"Necrotic\",0x20,Player-1-C,\"C\",0x512,0x0,2061,\"Flash Heal\",0x2,500,1000
5/1/2024 20:00:00.001-4  SPELL_LEECH,Player-1-A,\"A\",0x511,0x0,Player-1-B,\"B\",0x512,0x0,1,\"Drain\",0x20,100,0,50
5/1/2024 20:00:00.002-4  SPELL_EMPOWER_END,Player-1-A,\"A\",0x511,0x0,0000000000000000,nil,0x80000000,0x80000000,357208,\"Fire Breath\",0x4,3
5/1/2024 20:00:00.003-4  ENCHANT_APPLIED,Player-1-A,\"A\",0x511,0x0,Player-1-A,\"A\",0x511,0x0,\"Deadly Poison\",12345,\"Sword\"
5/1/2024 20:00:00.004-4  CHALLENGE_MODE_START,\"Mists of Tirna Scithe\",2290,375,12,[10,123,4,121]
5/1/2024 20:30:49.326-4  CHALLENGE_MODE_END,2290,1,12,1849326,213.450000,2812.500000
5/1/2024 20:30:49.327-4  EMOTE,Creature-0-1-2-3-4-5,\"Boss\",0000000000000000,nil,|cffff0000text, with [commas]|r
5/1/2024 20:30:49.328-4  WORLD_MARKER_PLACED,2552,2,-1.5,\"x,y\"
5/1/2024 20:30:49.329-4  SPELL_RESURRECT,Player-1-A,\"A\",0x511,0x0,Player-1-B,\"B\",0x512,0x0,2006,\"Resurrection\",0x2
";

/// Every fixture event plus one line of each payload kind the fixtures lack.
fn events_of_every_kind() -> Vec<CombatEvent> {
    let mut events: Vec<CombatEvent> = [
        "arena_3v3_tww_11.2.0.txt",
        "classic_sod_1.15.1_gnomeregan_raid.txt",
        "retail_sl_9.2_raid_wipe_snippet.txt",
        "retail_tww_11.0.2_dummies_skirmish.txt",
    ]
    .iter()
    .flat_map(|name| fixture_events(name))
    .collect();
    let options = ParseOptions { keep_raw: true, ..ParseOptions::new(YearHint::FirstLineIn(2024)) }
        .for_log(GuildId(-3), LogId(i64::MAX));
    for line in LogReader::new(RARE_EVENTS.as_bytes(), options) {
        let ParsedLine::Event(event) = line.unwrap() else { panic!("a rare event line does not parse") };
        events.push(event);
    }
    events
}

#[test]
fn the_direct_encoder_writes_exactly_what_apache_avro_writes() {
    let codec = Codec::<CombatEvent>::new().unwrap();
    let events = events_of_every_kind();
    let mut kinds = std::collections::BTreeSet::new();
    let (mut direct, mut reference) = (Vec::new(), Vec::new());
    for event in &events {
        kinds.insert(format!("{:?}", event.payload).split(['(', ' ']).next().unwrap().to_string());
        direct.clear();
        reference.clear();
        codec.encode(event, &mut direct).unwrap();
        codec.encode_reference(event, &mut reference).unwrap();
        assert_eq!(direct, reference, "line {} ({})", event.line, event.event_type);
    }
    assert_eq!(kinds.len(), 29, "every payload variant is covered: {kinds:?}");
}

#[test]
fn the_direct_decoder_reads_exactly_what_apache_avro_reads() {
    let codec = Codec::<CombatEvent>::new().unwrap();
    let reference = apache_avro::SpecificSingleObjectReader::<CombatEvent>::new().unwrap();
    let mut message = Vec::new();
    for event in events_of_every_kind() {
        message.clear();
        codec.encode(&event, &mut message).unwrap();
        let direct = codec.decode(&message).unwrap();
        assert_eq!(direct, reference.read(&mut &message[..]).unwrap(), "line {}", event.line);
        assert_eq!(direct, event);
    }
    // Cut short or padded, a datum is an error, never a wrong event.
    assert!(codec.decode(&message[..message.len() - 1]).is_err());
    message.push(0);
    assert!(codec.decode(&message).is_err());
}
