//! Event rate limits: one bucket per guild (the service's per-guild ceiling) and one
//! per API key (the key's own `events_per_minute`), each with a minute's worth of
//! burst. A running upload draws from both as it publishes (large logs are throttled,
//! not refused); a new upload while either bucket is empty is answered 429 with
//! `Retry-After`. A guild cannot raise its ceiling by creating more keys.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wowlogs_schemas::GuildId;

/// What a bucket limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    Guild(GuildId),
    Key(String),
}

/// The buckets an upload draws from, with their per-minute quotas.
pub type Limits = Vec<(Bucket, NonZeroU32)>;

struct Limited {
    per_minute: NonZeroU32,
    limiter: DefaultDirectRateLimiter,
}

/// Event buckets, created on first use.
pub struct EventLimiter {
    buckets: Mutex<HashMap<Bucket, Arc<Limited>>>,
    clock: DefaultClock,
    stopping: AtomicBool,
}

/// Longest single sleep while waiting for a bucket, so shutdown is noticed quickly.
const NAP: Duration = Duration::from_millis(250);

impl Default for EventLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLimiter {
    pub fn new() -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
            stopping: AtomicBool::new(false),
        }
    }

    /// The bucket, created (or recreated, when its quota changed) on demand.
    fn bucket(&self, bucket: &Bucket, per_minute: NonZeroU32) -> Arc<Limited> {
        let mut buckets = self.buckets.lock().expect("buckets lock");
        match buckets.get(bucket) {
            Some(known) if known.per_minute == per_minute => known.clone(),
            _ => {
                let fresh = Arc::new(Limited {
                    per_minute,
                    limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
                });
                buckets.insert(bucket.clone(), fresh.clone());
                fresh
            }
        }
    }

    /// `None` when an upload may start now, else how long to wait.
    pub fn admission(&self, limits: &[(Bucket, NonZeroU32)]) -> Option<Duration> {
        limits
            .iter()
            .filter_map(|(bucket, per_minute)| {
                let limited = self.bucket(bucket, *per_minute);
                let now = self.clock.now();
                // An admission takes one event's worth, so an empty bucket shows.
                match limited.limiter.check() {
                    Ok(()) => None,
                    Err(not_until) => Some(not_until.wait_time_from(now)),
                }
            })
            .max()
    }

    /// Blocks until every bucket allows `events` more events (taken a bucket's worth at a
    /// time, so any number eventually passes). `false` if the service began to shut
    /// down meanwhile.
    pub fn take(&self, limits: &[(Bucket, NonZeroU32)], events: u32) -> bool {
        for (bucket, per_minute) in limits {
            let limited = self.bucket(bucket, *per_minute);
            let mut left = events;
            while let Some(n) = NonZeroU32::new(left.min(per_minute.get())) {
                if self.stopping.load(Ordering::Relaxed) {
                    return false;
                }
                match limited.limiter.check_n(n) {
                    Ok(Ok(())) => left -= n.get(),
                    Ok(Err(not_until)) => {
                        std::thread::sleep(not_until.wait_time_from(self.clock.now()).min(NAP))
                    }
                    Err(_) => unreachable!("n never exceeds the burst"),
                }
            }
        }
        true
    }

    /// Releases every waiting upload (they stop, resumable), for shutdown.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_minute(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn an_exhausted_guild_is_told_when_to_come_back_and_others_are_not_affected() {
        let limiter = EventLimiter::new();
        let guild1 = vec![(Bucket::Guild(GuildId(1)), per_minute(60))];
        assert!(limiter.take(&guild1, 60));
        let wait = limiter.admission(&guild1).expect("bucket is still empty");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert_eq!(limiter.admission(&[(Bucket::Guild(GuildId(2)), per_minute(60))]), None);
    }

    #[test]
    fn a_key_is_held_to_its_own_limit_inside_its_guild() {
        let limiter = EventLimiter::new();
        let slow_key = vec![
            (Bucket::Guild(GuildId(1)), per_minute(6000)),
            (Bucket::Key("key-a".into()), per_minute(60)),
        ];
        assert!(limiter.take(&slow_key, 60));
        assert!(limiter.admission(&slow_key).is_some(), "the key's bucket is empty");
        let other_key = vec![
            (Bucket::Guild(GuildId(1)), per_minute(6000)),
            (Bucket::Key("key-b".into()), per_minute(60)),
        ];
        assert_eq!(limiter.admission(&other_key), None, "the guild still has room");
    }

    #[test]
    fn a_waiting_upload_is_released_at_shutdown() {
        let limiter = Arc::new(EventLimiter::new());
        let waiting = {
            let limiter = limiter.clone();
            std::thread::spawn(move || limiter.take(&[(Bucket::Guild(GuildId(1)), per_minute(1))], 5))
        };
        std::thread::sleep(Duration::from_millis(50));
        limiter.stop();
        assert!(!waiting.join().unwrap(), "interrupted, not granted");
    }
}
