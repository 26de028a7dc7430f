//! Per-guild event rate limits.
//!
//! Each guild may publish `events_per_minute` events, with a minute's worth of burst.
//! A running upload draws from its guild's bucket as it publishes (large logs are
//! throttled, not refused); a new upload from a guild whose bucket is empty is
//! answered 429 with `Retry-After`.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wowlogs_schemas::GuildId;

/// Event buckets, one per guild.
pub struct GuildLimiter {
    limiter: DefaultKeyedRateLimiter<GuildId>,
    clock: DefaultClock,
    burst: NonZeroU32,
    stopping: AtomicBool,
}

/// Longest single sleep while waiting for a bucket, so shutdown is noticed quickly.
const NAP: Duration = Duration::from_millis(250);

impl GuildLimiter {
    pub fn new(events_per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(events_per_minute)),
            clock: DefaultClock::default(),
            burst: events_per_minute,
            stopping: AtomicBool::new(false),
        }
    }

    /// `None` when the guild may start an upload now, else how long to wait.
    pub fn admission(&self, guild: GuildId) -> Option<Duration> {
        match self.limiter.check_key(&guild) {
            Ok(()) => None,
            Err(not_until) => Some(not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Blocks until the guild may publish `events` more events (taken a bucket's worth
    /// at a time, so any number eventually passes). `false` if the service began to shut
    /// down meanwhile.
    pub fn take(&self, guild: GuildId, events: u32) -> bool {
        let mut left = events;
        while let Some(n) = NonZeroU32::new(left.min(self.burst.get())) {
            if self.stopping.load(Ordering::Relaxed) {
                return false;
            }
            match self.limiter.check_key_n(&guild, n) {
                Ok(Ok(())) => left -= n.get(),
                Ok(Err(not_until)) => std::thread::sleep(not_until.wait_time_from(self.clock.now()).min(NAP)),
                Err(_) => unreachable!("n never exceeds the burst"),
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

    #[test]
    fn an_exhausted_guild_is_told_when_to_come_back_and_others_are_not_affected() {
        let limiter = GuildLimiter::new(NonZeroU32::new(60).unwrap());
        assert!(limiter.take(GuildId(1), 60));
        assert!(limiter.admission(GuildId(1)).is_some());
        let wait = limiter.admission(GuildId(1)).expect("bucket is still empty");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert_eq!(limiter.admission(GuildId(2)), None);
    }

    #[test]
    fn a_waiting_upload_is_released_at_shutdown() {
        let limiter = std::sync::Arc::new(GuildLimiter::new(NonZeroU32::new(1).unwrap()));
        let waiting = {
            let limiter = limiter.clone();
            std::thread::spawn(move || limiter.take(GuildId(1), 5))
        };
        std::thread::sleep(Duration::from_millis(50));
        limiter.stop();
        assert!(!waiting.join().unwrap(), "interrupted, not granted");
    }
}
