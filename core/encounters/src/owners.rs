//! Who owns which pet, guardian, totem or vehicle, so their numbers count for a player.

use rustc_hash::FxHashMap;
use wowlogs_schemas::{CombatEvent, Payload};

/// Pet-to-owner links learned from `SPELL_SUMMON`/`SPELL_CREATE` (source summons target)
/// and from the advanced block's owner GUID.
#[derive(Debug, Default)]
pub struct Owners {
    owner_of: FxHashMap<String, String>,
}

/// Summon chains are short (a pet's totem); the cap guards against cycles in bad logs.
const MAX_CHAIN: usize = 8;

impl Owners {
    /// Learns ownership from one event.
    pub fn observe(&mut self, event: &CombatEvent) {
        if let (Payload::Summon(_), Some(source), Some(target)) =
            (&event.payload, &event.source, &event.target)
        {
            self.link(&target.guid, &source.guid);
        }
        if let Some(advanced) = &event.advanced {
            self.link(&advanced.guid, &advanced.owner_guid);
        }
    }

    fn link(&mut self, unit: &str, owner: &str) {
        if unit.is_empty() || owner.is_empty() || unit == owner || unit.starts_with("Player-") {
            return;
        }
        if self.owner_of.get(unit).is_some_and(|known| known == owner) {
            return;
        }
        self.owner_of.insert(unit.to_string(), owner.to_string());
    }

    /// The player a unit counts for: itself for a player, its owner (transitively) for a
    /// pet or guardian, `None` for everything else.
    pub fn player_of<'a>(&'a self, guid: &'a str) -> Option<&'a str> {
        let mut unit = guid;
        for _ in 0..MAX_CHAIN {
            if unit.starts_with("Player-") {
                return Some(unit);
            }
            unit = self.owner_of.get(unit)?;
        }
        None
    }

    /// Number of known pet links.
    pub fn len(&self) -> usize {
        self.owner_of.len()
    }

    /// True when no pet link is known.
    pub fn is_empty(&self) -> bool {
        self.owner_of.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use wowlogs_schemas::{Summon, Unit};

    fn summon(owner: &str, pet: &str) -> CombatEvent {
        let unit = |guid: &str| Unit { guid: guid.into(), name: String::new(), flags: 0, raid_flags: 0 };
        CombatEvent {
            guild_id: Default::default(),
            log_id: Default::default(),
            line: 1,
            timestamp_ms: 0,
            event_type: Cow::Borrowed("SPELL_SUMMON"),
            source: Some(unit(owner)),
            target: Some(unit(pet)),
            spell: None,
            advanced: None,
            payload: Payload::Summon(Summon {}),
            raw: String::new(),
            extra: Vec::new(),
        }
    }

    #[test]
    fn a_summoned_units_summon_counts_for_the_player() {
        let mut owners = Owners::default();
        owners.observe(&summon("Player-1-A", "Creature-0-1-pet"));
        owners.observe(&summon("Creature-0-1-pet", "Creature-0-1-totem"));
        assert_eq!(owners.player_of("Creature-0-1-totem"), Some("Player-1-A"));
        assert_eq!(owners.player_of("Player-1-B"), Some("Player-1-B"));
        assert_eq!(owners.player_of("Creature-0-1-boss"), None);
    }

    #[test]
    fn an_ownership_cycle_ends_without_a_player() {
        let mut owners = Owners::default();
        owners.observe(&summon("Creature-a", "Creature-b"));
        owners.observe(&summon("Creature-b", "Creature-a"));
        assert_eq!(owners.player_of("Creature-a"), None);
    }
}
