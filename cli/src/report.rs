//! Human-readable rendering of an analysis: one table per fight.

use crate::analysis::LogAnalysis;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use std::fmt::Write;
use wowlogs_encounters::spec_name;
use wowlogs_parser::civil_from_days;
pub use wowlogs_parser::group_thousands as group;
use wowlogs_schemas::{AbilityKind, FightKind, FightSummary, Named, RecapKind};

/// Renders every fight of a log, then the log's counts and problems.
pub fn render(analysis: &LogAnalysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", analysis.file);
    if analysis.fights.is_empty() {
        out.push_str("  no boss encounters, Mythic+ runs or arena matches in this log\n");
    }
    for fight in &analysis.fights {
        out.push('\n');
        render_fight(&mut out, fight);
    }
    let _ = writeln!(
        out,
        "\n{} lines, {} events, {} malformed, {} {}",
        group(analysis.lines as i64),
        group(analysis.events as i64),
        group(analysis.errors as i64),
        analysis.fights.len(),
        if analysis.fights.len() == 1 { "fight" } else { "fights" }
    );
    for message in &analysis.error_samples {
        let _ = writeln!(out, "  malformed: {message}");
    }
    if analysis.errors > analysis.error_samples.len() as u64 {
        out.push_str("  (write them all with --dead-letters FILE)\n");
    }
    for anomaly in &analysis.anomalies {
        let _ = writeln!(out, "  note: line {}: {}", group(anomaly.line), anomaly.message);
    }
    out
}

/// One fight as [`render`] shows it (what `wowlogs watch --local` prints as each ends).
pub fn render_fight_text(fight: &FightSummary) -> String {
    let mut out = String::new();
    render_fight(&mut out, fight);
    out
}

fn render_fight(out: &mut String, fight: &FightSummary) {
    let outcome = match (fight.complete, fight.kind, fight.kill) {
        (false, _, _) => "INCOMPLETE",
        (true, FightKind::Encounter, Some(true)) => "KILL",
        (true, FightKind::Encounter, _) => "WIPE",
        (true, FightKind::ChallengeMode, Some(true)) => "TIMED",
        (true, FightKind::ChallengeMode, _) => "NOT TIMED",
        (true, FightKind::Arena | FightKind::Battleground, Some(true)) => "WIN",
        (true, FightKind::Arena | FightKind::Battleground, Some(false)) => "LOSS",
        (true, FightKind::Arena | FightKind::Battleground, None) => "ENDED",
    };
    let mut details = vec![fight.kind.name().replace('_', " ")];
    if let Some(zone) = fight.zone_name.as_ref().filter(|zone| **zone != fight.name) {
        details.push(zone.clone());
    }
    if let Some(id) = fight.encounter_id {
        details.push(format!("id {id}"));
    }
    if let Some(difficulty) = fight.difficulty {
        details.push(wowlogs_encounters::difficulty_label(difficulty));
    }
    if let Some(level) = fight.key_level {
        details.push(format!("+{level}"));
    }
    if let Some(kind) = &fight.match_type {
        details.push(kind.clone());
    }
    if let Some(round) = fight.round {
        details.push(format!("round {round}"));
    }
    if let Some(won) = fight.rounds_won {
        details.push(format!("{won} rounds won"));
    }
    let _ = writeln!(
        out,
        "{} ({}) — {outcome} in {}, {} UTC, lines {}–{}",
        fight.name,
        details.join(", "),
        duration(fight.duration_ms),
        datetime(fight.start_ms),
        group(fight.start_line),
        group(fight.end_line)
    );
    render_bosses(out, fight);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header([
        "Player", "Spec", "iLvl", "Damage", "DPS", "Healing", "HPS", "Absorbs", "Taken", "Deaths",
    ]);
    for p in &fight.players {
        let spec = match (p.spec_id.and_then(spec_name), &p.class) {
            (Some(spec), Some(class)) => format!("{spec} {class}"),
            _ => String::new(),
        };
        let name = if p.name.is_empty() { p.guid.clone() } else { p.name.clone() };
        let numbers = [
            p.damage_done,
            p.dps as i64,
            p.healing_done,
            p.hps as i64,
            p.absorbs_done,
            p.damage_taken,
            p.deaths,
        ];
        let mut row = vec![
            Cell::new(name),
            Cell::new(spec),
            Cell::new(p.item_level.map(|l| format!("{l:.1}")).unwrap_or_default())
                .set_alignment(CellAlignment::Right),
        ];
        row.extend(numbers.iter().map(|&n| Cell::new(group(n)).set_alignment(CellAlignment::Right)));
        table.add_row(row);
    }
    let _ = writeln!(out, "{table}");
    for death in &fight.deaths {
        let cause = match &death.killing_blow {
            Some(blow) => {
                let overkill = if blow.overkill > 0 {
                    format!(", {} overkill", group(blow.overkill))
                } else {
                    String::new()
                };
                let source = if blow.source_name.is_empty() { "the environment" } else { &blow.source_name };
                format!("{} by {source} ({}{overkill})", blow.ability, group(blow.amount))
            }
            None => "no damage taken before".to_string(),
        };
        let _ = writeln!(out, "  † {} at {} — {cause}", death.name, duration(death.fight_time_ms));
    }
    if let Some(first) = fight.deaths.first().filter(|d| !d.recap.is_empty()) {
        let _ = writeln!(out, "  First death, {}: the last seconds, newest first", first.name);
        for line in first.recap.iter().take(RECAP_LINES_SHOWN) {
            let before = (first.timestamp_ms - line.timestamp_ms) as f64 / 1000.0;
            let source = if line.source_name.is_empty() { "no source" } else { &line.source_name };
            let what = match line.kind {
                RecapKind::Damage if line.amount == 0 => format!("{} absorbed", group(line.absorbed)),
                RecapKind::Damage => format!("-{}", group(line.amount)),
                RecapKind::Heal => format!("+{}", group(line.amount - line.overhealing)),
            };
            let health = match (line.hp, line.max_hp) {
                (Some(hp), Some(max)) => format!(", health {} / {}", group(hp), group(max)),
                _ => String::new(),
            };
            let _ = writeln!(out, "    -{before:.1}s  {what} {} ({source}){health}", line.ability);
        }
        match first.recap.len().saturating_sub(RECAP_LINES_SHOWN) {
            0 => {}
            1 => out.push_str("    … 1 earlier line (all of them: --format json)\n"),
            more => {
                let _ = writeln!(out, "    … {more} earlier lines (all of them: --format json)");
            }
        }
    }
    if !fight.damage_taken_by_ability.is_empty() {
        let shown: Vec<String> = fight
            .damage_taken_by_ability
            .iter()
            .take(ABILITIES_SHOWN)
            .map(|a| {
                let blows = match a.killing_blows {
                    0 => String::new(),
                    1 => ", 1 death".to_string(),
                    n => format!(", {n} deaths"),
                };
                let players =
                    if a.players == 1 { "1 player".to_string() } else { format!("{} players", a.players) };
                format!("{} {} ({players}{blows})", a.ability, group(a.amount))
            })
            .collect();
        let _ = writeln!(out, "  Hurt the group most: {}", shown.join("; "));
    }
    render_done(out, fight);
    render_removals(out, fight);
}

