//! The parser against the real combat logs in `../shared/fixtures`.
//!
//! Expected values were read off the logs by hand; line numbers are the files' own.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use wowlogs_parser::{LogReader, ParseOptions, ParseStats, ParsedLine, YearHint};
use wowlogs_schemas::{AuraType, CombatEvent, Payload};

fn fixture(name: &str) -> PathBuf {
    wowlogs_testkit::fixture(name)
}

const ALL: [&str; 4] = [
    "arena_3v3_tww_11.2.0.txt",
    "classic_sod_1.15.1_gnomeregan_raid.txt",
    "retail_sl_9.2_raid_wipe_snippet.txt",
    "retail_tww_11.0.2_dummies_skirmish.txt",
];

fn parse_all(name: &str) -> (Vec<CombatEvent>, ParseStats) {
    let file = File::open(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let mut reader = LogReader::new(BufReader::new(file), ParseOptions::new(YearHint::FirstLineIn(2024)));
    let mut events = Vec::new();
    for parsed in reader.by_ref() {
        match parsed.unwrap() {
            ParsedLine::Event(event) => events.push(event),
            ParsedLine::Malformed(bad) => panic!("{name}: {}", bad.error),
        }
    }
    (events, reader.stats())
}

fn at(events: &[CombatEvent], line: i64) -> &CombatEvent {
    events.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("no event on line {line}"))
}

#[test]
fn every_line_of_every_fixture_becomes_an_event() {
    for (name, lines) in ALL.iter().zip([32, 13_351, 24, 13_361]) {
        let (events, stats) = parse_all(name);
        assert_eq!(stats.errors, 0, "{name}");
        assert_eq!(stats.lines, lines, "{name}");
        assert_eq!(events.len() as u64, lines, "{name}");
        assert!(events.windows(2).all(|w| w[0].line < w[1].line && w[0].timestamp_ms <= w[1].timestamp_ms));
    }
}

#[test]
fn classic_v9_spell_damage_reads_the_16_field_advanced_block() {
    let (events, _) = parse_all("classic_sod_1.15.1_gnomeregan_raid.txt");
    // 3/24 19:54:57.038  SPELL_DAMAGE,0000000000000000,nil,0x4228,0x0,Player-5828-01F8578B,"Sury-CrusaderStrike",
    //   ...,438735,"High Voltage!",0x8,Player-5828-01F8578B,0000000000000000,70,100,...,42,593,593,-1,8,0,0,0,nil,nil,nil
    let e = at(&events, 95);
    assert_eq!(e.event_type, "SPELL_DAMAGE");
    let source = e.source.as_ref().unwrap();
    assert_eq!((source.guid.as_str(), source.name.as_str(), source.flags), ("", "", 0x4228));
    assert_eq!(e.target.as_ref().unwrap().name, "Sury-CrusaderStrike");
    let spell = e.spell.as_ref().unwrap();
    assert_eq!((spell.id, spell.name.as_str(), spell.school), (438_735, "High Voltage!", 8));
    let adv = e.advanced.as_ref().unwrap();
    assert_eq!(adv.guid, "Player-5828-01F8578B");
    assert_eq!((adv.current_hp, adv.max_hp, adv.power_type, adv.level, adv.absorb), (70, 100, -1, 42, 0));
    assert_eq!((adv.position_x, adv.position_y), (-562.88, 644.51));
    let Payload::Damage(d) = &e.payload else { panic!("{:?}", e.payload) };
    assert_eq!((d.amount, d.base_amount, d.overkill, d.school), (593, 593, -1, 8));
    assert!(!d.critical && d.aoe.is_none());
}

#[test]
fn classic_encounter_end_has_no_fight_time() {
    let (events, _) = parse_all("classic_sod_1.15.1_gnomeregan_raid.txt");
    let Payload::EncounterStart(start) = &at(&events, 3).payload else { panic!() };
    assert_eq!(
        (
            start.encounter_id,
            start.encounter_name.as_str(),
            start.difficulty_id,
            start.group_size,
            start.instance_id
        ),
        (2940, "Mekgineer Thermaplugg", 198, 10, 90)
    );
    let Payload::EncounterEnd(end) = &at(&events, 13_351).payload else { panic!() };
    assert!(end.success);
    assert_eq!(end.fight_time_ms, None);
}

