//! The upload use case, without HTTP: a spooled file from an authenticated caller is
//! identified (SHA-256 of guild and content, per log for zips), checked to be a combat
//! log, admitted (duplicates answered, logs in progress refused), then published on a
//! blocking thread while the caller gets its receipt. `http::upload` is the thin HTTP
//! shell around it.

mod inspect;
pub use inspect::{MAX_FILE_NAME_CHARS, published_name};
pub mod ledger;
pub mod limits;
pub mod live;
mod publish;

pub use inspect::MAX_EXPANSION;

use crate::config::{UploadConfig, share};
use crate::intake::{Encoders, IntakeCounts, LogJob, status_of};
use crate::metrics::ProducerMetrics;
use crate::registry::{Admission, LogRegistry};
use inspect::Inspection;
pub use ledger::FINISHED_KEPT;
use ledger::Ledger;
use limits::{
    Bucket, DecompressedBudget, EventLimiter, Limits, OverBudget, SlotsFull, UploadSlot, UploadSlots,
};
use rdkafka::producer::FutureProducer;
use serde::Serialize;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wowlogs_parser::{ParseOptions, YearHint};
use wowlogs_schemas::{GuildId, LogId, UploadState, UploadStatus, now_ms};
use wowlogs_tenancy::{KeyStore, Lapsed, Principal};

/// What the service remembers of an upload it received.
#[derive(Debug, Clone, Serialize)]
pub struct UploadRecord {
    pub upload_id: String,
    pub guild_id: GuildId,
    pub guild_name: String,
    pub file_name: String,
    /// `processing`, `completed`, `failed` or `duplicate`.
    pub status: String,
    pub logs: Vec<UploadStatus>,
}

/// An upload taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// New logs, being published under `upload_id`.
    Accepted { upload_id: String, file_name: String, log_ids: Vec<LogId> },
    /// Every log of the upload was already published, by `upload_id`.
    Duplicate { upload_id: String, file_name: String, log_id: LogId },
}

/// An upload refused; nothing of it is published but its refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the upload is empty")]
    Empty,
    #[error(
        "not a combat log: {malformed} of the first {read} lines are not combat-log events; is this a WoWCombatLog.txt?"
    )]
    NotACombatLog { read: u64, malformed: u64 },
    #[error("{0}")]
    Unreadable(String),
    #[error(
        "the upload expands to more than {budget} bytes once decompressed (the limit is the service's \
         WOWLOGS_MAX_DECOMPRESSED_BYTES, and at most {}x the size sent past 64 MiB)",
        inspect::MAX_EXPANSION
    )]
    ExpandsTooMuch { budget: u64 },
    #[error(
        "guild {guild} has used its {budget} decompressed bytes of uploads this hour \
         (WOWLOGS_GUILD_DECOMPRESSED_BYTES_PER_HOUR); retry in {} s",
        wait.as_secs().max(1)
    )]
    GuildHourlyBudget { guild: i64, budget: u64, wait: Duration },
    #[error(
        "the upload expands to {bytes} bytes, more than guild uploads may expand to in an hour \
         ({budget} bytes, WOWLOGS_GUILD_DECOMPRESSED_BYTES_PER_HOUR): split it"
    )]
    LargerThanHourlyBudget { bytes: u64, budget: u64 },
    #[error(
        "the upload holds more than {limit} logs, the most one upload may hold \
         (WOWLOGS_MAX_LOGS_PER_UPLOAD): split it, or import years of logs with `wowlogs import`"
    )]
    TooManyLogs { limit: usize },
    #[error("this log is being published by upload {0}; follow it at /api/v1/uploads/{0}")]
    InProgress(String),
    #[error("{0}")]
    Internal(String),
}