/// The top damage dealer's and the top healer's biggest abilities, with their crit
/// rates (and the heals' overhealing): `Top damage, Aaron: Fireball 1,200 (33% crit); …`.
fn render_done(out: &mut String, fight: &FightSummary) {
    let name =
        |p: &wowlogs_schemas::PlayerMetrics| if p.name.is_empty() { p.guid.clone() } else { p.name.clone() };
    let top_damage = fight.players.iter().filter(|p| p.damage_done > 0).max_by_key(|p| p.damage_done);
    let top_healing = fight.players.iter().filter(|p| p.healing_done > 0).max_by_key(|p| p.healing_done);
    for (what, player, kind) in
        [("Top damage", top_damage, AbilityKind::Damage), ("Top healing", top_healing, AbilityKind::Heal)]
    {
        let Some(player) = player else { continue };
        let shown: Vec<String> = player
            .abilities
            .iter()
            .filter(|a| a.kind == kind)
            .take(ABILITIES_SHOWN)
            .map(|a| {
                let crit = if a.hits > 0 { 100 * a.crits / a.hits } else { 0 };
                let overheal = match kind {
                    AbilityKind::Heal if a.overhealing > 0 => format!(", {} overheal", group(a.overhealing)),
                    _ => String::new(),
                };
                format!("{} {} ({crit}% crit{overheal})", a.ability, group(a.amount))
            })
            .collect();
        if !shown.is_empty() {
            let _ = writeln!(out, "  {what}, {}: {}", name(player), shown.join("; "));
        }
    }
}

/// `Interrupts: Meerah-CrusaderStrike 3, …` and the same for dispels, most first.
fn render_removals(out: &mut String, fight: &FightSummary) {
    let list = |count: fn(&wowlogs_schemas::PlayerMetrics) -> i64| {
        let mut players: Vec<(&str, i64)> = fight
            .players
            .iter()
            .filter(|p| count(p) > 0)
            .map(|p| (if p.name.is_empty() { p.guid.as_str() } else { p.name.as_str() }, count(p)))
            .collect();
        players.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        players.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
    };
    for (what, players) in [("Interrupts", list(|p| p.interrupts)), ("Dispels", list(|p| p.dispels))] {
        if !players.is_empty() {
            let _ = writeln!(out, "  {what}: {players}");
        }
    }
}

/// Recap lines of the first death a table shows (the JSON has them all).
const RECAP_LINES_SHOWN: usize = 8;
/// Abilities of "hurt the group most" a table shows.
const ABILITIES_SHOWN: usize = 5;

/// A boss fight's bosses when it ended: `Bosses at the end: Dimensius 94.9%`.
fn render_bosses(out: &mut String, fight: &FightSummary) {
    if fight.kind != FightKind::Encounter {
        return;
    }
    let line = match (fight.boss_pct, fight.boss_pct_missing.as_deref()) {
        (Some(pct), _) if fight.bosses.len() > 1 => {
            let each: Vec<String> =
                fight.bosses.iter().map(|b| format!("{} {:.1}%", b.name, b.pct)).collect();
            format!("{pct:.1}% together: {}", each.join(", "))
        }
        (Some(pct), _) => match fight.bosses.first() {
            Some(boss) => {
                format!("{} {pct:.1}% ({} of {})", boss.name, group(boss.current_hp), group(boss.max_hp))
            }
            None => format!("{pct:.1}%"),
        },
        (None, Some("advanced_logging_off")) => {
            "unknown: the log has no unit health (advanced combat logging off)".to_string()
        }
        (None, _) => "unknown: no hostile creature's health in the log".to_string(),
    };
    let _ = writeln!(out, "  Bosses at the end: {line}");
}

/// `329537` -> `5:29.5`.
fn duration(ms: i64) -> String {
    let tenths = ms.max(0) / 100;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

/// Epoch ms -> `2024-03-24 19:54:49`.
fn datetime(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    let s = ms.rem_euclid(86_400_000) / 1000;
    format!("{y}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_like_a_meter() {
        assert_eq!(group(69_408_810), "69,408,810");
        assert_eq!(group(-1), "-1");
        assert_eq!(duration(329_537), "5:29.5");
        assert_eq!(datetime(1_711_309_489_517), "2024-03-24 19:44:49");
    }
}
