//! Prefix + suffix combat events (`SPELL_DAMAGE`, `SWING_MISSED`, `SPELL_AURA_APPLIED`, ...).

use crate::error::ParseErrorKind;
use crate::fields::Fields;
use crate::layout::{
    ADVANCED_LEGION, ADVANCED_LENGTHS, ADVANCED_WITHOUT_MAP, BASE_FIELDS, Prefix, Suffix,
    advanced_fields_for_version,
};
use wowlogs_schemas::{
    Absorbed, AdvancedUnit, Aura, AuraType, Cast, Damage, Death, Dispel, Drain, Empower, Energize,
    ExtraAttacks, Heal, HealAbsorbed, Interrupt, Missed, Payload, Spell, Summon, Unit,
};

/// The parts of a combat event after the timestamp and name.
pub(crate) struct CombatParts {
    pub source: Unit,
    pub target: Unit,
    pub spell: Option<Spell>,
    pub advanced: Option<AdvancedUnit>,
    pub payload: Payload,
    pub extra: Vec<String>,
}

/// Where each block starts on one line, chosen from the line itself.
struct Layout {
    spell_at: Option<usize>,
    environment_at: Option<usize>,
    advanced_at: usize,
    advanced_len: usize,
    suffix_at: usize,
    suffix_len: usize,
    /// The `ST`/`AOE` tag (`true` for `AOE`), wherever the game wrote one.
    tag: Option<bool>,
    /// Fields after the known ones (a later patch appending a field), kept verbatim.
    extra_at: Option<(usize, usize)>,
    supporter_at: Option<usize>,
}

/// At most this many unknown fields after a suffix are read as a later patch's
/// additions; a line longer than that is not a layout the game writes, but a malformed
/// one.
pub(crate) const MAX_EXTRA_FIELDS: usize = 4;

const ENVIRONMENTAL_TYPES: [&str; 6] = ["Falling", "Drowning", "Fatigue", "Fire", "Lava", "Slime"];

pub(crate) fn parse(
    f: &Fields<'_>,
    prefix: Prefix,
    suffix: Suffix,
    support: bool,
    version: Option<i32>,
) -> Result<CombatParts, ParseErrorKind> {
    let layout = choose_layout(f, prefix, suffix, support, version)?;
    let source = unit(f, 1)?;
    let target = unit(f, 5)?;
    let spell = layout.spell_at.map(|i| spell(f, i)).transpose()?;
    let advanced = match layout.advanced_len {
        0 => None,
        len => Some(advanced(f, layout.advanced_at, len)?),
    };
    let supporter = layout.supporter_at.map(|i| f.guid(i).to_string());
    let environment = layout.environment_at.map(|i| f.text(i).to_string());
    let payload = payload(f, suffix, &layout, supporter, environment)?;
    let extra = layout
        .extra_at
        .map_or_else(Vec::new, |(from, to)| (from..to).map(|i| f.raw(i).to_string()).collect());
    Ok(CombatParts { source, target, spell, advanced, payload, extra })
}

