//! A character's identity: `Name-Realm-Region`, as retail logs write a player's name
//! (older clients and Classic write `Name-Realm`, some only `Name`).
//!
//! Logs write the realm's display name without spaces (`TwistingNether`, `Drak'thul`,
//! `Area52`); the Battle.net API and users write its slug (`twisting-nether`,
//! `drakthul`, `area-52`). Both reduce to the same key: letters and digits only, lower
//! case ([`realm_slug`]). Names compare in any case. A realm whose slug is a
//! transliteration (Russian realms: `Ревущийфьорд` is `howling-fjord`) does not match
//! its log name; such members are matched by the name the log writes (write it in the
//! roster as the log does).

use serde::{Deserialize, Serialize};

/// The key a realm compares by: its letters and digits, lower case, Latin letters
/// without their accents (the Battle.net slug of `Aggra (Português)` is
/// `aggra-portugues`, of `Marécage de Zangar` `marecage-de-zangar`).
pub fn realm_slug(realm: &str) -> String {
    realm.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).map(unaccented).collect()
}

/// A lower-case Latin letter without its accent (the letters of the realms' names:
/// Latin-1 and the French, Spanish, Portuguese, Italian and German ones); any other
/// character as it is.
fn unaccented(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// A character: name, realm and region (either may be unknown: empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CharacterKey {
    pub name: String,
    pub realm: String,
    pub region: String,
}

impl CharacterKey {
    pub fn new(name: &str, realm: &str, region: &str) -> Self {
        CharacterKey {
            name: name.trim().to_string(),
            realm: realm.trim().to_string(),
            region: region.trim().to_uppercase(),
        }
    }

    /// A name as a log (or a user) writes it: `Name-Realm-Region`, `Name-Realm` or
    /// `Name`. The first part is the name; with three parts or more, a last part of two
    /// or three letters is the region; what lies between is the realm (a slug may hold
    /// dashes: `Xamy-area-52-US`).
    pub fn parse(text: &str) -> Self {
        let parts: Vec<&str> = text.trim().split('-').collect();
        let name = parts[0];
        let rest = &parts[1..];
        let region_last = rest.len() >= 2
            && rest
                .last()
                .is_some_and(|r| (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphabetic()));
        let (realm, region) = if region_last {
            (rest[..rest.len() - 1].join("-"), rest[rest.len() - 1])
        } else {
            (rest.join("-"), "")
        };
        CharacterKey::new(name, &realm, region)
    }

    /// `Name-Realm-Region` (parts that are unknown left out).
    pub fn display(&self) -> String {
        [self.name.as_str(), self.realm.as_str(), self.region.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The key a roster stores the character under: `name-realmslug-region`, lower case.
    pub fn id(&self) -> String {
        format!("{}-{}-{}", self.name.to_lowercase(), realm_slug(&self.realm), self.region.to_lowercase())
    }

    /// Whether `other` is the same character: the same name (any case); the same realm
    /// when both name one; the same region when both name one.
    pub fn matches(&self, other: &CharacterKey) -> bool {
        let known =
            |a: &str, b: &str, same: &dyn Fn(&str, &str) -> bool| a.is_empty() || b.is_empty() || same(a, b);
        self.name.to_lowercase() == other.name.to_lowercase()
            && known(&self.realm, &other.realm, &|a, b| realm_slug(a) == realm_slug(b))
            && known(&self.region, &other.region, &|a, b| a.eq_ignore_ascii_case(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_split_into_name_realm_and_region() {
        let k = CharacterKey::parse("Eruani-Drak'thul-EU");
        assert_eq!((k.name.as_str(), k.realm.as_str(), k.region.as_str()), ("Eruani", "Drak'thul", "EU"));
        let classic = CharacterKey::parse("Flakeshock-CrusaderStrike");
        assert_eq!((classic.realm.as_str(), classic.region.as_str()), ("CrusaderStrike", ""));
        assert_eq!(CharacterKey::parse("Solo").display(), "Solo");
    }

    #[test]
    fn a_realm_slug_matches_the_name_the_log_writes() {
        assert_eq!(realm_slug("Area52"), realm_slug("area-52"));
        assert_eq!(realm_slug("TwistingNether"), "twistingnether");
        assert_eq!(realm_slug("Drak'thul"), realm_slug("drakthul"));
        assert_eq!(realm_slug("Aggra(Português)"), realm_slug("aggra-portugues"));
        assert_eq!(realm_slug("MarécagedeZangar"), "marecagedezangar");
        let slugged = CharacterKey::parse("Xamy-area-52");
        assert_eq!(slugged.realm, "area-52");
        let dashed = CharacterKey::parse("Xamy-twisting-nether-EU");
        assert_eq!((dashed.realm.as_str(), dashed.region.as_str()), ("twisting-nether", "EU"));
        assert!(CharacterKey::parse("xamy-Area52-US").matches(&slugged));
    }

    #[test]
    fn names_match_in_any_case_and_unknown_parts_match_anything() {
        let log = CharacterKey::parse("Кастиэлка-Ревущийфьорд-EU");
        assert!(CharacterKey::new("кастиэлка", "Ревущийфьорд", "eu").matches(&log));
        assert!(CharacterKey::new("Кастиэлка", "", "").matches(&log));
        assert!(!CharacterKey::new("Кастиэлка", "Ревущийфьорд", "US").matches(&log), "another region");
        assert!(!CharacterKey::new("Кастиэлка", "Гордунни", "EU").matches(&log), "another realm");
    }

    #[test]
    fn the_stored_id_is_the_same_for_every_spelling() {
        assert_eq!(
            CharacterKey::parse("Xamy-Area52-US").id(),
            CharacterKey::new("XAMY", "area-52", "us").id()
        );
        assert_eq!(CharacterKey::parse("Xamy-Area52-US").id(), "xamy-area52-us");
    }
}
