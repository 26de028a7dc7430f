//! Specialization ids (`COMBATANT_INFO`'s spec field) to class and spec names.
//!
//! Source: the game client's `ChrSpecialization` table (the ids the client writes into
//! `COMBATANT_INFO`); each id below is also seen in a real log where noted.

/// `(spec id, class, spec)` for every retail specialization.
const SPECS: [(i32, &str, &str); 40] = [
    (250, "Death Knight", "Blood"),
    (251, "Death Knight", "Frost"),
    (252, "Death Knight", "Unholy"),
    (577, "Demon Hunter", "Havoc"),
    (581, "Demon Hunter", "Vengeance"),
    // Midnight's third Demon Hunter spec. Seen in the Soul Hunters kill fixture: the
    // player with spec 1480 casts Void Metamorphosis, Consume and Devour, its spells.
    (1480, "Demon Hunter", "Devourer"),
    (102, "Druid", "Balance"),
    (103, "Druid", "Feral"),
    (104, "Druid", "Guardian"),
    (105, "Druid", "Restoration"),
    (1467, "Evoker", "Devastation"),
    (1468, "Evoker", "Preservation"),
    (1473, "Evoker", "Augmentation"),
    (253, "Hunter", "Beast Mastery"),
    (254, "Hunter", "Marksmanship"),
    (255, "Hunter", "Survival"),
    (62, "Mage", "Arcane"),
    (63, "Mage", "Fire"),
    (64, "Mage", "Frost"),
    (268, "Monk", "Brewmaster"),
    (269, "Monk", "Windwalker"),
    (270, "Monk", "Mistweaver"),
    (65, "Paladin", "Holy"),
    (66, "Paladin", "Protection"),
    (70, "Paladin", "Retribution"),
    (256, "Priest", "Discipline"),
    (257, "Priest", "Holy"),
    (258, "Priest", "Shadow"),
    (259, "Rogue", "Assassination"),
    (260, "Rogue", "Outlaw"),
    (261, "Rogue", "Subtlety"),
    (262, "Shaman", "Elemental"),
    (263, "Shaman", "Enhancement"),
    (264, "Shaman", "Restoration"),
    (265, "Warlock", "Affliction"),
    (266, "Warlock", "Demonology"),
    (267, "Warlock", "Destruction"),
    (71, "Warrior", "Arms"),
    (72, "Warrior", "Fury"),
    (73, "Warrior", "Protection"),
];

/// The class of a specialization; `None` for 0 (Classic has no specs) and unknown ids.
pub fn class_of_spec(spec_id: i32) -> Option<&'static str> {
    SPECS.iter().find(|(id, _, _)| *id == spec_id).map(|(_, class, _)| *class)
}

/// The name of a specialization (`Holy`, `Marksmanship`, ...).
pub fn spec_name(spec_id: i32) -> Option<&'static str> {
    SPECS.iter().find(|(id, _, _)| *id == spec_id).map(|(_, _, spec)| *spec)
}

/// Every known `(spec id, class, spec)`, for generators and documentation.
pub fn all_specs() -> &'static [(i32, &'static str, &'static str)] {
    &SPECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_ids_map_to_their_class() {
        assert_eq!(class_of_spec(257), Some("Priest"));
        assert_eq!(spec_name(254), Some("Marksmanship"));
        assert_eq!(class_of_spec(0), None);
        assert_eq!((class_of_spec(1480), spec_name(1480)), (Some("Demon Hunter"), Some("Devourer")));
    }

    #[test]
    fn every_spec_id_is_listed_once() {
        let mut ids: Vec<i32> = SPECS.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), SPECS.len());
    }
}