#[test]
fn old_timestamps_take_the_year_from_the_hint() {
    let (events, _) = parse_all("classic_sod_1.15.1_gnomeregan_raid.txt");
    // 3/24 19:22:59.391 in 2024, read as UTC.
    assert_eq!(events[0].timestamp_ms, 1_711_308_179_391);
}

#[test]
fn both_spell_absorbed_lengths_credit_the_shield_caster() {
    let (classic, _) = parse_all("classic_sod_1.15.1_gnomeregan_raid.txt");
    let melee = at(&classic, 416);
    assert!(melee.spell.is_none());
    let Payload::Absorbed(a) = &melee.payload else { panic!() };
    assert_eq!((a.caster.name.as_str(), a.absorb_spell.id, a.amount), ("Reevs-CrusaderStrike", 6066, 485));
    assert_eq!(a.unmitigated_amount, Some(1282));
    let spell = at(&classic, 2327);
    assert_eq!(spell.spell.as_ref().unwrap().name, "Sprocketfire");
    let Payload::Absorbed(a) = &spell.payload else { panic!() };
    assert_eq!((a.amount, a.unmitigated_amount), (180, Some(200)));

    let (retail, _) = parse_all("retail_tww_11.0.2_dummies_skirmish.txt");
    let Payload::Absorbed(a) = &at(&retail, 1151).payload else { panic!() };
    assert_eq!(
        (a.caster.name.as_str(), a.absorb_spell.name.as_str()),
        ("Tanzof-TheseGoToEleven-TR", "Fel Armor")
    );
    assert_eq!((a.amount, a.unmitigated_amount, a.critical), (3564, Some(26885), true));
    let melee = at(&retail, 1421);
    assert!(melee.spell.is_none());
    let Payload::Absorbed(a) = &melee.payload else { panic!() };
    assert_eq!((a.amount, a.critical), (3164, false));
}

#[test]
fn retail_v21_heal_reads_the_17_field_advanced_block() {
    let (events, _) = parse_all("retail_tww_11.0.2_dummies_skirmish.txt");
    // SPELL_PERIODIC_HEAL ... 139,"Renew",0x2,Player-4184-00C79713,0000000000000000,7694720,7694720,79362,20557,
    //   47200,0,0,2500000,2500000,0,229.35,282.82,0,6.2243,632,43767,43767,43767,0,nil
    let e = at(&events, 1038);
    assert_eq!(e.source.as_ref().unwrap().name, "Свитер-TheseGoToEleven-TR");
    let adv = e.advanced.as_ref().unwrap();
    assert_eq!((adv.current_hp, adv.attack_power, adv.armor, adv.absorb), (7_694_720, 79_362, 47_200, 0));
    assert_eq!((adv.current_power, adv.max_power, adv.level), (2_500_000, 2_500_000, 632));
    let Payload::Heal(h) = &e.payload else { panic!() };
    assert_eq!((h.amount, h.overhealing, h.critical), (43_767, 43_767, false));
}

#[test]
fn a_line_without_its_advanced_block_still_parses() {
    let (events, _) = parse_all("retail_tww_11.0.2_dummies_skirmish.txt");
    let e = at(&events, 15);
    assert_eq!(e.event_type, "SWING_DAMAGE_LANDED");
    assert!(e.advanced.is_none());
    let Payload::Damage(d) = &e.payload else { panic!() };
    assert_eq!((d.amount, d.base_amount), (13_035, 18_621));
}

#[test]
fn new_timestamps_apply_their_glued_offset() {
    let (events, _) = parse_all("retail_tww_11.0.2_dummies_skirmish.txt");
    // 7/28/2024 14:36:49.528-4 = 18:36:49.528 UTC.
    assert_eq!(events[0].timestamp_ms, 1_722_191_809_528);
    let (arena, _) = parse_all("arena_3v3_tww_11.2.0.txt");
    // 8/30/2025 21:05:23.7758 = 21:05:23.775 at UTC+8.
    assert_eq!(arena[0].timestamp_ms, 1_756_559_123_775);
}

