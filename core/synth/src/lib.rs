//! Synthetic `WoWCombatLog.txt` raid nights for benchmarks and large-input tests.
//!
//! Modelled on the real logs in `../shared/fixtures`: a 20-player raid with tanks,
//! healers, pets (linked through the advanced block) and guardians (linked through
//! `SPELL_SUMMON`), several pulls per boss (wipes, then a kill), deaths, absorbs,
//! `COMBATANT_INFO` with gear, and trash between pulls. Output is deterministic for a
//! seed, and [`generate`] returns the ground truth of what it wrote so tests can check
//! the parser and the encounter core against it.

mod lines;
mod roster;

pub use lines::SynthFormat;
use lines::{Adv, LineWriter, U};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use roster::{BOSSES, Player, Role};
use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub format: SynthFormat,
    /// Stop after the pull during which the output reaches this size.
    pub target_bytes: u64,
    pub seed: u64,
    /// First raid night's pull time, UTC epoch ms.
    pub start_ms: i64,
    /// Malformed (truncated) lines per million lines, for dead-letter tests; 0 for none.
    pub malformed_per_million: u32,
    /// Shortest and longest boss pull, in seconds (wipes end sooner, when all are dead).
    pub pull_seconds: (i64, i64),
}

impl SynthConfig {
    /// A config with the defaults of `wowlogs synth`: seed 1, raids from 2025-03-04.
    pub fn new(format: SynthFormat, target_bytes: u64) -> Self {
        Self {
            format,
            target_bytes,
            seed: 1,
            start_ms: 1_741_131_000_000,
            malformed_per_million: 0,
            pull_seconds: (90, 420),
        }
    }
}

/// What was written, for checking a parser and an encounter core against it.
#[derive(Debug, Clone, Default)]
pub struct SynthReport {
    pub bytes: u64,
    pub lines: u64,
    pub malformed_lines: u64,
    pub fights: Vec<SynthFight>,
}

/// One boss pull as written.
#[derive(Debug, Clone)]
pub struct SynthFight {
    pub encounter_id: i32,
    pub name: String,
    pub kill: bool,
    pub start_line: u64,
    pub end_line: u64,
    pub duration_ms: i64,
    /// `(player GUID, damage done, healing done, deaths)` per the definitions of docs/metrics.md.
    pub players: Vec<(String, i64, i64, i64)>,
}

/// Writes a synthetic log of about `config.target_bytes` to `out`.
pub fn generate<W: Write>(config: &SynthConfig, out: W) -> io::Result<SynthReport> {
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut w = LineWriter::new(out, config.format);
    let raid = roster::raid(&mut rng, "Stormrage", 3676);
    let mut report = SynthReport::default();
    let mut night_start = config.start_ms;
    let mut pull_serial = 0u32;
    'nights: loop {
        let mut t = night_start;
        w.header(t)?;
        w.raw(t, "ZONE_CHANGE,2657,\"Nerub-ar Palace\",16")?;
        for boss in &BOSSES {
            let pulls = rng.random_range(1..=4);
            for pull in 1..=pulls {
                t = trash(&mut w, &mut rng, &raid, t, config, &mut report)?;
                pull_serial += 1;
                let kill = pull == pulls;
                let (fight, end) =
                    boss_pull(&mut w, &mut rng, &raid, boss, t, kill, pull_serial, config, &mut report)?;
                report.fights.push(fight);
                t = end + rng.random_range(30_000..90_000);
                if w.bytes >= config.target_bytes {
                    break 'nights;
                }
            }
        }
        night_start += 7 * 86_400_000;
    }
    w.flush()?;
    report.bytes = w.bytes;
    report.lines = w.lines;
    Ok(report)
}

fn unit(p: &Player) -> U<'_> {
    U { guid: &p.guid, name: &p.name, flags: 0x512 }
}

/// An advanced block for `guid` (owned by `owner`, or "" for none) at full health.
fn adv<'a>(guid: &'a str, owner: &'a str, max_hp: i64, level: i32) -> Adv<'a> {
    Adv { guid, owner, hp: max_hp, max_hp, power_type: 0, power: 250_000, level, x: -2101.5, y: 430.25 }
}

fn level(p: &Player, format: SynthFormat) -> i32 {
    match format {
        SynthFormat::V22 => p.average_item_level().round() as i32,
        SynthFormat::V9 => 60,
    }
}