/// Reads the layout off the line: the advanced block is recognised by its shape (two
/// GUIDs, then numbers ending in `x, y, map, facing, level`), not by the header's
/// `COMBAT_LOG_VERSION`, which does not tell it (Classic 1.15.5 writes an 18-field block
/// under version 9, Shadowlands 9.0 a 17-field block under version 17: fixtures
/// `classic_era_1.15.5_world_solo_new_timestamp_format.txt`,
/// `retail_sl_9.0.2_torghast_advanced_off.txt`). The `ST`/`AOE` tag is accepted at the
/// end of any suffix; fields after the known suffix are kept as extras.
fn choose_layout(
    f: &Fields<'_>,
    prefix: Prefix,
    suffix: Suffix,
    support: bool,
    version: Option<i32>,
) -> Result<Layout, ParseErrorKind> {
    let n = f.len();
    let support_len = usize::from(support);
    let advanced = suffix.shape().advanced;
    let mut prefix_len = prefix.fields();
    // Melee absorbs (`SPELL_ABSORBED` without a damaging spell) are 3 fields shorter: the
    // suffix then starts with the attacker's GUID where the spell id would be.
    let prefix_optional = suffix == Suffix::Absorbed && prefix == Prefix::Spell;
    if prefix_optional && n > BASE_FIELDS && looks_like_guid(f.raw(BASE_FIELDS)) {
        prefix_len = 0;
    }
    // The environmental type comes before the advanced block in old logs, after it in
    // retail: a word, where the advanced block starts with a GUID.
    let environment_first = prefix == Prefix::Environmental
        && n > BASE_FIELDS
        && ENVIRONMENTAL_TYPES.iter().any(|t| t.eq_ignore_ascii_case(f.text(BASE_FIELDS)));
    let type_after_advanced = prefix == Prefix::Environmental && !environment_first;
    let advanced_at = if type_after_advanced { BASE_FIELDS } else { BASE_FIELDS + prefix_len };
    let advanced_len = if advanced { advanced_block_len(f, advanced_at, version) } else { 0 };
    let legion = advanced_len == ADVANCED_LEGION || (advanced_len == 0 && version.is_some_and(|v| v <= 4));
    let shape = suffix.shape_in(legion);
    let fixed = BASE_FIELDS + prefix_len + support_len + advanced_len;
    let tagged = n > fixed && matches!(f.raw(n - 1 - support_len), "ST" | "AOE");
    let tag_len = usize::from(tagged);
    let suffix_len =
        n.checked_sub(fixed + tag_len).filter(|&len| len >= shape.min && len <= shape.max + MAX_EXTRA_FIELDS);
    let Some(found) = suffix_len else {
        return Err(field_count_error(
            n,
            BASE_FIELDS + prefix_len + support_len,
            shape,
            advanced_len,
            version,
        ));
    };
    // Every prefix field comes before the suffix, wherever the advanced block stands.
    let suffix_at = BASE_FIELDS + prefix_len + advanced_len;
    let known = found.min(shape.max);
    let extra_at = (found > known).then_some((suffix_at + known, suffix_at + found));
    let mut layout = Layout {
        spell_at: None,
        environment_at: None,
        advanced_at,
        advanced_len,
        suffix_at,
        suffix_len: known,
        tag: tagged.then(|| f.raw(n - 1 - support_len) == "AOE"),
        extra_at,
        supporter_at: support.then_some(n - 1),
    };
    match prefix {
        Prefix::Swing => {}
        Prefix::Environmental if type_after_advanced => {
            layout.environment_at = Some(BASE_FIELDS + advanced_len)
        }
        Prefix::Environmental => layout.environment_at = Some(BASE_FIELDS),
        _ if prefix_len == 0 => {}
        _ => layout.spell_at = Some(BASE_FIELDS),
    }
    Ok(layout)
}

/// A unit GUID as the advanced block starts with: `Player-…`, `Creature-…`, or the
/// zero GUID of a block written with advanced logging off.
fn looks_like_guid(field: &str) -> bool {
    field == "0000000000000000"
        || (field.len() > 6 && field.contains('-') && field.as_bytes()[0].is_ascii_uppercase())
}

/// A decimal with a fraction (`-7549.43`, `0.00`, `1.5762`): digits around one dot, an
/// optional sign. A byte check, not a parse: it runs on every line.
fn looks_like_fraction(field: &str) -> bool {
    let digits = field.strip_prefix('-').unwrap_or(field).as_bytes();
    let mut dots = 0;
    for &b in digits {
        match b {
            b'.' => dots += 1,
            b'0'..=b'9' => {}
            _ => return false,
        }
    }
    dots == 1 && digits.len() > 1
}

