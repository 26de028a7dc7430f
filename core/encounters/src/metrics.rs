//! Per-fight, per-player metrics. The definitions here are the contract documented in
//! docs/metrics.md; tests recompute them independently.

use crate::abilities::{
    AuraChange, AuraTable, Done, DoneTable, MAX_ABILITIES_PER_PLAYER, MAX_DETAILED_PLAYERS,
    MAX_TAKEN_PER_PLAYER,
};
use crate::bosses::{BossTracker, PullEnd};
use crate::owners::Owners;
use crate::recap::{RECAP_MAX_CHARS, Recaps, Taken};
use crate::specs::class_of_spec;
use rustc_hash::{FxHashMap, FxHashSet};
use wowlogs_schemas::{
    AbilityDamage, AbilityKind, AuraType, CombatEvent, DeathRecord, KillingBlow, Payload, PlayerMetrics,
    RecapKind, RemovalKind, Spell, SpellRemoval, UnitFlags, cut_chars,
};

/// Abilities a fight lists in `damage_taken_by_ability` (the most damaging).
pub const MAX_ABILITIES_TAKEN: usize = 25;
/// Distinct abilities one fight counts damage taken for; past it, new abilities are not
/// counted (a real pull has a few hundred; a crafted log could name millions).
pub const MAX_ABILITIES_COUNTED: usize = 4_096;
/// Interrupts, dispels and spellsteals one fight lists (a Mythic+ run has a few hundred);
/// the players' counts go on past it.
pub const MAX_REMOVALS: usize = 1_000;

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
    interrupts: i64,
    dispels: i64,
    combatant: Option<Combatant>,
    /// Whether this player has ability and aura tables (the fight's first
    /// [`MAX_DETAILED_PLAYERS`]).
    detailed: bool,
    done: DoneTable,
    taken: DoneTable,
    auras: AuraTable,
}

#[derive(Debug, Default)]
struct AbilityTotals {
    ability: String,
    spell_id: Option<i32>,
    amount: i64,
    absorbed: i64,
    hits: i64,
    players: FxHashSet<String>,
    killing_blows: i64,
}

/// What a fight's events add up to.
#[derive(Debug)]
pub struct Finished {
    /// By damage done, highest first.
    pub players: Vec<PlayerMetrics>,
    /// In order, each with its recap.
    pub deaths: Vec<DeathRecord>,
    /// Boss fights: the bosses when the pull ended.
    pub boss: Option<PullEnd>,
    /// The most damaging abilities to the players, most first.
    pub damage_taken_by_ability: Vec<AbilityDamage>,
    /// The players' interrupts, dispels and spellsteals in order.
    pub removals: Vec<SpellRemoval>,
}

/// Accumulates one fight's metrics from its events.
#[derive(Debug)]
pub struct FightMetrics {
    start_ms: i64,
    players: FxHashMap<String, Totals>,
    last_hit: FxHashMap<String, KillingBlow>,
    deaths: Vec<DeathRecord>,
    recaps: Recaps,
    /// Damage taken per ability.
    taken: AbilityTable,
    /// Boss fights only.
    bosses: Option<BossTracker>,
    removals: Vec<SpellRemoval>,
    /// Players given ability and aura tables so far.
    detailed: usize,
}

impl FightMetrics {
    /// A fight starting at `start_ms`; `boss_fight` names the encounter of a boss fight,
    /// whose bosses' health is followed.
    pub fn new(start_ms: i64, boss_fight: Option<&str>) -> Self {
        Self {
            start_ms,
            players: FxHashMap::default(),
            last_hit: FxHashMap::default(),
            deaths: Vec::new(),
            recaps: Recaps::default(),
            taken: AbilityTable::default(),
            bosses: boss_fight.map(BossTracker::new),
            removals: Vec::new(),
            detailed: 0,
        }
    }

