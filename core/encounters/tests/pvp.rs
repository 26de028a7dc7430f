//! PvP fights: Solo Shuffle rounds, battlegrounds, and arenas of clients that write no
//! arena events, one behaviour per test on small inline logs.

mod support;

use support::{log, run};
use wowlogs_schemas::{FightKind, FightSummary};

const ME: &str = "Player-1-ME";
const MATE: &str = "Player-1-MATE";
const FOE: &str = "Player-2-FOE";
const FOE2: &str = "Player-2-FOE2";

fn flags(guid: &str) -> &'static str {
    match guid {
        ME => "0x511",
        MATE => "0x512",
        _ => "0x548",
    }
}

fn hit(src: &str, dst: &str, amount: i64) -> String {
    format!(
        "SPELL_DAMAGE,{src},\"{src}\",{},0x0,{dst},\"{dst}\",{},0x0,133,\"Fireball\",0x4,{amount},{amount},-1,4,0,0,0,nil,nil,nil",
        flags(src),
        flags(dst)
    )
}

fn died(guid: &str) -> String {
    format!("UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,{guid},\"{guid}\",{},0x0,0", flags(guid))
}

/// A hunter's Feign Death: `UNIT_DIED` whose last field (`unconsciousOnDeath`) is 1.
fn feigned(guid: &str) -> String {
    format!("UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,{guid},\"{guid}\",{},0x0,1", flags(guid))
}

fn header() -> String {
    "COMBAT_LOG_VERSION,20,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,10.0.2,PROJECT_ID,1".to_string()
}

fn team(guid: &str, faction: u8) -> String {
    format!(
        "COMBATANT_INFO,{guid},{faction},0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,[],(),[],[],[],0,0,0"
    )
}

fn kinds(fights: &[FightSummary]) -> Vec<(FightKind, Option<i32>, Option<bool>, bool)> {
    fights.iter().map(|f| (f.kind, f.round, f.kill, f.complete)).collect()
}

#[test]
fn a_solo_shuffle_is_one_match_whose_rounds_are_decided_by_their_first_death() {
    let mut lines = vec![(0, "ZONE_CHANGE,2563,\"Nokhudon Proving Grounds\",0".to_string())];
    let mut second = 10;
    for round in 0..6 {
        lines.push((second, "ARENA_MATCH_START,2563,34,Rated Solo Shuffle,0".into()));
        lines.push((second, team(ME, 1)));
        lines.push((second, team(FOE, 0)));
        lines.push((second + 5, hit(ME, FOE, 1000)));
        // The log owner's side wins rounds 1, 3 and 5.
        let first_dead = if round % 2 == 0 { FOE } else { ME };
        lines.push((second + 20, died(first_dead)));
        second += 40;
    }
    lines.push((second, "ARENA_MATCH_END,0,240,1591,1482".into()));
    let (fights, anomalies, _) = run(&log(&lines));
    assert!(anomalies.is_empty(), "{anomalies:?}");
    let shuffle = fights.iter().find(|f| f.round.is_none()).unwrap();
    assert_eq!((shuffle.kind, shuffle.rounds_won, shuffle.kill), (FightKind::Arena, Some(3), None));
    assert_eq!(shuffle.name, "Nokhudon Proving Grounds");
    let rounds: Vec<_> = fights.iter().filter(|f| f.round.is_some()).collect();
    assert_eq!(rounds.len(), 6);
    for (i, round) in rounds.iter().enumerate() {
        assert_eq!(round.round, Some(i as i32 + 1));
        assert_eq!(round.parent_start_line, Some(shuffle.start_line));
        assert_eq!((round.kill, round.duration_ms), (Some(i % 2 == 0), 20_000), "round {}", i + 1);
    }
}

#[test]
fn a_feign_death_ends_no_solo_shuffle_round_and_the_real_death_decides_it() {
    // As in the Korean-client 2v2 fixture (lines 51 and 177): a hunter feigns, lives on,
    // and the round is decided by the death that follows.
    let lines = vec![
        (0, "ZONE_CHANGE,2563,\"Nokhudon Proving Grounds\",0".to_string()),
        (10, "ARENA_MATCH_START,2563,34,Rated Solo Shuffle,0".into()),
        (10, team(ME, 1)),
        (10, team(FOE, 0)),
        (15, feigned(ME)),
        (20, hit(ME, FOE, 1000)),
        (30, died(FOE)),
        (40, "ARENA_MATCH_END,0,40,1591,1482".into()),
    ];
    let (fights, anomalies, _) = run(&log(&lines));
    assert!(anomalies.is_empty(), "{anomalies:?}");
    let rounds: Vec<_> = fights.iter().filter(|f| f.round.is_some()).collect();
    assert_eq!(rounds.len(), 1);
    assert_eq!((rounds[0].kill, rounds[0].duration_ms), (Some(true), 20_000));
    assert_eq!(rounds[0].deaths.len(), 1, "the feign is not a death");
    let shuffle = fights.iter().find(|f| f.round.is_none()).unwrap();
    assert_eq!(shuffle.rounds_won, Some(1));
}

