//! How far the boss got: each boss unit's health when a pull ended.
//!
//! The log never says which units are the bosses. The advanced-logging block of a line
//! gives the current and maximum health of one unit, so every hostile creature seen in
//! a boss fight has its last health here. The bosses among them are, in order:
//! - the units whose name is a word of the encounter's (`Dimensius` in
//!   `Dimensius, the All-Devouring`, `Mekgineer Thermaplugg`);
//! - else (a council such as `The Soul Hunters`) the units with at least half the
//!   largest maximum health of the fight;
//!
//! and of either, those with at least half the largest maximum health of the chosen
//! ones (a boss's same-named images stay out). Both rules read the log alone; checked on
//! the real fixtures (tests/bosses.rs).

use rustc_hash::FxHashMap;
use wowlogs_schemas::{BossHealth, CombatEvent, Payload, Reaction, UnitFlags};

/// Hostile creatures whose health one fight keeps; past it a new unit takes the place of
/// the tracked one with the least maximum health if its own is larger (crafted logs with
/// millions of creatures stay bounded; a real pull has tens).
pub const MAX_TRACKED_UNITS: usize = 256;
/// Bosses listed per fight (a council has up to 5).
pub const MAX_BOSSES: usize = 8;

/// Why a boss fight has no boss health.
pub const ADVANCED_LOGGING_OFF: &str = "advanced_logging_off";
pub const NO_BOSS_SEEN: &str = "no_boss_seen";

#[derive(Debug)]
struct Tracked {
    name: String,
    current: i64,
    max: i64,
    died: bool,
    /// The name is a word of the encounter's name.
    named: bool,
}

/// Follows the health of one boss fight's hostile creatures.
#[derive(Debug)]
pub struct BossTracker {
    fight_name: String,
    units: FxHashMap<String, Tracked>,
    /// Some line of the fight carried an advanced block with health.
    health_seen: bool,
}

/// The bosses' health when the pull ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PullEnd {
    /// Combined: the bosses' remaining health over their maximum health, in percent.
    pub pct: Option<f64>,
    /// Why `pct` is `None`.
    pub missing: Option<&'static str>,
    pub bosses: Vec<BossHealth>,
}

impl BossTracker {
    pub fn new(fight_name: &str) -> Self {
        Self { fight_name: fight_name.to_string(), units: FxHashMap::default(), health_seen: false }
    }

    /// Takes one line of the fight.
    pub fn observe(&mut self, event: &CombatEvent) {
        if let Payload::Death(death) = &event.payload
            && !death.unconscious_on_death
            && let Some(unit) = event.target.as_ref().and_then(|t| self.units.get_mut(&t.guid))
        {
            unit.died = true;
            unit.current = 0;
            return;
        }
        let Some(advanced) = &event.advanced else { return };
        if advanced.max_hp <= 0 {
            return;
        }
        self.health_seen = true;
        // Most advanced blocks describe players: the prefix tells, without parsing.
        let creature = advanced.guid.starts_with("Creature-") || advanced.guid.starts_with("Vehicle-");
        if !creature || !advanced.owner_guid.is_empty() {
            return;
        }
        let Some(unit) =
            [&event.source, &event.target].into_iter().flatten().find(|u| u.guid == advanced.guid)
        else {
            return;
        };
        if UnitFlags(unit.flags).reaction() != Reaction::Hostile {
            return;
        }
        if let Some(tracked) = self.units.get_mut(&advanced.guid) {
            tracked.current = advanced.current_hp.max(0);
            tracked.max = advanced.max_hp;
            if tracked.name.is_empty() {
                tracked.name = unit.name.clone();
            }
            return;
        }
        let named = is_word_of(&unit.name, &self.fight_name);
        if self.units.len() >= MAX_TRACKED_UNITS {
            // Make room by the least of the unnamed units, if the newcomer is larger.
            let least = self
                .units
                .iter()
                .filter(|(_, t)| !t.named)
                .min_by_key(|(_, t)| t.max)
                .map(|(guid, t)| (guid.clone(), t.max));
            match least {
                Some((guid, max)) if named || advanced.max_hp > max => {
                    self.units.remove(&guid);
                }
                _ => return,
            }
        }
        self.units.insert(
            advanced.guid.clone(),
            Tracked {
                name: unit.name.clone(),
                current: advanced.current_hp.max(0),
                max: advanced.max_hp,
                died: false,
                named,
            },
        );
    }

