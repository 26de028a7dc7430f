//! Death recaps: what each player took in the seconds before dying.
//!
//! Every player keeps the damage and healing they took in the last [`RECAP_WINDOW_MS`],
//! at most [`RECAP_MAX_ENTRIES`] lines; a death hands the lines over, newest (the killing
//! blow) first. Bounded three ways: by time, by lines per player, and by players with
//! a recap ([`RECAP_MAX_PLAYERS`]; a real fight has at most 40), so a crafted log cannot
//! grow it without limit; texts keep [`RECAP_MAX_CHARS`] characters.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use wowlogs_schemas::{CombatEvent, RecapEntry, RecapKind, Unit, cut_chars};

/// How far back a recap goes.
pub const RECAP_WINDOW_MS: i64 = 10_000;
/// Lines a recap keeps at most (the newest), enough for 10 s of a raid's damage and
/// healing on one player; tested on the densest real fight (tests/recap.rs).
pub const RECAP_MAX_ENTRIES: usize = 100;
/// Players one fight keeps recaps for.
pub const RECAP_MAX_PLAYERS: usize = 1_000;
/// Characters of an ability or source name in a recap.
pub const RECAP_MAX_CHARS: usize = 256;

/// The recent lines of every player of one fight.
#[derive(Debug, Default)]
pub struct Recaps {
    players: FxHashMap<String, VecDeque<RecapEntry>>,
}

/// One line as the recap takes it.
pub struct Taken<'a> {
    pub kind: RecapKind,
    pub ability: &'a str,
    pub amount: i64,
    pub overkill: i64,
    pub absorbed: i64,
    pub overhealing: i64,
}

impl Recaps {
    /// Records what `target` (a player) took on this line.
    pub fn take(&mut self, event: &CombatEvent, target: &Unit, taken: Taken<'_>) {
        if !self.players.contains_key(&target.guid) {
            if self.players.len() >= RECAP_MAX_PLAYERS {
                return;
            }
            self.players.insert(target.guid.clone(), VecDeque::new());
        }
        let lines = self.players.get_mut(&target.guid).expect("inserted above");
        let since = event.timestamp_ms - RECAP_WINDOW_MS;
        // The line leaving the window makes room for the new one, strings and all: this
        // runs for every hit and heal on a player, and reusing the buffers saves three
        // allocations each time.
        let mut spare = None;
        while lines.front().is_some_and(|e| e.timestamp_ms < since) || lines.len() >= RECAP_MAX_ENTRIES {
            spare = lines.pop_front();
        }
        let mut entry = spare.unwrap_or_else(empty_entry);
        let health = event.advanced.as_ref().filter(|a| a.guid == target.guid && a.max_hp > 0);
        let source = event.source.as_ref();
        entry.timestamp_ms = event.timestamp_ms;
        entry.kind = taken.kind;
        replace(&mut entry.ability, taken.ability);
        entry.spell_id = event.spell.as_ref().map(|s| s.id);
        replace(&mut entry.source_guid, source.map_or("", |s| s.guid.as_str()));
        replace(&mut entry.source_name, source.map_or("", |s| s.name.as_str()));
        entry.amount = taken.amount;
        entry.overkill = taken.overkill;
        entry.absorbed = taken.absorbed;
        entry.overhealing = taken.overhealing;
        entry.hp = health.map(|a| a.current_hp);
        entry.max_hp = health.map(|a| a.max_hp);
        lines.push_back(entry);
    }

    /// The recap of a player who died at `timestamp_ms`, newest first; the player starts
    /// a new one.
    pub fn died(&mut self, guid: &str, timestamp_ms: i64) -> Vec<RecapEntry> {
        let Some(lines) = self.players.get_mut(guid) else { return Vec::new() };
        let since = timestamp_ms - RECAP_WINDOW_MS;
        let mut recap: Vec<RecapEntry> = lines.drain(..).filter(|e| e.timestamp_ms >= since).collect();
        recap.reverse();
        recap
    }
}

fn empty_entry() -> RecapEntry {
    RecapEntry {
        timestamp_ms: 0,
        kind: RecapKind::Damage,
        ability: String::new(),
        spell_id: None,
        source_guid: String::new(),
        source_name: String::new(),
        amount: 0,
        overkill: 0,
        absorbed: 0,
        overhealing: 0,
        hp: None,
        max_hp: None,
    }
}

/// `buffer` holds `text`, cut to [`RECAP_MAX_CHARS`], in the buffer it had.
fn replace(buffer: &mut String, text: &str) {
    buffer.clear();
    buffer.push_str(cut_chars(text, RECAP_MAX_CHARS));
}
