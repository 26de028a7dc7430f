//! Bad input: every malformed line becomes a structured error with its line number, and
//! the lines around it still parse. Plus the event shapes no fixture happens to contain.

use proptest::prelude::*;
use std::io::Cursor;
use wowlogs_parser::{
    LineReader, LogReader, ParseErrorKind, ParseOptions, ParsedLine, YearHint, for_each_log,
};
use wowlogs_schemas::Payload;

const GOOD: &str = "7/28/2024 14:36:49.528-4  ZONE_CHANGE,1,\"Orgrimmar\",0";
const DAMAGE_V21: &str = "7/28/2024 14:36:49.599-4  SPELL_DAMAGE,Player-1-A,\"A\",0x511,0x0,Creature-0-1-2-3-4-5,\"Dummy\",0xa28,0x0,1,\"Bolt\",0x4,0000000000000000,0000000000000000,0,0,0,0,0,0,-1,0,0,0,0.00,0.00,0,0.0000,0,100,90,-1,4,0,0,0,1,nil,nil";

fn options() -> ParseOptions {
    ParseOptions::new(YearHint::FirstLineIn(2024))
}

fn parse(input: &[u8]) -> Vec<ParsedLine> {
    LogReader::new(Cursor::new(input.to_vec()), options()).map(|r| r.unwrap()).collect()
}

