//! Event rate limits: one bucket per guild (the service's per-guild ceiling) and one
//! per API key (the key's own `events_per_minute`), each with a minute's worth of
//! burst. A running upload draws from both as it publishes (large logs are throttled,
//! not refused); a new upload while either bucket is empty is answered 429 with
//! `Retry-After`. A guild cannot raise its ceiling by creating more keys.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wowlogs_schemas::GuildId;

/// What a bucket limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// A guild's events.
    Guild(GuildId),
    /// A key's events.
    Key(String),
    /// A guild's upload requests, whatever their outcome.
    Requests(GuildId),
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
                if self.is_stopping() {
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

    /// Whether the service is stopping ([`Self::stop`]).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

/// Uploads in progress (spooled, inspected or being published), globally and per guild:
/// each holds a slot until its publishing ends, so a flood of slow or throttled uploads
/// cannot take every blocking thread (and with them other guilds' uploads and health).
pub struct UploadSlots {
    total: usize,
    per_guild: usize,
    taken: Mutex<(usize, HashMap<GuildId, GuildUploads>)>,
    /// Bytes the uploads in progress may hold in the spool together.
    spool_budget: u64,
    spooled: AtomicU64,
    /// Bytes one guild's uploads in progress may hold in the spool together, so that one
    /// guild's slow uploads cannot fill the spool for every other guild.
    guild_spool_budget: u64,
}

/// One guild's uploads in progress: how many, and the spool bytes they hold.
#[derive(Debug, Default)]
struct GuildUploads {
    uploads: usize,
    spooled: u64,
}

/// The spool cannot hold the upload's next bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpoolFull {
    /// The whole spool is at its budget (507).
    #[error(
        "the upload spool is at its budget of {budget} bytes (WOWLOGS_SPOOL_MAX_BYTES); retry when uploads in progress have finished"
    )]
    Service { budget: u64 },
    /// The guild's uploads in progress hold its share (429).
    #[error(
        "guild {guild}'s uploads in progress hold its share of the upload spool, {budget} bytes \
         (WOWLOGS_SPOOL_MAX_BYTES_PER_GUILD); retry when one of them has finished"
    )]
    Guild { guild: i64, budget: u64 },
}

/// Which limit refused a new upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotsFull {
    Service(usize),
    Guild(usize),
}

/// A taken slot, given back when dropped.
pub struct UploadSlot {
    slots: Arc<UploadSlots>,
    guild: GuildId,
    /// Spool bytes this upload holds (given back with the slot).
    spooled: u64,
}

impl UploadSlots {
    /// `total` uploads at once, `per_guild` of one guild; `spool_budget` bytes spooled
    /// together, `guild_spool_budget` of one guild.
    pub fn new(total: usize, per_guild: usize, spool_budget: u64, guild_spool_budget: u64) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_guild,
            taken: Mutex::new((0, HashMap::new())),
            spool_budget,
            spooled: AtomicU64::new(0),
            guild_spool_budget,
        })
    }

    /// Bytes held in the spool by uploads in progress.
    pub fn spooled(&self) -> u64 {
        self.spooled.load(Ordering::Acquire)
    }

    /// A slot for a new upload of `guild`, or the limit that is full.
    pub fn try_take(self: &Arc<Self>, guild: GuildId) -> Result<UploadSlot, SlotsFull> {
        let mut taken = self.taken.lock().expect("slots lock");
        let (total, guilds) = &mut *taken;
        // Only guilds with uploads in progress have an entry: refusals leave nothing.
        if guilds.get(&guild).is_some_and(|g| g.uploads >= self.per_guild) {
            return Err(SlotsFull::Guild(self.per_guild));
        }
        if *total >= self.total {
            return Err(SlotsFull::Service(self.total));
        }
        guilds.entry(guild).or_default().uploads += 1;
        *total += 1;
        Ok(UploadSlot { slots: self.clone(), guild, spooled: 0 })
    }
}

impl UploadSlot {
    /// Counts `bytes` more of this upload against the spool budget before they are
    /// written, or refuses them when the budget would be exceeded.
    pub fn reserve_spool(&mut self, bytes: u64) -> Result<(), SpoolFull> {
        let slots = &self.slots;
        let mut taken = slots.taken.lock().expect("slots lock");
        // The slot keeps its guild's entry while it lives.
        let guild = taken.1.get_mut(&self.guild).expect("a live slot's guild has an entry");
        let after = guild.spooled.checked_add(bytes).filter(|&after| after <= slots.guild_spool_budget);
        let Some(after) = after else {
            return Err(SpoolFull::Guild { guild: self.guild.0, budget: slots.guild_spool_budget });
        };
        let budget = slots.spool_budget;
        slots
            .spooled
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&after| after <= budget)
            })
            .map_err(|_| SpoolFull::Service { budget })?;
        guild.spooled = after;
        self.spooled += bytes;
        Ok(())
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        self.slots.spooled.fetch_sub(self.spooled, Ordering::AcqRel);
        let mut taken = self.slots.taken.lock().expect("slots lock");
        let (total, guilds) = &mut *taken;
        *total -= 1;
        if let Some(guild) = guilds.get_mut(&self.guild) {
            guild.uploads -= 1;
            guild.spooled -= self.spooled;
            if guild.uploads == 0 {
                guilds.remove(&self.guild);
            }
        }
    }
}

/// What each guild's uploads may expand to per hour, together: a token bucket of
/// mebibytes per guild, refilled over the hour.
pub struct DecompressedBudget {
    per_hour_mib: NonZeroU32,
    limiter: governor::DefaultKeyedRateLimiter<GuildId>,
}

