//! The consumers' metrics. Each method is one "internal event": metric names live here
//! and nowhere else. Consumer lag comes from librdkafka's statistics (every few
//! seconds), per topic and partition, handed over by [`crate::context::GroupContext`].

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use rdkafka::statistics::Statistics;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

/// Every metric of one consumer group process.
#[derive(Clone)]
pub struct ConsumerMetrics {
    registry: Registry,
    messages: IntCounterVec,
    rows: IntCounterVec,
    insert_seconds: HistogramVec,
    insert_failures: IntCounterVec,
    dead_letters: IntCounterVec,
    unsendable: IntCounterVec,
    summaries: IntCounterVec,
    commits: IntCounterVec,
    lag: IntGaugeVec,
    open_logs: IntGauge,
    logs_shed: IntCounter,
    open_fights: IntGauge,
    pinned_age: IntGauge,
    /// ClickHouse took the last insert (false while an insert is being retried).
    store_ok: Arc<AtomicBool>,
    /// Wall-clock ms of the last sign of life of a group loop: a record received, an
    /// insert tried. With lag and none for long, the loop is stalled.
    progress_ms: Arc<AtomicI64>,
    /// Messages behind, over every group and partition of the process (librdkafka's
    /// statistics, by group).
    lag_by_group: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl Default for ConsumerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsumerMetrics {
    pub fn new() -> Self {
        let registry = wowlogs_http::metrics::service_registry();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let messages = counter("wowlogs_consumer_messages_total", "Messages consumed", &["group", "topic"]);
        let rows = counter(
            "wowlogs_consumer_rows_inserted_total",
            "Rows inserted into ClickHouse",
            &["group", "table"],
        );
        let insert_failures = counter(
            "wowlogs_consumer_insert_failures_total",
            "Failed ClickHouse inserts (each is retried until ClickHouse takes the rows)",
            &["group", "table"],
        );
        let dead_letters = counter(
            "wowlogs_consumer_dead_letters_total",
            "Records (undecodable) and rows (refused by ClickHouse, too large to publish) sent to the dead-letter topic, by the topic or table they came from",
            &["group", "topic"],
        );
        let unsendable = counter(
            "wowlogs_consumer_dead_letters_unsendable_total",
            "Dead letters the broker refused for good even with their raw bytes cut (each is in the error log with its identity)",
            &["group", "topic"],
        );
        let summaries = counter(
            "wowlogs_consumer_summaries_published_total",
            "Fight summaries published to the encounters topic",
            &["group"],
        );
        let commits =
            counter("wowlogs_consumer_commits_total", "Offset commits by outcome", &["group", "outcome"]);
        let insert_seconds = HistogramVec::new(
            HistogramOpts::new(
                "wowlogs_consumer_insert_duration_seconds",
                "Duration of one successful insert",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["group", "table"],
        )
        .expect("valid metric");
        registry.register(Box::new(insert_seconds.clone())).expect("unique metric");
        let lag = IntGaugeVec::new(
            Opts::new(
                "wowlogs_consumer_lag_messages",
                "Messages between the broker's high watermark and the group's position",
            ),
            &["group", "topic", "partition"],
        )
        .expect("valid metric");
        registry.register(Box::new(lag.clone())).expect("unique metric");
        let open_logs =
            gauge("wowlogs_consumer_open_logs", "Logs whose end the encounter consumer waits for");
        let open_fights = gauge("wowlogs_consumer_open_fights", "Fights started and not yet ended");
        let logs_shed = IntCounter::new(
            "wowlogs_consumer_logs_shed_total",
            "Logs closed as incomplete before their end because their guild had too many open",
        )
        .expect("valid metric");
        registry.register(Box::new(logs_shed.clone())).expect("unique metric");
        let pinned_age = gauge(
            "wowlogs_consumer_pinned_offset_age_seconds",
            "Age of the oldest record an open log holds the committed offset at (0: none held)",
        );
        Self {
            registry,
            messages,
            rows,
            insert_seconds,
            insert_failures,
            dead_letters,
            unsendable,
            summaries,
            commits,
            lag,
            open_logs,
            logs_shed,
            open_fights,
            pinned_age,
            store_ok: Arc::new(AtomicBool::new(true)),
            progress_ms: Arc::new(AtomicI64::new(wowlogs_schemas::now_ms())),
            lag_by_group: Arc::default(),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        wowlogs_http::metrics::render(&self.registry)
    }

    /// Whether ClickHouse took the last insert.
    pub fn store_ok(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
    }

    /// Creates the group's series at zero, so that `rate()` and `increase()` see the
    /// first dead letter or failed commit, not only the second.
    pub fn start(&self, group: &str, topics: &[&str]) {
        for topic in topics {
            self.messages.with_label_values(&[group, topic]);
            self.dead_letters.with_label_values(&[group, topic]);
            self.unsendable.with_label_values(&[group, topic]);
        }
        self.commits.with_label_values(&[group, "ok"]);
        self.commits.with_label_values(&[group, "failed"]);
    }

    /// The counter of records consumed from `topic`, for a loop to keep at hand (a label
    /// lookup per record costs more than the count).
    pub fn consumed_counter(&self, group: &str, topic: &str) -> prometheus::IntCounter {
        self.messages.with_label_values(&[group, topic])
    }

    pub fn inserted(&self, group: &str, table: &str, rows: usize, took: Duration) {
        self.store_ok.store(true, Ordering::Relaxed);
        self.rows.with_label_values(&[group, table]).inc_by(rows as u64);
        self.insert_seconds.with_label_values(&[group, table]).observe(took.as_secs_f64());
        // The table's failure series exists (at zero) from its first insert on.
        self.insert_failures.with_label_values(&[group, table]);
    }

    pub fn insert_failed(
        &self,
        group: &str,
        table: &str,
        rows: usize,
        error: &dyn std::fmt::Display,
        retry_in: Duration,
    ) {
        self.store_ok.store(false, Ordering::Relaxed);
        self.touch();
        self.insert_failures.with_label_values(&[group, table]).inc();
        tracing::warn!(group, table, rows, %error, retry_in_ms = retry_in.as_millis() as u64, "insert failed; retrying");
    }

    /// Rows ClickHouse refused for what they are: they are isolated and dead-lettered.
    pub fn insert_refused(&self, group: &str, table: &str, rows: usize, error: &dyn std::fmt::Display) {
        self.insert_failures.with_label_values(&[group, table]).inc();
        tracing::warn!(group, table, rows, %error, "insert refused; isolating the refused rows");
    }

    /// Roll-ups ClickHouse would not compute for good (`table` "rollups"): the days stay
    /// as they were until the guild's next refresh; nothing is dead-lettered.
    pub fn rollups_refused(&self, group: &str, guild_id: i64, error: &dyn std::fmt::Display) {
        self.insert_failures.with_label_values(&[group, "rollups"]).inc();
        tracing::error!(group, guild_id, %error, "roll-ups not refreshed");
    }

    pub fn dead_lettered(&self, group: &str, topic: &str) {
        self.dead_letters.with_label_values(&[group, topic]).inc();
    }

    /// A dead letter the broker refused for good (reported in the error log instead).
    pub fn dead_letter_unsendable(&self, group: &str, topic: &str) {
        self.unsendable.with_label_values(&[group, topic]).inc();
    }

    pub fn published(&self, group: &str, summaries: usize) {
        self.summaries.with_label_values(&[group]).inc_by(summaries as u64);
    }

    pub fn committed(&self, group: &str, ok: bool) {
        self.commits.with_label_values(&[group, if ok { "ok" } else { "failed" }]).inc();
    }

    pub fn open(&self, logs: usize, fights: usize) {
        self.open_logs.set(logs as i64);
        self.open_fights.set(fights as i64);
    }

    /// The projection's total of logs shed (monotonic per process).
    pub fn logs_shed(&self, total: u64) {
        self.logs_shed.inc_by(total.saturating_sub(self.logs_shed.get()));
    }

    /// The oldest pinned record's receipt time (wall-clock ms), if a pin is held.
    pub fn pinned_since(&self, since_ms: Option<i64>) {
        let age = since_ms.map_or(0, |since| (wowlogs_schemas::now_ms() - since).max(0) / 1000);
        self.pinned_age.set(age);
    }

    pub(crate) fn statistics(&self, group: &str, statistics: &Statistics) {
        let mut behind = 0;
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // librdkafka reports -1 until it knows, and the internal partition -1.
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.lag.with_label_values(&[group, topic, &partition.to_string()]).set(p.consumer_lag);
                    behind += p.consumer_lag;
                }
            }
        }
        self.lag_by_group.lock().expect("lag lock").insert(group.to_string(), behind);
    }

