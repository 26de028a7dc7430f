//! Splitting an event body into fields, and reading typed values out of them.
//!
//! Fields are separated by commas, except inside `"quoted names"` (which may hold
//! commas and any UTF-8, e.g. `"Lihuvim, Principal Architect"`) and inside the nested
//! `[...]` / `(...)` groups of `COMBATANT_INFO` and `CHALLENGE_MODE_START`.

use crate::error::ParseErrorKind;
use memchr::memchr2;

/// Byte ranges of the fields of one line, reused across lines to avoid allocation.
#[derive(Debug, Default)]
pub struct FieldSplitter {
    ranges: Vec<(u32, u32)>,
}

/// Borrowed view of a split line.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    body: &'a str,
    ranges: &'a [(u32, u32)],
}

impl FieldSplitter {
    /// Splits `body` into at most `max_fields` fields; the last one takes the rest of the
    /// line verbatim (`EMOTE` text is unescaped and may contain anything).
    pub fn split<'a>(&'a mut self, body: &'a str, max_fields: usize) -> Result<Fields<'a>, ParseErrorKind> {
        self.ranges.clear();
        let bytes = body.as_bytes();
        if memchr2(b'[', b'(', bytes).is_none() {
            self.split_flat(bytes, max_fields)?;
        } else {
            self.split_nested(bytes, max_fields)?;
        }
        Ok(Fields { body, ranges: &self.ranges })
    }

    /// Fast path for lines without groups: one vectorised pass over the commas. A piece
    /// that opens a quote without closing it had a comma inside a name, so it is joined
    /// with the following pieces up to the closing quote (names never contain quotes).
    fn split_flat(&mut self, bytes: &[u8], max_fields: usize) -> Result<(), ParseErrorKind> {
        let mut start = 0usize;
        let mut quoted_from: Option<usize> = None;
        for comma in memchr::memchr_iter(b',', bytes) {
            if self.ranges.len() + 1 == max_fields {
                break;
            }
            let piece_start = quoted_from.unwrap_or(start);
            let piece = &bytes[start..comma];
            let opens = quoted_from.is_none() && piece.first() == Some(&b'"');
            let closes = piece.last() == Some(&b'"') && (!opens || piece.len() >= 2);
            match (quoted_from.is_some() || opens, closes) {
                (true, false) => quoted_from = Some(piece_start),
                _ => {
                    self.push(piece_start, comma);
                    quoted_from = None;
                }
            }
            start = comma + 1;
        }
        let piece_start = quoted_from.unwrap_or(start);
        let last = &bytes[start..];
        let unclosed = match quoted_from {
            Some(_) => last.last() != Some(&b'"'),
            None => last.first() == Some(&b'"') && (last.len() < 2 || last.last() != Some(&b'"')),
        };
        if unclosed && self.ranges.len() + 1 < max_fields {
            return Err(ParseErrorKind::Truncated { reason: "a quoted name never closes" });
        }
        self.push(piece_start, bytes.len());
        Ok(())
    }

    /// Slow path for the rare lines with groups: a plain byte loop that tracks `[`/`(`
    /// nesting (commas inside groups do not split). Linear in the line length.
    fn split_nested(&mut self, bytes: &[u8], max_fields: usize) -> Result<(), ParseErrorKind> {
        let mut depth = 0usize;
        let mut start = 0usize;
        let mut pos = 0usize;
        while pos < bytes.len() && self.ranges.len() + 1 < max_fields {
            match bytes[pos] {
                b',' if depth == 0 => {
                    self.push(start, pos);
                    start = pos + 1;
                }
                b'"' => {
                    let close = memchr::memchr(b'"', &bytes[pos + 1..])
                        .ok_or(ParseErrorKind::Truncated { reason: "a quoted name never closes" })?;
                    pos += close + 1;
                }
                b'[' | b'(' => depth += 1,
                b']' | b')' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or(ParseErrorKind::Truncated { reason: "a bracket closes that never opened" })?;
                }
                _ => {}
            }
            pos += 1;
        }
        if depth != 0 {
            return Err(ParseErrorKind::Truncated { reason: "a [ or ( group never closes" });
        }
        self.push(start, bytes.len());
        Ok(())
    }

    fn push(&mut self, start: usize, end: usize) {
        // Lines are capped far below 4 GiB by the line reader.
        self.ranges.push((start as u32, end as u32));
    }
}

