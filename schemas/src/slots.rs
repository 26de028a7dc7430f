//! Equipment slots: the position of an item in `COMBATANT_INFO`'s equipment list, its
//! name, and whether it counts towards a character's item level.
//!
//! Source: the game's inventory slot ids (`INVSLOT_HEAD` = 1 … `INVSLOT_TABARD` = 19 in
//! the client's FrameXML `Constants.lua`; warcraft.wiki.gg "InventorySlotId").
//! `COMBATANT_INFO` writes one item per slot in that order, read off the fixtures:
//! - Classic (SoD 1.15.1) writes 19 items: the 18th the ranged weapon or relic, the
//!   19th the tabard (item 5976, Guild Tabard, item level 1).
//! - Retail (Shadowlands 9.2 to Midnight 12.0) writes 18: no ranged slot (gone since
//!   Mists of Pandaria), so the 18th is the tabard (5976 Guild Tabard in the 11.2 arena,
//!   19031 Frostwolf Battle Tabard at item level 12 in the 9.2 raid).
//!
//! The 4th is the shirt in both. The character sheet's item level leaves out the shirt
//! and the tabard (they have no stats), and empty slots.

/// One equipment slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The game's inventory slot id (1 to 19).
    pub id: u8,
    /// The name the character sheet shows.
    pub name: &'static str,
    /// Whether the item's level counts towards the character's (shirt and tabard do not).
    pub counts: bool,
}

/// Every slot, in `COMBATANT_INFO`'s order (index = slot id - 1).
pub const SLOTS: [Slot; 19] = [
    Slot { id: 1, name: "Head", counts: true },
    Slot { id: 2, name: "Neck", counts: true },
    Slot { id: 3, name: "Shoulder", counts: true },
    Slot { id: 4, name: "Shirt", counts: false },
    Slot { id: 5, name: "Chest", counts: true },
    Slot { id: 6, name: "Waist", counts: true },
    Slot { id: 7, name: "Legs", counts: true },
    Slot { id: 8, name: "Feet", counts: true },
    Slot { id: 9, name: "Wrist", counts: true },
    Slot { id: 10, name: "Hands", counts: true },
    Slot { id: 11, name: "Finger 1", counts: true },
    Slot { id: 12, name: "Finger 2", counts: true },
    Slot { id: 13, name: "Trinket 1", counts: true },
    Slot { id: 14, name: "Trinket 2", counts: true },
    Slot { id: 15, name: "Back", counts: true },
    Slot { id: 16, name: "Main Hand", counts: true },
    Slot { id: 17, name: "Off Hand", counts: true },
    // Ranged weapons and relics until Mists of Pandaria; empty in retail since.
    Slot { id: 18, name: "Ranged", counts: true },
    Slot { id: 19, name: "Tabard", counts: false },
];

/// The slot of the `index`-th item (from 0) of a `COMBATANT_INFO` list of `len` items:
/// in a retail list of 18 the last is the tabard; `None` past the list's slots.
pub fn slot_at(index: usize, len: usize) -> Option<&'static Slot> {
    const RANGED: usize = 17;
    match (len, index) {
        _ if index >= len => None,
        (18, RANGED) => SLOTS.last(),
        _ => SLOTS.get(index),
    }
}

/// The slot with this inventory slot id.
pub fn slot(id: u8) -> Option<&'static Slot> {
    SLOTS.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ids_follow_the_list_order_from_one() {
        for (index, slot) in SLOTS.iter().enumerate() {
            assert_eq!(usize::from(slot.id), index + 1, "{}", slot.name);
            assert_eq!(slot_at(index, 19), Some(slot));
            assert_eq!(super::slot(slot.id), Some(slot));
        }
        assert_eq!(slot_at(19, 19), None);
        assert_eq!(slot(0), None);
    }

    #[test]
    fn a_retail_list_of_eighteen_ends_with_the_tabard() {
        assert_eq!(slot_at(16, 18).map(|s| s.name), Some("Off Hand"));
        assert_eq!(slot_at(17, 18).map(|s| s.name), Some("Tabard"));
        assert_eq!(slot_at(17, 19).map(|s| s.name), Some("Ranged"));
        assert_eq!(slot_at(18, 18), None);
    }

    #[test]
    fn only_the_shirt_and_the_tabard_do_not_count() {
        let cosmetic: Vec<&str> = SLOTS.iter().filter(|s| !s.counts).map(|s| s.name).collect();
        assert_eq!(cosmetic, ["Shirt", "Tabard"]);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = SLOTS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SLOTS.len());
    }
}