    /// Messages waiting for the group loops, over every group and partition (as last
    /// reported with the lag).
    pub fn messages_waiting(&self) -> i64 {
        self.lag_by_group.lock().expect("lag lock").values().sum()
    }

    /// A group loop is alive: it received a record, or tried an insert.
    pub fn touch(&self) {
        self.touch_at(wowlogs_schemas::now_ms());
    }

    /// [`Self::touch`] with the time already read.
    pub fn touch_at(&self, now_ms: i64) {
        self.progress_ms.store(now_ms, Ordering::Relaxed);
    }

    /// How long the loops have shown no sign of life while messages wait for them, if
    /// longer than `limit`: the process is stuck (a rebalance that never assigns, a
    /// hung client) and is better restarted.
    pub fn stalled_for(&self, limit: std::time::Duration) -> Option<std::time::Duration> {
        let behind = self.messages_waiting();
        let quiet = wowlogs_schemas::now_ms() - self.progress_ms.load(Ordering::Relaxed);
        let quiet = std::time::Duration::from_millis(quiet.max(0) as u64);
        (behind > 0 && quiet > limit).then_some(quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_loop_quiet_while_messages_wait_is_stalled_and_a_sign_of_life_clears_it() {
        let metrics = ConsumerMetrics::new();
        metrics.progress_ms.store(wowlogs_schemas::now_ms() - 10_000, Ordering::Relaxed);
        assert_eq!(metrics.stalled_for(Duration::from_secs(5)), None, "nothing waits: idle, not stalled");
        metrics.lag_by_group.lock().unwrap().insert("g".into(), 42);
        assert!(
            metrics.stalled_for(Duration::from_secs(5)).is_some_and(|quiet| quiet >= Duration::from_secs(10))
        );
        assert_eq!(metrics.stalled_for(Duration::from_secs(60)), None, "not for that long");
        metrics.touch();
        assert_eq!(metrics.stalled_for(Duration::from_secs(5)), None);
    }
}