#[test]
fn headers_set_the_version_and_map_change_is_typed() {
    let (events, _) = parse_all("retail_tww_11.0.2_dummies_skirmish.txt");
    let Payload::LogVersion(v) = &events[0].payload else { panic!() };
    assert_eq!(
        (v.version, v.advanced_log_enabled, v.build_version.as_str(), v.project_id),
        (21, true, "11.0.2", 1)
    );
    let Payload::MapChange(m) = &events[2].payload else { panic!() };
    assert_eq!((m.ui_map_id, m.map_name.as_str(), m.x0), (85, "Orgrimmar", 2486.666748));
}

#[test]
fn v22_range_damage_reads_the_19_field_block_and_the_target_tag() {
    let (events, _) = parse_all("arena_3v3_tww_11.2.0.txt");
    let e = at(&events, 22);
    assert_eq!(e.event_type, "RANGE_DAMAGE");
    assert_eq!(e.spell.as_ref().unwrap().name, "陰蝕箭");
    let adv = e.advanced.as_ref().unwrap();
    assert_eq!(adv.guid, "Player-11-0E2496FA");
    assert_eq!(
        (adv.current_hp, adv.max_hp, adv.armor, [adv.v22_unknown_1, adv.v22_unknown_2], adv.absorb),
        (16_569_259, 18_044_420, 79_936, [2981, 0], 0)
    );
    assert_eq!((adv.power_type, adv.current_power, adv.level, adv.facing), (0, 2_450_787, 714, 3.3765));
    let Payload::Damage(d) = &e.payload else { panic!() };
    assert_eq!((d.amount, d.base_amount, d.school, d.aoe), (162_946, 188_012, 32, Some(false)));
}

#[test]
fn arena_start_and_end_are_typed() {
    let (events, _) = parse_all("arena_3v3_tww_11.2.0.txt");
    let Payload::ArenaMatchStart(s) = &events[0].payload else { panic!() };
    assert_eq!((s.instance_id, s.match_type.as_str(), s.rated), (2373, "3v3", true));
    let Payload::ArenaMatchEnd(e) = &events.last().unwrap().payload else { panic!() };
    assert_eq!((e.winning_team, e.duration_s, e.new_rating_team0, e.new_rating_team1), (0, 27, 1734, 1756));
}

#[test]
fn dispels_and_broken_auras_name_the_removed_aura() {
    let (events, _) = parse_all("arena_3v3_tww_11.2.0.txt");
    let broken = events.iter().find(|e| e.event_type == "SPELL_AURA_BROKEN_SPELL").unwrap();
    let Payload::Dispel(d) = &broken.payload else { panic!() };
    assert_eq!((d.extra_spell.id, d.aura_type), (88_625, Some(AuraType::Debuff)));
}

#[test]
fn combatant_info_reads_spec_and_gear_in_every_version() {
    let combatant = |name: &str, line: i64| {
        let (events, _) = parse_all(name);
        let Payload::CombatantInfo(info) = at(&events, line).payload.clone() else { panic!() };
        info
    };
    let classic = combatant("classic_sod_1.15.1_gnomeregan_raid.txt", 4);
    assert_eq!(
        (classic.player_guid.as_str(), classic.spec_id, classic.armor),
        ("Player-5828-01DB541E", 0, 1489)
    );
    assert_eq!(classic.items.len(), 19);
    assert_eq!((classic.items[0].item_id, classic.items[0].item_level), (215_166, 45));

    let shadowlands = combatant("retail_sl_9.2_raid_wipe_snippet.txt", 2);
    assert_eq!(
        (shadowlands.spec_id, shadowlands.agility, shadowlands.extra_stats.as_slice()),
        (254, 1726, &[1234][..])
    );
    assert_eq!(shadowlands.items[0].item_level, 265);
    assert!(shadowlands.extra_fields[0].starts_with("[1,3,"), "soulbind block kept verbatim");

    let war_within = combatant("arena_3v3_tww_11.2.0.txt", 2);
    assert_eq!((war_within.faction, war_within.spec_id, war_within.intellect), (1, 257, 127_697));
    assert!(war_within.talents.starts_with("[(82554,103675,1)"));
    assert!(war_within.average_item_level().unwrap() > 600.0);
}

