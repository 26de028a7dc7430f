//! Guild isolation, in one place: every query the API runs goes through a [`GuildDb`].
//!
//! - A `GuildDb` exists only for an authenticated caller (see `auth::Scope`); its guild is
//!   the key's guild, never a request parameter.
//! - SQL text is assembled from `&'static str` fragments only, so user input cannot
//!   reach it; every value travels as a bound parameter (escaped by the clickhouse
//!   crate: ClickHouse 18.16 has no server-side parameters).
//! - Every table a query reads must be followed by a `{guild}` condition, which the
//!   `GuildDb` replaces with `guild_id = <the caller's guild>`; a query that reads a
//!   table without one is refused before it is sent.
//! - Cached answers are keyed by the caller's guild first.
//! - Only an instance administrator's view ([`Guilds::Every`], made by
//!   `auth::Administrator` for instance-admin keys on `/api/v1/admin/*`) reads across
//!   guilds; its `{guild}` condition is spelled out as `guild_id = guild_id`.

use crate::gate::{Admitted, QueryGate};
use bytes::Bytes;
use clickhouse::query::RowCursor;
use clickhouse::{Client, Row, RowOwned, RowRead};
use moka::future::Cache;
use prometheus::IntCounterVec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wowlogs_http::ApiError;
use wowlogs_schemas::GuildId;

/// The placeholder a query writes where the guild condition goes.
pub const GUILD: &str = "{guild}";

/// A value bound to a `?` of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    I64(i64),
    Str(String),
    /// An array of integers (`has(?, column)`).
    I64s(Vec<i64>),
}

impl From<Vec<i64>> for Value {
    fn from(v: Vec<i64>) -> Self {
        Value::I64s(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::I64(i64::from(v))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::I64(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

/// A query built from static fragments and bound values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Starts a query; `text` holds one `?` per value and a `{guild}` after each table.
    pub fn new(text: &'static str) -> Self {
        Sql { text: text.to_string(), values: Vec::new() }
    }

    /// Appends a fragment with no values.
    pub fn push(mut self, text: &'static str) -> Self {
        self.text.push(' ');
        self.text.push_str(text);
        self
    }

    /// Appends a fragment holding one `?` and its value.
    pub fn bind(mut self, text: &'static str, value: impl Into<Value>) -> Self {
        debug_assert_eq!(text.matches('?').count(), 1, "one ? per bound fragment: {text}");
        self.text.push(' ');
        self.text.push_str(text);
        self.values.push(value.into());
        self
    }

    /// Appends `AND <text>` with its value, when there is one.
    pub fn and(self, text: &'static str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(value) => self.bind(text, value),
            None => self,
        }
    }

    /// Binds a value to a `?` already in the text.
    pub fn value(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// The text, for tests and logs.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text with every `{guild}` replaced, after checking that each table read is
    /// followed by one.
    fn scoped(&self, guilds: Guilds) -> Result<String, IsolationError> {
        check_scoped(&self.text)?;
        if self.text.matches('?').count() != self.values.len() {
            return Err(IsolationError::Values { text: self.text.clone() });
        }
        let condition = match guilds {
            Guilds::One(guild) => format!("guild_id = {}", guild.0),
            Guilds::Every => "guild_id = guild_id".to_string(),
            Guilds::Sharing(guild) => format!(
                "(guild_id = {own} OR (guild_id IN (SELECT guild_id FROM progress_settings FINAL \
                 WHERE comparisons IN ('anonymous', 'named')) AND guild_id IN (SELECT guild_id FROM guilds FINAL \
                 WHERE active = 1)))",
                own = guild.0
            ),
        };
        Ok(self.text.replace(GUILD, &condition))
    }
}

/// Whose rows a [`GuildDb`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guilds {
    /// One guild's: every caller's view of its own guild, and an instance
    /// administrator's view of one guild.
    One(GuildId),
    /// Every guild's: an instance administrator's only.
    Every,
    /// One guild's and those of the active guilds that share their numbers in
    /// comparisons (`progress_settings`): the progress plan's comparisons only, which
    /// answer with aggregates and never name a guild that did not opt in to be named.
    Sharing(GuildId),
}

impl Guilds {
    /// The cache's first key part: the guild, or a value no guild has.
    fn cache_key(self) -> i64 {
        match self {
            Guilds::One(guild) => guild.0,
            Guilds::Every => i64::MIN,
            // Answers about others too: never the guild's own entries.
            Guilds::Sharing(guild) => guild.0.saturating_neg().saturating_sub(1),
        }
    }
}

/// A query the isolation rules refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IsolationError {
    #[error("query reads {table} without a {{guild}} condition: {text}")]
    Unscoped { table: String, text: String },
    #[error("query has a different number of ? and values: {text}")]
    Values { text: String },
}

/// Every `FROM <table>` / `JOIN <table>` (not a subquery) must be followed, before the
/// next table, by a `{guild}` condition.
pub fn check_scoped(text: &str) -> Result<(), IsolationError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut pending: Option<&str> = None;
    for (i, word) in words.iter().enumerate() {
        let upper = word.to_ascii_uppercase();
        if word.contains(GUILD) {
            pending = None;
        }
        if (upper == "FROM" || upper == "JOIN")
            && let Some(next) = words.get(i + 1)
            && !next.starts_with('(')
        {
            if let Some(table) = pending {
                return Err(IsolationError::Unscoped { table: table.to_string(), text: text.to_string() });
            }
            pending = Some(next);
        }
    }
    match pending {
        Some(table) => Err(IsolationError::Unscoped { table: table.to_string(), text: text.to_string() }),
        None => Ok(()),
    }
}

