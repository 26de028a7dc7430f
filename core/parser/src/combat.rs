//! Prefix + suffix combat events (`SPELL_DAMAGE`, `SWING_MISSED`, `SPELL_AURA_APPLIED`, ...).

use crate::error::ParseErrorKind;
use crate::fields::Fields;
use crate::layout::{BASE_FIELDS, Prefix, Suffix, advanced_candidates};
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
}

/// Where each block starts on one line, chosen from its field count.
struct Layout {
    spell_at: Option<usize>,
    environment_at: Option<usize>,
    advanced_at: usize,
    advanced_len: usize,
    suffix_at: usize,
    suffix_len: usize,
    supporter_at: Option<usize>,
}

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
    Ok(CombatParts { source, target, spell, advanced, payload })
}

fn choose_layout(
    f: &Fields<'_>,
    prefix: Prefix,
    suffix: Suffix,
    support: bool,
    version: Option<i32>,
) -> Result<Layout, ParseErrorKind> {
    let n = f.len();
    let support_len = usize::from(support);
    let shape = suffix.shape();
    let mut prefix_len = prefix.fields();
    // Melee absorbs (`SPELL_ABSORBED` without a damaging spell) are 3 fields shorter.
    let prefix_optional = suffix == Suffix::Absorbed && prefix == Prefix::Spell;
    if prefix_optional && n >= BASE_FIELDS + support_len + shape.min {
        let rest = n - BASE_FIELDS - support_len;
        if rest <= shape.max {
            prefix_len = 0;
        }
    }
    let candidates: &[usize] = if shape.advanced { advanced_candidates(version) } else { &[0] };
    let tag_allowed =
        |advanced_len: usize| advanced_len == 19 || (advanced_len == 0 && version.is_none_or(|v| v >= 22));
    let fixed = BASE_FIELDS + prefix_len + support_len;
    let is_damage = matches!(suffix, Suffix::Damage | Suffix::DamageLanded);
    let found = n.checked_sub(fixed).and_then(|rest| {
        candidates.iter().copied().find_map(|advanced_len| {
            let suffix_len = rest.checked_sub(advanced_len)?;
            let fits = (shape.min..=shape.max).contains(&suffix_len)
                && (!is_damage
                    || suffix_len == shape.min
                    || (tag_allowed(advanced_len) && matches!(f.raw(n - 1 - support_len), "ST" | "AOE")));
            fits.then_some((advanced_len, suffix_len))
        })
    });
    let Some((advanced_len, suffix_len)) = found else {
        let full_fixed = BASE_FIELDS + prefix.fields() + support_len;
        return Err(field_count_error(
            n,
            full_fixed,
            prefix_optional,
            shape,
            candidates,
            is_damage,
            version,
            tag_allowed,
        ));
    };

    let mut layout = Layout {
        spell_at: None,
        environment_at: None,
        advanced_at: BASE_FIELDS,
        advanced_len,
        suffix_at: BASE_FIELDS,
        suffix_len,
        supporter_at: support.then_some(n - 1),
    };
    match prefix {
        Prefix::Swing => {}
        Prefix::Environmental => {
            // Retail writes the environmental type after the advanced block; older logs
            // before it. The type is a word, the advanced block starts with a GUID.
            let first = f.text(BASE_FIELDS);
            if ENVIRONMENTAL_TYPES.iter().any(|t| t.eq_ignore_ascii_case(first)) {
                layout.environment_at = Some(BASE_FIELDS);
                layout.advanced_at = BASE_FIELDS + 1;
            } else {
                layout.environment_at = Some(BASE_FIELDS + advanced_len);
            }
        }
        _ if prefix_len == 0 => {}
        _ => {
            layout.spell_at = Some(BASE_FIELDS);
            layout.advanced_at = BASE_FIELDS + 3;
        }
    }
    layout.suffix_at = BASE_FIELDS + prefix_len + advanced_len;
    Ok(layout)
}

