//! Roll-ups per guild and day (migration 0008): what dashboards and totals read instead
//! of every fight and every player row.
//!
//! Why not materialized views: a materialized view sees inserts only, and these tables'
//! sources change in other ways too: a re-delivered or re-read fight is written again
//! (a view would count it twice), a read from the middle of a log is replaced by a full
//! read (the row's content changes), retention and transfers delete rows, a rebuild
//! swaps whole tables. So whoever changes a guild's fights calls [`refresh`] for the days
//! it touched, which computes those days again from the deduplicated rows: every roll-up
//! row of a touched day is first written as zeros, then each day's real rows with a
//! higher version, so a day (or a player, or a boss) left with no fights reads as zero
//! and the latest computation always wins (`ReplacingMergeTree(version)`; readers take
//! the latest row by key and skip the zeros: `wowlogs_store::analytics`).

use crate::StoreSettings;

/// The roll-up tables, in the order [`refresh`] writes them.
pub const ROLLUP_TABLES: [&str; 3] = ["guild_days", "guild_day_players", "guild_day_bosses"];

/// Which days of a guild to compute again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Days {
    /// These days (ClickHouse `Date` numbers: days since 1970-01-01).
    Some(Vec<u32>),
    /// Every day the guild has fights or roll-up rows (after retention or transfers).
    All,
}

impl Days {
    /// The days of these fight starts (Unix seconds).
    pub fn of_starts(starts: impl IntoIterator<Item = u32>) -> Self {
        let mut days: Vec<u32> = starts.into_iter().map(|start| start / 86_400).collect();
        days.sort_unstable();
        days.dedup();
        Days::Some(days)
    }

    /// The SQL condition on a `Date` expression.
    fn condition(&self, day: &str) -> String {
        match self {
            Days::All => "1".to_string(),
            Days::Some(days) => {
                let list: Vec<String> = days.iter().map(|d| format!("toDate({d})")).collect();
                format!("has([{}], {day})", list.join(", "))
            }
        }
    }
}

/// The statements that compute guild `guild_id`'s `days` again, versions `version`
/// (zeros) and `version + 1` (the real rows).
pub fn refresh_statements(guild_id: i64, days: &Days, version: u64) -> Vec<String> {
    let on_day = days.condition("day");
    let on_start = days.condition("toDate(start)");
    let real = version + 1;
    vec![
        format!(
            "INSERT INTO guild_days (guild_id, day, pulls, kills, raid_pulls, keystones, arena_matches, \
             battlegrounds, fight_ms, version) SELECT guild_id, day, 0, 0, 0, 0, 0, 0, 0, {version} \
             FROM guild_days WHERE guild_id = {guild_id} AND {on_day} GROUP BY guild_id, day"
        ),
        format!(
            "INSERT INTO guild_day_players (guild_id, day, player_guid, name, class, fights, dps_sum, hps_sum, \
             deaths, item_level_max, version) SELECT guild_id, day, player_guid, '', '', 0, 0, 0, 0, NULL, \
             {version} FROM guild_day_players WHERE guild_id = {guild_id} AND {on_day} \
             GROUP BY guild_id, day, player_guid"
        ),
        format!(
            "INSERT INTO guild_day_bosses (guild_id, day, name, difficulty, pulls, kills, wipes, version) \
             SELECT guild_id, day, name, difficulty, 0, 0, 0, {version} FROM guild_day_bosses \
             WHERE guild_id = {guild_id} AND {on_day} GROUP BY guild_id, day, name, difficulty"
        ),
        format!(
            "INSERT INTO guild_days (guild_id, day, pulls, kills, raid_pulls, keystones, arena_matches, \
             battlegrounds, fight_ms, last_end_ms, version) SELECT guild_id, toDate(start) AS day, count(), \
             countIf(ifNull(kill, 0) = 1), countIf(kind = 'encounter'), countIf(kind = 'challenge_mode'), \
             countIf(kind = 'arena'), countIf(kind = 'battleground'), sum(duration_ms), max(end_ms), {real} \
             FROM encounters FINAL WHERE guild_id = {guild_id} AND round IS NULL AND {on_start} \
             GROUP BY guild_id, day"
        ),
        format!(
            "INSERT INTO guild_day_players (guild_id, day, player_guid, name, class, fights, dps_sum, hps_sum, \
             deaths, item_level_max, version) SELECT guild_id, toDate(start) AS day, player_guid, \
             argMax(name, start), argMax(class, start), count(), sum(dps), sum(hps), sum(deaths), \
             max(item_level), {real} FROM encounter_players FINAL WHERE guild_id = {guild_id} AND {on_start} \
             GROUP BY guild_id, day, player_guid"
        ),
        format!(
            "INSERT INTO guild_day_bosses (guild_id, day, name, difficulty, pulls, kills, wipes, version) \
             SELECT guild_id, toDate(start) AS day, name, ifNull(difficulty, -1) AS difficulty, count(), \
             countIf(ifNull(kill, 0) = 1), countIf(ifNull(kill, 1) = 0), {real} FROM encounters FINAL \
             WHERE guild_id = {guild_id} AND kind = 'encounter' AND {on_start} \
             GROUP BY guild_id, day, name, difficulty"
        ),
    ]
}

/// A version above every earlier refresh's of this process (twice the clock's
/// milliseconds, or 2 more than the last: each refresh writes two).
fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let clock = (wowlogs_schemas::now_ms().max(0) as u64) << 1;
    let next = |last: u64| clock.max(last + 2);
    let (Ok(last) | Err(last)) =
        LAST.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(next(last)));
    next(last)
}

/// Computes guild `guild_id`'s `days` again (see the module); safe to repeat.
pub async fn refresh(
    client: &clickhouse::Client,
    guild_id: i64,
    days: &Days,
) -> Result<(), clickhouse::error::Error> {
    if matches!(days, Days::Some(d) if d.is_empty()) {
        return Ok(());
    }
    crate::execute_all(client, refresh_statements(guild_id, days, next_version())).await
}

/// [`refresh`] of every day of each guild (after retention, transfers).
pub async fn refresh_guilds(
    settings: &StoreSettings,
    guilds: &[i64],
) -> Result<(), clickhouse::error::Error> {
    let client = settings.client();
    for guild in guilds {
        refresh(&client, *guild, &Days::All).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fights_start_names_its_utc_day() {
        // 2024-03-01 23:59:59 and 2024-03-02 00:00:00 UTC.
        assert_eq!(
            Days::of_starts([1_709_337_599, 1_709_337_600, 1_709_337_599]),
            Days::Some(vec![19_783, 19_784])
        );
    }

    #[test]
    fn zeros_come_first_and_the_real_rows_with_a_higher_version() {
        let statements = refresh_statements(7, &Days::Some(vec![19_783]), 40);
        assert_eq!(statements.len(), 6);
        assert!(
            statements[..3].iter().all(|s| s.contains(" 40 FROM") && s.contains("has([toDate(19783)], day)"))
        );
        assert!(
            statements[3..]
                .iter()
                .all(|s| s.contains(" 41 FROM") && s.contains("has([toDate(19783)], toDate(start))"))
        );
        assert!(statements.iter().all(|s| s.contains("guild_id = 7")));
        assert!(refresh_statements(7, &Days::All, 40).iter().all(|s| !s.contains("has(")));
    }

    #[test]
    fn versions_only_grow() {
        let (a, b) = (next_version(), next_version());
        assert!(b >= a + 2);
    }
}
