//! Per-fight, per-player metrics. The definitions here are the contract documented in
//! docs/metrics.md; tests recompute them independently.

use crate::owners::Owners;
use crate::specs::class_of_spec;
use rustc_hash::FxHashMap;
use wowlogs_schemas::{CombatEvent, DeathRecord, KillingBlow, Payload, PlayerMetrics, UnitFlags};

/// Damage events whose `amount` counts as damage done and taken. `*_SUPPORT` and
/// `SWING_DAMAGE_LANDED` repeat damage already logged, so they are not here.
pub const DAMAGE_EVENTS: [&str; 7] = [
    "SWING_DAMAGE",
    "RANGE_DAMAGE",
    "SPELL_DAMAGE",
    "SPELL_PERIODIC_DAMAGE",
    "SPELL_BUILDING_DAMAGE",
    "DAMAGE_SHIELD",
    "DAMAGE_SPLIT",
];

/// Healing events whose `amount - overhealing` counts as healing done.
pub const HEAL_EVENTS: [&str; 2] = ["SPELL_HEAL", "SPELL_PERIODIC_HEAL"];

/// What the game knows of a player from `COMBATANT_INFO`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Combatant {
    pub spec_id: i32,
    pub item_level: Option<f64>,
}

#[derive(Debug, Default)]
struct Totals {
    name: String,
    damage_done: i64,
    healing_done: i64,
    overhealing: i64,
    absorbs_done: i64,
    damage_taken: i64,
    deaths: i64,
    casts: i64,
    combatant: Option<Combatant>,
}

/// Accumulates one fight's metrics from its events.
#[derive(Debug)]
pub struct FightMetrics {
    start_ms: i64,
    players: FxHashMap<String, Totals>,
    last_hit: FxHashMap<String, KillingBlow>,
    deaths: Vec<DeathRecord>,
}

impl FightMetrics {
    pub fn new(start_ms: i64) -> Self {
        Self { start_ms, players: FxHashMap::default(), last_hit: FxHashMap::default(), deaths: Vec::new() }
    }

    fn totals(&mut self, guid: &str) -> &mut Totals {
        if !self.players.contains_key(guid) {
            self.players.insert(guid.to_string(), Totals::default());
        }
        self.players.get_mut(guid).expect("inserted above")
    }

    fn seen(&mut self, guid: &str, name: &str) {
        let totals = self.totals(guid);
        if totals.name.is_empty() && !name.is_empty() {
            totals.name = name.to_string();
        }
    }

    /// Adds one event of the fight.
    pub fn apply(&mut self, event: &CombatEvent, owners: &Owners) {
        for unit in [&event.source, &event.target].into_iter().flatten() {
            if unit.is_player() {
                self.seen(&unit.guid, &unit.name);
            }
        }
        let name = event.event_type.as_ref();
        match &event.payload {
            Payload::Damage(damage) => {
                let (Some(source), Some(target)) = (&event.source, &event.target) else { return };
                let counted = DAMAGE_EVENTS.contains(&name);
                if counted
                    && UnitFlags(source.flags).reaction() != UnitFlags(target.flags).reaction()
                    && let Some(player) = owners.player_of(&source.guid)
                {
                    self.totals(player).damage_done += damage.amount;
                }
                if (counted || name == "ENVIRONMENTAL_DAMAGE") && target.is_player() {
                    self.totals(&target.guid).damage_taken += damage.amount;
                    let ability = match (&event.spell, &damage.environmental_type) {
                        (Some(spell), _) => spell.name.as_str(),
                        (None, Some(environment)) => environment.as_str(),
                        (None, None) => "Melee",
                    };
                    if !self.last_hit.contains_key(&target.guid) {
                        self.last_hit.insert(target.guid.clone(), KillingBlow::default());
                    }
                    let hit = self.last_hit.get_mut(&target.guid).expect("inserted above");
                    // Reuse the strings' buffers: this runs for every hit on a player.
                    replace(&mut hit.ability, ability);
                    replace(&mut hit.source_guid, &source.guid);
                    replace(&mut hit.source_name, &source.name);
                    hit.spell_id = event.spell.as_ref().map(|s| s.id);
                    hit.amount = damage.amount;
                    hit.overkill = damage.overkill.max(0);
                }
            }
            Payload::Heal(heal) if HEAL_EVENTS.contains(&name) => {
                if let Some(player) = event.source.as_ref().and_then(|s| owners.player_of(&s.guid)) {
                    let totals = self.totals(player);
                    totals.healing_done += heal.amount - heal.overhealing;
                    totals.overhealing += heal.overhealing;
                }
            }
            Payload::Absorbed(absorbed) if name == "SPELL_ABSORBED" => {
                if let Some(player) = owners.player_of(&absorbed.caster.guid) {
                    self.totals(player).absorbs_done += absorbed.amount;
                }
            }
            Payload::Cast(_) if name == "SPELL_CAST_SUCCESS" => {
                if let Some(source) = event.source.as_ref().filter(|s| s.is_player()) {
                    self.totals(&source.guid).casts += 1;
                }
            }
            Payload::Death(death) if name == "UNIT_DIED" && !death.unconscious_on_death => {
                let Some(target) = event.target.as_ref().filter(|t| t.is_player()) else { return };
                self.totals(&target.guid).deaths += 1;
                self.deaths.push(DeathRecord {
                    guid: target.guid.clone(),
                    name: target.name.clone(),
                    timestamp_ms: event.timestamp_ms,
                    fight_time_ms: event.timestamp_ms - self.start_ms,
                    line: event.line,
                    killing_blow: self.last_hit.remove(&target.guid),
                });
            }
            Payload::CombatantInfo(info) => {
                self.totals(&info.player_guid).combatant =
                    Some(Combatant { spec_id: info.spec_id, item_level: info.average_item_level() });
            }
            _ => {}
        }
    }

    /// The fight's player rows (sorted by damage done) and deaths. Players without a
    /// `COMBATANT_INFO` in this fight take the latest one the log had before.
    pub fn finish(
        self,
        duration_ms: i64,
        known: &FxHashMap<String, Combatant>,
    ) -> (Vec<PlayerMetrics>, Vec<DeathRecord>) {
        let seconds = duration_ms as f64 / 1000.0;
        let per_second = |total: i64| if seconds > 0.0 { total as f64 / seconds } else { 0.0 };
        let mut players: Vec<PlayerMetrics> = self
            .players
            .into_iter()
            .map(|(guid, t)| {
                let combatant = t.combatant.or_else(|| known.get(&guid).copied());
                PlayerMetrics {
                    name: t.name,
                    class: combatant.and_then(|c| class_of_spec(c.spec_id)).map(str::to_string),
                    spec_id: combatant.map(|c| c.spec_id).filter(|&id| id != 0),
                    item_level: combatant.and_then(|c| c.item_level),
                    damage_done: t.damage_done,
                    healing_done: t.healing_done,
                    overhealing: t.overhealing,
                    absorbs_done: t.absorbs_done,
                    damage_taken: t.damage_taken,
                    deaths: t.deaths,
                    casts: t.casts,
                    dps: per_second(t.damage_done),
                    hps: per_second(t.healing_done),
                    guid,
                }
            })
            .collect();
        players.sort_by(|a, b| {
            b.damage_done
                .cmp(&a.damage_done)
                .then(b.healing_done.cmp(&a.healing_done))
                .then(a.guid.cmp(&b.guid))
        });
        (players, self.deaths)
    }
}

fn replace(buffer: &mut String, text: &str) {
    buffer.clear();
    buffer.push_str(text);
}
