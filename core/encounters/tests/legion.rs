//! Legion logs (`COMBAT_LOG_VERSION,4`, patch 7.x, advanced logging on), built from the
//! field counts measured on two real Legion files (not kept here): `SPELL_CAST_SUCCESS`
//! 25 fields, `SPELL_DAMAGE` 34, `SWING_DAMAGE` 31, `SPELL_HEAL` 29 (a 13-field advanced
//! block; damage and heal suffixes without the base amount), `COMBATANT_INFO` 29 (no
//! faction; artifact traits before the gear), `ENCOUNTER_START` 5 (no instance id),
//! `ENCOUNTER_END` 6 (no fight time), encounter names with commas inside quotes, and the
//! old `M/D HH:MM:SS.mmm` timestamps.

mod support;

use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::{CombatEvent, FightKind, Payload};

const MAGE: &str = "Player-1305-09A1B2C3";
const PRIEST: &str = "Player-1305-0A0B0C0D";
const BOSS: &str = "Creature-0-3019-1520-23422-105393-00004D4F6B";

/// A 13-field advanced block: GUID, owner, health, max health, attack power, spell power,
/// power type, power, max power, cost, x, y, level.
fn block(guid: &str, hp: i64, max_hp: i64, level: i32) -> String {
    format!("{guid},0000000000000000,{hp},{max_hp},0,105620,0,1100000,1100000,0,-3122.54,5318.81,{level}")
}

/// The raid night: Il'gynoth pulled, the mage's Fireball crits it, its melee hits the
/// priest, the priest heals herself, and the raid wipes at 94.78 %.
fn legion_log() -> Vec<String> {
    let mage = format!("{MAGE},\"Aaron-Kazzak\",0x514,0x0");
    let priest = format!("{PRIEST},\"Beth-Kazzak\",0x514,0x0");
    let boss = format!("{BOSS},\"Il'gynoth\",0x10a48,0x0");
    let stats = "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"; // 21 stats, zero
    [
        "1/24 20:01:00.000  COMBAT_LOG_VERSION,4,ADVANCED_LOG_ENABLED,1".to_string(),
        "1/24 20:01:01.000  ENCOUNTER_START,1873,\"Il'gynoth, Heart of Corruption\",15,20".to_string(),
        format!(
            "1/24 20:01:01.100  COMBATANT_INFO,{MAGE},{stats},63,(22458,22462,22464,22465,22469,21144,22449),(0,0,0,0),\
             [(1,1,0),(2,3,1)],[(141541,895,(),(1806,1502,3336),()),(140895,910,(5437,0,0),(3445,1522),(130220))],\
             [{MAGE},186406]"
        ),
        format!("1/24 20:01:02.000  SPELL_CAST_SUCCESS,{mage},0000000000000000,nil,0x80000000,0x80000000,133,\"Fireball\",0x4,{}", block(MAGE, 1863450, 1863450, 110)),
        format!("1/24 20:01:03.000  SPELL_DAMAGE,{mage},{boss},133,\"Fireball\",0x4,{},250000,-1,4,0,0,0,1,nil,nil", block(BOSS, 41_230_000, 43_500_000, 113)),
        format!("1/24 20:01:04.000  SWING_DAMAGE,{boss},{priest},{},90000,-1,1,0,0,10000,nil,nil,nil", block(BOSS, 41_230_000, 43_500_000, 113)),
        format!("1/24 20:01:05.000  SPELL_HEAL,{priest},{priest},2061,\"Flash Heal\",0x2,{},60000,5000,0,nil", block(PRIEST, 1_700_000, 1_750_000, 110)),
        format!("1/24 20:01:06.000  UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,{priest}"),
        "1/24 20:01:07.000  ENCOUNTER_END,1873,\"Il'gynoth, Heart of Corruption\",15,20,0".to_string(),
    ]
    .into_iter()
    .collect()
}

fn events(lines: &[String]) -> Vec<CombatEvent> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    LogReader::new(text.as_bytes(), ParseOptions::new(YearHint::FirstLineIn(2018)))
        .map(|parsed| match parsed.unwrap() {
            ParsedLine::Event(event) => event,
            ParsedLine::Malformed(bad) => panic!("{}", bad.error),
        })
        .collect()
}

#[test]
fn the_field_counts_are_the_measured_ones() {
    let log = legion_log();
    let count = |name: &str| {
        let line = log.iter().find(|l| l.contains(&format!("  {name},"))).unwrap();
        // Fields outside quotes (only the encounter's name holds a comma).
        let body = line.split_once("  ").unwrap().1;
        let mut fields = 1;
        let mut quoted = false;
        for c in body.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => fields += 1,
                _ => {}
            }
        }
        fields
    };
    for (name, fields) in [
        ("SPELL_CAST_SUCCESS", 25),
        ("SPELL_DAMAGE", 34),
        ("SWING_DAMAGE", 31),
        ("SPELL_HEAL", 29),
        ("ENCOUNTER_START", 5),
        ("ENCOUNTER_END", 6),
    ] {
        assert_eq!(count(name), fields, "{name}");
    }
}

