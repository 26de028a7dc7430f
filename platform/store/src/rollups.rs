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
    /// Every day from the first to the last, both included.
    Between(u32, u32),
    /// Every day the guild has fights or roll-up rows (after retention or transfers).
    All,
}

/// The most calendar months one refresh statement touches. The roll-up tables are
/// partitioned by month and current ClickHouse refuses an INSERT touching more than
/// `max_partitions_per_insert_block` (100) partitions, so a guild whose fights span
/// more months (a bulk import of years, or a crafted log) is refreshed in pieces.
pub const MONTHS_PER_REFRESH: u32 = 48;

/// A day's calendar month, as `year * 12 + month - 1`.
fn month_of(day: u32) -> i64 {
    use chrono::Datelike;
    let date = chrono::DateTime::from_timestamp(i64::from(day) * 86_400, 0).unwrap_or_default().date_naive();
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// The first day of the month `months` after the month of `day`.
fn first_day_months_after(day: u32, months: u32) -> u32 {
    use chrono::NaiveDate;
    let month = month_of(day) + i64::from(months);
    let (year, month0) = (month.div_euclid(12) as i32, month.rem_euclid(12) as u32);
    let first = NaiveDate::from_ymd_opt(year, month0 + 1, 1).unwrap_or(NaiveDate::MAX);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    u32::try_from((first - epoch).num_days()).unwrap_or(u32::MAX)
}

/// `days` in pieces that each touch at most `months` calendar months, in order.
pub fn pieces(days: &Days, months: u32) -> Vec<Days> {
    match days {
        Days::All => vec![Days::All],
        Days::Some(days) => {
            let mut pieces: Vec<Vec<u32>> = Vec::new();
            let mut first_month = None;
            for &day in days {
                let month = month_of(day);
                match (pieces.last_mut(), first_month) {
                    (Some(piece), Some(first)) if month - first < i64::from(months) => piece.push(day),
                    _ => {
                        pieces.push(vec![day]);
                        first_month = Some(month);
                    }
                }
            }
            pieces.into_iter().map(Days::Some).collect()
        }
        &Days::Between(first, last) => {
            let mut pieces = Vec::new();
            let mut from = first;
            while from <= last {
                let next = first_day_months_after(from, months);
                pieces.push(Days::Between(from, last.min(next.saturating_sub(1))));
                if next <= from {
                    break;
                }
                from = next;
            }
            pieces
        }
    }
}

impl Days {
    /// The days of these fight starts (Unix seconds).
    pub fn of_starts(starts: impl IntoIterator<Item = u32>) -> Self {
        let mut days: Vec<u32> = starts.into_iter().map(|start| start / 86_400).collect();
        days.sort_unstable();
        days.dedup();
        Days::Some(days)
    }

    /// These UTC days and the day before and after each: the days of their fights in
    /// any time zone (offsets are within a day of UTC).
    pub fn around(utc_days: &[u32]) -> Self {
        let mut days: Vec<u32> =
            utc_days.iter().flat_map(|&d| [d.saturating_sub(1), d, d.saturating_add(1)]).collect();
        days.sort_unstable();
        days.dedup();
        Days::Some(days)
    }

    /// The SQL condition on a `Date` expression.
    fn condition(&self, day: &str) -> String {
        match self {
            Days::All => "1".to_string(),
            Days::Between(first, last) => format!("{day} >= toDate({first}) AND {day} <= toDate({last})"),
            Days::Some(days) => {
                let list: Vec<String> = days.iter().map(|d| format!("toDate({d})")).collect();
                format!("has([{}], {day})", list.join(", "))
            }
        }
    }
}

/// The statements that compute guild `guild_id`'s `days` again, versions `version`
/// (zeros) and `version + 1` (the real rows), a fight's day being the date of its start
/// in time zone `zone` (an IANA name ClickHouse knows).
pub fn refresh_statements(guild_id: i64, days: &Days, version: u64, zone: &str) -> Vec<String> {
    let zone = zone_literal(zone);
    let start_day = format!("toDate(start, {zone})");
    let on_day = days.condition("day");
    let on_start = days.condition(&start_day);
    let real = version + 1;
    vec![
        format!(
            "INSERT INTO guild_days (guild_id, day, pulls, kills, raid_pulls, keystones, arena_matches, \
             battlegrounds, fight_ms, zone, version) SELECT guild_id, day, 0, 0, 0, 0, 0, 0, 0, {zone}, {version} \
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
             battlegrounds, fight_ms, last_end_ms, zone, version) SELECT guild_id, {start_day} AS day, count(), \
             countIf(ifNull(kill, 0) = 1), countIf(kind = 'encounter'), countIf(kind = 'challenge_mode'), \
             countIf(kind = 'arena'), countIf(kind = 'battleground'), sum(duration_ms), max(end_ms), {zone}, {real} \
             FROM encounters FINAL WHERE guild_id = {guild_id} AND round IS NULL AND {on_start} \
             GROUP BY guild_id, day"
        ),
        format!(
            "INSERT INTO guild_day_players (guild_id, day, player_guid, name, class, fights, dps_sum, hps_sum, \
             deaths, item_level_max, version) SELECT guild_id, {start_day} AS day, player_guid, \
             argMax(name, start), argMax(class, start), count(), sum(dps), sum(hps), sum(deaths), \
             max(item_level), {real} FROM encounter_players FINAL WHERE guild_id = {guild_id} AND {on_start} \
             GROUP BY guild_id, day, player_guid"
        ),
        format!(
            "INSERT INTO guild_day_bosses (guild_id, day, name, difficulty, pulls, kills, wipes, version) \
             SELECT guild_id, {start_day} AS day, name, ifNull(difficulty, -1) AS difficulty, count(), \
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

/// The first and last day a guild has fights or roll-up rows on.
#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Span {
    first: u32,
    last: u32,
    days: u64,
}

/// Computes guild `guild_id`'s `days` again (see the module); safe to repeat. Days are
/// the guild's, in its time zone ([`guild_zone`]): `Days::Some` names UTC days (what
/// [`Days::of_starts`] gives), which in another zone are also the day before and after.
/// Every day of the guild ([`Days::All`]) is read as the span from its first day to its
/// last; a span of more than [`MONTHS_PER_REFRESH`] months is refreshed in pieces.
pub async fn refresh(
    client: &clickhouse::Client,
    guild_id: i64,
    days: &Days,
) -> Result<(), clickhouse::error::Error> {
    if matches!(days, Days::Some(d) if d.is_empty()) {
        return Ok(());
    }
    let zone = guild_zone(client, guild_id).await?;
    let days = match days {
        Days::All => {
            let span = client
                .query(&format!(
                    "SELECT toUInt32(min(day)) AS first, toUInt32(max(day)) AS last, count() AS days FROM \
                     (SELECT day FROM guild_days WHERE guild_id = ? \
                     UNION ALL SELECT toDate(start, {}) AS day FROM encounters WHERE guild_id = ?)",
                    zone_literal(&zone)
                ))
                .bind(guild_id)
                .bind(guild_id)
                .fetch_one::<Span>()
                .await?;
            if span.days == 0 {
                return Ok(());
            }
            Days::Between(span.first, span.last)
        }
        Days::Some(utc) if zone != UTC => Days::around(utc),
        days => days.clone(),
    };
    for piece in pieces(&days, MONTHS_PER_REFRESH) {
        crate::execute_all(client, refresh_statements(guild_id, &piece, next_version(), &zone)).await?;
    }
    Ok(())
}

/// The zone of a guild that names none, and of one the registry does not know.
pub const UTC: &str = "UTC";

/// The time zone guild `guild_id`'s days are in (its registry row's; UTC if none).
pub async fn guild_zone(
    client: &clickhouse::Client,
    guild_id: i64,
) -> Result<String, clickhouse::error::Error> {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Zone {
        timezone: String,
    }
    let zone = client
        .query("SELECT timezone FROM guilds FINAL WHERE guild_id = ?")
        .bind(guild_id)
        .fetch_optional::<Zone>()
        .await?;
    Ok(zone.map(|z| z.timezone).filter(|z| !z.is_empty()).unwrap_or_else(|| UTC.to_string()))
}

/// A zone name as a SQL string literal (the registry admits letters, digits and `_+-/`
/// only; anything else is escaped all the same).
pub fn zone_literal(zone: &str) -> String {
    format!("'{}'", zone.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Computes again every day of each guild whose day roll-ups were computed in another
/// time zone than the guild's own (after an upgrade from UTC-only roll-ups, or a zone
/// change whose refresh did not finish); returns those guilds. `wowlogs migrate` runs it.
pub async fn refresh_stale_zones(settings: &StoreSettings) -> Result<Vec<i64>, clickhouse::error::Error> {
    #[derive(Debug, clickhouse::Row, serde::Deserialize)]
    struct Stale {
        guild_id: i64,
    }
    let client = settings.client();
    let stale: Vec<i64> = client
        .query(
            "SELECT DISTINCT guild_id FROM guild_days AS d FINAL ANY INNER JOIN \
             (SELECT guild_id, if(timezone = '', 'UTC', timezone) AS own FROM guilds FINAL) AS g USING (guild_id) \
             WHERE d.zone != g.own",
        )
        .fetch_all::<Stale>()
        .await?
        .into_iter()
        .map(|s| s.guild_id)
        .collect();
    refresh_guilds(settings, &stale).await?;
    Ok(stale)
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
        let statements = refresh_statements(7, &Days::Some(vec![19_783]), 40, UTC);
        assert_eq!(statements.len(), 6);
        assert!(
            statements[..3].iter().all(|s| s.contains(" 40 FROM") && s.contains("has([toDate(19783)], day)"))
        );
        assert!(
            statements[3..]
                .iter()
                .all(|s| s.contains(" 41 FROM") && s.contains("has([toDate(19783)], toDate(start, 'UTC'))"))
        );
        assert!(statements.iter().all(|s| s.contains("guild_id = 7")));
        assert!(refresh_statements(7, &Days::All, 40, UTC).iter().all(|s| !s.contains("has(")));
    }

    /// 2005-01-01, 2005-01-31, 2005-02-01 and 2026-10-03 as day numbers.
    const JAN_1_2005: u32 = 12_784;

    #[test]
    fn days_are_refreshed_in_pieces_of_at_most_so_many_months() {
        let days: Vec<u32> = (0..262).map(|m| first_day_months_after(JAN_1_2005, m) + 2).collect();
        let pieces = pieces(&Days::Some(days.clone()), MONTHS_PER_REFRESH);
        assert_eq!(pieces.len(), 262_usize.div_ceil(MONTHS_PER_REFRESH as usize));
        let mut again: Vec<u32> = Vec::new();
        for piece in &pieces {
            let Days::Some(piece) = piece else { panic!("{piece:?}") };
            let months: std::collections::BTreeSet<i64> = piece.iter().map(|&d| month_of(d)).collect();
            assert!(months.len() <= MONTHS_PER_REFRESH as usize);
            again.extend(piece.iter().copied());
        }
        assert_eq!(again, days, "every day once, in order");
        assert_eq!(super::pieces(&Days::Some(vec![JAN_1_2005, JAN_1_2005 + 30]), 1).len(), 1, "one month");
        assert_eq!(super::pieces(&Days::Some(vec![JAN_1_2005 + 30, JAN_1_2005 + 31]), 1).len(), 2);
    }

    #[test]
    fn a_span_is_cut_at_month_starts() {
        assert_eq!(first_day_months_after(JAN_1_2005 + 17, 1), JAN_1_2005 + 31, "2005-02-01");
        assert_eq!(first_day_months_after(JAN_1_2005, 12), JAN_1_2005 + 365, "2006-01-01");
        let last = first_day_months_after(JAN_1_2005, 262) - 1;
        let pieces = pieces(&Days::Between(JAN_1_2005 + 3, last), MONTHS_PER_REFRESH);
        assert_eq!(pieces.len(), 6);
        assert_eq!(pieces[0], Days::Between(JAN_1_2005 + 3, first_day_months_after(JAN_1_2005, 48) - 1));
        assert_eq!(
            pieces[1],
            Days::Between(first_day_months_after(JAN_1_2005, 48), first_day_months_after(JAN_1_2005, 96) - 1)
        );
        assert_eq!(pieces[5], Days::Between(first_day_months_after(JAN_1_2005, 240), last));
        assert_eq!(super::pieces(&Days::Between(5, 5), 1), [Days::Between(5, 5)]);
        assert!(
            refresh_statements(7, &Days::Between(1, 2), 40, UTC)
                .iter()
                .all(|s| s.contains(">= toDate(1) AND") && s.contains("<= toDate(2)"))
        );
    }

    #[test]
    fn versions_only_grow() {
        let (a, b) = (next_version(), next_version());
        assert!(b >= a + 2);
    }
}