    /// An interrupt, dispel or spellsteal by a player or their pet.
    fn removal(&mut self, event: &CombatEvent, kind: RemovalKind, removed: &Spell, owners: &Owners) {
        let (Some(source), Some(spell)) = (&event.source, &event.spell) else { return };
        let Some(player) = owners.player_of(&source.guid) else { return };
        let totals = self.totals(player);
        match kind {
            RemovalKind::Interrupt => totals.interrupts += 1,
            RemovalKind::Dispel | RemovalKind::Steal => totals.dispels += 1,
        }
        if self.removals.len() >= MAX_REMOVALS {
            return;
        }
        let text = |s: &str| cut_chars(s, RECAP_MAX_CHARS).to_string();
        let target = event.target.as_ref();
        self.removals.push(SpellRemoval {
            timestamp_ms: event.timestamp_ms,
            kind,
            player_guid: text(player),
            source_name: text(&source.name),
            ability: text(&spell.name),
            spell_id: spell.id,
            removed: text(&removed.name),
            removed_spell_id: removed.id,
            target_guid: target.map(|t| text(&t.guid)).unwrap_or_default(),
            target_name: target.map(|t| text(&t.name)).unwrap_or_default(),
        });
    }

    fn count_taken(
        &mut self,
        ability: &str,
        spell_id: Option<i32>,
        player: &str,
        amount: i64,
        absorbed: i64,
    ) {
        let Some(totals) = self.taken.entry(spell_id, ability) else { return };
        totals.amount += amount;
        totals.absorbed += absorbed;
        totals.hits += 1;
        if !totals.players.contains(player) {
            totals.players.insert(player.to_string());
        }
    }