/// The length of the advanced block starting at `at`, 0 when the line has none. Every
/// layout the game has written starts with the unit's and its owner's GUIDs and ends with
/// `x, y, uiMapID, facing, level` (the 15-field layout of `COMBAT_LOG_VERSION` 8 without
/// the map id), so the lengths cannot be confused: each puts its fractions elsewhere.
fn advanced_block_len(f: &Fields<'_>, at: usize, version: Option<i32>) -> usize {
    let n = f.len();
    if at + 2 > n || !looks_like_guid(f.raw(at)) || !looks_like_guid(f.raw(at + 1)) {
        return 0;
    }
    let fits = |len: usize| {
        if at + len > n {
            return false;
        }
        let tail = at + len;
        if len == ADVANCED_LEGION {
            // `x, y, level`.
            looks_like_fraction(f.raw(tail - 3))
                && looks_like_fraction(f.raw(tail - 2))
                && !looks_like_fraction(f.raw(tail - 1))
        } else if len == ADVANCED_WITHOUT_MAP {
            looks_like_fraction(f.raw(tail - 4))
                && looks_like_fraction(f.raw(tail - 3))
                && looks_like_fraction(f.raw(tail - 2))
        } else {
            looks_like_fraction(f.raw(tail - 5))
                && looks_like_fraction(f.raw(tail - 4))
                && !looks_like_fraction(f.raw(tail - 3))
                && looks_like_fraction(f.raw(tail - 2))
        }
    };
    let hinted = version.map(advanced_fields_for_version);
    hinted.into_iter().chain(ADVANCED_LENGTHS).find(|&len| fits(len)).unwrap_or(0)
}

fn field_count_error(
    n: usize,
    fixed: usize,
    shape: crate::layout::SuffixShape,
    advanced_len: usize,
    version: Option<i32>,
) -> ParseErrorKind {
    // Without a block, and with the one the line has or its header suggests.
    let hinted = version.map(advanced_fields_for_version);
    let blocks: Vec<usize> = if !shape.advanced {
        vec![0]
    } else if advanced_len > 0 {
        vec![advanced_len]
    } else {
        [Some(0), hinted].into_iter().flatten().collect()
    };
    let mut expected: Vec<usize> = blocks
        .iter()
        .flat_map(|&block| (shape.min..=shape.max).map(move |suffix| fixed + block + suffix))
        .collect();
    expected.sort_unstable();
    expected.dedup();
    ParseErrorKind::FieldCount { got: n, expected, version }
}

pub(crate) fn unit(f: &Fields<'_>, at: usize) -> Result<Unit, ParseErrorKind> {
    Ok(Unit {
        guid: f.guid(at).to_string(),
        name: f.text(at + 1).to_string(),
        flags: f.flags(at + 2, "unit flags")?,
        raid_flags: f.flags(at + 3, "raid flags")?,
    })
}

fn spell(f: &Fields<'_>, at: usize) -> Result<Spell, ParseErrorKind> {
    Ok(Spell {
        id: f.int32(at, "spell id")?,
        name: f.text(at + 1).to_string(),
        school: f.flags(at + 2, "spell school")?,
    })
}

