//! How the encounter state machine segments fights and attributes numbers, one
//! behaviour per test, on small logs written inline.

mod support;

use support::{log, run};
use wowlogs_encounters::EncounterSegmenter;
use wowlogs_parser::{LogReader, ParseOptions, ParsedLine, YearHint};
use wowlogs_schemas::{FightKind, FightSummary};

const HERO: &str = "Player-1-HERO";
const HEALER: &str = "Player-1-HEAL";
const BOSS: &str = "Creature-0-1-1-1-100-B";
const WOLF: &str = "Creature-0-1-1-1-200-W";

fn start(id: i32) -> String {
    format!("ENCOUNTER_START,{id},\"Boss {id}\",16,20,2657")
}

fn end(id: i32, success: u8, fight_ms: i64) -> String {
    format!("ENCOUNTER_END,{id},\"Boss {id}\",16,20,{success},{fight_ms}")
}

/// A spell hit without an advanced block (22 fields).
fn hit(event: &str, src: (&str, &str), dst: (&str, &str), amount: i64) -> String {
    format!(
        "{event},{},\"{}\",{},0x0,{},\"{}\",{},0x0,133,\"Fireball\",0x4,{amount},{amount},-1,4,0,0,0,nil,nil,nil",
        src.0,
        src.1,
        flags(src.0),
        dst.0,
        dst.1,
        flags(dst.0)
    )
}

fn flags(guid: &str) -> &'static str {
    match guid {
        HERO => "0x511",
        HEALER => "0x512",
        WOLF => "0x1111",
        _ => "0xa48",
    }
}

fn heal(src: &str, dst: &str, amount: i64, overhealing: i64) -> String {
    format!(
        "SPELL_HEAL,{src},\"H\",{},0x0,{dst},\"D\",{},0x0,2061,\"Flash Heal\",0x2,{amount},{amount},{overhealing},0,nil",
        flags(src),
        flags(dst)
    )
}

fn died(guid: &str, unconscious: u8) -> String {
    format!("UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,{guid},\"Hero\",0x511,0x0,{unconscious}")
}

fn one_fight(lines: &[(u32, String)]) -> FightSummary {
    let (fights, anomalies, _) = run(&log(lines));
    assert!(anomalies.is_empty(), "{anomalies:?}");
    assert_eq!(fights.len(), 1);
    fights.into_iter().next().unwrap()
}

fn player<'a>(fight: &'a FightSummary, guid: &str) -> &'a wowlogs_schemas::PlayerMetrics {
    fight.players.iter().find(|p| p.guid == guid).unwrap()
}

#[test]
fn encounter_end_without_start_is_reported_not_fatal() {
    let (fights, anomalies, _) = run(&log(&[(0, end(7, 1, 1000)), (1, start(8)), (2, end(8, 1, 1000))]));
    assert_eq!(anomalies.len(), 1);
    assert_eq!((anomalies[0].line, anomalies[0].code.as_str()), (1, "end_without_start"));
    assert!(anomalies[0].message.contains("ENCOUNTER_END 7"));
    assert_eq!(fights.len(), 1, "the next fight is unaffected");
}

