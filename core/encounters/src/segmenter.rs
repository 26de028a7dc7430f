//! The encounter state machine: events in, completed fights out. (One file over ~500
//! lines on purpose: every fight kind opens and closes through the same open-fight stack,
//! and splitting the transitions by kind would scatter that one invariant.)
//!
//! Fights nest: a Mythic+ run contains its boss encounters, and every event between a
//! start and its end counts for every fight open at the time. A start whose previous
//! fight never ended (log cut off, disconnect) closes that fight as incomplete; the end
//! of the log closes whatever is still open; an end without a start is reported as an
//! [`Anomaly`], never fatal.
//!
//! PvP fights without start and end events come from the zone: a battleground is a fight
//! from entering its zone to leaving it; an arena in a Classic client (no `ARENA_MATCH_*`
//! events) starts at the zone-in (the header the client writes on entering, or a zone
//! change), is recognised once players of opposite sides meet in a zone whose units were
//! created in an arena, and ends when a side is wiped out, the zone changes or the log
//! ends. A Solo Shuffle is one match whose rounds are fights of their own, each decided
//! by its first player death.

use crate::metrics::{Combatant, FightMetrics};
use crate::owners::Owners;
use crate::pvp::{self, Side, Sides};
use rustc_hash::FxHashMap;
use wowlogs_schemas::{Anomaly, CombatEvent, FightKind, FightSummary, Payload, UnitFlags};

/// Events kept while waiting to learn whether a zone-in is an arena match (the minute of
/// preparation of a Classic arena is a few hundred); beyond this the zone-in is dropped.
pub const MAX_PENDING_EVENTS: usize = 50_000;
/// Bytes those events may hold together (counted by [`held_bytes`]; the raw line is never
/// kept): an ordinary event takes about 700 to 850 (544 inline, its names and GUIDs), so
/// 50,000 fit in about 40 MiB, while events with 60,000-character names would otherwise
/// hold gigabytes. Beyond this the zone-in is dropped like one that waited too long.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

/// How a fight's boundaries are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Start and end events written by the game.
    Events,
    /// Entering and leaving a zone (battlegrounds, Classic arenas).
    Zone,
}

/// A zone-in not yet known to be an arena match: its first line and the events since.
#[derive(Debug)]
struct ZoneIn {
    instance_id: Option<i32>,
    name: Option<String>,
    /// The events since the zone-in, without their raw lines.
    events: Vec<CombatEvent>,
    /// What `events` hold ([`held_bytes`]).
    bytes: usize,
}

/// What the segmenter hands back. (Fights are the common case and anomalies rare, so
/// the larger variant stays unboxed: boxing it would allocate once more per fight.)
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum SegmentOutput {
    Fight(FightSummary),
    Anomaly(Anomaly),
}

#[derive(Debug)]
struct OpenFight {
    summary: FightSummary,
    metrics: FightMetrics,
    origin: Origin,
    /// `COMBATANT_INFO` factions seen in this fight: the teams of an arena.
    teams: FxHashMap<String, i32>,
    /// The players of each side, for matches decided by a wipe.
    sides: Sides,
    /// Rounds started so far (Solo Shuffle matches).
    rounds: i32,
    /// A round starts with the line after its `ARENA_MATCH_START`: the first one is also
    /// the match's start line, and a fight's start line is its identity.
    round_due: bool,
}

impl OpenFight {
    fn new(summary: FightSummary, origin: Origin) -> Self {
        let boss_fight = (summary.kind == FightKind::Encounter).then_some(summary.name.as_str());
        let metrics = FightMetrics::new(summary.start_ms, boss_fight);
        OpenFight {
            summary,
            metrics,
            origin,
            teams: FxHashMap::default(),
            sides: Sides::default(),
            rounds: 0,
            round_due: false,
        }
    }

    fn is_shuffle_match(&self) -> bool {
        self.summary.kind == FightKind::Arena
            && self.summary.round.is_none()
            && self.summary.match_type.as_deref().is_some_and(|t| t.contains("Solo Shuffle"))
    }
}

