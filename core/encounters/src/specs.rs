//! Specialization ids (`COMBATANT_INFO`'s spec field) to class, spec name and role, and
//! the classes' ids.
//!
//! Source: the game client's `ChrSpecialization` table (the ids the client writes into
//! `COMBATANT_INFO`, and each spec's `Role`: 0 tank, 1 healer, 2 damage); each id below
//! is also seen in a real log where noted. Augmentation (a damage dealer that empowers
//! others) is a damage role there, as in the group finder.

/// What a specialization does in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Tank,
    Healer,
    Damage,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Tank, Role::Healer, Role::Damage];

    /// `Tank`, `Healer`, `Damage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Tank => "Tank",
            Role::Healer => "Healer",
            Role::Damage => "Damage",
        }
    }

    /// A role by name, any case; `DPS` is another name for `Damage`.
    pub fn parse(name: &str) -> Option<Role> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("dps") {
            return Some(Role::Damage);
        }
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(name))
    }
}

/// `(spec id, class, spec, role)` for every retail specialization.
const SPECS: [(i32, &str, &str, Role); 40] = [
    (250, "Death Knight", "Blood", Role::Tank),
    (251, "Death Knight", "Frost", Role::Damage),
    (252, "Death Knight", "Unholy", Role::Damage),
    (577, "Demon Hunter", "Havoc", Role::Damage),
    (581, "Demon Hunter", "Vengeance", Role::Tank),
    // Midnight's third Demon Hunter spec. Seen in the Soul Hunters kill fixture: the
    // player with spec 1480 casts Void Metamorphosis, Consume and Devour, its spells.
    (1480, "Demon Hunter", "Devourer", Role::Damage),
    (102, "Druid", "Balance", Role::Damage),
    (103, "Druid", "Feral", Role::Damage),
    (104, "Druid", "Guardian", Role::Tank),
    (105, "Druid", "Restoration", Role::Healer),
    (1467, "Evoker", "Devastation", Role::Damage),
    (1468, "Evoker", "Preservation", Role::Healer),
    (1473, "Evoker", "Augmentation", Role::Damage),
    (253, "Hunter", "Beast Mastery", Role::Damage),
    (254, "Hunter", "Marksmanship", Role::Damage),
    (255, "Hunter", "Survival", Role::Damage),
    (62, "Mage", "Arcane", Role::Damage),
    (63, "Mage", "Fire", Role::Damage),
    (64, "Mage", "Frost", Role::Damage),
    (268, "Monk", "Brewmaster", Role::Tank),
    (269, "Monk", "Windwalker", Role::Damage),
    (270, "Monk", "Mistweaver", Role::Healer),
    (65, "Paladin", "Holy", Role::Healer),
    (66, "Paladin", "Protection", Role::Tank),
    (70, "Paladin", "Retribution", Role::Damage),
    (256, "Priest", "Discipline", Role::Healer),
    (257, "Priest", "Holy", Role::Healer),
    (258, "Priest", "Shadow", Role::Damage),
    (259, "Rogue", "Assassination", Role::Damage),
    (260, "Rogue", "Outlaw", Role::Damage),
    (261, "Rogue", "Subtlety", Role::Damage),
    (262, "Shaman", "Elemental", Role::Damage),
    (263, "Shaman", "Enhancement", Role::Damage),
    (264, "Shaman", "Restoration", Role::Healer),
    (265, "Warlock", "Affliction", Role::Damage),
    (266, "Warlock", "Demonology", Role::Damage),
    (267, "Warlock", "Destruction", Role::Damage),
    (71, "Warrior", "Arms", Role::Damage),
    (72, "Warrior", "Fury", Role::Damage),
    (73, "Warrior", "Protection", Role::Tank),
];

/// The class of a specialization; `None` for 0 (Classic has no specs) and unknown ids.
pub fn class_of_spec(spec_id: i32) -> Option<&'static str> {
    SPECS.iter().find(|s| s.0 == spec_id).map(|s| s.1)
}

/// The name of a specialization (`Holy`, `Marksmanship`, ...).
pub fn spec_name(spec_id: i32) -> Option<&'static str> {
    SPECS.iter().find(|s| s.0 == spec_id).map(|s| s.2)
}

/// The role of a specialization; `None` for 0 (Classic) and unknown ids.
pub fn role_of_spec(spec_id: i32) -> Option<Role> {
    SPECS.iter().find(|s| s.0 == spec_id).map(|s| s.3)
}

/// The classes by their ids (the client's `ChrClasses` table: what the Battle.net game
/// data API calls `playable_class.id`, and the class field of character APIs).
const CLASSES: [(u8, &str); 13] = [
    (1, "Warrior"),
    (2, "Paladin"),
    (3, "Hunter"),
    (4, "Rogue"),
    (5, "Priest"),
    (6, "Death Knight"),
    (7, "Shaman"),
    (8, "Mage"),
    (9, "Warlock"),
    (10, "Monk"),
    (11, "Druid"),
    (12, "Demon Hunter"),
    (13, "Evoker"),
];

/// A class's name by its id (`1` → `Warrior`).
pub fn class_name(class_id: u8) -> Option<&'static str> {
    CLASSES.iter().find(|c| c.0 == class_id).map(|c| c.1)
}

/// A class as the tables write it (`Death Knight`), from any spelling a user or a log
/// uses: any case, with or without spaces or underscores (`DEATHKNIGHT`, `death_knight`).
pub fn class_named(name: &str) -> Option<&'static str> {
    let folded =
        |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let wanted = folded(name);
    CLASSES.iter().map(|c| c.1).find(|class| folded(class) == wanted)
}

/// Every known `(spec id, class, spec, role)`, for generators and documentation.
pub fn all_specs() -> &'static [(i32, &'static str, &'static str, Role)] {
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
    fn roles_follow_the_client_table() {
        let tanks: Vec<i32> = SPECS.iter().filter(|s| s.3 == Role::Tank).map(|s| s.0).collect();
        assert_eq!(tanks, [250, 581, 104, 268, 66, 73]);
        let healers: Vec<i32> = SPECS.iter().filter(|s| s.3 == Role::Healer).map(|s| s.0).collect();
        assert_eq!(healers, [105, 1468, 270, 65, 256, 257, 264]);
        assert_eq!(role_of_spec(1473), Some(Role::Damage), "Augmentation");
        assert_eq!(role_of_spec(0), None);
        assert_eq!(Role::parse("tank"), Some(Role::Tank));
        assert_eq!(Role::parse("DPS"), Some(Role::Damage));
        assert_eq!(Role::parse("healer "), Some(Role::Healer));
        assert_eq!(Role::parse("support"), None);
    }

    #[test]
    fn every_class_of_a_spec_has_an_id_and_any_spelling_finds_it() {
        for spec in SPECS {
            assert!(CLASSES.iter().any(|c| c.1 == spec.1), "{}", spec.1);
        }
        assert_eq!(class_name(6), Some("Death Knight"));
        assert_eq!(class_name(14), None);
        assert_eq!(class_named("DEATHKNIGHT"), Some("Death Knight"));
        assert_eq!(class_named("demon_hunter"), Some("Demon Hunter"));
        assert_eq!(class_named("Warrior"), Some("Warrior"));
        assert_eq!(class_named("Bard"), None);
    }

    #[test]
    fn every_spec_id_is_listed_once() {
        let mut ids: Vec<i32> = SPECS.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), SPECS.len());
    }
}