#[test]
fn a_feign_death_does_not_wipe_out_a_classic_arena_side() {
    let (fights, _, _) = run(&log(&classic_arena(&[(70, feigned(ME)), (75, feigned(MATE))])));
    assert_eq!(kinds(&fights), [(FightKind::Arena, None, None, false)]);
}

#[test]
fn a_ui_reload_inside_a_shuffle_neither_splits_nor_loses_a_round() {
    let lines = vec![
        (0, "ZONE_CHANGE,2563,\"Nokhudon Proving Grounds\",0".to_string()),
        (10, "ARENA_MATCH_START,2563,34,Rated Solo Shuffle,0".into()),
        (12, hit(ME, FOE, 10)),
        (13, header()),
        (13, "ZONE_CHANGE,2563,\"Nokhudon Proving Grounds\",0".into()),
        (15, hit(ME, FOE, 20)),
        (20, died(FOE)),
        (30, "ARENA_MATCH_START,2563,34,Rated Solo Shuffle,0".into()),
        (31, header()),
        (31, "ZONE_CHANGE,2563,\"Nokhudon Proving Grounds\",0".into()),
        (40, died(ME)),
        (50, "ARENA_MATCH_END,0,40,1591,1482".into()),
    ];
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(
        kinds(&fights),
        [
            (FightKind::Arena, Some(1), Some(true), true),
            (FightKind::Arena, Some(2), Some(false), true),
            (FightKind::Arena, None, Some(false), true),
        ]
    );
    let first = &fights[0];
    let me = first.players.iter().find(|p| p.guid == ME).unwrap();
    assert_eq!(me.damage_done, 30, "both hits, before and after the reload");
}

#[test]
fn a_battleground_is_a_fight_from_entering_its_zone_to_leaving_it() {
    let lines = vec![
        (0, "ZONE_CHANGE,1,\"Orgrimmar\",0".to_string()),
        (10, "ZONE_CHANGE,489,\"Warsong Gulch\",0".into()),
        (20, hit(ME, FOE, 500)),
        (25, header()),
        (25, "ZONE_CHANGE,489,\"Warsong Gulch\",0".into()),
        (70, hit(ME, FOE, 700)),
        (100, "ZONE_CHANGE,1,\"Orgrimmar\",0".into()),
        (110, hit(ME, FOE, 1)),
    ];
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(kinds(&fights), [(FightKind::Battleground, None, None, true)]);
    let bg = &fights[0];
    assert_eq!((bg.name.as_str(), bg.instance_id, bg.duration_ms), ("Warsong Gulch", Some(489), 90_000));
    assert_eq!(bg.players.iter().find(|p| p.guid == ME).unwrap().damage_done, 1200);
}

#[test]
fn a_battleground_the_log_ends_in_is_incomplete_with_no_outcome() {
    let lines = vec![(0, "ZONE_CHANGE,2107,\"Arathi Basin\",0".to_string()), (20, hit(ME, FOE, 500))];
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(kinds(&fights), [(FightKind::Battleground, None, None, false)]);
}

/// A Classic arena: the header at zone-in, then units created in Nagrand Arena (559).
fn classic_arena(ending: &[(u32, String)]) -> Vec<(u32, String)> {
    let pet = "Creature-0-4391-559-4212-510-00002BF622";
    let mut lines = vec![
        (0, "COMBAT_LOG_VERSION,9,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,2.5.1,PROJECT_ID,5".to_string()),
        (
            5,
            format!(
                "SPELL_SUMMON,{ME},\"{ME}\",0x511,0x0,{pet},\"Water Elemental\",0xa28,0x0,31687,\"Summon Water Elemental\",0x10"
            ),
        ),
        (60, hit(ME, FOE, 300)),
        (61, hit(FOE2, MATE, 200)),
    ];
    lines.extend_from_slice(ending);
    lines
}