/// Answers cached per guild and request (read-mostly data; repeated dashboard polls and
/// bursts cost one query).
pub type AnswerCache = Cache<(i64, String), Bytes>;

/// How long an answer may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Lists and totals, which grow as logs arrive: a short time.
    Live,
    /// One finished fight: its rows never change once written (the encounter consumer
    /// writes a fight's players and deaths before the fight itself), so for longer.
    Settled,
}

/// The two caches, `None` where the time is zero.
#[derive(Clone, Default)]
pub struct AnswerCaches {
    live: Option<AnswerCache>,
    settled: Option<AnswerCache>,
    /// Lookups by outcome (`hit`, `miss`), when counted.
    lookups: Option<IntCounterVec>,
    /// Bytes each guild's answers weigh in both caches (kept by the caches' eviction
    /// listeners), and what one guild may hold: past it a new answer is served but not
    /// kept, so one guild's many distinct answers cannot push every other guild's out.
    per_guild: Arc<Mutex<HashMap<i64, u64>>>,
    guild_max_bytes: u64,
}

/// What one cached answer weighs: its bytes and its key's (saturating: an answer over
/// 4 GiB weighs as much as the budget allows, and is not kept).
fn weight(key: &(i64, String), answer: &Bytes) -> u32 {
    u32::try_from(key.1.len() + answer.len() + 64).unwrap_or(u32::MAX)
}

impl AnswerCaches {
    /// Caches of answers kept `live` and `settled` long, holding `max_bytes` of answers
    /// together (half each), of which one guild's may weigh `guild_max_bytes`.
    pub fn new(live: Duration, settled: Duration, max_bytes: u64, guild_max_bytes: u64) -> Self {
        let per_guild: Arc<Mutex<HashMap<i64, u64>>> = Arc::default();
        let cache = |ttl: Duration| {
            let held = per_guild.clone();
            (!ttl.is_zero()).then(|| {
                Cache::builder()
                    .weigher(weight)
                    .max_capacity(max_bytes / 2)
                    .time_to_live(ttl)
                    .eviction_listener(move |key: Arc<(i64, String)>, answer: Bytes, _| {
                        let mut held = held.lock().expect("cache bytes lock");
                        if let Some(bytes) = held.get_mut(&key.0) {
                            *bytes = bytes.saturating_sub(u64::from(weight(&key, &answer)));
                            if *bytes == 0 {
                                held.remove(&key.0);
                            }
                        }
                    })
                    .build()
            })
        };
        AnswerCaches { live: cache(live), settled: cache(settled), lookups: None, per_guild, guild_max_bytes }
    }

