//! Damage done, healing done and damage taken of one player over a line range, computed
//! from the raw text with the definitions of docs/metrics.md.

use std::collections::HashMap;

const DAMAGE: [&str; 7] = [
    "SWING_DAMAGE",
    "RANGE_DAMAGE",
    "SPELL_DAMAGE",
    "SPELL_PERIODIC_DAMAGE",
    "SPELL_BUILDING_DAMAGE",
    "DAMAGE_SHIELD",
    "DAMAGE_SPLIT",
];

/// Splits on commas outside double quotes (enough for non-COMBATANT_INFO lines).
fn split(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

fn side(flags: &str) -> u32 {
    u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap() & 0x70
}

#[derive(Debug, Default, PartialEq)]
pub struct Totals {
    pub damage_done: i64,
    pub healing_done: i64,
    pub damage_taken: i64,
}

/// Calls `each(line number, fields, credited source)` for every line of the log but
/// `COMBATANT_INFO`, learning pets' owners from `SPELL_SUMMON` and the advanced block
/// on the way (the source credited is the owner at the end of the chain).
fn each_line(text: &str, mut each: impl FnMut(usize, &[&str], &str)) {
    let mut owner: HashMap<String, String> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let body = line.split_once("  ").unwrap().1;
        if body.starts_with("COMBATANT_INFO") {
            continue;
        }
        let f = split(body);
        if f[0] == "SPELL_SUMMON" {
            owner.insert(f[5].into(), f[1].into());
        }
        // Advanced block: GUID then owner GUID, right after the spell (or the base for swings).
        let at = if f[0].starts_with("SWING") { 9 } else { 12 };
        // (A `SPELL_CAST_SUCCESS` ends with the block: 15 to 19 fields after `at`.)
        if f.len() >= at + 15
            && f[at].contains('-')
            && f[at + 1].contains('-')
            && !f[at].starts_with("Player-")
        {
            owner.insert(f[at].into(), f[at + 1].into());
        }
        let mut credited = f.get(1).copied().unwrap_or_default().to_string();
        while let Some(o) = owner.get(&credited) {
            credited = o.clone();
        }
        each(i + 1, &f, &credited);
    }
}

/// Each player's `(interrupts, dispels)` over a line range: `SPELL_INTERRUPT`, and
/// `SPELL_DISPEL` or `SPELL_STOLEN`, by the player or a pet of theirs.
pub fn removals(text: &str, lines: std::ops::RangeInclusive<usize>) -> HashMap<String, (i64, i64)> {
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    each_line(text, |number, f, credited| {
        if !lines.contains(&number) || !credited.starts_with("Player-") {
            return;
        }
        match f[0] {
            "SPELL_INTERRUPT" => counts.entry(credited.to_string()).or_default().0 += 1,
            "SPELL_DISPEL" | "SPELL_STOLEN" => counts.entry(credited.to_string()).or_default().1 += 1,
            _ => {}
        }
    });
    counts
}

pub fn totals(text: &str, lines: std::ops::RangeInclusive<usize>, player: &str) -> Totals {
    let mut t = Totals::default();
    each_line(text, |number, f, credited| {
        if !lines.contains(&number) {
            return;
        }
        if DAMAGE.contains(&f[0]) {
            let tagged = matches!(*f.last().unwrap(), "ST" | "AOE");
            let amount: i64 = f[f.len() - if tagged { 11 } else { 10 }].parse().unwrap();
            if credited == player && side(f[3]) != side(f[7]) {
                t.damage_done += amount;
            }
            if f[5] == player {
                t.damage_taken += amount;
            }
        }
        if f[0] == "ENVIRONMENTAL_DAMAGE" && f[5] == player {
            t.damage_taken += f[f.len() - 10].parse::<i64>().unwrap();
        }
        if (f[0] == "SPELL_HEAL" || f[0] == "SPELL_PERIODIC_HEAL") && credited == player {
            let amount: i64 = f[f.len() - 5].parse().unwrap();
            let overhealing: i64 = f[f.len() - 3].parse().unwrap();
            t.healing_done += amount - overhealing;
        }
    });
    t
}