#[test]
fn every_line_of_a_legion_log_is_read_with_its_values() {
    let events = events(&legion_log());
    assert_eq!(events.len(), 9);
    let damage = events.iter().find(|e| e.event_type == "SPELL_DAMAGE").unwrap();
    let Payload::Damage(hit) = &damage.payload else { panic!("{:?}", damage.payload) };
    assert_eq!(
        (hit.amount, hit.base_amount, hit.overkill, hit.school, hit.critical),
        (250_000, 250_000, -1, 4, true)
    );
    let unit = damage.advanced.as_ref().unwrap();
    assert_eq!(
        (unit.guid.as_str(), unit.current_hp, unit.max_hp, unit.level),
        (BOSS, 41_230_000, 43_500_000, 113)
    );
    assert_eq!((unit.position_x, unit.position_y, unit.armor, unit.ui_map_id), (-3122.54, 5318.81, 0, 0));

    let swing = events.iter().find(|e| e.event_type == "SWING_DAMAGE").unwrap();
    let Payload::Damage(melee) = &swing.payload else { panic!() };
    assert_eq!((melee.amount, melee.school, melee.absorbed, melee.critical), (90_000, 1, 10_000, false));

    let heal = events.iter().find(|e| e.event_type == "SPELL_HEAL").unwrap();
    let Payload::Heal(healed) = &heal.payload else { panic!() };
    assert_eq!(
        (healed.amount, healed.base_amount, healed.overhealing, healed.critical),
        (60_000, 60_000, 5_000, false)
    );

    let start = events.iter().find(|e| e.event_type == "ENCOUNTER_START").unwrap();
    let Payload::EncounterStart(pull) = &start.payload else { panic!() };
    assert_eq!(
        (pull.encounter_name.as_str(), pull.difficulty_id, pull.instance_id),
        ("Il'gynoth, Heart of Corruption", 15, 0)
    );

    let info = events.iter().find(|e| e.event_type == "COMBATANT_INFO").unwrap();
    let Payload::CombatantInfo(mage) = &info.payload else { panic!() };
    assert_eq!((mage.faction, mage.spec_id), (-1, 63));
    let levels: Vec<i32> = mage.items.iter().map(|i| i.item_level).collect();
    assert_eq!(levels, vec![895, 910], "the gear, not the artifact traits");
}

#[test]
fn a_legion_wipe_is_one_heroic_fight_with_its_numbers_and_boss_health() {
    let text: String = legion_log().iter().map(|l| format!("{l}\n")).collect();
    let (fights, _, _) = support::run(&text);
    let boss_fights: Vec<_> = fights.iter().filter(|f| f.kind == FightKind::Encounter).collect();
    assert_eq!(boss_fights.len(), 1, "{fights:?}");
    let f = boss_fights[0];
    assert_eq!(
        (f.name.as_str(), f.difficulty, f.kill),
        ("Il'gynoth, Heart of Corruption", Some(15), Some(false))
    );
    let player = |guid: &str| f.players.iter().find(|p| p.guid == guid).unwrap();
    assert_eq!(player(MAGE).damage_done, 250_000);
    assert_eq!((player(PRIEST).healing_done, player(PRIEST).overhealing), (55_000, 5_000));
    assert_eq!(player(PRIEST).deaths, 1);
    let pct = 100.0 * 41_230_000.0 / 43_500_000.0;
    assert_eq!(f.boss_pct, Some(pct), "{:?}", f.bosses);
}

/// Logs from before the header existed (2011, patch 4.1: no raid flags, so 2 fields fewer
/// per unit) are refused line by line, by their field count, never read as another layout.
#[test]
fn a_log_from_before_the_header_is_refused_clearly() {
    let text = "5/3 21:10:04.123  SPELL_DAMAGE,0x0100000004ECB2C0,\"Aaron\",0x514,0xF130B48A000012C4,\"Nefarian\",0xa48,133,\"Fireball\",0x4,25000,0,4,0,0,0,nil,nil,nil\n";
    let parsed: Vec<ParsedLine> =
        LogReader::new(text.as_bytes(), ParseOptions::new(YearHint::FirstLineIn(2011)))
            .map(|p| p.unwrap())
            .collect();
    assert_eq!(parsed.len(), 1);
    let ParsedLine::Malformed(bad) = &parsed[0] else { panic!("read as an event: {:?}", parsed[0]) };
    assert!(bad.error.to_string().contains("fields"), "{}", bad.error);
}
