//! What stands between the handlers and ClickHouse: bounded concurrency (per key and
//! over the service), a time limit on every query, and a circuit breaker.
//!
//! - A key may run a few queries at once; its next ones wait briefly for a turn, then
//!   get 429. The service runs a bounded number over every key (ClickHouse's query slots
//!   are shared with the consumers' inserts); beyond, a brief wait, then 503.
//! - A guild's first [`PRIORITY_SHARE`] queries at once run at ClickHouse's higher
//!   priority, its others at a lower one that yields the CPU to other guilds' first.
//! - Every query carries `max_execution_time` (ClickHouse stops it) and a client-side
//!   deadline (a hung server cannot hold a handler): 504 past either.
//! - After [`BREAKER_THRESHOLD`] consecutive failures to reach ClickHouse (refused,
//!   reset, timed out), requests fail at once with 503 and `Retry-After` for
//!   [`BREAKER_COOL_DOWN`]; then one request probes it, and a success closes the breaker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wowlogs_http::ApiError;
use wowlogs_schemas::GuildId;

/// Consecutive failures to reach ClickHouse that open the breaker.
pub const BREAKER_THRESHOLD: u32 = 5;
/// How long an open breaker refuses before it lets one probe through.
pub const BREAKER_COOL_DOWN: Duration = Duration::from_secs(3);
/// How long a query waits for a free slot (its key's, then the service's).
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// The settings of the gate.
#[derive(Debug, Clone, Copy)]
pub struct GateLimits {
    /// ClickHouse queries running at once over every key.
    pub max_queries: usize,
    /// ClickHouse queries running at once per key.
    pub max_queries_per_key: usize,
    /// ClickHouse queries running at once per guild, over all its keys: a guild does not
    /// multiply its share by making keys.
    pub max_queries_per_guild: usize,
    /// Longest a query may run (server side and client side).
    pub query_timeout: Duration,
}

/// The gate of one service process (shared by every handler).
pub struct QueryGate {
    limits: GateLimits,
    global: Arc<Semaphore>,
    per_key: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_guild: Mutex<HashMap<GuildId, Arc<Semaphore>>>,
    breaker: Breaker,
}

/// A running query's slots, given back when dropped.
pub struct Admitted {
    _global: OwnedSemaphorePermit,
    _guild: OwnedSemaphorePermit,
    _key: OwnedSemaphorePermit,
    /// The ClickHouse `priority` the query runs at ([`priority`]).
    pub priority: u8,
}

/// Queries of one guild at once that run at ClickHouse's higher priority: a guild's
/// first ones (a raid leader's page, a dashboard's first panels) run at `priority` 1,
/// any more at 2, and ClickHouse pauses those while queries of priority 1 run (it checks
/// between blocks). So a guild that keeps many queries going gets the CPU left over by
/// the others' first ones, not an equal part of it with each of its slots.
pub const PRIORITY_SHARE: usize = 2;

/// The ClickHouse priority of a query admitted while its guild holds `in_flight`
/// queries, itself included (1 is ClickHouse's highest; 0 would mean none).
pub fn priority(in_flight: usize) -> u8 {
    if in_flight <= PRIORITY_SHARE { 1 } else { 2 }
}

impl QueryGate {
    pub fn new(limits: GateLimits) -> Self {
        QueryGate {
            global: Arc::new(Semaphore::new(limits.max_queries)),
            per_key: Mutex::new(HashMap::new()),
            per_guild: Mutex::new(HashMap::new()),
            breaker: Breaker::default(),
            limits,
        }
    }

    pub fn limits(&self) -> GateLimits {
        self.limits
    }

    /// Slots for one query of `key` of `guild` (the key's, the guild's, the service's), or
    /// the answer that refuses it.
    pub async fn enter(&self, key: &str, guild: GuildId) -> Result<Admitted, ApiError> {
        self.breaker.check()?;
        // Only authenticated keys and their guilds reach here: the maps are bounded by
        // the registry.
        let mine = semaphore(&self.per_key, key.to_string(), self.limits.max_queries_per_key);
        let key_permit = permit(mine, || {
            ApiError::rate_limited(
                format!(
                    "this key already has {} queries running (WOWLOGS_MAX_QUERIES_PER_KEY); \
                     retry when they have finished",
                    self.limits.max_queries_per_key
                ),
                QUEUE_WAIT,
            )
        })
        .await?;
        let ours = semaphore(&self.per_guild, guild, self.limits.max_queries_per_guild);
        let guild_permit = permit(ours.clone(), || {
            ApiError::rate_limited(
                format!(
                    "guild {} already has {} queries running over its keys (WOWLOGS_MAX_QUERIES_PER_GUILD); \
                     retry when they have finished",
                    guild.0, self.limits.max_queries_per_guild
                ),
                QUEUE_WAIT,
            )
        })
        .await?;
        let global = permit(self.global.clone(), || {
            ApiError::unavailable_for(
                format!(
                    "all {} ClickHouse query slots of the service are busy (WOWLOGS_MAX_CLICKHOUSE_QUERIES); \
                     retry shortly",
                    self.limits.max_queries
                ),
                QUEUE_WAIT,
            )
        })
        .await?;
        let in_flight = self.limits.max_queries_per_guild.saturating_sub(ours.available_permits());
        Ok(Admitted {
            _global: global,
            _guild: guild_permit,
            _key: key_permit,
            priority: priority(in_flight),
        })
    }

