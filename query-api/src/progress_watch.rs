//! Members' statuses on the live feed: when a finished fight changes a roster member's
//! status against this week's target (`Behind` → `On Track`, or back), the guild's
//! connections get a `member_status` message.
//!
//! Only guilds with live connections are watched. A guild's statuses are read from
//! ClickHouse (as the progress routes compute them) when its first fight arrives, and
//! again after [`REFRESH`] (a new roster, target or week); between reads, each fight's
//! item levels update them in memory. The reads run beside the feed's reader, never in
//! it: a slow ClickHouse delays only these messages.

use crate::gate::QueryGate;
use crate::progress_plan::{MemberStatuses, member_statuses};
use crate::scope::{AnswerCaches, GuildDb, Guilds};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wowlogs_progress::{Status, assess};
use wowlogs_schemas::{EncounterSummary, GuildId};

/// How long a guild's statuses read from ClickHouse are trusted.
pub const REFRESH: Duration = Duration::from_secs(300);

/// Guilds watched at once (the others' first fights read their statuses again).
const MAX_GUILDS: usize = 10_000;

struct Watched {
    read_at: Instant,
    statuses: MemberStatuses,
}

/// The members' statuses of the guilds with live connections.
#[derive(Clone)]
pub struct ProgressWatch {
    client: clickhouse::Client,
    gate: Arc<QueryGate>,
    caches: AnswerCaches,
    guilds: Arc<Mutex<HashMap<GuildId, Watched>>>,
}

impl ProgressWatch {
    pub fn new(client: clickhouse::Client, gate: Arc<QueryGate>, caches: AnswerCaches) -> Self {
        ProgressWatch { client, gate, caches, guilds: Arc::default() }
    }

    /// The `member_status` messages (their bodies) of a finished fight: one per roster
    /// member whose status it changed.
    pub async fn flips(
        &self,
        summary: &EncounterSummary,
    ) -> Result<Vec<serde_json::Value>, wowlogs_http::ApiError> {
        let guild = summary.guild_id;
        let fresh = {
            let guilds = self.guilds.lock().expect("progress watch lock");
            guilds.get(&guild).is_some_and(|w| w.read_at.elapsed() < REFRESH)
        };
        if !fresh {
            // Outside the lock: one guild's read never waits for another's.
            let db = GuildDb::new(
                self.client.clone(),
                Guilds::One(guild),
                "live-feed".into(),
                guild,
                self.gate.clone(),
                self.caches.clone(),
            );
            let statuses = member_statuses(&db).await?;
            let mut guilds = self.guilds.lock().expect("progress watch lock");
            if guilds.len() >= MAX_GUILDS {
                guilds.retain(|_, w| w.read_at.elapsed() < REFRESH);
            }
            guilds.insert(guild, Watched { read_at: Instant::now(), statuses });
        }
        let mut guilds = self.guilds.lock().expect("progress watch lock");
        let Some(watched) = guilds.get_mut(&guild) else { return Ok(Vec::new()) };
        let target = watched.statuses.target;
        let mut messages = Vec::new();
        for player in &summary.fight.players {
            let Some(level) = player.item_level else { continue };
            let Some((character, status)) = watched.statuses.by_guid.get_mut(&player.guid) else { continue };
            let now = assess(Some(level), target);
            if now.status == *status || now.status == Status::Unknown {
                continue;
            }
            messages.push(json!({
                    "type": "member_status",
                    "guild_id": guild.0,
                    "character": character,
                    "player_guid": player.guid,
                    "previous_status": status.as_str(),
                    "status": now.status.as_str(),
                    "message": now.message,
                    "target": now.target,
                    "current": now.current,
                    "encounter": wowlogs_store::rows::fight_id(guild, summary.log_id, summary.fight.start_line).to_string(),
            }));
            *status = now.status;
        }
        Ok(messages)
    }
}
