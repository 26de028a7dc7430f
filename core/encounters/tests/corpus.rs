//! Every real log in the fixtures folder gives the fights read off it by hand: kind,
//! name, round, outcome and duration to the second. A log added to the folder fails here
//! until its expected fights are written down. Each fight's top damage dealer's totals
//! also equal the independent raw-text calculation.

mod support;

use std::collections::BTreeSet;
use wowlogs_schemas::{FightKind, FightSummary};

use FightKind::{Arena, Encounter};

/// `(kind, name, round, outcome, whole seconds)`; outcome as `kill` (won/killed/timed).
type Expected = (FightKind, &'static str, Option<i32>, Option<bool>, i64);

/// Read off the logs (line numbers and times in the comments are the logs' own).
fn expected(file: &str) -> Option<Vec<Expected>> {
    Some(match file {
        // 21:05:23.775 ARENA_MATCH_START 3v3 .. 21:05:51.487 ARENA_MATCH_END, team 0 won.
        "arena_3v3_tww_11.2.0.txt" => vec![(Arena, "Arena 2373", None, Some(false), 27)],
        // Questing: no fight.
        "classic_era_1.15.5_world_solo_new_timestamp_format.txt" => vec![],
        // 19:54:49.517 ENCOUNTER_START .. 20:00:19.054 ENCOUNTER_END success.
        "classic_sod_1.15.1_gnomeregan_raid.txt" => {
            vec![(Encounter, "Mekgineer Thermaplugg", None, Some(true), 329)]
        }
        // Five 2v2 matches: zone-in headers at lines 1, 575, 1105, 1685 and 2330; each
        // ends with the death that leaves one side with nobody standing (lines 369, 679,
        // 1498, 2106, 3039). The sixth header (line 3226) has no match after it.
        "classic_tbc_2.5.1_arena_matches_cjk_pet_names.txt" => vec![
            (Arena, "Nagrand Arena", None, Some(true), 106),
            (Arena, "Nagrand Arena", None, Some(true), 95),
            (Arena, "Nagrand Arena", None, Some(false), 111),
            (Arena, "Nagrand Arena", None, Some(false), 114),
            (Arena, "Ruins of Lordaeron", None, Some(true), 162),
        ],
        // 18:46:42.783 first ARENA_MATCH_START .. 18:52:26.611 ARENA_MATCH_END; the log
        // owner (Bodyoneshamn) is the first player to die in each of the six rounds.
        "retail_df_10.0.2beta_solo_shuffle_advanced_off.txt" => vec![
            (Arena, "Nokhudon Proving Grounds", None, Some(false), 343),
            (Arena, "Nokhudon Proving Grounds", Some(1), Some(false), 29),
            (Arena, "Nokhudon Proving Grounds", Some(2), Some(false), 30),
            (Arena, "Nokhudon Proving Grounds", Some(3), Some(false), 36),
            (Arena, "Nokhudon Proving Grounds", Some(4), Some(false), 27),
            (Arena, "Nokhudon Proving Grounds", Some(5), Some(false), 27),
            (Arena, "Nokhudon Proving Grounds", Some(6), Some(false), 13),
        ],
        // ENCOUNTER_END 3135 with fight time 21009 ms, no kill.
        "retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt" => {
            vec![(Encounter, "Dimensius, the All-Devouring", None, Some(false), 21)]
        }
        // ENCOUNTER_START 3122 at 23:10:06.469 .. ENCOUNTER_END 3122 success, fight time
        // 140153 ms (line 101,325): a council of bosses is one encounter.
        "retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt" => {
            vec![(Encounter, "The Soul Hunters", None, Some(true), 140)]
        }
        // Torghast: no encounter, no match.
        "retail_sl_9.0.2_torghast_advanced_off.txt" => vec![],
        // ENCOUNTER_END 2539 with fight time 143557 ms, a wipe.
        "retail_sl_9.2_raid_wipe_snippet.txt" => {
            vec![(Encounter, "Lihuvim, Principal Architect", None, Some(false), 143)]
        }
        // 14:38:53.798 ARENA_MATCH_START Skirmish .. 14:42:40.517 ARENA_MATCH_END, won.
        "retail_tww_11.0.2_dummies_skirmish.txt" => vec![(Arena, "Enigma Crucible", None, Some(true), 226)],
        // 01:31:12.866 ARENA_MATCH_START 1552 2v2 .. 01:31:54.749 ARENA_MATCH_END, team 0
        // won; the log owner (Whitejudas, flags 0x511) is on team 0 (its COMBATANT_INFO).
        // No ZONE_CHANGE, so the arena is named by its instance id. The two UNIT_DIEDs at
        // lines 51 and 177 are Feign Deaths (last field 1) and end nothing.
        "retail_tww_11.2.0_arena_2v2_korean_client.txt" => vec![(Arena, "Arena 1552", None, Some(true), 41)],
        _ => return None,
    })
}

fn summary(fight: &FightSummary) -> Expected {
    let name: &'static str = Box::leak(fight.name.clone().into_boxed_str());
    (fight.kind, name, fight.round, fight.kill, fight.duration_ms / 1000)
}

#[test]
fn every_real_log_gives_the_fights_read_off_it() {
    let logs = wowlogs_testkit::all_fixtures();
    assert!(logs.len() >= 11);
    for path in logs {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(mut want) = expected(&file) else {
            panic!("{file} is new: read its fights off the log and add them to `expected`");
        };
        let fights = support::fights_of(&path);
        // A fight's start line is its identity in storage: a match and its rounds differ.
        let starts: BTreeSet<i64> = fights.iter().map(|f| f.start_line).collect();
        assert_eq!(starts.len(), fights.len(), "{file}: two fights share a start line");
        let mut got: Vec<Expected> = fights.iter().map(summary).collect();
        // Fights in the order they closed, a match before its rounds (a stable sort).
        got.sort_by_key(|f| f.2);
        want.sort_by_key(|f| f.2);
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn every_fights_top_damage_dealer_matches_the_independent_calculation() {
    for path in wowlogs_testkit::all_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        for fight in support::fights_of(&path) {
            let Some(top) = fight.players.first().filter(|p| p.damage_done > 0) else { continue };
            let lines = fight.start_line as usize..=fight.end_line as usize;
            let expected = support::independent::totals(&text, lines, &top.guid);
            let got = support::independent::Totals {
                damage_done: top.damage_done,
                healing_done: top.healing_done,
                damage_taken: top.damage_taken,
            };
            assert_eq!(
                got,
                expected,
                "{}: {} in {} (line {})",
                path.display(),
                top.name,
                fight.name,
                fight.start_line
            );
        }
    }
}

/// "Which ability hurt the raid most": every ability a fight lists has the damage and
/// hits the raw text gives it, and the list is the independent calculation's top, in
/// order of amount.
#[test]
fn every_fights_damage_taken_by_ability_matches_the_independent_calculation() {
    let mut checked = 0;
    for path in wowlogs_testkit::all_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        for fight in support::fights_of(&path) {
            let lines = fight.start_line as usize..=fight.end_line as usize;
            let expected = support::independent::taken_by_ability(&text, lines);
            let where_ = format!("{}: {} (line {})", path.display(), fight.name, fight.start_line);
            for ability in &fight.damage_taken_by_ability {
                let key =
                    ability.spell_id.map(|id| id.to_string()).unwrap_or_else(|| ability.ability.clone());
                assert_eq!(
                    Some(&(ability.amount, ability.hits)),
                    expected.get(&key),
                    "{where_}: {}",
                    ability.ability
                );
                checked += 1;
            }
            let mut amounts: Vec<i64> = expected.values().map(|(amount, _)| *amount).collect();
            amounts.sort_unstable_by(|a, b| b.cmp(a));
            amounts.truncate(wowlogs_encounters::MAX_ABILITIES_TAKEN);
            let listed: Vec<i64> = fight.damage_taken_by_ability.iter().map(|a| a.amount).collect();
            assert_eq!(listed, amounts, "{where_}");
        }
    }
    assert!(checked > 100, "only {checked} abilities checked");
}

/// "Who interrupted, who dispelled": every player's counts in every fight equal the raw
/// text's, and each fight lists its removals in order.
#[test]
fn every_players_interrupts_and_dispels_match_the_independent_calculation() {
    let mut counted = 0;
    for path in wowlogs_testkit::all_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        for fight in support::fights_of(&path) {
            let lines = fight.start_line as usize..=fight.end_line as usize;
            let expected = support::independent::removals(&text, lines);
            let got: std::collections::HashMap<String, (i64, i64)> = fight
                .players
                .iter()
                .filter(|p| p.interrupts + p.dispels > 0)
                .map(|p| (p.guid.clone(), (p.interrupts, p.dispels)))
                .collect();
            assert_eq!(got, expected, "{}: {} (line {})", path.display(), fight.name, fight.start_line);
            let listed = fight.removals.len() as i64;
            assert_eq!(listed, expected.values().map(|(i, d)| i + d).sum::<i64>(), "{}", fight.name);
            assert!(fight.removals.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
            counted += listed;
        }
    }
    assert!(counted >= 20, "{counted} interrupts and dispels in the fixtures' fights");
}