    /// Runs one ClickHouse request within the query timeout, telling the breaker how
    /// it went.
    pub async fn bounded<T>(
        &self,
        request: impl Future<Output = Result<T, clickhouse::error::Error>>,
    ) -> Result<T, ApiError> {
        self.bounded_for(self.limits.query_timeout, request).await
    }

    /// [`Self::bounded`] with its own time limit.
    pub async fn bounded_for<T>(
        &self,
        limit: Duration,
        request: impl Future<Output = Result<T, clickhouse::error::Error>>,
    ) -> Result<T, ApiError> {
        match tokio::time::timeout(limit, request).await {
            Ok(Ok(value)) => {
                self.breaker.record(true);
                Ok(value)
            }
            Ok(Err(error)) => Err(self.failed(error)),
            Err(_) => {
                self.breaker.record(false);
                Err(too_slow(limit))
            }
        }
    }

    /// The answer to a ClickHouse error, after telling the breaker whether ClickHouse
    /// could be reached at all.
    pub fn failed(&self, error: clickhouse::error::Error) -> ApiError {
        use clickhouse::error::Error;
        match error {
            Error::Network(_) | Error::TimedOut => {
                self.breaker.record(false);
                tracing::warn!(%error, "ClickHouse unreachable");
                ApiError::unavailable_for("ClickHouse is unavailable; retry shortly", BREAKER_COOL_DOWN)
            }
            // TIMEOUT_EXCEEDED: ClickHouse stopped the query at `max_execution_time`.
            Error::BadResponse(ref text) if text.contains("Code: 159") => {
                self.breaker.record(true);
                too_slow(self.limits.query_timeout)
            }
            other => {
                self.breaker.record(true);
                ApiError::internal(other)
            }
        }
    }

    /// The service's ClickHouse query slots in use now.
    pub fn queries_in_flight(&self) -> usize {
        self.limits.max_queries.saturating_sub(self.global.available_permits())
    }

    /// Whether the breaker is refusing requests now.
    pub fn is_open(&self) -> bool {
        self.breaker.check().is_err()
    }
}

fn too_slow(limit: Duration) -> ApiError {
    ApiError::timed_out(format!(
        "ClickHouse did not answer within {} ms (WOWLOGS_QUERY_TIMEOUT_MS): narrow the filters or retry later",
        limit.as_millis()
    ))
}

/// The circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Circuit {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out since `since`; others are refused until it reports (or, if it
    /// never does, for another cool-down).
    Probing {
        since: Instant,
    },
}

struct Breaker {
    circuit: Mutex<Circuit>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker { circuit: Mutex::new(Circuit::Closed { failures: 0 }) }
    }
}

impl Breaker {
    /// Ok when a request may go to ClickHouse (possibly as the probe), else the 503.
    fn check(&self) -> Result<(), ApiError> {
        let mut circuit = self.circuit.lock().expect("breaker lock");
        let now = Instant::now();
        let wait = match *circuit {
            Circuit::Closed { .. } => return Ok(()),
            Circuit::Open { until } | Circuit::Probing { since: until } if now >= until => {
                *circuit = Circuit::Probing { since: now + BREAKER_COOL_DOWN };
                return Ok(());
            }
            Circuit::Open { until } | Circuit::Probing { since: until } => until - now,
        };
        Err(ApiError::unavailable_for(
            format!(
                "ClickHouse is failing: requests are refused for {} ms while it recovers",
                wait.as_millis().max(1)
            ),
            wait,
        ))
    }

    fn record(&self, reached: bool) {
        let mut circuit = self.circuit.lock().expect("breaker lock");
        *circuit = match (*circuit, reached) {
            (_, true) => Circuit::Closed { failures: 0 },
            (Circuit::Closed { failures }, false) if failures + 1 < BREAKER_THRESHOLD => {
                Circuit::Closed { failures: failures + 1 }
            }
            (Circuit::Open { until }, false) => Circuit::Open { until },
            (_, false) => {
                tracing::warn!(
                    cool_down_ms = BREAKER_COOL_DOWN.as_millis() as u64,
                    "ClickHouse breaker open"
                );
                Circuit::Open { until: Instant::now() + BREAKER_COOL_DOWN }
            }
        };
    }
}

/// The semaphore of `owner` in `slots`, made with `size` permits on first use.
fn semaphore<K: std::hash::Hash + Eq>(
    slots: &Mutex<HashMap<K, Arc<Semaphore>>>,
    owner: K,
    size: usize,
) -> Arc<Semaphore> {
    slots.lock().expect("gate lock").entry(owner).or_insert_with(|| Arc::new(Semaphore::new(size))).clone()
}