#[test]
fn a_classic_arena_starts_at_the_zone_in_and_ends_when_a_side_is_wiped_out() {
    let lines = classic_arena(&[(70, died(FOE)), (80, died(FOE2)), (90, hit(MATE, FOE, 5))]);
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(kinds(&fights), [(FightKind::Arena, None, Some(true), true)]);
    let arena = &fights[0];
    assert_eq!((arena.name.as_str(), arena.start_line, arena.duration_ms), ("Nagrand Arena", 1, 80_000));
    assert_eq!(arena.players.iter().find(|p| p.guid == ME).unwrap().damage_done, 300);
}

#[test]
fn a_classic_arena_lost_is_the_log_owners_side_wiped_out() {
    let (fights, _, _) = run(&log(&classic_arena(&[(70, died(ME)), (75, died(MATE))])));
    assert_eq!(kinds(&fights), [(FightKind::Arena, None, Some(false), true)]);
}

#[test]
fn a_classic_arena_without_a_wipe_has_no_outcome() {
    let (fights, _, _) = run(&log(&classic_arena(&[(70, died(FOE))])));
    assert_eq!(kinds(&fights), [(FightKind::Arena, None, None, false)]);
}

#[test]
fn a_zone_in_whose_waiting_events_outgrow_their_byte_budget_is_dropped_not_held() {
    // Hostile input: 1,200 events of 60,000-character spell names between the zone-in and
    // the first blow between sides (72 MB, over the 64 MiB the wait may hold). The wait
    // is given up, as after too many events: no match, and nothing kept.
    let huge = "X".repeat(60_000);
    let flood: Vec<(u32, String)> = (0..1_200)
        .map(|_| {
            (
                30,
                format!(
                    "SPELL_DAMAGE,{ME},\"{ME}\",0x511,0x0,{MATE},\"{MATE}\",0x512,0x0,133,\"{huge}\",0x4,1,1,-1,4,0,0,0,nil,nil,nil"
                ),
            )
        })
        .collect();
    let mut lines = classic_arena(&[(70, died(FOE)), (80, died(FOE2))]);
    lines.splice(2..2, flood);
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(kinds(&fights), [], "the zone-in was dropped");
    const { assert!(wowlogs_encounters::MAX_PENDING_BYTES < 1_200 * 60_000, "the flood is over the budget") };
}

#[test]
fn a_zone_in_with_ordinary_events_within_the_byte_budget_still_opens_its_match() {
    // As many as the wait may count: ordinary events never reach its byte budget first.
    let ordinary: Vec<(u32, String)> =
        (0..wowlogs_encounters::MAX_PENDING_EVENTS - 10).map(|_| (30, hit(ME, MATE, 1))).collect();
    let mut lines = classic_arena(&[(70, died(FOE)), (80, died(FOE2))]);
    lines.splice(2..2, ordinary);
    let (fights, _, _) = run(&log(&lines));
    assert_eq!(kinds(&fights), [(FightKind::Arena, None, Some(true), true)]);
    // The match opens at the zone-in, with the events it waited through.
    assert_eq!((fights[0].start_line, fights[0].name.as_str()), (1, "Nagrand Arena"));
    assert_eq!(fights[0].players.iter().find(|p| p.guid == ME).unwrap().damage_done, 300);
}

#[test]
fn units_of_an_arena_seen_again_in_the_world_open_no_new_match() {
    // After the match, a pet created in the arena still fights in the world: without a
    // new zone-in it is no evidence of a new match.
    let pet = "Creature-0-4391-559-4212-510-00002BF622";
    let after = [
        (70, died(FOE)),
        (80, died(FOE2)),
        (
            200,
            format!(
                "SPELL_DAMAGE,{pet},\"Water Elemental\",0x1111,0x0,{FOE},\"{FOE}\",0x548,0x0,1,\"Bolt\",0x10,5,5,-1,16,0,0,0,nil,nil,nil"
            ),
        ),
        (210, hit(ME, FOE, 5)),
    ];
    let (fights, _, _) = run(&log(&classic_arena(&after)));
    assert_eq!(fights.len(), 1);
}

#[test]
fn a_zone_in_without_players_of_both_sides_is_no_match() {
    let lines = vec![
        (0, "COMBAT_LOG_VERSION,9,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,2.5.1,PROJECT_ID,5".to_string()),
        (10, hit(ME, "Creature-0-4391-559-4212-510-00002BF622", 5)),
    ];
    let (fights, _, segmenter) = run(&log(&lines));
    assert!(fights.is_empty());
    assert_eq!(segmenter.earliest_open_line(), None, "the log ended: nothing is held");
}
