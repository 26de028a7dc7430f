//! The encounter state machine: events in, completed fights out.
//!
//! Fights nest: a Mythic+ run contains its boss encounters, and every event between a
//! start and its end counts for every fight open at the time. A start whose previous
//! fight never ended (log cut off, disconnect) closes that fight as incomplete; the end
//! of the log closes whatever is still open; an end without a start is reported as an
//! [`Anomaly`], never fatal.

use crate::metrics::{Combatant, FightMetrics};
use crate::owners::Owners;
use rustc_hash::FxHashMap;
use wowlogs_schemas::{Anomaly, CombatEvent, FightKind, FightSummary, Payload, UnitFlags};

/// What the segmenter hands back.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentOutput {
    Fight(FightSummary),
    Anomaly(Anomaly),
}

#[derive(Debug)]
struct OpenFight {
    summary: FightSummary,
    metrics: FightMetrics,
    /// `COMBATANT_INFO` factions seen in this fight: the teams of an arena.
    teams: FxHashMap<String, i32>,
}

/// Segments one log's events into fights. Feed events in line order with
/// [`push`](Self::push), then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct EncounterSegmenter {
    owners: Owners,
    combatants: FxHashMap<String, Combatant>,
    log_owner: Option<String>,
    zone: Option<(i32, String)>,
    /// Open fights, outermost first.
    open: Vec<OpenFight>,
}