#[allow(clippy::too_many_arguments)]
fn field_count_error(
    n: usize,
    full_fixed: usize,
    prefix_optional: bool,
    shape: crate::layout::SuffixShape,
    candidates: &[usize],
    is_damage: bool,
    version: Option<i32>,
    tag_allowed: impl Fn(usize) -> bool,
) -> ParseErrorKind {
    let mut expected = Vec::new();
    // `full_fixed` counts the prefix; melee absorbs may leave the 3 spell fields out.
    let fixed_options: &[usize] = if prefix_optional { &[full_fixed - 3, full_fixed] } else { &[full_fixed] };
    for &base in fixed_options {
        for &advanced_len in candidates {
            for suffix_len in shape.min..=shape.max {
                if is_damage && suffix_len > shape.min && !tag_allowed(advanced_len) {
                    continue;
                }
                expected.push(base + advanced_len + suffix_len);
            }
        }
    }
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
    // Offsets after armor move with the layout: v20+ adds absorb, v22 two more fields.
    let ((v22_unknown_1, v22_unknown_2), absorb_at) = match len {
        19 => ((f.int(at + 7, "advanced v22 field")?, f.int(at + 8, "advanced v22 field")?), Some(at + 9)),
        17 => ((0, 0), Some(at + 7)),
        _ => ((0, 0), None),
    };
    let p = at + len - 9; // power type; the last nine fields have a fixed order
    Ok(AdvancedUnit {
        guid: f.guid(at).to_string(),
        owner_guid: f.guid(at + 1).to_string(),
        current_hp: f.int(at + 2, "current hp")?,
        max_hp: f.int(at + 3, "max hp")?,
        attack_power: f.int(at + 4, "attack power")?,
        spell_power: f.int(at + 5, "spell power")?,
        armor: f.int(at + 6, "armor")?,
        absorb: absorb_at.map(|i| f.int(i, "absorb")).transpose()?.unwrap_or(0),
        power_type: i32::try_from(f.first_of_multi(p, "power type")?).unwrap_or(-1),
        current_power: f.first_of_multi(p + 1, "current power")?,
        max_power: f.first_of_multi(p + 2, "max power")?,
        power_cost: f.first_of_multi(p + 3, "power cost")?,
        position_x: f.float(p + 4, "position x")?,
        position_y: f.float(p + 5, "position y")?,
        ui_map_id: f.int32(p + 6, "ui map id")?,
        facing: f.float(p + 7, "facing")?,
        level: f.int32(p + 8, "level")?,
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
        Suffix::Damage | Suffix::DamageLanded => Payload::Damage(Damage {
            amount: f.int(s, "amount")?,
            base_amount: f.int(s + 1, "base amount")?,
            overkill: f.int(s + 2, "overkill")?,
            school: f.flags(s + 3, "school")?,
            resisted: f.int(s + 4, "resisted")?,
            blocked: f.int(s + 5, "blocked")?,
            absorbed: f.int(s + 6, "absorbed")?,
            critical: f.flag(s + 7, "critical")?,
            glancing: f.flag(s + 8, "glancing")?,
            crushing: f.flag(s + 9, "crushing")?,
            aoe: optional(10).map(|i| f.raw(i) == "AOE"),
            environmental_type,
            supporter_guid,
        }),
        Suffix::Missed => Payload::Missed(Missed {
            miss_type: f.text(s).to_string(),
            offhand: f.flag(s + 1, "offhand")?,
            amount_missed: optional(2).map(|i| f.int(i, "amount missed")).transpose()?,
            base_amount: optional(3).map(|i| f.int(i, "base amount")).transpose()?,
            critical: optional(4).map(|i| f.flag(i, "critical")).transpose()?.unwrap_or(false),
        }),
        Suffix::Heal => Payload::Heal(Heal {
            amount: f.int(s, "amount")?,
            base_amount: f.int(s + 1, "base amount")?,
            overhealing: f.int(s + 2, "overhealing")?,
            absorbed: f.int(s + 3, "absorbed")?,
            critical: f.flag(s + 4, "critical")?,
            supporter_guid,
        }),
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