    /// Counts a new answer of `key`'s guild: whether the guild is now over its share (the
    /// answer must then go again).
    fn over_share(&self, key: &(i64, String), answer: &Bytes) -> bool {
        let mut held = self.per_guild.lock().expect("cache bytes lock");
        let bytes = held.entry(key.0).or_default();
        *bytes += u64::from(weight(key, answer));
        *bytes > self.guild_max_bytes
    }

    /// Counts every lookup in `lookups`, by outcome: `hit` (answered from a cache, or
    /// by waiting for the same answer being computed) or `miss` (computed).
    pub fn counted(self, lookups: IntCounterVec) -> Self {
        AnswerCaches { lookups: Some(lookups), ..self }
    }

    /// Bytes held (after pending evictions are applied), for metrics and tests.
    pub async fn weighed_bytes(&self) -> u64 {
        let mut total = 0;
        for cache in [&self.live, &self.settled].into_iter().flatten() {
            cache.run_pending_tasks().await;
            total += cache.weighted_size();
        }
        total
    }

    fn get(&self, freshness: Freshness) -> Option<&AnswerCache> {
        match freshness {
            Freshness::Live => self.live.as_ref(),
            Freshness::Settled => self.settled.as_ref(),
        }
    }
}

/// ClickHouse, as one guild (and one of its keys) sees it.
#[derive(Clone)]
pub struct GuildDb {
    client: Client,
    guilds: Guilds,
    /// The caller's key and guild, whose concurrent queries the gate bounds.
    key: String,
    guild: GuildId,
    gate: Arc<QueryGate>,
    caches: AnswerCaches,
}

impl GuildDb {
    /// Only the authentication extractors make these, from the caller's key.
    pub(crate) fn new(
        client: Client,
        guilds: Guilds,
        key: String,
        guild: GuildId,
        gate: Arc<QueryGate>,
        caches: AnswerCaches,
    ) -> Self {
        GuildDb { client, guilds, key, guild, gate, caches }
    }

    /// The same caller's view of other guilds (only `auth::Administrator` asks).
    pub(crate) fn of(&self, guilds: Guilds) -> Self {
        GuildDb { guilds, ..self.clone() }
    }

    pub fn guilds(&self) -> Guilds {
        self.guilds
    }

    /// This guild's view widened to the guilds that share their numbers in comparisons
    /// ([`Guilds::Sharing`]); `None` for a view that is not one guild's.
    pub fn sharing(&self) -> Option<Self> {
        match self.guilds {
            Guilds::One(own) => Some(self.of(Guilds::Sharing(own))),
            _ => None,
        }
    }

    fn query(&self, sql: &Sql, limit: Duration, priority: u8) -> Result<clickhouse::query::Query, ApiError> {
        let text = sql.scoped(self.guilds).map_err(ApiError::internal)?;
        // ClickHouse stops the query itself past the limit (whole seconds, at least one),
        // and runs it at the priority the gate gave (`gate::priority`).
        let seconds = limit.as_secs_f64().ceil().max(1.0) as u64;
        let mut query = self
            .client
            .query(&text)
            .with_setting("max_execution_time", seconds.to_string())
            .with_setting("priority", priority.to_string());
        for value in &sql.values {
            query = match value {
                Value::I64(v) => query.bind(*v),
                Value::Str(v) => query.bind(v.as_str()),
                Value::I64s(v) => query.bind(v.as_slice()),
            };
        }
        Ok(query)
    }

    /// Runs a query through the gate (a slot of the key's and the service's, the query
    /// timeout), reading its answer with `fetch`.
    async fn gated<R, F>(
        &self,
        sql: &Sql,
        fetch: impl FnOnce(clickhouse::query::Query) -> F,
    ) -> Result<R, ApiError>
    where
        F: Future<Output = Result<R, clickhouse::error::Error>>,
    {
        let admitted = self.gate.enter(&self.key, self.guild).await?;
        let limit = self.gate.limits().query_timeout;
        self.gate.bounded(fetch(self.query(sql, limit, admitted.priority)?)).await
    }