/// A new upload's id.
pub fn new_upload_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Refusal {
    /// Whether the refusal was published as the upload's one `failed` status (those
    /// decided once the upload is read); an upload refused because the same log is in
    /// progress, or for an internal error, has none.
    pub fn has_status(&self) -> bool {
        !matches!(self, Refusal::InProgress(_) | Refusal::Internal(_))
    }

    /// The stable code of the refusal (HTTP error code and upload-status reason).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_upload",
            Refusal::NotACombatLog { .. } => "not_a_combat_log",
            Refusal::Unreadable(_) => "unreadable_upload",
            Refusal::ExpandsTooMuch { .. } => "upload_too_large_decompressed",
            Refusal::GuildHourlyBudget { .. } => "guild_hourly_budget",
            Refusal::LargerThanHourlyBudget { .. } => "upload_larger_than_hourly_budget",
            Refusal::TooManyLogs { .. } => "too_many_logs",
            Refusal::InProgress(_) => "upload_in_progress",
            Refusal::Internal(_) => "internal",
        }
    }
}

/// The uploads of one service process, and what they share.
pub struct Uploads {
    pub(crate) config: UploadConfig,
    pub(crate) limiter: EventLimiter,
    decompressed: DecompressedBudget,
    slots: Arc<UploadSlots>,
    /// The one owner of upload state: what the topic says, this process's uploads.
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) producer: FutureProducer,
    pub(crate) encoders: Encoders,
    pub(crate) metrics: ProducerMetrics,
    jobs: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
    /// The service's keys, when uploads stop at a revocation or deactivation.
    keys: Option<Arc<dyn KeyStore>>,
}

impl Uploads {
    pub fn new(
        registry: LogRegistry,
        producer: FutureProducer,
        config: UploadConfig,
        metrics: ProducerMetrics,
    ) -> Self {
        let config = config.per_replica();
        Self {
            slots: UploadSlots::new(
                config.max_concurrent_uploads,
                config.max_concurrent_uploads_per_guild,
                config.max_spool_bytes,
                config.max_spool_bytes_per_guild,
            ),
            decompressed: DecompressedBudget::new(config.guild_decompressed_per_hour),
            config,
            limiter: EventLimiter::new(),
            ledger: Mutex::new(Ledger::new(registry)),
            producer,
            encoders: Encoders::new().expect("the contract's schemas are valid"),
            metrics,
            jobs: tokio::sync::Mutex::new(tokio::task::JoinSet::new()),
            keys: None,
        }
    }