    fn totals(&mut self, guid: &str) -> &mut Totals {
        if !self.players.contains_key(guid) {
            let detailed = self.detailed < MAX_DETAILED_PLAYERS;
            self.detailed += usize::from(detailed);
            self.players.insert(guid.to_string(), Totals { detailed, ..Totals::default() });
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
        if let Some(bosses) = &mut self.bosses {
            bosses.observe(event);
        }
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
                    let totals = self.totals(player);
                    totals.damage_done += damage.amount;
                    if totals.detailed {
                        totals.done.add(Done {
                            kind: AbilityKind::Damage,
                            ability: ability_of(event, damage.environmental_type.as_deref()),
                            spell_id: event.spell.as_ref().map(|s| s.id),
                            amount: damage.amount,
                            critical: damage.critical,
                            absorbed: damage.absorbed,
                            overhealing: 0,
                        });
                    }
                }
                if (counted || name == "ENVIRONMENTAL_DAMAGE") && target.is_player() {
                    let ability = ability_of(event, damage.environmental_type.as_deref());
                    let spell_id = event.spell.as_ref().map(|s| s.id);
                    let totals = self.totals(&target.guid);
                    totals.damage_taken += damage.amount;
                    if totals.detailed {
                        totals.taken.add(Done {
                            kind: AbilityKind::Taken,
                            ability,
                            spell_id,
                            amount: damage.amount,
                            critical: damage.critical,
                            absorbed: damage.absorbed,
                            overhealing: 0,
                        });
                    }
                    self.count_taken(ability, spell_id, &target.guid, damage.amount, damage.absorbed);
                    let taken = Taken {
                        kind: RecapKind::Damage,
                        ability,
                        amount: damage.amount,
                        overkill: damage.overkill.max(0),
                        absorbed: damage.absorbed,
                        overhealing: 0,
                    };
                    self.recaps.take(event, target, taken);
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
            Payload::Missed(missed) if missed.miss_type == "ABSORB" && DAMAGE_MISSES.contains(&name) => {
                let Some(target) = event.target.as_ref().filter(|t| t.is_player()) else { return };
                let absorbed = missed.amount_missed.unwrap_or(0);
                let ability = ability_of(event, None);
                let spell_id = event.spell.as_ref().map(|s| s.id);
                self.count_taken(ability, spell_id, &target.guid, 0, absorbed);
                let totals = self.totals(&target.guid);
                if totals.detailed {
                    let critical = missed.critical;
                    let taken = Done {
                        kind: AbilityKind::Taken,
                        ability,
                        spell_id,
                        amount: 0,
                        critical,
                        absorbed,
                        overhealing: 0,
                    };
                    totals.taken.add(taken);
                }
                let taken = Taken {
                    kind: RecapKind::Damage,
                    ability,
                    amount: 0,
                    overkill: 0,
                    absorbed,
                    overhealing: 0,
                };
                self.recaps.take(event, target, taken);
            }
            Payload::Heal(heal) if HEAL_EVENTS.contains(&name) => {
                if let Some(target) = event.target.as_ref().filter(|t| t.is_player()) {
                    let taken = Taken {
                        kind: RecapKind::Heal,
                        ability: ability_of(event, None),
                        amount: heal.amount,
                        overkill: 0,
                        absorbed: heal.absorbed,
                        overhealing: heal.overhealing,
                    };
                    self.recaps.take(event, target, taken);
                }
                if let Some(player) = event.source.as_ref().and_then(|s| owners.player_of(&s.guid)) {
                    let totals = self.totals(player);
                    totals.healing_done += heal.amount - heal.overhealing;
                    totals.overhealing += heal.overhealing;
                    if totals.detailed {
                        totals.done.add(Done {
                            kind: AbilityKind::Heal,
                            ability: ability_of(event, None),
                            spell_id: event.spell.as_ref().map(|s| s.id),
                            amount: heal.amount - heal.overhealing,
                            critical: heal.critical,
                            absorbed: heal.absorbed,
                            overhealing: heal.overhealing,
                        });
                    }
                }
            }
            Payload::Absorbed(absorbed) if name == "SPELL_ABSORBED" => {
                if let Some(player) = owners.player_of(&absorbed.caster.guid) {
                    self.totals(player).absorbs_done += absorbed.amount;
                }
            }
            Payload::Interrupt(interrupt) if name == "SPELL_INTERRUPT" => {
                self.removal(event, RemovalKind::Interrupt, &interrupt.interrupted, owners);
            }
            Payload::Dispel(dispel) if name == "SPELL_DISPEL" || name == "SPELL_STOLEN" => {
                let kind = if name == "SPELL_STOLEN" { RemovalKind::Steal } else { RemovalKind::Dispel };
                self.removal(event, kind, &dispel.extra_spell, owners);
            }
            Payload::Aura(aura) => {
                let change = match name {
                    "SPELL_AURA_APPLIED" => AuraChange::Applied,
                    "SPELL_AURA_REMOVED" => AuraChange::Removed,
                    "SPELL_AURA_REFRESH" | "SPELL_AURA_APPLIED_DOSE" | "SPELL_AURA_REMOVED_DOSE" => {
                        AuraChange::Refreshed
                    }
                    _ => return,
                };
                let (Some(target), Some(spell)) =
                    (event.target.as_ref().filter(|t| t.is_player()), &event.spell)
                else {
                    return;
                };
                let start_ms = self.start_ms;
                let totals = self.totals(&target.guid);
                if totals.detailed {
                    let debuff = aura.aura_type == AuraType::Debuff;
                    totals.auras.change(spell.id, &spell.name, debuff, change, event.timestamp_ms, start_ms);
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
                let killing_blow = self.last_hit.remove(&target.guid);
                if let Some(blow) = &killing_blow
                    && let Some(totals) = self.taken.get_mut(blow.spell_id, &blow.ability)
                {
                    totals.killing_blows += 1;
                }
                self.deaths.push(DeathRecord {
                    guid: target.guid.clone(),
                    name: target.name.clone(),
                    timestamp_ms: event.timestamp_ms,
                    fight_time_ms: event.timestamp_ms - self.start_ms,
                    line: event.line,
                    killing_blow,
                    recap: self.recaps.died(&target.guid, event.timestamp_ms),
                });
            }
            Payload::CombatantInfo(info) => {
                self.totals(&info.player_guid).combatant =
                    Some(Combatant { spec_id: info.spec_id, item_level: info.average_item_level() });
            }
            _ => {}
        }
    }

    /// What the fight adds up to. Players without a `COMBATANT_INFO` in this fight take
    /// the latest one the log had before; `kill` is the fight's outcome.
    pub fn finish(
        self,
        duration_ms: i64,
        known: &FxHashMap<String, Combatant>,
        kill: Option<bool>,
    ) -> Finished {
        let seconds = duration_ms as f64 / 1000.0;
        let end_ms = self.start_ms + duration_ms;
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
                    interrupts: t.interrupts,
                    dispels: t.dispels,
                    dps: per_second(t.damage_done),
                    hps: per_second(t.healing_done),
                    abilities: {
                        let mut lines = t.done.finish(MAX_ABILITIES_PER_PLAYER);
                        lines.extend(t.taken.finish(MAX_TAKEN_PER_PLAYER));
                        lines
                    },
                    auras: t.auras.finish(end_ms),
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
        let mut taken: Vec<AbilityDamage> = self
            .taken
            .into_totals()
            .map(|t| AbilityDamage {
                ability: t.ability,
                spell_id: t.spell_id,
                amount: t.amount,
                absorbed: t.absorbed,
                hits: t.hits,
                players: t.players.len() as i64,
                killing_blows: t.killing_blows,
            })
            .collect();
        taken.sort_by(|a, b| {
            b.amount
                .cmp(&a.amount)
                .then(b.killing_blows.cmp(&a.killing_blows))
                .then_with(|| (a.spell_id, &a.ability).cmp(&(b.spell_id, &b.ability)))
        });
        taken.truncate(MAX_ABILITIES_TAKEN);
        Finished {
            players,
            deaths: self.deaths,
            boss: self.bosses.map(|b| b.finish(kill)),
            damage_taken_by_ability: taken,
            removals: self.removals,
        }
    }
}

/// `_MISSED` events of the damage events counted (an `ABSORB` miss is a hit shields took
/// whole).
const DAMAGE_MISSES: [&str; 5] =
    ["SWING_MISSED", "RANGE_MISSED", "SPELL_MISSED", "SPELL_PERIODIC_MISSED", "SPELL_BUILDING_MISSED"];

/// Damage taken per ability: by spell id, or for melee and the environment (no spell) by
/// name; at most [`MAX_ABILITIES_COUNTED`] abilities. Looked up without allocating: this
/// runs for every hit on a player.
#[derive(Debug, Default)]
struct AbilityTable {
    spells: FxHashMap<i32, AbilityTotals>,
    named: FxHashMap<String, AbilityTotals>,
}

impl AbilityTable {
    fn get_mut(&mut self, spell_id: Option<i32>, ability: &str) -> Option<&mut AbilityTotals> {
        match spell_id {
            Some(id) => self.spells.get_mut(&id),
            None => self.named.get_mut(cut_chars(ability, RECAP_MAX_CHARS)),
        }
    }