impl EncounterSegmenter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fights currently open.
    pub fn open_fights(&self) -> usize {
        self.open.len()
    }

    /// The start line of the outermost open fight: a consumer must not commit past it,
    /// so that a restart rebuilds the fight from its first event.
    pub fn earliest_open_line(&self) -> Option<i64> {
        self.open.first().map(|f| f.summary.start_line)
    }

    /// Feeds one event; completed fights and anomalies are appended to `out`.
    pub fn push(&mut self, event: &CombatEvent, out: &mut Vec<SegmentOutput>) {
        self.owners.observe(event);
        self.learn(event);
        match &event.payload {
            Payload::EncounterStart(start) => {
                if let Some(i) = self.innermost(FightKind::Encounter) {
                    self.close_from(i, out);
                }
                let parent =
                    self.innermost(FightKind::ChallengeMode).map(|i| self.open[i].summary.start_line);
                let mut summary = new_summary(FightKind::Encounter, &start.encounter_name, event);
                summary.encounter_id = Some(start.encounter_id);
                summary.difficulty = Some(start.difficulty_id);
                summary.group_size = Some(start.group_size);
                summary.instance_id = Some(start.instance_id);
                summary.parent_start_line = parent;
                self.open_fight(summary, event);
            }
            Payload::ChallengeModeStart(start) => {
                self.close_from(0, out);
                let mut summary = new_summary(FightKind::ChallengeMode, &start.zone_name, event);
                summary.instance_id = Some(start.instance_id);
                summary.key_level = Some(start.keystone_level);
                summary.affixes = start.affixes.clone();
                self.open_fight(summary, event);
            }
            Payload::ArenaMatchStart(start) => {
                self.close_from(0, out);
                let name = match &self.zone {
                    Some((id, zone)) if *id == start.instance_id => zone.clone(),
                    _ => format!("Arena {}", start.instance_id),
                };
                let mut summary = new_summary(FightKind::Arena, &name, event);
                summary.instance_id = Some(start.instance_id);
                summary.match_type = Some(start.match_type.clone());
                self.open_fight(summary, event);
            }
            Payload::EncounterEnd(end) => {
                self.apply(event);
                match self.innermost(FightKind::Encounter) {
                    Some(i) if self.open[i].summary.encounter_id == Some(end.encounter_id) => {
                        let fight_time = end.fight_time_ms;
                        self.close_complete(i, event, Some(end.success), fight_time, out);
                    }
                    _ => out.push(anomaly(
                        event,
                        "end_without_start",
                        format!(
                            "ENCOUNTER_END {} \"{}\" without a matching ENCOUNTER_START",
                            end.encounter_id, end.encounter_name
                        ),
                    )),
                }
            }
            Payload::ChallengeModeEnd(end) => {
                self.apply(event);
                match self.innermost(FightKind::ChallengeMode) {
                    Some(i) => self.close_complete(i, event, Some(end.success), Some(end.total_time_ms), out),
                    None => out.push(anomaly(
                        event,
                        "end_without_start",
                        format!("CHALLENGE_MODE_END {} without a CHALLENGE_MODE_START", end.instance_id),
                    )),
                }
            }
            Payload::ArenaMatchEnd(end) => {
                self.apply(event);
                match self.innermost(FightKind::Arena) {
                    Some(i) => {
                        let own_team =
                            self.log_owner.as_ref().and_then(|owner| self.open[i].teams.get(owner)).copied();
                        let won = own_team.map(|team| team == end.winning_team);
                        self.close_complete(i, event, won, None, out);
                    }
                    None => out.push(anomaly(
                        event,
                        "end_without_start",
                        "ARENA_MATCH_END without an ARENA_MATCH_START".to_string(),
                    )),
                }
            }
            _ => self.apply(event),
        }
    }

    /// Closes every fight still open as incomplete (the log ended).
    pub fn finish(&mut self, out: &mut Vec<SegmentOutput>) {
        self.close_from(0, out);
    }

    /// Log-wide facts: the log owner, the zone, every player's latest gear and spec.
    fn learn(&mut self, event: &CombatEvent) {
        if self.log_owner.is_none()
            && let Some(source) = &event.source
            && source.is_player()
            && UnitFlags(source.flags).is_log_owner()
        {
            self.log_owner = Some(source.guid.clone());
        }
        match &event.payload {
            Payload::ZoneChange(zone) => self.zone = Some((zone.instance_id, zone.zone_name.clone())),
            Payload::CombatantInfo(info) => {
                let combatant = Combatant { spec_id: info.spec_id, item_level: info.average_item_level() };
                self.combatants.insert(info.player_guid.clone(), combatant);
                for fight in &mut self.open {
                    fight.teams.insert(info.player_guid.clone(), info.faction);
                }
            }
            _ => {}
        }
    }

    fn open_fight(&mut self, summary: FightSummary, event: &CombatEvent) {
        let metrics = FightMetrics::new(summary.start_ms);
        self.open.push(OpenFight { summary, metrics, teams: FxHashMap::default() });
        self.apply(event);
    }

    fn apply(&mut self, event: &CombatEvent) {
        for fight in &mut self.open {
            fight.summary.end_ms = event.timestamp_ms;
            fight.summary.end_line = event.line;
            fight.metrics.apply(event, &self.owners);
        }
    }

    fn innermost(&self, kind: FightKind) -> Option<usize> {
        self.open.iter().rposition(|f| f.summary.kind == kind)
    }

    /// Closes the fights at `index` and inside it as incomplete, innermost first.
    fn close_from(&mut self, index: usize, out: &mut Vec<SegmentOutput>) {
        while self.open.len() > index {
            let fight = self.open.pop().expect("non-empty");
            let duration = fight.summary.end_ms - fight.summary.start_ms;
            out.push(SegmentOutput::Fight(self.summarize(fight, Some(false), false, duration)));
        }
    }

    /// Closes the fight at `index` on its end event; fights nested in it are incomplete.
    fn close_complete(
        &mut self,
        index: usize,
        end: &CombatEvent,
        kill: Option<bool>,
        measured_ms: Option<i64>,
        out: &mut Vec<SegmentOutput>,
    ) {
        self.close_from(index + 1, out);
        let fight = self.open.pop().expect("index is open");
        let duration = measured_ms.unwrap_or(end.timestamp_ms - fight.summary.start_ms);
        out.push(SegmentOutput::Fight(self.summarize(fight, kill, true, duration)));
    }

    fn summarize(
        &self,
        fight: OpenFight,
        kill: Option<bool>,
        complete: bool,
        duration_ms: i64,
    ) -> FightSummary {
        let (players, deaths) = fight.metrics.finish(duration_ms, &self.combatants);
        FightSummary { kill, complete, duration_ms, players, deaths, ..fight.summary }
    }
}

fn new_summary(kind: FightKind, name: &str, start: &CombatEvent) -> FightSummary {
    FightSummary {
        kind,
        name: name.to_string(),
        encounter_id: None,
        difficulty: None,
        group_size: None,
        instance_id: None,
        kill: None,
        complete: false,
        start_ms: start.timestamp_ms,
        end_ms: start.timestamp_ms,
        duration_ms: 0,
        start_line: start.line,
        end_line: start.line,
        key_level: None,
        affixes: Vec::new(),
        match_type: None,
        parent_start_line: None,
        players: Vec::new(),
        deaths: Vec::new(),
    }
}

fn anomaly(event: &CombatEvent, code: &str, message: String) -> SegmentOutput {
    SegmentOutput::Anomaly(Anomaly { line: event.line, code: code.to_string(), message })
}
