//! Difficulty ids (`ENCOUNTER_START`'s `difficultyID`) to the names raiders use.
//!
//! Source: the game's `DifficultyID` table (wowpedia/warcraft.wiki.gg "DifficultyID"),
//! cross-checked against two public code bases that carry it (a combat-log parser's
//! `DifficultyId` enum and a server emulator's `Difficulty` enum). Only ids both agree on
//! are listed; any other id is shown as its number (`difficulty 198`) rather than guessed.
//! Seen in the fixtures: 14 (both Midnight raid logs).

/// `(id, name)` of every known difficulty.
const DIFFICULTIES: [(i32, &str); 21] = [
    (1, "Normal"),
    (2, "Heroic"),
    (3, "10 Player"),
    (4, "25 Player"),
    (5, "10 Player Heroic"),
    (6, "25 Player Heroic"),
    (7, "Looking For Raid"),
    (8, "Mythic Keystone"),
    (9, "40 Player"),
    (11, "Heroic Scenario"),
    (12, "Normal Scenario"),
    (14, "Normal"),
    (15, "Heroic"),
    (16, "Mythic"),
    (17, "Looking For Raid"),
    (18, "Event"),
    (19, "Event"),
    (20, "Event Scenario"),
    (23, "Mythic"),
    (24, "Timewalking"),
    (33, "Timewalking"),
];

/// The name of a difficulty id, if it is a known one.
pub fn difficulty_name(id: i32) -> Option<&'static str> {
    DIFFICULTIES.iter().find(|(known, _)| *known == id).map(|(_, name)| *name)
}

/// How a fight's difficulty reads: its name, or `difficulty N` for an id not listed.
pub fn difficulty_label(id: i32) -> String {
    difficulty_name(id).map_or_else(|| format!("difficulty {id}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raid_and_dungeon_difficulties_read_as_raiders_name_them() {
        assert_eq!(difficulty_name(14), Some("Normal"));
        assert_eq!(difficulty_name(16), Some("Mythic"));
        assert_eq!(difficulty_name(17), Some("Looking For Raid"));
        assert_eq!(difficulty_name(8), Some("Mythic Keystone"));
        assert_eq!(difficulty_name(23), Some("Mythic"));
    }

    #[test]
    fn an_id_not_listed_is_shown_as_its_number_never_guessed() {
        assert_eq!(difficulty_name(198), None);
        assert_eq!(difficulty_label(198), "difficulty 198");
        assert_eq!(difficulty_label(15), "Heroic");
    }

    #[test]
    fn every_difficulty_id_is_listed_once() {
        let mut ids: Vec<i32> = DIFFICULTIES.iter().map(|d| d.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), DIFFICULTIES.len());
    }
}
