//! What PvP fights need beyond start and end events: which instances are arenas and
//! battlegrounds, the zone a unit's GUID was created in, and which side of a match each
//! player is on and whether a side has been wiped out.

use rustc_hash::FxHashSet;
use wowlogs_schemas::{CombatEvent, Reaction, Unit, UnitFlags};

/// Arena instances (map ids), retail and Classic: Nagrand Arena, Blade's Edge, Ruins of
/// Lordaeron, Dalaran Sewers, Ring of Valor, Tol'viron, Tiger's Peak, Black Rook Hold,
/// Ashamane's Fall, Mugambala, Hook Point, Kul Tiras, Robodrome, Empyrean Domain, Maldraxxus
/// Coliseum, Enigma Crucible, Nokhudon Proving Grounds, Cage of Carnage, and their newer
/// versions.
pub const ARENA_INSTANCES: &[i32] = &[
    559, 562, 572, 617, 618, 980, 1134, 1504, 1505, 1552, 1672, 1825, 1911, 2167, 2373, 2509, 2547, 2563,
    2759,
];

/// Battleground instances (map ids), retail and Classic: Alterac Valley, Warsong Gulch,
/// Arathi Basin, Eye of the Storm, Strand of the Ancients, Isle of Conquest, Twin Peaks,
/// Battle for Gilneas, Silvershard Mines, Temple of Kotmogu, Deepwind Gorge, Seething
/// Shore, Wintergrasp (epic), Ashran, Deephaul Ravine, and the rated and remade versions.
pub const BATTLEGROUND_INSTANCES: &[i32] = &[
    30, 489, 529, 566, 607, 628, 726, 727, 761, 968, 998, 1105, 1191, 1280, 1681, 1803, 2106, 2107, 2118,
    2177, 2197, 2245, 2345, 2656,
];

/// The names of the arenas Classic clients enter without writing a zone change.
pub fn arena_name(instance_id: i32) -> Option<&'static str> {
    Some(match instance_id {
        559 => "Nagrand Arena",
        562 => "Blade's Edge Arena",
        572 => "Ruins of Lordaeron",
        617 => "Dalaran Sewers",
        618 => "The Ring of Valor",
        _ => return None,
    })
}

pub fn is_arena(instance_id: i32) -> bool {
    ARENA_INSTANCES.contains(&instance_id)
}

pub fn is_battleground(instance_id: i32) -> bool {
    BATTLEGROUND_INSTANCES.contains(&instance_id)
}

/// The map a creature, pet or vehicle was created in: `Creature-0-4391-559-…` is 559.
pub fn created_in(guid: &str) -> Option<i32> {
    let rest = ["Creature-", "Pet-", "Vehicle-"].iter().find_map(|kind| guid.strip_prefix(kind))?;
    rest.split('-').nth(2)?.parse().ok()
}

/// The arena a line's units were created in, if any: the evidence, in logs whose clients
/// write no arena events, that the logging player is in an arena.
pub fn arena_in(event: &CombatEvent) -> Option<i32> {
    [event.source.as_ref(), event.target.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|unit| created_in(&unit.guid).filter(|&map| is_arena(map)))
}

/// One side of a match, seen from the logging player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The logging player's group.
    Own,
    Enemy,
}

/// The players of a match without team records (Classic arenas), sorted into sides by
/// their unit flags: grouped friendly players are the logging player's side, hostile
/// players the enemy; others (friendly outsiders) are not in the match.
#[derive(Debug, Default)]
pub struct Sides {
    own: FxHashSet<String>,
    enemy: FxHashSet<String>,
    dead: FxHashSet<String>,
}

impl Sides {
    /// The side of a unit, by its flags.
    pub fn side_of(unit: &Unit) -> Option<Side> {
        if !unit.is_player() {
            return None;
        }
        let flags = UnitFlags(unit.flags);
        match flags.reaction() {
            Reaction::Hostile => Some(Side::Enemy),
            Reaction::Friendly if flags.is_grouped() => Some(Side::Own),
            _ => None,
        }
    }

    /// Learns the players of a line. A dead player stays dead for the match: damage over
    /// time still ticks in their name after they died (no one is resurrected in an arena).
    pub fn observe(&mut self, event: &CombatEvent) {
        for unit in [event.source.as_ref(), event.target.as_ref()].into_iter().flatten() {
            match Self::side_of(unit) {
                Some(Side::Own) => self.own.insert(unit.guid.clone()),
                Some(Side::Enemy) => self.enemy.insert(unit.guid.clone()),
                None => false,
            };
        }
    }

    /// Records a player's death; returns the side that is now wiped out, if one is.
    pub fn died(&mut self, unit: &Unit) -> Option<Side> {
        Self::side_of(unit)?;
        self.dead.insert(unit.guid.clone());
        let wiped = |players: &FxHashSet<String>| {
            !players.is_empty() && players.iter().all(|p| self.dead.contains(p))
        };
        if wiped(&self.own) {
            Some(Side::Own)
        } else if wiped(&self.enemy) {
            Some(Side::Enemy)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_tells_the_map_its_unit_was_created_in() {
        assert_eq!(created_in("Creature-0-4391-559-4212-510-00002BF622"), Some(559));
        assert_eq!(created_in("Pet-0-4390-572-19853-17252-01004BFD4E"), Some(572));
        assert_eq!(created_in("Player-4395-01C5EEA8"), None);
        assert!(is_arena(559) && !is_arena(489) && is_battleground(489));
    }

    fn line(source: &Unit, target: &Unit) -> CombatEvent {
        CombatEvent {
            guild_id: Default::default(),
            log_id: Default::default(),
            line: 1,
            timestamp_ms: 0,
            event_type: std::borrow::Cow::Borrowed("SPELL_DAMAGE"),
            source: Some(source.clone()),
            target: Some(target.clone()),
            spell: None,
            advanced: None,
            payload: wowlogs_schemas::Payload::None,
            raw: String::new(),
            extra: Vec::new(),
        }
    }

    fn player(guid: &str, flags: u32) -> Unit {
        Unit { guid: guid.into(), name: guid.into(), flags, raid_flags: 0 }
    }

    #[test]
    fn a_side_is_wiped_out_when_every_player_seen_on_it_died() {
        let mut sides = Sides::default();
        let (me, mate, foe1, foe2) = (
            player("Player-1-A", 0x511),
            player("Player-1-B", 0x512),
            player("Player-2-C", 0x548),
            player("Player-2-D", 0x10548),
        );
        let outsider = player("Player-3-E", 0x518);
        for (source, target) in [(&me, &foe1), (&mate, &foe2), (&outsider, &outsider)] {
            sides.observe(&line(source, target));
        }
        assert_eq!(sides.died(&foe1), None);
        assert_eq!(sides.died(&outsider), None, "an outsider is not in the match");
        assert_eq!(sides.died(&foe2), Some(Side::Enemy));
        assert_eq!(Sides::side_of(&mate), Some(Side::Own));
    }
}
