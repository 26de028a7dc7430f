//! Weekly item-level targets and where each member stands against this week's.
//!
//! A target belongs to a week, named by the day the week starts: the region's weekly
//! reset ([`reset_weekday`]), a date in the guild's time zone. This week's target is the
//! one of the latest week started on or before today ([`target_for`]). A member is
//! `On Track` at or above it and `Behind` below it, compared as the character sheet
//! shows item level: the mean truncated to a whole number ([`assess`]).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The day each region's week starts: its weekly reset. Source: Blizzard's support
/// article "Weekly Reset Times": the Americas and Oceania reset on Tuesday, Europe on
/// Wednesday, Korea, Taiwan and China on Thursday. An unknown or empty region takes the
/// Americas' (the default region of a guild created without one).
pub fn reset_weekday(region: &str) -> Weekday {
    match region.trim().to_ascii_uppercase().as_str() {
        "EU" => Weekday::Wed,
        "KR" | "TW" | "CN" => Weekday::Thu,
        _ => Weekday::Tue,
    }
}

/// The first day of the week `day` is in, for a guild of `region`.
pub fn week_of(day: NaiveDate, region: &str) -> NaiveDate {
    let start = reset_weekday(region).num_days_from_monday();
    let today = day.weekday().num_days_from_monday();
    let back = (7 + today - start) % 7;
    day - Days::new(u64::from(back))
}

/// One week's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The day the week starts (`YYYY-MM-DD`, in the guild's time zone).
    pub week_start: NaiveDate,
    pub item_level: i32,
    /// What the week is about (`Heroic opens`), may be empty.
    #[serde(default)]
    pub label: String,
}

/// This week's target: that of the latest week started on or before `today`; `None`
/// before the first.
pub fn target_for(targets: &[Target], today: NaiveDate) -> Option<&Target> {
    targets.iter().filter(|t| t.week_start <= today).max_by_key(|t| t.week_start)
}

/// A member against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// At or above this week's target.
    #[serde(rename = "On Track")]
    OnTrack,
    /// Below it.
    Behind,
    /// No item level seen yet, or no target for this week.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::OnTrack, Status::Behind, Status::Unknown];

    /// `On Track`, `Behind`, `Unknown`: what the answers write.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnTrack => "On Track",
            Status::Behind => "Behind",
            Status::Unknown => "Unknown",
        }
    }

    /// A status as a filter names it: `on_track`, `behind`, `unknown` (or as written,
    /// any case).
    pub fn parse(text: &str) -> Option<Status> {
        let folded: String =
            text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
        Status::ALL.into_iter().find(|s| s.as_str().replace(' ', "").to_lowercase() == folded)
    }
}

/// Where a member stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub status: Status,
    /// The item level compared: the mean truncated, as the character sheet shows it.
    pub current: Option<i32>,
    pub target: Option<i32>,
    /// `current - target`: negative when behind.
    pub difference: Option<i32>,
    pub message: String,
}

/// A member with mean item level `current` (from their latest equipped items) against
/// this week's `target`. The messages are the specification's, exactly:
/// `"5 iLvl behind. Target: 265, Current: 260"` and
/// `"Ahead of schedule! Target: 265, Current: 285"`.
pub fn assess(current: Option<f64>, target: Option<i32>) -> Assessment {
    let shown = current.map(|c| c.floor() as i32);
    let (status, difference, message) = match (shown, target) {
        (Some(c), Some(t)) if c < t => {
            (Status::Behind, Some(c - t), format!("{} iLvl behind. Target: {t}, Current: {c}", t - c))
        }
        (Some(c), Some(t)) if c > t => {
            (Status::OnTrack, Some(c - t), format!("Ahead of schedule! Target: {t}, Current: {c}"))
        }
        (Some(c), Some(t)) => (Status::OnTrack, Some(0), format!("On schedule. Target: {t}, Current: {c}")),
        (None, _) => (
            Status::Unknown,
            None,
            "No item level seen yet: it comes from the character's equipment at the start of a logged fight \
             (advanced combat logging on)"
                .to_string(),
        ),
        (Some(c), None) => (
            Status::Unknown,
            None,
            format!("No target for this week: the guild master sets the roadmap. Current: {c}"),
        ),
    };
    Assessment { status, current: shown, target, difference, message }
}

/// The default roadmap shipped with wowlogs (`roadmaps/default.json`): what
/// `wowlogs progress seed-targets` gives every guild that has no targets yet.
pub const DEFAULT_ROADMAP: &str = include_str!("../roadmaps/default.json");

/// A roadmap file: weekly targets counted from a season's first week.
#[derive(Debug, Clone, Deserialize)]
pub struct Roadmap {
    pub season: String,
    /// Where the numbers come from.
    pub source: String,
    /// The season's first weekly reset in the Americas (`YYYY-MM-DD`, a Tuesday).
    pub season_start: NaiveDate,
    pub weeks: Vec<RoadmapWeek>,
}

/// One week of a [`Roadmap`].
#[derive(Debug, Clone, Deserialize)]
pub struct RoadmapWeek {
    /// From 1.
    pub week: u32,
    pub target: i32,
    #[serde(default)]
    pub label: String,
}