fn advanced(f: &Fields<'_>, at: usize, len: usize) -> Result<AdvancedUnit, ParseErrorKind> {
    // After armor: two undocumented fields in 18 (Classic 1.15.5) and 19 (v22), an absorb
    // in 17 and 19. Then the tail, in a fixed order: power type, current, max, cost,
    // x, y, [uiMapID,] [facing,] level. Legion's 13 ([`ADVANCED_LEGION`]) has no armor,
    // map or facing: they read as 0.
    let legion = len == ADVANCED_LEGION;
    let unknown_pair = matches!(len, 18 | 19);
    let (v22_unknown_1, v22_unknown_2) = if unknown_pair {
        (f.int(at + 7, "advanced field after armor")?, f.int(at + 8, "advanced field after armor")?)
    } else {
        (0, 0)
    };
    let absorb_at = matches!(len, 17 | 19).then(|| at + 7 + 2 * usize::from(unknown_pair));
    let has_map = len != ADVANCED_WITHOUT_MAP && !legion;
    let has_facing = !legion;
    let p = at + len - 7 - usize::from(has_map) - usize::from(has_facing); // power type
    let facing_at = p + 6 + usize::from(has_map);
    Ok(AdvancedUnit {
        guid: f.guid(at).to_string(),
        owner_guid: f.guid(at + 1).to_string(),
        current_hp: f.int(at + 2, "current hp")?,
        max_hp: f.int(at + 3, "max hp")?,
        attack_power: f.int(at + 4, "attack power")?,
        spell_power: f.int(at + 5, "spell power")?,
        armor: if legion { 0 } else { f.int(at + 6, "armor")? },
        absorb: absorb_at.map(|i| f.int(i, "absorb")).transpose()?.unwrap_or(0),
        power_type: i32::try_from(f.first_of_multi(p, "power type")?).unwrap_or(-1),
        current_power: f.first_of_multi(p + 1, "current power")?,
        max_power: f.first_of_multi(p + 2, "max power")?,
        power_cost: f.first_of_multi(p + 3, "power cost")?,
        position_x: f.float(p + 4, "position x")?,
        position_y: f.float(p + 5, "position y")?,
        ui_map_id: if has_map { f.int32(p + 6, "ui map id")? } else { 0 },
        facing: if has_facing { f.float(facing_at, "facing")? } else { 0.0 },
        level: f.int32(facing_at + usize::from(has_facing), "level")?,
        v22_unknown_1,
        v22_unknown_2,
    })
}

fn aura_type(f: &Fields<'_>, at: usize) -> Result<AuraType, ParseErrorKind> {
    match f.raw(at) {
        "BUFF" => Ok(AuraType::Buff),
        "DEBUFF" => Ok(AuraType::Debuff),
        other => Err(ParseErrorKind::BadValue {
            field: "aura type",
            index: at,
            value: other.chars().take(64).collect(),
            expected: "BUFF or DEBUFF",
        }),
    }
}

/// A damage or heal suffix's amount and base amount, and where the fields after the base
/// amount start: a suffix of `legion_len` fields (Legion's) has no base amount, and the
/// amount stands for it.
fn amount_and_base(
    f: &Fields<'_>,
    at: usize,
    len: usize,
    legion_len: usize,
) -> Result<(i64, i64, usize), ParseErrorKind> {
    let amount = f.int(at, "amount")?;
    if len > legion_len {
        Ok((amount, f.int(at + 1, "base amount")?, at + 1))
    } else {
        Ok((amount, amount, at))
    }
}

