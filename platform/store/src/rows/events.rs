//! `combat_events` and `dead_letters`: the raw event log and what could not join it.

use super::datetime;
use wowlogs_schemas::{CombatEvent, DeadLetter, Payload};

crate::table_row! {
    /// `combat_events`: one row per event.
    pub struct CombatEventRow in "combat_events" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        line: i64 = "Int64",
        timestamp: u32 = "DateTime('UTC')",
        timestamp_ms: i64 = "Int64",
        event_type: String = "String",
        source_guid: String = "String",
        source_name: String = "String",
        source_flags: u32 = "UInt32",
        target_guid: String = "String",
        target_name: String = "String",
        target_flags: u32 = "UInt32",
        spell_id: i32 = "Int32",
        spell_name: String = "String",
        spell_school: u32 = "UInt32",
        amount: i64 = "Int64",
        overkill: i64 = "Int64",
        overhealing: i64 = "Int64",
        absorbed: i64 = "Int64",
        critical: u8 = "UInt8",
        miss_type: String = "String",
        aura_type: String = "String",
        advanced_guid: String = "String",
        advanced_owner_guid: String = "String",
        current_hp: i64 = "Int64",
        max_hp: i64 = "Int64",
        position_x: f64 = "Float64",
        position_y: f64 = "Float64",
        level: i32 = "Int32",
        raw: String = "String",
        version: u64 = "UInt64",
    }
}

impl CombatEventRow {
    /// The row of an event: the typed fields an analyst filters and sums on, flattened.
    pub fn from_event(event: &CombatEvent, version: u64) -> Self {
        let (source_guid, source_name, source_flags) = unit(event.source.as_ref());
        let (target_guid, target_name, target_flags) = unit(event.target.as_ref());
        let spell = event.spell.as_ref();
        let advanced = event.advanced.as_ref();
        let (mut amount, mut overkill, mut overhealing, mut absorbed, mut critical) = (0, 0, 0, 0, false);
        let (mut miss_type, mut aura_type) = (String::new(), String::new());
        match &event.payload {
            Payload::Damage(d) => {
                (amount, overkill, absorbed, critical) = (d.amount, d.overkill, d.absorbed, d.critical);
            }
            Payload::Heal(h) => {
                (amount, overhealing, absorbed, critical) = (h.amount, h.overhealing, h.absorbed, h.critical);
            }
            Payload::Absorbed(a) => (amount, critical) = (a.amount, a.critical),
            Payload::Missed(m) => {
                miss_type = m.miss_type.clone();
                amount = m.amount_missed.unwrap_or(0);
                critical = m.critical;
            }
            Payload::Aura(a) => {
                aura_type = format!("{:?}", a.aura_type).to_uppercase();
                amount = a.amount.unwrap_or(0);
            }
            Payload::Energize(e) => amount = e.amount as i64,
            Payload::Drain(d) => amount = d.amount,
            Payload::ExtraAttacks(e) => amount = e.amount,
            _ => {}
        }
        CombatEventRow {
            guild_id: event.guild_id.0,
            log_id: event.log_id.0,
            line: event.line,
            timestamp: datetime(event.timestamp_ms),
            timestamp_ms: event.timestamp_ms,
            event_type: event.event_type.to_string(),
            source_guid,
            source_name,
            source_flags,
            target_guid,
            target_name,
            target_flags,
            spell_id: spell.map_or(0, |s| s.id),
            spell_name: spell.map_or_else(String::new, |s| s.name.clone()),
            spell_school: spell.map_or(0, |s| s.school),
            amount,
            overkill,
            overhealing,
            absorbed,
            critical: u8::from(critical),
            miss_type,
            aura_type,
            advanced_guid: advanced.map_or_else(String::new, |a| a.guid.clone()),
            advanced_owner_guid: advanced.map_or_else(String::new, |a| a.owner_guid.clone()),
            current_hp: advanced.map_or(0, |a| a.current_hp),
            max_hp: advanced.map_or(0, |a| a.max_hp),
            position_x: advanced.map_or(0.0, |a| a.position_x),
            position_y: advanced.map_or(0.0, |a| a.position_y),
            level: advanced.map_or(0, |a| a.level),
            raw: event.raw.clone(),
            version,
        }
    }
}

fn unit(unit: Option<&wowlogs_schemas::Unit>) -> (String, String, u32) {
    unit.map_or_else(|| (String::new(), String::new(), 0), |u| (u.guid.clone(), u.name.clone(), u.flags))
}

crate::table_row! {
    /// `dead_letters`: one row per refused line or record.
    pub struct DeadLetterRow in "dead_letters" {
        guild_id: i64 = "Int64",
        log_id: i64 = "Int64",
        upload_id: String = "String",
        source: String = "String",
        line: i64 = "Int64",
        event: String = "String",
        code: String = "String",
        message: String = "String",
        raw: String = "String",
        timestamp: u32 = "DateTime('UTC')",
        timestamp_ms: i64 = "Int64",
        version: u64 = "UInt64",
    }
}

impl DeadLetterRow {
    /// The raw bytes are stored as text with invalid UTF-8 replaced (ClickHouse
    /// `String` holds bytes, but the row's serde type is `String`).
    pub fn from_letter(letter: &DeadLetter, version: u64) -> Self {
        DeadLetterRow {
            guild_id: letter.guild_id.0,
            log_id: letter.log_id.0,
            upload_id: letter.upload_id.clone(),
            source: letter.source.clone(),
            line: letter.line,
            event: letter.event.clone().unwrap_or_default(),
            code: letter.code.clone(),
            message: letter.message.clone(),
            raw: String::from_utf8_lossy(&letter.raw).into_owned(),
            timestamp: datetime(letter.timestamp_ms),
            timestamp_ms: letter.timestamp_ms,
            version,
        }
    }
}