impl<'a> Fields<'a> {
    /// Number of fields, including the event name.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The raw text of field `i` (quotes kept).
    pub fn raw(&self, i: usize) -> &'a str {
        let (start, end) = self.ranges[i];
        &self.body[start as usize..end as usize]
    }

    /// Every field from `i` on, raw.
    pub fn raw_from(&self, i: usize) -> impl Iterator<Item = &'a str> + '_ {
        (i..self.len()).map(|j| self.raw(j))
    }

    /// Field `i` as text: quotes removed, `nil` read as empty.
    pub fn text(&self, i: usize) -> &'a str {
        let raw = self.raw(i);
        match raw.as_bytes() {
            [b'"', .., b'"'] if raw.len() >= 2 => &raw[1..raw.len() - 1],
            b"nil" => "",
            _ => raw,
        }
    }

    /// Field `i` as a GUID: `0000000000000000` and `nil` read as empty.
    pub fn guid(&self, i: usize) -> &'a str {
        match self.text(i) {
            "0000000000000000" | "0" => "",
            guid => guid,
        }
    }

    /// Field `i` as a signed integer.
    pub fn int(&self, i: usize, field: &'static str) -> Result<i64, ParseErrorKind> {
        let raw = self.raw(i);
        parse_int(raw).ok_or_else(|| bad_number(field, i, raw))
    }

    /// Field `i` as an `i32` (ids, levels, small enums).
    pub fn int32(&self, i: usize, field: &'static str) -> Result<i32, ParseErrorKind> {
        let raw = self.raw(i);
        parse_int(raw).and_then(|v| i32::try_from(v).ok()).ok_or_else(|| bad_number(field, i, raw))
    }

    /// The first value of a `0|3` multi-power field.
    pub fn first_of_multi(&self, i: usize, field: &'static str) -> Result<i64, ParseErrorKind> {
        let raw = self.raw(i);
        let first = raw.split('|').next().unwrap_or(raw);
        parse_int(first).ok_or_else(|| bad_number(field, i, raw))
    }

    /// Field `i` as a float.
    pub fn float(&self, i: usize, field: &'static str) -> Result<f64, ParseErrorKind> {
        let raw = self.raw(i);
        raw.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| bad_number(field, i, raw))
    }

    /// Field `i` as a bit field written in hex (`0x518`) or decimal.
    pub fn flags(&self, i: usize, field: &'static str) -> Result<u32, ParseErrorKind> {
        let raw = self.raw(i);
        let parsed = match raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => raw.parse::<u32>().ok(),
        };
        parsed.ok_or_else(|| bad_number(field, i, raw))
    }

    /// Field `i` as a boolean written `1` / `nil` / `0`.
    pub fn flag(&self, i: usize, field: &'static str) -> Result<bool, ParseErrorKind> {
        match self.raw(i) {
            "1" => Ok(true),
            "nil" | "0" | "" => Ok(false),
            other => Err(ParseErrorKind::BadValue {
                field,
                index: i,
                value: other.to_string(),
                expected: "1, 0 or nil",
            }),
        }
    }
}

/// Integer parse that also accepts `123.0` (some builds print integral amounts that way).
fn parse_int(raw: &str) -> Option<i64> {
    fast_int(raw.as_bytes()).or_else(|| {
        let value = raw.parse::<f64>().ok()?;
        (value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15).then_some(value as i64)
    })
}

/// Plain decimal integers of up to 18 digits, the overwhelming case, without the
/// generality of `str::parse`.
#[inline]
fn fast_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    Some(if negative { -value } else { value })
}

