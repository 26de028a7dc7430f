//! `COMBATANT_INFO`: stats, spec, talents and gear.
//!
//! The line is `COMBATANT_INFO,GUID,faction,<21 stats>,[extra scalars],spec,<groups...>`.
//! Shadowlands writes one more scalar before the spec than Classic and The War Within
//! (fixture `retail_sl_9.2_raid_wipe_snippet.txt`), so the spec is taken as the last
//! scalar before the first `(`/`[` group. The gear is the first `[(...)]` group whose
//! entries are 5-tuples `(item id, item level, (enchants), (bonus ids), (gems))`.

use crate::error::ParseErrorKind;
use crate::fields::Fields;
use wowlogs_schemas::{CombatantInfo, EquippedItem, Payload};

/// Scalars before the groups: faction, 21 stats, spec. Legion (`COMBAT_LOG_VERSION` 4)
/// writes no faction: 22, and 29 fields in all with its artifact traits, talents and
/// gear (measured on two real Legion logs); its faction reads -1, unknown.
const MIN_SCALARS: usize = 23;
const LEGION_SCALARS: usize = 22;

pub(crate) fn parse(f: &Fields<'_>) -> Result<Payload, ParseErrorKind> {
    let first_group = (2..f.len())
        .find(|&i| f.raw(i).starts_with(['(', '[']))
        .ok_or(ParseErrorKind::Truncated { reason: "no talent or gear groups" })?;
    let scalars = first_group - 2;
    if scalars < LEGION_SCALARS || f.len() < first_group + 2 {
        return Err(ParseErrorKind::FieldCount {
            got: f.len(),
            expected: vec![2 + LEGION_SCALARS + 2, 2 + MIN_SCALARS + 2],
            version: None,
        });
    }
    let faction_at = (scalars >= MIN_SCALARS).then_some(2);
    let stats_at = if faction_at.is_some() { 3 } else { 2 };
    let stat = |k: usize, name: &'static str| f.int(stats_at + k, name);
    let spec_at = first_group - 1;
    let groups: Vec<&str> = f.raw_from(first_group + 2).collect();
    let items_at = groups.iter().position(|g| looks_like_gear(g));
    let items = match items_at {
        Some(k) => parse_items(groups[k]).map_err(|reason| ParseErrorKind::BadValue {
            field: "equipped items",
            index: first_group + 2 + k,
            value: reason,
            expected: "[(item id, item level, (enchants), (bonus ids), (gems)), ...]",
        })?,
        None => Vec::new(),
    };
    let auras_at = items_at.map(|k| k + 1).filter(|&k| groups.get(k).is_some_and(|g| g.starts_with('[')));
    let extra_fields = groups
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != items_at && Some(*k) != auras_at)
        .map(|(_, g)| g.to_string())
        .collect();
    Ok(Payload::CombatantInfo(Box::new(CombatantInfo {
        player_guid: f.guid(1).to_string(),
        faction: faction_at.map(|i| f.int32(i, "faction")).transpose()?.unwrap_or(-1),
        strength: stat(0, "strength")?,
        agility: stat(1, "agility")?,
        stamina: stat(2, "stamina")?,
        intellect: stat(3, "intellect")?,
        dodge: stat(4, "dodge")?,
        parry: stat(5, "parry")?,
        block: stat(6, "block")?,
        crit_melee: stat(7, "crit melee")?,
        crit_ranged: stat(8, "crit ranged")?,
        crit_spell: stat(9, "crit spell")?,
        speed: stat(10, "speed")?,
        leech: stat(11, "leech")?,
        haste_melee: stat(12, "haste melee")?,
        haste_ranged: stat(13, "haste ranged")?,
        haste_spell: stat(14, "haste spell")?,
        avoidance: stat(15, "avoidance")?,
        mastery: stat(16, "mastery")?,
        versatility_damage_done: stat(17, "versatility damage done")?,
        versatility_healing_done: stat(18, "versatility healing done")?,
        versatility_damage_taken: stat(19, "versatility damage taken")?,
        armor: stat(20, "armor")?,
        extra_stats: (stats_at + 21..spec_at).map(|i| f.int(i, "extra stat")).collect::<Result<_, _>>()?,
        spec_id: f.int32(spec_at, "spec id")?,
        talents: f.raw(first_group).to_string(),
        pvp_talents: f.raw(first_group + 1).to_string(),
        items,
        auras: auras_at.map(|k| groups[k].to_string()).unwrap_or_default(),
        extra_fields,
    })))
}