/// Trash between pulls: some damage on mobs and buffs, outside any encounter.
fn trash<W: Write>(
    w: &mut LineWriter<W>,
    rng: &mut SmallRng,
    raid: &[Player],
    mut t: i64,
    config: &SynthConfig,
    report: &mut SynthReport,
) -> io::Result<i64> {
    let mob_guid = format!("Creature-0-3135-2657-1000-221667-{:010X}", rng.random::<u32>());
    let mob = U { guid: &mob_guid, name: "Nerubian Ritualist", flags: 0xa48 };
    for _ in 0..rng.random_range(200..600) {
        t += rng.random_range(1..40);
        let p = &raid[rng.random_range(0..raid.len())];
        if rng.random_bool(0.7) {
            let spell = p.spells[rng.random_range(0..3)];
            let a = adv(&mob_guid, "", 3_000_000, 80);
            w.spell_damage(
                t,
                "SPELL_DAMAGE",
                unit(p),
                mob,
                spell,
                a,
                rng.random_range(20_000..200_000),
                false,
            )?;
        } else {
            let malformed = config.malformed_per_million > 0
                && rng.random_range(0..1_000_000) < config.malformed_per_million;
            report.malformed_lines += u64::from(malformed);
            w.aura(t, "SPELL_AURA_APPLIED", unit(p), unit(p), p.spells[0], malformed)?;
        }
    }
    Ok(t)
}