    /// The ability's totals, made on its first hit; `None` past the bound.
    fn entry(&mut self, spell_id: Option<i32>, ability: &str) -> Option<&mut AbilityTotals> {
        let full = self.spells.len() + self.named.len() >= MAX_ABILITIES_COUNTED;
        let name = cut_chars(ability, RECAP_MAX_CHARS);
        let fresh = || AbilityTotals { ability: name.to_string(), spell_id, ..AbilityTotals::default() };
        match spell_id {
            // One lookup: an id key costs no allocation, unlike a name's.
            Some(id) if !full => Some(self.spells.entry(id).or_insert_with(fresh)),
            Some(id) => self.spells.get_mut(&id),
            None if !self.named.contains_key(name) && !full => {
                Some(self.named.entry(name.to_string()).or_insert_with(fresh))
            }
            None => self.named.get_mut(name),
        }
    }

    fn into_totals(self) -> impl Iterator<Item = AbilityTotals> {
        self.spells.into_values().chain(self.named.into_values())
    }
}

/// What hit or healed: the spell, the environment, or `Melee`.
fn ability_of<'a>(event: &'a CombatEvent, environment: Option<&'a str>) -> &'a str {
    match (&event.spell, environment) {
        (Some(spell), _) => spell.name.as_str(),
        (None, Some(environment)) => environment,
        (None, None) => "Melee",
    }
}

fn replace(buffer: &mut String, text: &str) {
    buffer.clear();
    buffer.push_str(text);
}
