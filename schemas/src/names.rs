//! The contract's enums under every name they have: the Rust variant, the Avro symbol
//! and the JSON string (both from serde's `snake_case`, checked equal to [`Named::name`]
//! below), and the ClickHouse `Enum8` value. One list per enum, here; the migrations are
//! checked against [`Named::enum8_definition`].

use crate::{AbilityKind, FightKind, RecapKind, RemovalKind, UploadState};

/// An enum of the contract with stable names and `Enum8` codes.
pub trait Named: Copy + PartialEq + Sized + 'static {
    /// Every variant, in `Enum8` order (codes 1, 2, …).
    const ALL: &'static [Self];

    /// The stable lower-case name: the JSON string, the Avro symbol, the `Enum8` label.
    fn name(self) -> &'static str;

    /// The ClickHouse `Enum8` value.
    fn code(self) -> i8 {
        let index = Self::ALL.iter().position(|&v| v == self).expect("ALL lists every variant");
        i8::try_from(index + 1).expect("an Enum8 has at most 127 values")
    }

    /// The variant of an `Enum8` value.
    fn from_code(code: i8) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }

    /// The variant of a name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }

    /// What the ClickHouse column is declared as: `Enum8('a' = 1, 'b' = 2)`.
    fn enum8_definition() -> String {
        let values: Vec<String> =
            Self::ALL.iter().map(|v| format!("'{}' = {}", v.name(), v.code())).collect();
        format!("Enum8({})", values.join(", "))
    }
}

impl Named for FightKind {
    const ALL: &'static [Self] =
        &[FightKind::Encounter, FightKind::ChallengeMode, FightKind::Arena, FightKind::Battleground];

    fn name(self) -> &'static str {
        match self {
            FightKind::Encounter => "encounter",
            FightKind::ChallengeMode => "challenge_mode",
            FightKind::Arena => "arena",
            FightKind::Battleground => "battleground",
        }
    }
}

impl Named for UploadState {
    const ALL: &'static [Self] =
        &[UploadState::Accepted, UploadState::Parsing, UploadState::Completed, UploadState::Failed];

    fn name(self) -> &'static str {
        match self {
            UploadState::Accepted => "accepted",
            UploadState::Parsing => "parsing",
            UploadState::Completed => "completed",
            UploadState::Failed => "failed",
        }
    }
}

impl Named for RecapKind {
    const ALL: &'static [Self] = &[RecapKind::Damage, RecapKind::Heal];

    fn name(self) -> &'static str {
        match self {
            RecapKind::Damage => "damage",
            RecapKind::Heal => "heal",
        }
    }
}

impl Named for AbilityKind {
    const ALL: &'static [Self] = &[AbilityKind::Damage, AbilityKind::Heal, AbilityKind::Taken];

    fn name(self) -> &'static str {
        match self {
            AbilityKind::Damage => "damage",
            AbilityKind::Heal => "heal",
            AbilityKind::Taken => "taken",
        }
    }
}

impl Named for RemovalKind {
    const ALL: &'static [Self] = &[RemovalKind::Interrupt, RemovalKind::Dispel, RemovalKind::Steal];

    fn name(self) -> &'static str {
        match self {
            RemovalKind::Interrupt => "interrupt",
            RemovalKind::Dispel => "dispel",
            RemovalKind::Steal => "steal",
        }
    }
}

impl UploadState {
    /// What an upload as a whole is while one of its logs is in this state, as the
    /// upload endpoints answer it: `processing` until it ends `completed` or `failed`.
    pub fn summary(self) -> &'static str {
        match self {
            UploadState::Accepted | UploadState::Parsing => "processing",
            UploadState::Completed => "completed",
            UploadState::Failed => "failed",
        }
    }

    /// The summary of an upload of several logs: failed if any failed, completed when
    /// all completed, else processing.
    pub fn summary_of(states: impl IntoIterator<Item = UploadState>) -> &'static str {
        let mut all_completed = true;
        for state in states {
            match state {
                UploadState::Failed => return "failed",
                UploadState::Completed => {}
                _ => all_completed = false,
            }
        }
        if all_completed { "completed" } else { "processing" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_names_agree<T: Named + serde::Serialize + std::fmt::Debug>() {
        for &v in T::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.name());
            assert_eq!(T::from_code(v.code()), Some(v));
            assert_eq!(T::from_name(v.name()), Some(v));
        }
    }

    #[test]
    fn json_avro_and_enum8_names_are_one_list() {
        serde_names_agree::<FightKind>();
        serde_names_agree::<UploadState>();
        serde_names_agree::<RecapKind>();
        serde_names_agree::<RemovalKind>();
        serde_names_agree::<AbilityKind>();
        assert_eq!(
            UploadState::enum8_definition(),
            "Enum8('accepted' = 1, 'parsing' = 2, 'completed' = 3, 'failed' = 4)"
        );
    }

    #[test]
    fn an_upload_is_processing_until_every_log_ended() {
        use UploadState::*;
        assert_eq!(UploadState::summary_of([Completed, Parsing]), "processing");
        assert_eq!(UploadState::summary_of([Completed, Completed]), "completed");
        assert_eq!(UploadState::summary_of([Completed, Failed, Parsing]), "failed");
    }
}