    /// Stops uploads whose key is revoked, or whose guild is deactivated, while they are
    /// published: `keys` is the service's key store (refreshed every few seconds).
    pub fn checking_keys(mut self, keys: Arc<dyn KeyStore>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Whether an upload by the key with this id may go on: `Err(why)` once the key is
    /// revoked or its guild deactivated.
    pub(crate) fn still_admitted(&self, key_id: &str) -> Result<(), String> {
        let Some(keys) = &self.keys else { return Ok(()) };
        match keys.lapsed(key_id) {
            None => Ok(()),
            Some(Lapsed::Revoked) => {
                Err("the uploading API key was revoked or has expired (upload the file again with a valid \
                     key to resume)"
                    .into())
            }
            Some(Lapsed::GuildDeactivated(guild)) => Err(format!(
                "guild {} was deactivated (its data is kept; upload the file again once it is reactivated to resume)",
                guild.0
            )),
        }
    }

    /// The settings.
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// The buckets an upload by this caller draws from: its guild's and its key's.
    fn limits_of(&self, principal: &Principal) -> Limits {
        let mut limits = vec![(Bucket::Guild(principal.guild_id), self.config.guild_events_per_minute)];
        if principal.events_per_minute > 0 {
            let per_minute = share(u64::from(principal.events_per_minute), self.config.replicas) as u32;
            limits.push((
                Bucket::Key(principal.key_id.clone()),
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            ));
        }
        limits
    }

    /// How long the caller must wait before a new upload, if its guild's or key's event
    /// bucket is empty.
    pub fn admission_wait(&self, principal: &Principal) -> Option<Duration> {
        self.limiter.admission(&self.limits_of(principal))
    }

    /// Spends one of the guild's upload requests for this minute; `Some(wait)` when none
    /// is left (the request is refused before its body is read).
    pub fn spend_request(&self, principal: &Principal) -> Option<Duration> {
        self.limiter
            .admission(&[(Bucket::Requests(principal.guild_id), self.config.guild_uploads_per_minute)])
    }

    /// A slot for a new upload of the caller's guild (held until its publishing ends),
    /// or which concurrency limit is full.
    pub fn take_slot(&self, principal: &Principal) -> Result<UploadSlot, SlotsFull> {
        self.slots.try_take(principal.guild_id)
    }

    /// Takes a status from the uploads topic into account (any replica's, or an
    /// importer's): see [`crate::registry::follow`].
    pub fn learn(&self, status: wowlogs_schemas::UploadStatus) {
        self.ledger().learn(status);
    }

    /// Takes a spooled upload: refuses it, answers it as a duplicate, or starts
    /// publishing it in the background (holding `slot` until done).
    /// `upload_id` is the new upload's ([`new_upload_id`]): a refusal with a status
    /// ([`Refusal::has_status`]) is published under it.
    pub async fn receive(
        self: &Arc<Self>,
        principal: &Principal,
        upload_id: &str,
        slot: UploadSlot,
        spool: tempfile::NamedTempFile,
        file_name: String,
        year: Option<i32>,
    ) -> Result<Receipt, Refusal> {
        let guild = principal.guild_id;
        let upload_id = upload_id.to_string();
        let bytes = spool.as_file().metadata().map_err(|e| Refusal::Internal(e.to_string()))?.len();
        self.metrics.bytes_received(guild, bytes);
        let refused = |refusal: Refusal| self.refuse(principal, &upload_id, &file_name, refusal);
        if bytes == 0 {
            return Err(refused(Refusal::Empty));
        }
        // Identify and check the logs off the async threads: it reads the whole file.
        let inspected = {
            let path = spool.path().to_path_buf();
            let name = file_name.clone();
            let budget = inspect::expansion_budget(bytes, self.config.max_decompressed_bytes);
            let max_logs = self.config.max_logs_per_upload;
            tokio::task::spawn_blocking(move || inspect::inspect(&path, &name, guild, budget, max_logs))
                .await
                .map_err(|e| Refusal::Internal(e.to_string()))?
        };
        let logs = match inspected {
            Ok(Inspection::Logs(logs)) => logs,
            Ok(Inspection::NotALog { read, malformed }) => {
                return Err(refused(Refusal::NotACombatLog { read, malformed }));
            }
            Ok(Inspection::OverBudget { budget }) => return Err(refused(Refusal::ExpandsTooMuch { budget })),
            Ok(Inspection::TooManyLogs { limit }) => return Err(refused(Refusal::TooManyLogs { limit })),
            Err(reason) => return Err(refused(Refusal::Unreadable(reason))),
        };
        let admissions = self.ledger().admit(guild, logs)?;
        if admissions.iter().all(|(_, _, a)| matches!(a, Admission::Duplicate(_)))
            && let Some((_, identity, Admission::Duplicate(known))) = admissions.first()
        {
            self.metrics.upload(guild, "duplicate", &upload_id, &known.upload_id);
            return Ok(Receipt::Duplicate {
                upload_id: known.upload_id.clone(),
                file_name,
                log_id: identity.log_id,
            });
        }
        // New content counts against the guild's hourly decompressed budget.
        let new_bytes: u64 = admissions
            .iter()
            .filter(|(_, _, a)| !matches!(a, Admission::Duplicate(_)))
            .map(|(_, identity, _)| identity.bytes)
            .sum();
        let budget = self.decompressed.per_hour();
        match self.decompressed.take(guild, new_bytes) {
            Ok(()) => {}
            Err(OverBudget::Wait(wait)) => {
                return Err(refused(Refusal::GuildHourlyBudget { guild: guild.0, budget, wait }));
            }
            Err(OverBudget::Larger) => {
                return Err(refused(Refusal::LargerThanHourlyBudget { bytes: new_bytes, budget }));
            }
        }
        // Old-format timestamps have no year: the caller's, else the most recent date not
        // after the upload. Lines dated more than a day after the upload are implausible.
        let received = now_ms();
        let options = ParseOptions::new(
            year.map_or_else(|| YearHint::last_written_at(received), YearHint::FirstLineIn),
        )
        .received_at(received);
        // Each job with its entry's position in the upload (a zip may hold logs already
        // uploaded before new ones: those entries are skipped, not published).
        let (entries, jobs): (Vec<usize>, Vec<LogJob>) = admissions
            .into_iter()
            .enumerate()
            .filter(|(_, (_, _, a))| !matches!(a, Admission::Duplicate(_)))
            .enumerate()
            .map(|(i, (entry, (name, identity, admission)))| {
                let job = LogJob {
                    guild_id: guild,
                    log_id: identity.log_id,
                    upload_id: if i == 0 { upload_id.clone() } else { format!("{upload_id}-{i}") },
                    file_name: name,
                    content_sha256: identity.content_sha256,
                    bytes_total: Some(identity.bytes),
                    resume_after_line: match admission {
                        Admission::Resume { after_line } => after_line,
                        _ => 0,
                    },
                    options,
                    parse_threads: self.config.parse_threads,
                };
                (entry, job)
            })
            .unzip();
        let record = UploadRecord {
            upload_id: upload_id.clone(),
            guild_id: guild,
            guild_name: principal.guild_name.clone(),
            file_name: file_name.clone(),
            status: "processing".into(),
            logs: jobs
                .iter()
                .map(|j| status_of(j, UploadState::Accepted, &IntakeCounts::default(), None, now_ms()))
                .collect(),
        };
        self.ledger().start(record, jobs.iter().map(|j| j.log_id));
        self.metrics.upload(guild, "accepted", &upload_id, &file_name);
        let receipt = Receipt::Accepted {
            upload_id: upload_id.clone(),
            file_name,
            log_ids: jobs.iter().map(|j| j.log_id).collect(),
        };
        let worker = self.clone();
        let limits = self.limits_of(principal);
        let key_id = principal.key_id.clone();
        // Parsing and publishing outlive the request: their span carries the upload's id.
        let span = tracing::info_span!("publish_upload", upload_id, guild_id = guild.0);
        let mut running = self.jobs.lock().await;
        // Finished jobs leave the set here: it holds the uploads in progress only.
        while running.try_join_next().is_some() {}
        running.spawn_blocking(move || {
            span.in_scope(|| {
                publish::publish_upload(&worker, &upload_id, &key_id, &entries, jobs, spool, &limits)
            });
            drop(slot);
        });
        Ok(receipt)
    }

    /// An upload of the caller's guild, from this process's memory or the uploads topic;
    /// `None` for unknown ids and other guilds' uploads alike.
    pub fn status(&self, principal: &Principal, upload_id: &str) -> Option<UploadRecord> {
        let record = self.ledger().status(upload_id, &principal.guild_name)?;
        (record.guild_id == principal.guild_id).then_some(record)
    }

    /// Uploads whose records are held in memory (in progress, or finished recently).
    pub fn records_held(&self) -> usize {
        self.ledger().records_held()
    }

    /// The ledger, locked.
    pub(crate) fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("ledger lock")
    }