/// What the players of a line range took from each ability: `(amount, hits)` keyed by
/// spell id, or `Melee` and the environmental type for damage without a spell. Hits
/// absorbed whole (`_MISSED` with `ABSORB`) are hits of amount 0.
pub fn taken_by_ability(text: &str, lines: std::ops::RangeInclusive<usize>) -> HashMap<String, (i64, i64)> {
    taken_by_ability_of(text, lines, None)
}

/// [`taken_by_ability`] of one player's hits only (`Some(guid)`), or of every player's.
pub fn taken_by_ability_of(
    text: &str,
    lines: std::ops::RangeInclusive<usize>,
    player: Option<&str>,
) -> HashMap<String, (i64, i64)> {
    let mut taken: HashMap<String, (i64, i64)> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if !lines.contains(&(i + 1)) {
            continue;
        }
        let body = line.split_once("  ").unwrap().1;
        if body.starts_with("COMBATANT_INFO") {
            continue;
        }
        let f = split(body);
        if f.len() < 9 || !f[5].starts_with("Player-") || player.is_some_and(|p| f[5] != p) {
            continue;
        }
        let swing = f[0].starts_with("SWING");
        let tagged = matches!(*f.last().unwrap(), "ST" | "AOE");
        let amount = if DAMAGE.contains(&f[0]) {
            f[f.len() - if tagged { 11 } else { 10 }].parse::<i64>().unwrap()
        } else if f[0] == "ENVIRONMENTAL_DAMAGE" {
            let entry = taken.entry(f[f.len() - 11].to_string()).or_default();
            entry.0 += f[f.len() - 10].parse::<i64>().unwrap();
            entry.1 += 1;
            continue;
        } else if f[0].ends_with("_MISSED")
            && !f[0].starts_with("DAMAGE")
            && f[if swing { 9 } else { 12 }] == "ABSORB"
        {
            0
        } else {
            continue;
        };
        let ability = if swing { "Melee" } else { f[9] };
        let entry = taken.entry(ability.to_string()).or_default();
        entry.0 += amount;
        entry.1 += 1;
    }
    taken
}

/// One ability of one player: amount (healing without overhealing), hits, crits.
pub type DoneLine = (i64, i64, i64);

/// What one player (with pets) did per ability over a line range: damage keyed
/// `damage:<spell id>` (or `damage:Melee`), healing keyed `heal:<spell id>`.
pub fn done_by_ability(
    text: &str,
    lines: std::ops::RangeInclusive<usize>,
    player: &str,
) -> HashMap<String, DoneLine> {
    let mut done: HashMap<String, DoneLine> = HashMap::new();
    each_line(text, |number, f, credited| {
        if !lines.contains(&number) || credited != player {
            return;
        }
        let spell = || if f[0].starts_with("SWING") { "Melee".to_string() } else { f[9].to_string() };
        if DAMAGE.contains(&f[0]) && side(f[3]) != side(f[7]) {
            let tagged = matches!(*f.last().unwrap(), "ST" | "AOE");
            let amount_at = f.len() - if tagged { 11 } else { 10 };
            let entry = done.entry(format!("damage:{}", spell())).or_default();
            entry.0 += f[amount_at].parse::<i64>().unwrap();
            entry.1 += 1;
            entry.2 += i64::from(f[amount_at + 7] == "1");
        }
        if f[0] == "SPELL_HEAL" || f[0] == "SPELL_PERIODIC_HEAL" {
            let amount: i64 = f[f.len() - 5].parse().unwrap();
            let overhealing: i64 = f[f.len() - 3].parse().unwrap();
            let entry = done.entry(format!("heal:{}", spell())).or_default();
            entry.0 += amount - overhealing;
            entry.1 += 1;
            entry.2 += i64::from(f[f.len() - 1] == "1");
        }
    });
    done
}