/// A permit of `semaphore` within [`QUEUE_WAIT`], else the refusal `refused` makes.
async fn permit(
    semaphore: Arc<Semaphore>,
    refused: impl FnOnce() -> ApiError,
) -> Result<OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(QUEUE_WAIT, semaphore.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(per_key: usize, total: usize) -> QueryGate {
        QueryGate::new(GateLimits {
            max_queries: total,
            max_queries_per_key: per_key,
            max_queries_per_guild: total,
            query_timeout: Duration::from_millis(100),
        })
    }

    const G: GuildId = GuildId(1);

    #[tokio::test]
    async fn a_guilds_first_queries_run_at_the_higher_priority_and_its_others_yield() {
        let gate = gate(8, 8);
        let first = gate.enter("a", G).await.unwrap();
        let second = gate.enter("b", G).await.unwrap();
        let third = gate.enter("c", G).await.unwrap();
        let other_guild = gate.enter("d", GuildId(2)).await.unwrap();
        assert_eq!((first.priority, second.priority, third.priority), (1, 1, 2));
        assert_eq!(other_guild.priority, 1, "another guild's first query is not behind G's");
        drop((first, second, third));
        assert_eq!(gate.enter("a", G).await.unwrap().priority, 1, "counted while they run");
    }

    #[tokio::test]
    async fn a_guild_at_its_queries_gets_429_whichever_key_asks_and_other_guilds_go_on() {
        let gate = QueryGate::new(GateLimits {
            max_queries: 10,
            max_queries_per_key: 2,
            max_queries_per_guild: 3,
            query_timeout: Duration::from_millis(100),
        });
        let _a = [gate.enter("a", G).await.unwrap(), gate.enter("a", G).await.unwrap()];
        let _b = gate.enter("b", G).await.unwrap();
        let refused = gate.enter("c", G).await.err().unwrap();
        assert_eq!(refused.status, 429, "a new key of the same guild adds no share");
        assert!(refused.message.contains("WOWLOGS_MAX_QUERIES_PER_GUILD"), "{}", refused.message);
        assert!(gate.enter("d", GuildId(2)).await.is_ok(), "another guild's share is its own");
    }

    #[tokio::test]
    async fn a_key_over_its_queries_gets_429_and_a_full_service_503_while_others_go_on() {
        let gate = gate(2, 3);
        let _a1 = gate.enter("a", G).await.unwrap();
        let _a2 = gate.enter("a", G).await.unwrap();
        let refused = gate.enter("a", G).await.err().unwrap();
        assert_eq!(refused.status, 429);
        assert!(refused.message.contains("WOWLOGS_MAX_QUERIES_PER_KEY"), "{}", refused.message);
        let _b1 = gate.enter("b", GuildId(2)).await.unwrap();
        let full = gate.enter("c", GuildId(3)).await.err().unwrap();
        assert_eq!(full.status, 503);
        assert!(full.message.contains("WOWLOGS_MAX_CLICKHOUSE_QUERIES"), "{}", full.message);
    }

    #[tokio::test]
    async fn a_query_past_its_time_is_504() {
        let gate = gate(1, 1);
        let slow = gate
            .bounded(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, clickhouse::error::Error>(())
            })
            .await;
        let error = slow.unwrap_err();
        assert_eq!(error.status, 504);
        assert!(error.message.contains("100 ms"), "{}", error.message);
    }

    #[tokio::test]
    async fn the_breaker_opens_after_consecutive_failures_fails_fast_and_one_probe_closes_it() {
        let gate = gate(10, 10);
        let unreachable = || async { Err::<(), _>(clickhouse::error::Error::TimedOut) };
        for _ in 0..BREAKER_THRESHOLD {
            assert!(gate.enter("a", G).await.is_ok(), "still closed");
            let _ = gate.bounded(unreachable()).await;
        }
        let started = Instant::now();
        let refused = gate.enter("a", G).await.err().unwrap();
        assert!(started.elapsed() < Duration::from_millis(10), "fails fast");
        assert_eq!((refused.status.as_u16(), refused.retry_after.is_some()), (503, true));
        // After the cool-down one probe goes through; others wait for its answer.
        *gate.breaker.circuit.lock().unwrap() = Circuit::Open { until: Instant::now() };
        assert!(gate.enter("a", G).await.is_ok(), "the probe");
        assert_eq!(gate.enter("b", G).await.err().unwrap().status, 503, "refused while probing");
        gate.bounded(async { Ok::<_, clickhouse::error::Error>(()) }).await.unwrap();
        assert!(gate.enter("b", G).await.is_ok(), "closed again");
    }

    #[tokio::test]
    async fn answers_from_a_reachable_clickhouse_reset_the_count() {
        let gate = gate(10, 10);
        for _ in 0..BREAKER_THRESHOLD * 3 {
            let _ = gate.bounded(async { Err::<(), _>(clickhouse::error::Error::TimedOut) }).await;
            let _ = gate.bounded(async { Ok::<_, clickhouse::error::Error>(()) }).await;
        }
        assert!(!gate.is_open(), "intermittent failures do not open it");
    }
}