/// A nested value of a group: a scalar or a list.
#[derive(Debug, PartialEq)]
enum Node<'a> {
    Scalar(&'a str),
    List(Vec<Node<'a>>),
}

fn looks_like_gear(group: &str) -> bool {
    if !group.starts_with("[(") {
        return false;
    }
    match parse_node(group) {
        Ok(Node::List(entries)) => matches!(entries.first(), Some(Node::List(t)) if t.len() == 5),
        _ => false,
    }
}

fn parse_items(group: &str) -> Result<Vec<EquippedItem>, String> {
    let Node::List(entries) = parse_node(group)? else {
        return Err("not a list".into());
    };
    entries.iter().map(item).collect()
}

fn item(node: &Node<'_>) -> Result<EquippedItem, String> {
    let Node::List(parts) = node else {
        return Err("an item is not a (...) tuple".into());
    };
    let [id, level, enchants, bonus_ids, gems] = parts.as_slice() else {
        return Err(format!("an item has {} parts, not 5", parts.len()));
    };
    Ok(EquippedItem {
        item_id: scalar(id)?,
        item_level: i32::try_from(scalar(level)?).map_err(|_| "item level out of range".to_string())?,
        enchants: flat_numbers(enchants)?,
        bonus_ids: flat_numbers(bonus_ids)?,
        gems: flat_numbers(gems)?,
    })
}

fn scalar(node: &Node<'_>) -> Result<i64, String> {
    match node {
        Node::Scalar(s) => s.parse().map_err(|_| format!("{s:?} is not a number")),
        Node::List(_) => Err("expected a number, found a group".into()),
    }
}

fn flat_numbers(node: &Node<'_>) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    collect_numbers(node, &mut out)?;
    Ok(out)
}

fn collect_numbers(node: &Node<'_>, out: &mut Vec<i64>) -> Result<(), String> {
    match node {
        Node::Scalar(_) => out.push(scalar(node)?),
        Node::List(children) => {
            for child in children {
                collect_numbers(child, out)?;
            }
        }
    }
    Ok(())
}

/// Parses one `(...)`/`[...]` group into nodes.
fn parse_node(text: &str) -> Result<Node<'_>, String> {
    let mut pos = 0;
    let node = parse_at(text, &mut pos, 0)?;
    if pos != text.len() {
        return Err("text after the group".into());
    }
    Ok(node)
}

/// Groups nest only a few levels deep in real logs; the cap keeps hostile input
/// from exhausting the stack.
const MAX_DEPTH: usize = 16;

fn parse_at<'a>(text: &'a str, pos: &mut usize, depth: usize) -> Result<Node<'a>, String> {
    let bytes = text.as_bytes();
    match bytes.get(*pos) {
        Some(&open @ (b'(' | b'[')) => {
            if depth >= MAX_DEPTH {
                return Err("groups nest too deeply".into());
            }
            let close = if open == b'(' { b')' } else { b']' };
            *pos += 1;
            let mut children = Vec::new();
            if bytes.get(*pos) == Some(&close) {
                *pos += 1;
                return Ok(Node::List(children));
            }
            loop {
                children.push(parse_at(text, pos, depth + 1)?);
                match bytes.get(*pos) {
                    Some(b',') => *pos += 1,
                    Some(&c) if c == close => {
                        *pos += 1;
                        return Ok(Node::List(children));
                    }
                    _ => return Err("a group is not closed".into()),
                }
            }
        }
        _ => {
            let start = *pos;
            while let Some(&c) = bytes.get(*pos) {
                if matches!(c, b',' | b')' | b']' | b'(' | b'[') {
                    break;
                }
                *pos += 1;
            }
            Ok(Node::Scalar(&text[start..*pos]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gear_tuples_are_read_with_their_nested_lists() {
        let items = parse_items("[(189775,265,(),(7188,6652),(173130,120)),(0,0,(),(),())]").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].item_id, 189_775);
        assert_eq!(items[0].item_level, 265);
        assert_eq!(items[0].bonus_ids, vec![7188, 6652]);
        assert_eq!(items[0].gems, vec![173_130, 120]);
        assert_eq!(items[1].item_id, 0);
    }

    #[test]
    fn talent_lists_are_not_mistaken_for_gear() {
        assert!(!looks_like_gear("[(82554,103675,1),(103900,103733,1)]"));
        assert!(!looks_like_gear("[1,3,[],[(844),(849)],[(283,252)]]"));
        assert!(looks_like_gear("[(215166,45,(),(),())]"));
    }

    #[test]
    fn deeply_nested_groups_are_refused_not_overflowed() {
        let hostile = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_node(&hostile).is_err());
    }
}