    /// Every row of a query.
    pub async fn all<T>(&self, sql: &Sql) -> Result<Vec<T>, ApiError>
    where
        T: RowOwned + RowRead,
    {
        self.gated(sql, |query| query.fetch_all::<T>()).await
    }

    /// The time zone the guild's days are dates in (its registry row's; `UTC` when it
    /// names none), or `UTC` when `zone` asks for UTC dates.
    pub async fn day_zone(&self, zone: &crate::params::DayZone) -> Result<String, ApiError> {
        #[derive(Debug, clickhouse::Row, serde::Deserialize)]
        struct Zone {
            timezone: String,
        }
        if zone.utc() {
            return Ok(wowlogs_store::rollups::UTC.to_string());
        }
        let own = self.first::<Zone>(&Sql::new("SELECT timezone FROM guilds FINAL WHERE {guild}")).await?;
        Ok(own
            .map(|z| z.timezone)
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| wowlogs_store::rollups::UTC.into()))
    }

    /// The first row of a query, if any.
    pub async fn first<T>(&self, sql: &Sql) -> Result<Option<T>, ApiError>
    where
        T: RowOwned + RowRead,
    {
        self.gated(sql, |query| query.fetch_optional::<T>()).await
    }

    /// A cursor over the rows, for answers streamed in constant memory, with the slots
    /// it holds until it is dropped; ClickHouse stops the query after `limit`.
    pub async fn cursor<T>(&self, sql: &Sql, limit: Duration) -> Result<Streamed<T>, ApiError>
    where
        T: Row,
    {
        let admitted = self.gate.enter(&self.key, self.guild).await?;
        let cursor =
            self.query(sql, limit, admitted.priority)?.fetch::<T>().map_err(|e| self.gate.failed(e))?;
        Ok(Streamed { cursor, gate: self.gate.clone(), _admitted: admitted })
    }

    /// Forgets this guild's cached answer to `request` in this replica (after a change
    /// the answer was computed from; other replicas keep theirs for their short time).
    pub async fn forget(&self, freshness: Freshness, request: &str) {
        if let Some(cache) = self.caches.get(freshness) {
            cache.invalidate(&(self.guilds.cache_key(), request.to_string())).await;
        }
    }

    /// The cached answer to `request` for this guild, or `answer()`'s, cached (errors
    /// are not). Concurrent requests for the same answer wait for one computation.
    pub async fn cached<F>(&self, freshness: Freshness, request: &str, answer: F) -> Result<Bytes, ApiError>
    where
        F: Future<Output = Result<Bytes, ApiError>>,
    {
        let Some(cache) = self.caches.get(freshness) else { return answer.await };
        let computed = std::sync::atomic::AtomicBool::new(false);
        let answer = async {
            computed.store(true, std::sync::atomic::Ordering::Relaxed);
            answer.await
        };
        let key = (self.guilds.cache_key(), request.to_string());
        let answered = cache.try_get_with(key.clone(), answer).await.map_err(Arc::unwrap_or_clone);
        let computed = computed.load(std::sync::atomic::Ordering::Relaxed);
        if let Ok(bytes) = &answered
            && computed
            && self.caches.over_share(&key, bytes)
        {
            // Served, not kept: the guild holds its share of the cache already.
            cache.invalidate(&key).await;
        }
        if let Some(lookups) = &self.caches.lookups {
            lookups.with_label_values(&[if computed { "miss" } else { "hit" }]).inc();
        }
        answered
    }
}

/// A streamed query: its cursor and its slots in the gate.
pub struct Streamed<T> {
    cursor: RowCursor<T>,
    gate: Arc<QueryGate>,
    _admitted: Admitted,
}

