//! The progress plan's writes against the real ClickHouse: seeding targets once, a
//! guild master's roadmap winning over the seed, a roster's leavers kept inactive.

use chrono::NaiveDate;
use wowlogs_progress::{CharacterKey, Member, Roadmap, Target};
use wowlogs_store::progress::{replace_roster, replace_targets, seed_every_guild, seed_targets, targets_of};
use wowlogs_store::rows::Count;
use wowlogs_store::{StoreSettings, migrate};

async fn migrated(test: &str) -> StoreSettings {
    let settings = StoreSettings::new(
        wowlogs_testkit::clickhouse(),
        wowlogs_testkit::unique(&format!("wowlogs_test_{test}")),
    );
    migrate(&settings).await.unwrap();
    settings
}

async fn count(client: &clickhouse::Client, sql: &str) -> u64 {
    client.query(sql).fetch_one::<Count>().await.unwrap().n
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn seeding_twice_changes_nothing_and_never_undoes_a_guild_masters_roadmap() {
    let settings = migrated("seed").await;
    let client = settings.client();
    let roadmap = Roadmap::default_roadmap();
    // The default guild (1) exists after migrating; every active guild is seeded.
    let first = seed_every_guild(&client, &roadmap, None).await.unwrap();
    assert_eq!(first, [(1, roadmap.weeks.len())]);
    let rows = count(&client, "SELECT count() AS n FROM progress_targets").await;
    assert_eq!(rows, roadmap.weeks.len() as u64);
    let again = seed_every_guild(&client, &roadmap, None).await.unwrap();
    assert_eq!(again, [(1, 0)], "seeding again writes nothing");
    assert_eq!(count(&client, "SELECT count() AS n FROM progress_targets").await, rows);
    let seeded = targets_of(&client, 1).await.unwrap();
    assert_eq!(seeded, roadmap.targets("", None), "the Americas' weeks for a guild without a region");

    // The guild master's roadmap replaces it; a later seed leaves it alone.
    let week = |d: &str| d.parse::<NaiveDate>().unwrap();
    let own = vec![Target { week_start: week("2027-01-04"), item_level: 270, label: "ours".into() }];
    let taken_off = replace_targets(&client, 1, &own, 1_800_000_000_000).await.unwrap();
    assert_eq!(taken_off, roadmap.weeks.len());
    assert_eq!(seed_targets(&client, 1, "US", &roadmap, None).await.unwrap(), 0);
    assert_eq!(targets_of(&client, 1).await.unwrap(), own);
    // A cleared roadmap stays clear.
    replace_targets(&client, 1, &[], 1_800_000_000_001).await.unwrap();
    assert_eq!(seed_targets(&client, 1, "US", &roadmap, None).await.unwrap(), 0);
    assert!(targets_of(&client, 1).await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs the local ClickHouse: deploy/local/test.sh runs it"]
async fn a_roster_change_keeps_who_left_inactive() {
    let settings = migrated("roster").await;
    let client = settings.client();
    let member = |name: &str| Member {
        character: CharacterKey::new(name, "Area52", "US"),
        rank: 1,
        main: None,
        class: None,
    };
    let first = replace_roster(&client, 1, &[member("Xamy"), member("Djrio")], 1_000).await.unwrap();
    assert_eq!((first.members, first.left), (2, 0));
    let second = replace_roster(&client, 1, &[member("Xamy")], 2_000).await.unwrap();
    assert_eq!((second.members, second.left), (1, 1));
    let active =
        count(&client, "SELECT count() AS n FROM guild_roster FINAL WHERE guild_id = 1 AND active = 1").await;
    let kept = count(&client, "SELECT count() AS n FROM guild_roster FINAL WHERE guild_id = 1").await;
    assert_eq!((active, kept), (1, 2), "Djrio left: kept, inactive");
}