/// Why an upload does not fit its guild's hourly decompressed budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    /// Not now: the guild may upload this much again after `wait`.
    Wait(Duration),
    /// Never: the upload alone is larger than the hourly budget.
    Larger,
}

const MIB: u64 = 1 << 20;

impl DecompressedBudget {
    /// A budget of `per_hour` bytes per guild (rounded up to whole MiB).
    pub fn new(per_hour: u64) -> Self {
        let mib = u32::try_from(per_hour.div_ceil(MIB)).unwrap_or(u32::MAX);
        let per_hour_mib = NonZeroU32::new(mib).unwrap_or(NonZeroU32::MIN);
        DecompressedBudget { per_hour_mib, limiter: RateLimiter::keyed(Quota::per_hour(per_hour_mib)) }
    }

    /// The budget, in bytes.
    pub fn per_hour(&self) -> u64 {
        u64::from(self.per_hour_mib.get()) * MIB
    }

    /// Takes `bytes` (decompressed) from the guild's budget, or says why not.
    pub fn take(&self, guild: GuildId, bytes: u64) -> Result<(), OverBudget> {
        let mib = u32::try_from(bytes.div_ceil(MIB)).map_err(|_| OverBudget::Larger)?;
        let Some(mib) = NonZeroU32::new(mib) else { return Ok(()) };
        match self.limiter.check_key_n(&guild, mib) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                Err(OverBudget::Wait(not_until.wait_time_from(DefaultClock::default().now())))
            }
            Err(_) => Err(OverBudget::Larger),
        }
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

    #[test]
    fn a_guild_at_its_concurrent_uploads_waits_and_others_go_on_until_the_service_is_full() {
        let slots = UploadSlots::new(3, 2, u64::MAX, u64::MAX);
        let first = slots.try_take(GuildId(1)).unwrap();
        let _second = slots.try_take(GuildId(1)).unwrap();
        assert_eq!(slots.try_take(GuildId(1)).err(), Some(SlotsFull::Guild(2)));
        let _other = slots.try_take(GuildId(2)).unwrap();
        assert_eq!(slots.try_take(GuildId(3)).err(), Some(SlotsFull::Service(3)));
        drop(first);
        assert!(slots.try_take(GuildId(1)).is_ok(), "a finished upload gives its slot back");
        assert!(slots.taken.lock().unwrap().1.len() <= 2, "no entry kept for idle guilds");
    }

    #[test]
    fn uploads_in_progress_share_the_spool_budget_and_give_their_bytes_back_when_done() {
        let slots = UploadSlots::new(10, 10, 100, 100);
        let mut first = slots.try_take(GuildId(1)).unwrap();
        let mut second = slots.try_take(GuildId(2)).unwrap();
        first.reserve_spool(60).unwrap();
        assert_eq!(second.reserve_spool(41), Err(SpoolFull::Service { budget: 100 }), "61 + 41 > 100");
        second.reserve_spool(40).unwrap();
        assert_eq!(slots.spooled(), 100);
        drop(first);
        assert_eq!(slots.spooled(), 40, "a finished upload's spool is free again");
        second.reserve_spool(60).unwrap();
    }

    #[test]
    fn a_guild_holds_at_most_its_share_of_the_spool_and_other_guilds_keep_theirs() {
        let slots = UploadSlots::new(10, 4, 100, 40);
        let mut first = slots.try_take(GuildId(1)).unwrap();
        let mut second = slots.try_take(GuildId(1)).unwrap();
        first.reserve_spool(30).unwrap();
        assert_eq!(
            second.reserve_spool(11),
            Err(SpoolFull::Guild { guild: 1, budget: 40 }),
            "30 + 11 > the guild's 40, though the spool has room"
        );
        second.reserve_spool(10).unwrap();
        let mut other = slots.try_take(GuildId(2)).unwrap();
        other.reserve_spool(40).unwrap();
        assert_eq!(slots.spooled(), 80);
        drop(first);
        second.reserve_spool(30).unwrap();
        drop((second, other));
        assert_eq!(slots.spooled(), 0);
        assert!(slots.taken.lock().unwrap().1.is_empty(), "no entry kept for idle guilds");
    }

    #[test]
    fn a_guild_refused_by_the_full_spool_keeps_no_share_it_did_not_get() {
        let slots = UploadSlots::new(10, 4, 50, 40);
        let mut big = slots.try_take(GuildId(1)).unwrap();
        big.reserve_spool(40).unwrap();
        let mut other = slots.try_take(GuildId(2)).unwrap();
        assert_eq!(other.reserve_spool(20), Err(SpoolFull::Service { budget: 50 }));
        other.reserve_spool(10).unwrap();
        assert_eq!(slots.taken.lock().unwrap().1[&GuildId(2)].spooled, 10);
    }

    #[test]
    fn a_guild_over_its_hourly_decompressed_bytes_waits_and_others_do_not() {
        let budget = DecompressedBudget::new(100 * MIB);
        budget.take(GuildId(1), 60 * MIB).unwrap();
        let Err(OverBudget::Wait(wait)) = budget.take(GuildId(1), 60 * MIB) else {
            panic!("over the budget")
        };
        assert!(wait > Duration::from_secs(60), "about 20 of 60 minutes' refill: {wait:?}");
        budget.take(GuildId(2), 60 * MIB).unwrap();
        assert_eq!(budget.take(GuildId(3), 101 * MIB), Err(OverBudget::Larger));
        assert_eq!(budget.take(GuildId(1), 0), Ok(()));
    }
}
