//! Events that are not prefix + suffix combinations: fights, zones, deaths, headers.

use crate::combat::unit;
use crate::combatant;
use crate::error::ParseErrorKind;
use crate::fields::Fields;
use crate::layout::{BASE_FIELDS, Special};
use wowlogs_schemas::{
    ArenaMatchEnd, ArenaMatchStart, ChallengeModeEnd, ChallengeModeStart, Death, Emote, Enchant,
    EncounterEnd, EncounterStart, LogVersion, MapChange, Payload, Unit, ZoneChange,
};

/// The parts of a special event after the timestamp and name.
pub(crate) struct SpecialParts {
    pub source: Option<Unit>,
    pub target: Option<Unit>,
    pub payload: Payload,
    /// Fields after the ones known for the event, verbatim.
    pub extra: Vec<String>,
}

impl SpecialParts {
    fn payload(payload: Payload) -> Self {
        Self { source: None, target: None, payload, extra: Vec::new() }
    }
}

/// Field count limit for splitting: `EMOTE` text is verbatim from its sixth field on.
pub(crate) fn max_fields(special: Special) -> usize {
    match special {
        Special::Emote => 6,
        _ => usize::MAX,
    }
}

pub(crate) fn parse(f: &Fields<'_>, special: Special) -> Result<SpecialParts, ParseErrorKind> {
    let all = f.len();
    // Fields after the most an event is known to have are a later patch's additions:
    // kept as extras, never a reason to refuse the line.
    let mut known = all;
    let mut parts = match special {
        Special::EncounterStart => {
            // Classic writes one more, undocumented field after the instance id; Legion
            // (`COMBAT_LOG_VERSION` 4) none: its instance id reads 0, unknown.
            known = expect(all, 5, 7)?;
            SpecialParts::payload(Payload::EncounterStart(EncounterStart {
                encounter_id: f.int32(1, "encounter id")?,
                encounter_name: f.text(2).to_string(),
                difficulty_id: f.int32(3, "difficulty id")?,
                group_size: f.int32(4, "group size")?,
                instance_id: if known > 5 { f.int32(5, "instance id")? } else { 0 },
            }))
        }
        Special::EncounterEnd => {
            known = expect(all, 6, 7)?;
            SpecialParts::payload(Payload::EncounterEnd(EncounterEnd {
                encounter_id: f.int32(1, "encounter id")?,
                encounter_name: f.text(2).to_string(),
                difficulty_id: f.int32(3, "difficulty id")?,
                group_size: f.int32(4, "group size")?,
                success: f.flag(5, "success")?,
                fight_time_ms: if known > 6 { Some(f.int(6, "fight time")?) } else { None },
            }))
        }
        Special::ChallengeModeStart => {
            known = expect(all, 5, 6)?;
            SpecialParts::payload(Payload::ChallengeModeStart(ChallengeModeStart {
                zone_name: f.text(1).to_string(),
                instance_id: f.int32(2, "instance id")?,
                challenge_mode_id: f.int32(3, "challenge mode id")?,
                keystone_level: f.int32(4, "keystone level")?,
                affixes: if known > 5 { affixes(f, 5)? } else { Vec::new() },
            }))
        }
        Special::ChallengeModeEnd => {
            known = expect(all, 5, usize::MAX)?;
            SpecialParts::payload(Payload::ChallengeModeEnd(ChallengeModeEnd {
                instance_id: f.int32(1, "instance id")?,
                success: f.flag(2, "success")?,
                keystone_level: f.int32(3, "keystone level")?,
                total_time_ms: f.int(4, "total time")?,
                extra_fields: f.raw_from(5).map(str::to_string).collect(),
            }))
        }
        Special::ArenaMatchStart => {
            known = expect(all, 5, 5)?;
            SpecialParts::payload(Payload::ArenaMatchStart(ArenaMatchStart {
                instance_id: f.int32(1, "instance id")?,
                unknown_id: f.int32(2, "unknown id")?,
                match_type: f.text(3).to_string(),
                rated: f.flag(4, "rated")?,
            }))
        }
        Special::ArenaMatchEnd => {
            known = expect(all, 5, 5)?;
            SpecialParts::payload(Payload::ArenaMatchEnd(ArenaMatchEnd {
                winning_team: f.int32(1, "winning team")?,
                duration_s: f.int32(2, "match duration")?,
                new_rating_team0: f.int32(3, "new rating")?,
                new_rating_team1: f.int32(4, "new rating")?,
            }))
        }
        Special::ZoneChange => {
            known = expect(all, 4, 4)?;
            SpecialParts::payload(Payload::ZoneChange(ZoneChange {
                instance_id: f.int32(1, "instance id")?,
                zone_name: f.text(2).to_string(),
                difficulty_id: f.int32(3, "difficulty id")?,
            }))
        }
        Special::MapChange => {
            known = expect(all, 7, 7)?;
            SpecialParts::payload(Payload::MapChange(MapChange {
                ui_map_id: f.int32(1, "ui map id")?,
                map_name: f.text(2).to_string(),
                x0: f.float(3, "x0")?,
                x1: f.float(4, "x1")?,
                y0: f.float(5, "y0")?,
                y1: f.float(6, "y1")?,
            }))
        }
        Special::CombatLogVersion => {
            known = expect(all, 2, usize::MAX)?;
            SpecialParts::payload(Payload::LogVersion(log_version(f)?))
        }
        Special::CombatantInfo => SpecialParts::payload(combatant::parse(f)?),
        Special::Emote => {
            known = expect(all, 6, 6)?;
            let named = |guid: usize| Unit {
                guid: f.guid(guid).to_string(),
                name: f.text(guid + 1).to_string(),
                flags: 0,
                raid_flags: 0,
            };
            SpecialParts {
                source: Some(named(1)),
                target: Some(named(3)),
                payload: Payload::Emote(Emote { text: f.raw(5).to_string() }),
                extra: Vec::new(),
            }
        }
        Special::Death => {
            known = expect(all, BASE_FIELDS, BASE_FIELDS + 1)?;
            SpecialParts {
                source: Some(unit(f, 1)?),
                target: Some(unit(f, 5)?),
                payload: Payload::Death(Death {
                    unconscious_on_death: known > BASE_FIELDS && f.flag(BASE_FIELDS, "unconscious")?,
                }),
                extra: Vec::new(),
            }
        }
        Special::Enchant => {
            known = expect(all, BASE_FIELDS + 3, BASE_FIELDS + 3)?;
            SpecialParts {
                source: Some(unit(f, 1)?),
                target: Some(unit(f, 5)?),
                payload: Payload::Enchant(Enchant {
                    spell_name: f.text(BASE_FIELDS).to_string(),
                    item_id: f.int(BASE_FIELDS + 1, "item id")?,
                    item_name: f.text(BASE_FIELDS + 2).to_string(),
                }),
                extra: Vec::new(),
            }
        }
    };
    parts.extra = f.raw_from(known).map(str::to_string).collect();
    Ok(parts)
}

