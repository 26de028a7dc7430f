//! Rosters as guild masters paste them: a Battle.net guild roster document (written from
//! the game data API's documented shape, `tests/rosters/battlenet_roster.json`) and a CSV.

use wowlogs_progress::{CharacterKey, MAX_MEMBERS, RosterError, parse_battlenet, parse_csv};

const DOCUMENT: &str = include_str!("rosters/battlenet_roster.json");
const CSV: &str = include_str!("rosters/roster.csv");

#[test]
fn a_battlenet_roster_document_gives_every_member_with_rank_class_and_the_callers_region() {
    let members = parse_battlenet(DOCUMENT, "us").unwrap();
    let listed: Vec<(String, i32, Option<&str>)> =
        members.iter().map(|m| (m.character.display(), m.rank, m.class)).collect();
    assert_eq!(
        listed,
        [
            ("Xamymage-area-52-US".to_string(), 0, Some("Mage")),
            ("Djrio-area-52-US".to_string(), 1, Some("Warrior")),
            ("Healsalot-area-52-US".to_string(), 3, Some("Priest")),
            ("Xamyalt-area-52-US".to_string(), 5, Some("Druid")),
            ("Tankyboi-twisting-nether-US".to_string(), 3, Some("Death Knight")),
        ]
    );
    assert!(
        members[0].character.matches(&CharacterKey::parse("Xamymage-Area52-US")),
        "slug against log name"
    );
    assert!(members[4].character.matches(&CharacterKey::parse("Tankyboi-TwistingNether-US")));
    assert_eq!(members[3].main.as_ref().map(CharacterKey::display).as_deref(), Some("Xamymage-Area52-US"));
}

#[test]
fn a_csv_roster_names_mains_and_classes_in_any_spelling() {
    let members = parse_csv(CSV, "US").unwrap();
    assert_eq!(members.len(), 4);
    assert_eq!(members[3].character.display(), "Healsalot-Area52-US", "the default region fills in");
    assert_eq!(members[3].class, Some("Priest"));
    assert_eq!(members[2].main.as_ref().unwrap().display(), "Xamymage-Area52");
    assert_eq!(members[1].character.realm, "area-52");
}

#[test]
fn refusals_say_what_is_wrong_and_where() {
    let unknown_main = "character,rank,main\nA-Realm-US,0,\nB-Realm-US,1,Nobody-Realm-US\n";
    assert_eq!(
        parse_csv(unknown_main, "US").unwrap_err(),
        RosterError::UnknownMain { alt: "B-Realm-US".into(), main: "Nobody-Realm-US".into() }
    );
    let alt_of_alt = "character,rank,main\nA-Realm-US,0,\nB-Realm-US,1,A-Realm-US\nC-Realm-US,1,B-Realm-US\n";
    assert!(matches!(parse_csv(alt_of_alt, "US"), Err(RosterError::UnknownMain { .. })), "mains are mains");
    assert_eq!(
        parse_csv("character,rank\nA-Realm-US,0\na-realm-us,2\n", "US").unwrap_err(),
        RosterError::Duplicate("a-realm-US".into())
    );
    assert!(matches!(
        parse_csv("character,rank\nA-R-US,first\n", "US"),
        Err(RosterError::Csv { line: 2, .. })
    ));
    assert!(matches!(parse_csv("character,class\nA-R-US,Bard\n", "US"), Err(RosterError::Csv { .. })));
    assert!(matches!(parse_csv("name,rank\nA,0\n", "US"), Err(RosterError::Csv { line: 1, .. })));
    assert_eq!(parse_csv("character,rank\n", "US").unwrap_err(), RosterError::Empty);
    assert!(matches!(parse_battlenet("{\"guild\": {}}", "US"), Err(RosterError::Document(_))));
    let bad_class = DOCUMENT.replacen("\"id\": 8\n", "\"id\": 99\n", 1);
    assert!(matches!(parse_battlenet(&bad_class, "US"), Err(RosterError::Member { index: 0, .. })));
}

#[test]
fn a_roster_holds_at_most_the_games_guild_size() {
    let mut csv = String::from("character,rank\n");
    for i in 0..=MAX_MEMBERS {
        csv.push_str(&format!("M{i}-Realm-US,5\n"));
    }
    assert_eq!(parse_csv(&csv, "US").unwrap_err(), RosterError::TooMany(MAX_MEMBERS + 1));
}