impl Roadmap {
    /// The shipped default.
    pub fn default_roadmap() -> Roadmap {
        serde_json::from_str(DEFAULT_ROADMAP).expect("the shipped roadmap is valid (tested)")
    }

    /// The roadmap's targets for a guild of `region`: week n starts n - 1 weeks after
    /// the season's first reset in that region (`season_start`, if given, replaces the
    /// file's).
    pub fn targets(&self, region: &str, season_start: Option<NaiveDate>) -> Vec<Target> {
        // The region's first reset on or after the Americas' (Europe's is the next day).
        let first = week_of(season_start.unwrap_or(self.season_start) + Days::new(6), region);
        self.weeks
            .iter()
            .map(|w| Target {
                week_start: first + Days::new(7 * u64::from(w.week.saturating_sub(1))),
                item_level: w.target,
                label: w.label.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_specifications_messages_exactly() {
        let behind = assess(Some(260.4), Some(265));
        assert_eq!(behind.message, "5 iLvl behind. Target: 265, Current: 260");
        assert_eq!((behind.status, behind.difference), (Status::Behind, Some(-5)));
        let ahead = assess(Some(285.0), Some(265));
        assert_eq!(ahead.message, "Ahead of schedule! Target: 265, Current: 285");
        assert_eq!((ahead.status, ahead.difference), (Status::OnTrack, Some(20)));
    }

    #[test]
    fn item_level_is_compared_as_the_character_sheet_shows_it() {
        let just_under = assess(Some(264.94), Some(265));
        assert_eq!((just_under.status, just_under.current), (Status::Behind, Some(264)));
        assert_eq!(just_under.message, "1 iLvl behind. Target: 265, Current: 264");
        let level = assess(Some(265.2), Some(265));
        assert_eq!(
            (level.status, level.message.as_str()),
            (Status::OnTrack, "On schedule. Target: 265, Current: 265")
        );
    }

    #[test]
    fn without_an_item_level_or_a_target_the_status_is_unknown() {
        assert_eq!(assess(None, Some(265)).status, Status::Unknown);
        let no_target = assess(Some(250.0), None);
        assert_eq!(no_target.status, Status::Unknown);
        assert!(no_target.message.contains("Current: 250"));
    }

    #[test]
    fn statuses_parse_as_filters_name_them() {
        assert_eq!(Status::parse("behind"), Some(Status::Behind));
        assert_eq!(Status::parse("on_track"), Some(Status::OnTrack));
        assert_eq!(Status::parse("On Track"), Some(Status::OnTrack));
        assert_eq!(Status::parse("late"), None);
    }

    #[test]
    fn weeks_start_on_each_regions_reset_day() {
        // 2026-12-06 is a Sunday.
        assert_eq!(week_of(day("2026-12-06"), "US"), day("2026-12-01"));
        assert_eq!(week_of(day("2026-12-06"), "EU"), day("2026-12-02"));
        assert_eq!(week_of(day("2026-12-06"), "KR"), day("2026-12-03"));
        assert_eq!(week_of(day("2026-12-01"), "us"), day("2026-12-01"), "the reset day starts its week");
        assert_eq!(week_of(day("2026-12-01"), "EU"), day("2026-11-25"));
    }

    #[test]
    fn this_weeks_target_is_the_latest_started() {
        let targets = vec![
            Target { week_start: day("2026-12-01"), item_level: 250, label: String::new() },
            Target { week_start: day("2026-12-08"), item_level: 255, label: String::new() },
        ];
        assert_eq!(target_for(&targets, day("2026-11-30")), None);
        assert_eq!(target_for(&targets, day("2026-12-07")).unwrap().item_level, 250);
        assert_eq!(target_for(&targets, day("2026-12-08")).unwrap().item_level, 255);
        assert_eq!(target_for(&targets, day("2027-06-01")).unwrap().item_level, 255);
    }

    #[test]
    fn the_shipped_roadmap_is_weekly_rising_and_starts_on_each_regions_reset() {
        let roadmap = Roadmap::default_roadmap();
        assert!(!roadmap.source.is_empty());
        assert_eq!(roadmap.season_start.weekday(), Weekday::Tue);
        let weeks: Vec<u32> = roadmap.weeks.iter().map(|w| w.week).collect();
        assert_eq!(weeks, (1..=roadmap.weeks.len() as u32).collect::<Vec<_>>());
        assert!(roadmap.weeks.windows(2).all(|w| w[0].target <= w[1].target));
        let us = roadmap.targets("US", None);
        let eu = roadmap.targets("EU", None);
        let kr = roadmap.targets("KR", None);
        assert_eq!(us[0].week_start, roadmap.season_start);
        assert_eq!(eu[0].week_start, roadmap.season_start + Days::new(1));
        assert_eq!(kr[0].week_start, roadmap.season_start + Days::new(2));
        assert!(us.windows(2).all(|w| w[1].week_start == w[0].week_start + Days::new(7)));
        let moved = roadmap.targets("EU", Some(day("2027-03-02")));
        assert_eq!(moved[0].week_start, day("2027-03-03"));
    }
}