#[allow(clippy::too_many_arguments)]
fn boss_pull<W: Write>(
    w: &mut LineWriter<W>,
    rng: &mut SmallRng,
    raid: &[Player],
    boss: &roster::Boss,
    start: i64,
    kill: bool,
    serial: u32,
    config: &SynthConfig,
    report: &mut SynthReport,
) -> io::Result<(SynthFight, i64)> {
    let format = w.format;
    let boss_guid = format!("Creature-0-3135-2657-{serial}-{}-{:010X}", boss.npc_id, serial);
    let boss_unit = U { guid: &boss_guid, name: boss.name, flags: 0x10a48 };
    let mut damage = vec![0i64; raid.len()];
    let mut healing = vec![0i64; raid.len()];
    let mut deaths = vec![0i64; raid.len()];
    let mut alive = vec![true; raid.len()];

    w.raw(start, &format!("ENCOUNTER_START,{},\"{}\",16,20,2657", boss.encounter_id, boss.name))?;
    let start_line = w.lines;
    for p in raid {
        w.raw(start, &combatant_info(p, format))?;
    }
    // Guardians are linked to their owner only through the summon.
    let guardians: Vec<(usize, String)> = raid
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.guardian.map(|(spell, name)| (i, spell, name)))
        .map(|(i, spell, name)| {
            let guid = format!("Creature-0-3135-2657-{serial}-{spell}-{:010X}", rng.random::<u32>());
            let _ =
                w.summon(start, unit(&raid[i]), U { guid: &guid, name, flags: 0x2111 }, (spell, name, 32));
            (i, guid)
        })
        .collect();

    let (shortest, longest) = (config.pull_seconds.0 * 1000, config.pull_seconds.1 * 1000);
    let duration = rng.random_range(shortest..=longest.max(shortest));
    let dying_from = duration * 7 / 10;
    let mut t = start;
    let end = start + duration;
    while t < end {
        // ~170 lines per second of fight, as in real 20-player raid logs.
        t += rng.random_range(0..12);
        let roll: f64 = rng.random();
        let living: Vec<usize> = (0..raid.len()).filter(|&i| alive[i]).collect();
        if living.is_empty() {
            break;
        }
        let target = living[rng.random_range(0..living.len())];
        let tp = &raid[target];
        if roll < 0.10 {
            // The boss hits someone; wipes get deadly in their last 30 %.
            let ability = boss.abilities[rng.random_range(0..2)];
            let amount = rng.random_range(50_000..400_000);
            let a = adv(&tp.guid, "", tp.max_hp, level(tp, format));
            w.spell_damage(t, "SPELL_DAMAGE", boss_unit, unit(tp), ability, a, amount, false)?;
            let lethal = if kill { 0.002 } else { 0.03 };
            if t - start > dying_from && rng.random_bool(lethal) {
                alive[target] = false;
                deaths[target] += 1;
                w.died(t, unit(tp))?;
            }
            continue;
        }
        let i = living[rng.random_range(0..living.len())];
        let p = &raid[i];
        let me = unit(p);
        let spell = p.spells[rng.random_range(0..3)];
        let boss_adv = adv(&boss_guid, "", 2_000_000_000, 83);
        match (p.role, roll) {
            (Role::Healer, r) if r < 0.55 => {
                let amount = rng.random_range(20_000..180_000);
                let over = if rng.random_bool(0.3) { rng.random_range(0..amount) } else { 0 };
                let event = if r < 0.35 { "SPELL_HEAL" } else { "SPELL_PERIODIC_HEAL" };
                let a = adv(&tp.guid, "", tp.max_hp, level(tp, format));
                w.heal(t, event, me, unit(tp), spell, a, amount, over)?;
                healing[i] += amount - over;
            }
            (Role::Healer, r) if r < 0.62 && p.class == "Priest" => {
                let ability = boss.abilities[0];
                w.absorbed(
                    t,
                    boss_unit,
                    unit(tp),
                    ability,
                    me,
                    (17, "Power Word: Shield", 2),
                    rng.random_range(10_000..90_000),
                )?;
            }
            (_, r) if r < 0.62 => {
                let amount = rng.random_range(30_000..450_000);
                let event = match (p.class, r) {
                    ("Hunter", _) if spell.0 == 193455 => "RANGE_DAMAGE",
                    (_, r) if r < 0.45 => "SPELL_DAMAGE",
                    _ => "SPELL_PERIODIC_DAMAGE",
                };
                w.spell_damage(t, event, me, boss_unit, spell, boss_adv, amount, rng.random_bool(0.25))?;
                damage[i] += amount;
            }
            (_, r) if r < 0.70 => {
                // Melee swings, by the player (tanks, melee) or by the pet; the repeated
                // SWING_DAMAGE_LANDED must not count twice.
                let amount = rng.random_range(10_000..120_000);
                let (src, adv_guid, owner) = match &p.pet {
                    Some((pet_guid, pet_name)) => (
                        U { guid: pet_guid, name: pet_name, flags: 0x1112 },
                        pet_guid.as_str(),
                        p.guid.as_str(),
                    ),
                    None => (me, p.guid.as_str(), ""),
                };
                w.swing(
                    t,
                    "SWING_DAMAGE",
                    src,
                    boss_unit,
                    adv(adv_guid, owner, p.max_hp, level(p, format)),
                    amount,
                )?;
                damage[i] += amount;
                if rng.random_bool(0.5) {
                    w.swing(t, "SWING_DAMAGE_LANDED", src, boss_unit, boss_adv, amount)?;
                }
            }
            (_, r) if r < 0.75 => {
                if let Some((_, guid)) = guardians.iter().find(|(owner, _)| *owner == i) {
                    let (spell_id, name) = p.guardian.expect("has a guardian");
                    let amount = rng.random_range(5_000..60_000);
                    let src = U { guid, name, flags: 0x2112 };
                    w.spell_damage(
                        t,
                        "SPELL_DAMAGE",
                        src,
                        boss_unit,
                        (spell_id, name, 32),
                        boss_adv,
                        amount,
                        false,
                    )?;
                    damage[i] += amount;
                } else {
                    w.missed(t, me, boss_unit, spell, "DODGE")?;
                }
            }
            (_, r) if r < 0.85 => {
                w.cast_success(t, me, boss_unit, spell, adv(&p.guid, "", p.max_hp, level(p, format)))?;
            }
            (_, r) if r < 0.90 => {
                w.energize(
                    t,
                    me,
                    spell,
                    adv(&p.guid, "", p.max_hp, level(p, format)),
                    rng.random_range(1..20),
                )?;
            }
            _ => {
                let malformed = config.malformed_per_million > 0
                    && rng.random_range(0..1_000_000) < config.malformed_per_million;
                report.malformed_lines += u64::from(malformed);
                let event = if rng.random_bool(0.5) { "SPELL_AURA_APPLIED" } else { "SPELL_AURA_REMOVED" };
                w.aura(t, event, me, unit(tp), spell, malformed)?;
            }
        }
    }
    let end = t.max(start + 1);
    if kill {
        w.died(end, boss_unit)?;
    }
    let fight_time = end - start;
    let end_body = match format {
        SynthFormat::V22 => format!(
            "ENCOUNTER_END,{},\"{}\",16,20,{},{fight_time}",
            boss.encounter_id,
            boss.name,
            u8::from(kill)
        ),
        SynthFormat::V9 => {
            format!("ENCOUNTER_END,{},\"{}\",16,20,{}", boss.encounter_id, boss.name, u8::from(kill))
        }
    };
    w.raw(end, &end_body)?;
    let players =
        raid.iter().enumerate().map(|(i, p)| (p.guid.clone(), damage[i], healing[i], deaths[i])).collect();
    let fight = SynthFight {
        encounter_id: boss.encounter_id,
        name: boss.name.to_string(),
        kill,
        start_line,
        end_line: w.lines,
        duration_ms: fight_time,
        players,
    };
    Ok((fight, end))
}

fn combatant_info(p: &Player, format: SynthFormat) -> String {
    let items: Vec<String> = p
        .item_levels
        .iter()
        .enumerate()
        .map(|(slot, level)| format!("({},{level},(),(10390,6652,1540),())", 212_000 + slot as i64))
        .collect();
    let items = items.join(",");
    match format {
        SynthFormat::V22 => format!(
            "COMBATANT_INFO,{},1,3120,12000,450000,95000,0,0,0,5200,5200,5200,0,800,9100,9100,9100,0,12400,6300,6300,3150,31000,{},[(80001,100001,1),(80002,100002,1)],(0,0,0,0),[{items}],[],0,0,0,0",
            p.guid, p.spec_id
        ),
        SynthFormat::V9 => format!(
            "COMBATANT_INFO,{},0,144,217,221,35,48,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1489,0,(26,0,5),(),[{items}],[],0,0,()",
            p.guid
        ),
    }
}
