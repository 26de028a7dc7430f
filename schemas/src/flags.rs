//! Interpretation of the unit flag bit field (`0x518`, `0xa48`, ...) written beside every GUID.
//!
//! Bits follow Blizzard's `COMBATLOG_OBJECT_*` constants: affiliation in the low nibble,
//! reaction in the second, control and type above.

/// The unit flags of a source or target, as written in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitFlags(pub u32);

/// Whose side a unit is on, seen from the player who wrote the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reaction {
    Friendly,
    Neutral,
    Hostile,
    Unknown,
}

impl UnitFlags {
    const AFFILIATION_MINE: u32 = 0x0000_0001;
    const REACTION_FRIENDLY: u32 = 0x0000_0010;
    const REACTION_NEUTRAL: u32 = 0x0000_0020;
    const REACTION_HOSTILE: u32 = 0x0000_0040;
    const TYPE_PLAYER: u32 = 0x0000_0400;

    /// The reaction bits of these flags.
    pub fn reaction(self) -> Reaction {
        if self.0 & Self::REACTION_FRIENDLY != 0 {
            Reaction::Friendly
        } else if self.0 & Self::REACTION_HOSTILE != 0 {
            Reaction::Hostile
        } else if self.0 & Self::REACTION_NEUTRAL != 0 {
            Reaction::Neutral
        } else {
            Reaction::Unknown
        }
    }

    /// In the logging player's group: affiliation mine, party or raid (not an outsider).
    pub fn is_grouped(self) -> bool {
        self.0 & 0x7 != 0
    }

    /// True for the player who wrote the log (affiliation "mine" on a player-type unit).
    pub fn is_log_owner(self) -> bool {
        self.0 & Self::AFFILIATION_MINE != 0 && self.0 & Self::TYPE_PLAYER != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_is_read_from_the_second_nibble() {
        assert_eq!(UnitFlags(0x518).reaction(), Reaction::Friendly);
        assert_eq!(UnitFlags(0xa28).reaction(), Reaction::Neutral);
        assert_eq!(UnitFlags(0x548).reaction(), Reaction::Hostile);
        assert_eq!(UnitFlags(0x8000_0000).reaction(), Reaction::Unknown);
    }

    #[test]
    fn log_owner_is_a_player_affiliated_to_me() {
        assert!(UnitFlags(0x511).is_log_owner());
        assert!(!UnitFlags(0x512).is_log_owner());
        assert!(!UnitFlags(0x1111).is_log_owner(), "a pet of mine is not the log owner");
    }
}
