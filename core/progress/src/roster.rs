//! A guild's roster, from what a guild master already has: the Battle.net guild roster
//! document, pasted as it is, or a CSV.
//!
//! The Battle.net document (`GET /data/wow/guild/{realm}/{guild}/roster` of the game data
//! API) lists `members[]`, each `{"character": {"name", "realm": {"slug"},
//! "playable_class": {"id"}}, "rank"}` (everything else in it is ignored). It has no
//! region (that is the API host's) and no mains: the region is the caller's, and a
//! member may carry `"main": "Name-Realm-Region"` of ours. The CSV has a header and the
//! columns `character` (`Name-Realm-Region`), `rank`, and optionally `main` (empty for a
//! main) and `class`.

use crate::character::CharacterKey;
use serde::Deserialize;
use std::collections::HashSet;

/// Members a roster may hold: the game's guild size limit (1,000 members).
pub const MAX_MEMBERS: usize = 1000;

/// Characters a name or realm may have (the game's are far shorter).
const MAX_PART_CHARS: usize = 64;

/// One member of a guild's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub character: CharacterKey,
    /// The guild rank: 0 is the guild master, higher ranks are lower.
    pub rank: i32,
    /// The member's main, when this character is an alt.
    pub main: Option<CharacterKey>,
    /// The class, as the tables write it (`Death Knight`), when the roster says.
    pub class: Option<&'static str>,
}

/// Why a roster was refused: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("not a Battle.net guild roster document: {0}")]
    Document(String),
    #[error("CSV line {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error("member {index} ({character}): {reason}")]
    Member { index: usize, character: String, reason: String },
    #[error("a roster holds at most {MAX_MEMBERS} members; this one has {0}")]
    TooMany(usize),
    #[error("{0} is listed twice")]
    Duplicate(String),
    #[error("the main {main} of {alt} is not a main of this roster")]
    UnknownMain { alt: String, main: String },
    #[error("the roster is empty")]
    Empty,
}

#[derive(Deserialize)]
struct Document {
    members: Vec<DocMember>,
}

#[derive(Deserialize)]
struct DocMember {
    character: DocCharacter,
    #[serde(default)]
    rank: i32,
    #[serde(default)]
    main: Option<String>,
}

#[derive(Deserialize)]
struct DocCharacter {
    name: String,
    realm: DocRealm,
    #[serde(default)]
    playable_class: Option<DocClass>,
}

#[derive(Deserialize)]
struct DocRealm {
    slug: String,
}

#[derive(Deserialize)]
struct DocClass {
    id: u8,
}

/// The members of a Battle.net guild roster document; `region` (`US`, `EU`, …) is the
/// region of the API it came from.
pub fn parse_battlenet(json: &str, region: &str) -> Result<Vec<Member>, RosterError> {
    let document: Document = serde_json::from_str(json).map_err(|e| RosterError::Document(e.to_string()))?;
    let members = document
        .members
        .into_iter()
        .enumerate()
        .map(|(index, m)| {
            let character = CharacterKey::new(&m.character.name, &m.character.realm.slug, region);
            let refuse =
                |reason: String| RosterError::Member { index, character: character.display(), reason };
            let class = match m.character.playable_class {
                Some(c) => Some(
                    wowlogs_encounters::class_name(c.id)
                        .ok_or_else(|| refuse(format!("unknown playable_class id {}", c.id)))?,
                ),
                None => None,
            };
            let main = m.main.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(CharacterKey::parse);
            Ok(Member { character, rank: m.rank, main, class })
        })
        .collect::<Result<Vec<_>, _>>()?;
    checked(members)
}

/// The members of a CSV roster (see the module).
pub fn parse_csv(text: &str, region: &str) -> Result<Vec<Member>, RosterError> {
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| RosterError::Csv { line: 1, reason: e.to_string() })?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let character_at = column("character").ok_or(RosterError::Csv {
        line: 1,
        reason: "the header names no `character` column (character,rank,main,class)".into(),
    })?;
    let (rank_at, main_at, class_at) = (column("rank"), column("main"), column("class"));
    let mut members = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| RosterError::Csv {
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if members.len() >= MAX_MEMBERS {
            return Err(RosterError::TooMany(members.len() + 1));
        }
        let field = |at: Option<usize>| at.and_then(|i| record.get(i)).unwrap_or("").trim();
        let mut character = CharacterKey::parse(field(Some(character_at)));
        if character.region.is_empty() {
            character.region = region.trim().to_uppercase();
        }
        let rank = match field(rank_at) {
            "" => 0,
            text => text
                .parse()
                .map_err(|_| RosterError::Csv { line, reason: format!("rank {text:?} is not a number") })?,
        };
        let main = Some(field(main_at)).filter(|m| !m.is_empty()).map(CharacterKey::parse);
        let class = match field(class_at) {
            "" => None,
            name => Some(
                wowlogs_encounters::class_named(name)
                    .ok_or_else(|| RosterError::Csv { line, reason: format!("unknown class {name:?}") })?,
            ),
        };
        members.push(Member { character, rank, main, class });
    }
    checked(members)
}

/// Every member named, within bounds, listed once; every alt's main a main of the roster.
fn checked(members: Vec<Member>) -> Result<Vec<Member>, RosterError> {
    if members.is_empty() {
        return Err(RosterError::Empty);
    }
    if members.len() > MAX_MEMBERS {
        return Err(RosterError::TooMany(members.len()));
    }
    let mut seen = HashSet::new();
    for (index, member) in members.iter().enumerate() {
        let c = &member.character;
        let refuse =
            |reason: &str| RosterError::Member { index, character: c.display(), reason: reason.into() };
        if c.name.is_empty() {
            return Err(refuse("no name"));
        }
        for part in [&c.name, &c.realm, &c.region] {
            if part.chars().count() > MAX_PART_CHARS || part.chars().any(char::is_control) {
                return Err(refuse(
                    "a name, realm or region longer than 64 characters or with control characters",
                ));
            }
        }
        if !seen.insert(c.id()) {
            return Err(RosterError::Duplicate(c.display()));
        }
    }
    let mains: Vec<&Member> = members.iter().filter(|m| m.main.is_none()).collect();
    for member in &members {
        if let Some(main) = &member.main {
            // The main's region defaults to the alt's (a CSV names it once).
            let mut wanted = main.clone();
            if wanted.region.is_empty() {
                wanted.region = member.character.region.clone();
            }
            if !mains.iter().any(|m| m.character.matches(&wanted)) {
                return Err(RosterError::UnknownMain {
                    alt: member.character.display(),
                    main: main.display(),
                });
            }
        }
    }
    Ok(members)
}
