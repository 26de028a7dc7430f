//! Writing lines in the exact layouts of `COMBAT_LOG_VERSION` 22 (retail 11.2) and 9
//! (Classic 1.15), as seen in the fixtures.

use std::io::{self, Write};
use wowlogs_parser::civil_from_days;

/// Which client's log to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthFormat {
    /// Retail 11.2: `M/D/YYYY HH:MM:SS.mmm-5` timestamps, 19-field advanced block,
    /// `ST`/`AOE` tag on spell damage.
    V22,
    /// Classic 1.15: `M/D HH:MM:SS.mmm` timestamps (written in UTC), 16-field block.
    V9,
}

/// A unit reference of the base block.
#[derive(Debug, Clone, Copy)]
pub struct U<'a> {
    pub guid: &'a str,
    pub name: &'a str,
    pub flags: u32,
}

/// The state written in an advanced block.
#[derive(Debug, Clone, Copy)]
pub struct Adv<'a> {
    pub guid: &'a str,
    pub owner: &'a str,
    pub hp: i64,
    pub max_hp: i64,
    pub power_type: i32,
    pub power: i64,
    pub level: i32,
    pub x: f32,
    pub y: f32,
}

/// A spell reference.
pub type Sp = (i32, &'static str, u32);

/// Writes log lines and counts them.
pub struct LineWriter<W> {
    out: W,
    pub format: SynthFormat,
    pub lines: u64,
    pub bytes: u64,
    utc_offset_hours: i64,
    day_cache: (i64, (i32, u32, u32)),
    line: Vec<u8>,
}

impl<W: Write> LineWriter<W> {
    pub fn new(out: W, format: SynthFormat) -> Self {
        Self {
            out,
            format,
            lines: 0,
            bytes: 0,
            utc_offset_hours: -5,
            day_cache: (i64::MIN, (0, 0, 0)),
            line: Vec::with_capacity(512),
        }
    }

    /// Starts a line at `ts` (UTC epoch ms).
    fn begin(&mut self, ts: i64) {
        self.line.clear();
        let local = match self.format {
            SynthFormat::V22 => ts + self.utc_offset_hours * 3_600_000,
            SynthFormat::V9 => ts,
        };
        let days = local.div_euclid(86_400_000);
        let ms_of_day = local.rem_euclid(86_400_000);
        if self.day_cache.0 != days {
            self.day_cache = (days, civil_from_days(days));
        }
        let (y, m, d) = self.day_cache.1;
        let (h, min, s, ms) =
            (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
        let line = &mut self.line;
        let _ = match self.format {
            SynthFormat::V22 => {
                write!(line, "{m}/{d}/{y} {h:02}:{min:02}:{s:02}.{ms:03}{}  ", self.utc_offset_hours)
            }
            SynthFormat::V9 => write!(line, "{m}/{d} {h:02}:{min:02}:{s:02}.{ms:03}  "),
        };
    }

    /// Ends the line; `cut` keeps only that many bytes (a malformed line).
    fn end(&mut self, cut: Option<usize>) -> io::Result<()> {
        if let Some(len) = cut {
            self.line.truncate(len);
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.lines += 1;
        self.bytes += self.line.len() as u64;
        Ok(())
    }

    fn units(&mut self, src: U<'_>, dst: U<'_>) {
        let _ = write!(
            self.line,
            ",{},\"{}\",0x{:x},0x0,{},\"{}\",0x{:x},0x0",
            or_empty_guid(src.guid),
            src.name,
            src.flags,
            or_empty_guid(dst.guid),
            dst.name,
            dst.flags
        );
    }

    fn spell(&mut self, spell: Sp) {
        let _ = write!(self.line, ",{},\"{}\",0x{:x}", spell.0, spell.1, spell.2);
    }

    fn advanced(&mut self, a: Adv<'_>) {
        let owner = or_empty_guid(a.owner);
        let line = &mut self.line;
        let _ = match self.format {
            SynthFormat::V22 => write!(
                line,
                ",{},{owner},{},{},48210,181220,31000,2500,0,0,{},{},{},0,{:.2},{:.2},2292,{:.4},{}",
                a.guid,
                a.hp,
                a.max_hp,
                a.power_type,
                a.power,
                a.power.max(100),
                a.x,
                a.y,
                std::f32::consts::FRAC_PI_2,
                a.level
            ),
            SynthFormat::V9 => write!(
                line,
                ",{},{owner},{},{},410,250,1800,{},{},{},0,{:.2},{:.2},0,{:.4},{}",
                a.guid,
                a.hp,
                a.max_hp,
                a.power_type,
                a.power,
                a.power.max(100),
                a.x,
                a.y,
                std::f32::consts::FRAC_PI_2,
                a.level
            ),
        };
    }

    /// Starts a combat event: timestamp, name, base block, then the spell prefix and the
    /// advanced block where the event has them.
    fn head(
        &mut self,
        ts: i64,
        event: &str,
        src: U<'_>,
        dst: U<'_>,
        spell: Option<Sp>,
        adv: Option<Adv<'_>>,
    ) {
        self.begin(ts);
        self.line.extend_from_slice(event.as_bytes());
        self.units(src, dst);
        if let Some(spell) = spell {
            self.spell(spell);
        }
        if let Some(adv) = adv {
            self.advanced(adv);
        }
    }

    /// `COMBAT_LOG_VERSION` header.
    pub fn header(&mut self, ts: i64) -> io::Result<()> {
        self.begin(ts);
        let text = match self.format {
            SynthFormat::V22 => {
                "COMBAT_LOG_VERSION,22,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,11.2.0,PROJECT_ID,1"
            }
            SynthFormat::V9 => {
                "COMBAT_LOG_VERSION,9,ADVANCED_LOG_ENABLED,1,BUILD_VERSION,1.15.1,PROJECT_ID,2"
            }
        };
        self.line.extend_from_slice(text.as_bytes());
        self.end(None)
    }

    /// Any special line written verbatim after the timestamp.
    pub fn raw(&mut self, ts: i64, body: &str) -> io::Result<()> {
        self.begin(ts);
        self.line.extend_from_slice(body.as_bytes());
        self.end(None)
    }

    /// `SPELL_DAMAGE`, `SPELL_PERIODIC_DAMAGE`, `RANGE_DAMAGE`: advanced block of the target.
    #[allow(clippy::too_many_arguments)]
    pub fn spell_damage(
        &mut self,
        ts: i64,
        event: &str,
        src: U<'_>,
        dst: U<'_>,
        spell: Sp,
        adv: Adv<'_>,
        amount: i64,
        crit: bool,
    ) -> io::Result<()> {
        self.head(ts, event, src, dst, Some(spell), Some(adv));
        self.damage_suffix(amount, spell.2, crit);
        if self.format == SynthFormat::V22 {
            self.line.extend_from_slice(if amount % 7 == 0 { b",AOE" } else { b",ST" });
        }
        self.end(None)
    }

    /// `SWING_DAMAGE` (advanced block of the attacker) or `SWING_DAMAGE_LANDED` (of the target).
    pub fn swing(
        &mut self,
        ts: i64,
        event: &str,
        src: U<'_>,
        dst: U<'_>,
        adv: Adv<'_>,
        amount: i64,
    ) -> io::Result<()> {
        self.head(ts, event, src, dst, None, Some(adv));
        self.damage_suffix(amount, 1, false);
        self.end(None)
    }

    fn damage_suffix(&mut self, amount: i64, school: u32, crit: bool) {
        let base = amount * 9 / 10;
        let _ = write!(
            self.line,
            ",{amount},{base},-1,{school},0,0,0,{},nil,nil",
            if crit { "1" } else { "nil" }
        );
    }

    /// `SPELL_HEAL` / `SPELL_PERIODIC_HEAL`: advanced block of the target.
    #[allow(clippy::too_many_arguments)]
    pub fn heal(
        &mut self,
        ts: i64,
        event: &str,
        src: U<'_>,
        dst: U<'_>,
        spell: Sp,
        adv: Adv<'_>,
        amount: i64,
        overhealing: i64,
    ) -> io::Result<()> {
        self.head(ts, event, src, dst, Some(spell), Some(adv));
        let _ = write!(self.line, ",{amount},{amount},{overhealing},0,nil");
        self.end(None)
    }

    /// `SPELL_ABSORBED` with the damaging spell: `caster`'s `shield` soaked `amount`.
    #[allow(clippy::too_many_arguments)]
    pub fn absorbed(
        &mut self,
        ts: i64,
        src: U<'_>,
        dst: U<'_>,
        spell: Sp,
        caster: U<'_>,
        shield: Sp,
        amount: i64,
    ) -> io::Result<()> {
        self.head(ts, "SPELL_ABSORBED", src, dst, Some(spell), None);
        let _ = write!(self.line, ",{},\"{}\",0x{:x},0x0", caster.guid, caster.name, caster.flags);
        self.spell(shield);
        let _ = match self.format {
            SynthFormat::V22 => write!(self.line, ",{amount},{},nil", amount * 3),
            SynthFormat::V9 => write!(self.line, ",{amount},{}", amount * 3),
        };
        self.end(None)
    }

    /// `SPELL_CAST_SUCCESS`: advanced block of the caster.
    pub fn cast_success(
        &mut self,
        ts: i64,
        src: U<'_>,
        dst: U<'_>,
        spell: Sp,
        adv: Adv<'_>,
    ) -> io::Result<()> {
        self.head(ts, "SPELL_CAST_SUCCESS", src, dst, Some(spell), Some(adv));
        self.end(None)
    }

    /// `SPELL_ENERGIZE`: advanced block of the target.
    pub fn energize(&mut self, ts: i64, src: U<'_>, spell: Sp, adv: Adv<'_>, amount: i64) -> io::Result<()> {
        self.head(ts, "SPELL_ENERGIZE", src, src, Some(spell), Some(adv));
        let _ = write!(self.line, ",{amount}.0000,0.0000,{},{}", adv.power_type, adv.power.max(100));
        self.end(None)
    }

    /// `SPELL_AURA_APPLIED` / `SPELL_AURA_REMOVED`; `cut` writes a malformed, truncated line.
    pub fn aura(
        &mut self,
        ts: i64,
        event: &str,
        src: U<'_>,
        dst: U<'_>,
        spell: Sp,
        cut: bool,
    ) -> io::Result<()> {
        self.begin(ts);
        let start = self.line.len();
        self.line.extend_from_slice(event.as_bytes());
        self.units(src, dst);
        self.spell(spell);
        self.line.extend_from_slice(b",BUFF");
        // Cut inside the quoted source name: an unterminated quote, surely malformed.
        let cut_at = cut.then(|| start + event.len() + 1 + src.guid.len() + 3);
        self.end(cut_at)
    }

    /// `SPELL_MISSED` without an amount (a dodge, parry or miss).
    pub fn missed(&mut self, ts: i64, src: U<'_>, dst: U<'_>, spell: Sp, kind: &str) -> io::Result<()> {
        self.head(ts, "SPELL_MISSED", src, dst, Some(spell), None);
        let _ = write!(self.line, ",{kind},nil");
        self.end(None)
    }

    /// `SPELL_SUMMON`.
    pub fn summon(&mut self, ts: i64, src: U<'_>, dst: U<'_>, spell: Sp) -> io::Result<()> {
        self.head(ts, "SPELL_SUMMON", src, dst, Some(spell), None);
        self.end(None)
    }

    /// `UNIT_DIED`.
    pub fn died(&mut self, ts: i64, unit: U<'_>) -> io::Result<()> {
        self.head(ts, "UNIT_DIED", U { guid: "", name: "nil", flags: 0x8000_0000 }, unit, None, None);
        self.line.extend_from_slice(b",0");
        self.end(None)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn or_empty_guid(guid: &str) -> &str {
    if guid.is_empty() { "0000000000000000" } else { guid }
}