impl<T: Row> Streamed<T> {
    /// The next row, within `limit` (504 past it; the breaker hears how it went).
    pub async fn next(&mut self, limit: Duration) -> Result<Option<T::Value<'_>>, ApiError>
    where
        T: RowRead,
    {
        self.gate.bounded_for(limit, self.cursor.next()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_read_needs_a_guild_condition() {
        assert!(check_scoped("SELECT 1 FROM encounters FINAL WHERE {guild} AND name = ?").is_ok());
        let unscoped = check_scoped("SELECT count() FROM encounters FINAL").unwrap_err();
        assert!(matches!(unscoped, IsolationError::Unscoped { ref table, .. } if table == "encounters"));
        assert!(
            check_scoped(
                "SELECT * FROM (SELECT a FROM encounter_players FINAL WHERE {guild}) ANY INNER JOIN \
                 (SELECT a FROM encounters FINAL WHERE {guild}) USING (a)"
            )
            .is_ok()
        );
        assert!(
            check_scoped(
                "SELECT * FROM encounter_players FINAL ANY INNER JOIN encounters USING (a) WHERE {guild}"
            )
            .is_err(),
            "one condition for two tables is not enough"
        );
    }

    #[test]
    fn the_guild_comes_from_the_scope_and_values_stay_out_of_the_text() {
        let sql = Sql::new("SELECT name FROM encounters FINAL WHERE {guild}")
            .and("AND name = ?", Some("x' OR 1=1 --"))
            .and("AND log_id = ?", None::<i64>);
        assert_eq!(
            sql.scoped(Guilds::One(GuildId(7))).unwrap(),
            "SELECT name FROM encounters FINAL WHERE guild_id = 7 AND name = ?"
        );
        assert_eq!(
            sql.scoped(Guilds::Every).unwrap(),
            "SELECT name FROM encounters FINAL WHERE guild_id = guild_id AND name = ?"
        );
        assert_eq!(sql.values, vec![Value::Str("x' OR 1=1 --".into())]);
    }

    #[test]
    fn a_missing_value_is_refused() {
        let sql = Sql::new("SELECT name FROM encounters FINAL WHERE {guild} AND name = ?");
        assert!(matches!(sql.scoped(Guilds::One(GuildId(1))), Err(IsolationError::Values { .. })));
    }
}

#[cfg(test)]
mod cache_shares {
    use super::*;
    use crate::gate::GateLimits;

    fn db(guild: i64, caches: &AnswerCaches) -> GuildDb {
        let limits = GateLimits {
            max_queries: 4,
            max_queries_per_key: 4,
            max_queries_per_guild: 4,
            query_timeout: Duration::from_secs(1),
        };
        let gate = Arc::new(QueryGate::new(limits));
        let guilds = Guilds::One(GuildId(guild));
        GuildDb::new(Client::default(), guilds, format!("key-{guild}"), GuildId(guild), gate, caches.clone())
    }

    async fn ask(db: &GuildDb, request: &str, answer: &str) -> Bytes {
        db.cached(Freshness::Live, request, async { Ok(Bytes::from(answer.to_string())) }).await.unwrap()
    }

    #[tokio::test]
    async fn one_guilds_many_answers_keep_within_its_share_and_never_push_another_guilds_out() {
        let caches = AnswerCaches::new(Duration::from_secs(60), Duration::ZERO, 64 << 10, 8 << 10);
        let (victim, flood) = (db(1, &caches), db(2, &caches));
        assert_eq!(ask(&victim, "stats", "the victim's answer").await, "the victim's answer");
        let page = "x".repeat(1_000);
        for i in 0..500 {
            let request = format!("page={i}");
            assert_eq!(ask(&flood, &request, &page).await, page.as_str(), "served, kept or not");
        }
        caches.weighed_bytes().await;
        let flood_bytes = caches.per_guild.lock().unwrap().get(&2).copied().unwrap_or(0);
        assert!(flood_bytes <= 8 << 10, "the flooding guild holds {flood_bytes} bytes, over its share");
        assert_eq!(ask(&victim, "stats", "computed again").await, "the victim's answer", "still cached");
    }
}