    /// Records a refusal on the uploads topic (in the background: the caller's answer
    /// does not wait for the broker) and hands it back.
    fn refuse(
        self: &Arc<Self>,
        principal: &Principal,
        upload_id: &str,
        file_name: &str,
        refusal: Refusal,
    ) -> Refusal {
        self.metrics.upload(principal.guild_id, "rejected", upload_id, refusal.code());
        let job = LogJob {
            guild_id: principal.guild_id,
            log_id: crate::identity::refused_log_id(principal.guild_id, upload_id),
            upload_id: upload_id.to_string(),
            file_name: file_name.to_string(),
            content_sha256: String::new(),
            bytes_total: None,
            resume_after_line: 0,
            options: ParseOptions::new(YearHint::FirstLineIn(2024)),
            parse_threads: 1,
        };
        let worker = self.clone();
        let reason = refusal.to_string();
        tokio::task::spawn_blocking(move || publish::record_refusal(&worker, &job, reason));
        refusal
    }

    /// Shutdown: uploads waiting on their guild's rate limit stop (resumable by
    /// uploading again); the others finish. Returns when every job has ended.
    pub async fn drain(&self) {
        self.limiter.stop();
        self.ledger().park_idle(None);
        let mut jobs = self.jobs.lock().await;
        while jobs.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests;
