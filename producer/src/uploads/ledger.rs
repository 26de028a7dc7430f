//! Everything this process knows of uploads, in one place: what the uploads topic says
//! (the registry), the uploads this process received (their records, kept a while after
//! they finish) and the logs it is publishing now. One owner behind one lock, so an
//! admission, a log's progress and its outcome never see the parts out of step.

use super::live::Session;
use super::{Refusal, UploadRecord};
use crate::identity::LogIdentity;
use crate::registry::{Admission, LogRegistry};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wowlogs_schemas::{GuildId, LogId, UploadStatus};

/// How long a finished upload's record stays in memory; its status is then read from
/// the registry (the uploads topic), like other processes' uploads.
pub const FINISHED_KEPT: Duration = Duration::from_secs(600);

/// The logs of an upload, each with its name in the upload, identity and admission.
pub type Admitted = Vec<(String, LogIdentity, Admission)>;

/// See the module's documentation.
pub struct Ledger {
    registry: LogRegistry,
    /// Uploads received by this process, while they are published and for
    /// `keep_finished` after; older ones are answered from the registry.
    records: HashMap<String, UploadRecord>,
    /// Finished uploads still in `records`, oldest first.
    finished: VecDeque<(Instant, String)>,
    keep_finished: Duration,
    /// Logs being published by this process, with their upload ids.
    active: HashMap<(GuildId, LogId), String>,
    /// Files followed live through this process, by guild and key.
    live: HashMap<(GuildId, String), Arc<Session>>,
}

impl Ledger {
    /// A ledger that starts from what `registry` knows.
    pub fn new(registry: LogRegistry) -> Self {
        Self::keeping_finished(registry, FINISHED_KEPT)
    }

    /// The same, keeping finished records for `keep_finished`.
    pub fn keeping_finished(registry: LogRegistry, keep_finished: Duration) -> Self {
        Self {
            registry,
            records: HashMap::new(),
            finished: VecDeque::new(),
            keep_finished,
            active: HashMap::new(),
            live: HashMap::new(),
        }
    }

    /// What the uploads topic says.
    pub fn registry(&self) -> &LogRegistry {
        &self.registry
    }

    /// The live session of a guild's file, when this process holds it.
    pub fn live_session(&self, guild: GuildId, key: &str) -> Option<Arc<Session>> {
        self.live.get(&(guild, key.to_string())).cloned()
    }

    /// Live sessions held: the guild's, and all.
    pub fn live_sessions(&self, guild: GuildId) -> (usize, usize) {
        (self.live.keys().filter(|(g, _)| *g == guild).count(), self.live.len())
    }

    /// A live session opens: its log is being published (refused while an upload
    /// publishes the same log), its record kept.
    pub fn open_live(&mut self, session: Arc<Session>, record: UploadRecord) -> Result<(), Refusal> {
        if let Some(running) = self.active.get(&(session.guild_id, session.log_id)) {
            return Err(Refusal::InProgress(running.clone()));
        }
        self.start(record, [session.log_id]);
        self.live.insert((session.guild_id, session.key.clone()), session);
        Ok(())
    }

    /// A live session is no longer held (closed, or its thread ended).
    pub fn live_ended(&mut self, guild: GuildId, key: &str, session: &Arc<Session>) {
        let entry = (guild, key.to_string());
        if self.live.get(&entry).is_some_and(|held| Arc::ptr_eq(held, session)) {
            self.live.remove(&entry);
        }
    }

    /// Parks the live sessions without a chunk for `idle` (every one, for `None`: the
    /// service is stopping): their threads end, their logs stay open.
    pub fn park_idle(&mut self, idle: impl Into<Option<Duration>>) -> Vec<Arc<Session>> {
        let idle = idle.into();
        let parked: Vec<_> = self
            .live
            .iter()
            .filter(|(_, session)| idle.is_none_or(|idle| session.idle_for(idle)) && session.park())
            .map(|(entry, _)| entry.clone())
            .collect();
        parked.iter().filter_map(|entry| self.live.remove(entry)).collect()
    }