#[test]
fn a_start_without_an_end_closes_as_incomplete_at_the_next_start() {
    let (fights, _, _) = run(&log(&[
        (0, start(1)),
        (5, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Boss"), 100)),
        (60, start(2)),
        (70, end(2, 1, 10_000)),
    ]));
    assert_eq!(fights.len(), 2);
    let cut = &fights[0];
    assert_eq!((cut.encounter_id, cut.complete, cut.kill), (Some(1), false, Some(false)));
    assert_eq!((cut.end_line, cut.duration_ms), (2, 5_000), "ends at its own last event");
    assert_eq!(player(cut, HERO).damage_done, 100);
    assert!(fights[1].complete);
}

#[test]
fn a_fight_still_open_at_the_end_of_the_log_is_incomplete() {
    let (fights, _, segmenter) =
        run(&log(&[(0, start(1)), (9, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Boss"), 1))]));
    assert_eq!(segmenter.open_fights(), 0);
    assert_eq!((fights[0].complete, fights[0].duration_ms), (false, 9_000));
}

#[test]
fn duration_comes_from_the_end_events_fight_time() {
    let fight = one_fight(&[(0, start(1)), (100, end(1, 0, 99_123))]);
    assert_eq!(
        (fight.kill, fight.duration_ms, fight.end_ms - fight.start_ms),
        (Some(false), 99_123, 100_000)
    );
}

#[test]
fn bosses_inside_a_mythic_plus_run_are_nested_in_it() {
    let (fights, _, _) = run(&log(&[
        (0, "CHALLENGE_MODE_START,\"Ara-Kara\",2660,503,10,[148,9,152,10]".into()),
        (10, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Trash"), 50)),
        (20, "ENCOUNTER_START,2583,\"Avanoxx\",8,5,2660".into()),
        (30, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Avanoxx"), 70)),
        (40, "ENCOUNTER_END,2583,\"Avanoxx\",8,5,1,20000".into()),
        (50, "CHALLENGE_MODE_END,2660,1,10,1800000,300.5,2500.0".into()),
    ]));
    let [boss, run] = fights.as_slice() else { panic!("{fights:?}") };
    assert_eq!(
        (boss.kind, boss.parent_start_line, boss.difficulty),
        (FightKind::Encounter, Some(1), Some(8))
    );
    assert_eq!(player(boss, HERO).damage_done, 70);
    assert_eq!(
        (run.kind, run.name.as_str(), run.key_level, run.kill),
        (FightKind::ChallengeMode, "Ara-Kara", Some(10), Some(true))
    );
    assert_eq!((run.duration_ms, run.affixes.as_slice()), (1_800_000, &[148, 9, 152, 10][..]));
    assert_eq!(player(run, HERO).damage_done, 120, "the run counts trash and bosses");
}

#[test]
fn the_consumer_may_not_commit_past_the_outermost_open_fight() {
    let text = log(&[(0, "CHALLENGE_MODE_START,\"Ara-Kara\",2660,503,10,[148]".into()), (1, start(9))]);
    let mut segmenter = EncounterSegmenter::new();
    let mut out = Vec::new();
    for parsed in LogReader::new(text.as_bytes(), ParseOptions::new(YearHint::FirstLineIn(2025))) {
        let ParsedLine::Event(event) = parsed.unwrap() else { panic!() };
        segmenter.push(&event, &mut out);
    }
    assert_eq!((segmenter.open_fights(), segmenter.earliest_open_line()), (2, Some(1)));
}

#[test]
fn pets_and_guardians_count_for_their_owner() {
    let fight = one_fight(&[
        (0, start(1)),
        (
            1,
            format!(
                "SPELL_SUMMON,{HERO},\"Hero\",0x511,0x0,{WOLF},\"Wolf\",0xa28,0x0,51533,\"Feral Spirit\",0x8"
            ),
        ),
        (2, hit("SPELL_DAMAGE", (WOLF, "Wolf"), (BOSS, "Boss"), 300)),
        (3, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Boss"), 200)),
        (4, end(1, 1, 4_000)),
    ]);
    assert_eq!(fight.players.len(), 1, "the wolf is not a player");
    assert_eq!(player(&fight, HERO).damage_done, 500);
}

#[test]
fn the_advanced_blocks_owner_links_a_pet_without_a_summon() {
    let pet = "Pet-0-1-1-1-165189-01";
    let swing = format!(
        "SWING_DAMAGE,{pet},\"Cat\",0x1111,0x0,{BOSS},\"Boss\",0xa48,0x0,{pet},{HERO},100,100,0,0,0,0,2,100,100,0,1.0,2.0,0,1.5,70,400,400,-1,1,0,0,0,nil,nil,nil"
    );
    let fight = one_fight(&[(0, start(1)), (1, swing), (2, end(1, 1, 2_000))]);
    assert_eq!(player(&fight, HERO).damage_done, 400);
}

#[test]
fn friendly_fire_is_damage_taken_but_not_damage_done() {
    let fight = one_fight(&[
        (0, start(1)),
        (1, hit("SPELL_DAMAGE", (HERO, "Hero"), (HEALER, "Healer"), 40)),
        (2, hit("SPELL_DAMAGE", (BOSS, "Boss"), (HEALER, "Healer"), 60)),
        (3, end(1, 1, 3_000)),
    ]);
    assert_eq!(player(&fight, HERO).damage_done, 0);
    assert_eq!(player(&fight, HEALER).damage_taken, 100);
}

#[test]
fn repeated_damage_events_are_not_counted_twice() {
    let landed = format!(
        "SWING_DAMAGE_LANDED,{HERO},\"Hero\",0x511,0x0,{BOSS},\"Boss\",0xa48,0x0,999,999,-1,1,0,0,0,nil,nil,nil"
    );
    let support = format!("{},{HERO}", hit("SPELL_DAMAGE_SUPPORT", (HEALER, "Healer"), (BOSS, "Boss"), 888));
    let fight = one_fight(&[
        (0, start(1)),
        (1, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Boss"), 10)),
        (2, landed),
        (3, support),
        (4, end(1, 1, 4_000)),
    ]);
    assert_eq!(player(&fight, HERO).damage_done, 10);
    assert_eq!(player(&fight, HEALER).damage_done, 0);
}

#[test]
fn healing_done_excludes_overhealing() {
    let fight = one_fight(&[(0, start(1)), (1, heal(HEALER, HERO, 1000, 250)), (10, end(1, 1, 10_000))]);
    let healer = player(&fight, HEALER);
    assert_eq!((healer.healing_done, healer.overhealing, healer.hps), (750, 250, 75.0));
}

#[test]
fn feign_death_is_not_a_death() {
    let fight = one_fight(&[(0, start(1)), (1, died(HERO, 1)), (2, end(1, 0, 2_000))]);
    assert_eq!(player(&fight, HERO).deaths, 0);
    assert!(fight.deaths.is_empty());
}

#[test]
fn a_death_is_recapped_with_the_last_hit_taken() {
    let fight = one_fight(&[
        (0, start(1)),
        (5, hit("SPELL_DAMAGE", (BOSS, "Boss"), (HERO, "Hero"), 10)),
        (6, hit("SPELL_PERIODIC_DAMAGE", (BOSS, "Boss"), (HERO, "Hero"), 99)),
        (7, died(HERO, 0)),
        (8, end(1, 0, 8_000)),
    ]);
    assert_eq!(player(&fight, HERO).deaths, 1);
    let death = &fight.deaths[0];
    assert_eq!((death.fight_time_ms, death.line), (7_000, 4));
    let blow = death.killing_blow.as_ref().unwrap();
    assert_eq!((blow.ability.as_str(), blow.source_guid.as_str(), blow.amount), ("Fireball", BOSS, 99));
}

#[test]
fn dps_is_damage_over_the_fight_duration() {
    let fight = one_fight(&[
        (0, start(1)),
        (1, hit("SPELL_DAMAGE", (HERO, "Hero"), (BOSS, "Boss"), 3_000)),
        (3, end(1, 1, 4_000)),
    ]);
    assert_eq!(player(&fight, HERO).dps, 750.0);
}
