//! Fights and metrics of the real logs in `../shared/fixtures`.
//!
//! Fight boundaries, outcomes and durations were read off the logs. Player totals are
//! checked against [`independent`], a deliberately separate calculation that reads the
//! raw text from the end of each line and shares no code with the parser or the core.

mod support;

use std::path::PathBuf;
use wowlogs_schemas::{FightKind, FightSummary, PlayerMetrics};

fn fixture(name: &str) -> PathBuf {
    wowlogs_testkit::fixture(name)
}

fn fights(name: &str) -> Vec<FightSummary> {
    support::fights_of(&fixture(name))
}

fn player<'a>(fight: &'a FightSummary, guid: &str) -> &'a PlayerMetrics {
    fight.players.iter().find(|p| p.guid == guid).unwrap_or_else(|| panic!("{guid} not in {}", fight.name))
}

fn assert_matches_independent(name: &str, fight: &FightSummary, guid: &str) {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let lines = fight.start_line as usize..=fight.end_line as usize;
    let expected = support::independent::totals(&text, lines, guid);
    let p = player(fight, guid);
    let got = support::independent::Totals {
        damage_done: p.damage_done,
        healing_done: p.healing_done,
        damage_taken: p.damage_taken,
    };
    assert_eq!(got, expected, "{name}: {guid}");
}

#[test]
fn classic_gnomeregan_has_one_kill_of_thermaplugg() {
    let name = "classic_sod_1.15.1_gnomeregan_raid.txt";
    let fights = fights(name);
    assert_eq!(fights.len(), 1);
    let f = &fights[0];
    assert_eq!(
        (f.kind, f.name.as_str(), f.encounter_id, f.difficulty),
        (FightKind::Encounter, "Mekgineer Thermaplugg", Some(2940), Some(198))
    );
    assert_eq!((f.kill, f.complete, f.group_size), (Some(true), true, Some(10)));
    // No fight time in Classic's ENCOUNTER_END: 19:54:49.517 to 20:00:19.054.
    assert_eq!(f.duration_ms, 329_537);
    assert_eq!(f.players.len(), 10);
    assert!(f.players.iter().all(|p| p.class.is_none() && p.item_level.is_some()), "Classic has no specs");

    // Djn (a tank: takes the most damage) and Reevs (the main healer, with shields).
    let djn = player(f, "Player-5828-01DFB746");
    assert_eq!((djn.damage_done, djn.healing_done, djn.damage_taken), (32_817, 4_030, 63_880));
    let reevs = player(f, "Player-5828-01CC7FDE");
    assert_eq!(
        (reevs.damage_done, reevs.healing_done, reevs.overhealing, reevs.absorbs_done),
        (723, 62_559, 40_638, 5_335)
    );
    for guid in ["Player-5828-01DFB746", "Player-5828-01CC7FDE", "Player-5828-01DC7385"] {
        assert_matches_independent(name, f, guid);
    }
    assert!(f.players.windows(2).all(|w| w[0].damage_done >= w[1].damage_done));
}

#[test]
fn classic_death_recap_names_the_frost_bomb() {
    let f = &fights("classic_sod_1.15.1_gnomeregan_raid.txt")[0];
    assert_eq!(f.deaths.len(), 1);
    let death = &f.deaths[0];
    assert_eq!((death.name.as_str(), death.line), ("Flakeshock-CrusaderStrike", 13_118));
    let blow = death.killing_blow.as_ref().unwrap();
    assert_eq!(
        (blow.ability.as_str(), blow.source_name.as_str(), blow.amount, blow.overkill),
        ("Frozen Shrapnel", "Frost Bomb", 250, 121)
    );
    assert_eq!(player(f, "Player-5828-01DC7385").deaths, 1);
}

#[test]
fn shadowlands_snippet_is_a_wipe_timed_by_the_end_event() {
    let fights = fights("retail_sl_9.2_raid_wipe_snippet.txt");
    assert_eq!(fights.len(), 1);
    let f = &fights[0];
    assert_eq!(
        (f.name.as_str(), f.encounter_id, f.difficulty, f.group_size),
        ("Lihuvim, Principal Architect", Some(2539), Some(15), Some(21))
    );
    assert_eq!((f.kill, f.complete, f.duration_ms), (Some(false), true, 143_557));
    assert_eq!(f.players.len(), 21);
    let hunter = player(f, "Player-3674-091C4DBD");
    assert_eq!((hunter.class.as_deref(), hunter.spec_id), (Some("Hunter"), Some(254)));
}

#[test]
fn war_within_skirmish_is_one_arena_won_by_the_log_owner() {
    let name = "retail_tww_11.0.2_dummies_skirmish.txt";
    let fights = fights(name);
    assert_eq!(fights.len(), 1, "the target dummies before the match are no fight");
    let f = &fights[0];
    assert_eq!(
        (f.kind, f.name.as_str(), f.match_type.as_deref()),
        (FightKind::Arena, "Enigma Crucible", Some("Skirmish"))
    );
    assert_eq!((f.start_line, f.end_line, f.kill), (1007, 13_289, Some(true)));
    // 14:38:53.798 to 14:42:40.517.
    assert_eq!(f.duration_ms, 226_719);
    assert_eq!(f.players.len(), 6);
    let djrio = player(f, "Player-4184-00C779B4");
    assert_eq!(
        (djrio.damage_done, djrio.healing_done, djrio.damage_taken),
        (69_408_810, 17_305_985, 42_487_587)
    );
    assert_eq!(djrio.class.as_deref(), Some("Warrior"));
    for guid in
        ["Player-4184-00C779B4", "Player-4184-00C79C15", "Player-4184-00C79588", "Player-4184-00C796AE"]
    {
        assert_matches_independent(name, f, guid);
    }
    let died: Vec<&str> = f.deaths.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        died,
        ["Tanzof-TheseGoToEleven-TR", "Свитер-TheseGoToEleven-TR", "Мрбаблх-TheseGoToEleven-TR"]
    );
    let blow = f.deaths[0].killing_blow.as_ref().unwrap();
    assert_eq!(
        (blow.ability.as_str(), blow.source_name.as_str(), blow.amount),
        ("Overpower", "Djrio-TheseGoToEleven-TR", 261_947)
    );
}

#[test]
fn tww_3v3_arena_is_lost_by_the_log_owner() {
    let name = "arena_3v3_tww_11.2.0.txt";
    let fights = fights(name);
    assert_eq!(fights.len(), 1);
    let f = &fights[0];
    assert_eq!(
        (f.kind, f.match_type.as_deref(), f.kill, f.duration_ms),
        (FightKind::Arena, Some("3v3"), Some(false), 27_712)
    );
    let hunter = player(f, "Player-11-0E88FF6F");
    assert_eq!((hunter.damage_done, hunter.casts), (598_949, 1));
    assert_matches_independent(name, f, "Player-11-0E88FF6F");
    assert_matches_independent(name, f, "Player-11-0E2496FA");
    assert_eq!(f.deaths.len(), 2);
    assert_eq!(f.deaths[0].fight_time_ms, 17_008);
}