#[test]
fn quoted_names_with_commas_survive() {
    let (events, _) = parse_all("retail_sl_9.2_raid_wipe_snippet.txt");
    let Payload::EncounterStart(s) = &events[0].payload else { panic!() };
    assert_eq!(s.encounter_name, "Lihuvim, Principal Architect");
    let Payload::EncounterEnd(e) = &events.last().unwrap().payload else { panic!() };
    assert_eq!((e.success, e.fight_time_ms), (false, Some(143_557)));
}

fn parse_one(name: &str) -> Vec<CombatEvent> {
    let file = File::open(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let reader = LogReader::new(BufReader::new(file), ParseOptions::new(YearHint::FirstLineIn(2025)));
    reader
        .map(|parsed| match parsed.unwrap() {
            ParsedLine::Event(event) => event,
            ParsedLine::Malformed(bad) => panic!("{name}: {}", bad.error),
        })
        .collect()
}

#[test]
fn classic_1_15_5_writes_an_18_field_block_under_version_9() {
    // 1/8/2025 10:28:19.8032  SPELL_DAMAGE,Player-5233-0189014E,"Galz-Firemaw-EU",...,13439,"Frostbolt",0x10,
    //   Creature-…,0000000000000000,365359,366300,0,0,0,0,0,-1,0,0,0,-7549.43,702.66,1451,1.5762,60,30,30,-1,16,0,0,0,nil,nil,nil,ST
    let events = parse_one("classic_era_1.15.5_world_solo_new_timestamp_format.txt");
    let e = at(&events, 133);
    let adv = e.advanced.as_ref().unwrap();
    assert_eq!((adv.current_hp, adv.max_hp, adv.power_type), (365_359, 366_300, -1));
    assert_eq!((adv.position_x, adv.position_y, adv.ui_map_id, adv.level), (-7549.43, 702.66, 1451, 60));
    let Payload::Damage(d) = &e.payload else { panic!("{:?}", e.payload) };
    assert_eq!((d.amount, d.base_amount, d.school, d.aoe), (30, 30, 16, Some(false)));
}

#[test]
fn shadowlands_9_0_writes_a_zeroed_17_field_block_with_advanced_logging_off() {
    // 12/21 22:10:25.468  SPELL_DAMAGE,…,11366,"Pyroblast",0x4,0000000000000000,0000000000000000,0,0,0,0,0,0,-1,
    //   0,0,0,0.00,0.00,1805,0.0000,0,1750,1750,-1,4,0,0,0,nil,nil,nil
    let events = parse_one("retail_sl_9.0.2_torghast_advanced_off.txt");
    let e = at(&events, 83);
    assert_eq!(e.advanced.as_ref().unwrap().ui_map_id, 1805);
    let Payload::Damage(d) = &e.payload else { panic!("{:?}", e.payload) };
    assert_eq!((d.amount, d.overkill, d.school), (1750, -1, 4));
}

#[test]
fn classic_leech_carries_the_max_power() {
    // 5/24 11:57:18.515  SPELL_PERIODIC_LEECH,…,11704,"Drain Mana",0x20,…,51,136,0,156,6205
    let events = parse_one("classic_tbc_2.5.1_arena_matches_cjk_pet_names.txt");
    let Payload::Drain(d) = &at(&events, 2928).payload else { panic!() };
    assert_eq!((d.amount, d.power_type, d.extra_amount, d.max_power), (136, 0, 156, Some(6205)));
}

#[test]
fn midnight_misses_end_with_the_target_tag() {
    // 2/16/2026 23:29:15.6470  SPELL_MISSED,…,1228368,"Cosmic Radiation",0x6a,ABSORB,nil,2039,2369,nil,AOE
    let events = parse_one("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    let e = at(&events, 65);
    let Payload::Missed(m) = &e.payload else { panic!("{:?}", e.payload) };
    assert_eq!((m.miss_type.as_str(), m.amount_missed, m.base_amount), ("ABSORB", Some(2039), Some(2369)));
    assert!(e.extra.is_empty());
}