/// Segments one log's events into fights. Feed events in line order with
/// [`push`](Self::push), then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct EncounterSegmenter {
    owners: Owners,
    combatants: FxHashMap<String, Combatant>,
    log_owner: Option<String>,
    zone: Option<(i32, String)>,
    /// A zone-in that may turn out to be a Classic arena match.
    pending: Option<ZoneIn>,
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

    /// The start line of the outermost open fight (or of a zone-in that may become one): a
    /// consumer must not commit past it, so that a restart rebuilds the fight from its
    /// first event.
    pub fn earliest_open_line(&self) -> Option<i64> {
        let pending = self.pending.as_ref().and_then(|z| z.events.first()).map(|e| e.line);
        let open = self.open.first().map(|f| f.summary.start_line);
        open.into_iter().chain(pending).min()
    }

    /// Feeds one event; completed fights and anomalies are appended to `out`.
    pub fn push(&mut self, event: &CombatEvent, out: &mut Vec<SegmentOutput>) {
        if let Some(i) = self.open.iter().rposition(|f| f.round_due)
            && !matches!(event.payload, Payload::ArenaMatchStart(_) | Payload::ArenaMatchEnd(_))
        {
            self.open_round(i, event);
        }
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
                self.open_fight(summary, Origin::Events, event);
            }
            Payload::ChallengeModeStart(start) => {
                self.close_from(0, out);
                let mut summary = new_summary(FightKind::ChallengeMode, &start.zone_name, event);
                summary.instance_id = Some(start.instance_id);
                summary.key_level = Some(start.keystone_level);
                summary.affixes = start.affixes.clone();
                self.open_fight(summary, Origin::Events, event);
            }
            Payload::ArenaMatchStart(start) => {
                self.pending = None;
                match self.open.iter().rposition(OpenFight::is_shuffle_match) {
                    Some(i) if self.open[i].summary.instance_id == Some(start.instance_id) => {
                        // The next round of a Solo Shuffle.
                        self.close_from(i + 1, out);
                        self.apply(event);
                        self.open[i].round_due = true;
                    }
                    _ => {
                        self.close_from(0, out);
                        let name = match &self.zone {
                            Some((id, zone)) if *id == start.instance_id => zone.clone(),
                            _ => format!("Arena {}", start.instance_id),
                        };
                        let mut summary = new_summary(FightKind::Arena, &name, event);
                        summary.instance_id = Some(start.instance_id);
                        summary.match_type = Some(start.match_type.clone());
                        self.open_fight(summary, Origin::Events, event);
                        let last = self.open.len() - 1;
                        if self.open[last].is_shuffle_match() {
                            self.open[last].summary.rounds_won = Some(0);
                            self.open[last].round_due = true;
                        }
                    }
                }
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
                match self.innermost_official(FightKind::Arena) {
                    Some(i) if self.open[i].is_shuffle_match() => {
                        // The last round ended at its first death; a round still open had none.
                        self.close_from(i + 1, out);
                        let won = self.open[i].summary.rounds_won.unwrap_or(0);
                        let kill = match won {
                            4.. => Some(true),
                            3 => None,
                            _ => Some(false),
                        };
                        self.close_complete(i, event, kill, None, out);
                    }
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
            Payload::ZoneChange(zone) => self.zone_change(zone.instance_id, &zone.zone_name, event, out),
            Payload::LogVersion(_) => self.zone_in(event, out),
            Payload::Death(_) => {
                self.apply(event);
                self.death(event, out);
            }
            _ => self.apply(event),
        }
        self.await_arena(event);
    }

    /// Closes every fight still open as incomplete (the log ended).
    pub fn finish(&mut self, out: &mut Vec<SegmentOutput>) {
        self.pending = None;
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
        if let Payload::CombatantInfo(info) = &event.payload {
            let combatant = Combatant { spec_id: info.spec_id, item_level: info.average_item_level() };
            self.combatants.insert(info.player_guid.clone(), combatant);
            for fight in &mut self.open {
                fight.teams.insert(info.player_guid.clone(), info.faction);
            }
        }
    }

    fn open_fight(&mut self, mut summary: FightSummary, origin: Origin, event: &CombatEvent) {
        summary.zone_name = match &self.zone {
            Some((id, name)) if summary.instance_id == Some(*id) => Some(name.clone()),
            _ => None,
        };
        self.open.push(OpenFight::new(summary, origin));
        self.apply(event);
    }

    /// Opens the next round of the Solo Shuffle match at `match_index` on the line after
    /// the round's `ARENA_MATCH_START` (the line is then applied to every open fight).
    fn open_round(&mut self, match_index: usize, event: &CombatEvent) {
        self.open[match_index].round_due = false;
        self.open[match_index].rounds += 1;
        let round = self.open[match_index].rounds;
        let parent = &self.open[match_index].summary;
        let mut summary = new_summary(FightKind::Arena, &parent.name.clone(), event);
        summary.instance_id = parent.instance_id;
        summary.match_type = parent.match_type.clone();
        summary.parent_start_line = Some(parent.start_line);
        summary.zone_name = parent.zone_name.clone();
        summary.round = Some(round);
        self.open.push(OpenFight::new(summary, Origin::Events));
    }

    fn apply(&mut self, event: &CombatEvent) {
        for fight in &mut self.open {
            fight.summary.end_ms = event.timestamp_ms;
            fight.summary.end_line = event.line;
            fight.metrics.apply(event, &self.owners);
            if fight.origin == Origin::Zone {
                fight.sides.observe(event);
            }
        }
    }

    fn innermost(&self, kind: FightKind) -> Option<usize> {
        self.open.iter().rposition(|f| f.summary.kind == kind)
    }

    /// The innermost fight of `kind` that started on a start event (a match, not a round).
    fn innermost_official(&self, kind: FightKind) -> Option<usize> {
        self.open
            .iter()
            .rposition(|f| f.summary.kind == kind && f.origin == Origin::Events && f.summary.round.is_none())
    }

    /// Closes the fights at `index` and inside it as incomplete, innermost first. An
    /// incomplete boss fight or match is lost; a fight known from its zone, or a round
    /// without a death, has no outcome the log can tell.
    fn close_from(&mut self, index: usize, out: &mut Vec<SegmentOutput>) {
        while self.open.len() > index {
            let fight = self.open.pop().expect("non-empty");
            let duration = fight.summary.end_ms - fight.summary.start_ms;
            let kill = if fight.origin == Origin::Zone || fight.summary.round.is_some() {
                None
            } else {
                Some(false)
            };
            out.push(SegmentOutput::Fight(self.summarize(fight, kill, false, duration)));
        }
    }

    /// A header: the client writes one when it enters a zone (and on a UI reload). Inside
    /// a match with start and end events it changes nothing; otherwise the zone may be an
    /// arena of a Classic client, and a fight known from its zone has ended.
    fn zone_in(&mut self, event: &CombatEvent, out: &mut Vec<SegmentOutput>) {
        self.apply(event);
        if self.innermost_official(FightKind::Arena).is_some() {
            return;
        }
        if let Some(i) =
            self.open.iter().position(|f| f.origin == Origin::Zone && f.summary.kind == FightKind::Arena)
        {
            self.close_zone_fight(i, out);
        }
        // Inside a boss fight, a key or a battleground a header is a UI reload.
        if self.open.is_empty() {
            self.pending = Some(ZoneIn { instance_id: None, name: None, events: Vec::new(), bytes: 0 });
        }
    }

    /// A zone change: the same zone again is a UI reload; another one ends a fight known
    /// from its zone and may start one (a battleground now, an arena once it is recognised).
    fn zone_change(
        &mut self,
        instance_id: i32,
        name: &str,
        event: &CombatEvent,
        out: &mut Vec<SegmentOutput>,
    ) {
        if self.zone.as_ref().is_some_and(|(id, _)| *id == instance_id) {
            self.apply(event);
            return;
        }
        self.zone = Some((instance_id, name.to_string()));
        // Leaving is the zone-known fight's last line.
        self.apply(event);
        if let Some(i) = self.open.iter().position(|f| f.origin == Origin::Zone) {
            self.close_zone_fight(i, out);
        }
        self.pending = None;
        if pvp::is_battleground(instance_id) {
            let mut summary = new_summary(FightKind::Battleground, name, event);
            summary.instance_id = Some(instance_id);
            self.open_fight(summary, Origin::Zone, event);
        } else if pvp::is_arena(instance_id) && self.open.is_empty() {
            let name = Some(name.to_string());
            self.pending =
                Some(ZoneIn { instance_id: Some(instance_id), name, events: Vec::new(), bytes: 0 });
        }
    }

    /// Closes a fight known from its zone when the zone changes: complete, outcome unknown.
    fn close_zone_fight(&mut self, index: usize, out: &mut Vec<SegmentOutput>) {
        self.close_from(index + 1, out);
        let fight = self.open.pop().expect("index is open");
        let duration = fight.summary.end_ms - fight.summary.start_ms;
        out.push(SegmentOutput::Fight(self.summarize(fight, None, true, duration)));
    }

    /// A death: decides an open Solo Shuffle round (its first player death) or a Classic
    /// arena (a side wiped out).
    fn death(&mut self, event: &CombatEvent, out: &mut Vec<SegmentOutput>) {
        let Some(dead) = event.target.as_ref().filter(|t| t.is_player() && event.event_type == "UNIT_DIED")
        else {
            return;
        };
        // A Feign Death (`unconsciousOnDeath` = 1) is written as `UNIT_DIED` but the
        // hunter lives on: it ends neither a round nor a side (fixtures/
        // retail_tww_11.2.0_arena_2v2_korean_client.txt, lines 51 and 177).
        if matches!(&event.payload, Payload::Death(death) if death.unconscious_on_death) {
            return;
        }
        if let Some(i) =
            self.open.iter().rposition(|f| f.summary.round.is_some() && f.summary.kind == FightKind::Arena)
            && self.open[i].origin == Origin::Events
            && i > 0
        {
            let round = &self.open[i];
            let team = |guid: &str| round.teams.get(guid).copied();
            let own_team = self.log_owner.as_deref().and_then(team);
            let won = match (own_team, team(&dead.guid)) {
                (Some(own), Some(theirs)) => Some(own != theirs),
                _ => Sides::side_of(dead).map(|side| side == Side::Enemy),
            };
            if won == Some(true) {
                let parent = &mut self.open[i - 1].summary;
                parent.rounds_won = Some(parent.rounds_won.unwrap_or(0) + 1);
            }
            self.close_complete(i, event, won, None, out);
            return;
        }
        if let Some(i) =
            self.open.iter().rposition(|f| f.origin == Origin::Zone && f.summary.kind == FightKind::Arena)
            && let Some(wiped) = self.open[i].sides.died(dead)
        {
            self.close_complete(i, event, Some(wiped == Side::Enemy), None, out);
        }
    }

    /// Waits, after a zone-in, for the evidence that it is an arena match: players of
    /// opposite sides meeting in a zone whose units were created in an arena. Then the
    /// match opens at the zone-in and every event since is counted.
    fn await_arena(&mut self, event: &CombatEvent) {
        let Some(pending) = self.pending.as_mut() else { return };
        if !self.open.is_empty() {
            return;
        }
        let bytes = held_bytes(event);
        if pending.events.len() >= MAX_PENDING_EVENTS || pending.bytes + bytes > MAX_PENDING_BYTES {
            self.pending = None;
            return;
        }
        // What detection and the metrics read, not the line as written.
        pending.events.push(CombatEvent { raw: String::new(), extra: Vec::new(), ..event.clone() });
        pending.bytes += bytes;
        if pending.instance_id.is_none() {
            pending.instance_id = pvp::arena_in(event);
        }
        let sides = [event.source.as_ref(), event.target.as_ref()].map(|u| u.and_then(Sides::side_of));
        let opposed = matches!(sides, [Some(a), Some(b)] if a != b);
        let Some(instance_id) = pending.instance_id.filter(|_| opposed) else { return };
        let pending = self.pending.take().expect("pending");
        let first = &pending.events[0];
        let name = pending
            .name
            .or_else(|| pvp::arena_name(instance_id).map(str::to_string))
            .unwrap_or_else(|| format!("Arena {instance_id}"));
        let mut summary = new_summary(FightKind::Arena, &name, first);
        summary.instance_id = Some(instance_id);
        self.open.push(OpenFight::new(summary, Origin::Zone));
        for past in &pending.events {
            self.apply(past);
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
        let finished = fight.metrics.finish(duration_ms, &self.combatants, kill);
        let boss = finished.boss.unwrap_or_default();
        FightSummary {
            kill,
            complete,
            duration_ms,
            players: finished.players,
            deaths: finished.deaths,
            boss_pct: boss.pct,
            boss_pct_missing: boss.missing.map(str::to_string),
            bosses: boss.bosses,
            damage_taken_by_ability: finished.damage_taken_by_ability,
            removals: finished.removals,
            ..fight.summary
        }
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
        round: None,
        rounds_won: None,
        players: Vec::new(),
        deaths: Vec::new(),
        boss_pct: None,
        boss_pct_missing: None,
        bosses: Vec::new(),
        damage_taken_by_ability: Vec::new(),
        removals: Vec::new(),
        zone_name: None,
    }
}

fn anomaly(event: &CombatEvent, code: &str, message: String) -> SegmentOutput {
    SegmentOutput::Anomaly(Anomaly { line: event.line, code: code.to_string(), message })
}

/// About what a kept event holds on the heap. Every text of an event comes from its line,
/// so the line's length bounds them when the reader kept it (the consumers' events);
/// otherwise its units' and spell's names and GUIDs. The kept copy drops the line itself.
fn held_bytes(event: &CombatEvent) -> usize {
    let unit = |u: &Option<wowlogs_schemas::Unit>| u.as_ref().map_or(0, |u| u.guid.len() + u.name.len());
    let spell = event.spell.as_ref().map_or(0, |s| s.name.len());
    let texts = (unit(&event.source) + unit(&event.target) + spell).max(event.raw.len());
    std::mem::size_of::<CombatEvent>() + texts
}