fn lines(lines: &[&str]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

fn error_kind(parsed: &ParsedLine) -> &ParseErrorKind {
    match parsed {
        ParsedLine::Malformed(bad) => &bad.error.kind,
        ParsedLine::Event(e) => panic!("expected an error, got {e:?}"),
    }
}

#[test]
fn a_spell_damage_of_the_wrong_length_is_a_field_count_error_and_the_next_line_still_parses() {
    let short = "7/28/2024 14:36:49.599-4  SPELL_DAMAGE,Player-1-A,\"A\",0x511,0x0,Creature-0-1,\"Dummy\",0xa28,0x0,1,\"Bolt\",0x4,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0";
    let header = "7/28/2024 14:36:49.528-4  COMBAT_LOG_VERSION,21,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.0.2,PROJECT_ID,1";
    let parsed = parse(&lines(&[header, short, GOOD]));
    assert_eq!(parsed.len(), 3);
    let ParsedLine::Malformed(bad) = &parsed[1] else { panic!() };
    assert_eq!(bad.error.line, 2);
    assert_eq!(bad.error.code(), "field_count");
    assert_eq!(
        bad.error.to_string(),
        "line 2: SPELL_DAMAGE has 31 fields, expected 22 or 39 for COMBAT_LOG_VERSION 21"
    );
    assert_eq!(bad.raw, short.as_bytes());
    assert!(matches!(parsed[2], ParsedLine::Event(_)));
}

#[test]
fn an_unparsable_number_names_the_field() {
    let bad = DAMAGE_V21.replace(",100,90,-1,", ",1e,90,-1,");
    let parsed = parse(bad.as_bytes());
    assert_eq!(
        error_kind(&parsed[0]),
        &ParseErrorKind::BadNumber { field: "amount", index: 29, value: "1e".into() }
    );
}

#[test]
fn a_line_cut_off_inside_a_quoted_name_is_truncated() {
    let cut = &DAMAGE_V21[..DAMAGE_V21.find("\"Dummy").unwrap() + 3];
    let parsed = parse(&lines(&[cut, GOOD]));
    assert!(matches!(error_kind(&parsed[0]), ParseErrorKind::Truncated { .. }));
    assert!(matches!(parsed[1], ParsedLine::Event(_)));
}

#[test]
fn invalid_utf8_and_binary_garbage_are_errors_not_panics() {
    let mut input = b"7/28/2024 14:36:49.599-4  ZONE_CHANGE,1,\"Org\xff\xfe\",0\n".to_vec();
    let bad_byte = input.iter().position(|&b| b == 0xff).unwrap();
    input.extend_from_slice(&[0u8, 159, 146, 150, 7, 8, b'\n']);
    input.extend_from_slice(GOOD.as_bytes());
    let parsed = parse(&input);
    assert!(
        matches!(error_kind(&parsed[0]), ParseErrorKind::InvalidUtf8 { valid_up_to } if *valid_up_to == bad_byte)
    );
    assert!(matches!(error_kind(&parsed[1]), ParseErrorKind::InvalidUtf8 { .. }));
    assert!(matches!(parsed[2], ParsedLine::Event(_)));
}

#[test]
fn a_ten_megabyte_line_is_rejected_without_buffering_it() {
    let mut input =
        format!("7/28/2024 14:36:49.599-4  SPELL_AURA_APPLIED,{}", "x".repeat(10 << 20)).into_bytes();
    input.push(b'\n');
    input.extend_from_slice(GOOD.as_bytes());
    let reader = LineReader::with_max_line_bytes(Cursor::new(input), 4096);
    let parsed: Vec<ParsedLine> = LogReader::from_lines(reader, options()).map(|r| r.unwrap()).collect();
    let ParsedLine::Malformed(bad) = &parsed[0] else { panic!() };
    assert_eq!(bad.error.event.as_deref(), Some("SPELL_AURA_APPLIED"));
    assert!(
        matches!(bad.error.kind, ParseErrorKind::LineTooLong { length, limit: 4096 } if length > 10 << 20)
    );
    assert_eq!(bad.raw.len(), 4096, "only the start of the line is kept");
    assert!(matches!(parsed[1], ParsedLine::Event(_)));
}

#[test]
fn a_missing_or_bad_timestamp_is_reported() {
    let parsed = parse(&lines(&["SPELL_DAMAGE,1,2", "13/45 10:00:00.000  ZONE_CHANGE,1,\"x\",0"]));
    assert_eq!(error_kind(&parsed[0]), &ParseErrorKind::MissingTimestamp);
    assert!(matches!(error_kind(&parsed[1]), ParseErrorKind::BadTimestamp { .. }));
}

#[test]
fn an_unknown_event_is_kept_with_its_raw_fields() {
    let parsed = parse(b"7/28/2024 14:36:49.599-4  WORLD_MARKER_PLACED,2552,2,-1.5,\"x,y\"");
    let ParsedLine::Event(e) = &parsed[0] else { panic!() };
    assert_eq!(e.event_type, "WORLD_MARKER_PLACED");
    let Payload::Generic(g) = &e.payload else { panic!() };
    assert_eq!(g.fields, ["2552", "2", "-1.5", "\"x,y\""]);
}

#[test]
fn emote_text_keeps_commas_brackets_and_markup() {
    let line = "3/3 19:05:00.000  EMOTE,Creature-0-1-2-3-4-5,\"Lihuvim\",0000000000000000,nil,|TInterface\\ICONS\\Spell.blp:20|t Lihuvim begins to cast [Cosmic Shift], (run)!";
    let parsed = parse(line.as_bytes());
    let ParsedLine::Event(e) = &parsed[0] else { panic!("{parsed:?}") };
    let Payload::Emote(emote) = &e.payload else { panic!() };
    assert_eq!(
        emote.text,
        "|TInterface\\ICONS\\Spell.blp:20|t Lihuvim begins to cast [Cosmic Shift], (run)!"
    );
    assert_eq!(e.source.as_ref().unwrap().name, "Lihuvim");
}

#[test]
fn challenge_mode_start_and_end_are_typed() {
    let parsed = parse(&lines(&[
        "5/1/2024 20:00:00.000-4  CHALLENGE_MODE_START,\"Mists of Tirna Scithe\",2290,375,12,[10,123,4,121]",
        "5/1/2024 20:30:49.326-4  CHALLENGE_MODE_END,2290,1,12,1849326,213.450000,2812.500000",
    ]));
    let ParsedLine::Event(start) = &parsed[0] else { panic!("{parsed:?}") };
    let Payload::ChallengeModeStart(s) = &start.payload else { panic!() };
    assert_eq!(
        (s.zone_name.as_str(), s.keystone_level, s.affixes.as_slice()),
        ("Mists of Tirna Scithe", 12, &[10, 123, 4, 121][..])
    );
    let ParsedLine::Event(end) = &parsed[1] else { panic!() };
    let Payload::ChallengeModeEnd(e) = &end.payload else { panic!() };
    assert_eq!((e.success, e.total_time_ms, e.extra_fields.len()), (true, 1_849_326, 2));
}

#[test]
fn environmental_damage_reads_the_type_before_or_after_the_advanced_block() {
    let after = "7/28/2024 14:36:49.599-4  ENVIRONMENTAL_DAMAGE,0000000000000000,nil,0x80000000,0x80000000,Player-1-A,\"A\",0x511,0x0,Player-1-A,0000000000000000,90,100,0,0,0,0,0,0,0,0,0.00,0.00,0,0.0000,600,Falling,1234,1234,0,1,0,0,0,nil,nil,nil";
    let before = "3/24 19:00:00.000  ENVIRONMENTAL_DAMAGE,0000000000000000,nil,0x80000000,0x80000000,Player-1-A,\"A\",0x511,0x0,Lava,500,500,-1,4,0,0,0,nil,nil,nil";
    for (line, kind, amount) in [(after, "Falling", 1234), (before, "Lava", 500)] {
        let parsed = parse(line.as_bytes());
        let ParsedLine::Event(e) = &parsed[0] else { panic!("{parsed:?}") };
        let Payload::Damage(d) = &e.payload else { panic!() };
        assert_eq!((d.environmental_type.as_deref(), d.amount), (Some(kind), amount));
    }
}

#[test]
fn support_events_carry_the_supporter() {
    let line = format!("{DAMAGE_V21},Player-1-EVOKER").replace("SPELL_DAMAGE,", "SPELL_DAMAGE_SUPPORT,");
    let parsed = parse(line.as_bytes());
    let ParsedLine::Event(e) = &parsed[0] else { panic!("{parsed:?}") };
    let Payload::Damage(d) = &e.payload else { panic!() };
    assert_eq!((d.amount, d.supporter_guid.as_deref()), (100, Some("Player-1-EVOKER")));
}

#[test]
fn a_line_under_a_header_of_another_version_is_read_by_its_own_shape() {
    // The header is a hint: Classic 1.15.5 writes 18-field blocks under version 9, so a
    // line is read by its shape whatever the header said.
    let v9 =
        "3/24 19:22:59.391  COMBAT_LOG_VERSION,9,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,1.15.1,PROJECT_ID,2";
    let v21 =
        "3/24 19:23:00.000  COMBAT_LOG_VERSION,21,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.0.2,PROJECT_ID,1";
    let damage = DAMAGE_V21.replacen("7/28/2024 14:36:49.599-4", "3/24 19:23:01.000", 1);
    let parsed = parse(&lines(&[v9, &damage, v21, &damage]));
    for at in [1, 3] {
        let ParsedLine::Event(event) = &parsed[at] else { panic!("{:?}", parsed[at]) };
        let Payload::Damage(damage) = &event.payload else { panic!("{:?}", event.payload) };
        assert_eq!((damage.amount, damage.base_amount), (100, 90), "line {}", at + 1);
        assert!(event.advanced.is_some() && event.extra.is_empty());
    }
}

#[test]
fn gzip_and_zip_uploads_parse_like_plain_text() {
    use std::io::Write;
    let plain = lines(&[GOOD, DAMAGE_V21]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut zipped = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut zipped);
        zip.start_file("WoWCombatLog.txt", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&plain).unwrap();
        zip.finish().unwrap();
    }
    for packed in [plain.clone(), gz, zipped.into_inner()] {
        let mut events = 0;
        for_each_log(&packed[..], |_, input| -> Result<(), wowlogs_parser::InputError> {
            for parsed in LogReader::new(input, options()) {
                assert!(matches!(parsed?, ParsedLine::Event(_)));
                events += 1;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(events, 2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic, and every line is accounted for exactly once.
    #[test]
    fn arbitrary_bytes_never_panic_and_every_line_is_counted(input in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut reader = LogReader::new(Cursor::new(input.clone()), options());
        let mut numbers = Vec::new();
        for parsed in reader.by_ref() {
            numbers.push(match parsed.unwrap() {
                ParsedLine::Event(e) => e.line,
                ParsedLine::Malformed(bad) => bad.error.line,
            });
        }
        let stats = reader.stats();
        prop_assert_eq!(stats.events + stats.errors + stats.blank_lines, stats.lines);
        prop_assert_eq!(numbers.len() as u64, stats.events + stats.errors);
        prop_assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(stats.bytes, input.len() as u64);
    }

    /// Lines shaped like real ones, with fields mangled, never panic either.
    #[test]
    fn mangled_real_lines_never_panic(cut in 0usize..DAMAGE_V21.len(), insert in "[,\"\\[\\]()0-9a-zA-Z|x-]{0,12}") {
        let mut line = DAMAGE_V21.as_bytes()[..cut].to_vec();
        line.extend_from_slice(insert.as_bytes());
        line.extend_from_slice(&DAMAGE_V21.as_bytes()[cut..]);
        let _ = parse(&line);
        let combatant = format!("3/3 19:04:28.110  COMBATANT_INFO,Player-1-A,0,{}[({insert})]", "1,".repeat(23));
        let _ = parse(combatant.as_bytes());
    }
}

#[test]
fn fields_a_later_patch_appends_are_kept_not_refused() {
    let longer = format!("{DAMAGE_V21},42,future");
    let parsed = parse(longer.as_bytes());
    let ParsedLine::Event(event) = &parsed[0] else { panic!("{:?}", parsed[0]) };
    assert_eq!(event.extra, ["42", "future"]);
    let Payload::Damage(d) = &event.payload else { panic!() };
    assert_eq!(d.amount, 100);
}

#[test]
fn the_15_field_block_of_battle_for_azeroth_8_0_has_no_map_id() {
    // `COMBAT_LOG_VERSION` 8: unit, owner, hp, max hp, ap, sp, armor, power type, power,
    // max power, cost, x, y, facing, level; then the heal suffix.
    let heal = "6/30 21:46:57.014  SPELL_HEAL,Player-1-A,\"A\",0x511,0x0,Player-1-A,\"A\",0x511,0x0,17,\"Shield\",0x2,Player-1-A,0000000000000000,900,1000,300,4000,800,0,5000,5000,0,-920.50,2150.25,3.0913,320,500,400,100,0,nil";
    let parsed = parse(heal.as_bytes());
    let ParsedLine::Event(event) = &parsed[0] else { panic!("{:?}", parsed[0]) };
    let adv = event.advanced.as_ref().unwrap();
    assert_eq!(
        (adv.current_hp, adv.max_power, adv.ui_map_id, adv.facing, adv.level),
        (900, 5000, 0, 3.0913, 320)
    );
    let Payload::Heal(h) = &event.payload else { panic!() };
    assert_eq!((h.amount, h.overhealing), (500, 100));
}

#[test]
fn a_tag_is_read_after_any_suffix() {
    let missed = "7/28/2024 14:36:49.599-4  SPELL_MISSED,Player-1-A,\"A\",0x511,0x0,Creature-0-1-2-3-4-5,\"Dummy\",0xa28,0x0,1,\"Bolt\",0x4,IMMUNE,nil,ST";
    let parsed = parse(missed.as_bytes());
    let ParsedLine::Event(event) = &parsed[0] else { panic!("{:?}", parsed[0]) };
    let Payload::Missed(m) = &event.payload else { panic!() };
    assert_eq!(m.miss_type, "IMMUNE");
    assert!(event.extra.is_empty());
}

#[test]
fn lines_dated_before_the_game_or_a_day_after_arrival_are_refused_as_implausible() {
    // A log that reached us on 2024-07-28 at 20:00 UTC.
    let arrival = 1_722_196_800_000;
    let options = options().received_at(arrival);
    let parse_with = |line: &str| {
        LogReader::new(Cursor::new(line.as_bytes().to_vec()), options).map(|r| r.unwrap()).next().unwrap()
    };
    assert!(matches!(parse_with(GOOD), ParsedLine::Event(_)), "the same day is plausible");
    // Within the day after arrival: a clock ahead, a time zone far east.
    assert!(matches!(parse_with(&GOOD.replace("7/28/2024", "7/29/2024")), ParsedLine::Event(_)));
    for (stamp, date) in
        [("7/31/2024", "2024-07-31"), ("1/1/2099", "2099-01-01"), ("11/22/2004", "2004-11-22")]
    {
        let parsed = parse_with(&GOOD.replace("7/28/2024", stamp));
        let ParsedLine::Malformed(bad) = &parsed else { panic!("{stamp}: {parsed:?}") };
        assert_eq!(bad.error.code(), "implausible_timestamp", "{stamp}");
        assert!(bad.error.to_string().contains(date), "{}", bad.error);
        assert_eq!(bad.raw, GOOD.replace("7/28/2024", stamp).as_bytes(), "the line is kept whole");
    }
    // Before the game's release whatever the arrival; no upper bound without one.
    let old = GOOD.replace("7/28/2024", "1/1/1999");
    assert_eq!(
        error_kind(&parse(old.as_bytes())[0]).clone(),
        ParseErrorKind::ImplausibleTimestamp {
            text: "1/1/1999 14:36:49.528-4".into(),
            timestamp_ms: 915_215_809_528, // 1999-01-01 18:36:49.528 UTC
        }
    );
    assert!(matches!(parse(GOOD.replace("7/28/2024", "1/1/2099").as_bytes())[0], ParsedLine::Event(_)));
}