    /// The bosses when the pull ended; on a kill every boss is at 0 (the game says they
    /// were defeated; the last health written may precede the killing blow).
    pub fn finish(self, kill: Option<bool>) -> PullEnd {
        if !self.health_seen {
            return PullEnd { missing: Some(ADVANCED_LOGGING_OFF), ..PullEnd::default() };
        }
        let named = self.units.values().any(|t| t.named);
        let mut chosen: Vec<(String, Tracked)> =
            self.units.into_iter().filter(|(_, t)| t.named || !named).collect();
        let Some(largest) = chosen.iter().map(|(_, t)| t.max).max() else {
            return PullEnd { missing: Some(NO_BOSS_SEEN), ..PullEnd::default() };
        };
        chosen.retain(|(_, t)| t.max.saturating_mul(2) >= largest);
        chosen.sort_by(|(a, x), (b, y)| y.max.cmp(&x.max).then_with(|| a.cmp(b)));
        chosen.truncate(MAX_BOSSES);
        let won = kill == Some(true);
        let bosses: Vec<BossHealth> = chosen
            .into_iter()
            .map(|(guid, t)| {
                let current = if won || t.died { 0 } else { t.current.min(t.max) };
                BossHealth {
                    npc_id: npc_id(&guid),
                    guid,
                    name: t.name,
                    current_hp: current,
                    max_hp: t.max,
                    pct: percent(current, t.max),
                    died: t.died,
                }
            })
            .collect();
        let current: i64 = bosses.iter().map(|b| b.current_hp).sum();
        let max: i64 = bosses.iter().map(|b| b.max_hp).sum();
        PullEnd { pct: Some(percent(current, max)), missing: None, bosses }
    }
}

/// `current` of `max`, in percent (0 without a maximum): a boss's `pct` and the fight's
/// `boss_pct`, and what readers of the stored health compute again.
pub fn percent(current: i64, max: i64) -> f64 {
    if max > 0 { 100.0 * current as f64 / max as f64 } else { 0.0 }
}

/// The creature id of a creature or vehicle GUID (`Creature-0-3061-2810-120284-241517-…`).
pub fn npc_id(guid: &str) -> Option<i32> {
    let rest = guid.strip_prefix("Creature-").or_else(|| guid.strip_prefix("Vehicle-"))?;
    rest.split('-').nth(4)?.parse().ok()
}

/// Whether `name` is one or more whole words of `text` (`Dimensius` of
/// `Dimensius, the All-Devouring`; not `Dimensius` of `Dimensiusx`).
fn is_word_of(name: &str, text: &str) -> bool {
    if name.chars().count() < 4 {
        return false;
    }
    let is_word_char = |c: char| c.is_alphanumeric() || c == '\'';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creature_id_is_the_fifth_part_after_the_kind() {
        assert_eq!(npc_id("Creature-0-3061-2810-120284-241517-000013A815"), Some(241517));
        assert_eq!(npc_id("Vehicle-0-5251-90-8052-218538-0000007700"), Some(218538));
        assert_eq!(npc_id("Player-1084-0A6B5C3D"), None);
        assert_eq!(npc_id("Pet-0-3061-2810-120284-165189-0103CE0B1A"), None);
        assert_eq!(npc_id("Creature-0-1"), None);
    }

    #[test]
    fn a_boss_is_named_by_whole_words_of_the_encounter() {
        assert!(is_word_of("Dimensius", "Dimensius, the All-Devouring"));
        assert!(is_word_of("Mekgineer Thermaplugg", "Mekgineer Thermaplugg"));
        assert!(is_word_of("Lihuvim", "Lihuvim, Principal Architect"));
        assert!(!is_word_of("Dimensius", "Dimensiusx"));
        assert!(!is_word_of("Soul", "The Soul's Hunters"));
        assert!(!is_word_of("The", "The Soul Hunters"), "three letters are too few to tell by");
        assert!(!is_word_of("", "The Soul Hunters"));
    }
}
