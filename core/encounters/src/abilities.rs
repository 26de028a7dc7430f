//! Each player's damage and healing done by ability, and the auras they had: what a
//! raider opens after "who did how much" (why is my DPS low, did the healer overheal,
//! was the flask up, what hit the tank). Bounded per fight: the first
//! [`MAX_DETAILED_PLAYERS`] players get tables, each table counts at most
//! [`MAX_COUNTED_PER_PLAYER`] abilities or auras, and a fight lists the top
//! [`MAX_ABILITIES_PER_PLAYER`] done, [`MAX_TAKEN_PER_PLAYER`] taken and
//! [`MAX_AURAS_PER_PLAYER`] auras.

use crate::recap::RECAP_MAX_CHARS;
use rustc_hash::FxHashMap;
use wowlogs_schemas::{AbilityKind, AuraUptime, PlayerAbility, cut_chars};

/// Players of one fight with ability and aura tables (a real fight has at most 40; a
/// Battleground 80).
pub const MAX_DETAILED_PLAYERS: usize = 1_000;
/// Distinct abilities, and distinct auras, one player's tables count; past it new ones
/// are not counted (a player uses a few dozen; a crafted log could name millions).
pub const MAX_COUNTED_PER_PLAYER: usize = 256;
/// Abilities a player's line lists (the most damage and healing done).
pub const MAX_ABILITIES_PER_PLAYER: usize = 25;
/// Abilities that hurt a player a player's line lists (the most damage taken).
pub const MAX_TAKEN_PER_PLAYER: usize = 15;
/// Auras a player's line lists (the longest up).
pub const MAX_AURAS_PER_PLAYER: usize = 20;

/// One player's damage and healing done per ability (or damage taken: a table of its
/// own).
#[derive(Debug, Default)]
pub struct DoneTable {
    /// By (kind, spell id).
    spells: FxHashMap<(AbilityKind, i32), PlayerAbility>,
    /// Melee and the environment, by name (damage only).
    named: FxHashMap<String, PlayerAbility>,
}

/// One hit or heal a player's ability did.
#[derive(Debug, Clone, Copy)]
pub struct Done<'a> {
    pub kind: AbilityKind,
    pub ability: &'a str,
    pub spell_id: Option<i32>,
    /// As the player's total counts it (healing: without overhealing).
    pub amount: i64,
    pub critical: bool,
    pub absorbed: i64,
    pub overhealing: i64,
}

impl DoneTable {
    pub fn add(&mut self, done: Done<'_>) {
        let full = self.spells.len() + self.named.len() >= MAX_COUNTED_PER_PLAYER;
        let fresh = || PlayerAbility {
            kind: done.kind,
            ability: cut_chars(done.ability, RECAP_MAX_CHARS).to_string(),
            spell_id: done.spell_id,
            amount: 0,
            hits: 0,
            crits: 0,
            absorbed: 0,
            overhealing: 0,
        };
        let line = match done.spell_id {
            Some(id) => {
                let key = (done.kind, id);
                if full {
                    self.spells.get_mut(&key)
                } else {
                    Some(self.spells.entry(key).or_insert_with(fresh))
                }
            }
            None => {
                let name = cut_chars(done.ability, RECAP_MAX_CHARS);
                if !self.named.contains_key(name) && !full {
                    self.named.insert(name.to_string(), fresh());
                }
                self.named.get_mut(name)
            }
        };
        let Some(line) = line else { return };
        line.amount += done.amount;
        line.hits += 1;
        line.crits += i64::from(done.critical);
        line.absorbed += done.absorbed;
        line.overhealing += done.overhealing;
    }

    /// The most first, at most `keep`.
    pub fn finish(self, keep: usize) -> Vec<PlayerAbility> {
        let mut lines: Vec<PlayerAbility> =
            self.spells.into_values().chain(self.named.into_values()).collect();
        lines.sort_by(|a, b| {
            b.amount.cmp(&a.amount).then_with(|| {
                (a.kind as u8, a.spell_id, &a.ability).cmp(&(b.kind as u8, b.spell_id, &b.ability))
            })
        });
        lines.truncate(keep);
        lines
    }
}

/// One aura on one player: since when it is up (if it is), and its totals so far.
#[derive(Debug)]
struct AuraState {
    line: AuraUptime,
    up_since: Option<i64>,
}

/// The auras one player had during a fight, by spell id.
#[derive(Debug, Default)]
pub struct AuraTable {
    auras: FxHashMap<i32, AuraState>,
}

/// What happened to an aura on a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuraChange {
    /// `SPELL_AURA_APPLIED`.
    Applied,
    /// `SPELL_AURA_REFRESH` and the dose events: up, but not newly applied.
    Refreshed,
    /// `SPELL_AURA_REMOVED`.
    Removed,
}