/// How many of `all` fields an event with `min..=max` known fields reads; fewer than
/// `min` is a truncated or malformed line.
fn expect(all: usize, min: usize, max: usize) -> Result<usize, ParseErrorKind> {
    if all < min {
        let expected = if max == usize::MAX { vec![min] } else { (min..=max).collect() };
        return Err(ParseErrorKind::FieldCount { got: all, expected, version: None });
    }
    Ok(all.min(max))
}

/// `[10,123,4,121]` (or a bare id on old clients).
fn affixes(f: &Fields<'_>, at: usize) -> Result<Vec<i32>, ParseErrorKind> {
    let raw = f.raw(at);
    let inner = raw.trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim().parse::<i32>().map_err(|_| ParseErrorKind::BadNumber {
                field: "affix id",
                index: at,
                value: raw.chars().take(64).collect(),
            })
        })
        .collect()
}

/// `COMBAT_LOG_VERSION,21,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.0.2,PROJECT_ID,1`
fn log_version(f: &Fields<'_>) -> Result<LogVersion, ParseErrorKind> {
    let mut version = LogVersion {
        version: f.int32(1, "version")?,
        advanced_log_enabled: false,
        build_version: String::new(),
        project_id: 0,
    };
    let mut i = 2;
    while i + 1 < f.len() {
        match f.raw(i) {
            "ADVANCED_LOG_ENABLED" => version.advanced_log_enabled = f.flag(i + 1, "advanced log enabled")?,
            "BUILD_VERSION" => version.build_version = f.text(i + 1).to_string(),
            "PROJECT_ID" => version.project_id = f.int32(i + 1, "project id")?,
            _ => {}
        }
        i += 2;
    }
    Ok(version)
}