fn bad_number(field: &'static str, index: usize, raw: &str) -> ParseErrorKind {
    let mut value: String = raw.chars().take(64).collect();
    if value.len() < raw.len() {
        value.push('…');
    }
    ParseErrorKind::BadNumber { field, index, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &str) -> Vec<String> {
        let mut splitter = FieldSplitter::default();
        let fields = splitter.split(body, usize::MAX).unwrap();
        (0..fields.len()).map(|i| fields.raw(i).to_string()).collect()
    }

    #[test]
    fn quoted_names_keep_their_commas() {
        assert_eq!(
            split(r#"ENCOUNTER_START,2539,"Lihuvim, Principal Architect",15,21,2481"#),
            ["ENCOUNTER_START", "2539", "\"Lihuvim, Principal Architect\"", "15", "21", "2481"]
        );
    }

    #[test]
    fn nested_groups_are_one_field() {
        assert_eq!(
            split("COMBATANT_INFO,P,(1,2),[(3,4,(),(5,6),()),(7)],0"),
            ["COMBATANT_INFO", "P", "(1,2)", "[(3,4,(),(5,6),()),(7)]", "0"]
        );
    }

    #[test]
    fn a_field_limit_leaves_the_rest_verbatim() {
        let mut splitter = FieldSplitter::default();
        let fields =
            splitter.split(r#"EMOTE,C-1,"Boss",0000000000000000,nil,|cff[Bomb]|r, run!"#, 6).unwrap();
        assert_eq!(fields.len(), 6);
        assert_eq!(fields.raw(5), "|cff[Bomb]|r, run!");
    }

    #[test]
    fn an_unclosed_quote_or_group_is_a_truncated_line() {
        let mut splitter = FieldSplitter::default();
        assert!(matches!(
            splitter.split(r#"SPELL_AURA_APPLIED,P-1,"Name"#, usize::MAX),
            Err(ParseErrorKind::Truncated { .. })
        ));
        assert!(matches!(
            splitter.split("COMBATANT_INFO,P,[(1,2", usize::MAX),
            Err(ParseErrorKind::Truncated { .. })
        ));
        assert!(matches!(
            splitter.split("COMBATANT_INFO,P,(1)),2", usize::MAX),
            Err(ParseErrorKind::Truncated { .. })
        ));
    }

    proptest::proptest! {
        /// The vectorised path and the byte loop agree on every well-formed line.
        #[test]
        fn fast_and_nested_splitting_agree(fields in proptest::collection::vec("[A-Za-z0-9_ .x-]{0,8}|\"[A-Za-z0-9 ,'.-]{0,12}\"", 1..40)) {
            let body = fields.join(",");
            let mut fast = FieldSplitter::default();
            fast.split_flat(body.as_bytes(), usize::MAX).unwrap();
            let mut slow = FieldSplitter::default();
            slow.split_nested(body.as_bytes(), usize::MAX).unwrap();
            proptest::prop_assert_eq!(&fast.ranges, &slow.ranges);
            proptest::prop_assert_eq!(fast.ranges.len(), fields.len());
        }
    }

    #[test]
    fn typed_readers_interpret_log_conventions() {
        let mut splitter = FieldSplitter::default();
        let f = splitter
            .split(r#"X,0000000000000000,nil,"Ná,me",0x518,42,-1,0.0000,1,0|3,152.0000"#, usize::MAX)
            .unwrap();
        assert_eq!(f.guid(1), "");
        assert_eq!(f.text(2), "");
        assert_eq!(f.text(3), "Ná,me");
        assert_eq!(f.flags(4, "flags"), Ok(0x518));
        assert_eq!(f.int(5, "n"), Ok(42));
        assert_eq!(f.int(6, "n"), Ok(-1));
        assert_eq!(f.float(7, "x"), Ok(0.0));
        assert_eq!(f.flag(8, "crit"), Ok(true));
        assert_eq!(f.flag(2, "crit"), Ok(false));
        assert_eq!(f.first_of_multi(9, "power"), Ok(0));
        assert_eq!(f.int(10, "amount"), Ok(152));
        assert!(matches!(f.int(3, "n"), Err(ParseErrorKind::BadNumber { index: 3, .. })));
    }
}