    /// A status read from the uploads topic (any replica's, or an importer's).
    pub fn learn(&mut self, status: UploadStatus) {
        self.registry.record(status);
    }

    /// Admits the logs of a new upload of `guild`: each new, to resume, or a duplicate,
    /// under the log id it joins ([`LogRegistry::admit_log`]: a file followed live joins
    /// its live log); refused as a whole while one of them is being published by another
    /// upload or a live session.
    pub fn admit(&self, guild: GuildId, logs: Vec<(String, LogIdentity)>) -> Result<Admitted, Refusal> {
        let admitted: Admitted = logs
            .into_iter()
            .map(|(name, mut identity)| {
                let (log_id, admission) = self.registry.admit_log(guild, &identity);
                identity.log_id = log_id;
                (name, identity, admission)
            })
            .collect();
        if let Some(running) =
            admitted.iter().find_map(|(_, identity, _)| self.active.get(&(guild, identity.log_id)))
        {
            return Err(Refusal::InProgress(running.clone()));
        }
        Ok(admitted)
    }

    /// An accepted upload starts: its record is kept and its logs are being published.
    pub fn start(&mut self, record: UploadRecord, log_ids: impl IntoIterator<Item = LogId>) {
        self.forget_finished();
        for log_id in log_ids {
            self.active.insert((record.guild_id, log_id), record.upload_id.clone());
        }
        self.records.insert(record.upload_id.clone(), record);
    }

    /// The `index`th log of an upload moved on.
    pub fn progress(&mut self, upload_id: &str, index: usize, status: UploadStatus) {
        if let Some(log) = self.records.get_mut(upload_id).and_then(|r| r.logs.get_mut(index)) {
            *log = status;
        }
    }

    /// The `index`th log of an upload ended (completed or failed): the registry knows it,
    /// and it is no longer being published.
    pub fn log_ended(&mut self, upload_id: &str, index: usize, status: UploadStatus) {
        self.registry.record(status.clone());
        self.active.remove(&(status.guild_id, status.log_id));
        self.progress(upload_id, index, status);
    }

    /// An upload ended with `outcome` (`completed` or `failed`); its record leaves
    /// memory after the time finished records are kept.
    pub fn upload_ended(&mut self, upload_id: &str, outcome: &str) {
        if let Some(record) = self.records.get_mut(upload_id) {
            record.status = outcome.into();
        }
        self.finished.push_back((Instant::now(), upload_id.to_string()));
    }

    /// An upload, from this process's records or, for uploads finished a while ago and
    /// those of other processes, from the uploads topic; `guild_name` names its guild.
    pub fn status(&mut self, upload_id: &str, guild_name: &str) -> Option<UploadRecord> {
        self.forget_finished();
        if let Some(record) = self.records.get(upload_id) {
            return Some(record.clone());
        }
        let logs = self.registry.upload_logs(upload_id);
        let first = logs.first()?;
        let failed = logs.iter().any(|s| s.state == wowlogs_schemas::UploadState::Failed);
        Some(UploadRecord {
            upload_id: upload_id.to_string(),
            guild_id: first.guild_id,
            guild_name: guild_name.to_string(),
            file_name: first.file_name.clone(),
            status: if failed { "failed" } else { first.state.summary() }.into(),
            logs,
        })
    }

    /// Uploads whose records are held in memory (in progress, or finished recently).
    pub fn records_held(&self) -> usize {
        self.records.len()
    }

    /// Drops the records of uploads finished longer ago than they are kept.
    fn forget_finished(&mut self) {
        while self.finished.front().is_some_and(|(at, _)| at.elapsed() >= self.keep_finished) {
            let (_, upload_id) = self.finished.pop_front().expect("a front");
            self.records.remove(&upload_id);
        }
    }
}
