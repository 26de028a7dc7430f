//! A direct Avro binary decoder for [`CombatEvent`], the mirror of
//! [`crate::avro_encode`]: consumers read millions of events per log, and apache-avro's
//! serde reader spends most of a consumer's CPU on them. It only reads data written with
//! the current schema (the codec checks the fingerprint first; other writer schemas go
//! through apache-avro's schema resolution), and a test decodes events of every payload
//! kind both ways and requires equal values.

use crate::event::*;
use crate::ids::{GuildId, LogId};
use std::borrow::Cow;

/// Why a datum could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the datum ends early")]
    Truncated,
    #[error("a varint is longer than 10 bytes")]
    VarintTooLong,
    #[error("a string is not UTF-8")]
    NotUtf8,
    #[error("invalid {what} {value}")]
    Invalid { what: &'static str, value: i64 },
    #[error("{0} bytes after the datum")]
    Trailing(usize),
}

/// Reads `Self` in Avro binary encoding, following its derived schema.
pub trait AvroDecode: Sized {
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

/// Decodes a whole datum: every byte must belong to it.
pub fn decode_datum<T: AvroDecode>(mut input: &[u8]) -> Result<T, DecodeError> {
    let value = T::avro_decode(&mut input)?;
    if input.is_empty() { Ok(value) } else { Err(DecodeError::Trailing(input.len())) }
}

#[inline]
fn read_long(input: &mut &[u8]) -> Result<i64, DecodeError> {
    let mut n: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
        }
    }
    Err(if input.len() < 10 { DecodeError::Truncated } else { DecodeError::VarintTooLong })
}

#[inline]
fn take<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < len {
        return Err(DecodeError::Truncated);
    }
    let (head, tail) = input.split_at(len);
    *input = tail;
    Ok(head)
}

impl AvroDecode for i64 {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        read_long(input)
    }
}

impl AvroDecode for i32 {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let value = read_long(input)?;
        i32::try_from(value).map_err(|_| DecodeError::Invalid { what: "int", value })
    }
}

/// `u32` fields are Avro `long`s in the derived schema.
impl AvroDecode for u32 {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let value = read_long(input)?;
        u32::try_from(value).map_err(|_| DecodeError::Invalid { what: "u32", value })
    }
}

impl AvroDecode for f64 {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = take(input, 8)?;
        Ok(f64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

impl AvroDecode for bool {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match take(input, 1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::Invalid { what: "boolean", value: i64::from(other) }),
        }
    }
}

impl AvroDecode for String {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let len = read_long(input)?;
        let len =
            usize::try_from(len).map_err(|_| DecodeError::Invalid { what: "string length", value: len })?;
        let bytes = take(input, len)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::NotUtf8)
    }
}

impl AvroDecode for Cow<'static, str> {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        String::avro_decode(input).map(Cow::Owned)
    }
}

/// `Option<T>` is the union `["null", T]`.
impl<T: AvroDecode> AvroDecode for Option<T> {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match read_long(input)? {
            0 => Ok(None),
            1 => T::avro_decode(input).map(Some),
            value => Err(DecodeError::Invalid { what: "union index", value }),
        }
    }
}

/// Arrays: blocks of items, a negative count followed by the block's byte size, then
/// the empty block.
impl<T: AvroDecode> AvroDecode for Vec<T> {
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut items = Vec::new();
        loop {
            let mut count = read_long(input)?;
            if count == 0 {
                return Ok(items);
            }
            if count < 0 {
                count = -count;
                read_long(input)?; // the block's size in bytes
            }
            for _ in 0..count {
                items.push(T::avro_decode(input)?);
            }
        }
    }
}

impl<T: AvroDecode> AvroDecode for Box<T> {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        T::avro_decode(input).map(Box::new)
    }
}

impl AvroDecode for GuildId {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        read_long(input).map(GuildId)
    }
}

impl AvroDecode for LogId {
    #[inline]
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        read_long(input).map(LogId)
    }
}

impl AvroDecode for AuraType {
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match read_long(input)? {
            0 => Ok(AuraType::Buff),
            1 => Ok(AuraType::Debuff),
            value => Err(DecodeError::Invalid { what: "aura type", value }),
        }
    }
}

macro_rules! records {
    ($($name:ident { $($field:ident),* }),* $(,)?) => {
        $(impl AvroDecode for $name {
            #[inline]
            fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
                let _ = &input;
                Ok($name { $($field: AvroDecode::avro_decode(input)?,)* })
            }
        })*
    };
}

with_avro_records!(records);

/// The payload union, in declaration order, `null` (for `None`) first.
impl AvroDecode for Payload {
    fn avro_decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        macro_rules! branch {
            ($variant:ident) => {
                Payload::$variant(AvroDecode::avro_decode(input)?)
            };
        }
        Ok(match read_long(input)? {
            0 => Payload::None,
            1 => branch!(Damage),
            2 => branch!(Missed),
            3 => branch!(Heal),
            4 => branch!(HealAbsorbed),
            5 => branch!(Absorbed),
            6 => branch!(Energize),
            7 => branch!(Drain),
            8 => branch!(Interrupt),
            9 => branch!(Dispel),
            10 => branch!(Aura),
            11 => branch!(Cast),
            12 => branch!(Summon),
            13 => branch!(ExtraAttacks),
            14 => branch!(Empower),
            15 => branch!(Death),
            16 => branch!(Enchant),
            17 => branch!(EncounterStart),
            18 => branch!(EncounterEnd),
            19 => branch!(ChallengeModeStart),
            20 => branch!(ChallengeModeEnd),
            21 => branch!(ArenaMatchStart),
            22 => branch!(ArenaMatchEnd),
            23 => branch!(ZoneChange),
            24 => branch!(MapChange),
            25 => branch!(CombatantInfo),
            26 => branch!(LogVersion),
            27 => branch!(Emote),
            28 => branch!(Generic),
            value => return Err(DecodeError::Invalid { what: "payload index", value }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AvroEncode;

    #[test]
    fn longs_round_trip_through_zig_zag_varints() {
        for value in [0, -1, 1, -64, 64, 300, i64::MIN, i64::MAX, 1_741_131_000_000] {
            let mut out = Vec::new();
            value.avro_encode(&mut out);
            assert_eq!(decode_datum::<i64>(&out), Ok(value));
        }
    }

    #[test]
    fn broken_data_is_an_error_not_a_panic() {
        assert_eq!(decode_datum::<i64>(&[0x80]), Err(DecodeError::Truncated));
        assert_eq!(decode_datum::<i64>(&[0xff; 11]), Err(DecodeError::VarintTooLong));
        assert_eq!(decode_datum::<String>(&[0x08, b'a']), Err(DecodeError::Truncated));
        assert_eq!(decode_datum::<String>(&[0x02, 0xff]), Err(DecodeError::NotUtf8));
        assert_eq!(decode_datum::<bool>(&[2]), Err(DecodeError::Invalid { what: "boolean", value: 2 }));
        assert_eq!(decode_datum::<i64>(&[2, 0]), Err(DecodeError::Trailing(1)));
        assert!(decode_datum::<Payload>(&[58]).is_err(), "payload index 29 does not exist");
    }
}