impl AuraTable {
    /// An aura change at `at_ms` in a fight that started at `start_ms`. An aura removed
    /// (or refreshed) without having been applied during the fight was up since the pull.
    pub fn change(
        &mut self,
        spell_id: i32,
        name: &str,
        debuff: bool,
        change: AuraChange,
        at_ms: i64,
        start_ms: i64,
    ) {
        if !self.auras.contains_key(&spell_id) {
            if self.auras.len() >= MAX_COUNTED_PER_PLAYER {
                return;
            }
            let line = AuraUptime {
                spell_id,
                aura: cut_chars(name, RECAP_MAX_CHARS).to_string(),
                debuff,
                uptime_ms: 0,
                applications: 0,
            };
            // First seen refreshed or removed: it was up when the pull began.
            let up_since = (change != AuraChange::Applied).then_some(start_ms);
            self.auras.insert(spell_id, AuraState { line, up_since });
        }
        let state = self.auras.get_mut(&spell_id).expect("inserted above");
        match change {
            AuraChange::Applied => {
                state.line.applications += 1;
                state.up_since.get_or_insert(at_ms);
            }
            AuraChange::Refreshed => {
                state.up_since.get_or_insert(at_ms);
            }
            AuraChange::Removed => {
                if let Some(since) = state.up_since.take() {
                    state.line.uptime_ms += (at_ms - since).max(0);
                }
            }
        }
    }

    /// Auras still up count until `end_ms`; the longest up first, at most
    /// [`MAX_AURAS_PER_PLAYER`].
    pub fn finish(self, end_ms: i64) -> Vec<AuraUptime> {
        let mut lines: Vec<AuraUptime> = self
            .auras
            .into_values()
            .map(|mut state| {
                if let Some(since) = state.up_since {
                    state.line.uptime_ms += (end_ms - since).max(0);
                }
                state.line
            })
            .filter(|line| line.uptime_ms > 0)
            .collect();
        lines.sort_by(|a, b| b.uptime_ms.cmp(&a.uptime_ms).then(a.spell_id.cmp(&b.spell_id)));
        lines.truncate(MAX_AURAS_PER_PLAYER);
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(spell_id: Option<i32>, ability: &str, amount: i64, critical: bool) -> Done<'_> {
        Done { kind: AbilityKind::Damage, ability, spell_id, amount, critical, absorbed: 0, overhealing: 0 }
    }

    #[test]
    fn abilities_add_up_by_spell_and_list_the_most_done_first() {
        let mut table = DoneTable::default();
        table.add(hit(Some(133), "Fireball", 100, false));
        table.add(hit(Some(133), "Fireball", 300, true));
        table.add(hit(None, "Melee", 50, false));
        table.add(Done {
            kind: AbilityKind::Heal,
            ability: "Flash Heal",
            spell_id: Some(2061),
            amount: 700,
            critical: true,
            absorbed: 5,
            overhealing: 40,
        });
        let lines = table.finish(MAX_ABILITIES_PER_PLAYER);
        let summary: Vec<(&str, i64, i64, i64)> =
            lines.iter().map(|l| (l.ability.as_str(), l.amount, l.hits, l.crits)).collect();
        assert_eq!(summary, vec![("Flash Heal", 700, 1, 1), ("Fireball", 400, 2, 1), ("Melee", 50, 1, 0)]);
        assert_eq!((lines[0].kind, lines[0].overhealing, lines[0].absorbed), (AbilityKind::Heal, 40, 5));
    }

    #[test]
    fn a_players_table_is_bounded() {
        let mut table = DoneTable::default();
        for id in 0..(MAX_COUNTED_PER_PLAYER as i32 + 100) {
            table.add(hit(Some(id), "Bolt", 1, false));
        }
        assert_eq!(table.spells.len(), MAX_COUNTED_PER_PLAYER);
        table.add(hit(Some(0), "Bolt", 1, false));
        assert_eq!(table.finish(MAX_ABILITIES_PER_PLAYER).len(), MAX_ABILITIES_PER_PLAYER);
    }

    #[test]
    fn an_aura_counts_while_it_is_up_from_the_pull_to_the_end() {
        let mut auras = AuraTable::default();
        // Up before the pull (first seen removed at 30 s), applied again at 40 s and up
        // to the end at 100 s: 30 + 60 s, one application.
        auras.change(1, "Flask", false, AuraChange::Removed, 30_000, 0);
        auras.change(1, "Flask", false, AuraChange::Applied, 40_000, 0);
        auras.change(1, "Flask", false, AuraChange::Refreshed, 50_000, 0);
        // A debuff applied twice, 5 s each.
        for at in [10_000, 20_000] {
            auras.change(2, "Burning", true, AuraChange::Applied, at, 0);
            auras.change(2, "Burning", true, AuraChange::Removed, at + 5_000, 0);
        }
        let lines = auras.finish(100_000);
        let summary: Vec<(i32, i64, i64, bool)> =
            lines.iter().map(|l| (l.spell_id, l.uptime_ms, l.applications, l.debuff)).collect();
        assert_eq!(summary, vec![(1, 90_000, 1, false), (2, 10_000, 2, true)]);
    }
}
