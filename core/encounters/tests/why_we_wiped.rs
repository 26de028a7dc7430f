//! Why did we wipe: the bosses' health when a pull ended, the death recaps and the
//! deadliest abilities, read off real fixtures line by line (the line numbers are the
//! logs' own).

mod support;

use wowlogs_encounters::bosses::{ADVANCED_LOGGING_OFF, NO_BOSS_SEEN};
use wowlogs_encounters::recap::{RECAP_MAX_ENTRIES, RECAP_WINDOW_MS};
use wowlogs_schemas::{FightKind, FightSummary, RecapKind};

fn only_boss_fight(name: &str) -> FightSummary {
    let mut fights: Vec<FightSummary> = support::fights_of(&wowlogs_testkit::fixture(name))
        .into_iter()
        .filter(|f| f.kind == FightKind::Encounter)
        .collect();
    assert_eq!(fights.len(), 1, "{name}");
    fights.remove(0)
}

/// Dimensius wipe: the last health the log wrote for Dimensius before `ENCOUNTER_END`
/// (line 3890) is on line 3888, `11389021,11998750`; the Immolation Aura on line 3891
/// comes after the end, in the same millisecond, and is not part of the pull.
#[test]
fn the_dimensius_wipe_ends_with_the_boss_at_94_9_percent() {
    let f = only_boss_fight("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    assert_eq!(f.kill, Some(false));
    assert_eq!(f.bosses.len(), 1, "{:?}", f.bosses);
    let boss = &f.bosses[0];
    assert_eq!(
        (boss.name.as_str(), boss.npc_id, boss.current_hp, boss.max_hp, boss.died),
        ("Dimensius", Some(241_517), 11_389_021, 11_998_750, false)
    );
    let pct = 100.0 * 11_389_021.0 / 11_998_750.0;
    assert_eq!(boss.pct, pct);
    assert_eq!(f.boss_pct, Some(pct));
    assert!((94.91..94.92).contains(&pct));
    assert_eq!(f.boss_pct_missing, None);
}

/// The first death of the Dimensius wipe: Xamymage dies on line 660 (23:29:24.964, 9.962 s
/// into the pull) to Dimensius's Oblivion on line 659: 450,900 damage, 397,246 overkill,
/// health 0 of 90,180 after it. In the 10 s before (from 23:29:14.964) the log has 12
/// more hits on Xamymage and no heal: Cosmic Radiation on lines 88, 157, 197 and 293,
/// Fission from the Living Masses on lines 182, 216, 240, 250, 259, 275, 323 and 381.
#[test]
fn the_first_death_of_the_dimensius_wipe_has_its_recap() {
    let f = only_boss_fight("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    let first = &f.deaths[0];
    assert_eq!((first.name.as_str(), first.line, first.fight_time_ms), ("Xamymage-Kazzak-EU", 660, 9_962));
    let blow = first.killing_blow.as_ref().unwrap();
    assert_eq!((blow.ability.as_str(), blow.amount, blow.overkill), ("Oblivion", 450_900, 397_246));

    let recap = &first.recap;
    assert_eq!(recap.len(), 13);
    let killing = &recap[0];
    assert_eq!(
        (
            killing.kind,
            killing.ability.as_str(),
            killing.source_name.as_str(),
            killing.amount,
            killing.overkill
        ),
        (RecapKind::Damage, "Oblivion", "Dimensius", 450_900, 397_246)
    );
    assert_eq!((killing.hp, killing.max_hp), (Some(0), Some(90_180)));
    assert_eq!(killing.timestamp_ms, first.timestamp_ms - 16, "line 659 is 16 ms before the death");
    // Oldest: line 88, Cosmic Radiation, 2,175 damage, 88,005 health left.
    let oldest = recap.last().unwrap();
    assert_eq!(
        (oldest.ability.as_str(), oldest.amount, oldest.overkill, oldest.hp),
        ("Cosmic Radiation", 2_175, 0, Some(88_005))
    );
    let fission = recap.iter().filter(|e| e.ability == "Fission").count();
    let radiation = recap.iter().filter(|e| e.ability == "Cosmic Radiation").count();
    assert_eq!((fission, radiation), (8, 4));
    assert!(recap.windows(2).all(|w| w[0].timestamp_ms >= w[1].timestamp_ms), "newest first");
    assert!(recap.iter().all(|e| first.timestamp_ms - e.timestamp_ms <= RECAP_WINDOW_MS));
}

/// Dimensius: Oblivion is the one killing blow of the pull, Devour hurt the raid most.
#[test]
fn the_dimensius_wipes_deadliest_abilities() {
    let f = only_boss_fight("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    let top = &f.damage_taken_by_ability[0];
    assert_eq!((top.ability.as_str(), top.spell_id, top.players), ("Devour", Some(1_243_373), 22));
    let oblivion = f.damage_taken_by_ability.iter().find(|a| a.ability == "Oblivion").unwrap();
    assert_eq!((oblivion.hits, oblivion.players, oblivion.killing_blows), (1, 1, 1));
    let blows: i64 = f.damage_taken_by_ability.iter().map(|a| a.killing_blows).sum();
    assert_eq!(blows, f.deaths.len() as i64);
}

/// The Soul Hunters, a council: three bosses, each with its own health, largest first —
/// Ilyssa Darksorrow (21,177,072), then Velaryn Bloodwrath and Adarus Duskblaze
/// (16,960,608 each, in GUID order: creature 237660 before 237661), who die at
/// 23:12:22.529 and 23:12:04.596. The kill ends them all at 0.
#[test]
fn the_soul_hunters_council_has_three_bosses() {
    let f = only_boss_fight("retail_midnight_12.0_raid_manaforge_soul_hunters_kill_slice.txt");
    assert_eq!(f.kill, Some(true));
    let bosses: Vec<(&str, i64, bool)> =
        f.bosses.iter().map(|b| (b.name.as_str(), b.max_hp, b.died)).collect();
    assert_eq!(
        bosses,
        [
            ("Ilyssa Darksorrow", 21_177_072, false),
            ("Velaryn Bloodwrath", 16_960_608, true),
            ("Adarus Duskblaze", 16_960_608, true),
        ]
    );
    assert!(f.bosses.iter().all(|b| b.current_hp == 0 && b.pct == 0.0));
    assert_eq!(f.boss_pct, Some(0.0));
}

/// Gnomeregan: Mekgineer Thermaplugg (8,446 health) is named by the encounter, so the
/// STX machines with 273,644 are not taken for bosses.
#[test]
fn a_boss_named_by_the_encounter_wins_over_larger_units() {
    let f = only_boss_fight("classic_sod_1.15.1_gnomeregan_raid.txt");
    let names: Vec<&str> = f.bosses.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["Mekgineer Thermaplugg"]);
    assert_eq!((f.bosses[0].max_hp, f.boss_pct), (8_446, Some(0.0)));
}

/// The Shadowlands snippet has no line with an advanced block: the log cannot tell how
/// far Lihuvim got, and says so instead of guessing.
#[test]
fn without_advanced_logging_boss_health_is_null_with_the_reason() {
    let f = only_boss_fight("retail_sl_9.2_raid_wipe_snippet.txt");
    assert_eq!((f.boss_pct, f.boss_pct_missing.as_deref()), (None, Some(ADVANCED_LOGGING_OFF)));
    assert!(f.bosses.is_empty());
    assert_ne!(ADVANCED_LOGGING_OFF, NO_BOSS_SEEN);
}

/// Only boss fights carry boss health; arenas and keys do not.
#[test]
fn other_fights_have_no_boss_health() {
    for name in ["arena_3v3_tww_11.2.0.txt", "retail_tww_11.0.2_dummies_skirmish.txt"] {
        for f in support::fights_of(&wowlogs_testkit::fixture(name)) {
            assert_eq!((f.boss_pct, &f.boss_pct_missing, f.bosses.len()), (None, &None, 0), "{name}");
        }
    }
}

/// Every recap of every fixture keeps its bounds and starts with the killing blow when
/// the log has one.
#[test]
fn every_recap_is_bounded_and_starts_with_the_killing_blow() {
    let mut recaps = 0;
    for path in wowlogs_testkit::all_fixtures() {
        for f in support::fights_of(&path) {
            for death in &f.deaths {
                assert!(death.recap.len() <= RECAP_MAX_ENTRIES);
                if let Some(blow) = &death.killing_blow
                    && let Some(first_damage) =
                        death.recap.iter().find(|e| e.kind == RecapKind::Damage && e.amount > 0)
                {
                    assert_eq!(
                        (first_damage.ability.as_str(), first_damage.amount),
                        (blow.ability.as_str(), blow.amount),
                        "{}: {} at line {}",
                        path.display(),
                        death.name,
                        death.line
                    );
                }
                recaps += usize::from(!death.recap.is_empty());
            }
        }
    }
    assert!(recaps > 20, "{recaps}");
}

/// A v22 spell hit from `src` on `dst` whose advanced block describes `unit` with health
/// `hp` of `max` (42 fields, as on the Midnight fixtures).
fn hit_with_health(
    src: (&str, &str, &str),
    dst: (&str, &str, &str),
    unit: &str,
    hp: i64,
    max: i64,
) -> String {
    format!(
        "SPELL_DAMAGE,{},\"{}\",{},0x80000000,{},\"{}\",{},0x80000000,133,\"Fireball\",0x4,{unit},0000000000000000,\
         {hp},{max},0,0,0,0,0,0,0,0,0,0,0.0,0.0,0,0.0,70,100,100,-1,4,0,0,0,nil,nil,nil,ST",
        src.0, src.1, src.2, dst.0, dst.1, dst.2
    )
}

const HERO: (&str, &str, &str) = ("Player-1-HERO", "Hero", "0x511");

/// A crafted pull with a thousand large creatures keeps a bounded number of them and
/// still finds the largest.
#[test]
fn boss_tracking_is_bounded_by_the_largest_creatures() {
    let guids: Vec<String> = (0..1000).map(|i| format!("Creature-0-1-1-1-{}-{i:04}", 5000 + i)).collect();
    let mut lines = vec![(0, "ENCOUNTER_START,9,\"Council of Many\",16,20,2657".to_string())];
    for (i, guid) in guids.iter().enumerate() {
        let creature = (guid.as_str(), "Add", "0xa48");
        lines.push((1, hit_with_health(HERO, creature, guid, 500, 1000 + i as i64)));
    }
    lines.push((2, "ENCOUNTER_END,9,\"Council of Many\",16,20,0,2000".to_string()));
    let (fights, _, _) = support::run(&support::log(&lines));
    let f = &fights[0];
    assert_eq!(f.bosses.len(), wowlogs_encounters::bosses::MAX_BOSSES);
    assert_eq!(f.bosses[0].max_hp, 1999, "the largest creature is kept");
    assert!(f.bosses.iter().all(|b| b.current_hp == 500));
}

/// A player hit 150 times in one second keeps the last 100 hits in the recap, the
/// killing blow first.
#[test]
fn a_recap_keeps_the_newest_lines_up_to_its_bound() {
    let boss = ("Creature-0-1-1-1-100-B", "Boss", "0xa48");
    let mut lines = vec![(0, "ENCOUNTER_START,9,\"Boss\",16,20,2657".to_string())];
    for i in 0..150 {
        lines.push((1, hit_with_health(boss, HERO, HERO.0, 1000 - i, 1000)));
    }
    lines.push((
        1,
        format!("UNIT_DIED,0000000000000000,nil,0x80000000,0x80000000,{},\"Hero\",0x511,0x0,0", HERO.0),
    ));
    lines.push((2, "ENCOUNTER_END,9,\"Boss\",16,20,0,2000".to_string()));
    let (fights, _, _) = support::run(&support::log(&lines));
    let recap = &fights[0].deaths[0].recap;
    assert_eq!(recap.len(), RECAP_MAX_ENTRIES);
    assert_eq!((recap[0].hp, recap[99].hp), (Some(851), Some(950)), "hits 150 back to 51");
    // Only the player's health was written, never the boss's: the log cannot tell.
    assert_eq!((fights[0].boss_pct, fights[0].boss_pct_missing.as_deref()), (None, Some(NO_BOSS_SEEN)));
}

/// Gnomeregan: Meerah's Kick interrupts STX-98/PO's Toxic Ventilation at 19:58:09.692 and
/// again at 19:58:31.108 (the log's first two SPELL_INTERRUPT lines); the fight is in
/// the zone the log entered at 19:22:59.391, `ZONE_CHANGE,90,"Gnomeregan"`.
#[test]
fn interrupts_name_who_stopped_what_and_the_fight_its_zone() {
    let f = only_boss_fight("classic_sod_1.15.1_gnomeregan_raid.txt");
    assert_eq!(f.zone_name.as_deref(), Some("Gnomeregan"));
    let kicks: Vec<_> =
        f.removals.iter().filter(|r| r.kind == wowlogs_schemas::RemovalKind::Interrupt).take(2).collect();
    for kick in &kicks {
        assert_eq!(
            (
                kick.source_name.as_str(),
                kick.ability.as_str(),
                kick.removed.as_str(),
                kick.target_name.as_str()
            ),
            ("Meerah-CrusaderStrike", "Kick", "Toxic Ventilation", "STX-98/PO")
        );
        assert_eq!((kick.spell_id, kick.removed_spell_id), (1767, 438_732));
    }
    assert_eq!(kicks[1].timestamp_ms - kicks[0].timestamp_ms, 21_416, "19:58:09.692 to 19:58:31.108");
    let meerah = f.players.iter().find(|p| p.guid == "Player-5828-01DB541E").unwrap();
    assert!(meerah.interrupts >= 2);
}