fn payload(
    f: &Fields<'_>,
    suffix: Suffix,
    layout: &Layout,
    supporter_guid: Option<String>,
    environmental_type: Option<String>,
) -> Result<Payload, ParseErrorKind> {
    let s = layout.suffix_at;
    let len = layout.suffix_len;
    let optional = |k: usize| (k < len).then_some(s + k);
    Ok(match suffix {
        Suffix::Damage | Suffix::DamageLanded => {
            let (amount, base_amount, o) = amount_and_base(f, s, len, 9)?;
            Payload::Damage(Damage {
                amount,
                base_amount,
                overkill: f.int(o + 1, "overkill")?,
                school: f.flags(o + 2, "school")?,
                resisted: f.int(o + 3, "resisted")?,
                blocked: f.int(o + 4, "blocked")?,
                absorbed: f.int(o + 5, "absorbed")?,
                critical: f.flag(o + 6, "critical")?,
                glancing: f.flag(o + 7, "glancing")?,
                crushing: f.flag(o + 8, "crushing")?,
                aoe: layout.tag,
                environmental_type,
                supporter_guid,
            })
        }
        Suffix::Missed => Payload::Missed(Missed {
            miss_type: f.text(s).to_string(),
            offhand: f.flag(s + 1, "offhand")?,
            amount_missed: optional(2).map(|i| f.int(i, "amount missed")).transpose()?,
            base_amount: optional(3).map(|i| f.int(i, "base amount")).transpose()?,
            critical: optional(4).map(|i| f.flag(i, "critical")).transpose()?.unwrap_or(false),
        }),
        Suffix::Heal => {
            let (amount, base_amount, o) = amount_and_base(f, s, len, 4)?;
            Payload::Heal(Heal {
                amount,
                base_amount,
                overhealing: f.int(o + 1, "overhealing")?,
                absorbed: f.int(o + 2, "absorbed")?,
                critical: f.flag(o + 3, "critical")?,
                supporter_guid,
            })
        }
        Suffix::HealAbsorbed => Payload::HealAbsorbed(HealAbsorbed {
            healer: unit(f, s)?,
            heal_spell: spell(f, s + 4)?,
            absorbed_amount: f.int(s + 7, "absorbed amount")?,
            total_amount: f.int(s + 8, "total amount")?,
        }),
        Suffix::Absorbed => Payload::Absorbed(Absorbed {
            caster: unit(f, s)?,
            absorb_spell: spell(f, s + 4)?,
            amount: f.int(s + 7, "absorbed amount")?,
            unmitigated_amount: optional(8).map(|i| f.int(i, "unmitigated amount")).transpose()?,
            critical: optional(9).map(|i| f.flag(i, "critical")).transpose()?.unwrap_or(false),
        }),
        Suffix::Energize => Payload::Energize(Energize {
            amount: f.float(s, "amount")?,
            over_energize: f.float(s + 1, "over energize")?,
            power_type: f.int32(s + 2, "power type")?,
            max_power: f.int(s + 3, "max power")?,
        }),
        Suffix::Drain | Suffix::Leech => Payload::Drain(Drain {
            amount: f.int(s, "amount")?,
            power_type: f.int32(s + 1, "power type")?,
            extra_amount: f.int(s + 2, "extra amount")?,
            max_power: optional(3).map(|i| f.int(i, "max power")).transpose()?,
        }),
        Suffix::Interrupt => Payload::Interrupt(Interrupt { interrupted: spell(f, s)? }),
        Suffix::Dispel | Suffix::Stolen | Suffix::AuraBrokenSpell | Suffix::DispelFailed => {
            Payload::Dispel(Dispel {
                extra_spell: spell(f, s)?,
                aura_type: optional(3).map(|i| aura_type(f, i)).transpose()?,
            })
        }
        Suffix::ExtraAttacks => Payload::ExtraAttacks(ExtraAttacks { amount: f.int(s, "amount")? }),
        Suffix::AuraApplied
        | Suffix::AuraRemoved
        | Suffix::AuraRefresh
        | Suffix::AuraAppliedDose
        | Suffix::AuraRemovedDose
        | Suffix::AuraBroken => Payload::Aura(Aura {
            aura_type: aura_type(f, s)?,
            amount: optional(1).map(|i| f.int(i, "amount")).transpose()?,
        }),
        Suffix::CastStart | Suffix::CastSuccess => Payload::Cast(Cast { failed_reason: None }),
        Suffix::CastFailed => Payload::Cast(Cast { failed_reason: Some(f.text(s).to_string()) }),
        Suffix::Instakill => Payload::Death(Death {
            unconscious_on_death: optional(0).map(|i| f.flag(i, "unconscious")).transpose()?.unwrap_or(false),
        }),
        Suffix::Create | Suffix::Summon => Payload::Summon(Summon {}),
        Suffix::EmpowerStart | Suffix::EmpowerEnd | Suffix::EmpowerInterrupt => {
            Payload::Empower(Empower { rank: optional(0).map(|i| f.int32(i, "empower rank")).transpose()? })
        }
        Suffix::DurabilityDamage | Suffix::DurabilityDamageAll | Suffix::Resurrect => Payload::None,
    })
}
