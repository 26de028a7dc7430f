//! Each player's damage and healing done by ability, and the auras they had: the sums
//! agree with the players' totals, every listed ability agrees with a calculation from
//! the raw text on every real log, and an aura's uptime is read off a real log by hand.

mod support;

use wowlogs_encounters::abilities::{MAX_ABILITIES_PER_PLAYER, MAX_AURAS_PER_PLAYER, MAX_TAKEN_PER_PLAYER};
use wowlogs_schemas::AbilityKind;

/// Every player of every fight of every real log: abilities add up to the player's
/// damage and healing done (when none was cut off), each as the raw text gives it.
#[test]
fn every_players_abilities_match_the_independent_calculation_on_every_real_log() {
    let mut checked = 0;
    for path in wowlogs_testkit::all_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        for fight in support::fights_of(&path) {
            for player in &fight.players {
                let where_ = format!(
                    "{}: {} in {} (line {})",
                    path.display(),
                    player.name,
                    fight.name,
                    fight.start_line
                );
                let (done, taken): (Vec<_>, Vec<_>) =
                    player.abilities.iter().partition(|a| a.kind != AbilityKind::Taken);
                assert!(done.len() <= MAX_ABILITIES_PER_PLAYER, "{where_}");
                assert!(taken.len() <= MAX_TAKEN_PER_PLAYER, "{where_}");
                assert!(player.auras.len() <= MAX_AURAS_PER_PLAYER, "{where_}");
                let sum = |kind: AbilityKind| -> i64 {
                    player.abilities.iter().filter(|a| a.kind == kind).map(|a| a.amount).sum()
                };
                if done.len() < MAX_ABILITIES_PER_PLAYER {
                    assert_eq!(sum(AbilityKind::Damage), player.damage_done, "{where_}: damage");
                    assert_eq!(sum(AbilityKind::Heal), player.healing_done, "{where_}: healing");
                }
                if taken.len() < MAX_TAKEN_PER_PLAYER {
                    assert_eq!(sum(AbilityKind::Taken), player.damage_taken, "{where_}: taken");
                }
                for lines in [&done, &taken] {
                    assert!(lines.windows(2).all(|w| w[0].amount >= w[1].amount), "{where_}: order");
                }
                if player.abilities.is_empty() {
                    continue;
                }
                let lines = fight.start_line as usize..=fight.end_line as usize;
                let expected = support::independent::done_by_ability(&text, lines.clone(), &player.guid);
                let hurt =
                    support::independent::taken_by_ability_of(&text, lines.clone(), Some(&player.guid));
                for ability in &taken {
                    let key =
                        ability.spell_id.map(|id| id.to_string()).unwrap_or_else(|| ability.ability.clone());
                    assert_eq!(
                        Some(&(ability.amount, ability.hits)),
                        hurt.get(&key),
                        "{where_}: taken {}",
                        ability.ability
                    );
                    checked += 1;
                }
                for ability in done {
                    let kind = if ability.kind == AbilityKind::Heal { "heal" } else { "damage" };
                    let spell =
                        ability.spell_id.map(|id| id.to_string()).unwrap_or_else(|| ability.ability.clone());
                    assert_eq!(
                        Some(&(ability.amount, ability.hits, ability.crits)),
                        expected.get(&format!("{kind}:{spell}")),
                        "{where_}: {}",
                        ability.ability
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200, "only {checked} abilities checked");
}

/// Xamymage's auras in the Dimensius wipe, read off the fixture: the pull starts at
/// 23:29:15.002 (line 1); Shimmer is applied at 19.841 (line 231) and removed at 20.487
/// (line 249): 646 ms; Dimensius's Oblivion debuff is applied at 22.675 (line 393) and
/// removed at 24.681 (line 622): 2,006 ms; Arcane Intellect, never applied during the
/// pull, is removed when Xamymage dies at 24.948 (line 657): up since the pull, 9,946 ms.
#[test]
fn xamymages_auras_in_the_dimensius_wipe_are_the_ones_read_off_the_log() {
    let fights = support::fights_of(&wowlogs_testkit::fixture(
        "retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt",
    ));
    let fight = fights.iter().find(|f| f.name.starts_with("Dimensius")).unwrap();
    let mage = fight.players.iter().find(|p| p.name == "Xamymage-Kazzak-EU").unwrap();
    let aura = |spell_id: i32| {
        let a = mage
            .auras
            .iter()
            .find(|a| a.spell_id == spell_id)
            .unwrap_or_else(|| panic!("{spell_id}: {:?}", mage.auras));
        (a.aura.as_str(), a.debuff, a.uptime_ms, a.applications)
    };
    assert_eq!(aura(212_653), ("Shimmer", false, 646, 1));
    assert_eq!(aura(1_229_325), ("Oblivion", true, 2_006, 1));
    assert_eq!(aura(1_459), ("Arcane Intellect", false, 9_946, 0));
}

/// Every aura of every real log is up for some of its fight and no longer than it.
#[test]
fn auras_are_up_from_application_to_removal_within_the_fight() {
    let mut checked = 0;
    for path in wowlogs_testkit::all_fixtures() {
        for fight in support::fights_of(&path) {
            let duration = fight.duration_ms;
            for player in &fight.players {
                for aura in &player.auras {
                    assert!(
                        aura.uptime_ms > 0 && aura.uptime_ms <= duration,
                        "{}: {:?} in {}",
                        player.name,
                        aura,
                        fight.name
                    );
                    checked += 1;
                }
                assert!(player.auras.windows(2).all(|w| w[0].uptime_ms >= w[1].uptime_ms));
            }
        }
    }
    assert!(checked > 50, "only {checked} auras checked");
}
