//! Publishing an accepted upload (on a blocking thread), and recording a refused one.

use super::Uploads;
use super::limits::Limits;
use crate::intake::{
    IntakeCounts, IntakeError, IntakeHooks, LogJob, Tag, publish_log, publish_status, status_of,
};
use std::io::BufRead;
use std::time::Duration;
use wowlogs_kafka::Outbox;
use wowlogs_parser::{InputError, for_each_log};
use wowlogs_schemas::{GuildId, UploadState, now_ms};

/// Hooks of an upload (or a live session) being published: the guild's rate limit,
/// metrics, the status.
pub(super) struct UploadHooks<'a> {
    uploads: &'a Uploads,
    upload_id: &'a str,
    /// The uploader's key: the upload stops if it is revoked or its guild deactivated.
    key_id: &'a str,
    index: usize,
    job: &'a LogJob,
    limits: &'a Limits,
    reported: IntakeCounts,
}

impl<'a> UploadHooks<'a> {
    pub(super) fn new(
        uploads: &'a Uploads,
        upload_id: &'a str,
        key_id: &'a str,
        index: usize,
        job: &'a LogJob,
        limits: &'a Limits,
    ) -> Self {
        Self { uploads, upload_id, key_id, index, job, limits, reported: IntakeCounts::default() }
    }
}

impl IntakeHooks for UploadHooks<'_> {
    fn throttle(&mut self, events: u32) -> bool {
        self.uploads.limiter.take(self.limits, events)
    }

    fn admitted(&mut self) -> Result<(), String> {
        self.uploads.still_admitted(self.key_id)
    }

    fn progress(&mut self, counts: &IntakeCounts) {
        self.uploads.metrics.published(
            self.job.guild_id,
            counts.lines - self.reported.lines,
            counts.events - self.reported.events,
            counts.dead_letters - self.reported.dead_letters,
        );
        self.reported = *counts;
        let status = status_of(self.job, UploadState::Parsing, counts, None, now_ms());
        self.uploads.ledger().progress(self.upload_id, self.index, status);
    }

    fn delivered(&mut self, latency: Duration) {
        self.uploads.metrics.delivered(latency);
    }
}

/// Publishes every log of an upload (blocking thread), then forgets the spool file.
/// `entries[i]` is the position in the upload (a zip's entries) of `jobs[i]`'s log.
pub(super) fn publish_upload(
    uploads: &Uploads,
    upload_id: &str,
    key_id: &str,
    entries: &[usize],
    jobs: Vec<LogJob>,
    spool: tempfile::NamedTempFile,
    limits: &Limits,
) {
    let mut outbox = Outbox::new(uploads.producer.clone(), uploads.config.max_in_flight);
    let encoders = &uploads.encoders;
    let mut failed = None;
    let mut entry = 0;
    // The lifecycle starts on the topic too: accepted, then parsing, then the outcome.
    for job in &jobs {
        let counts = IntakeCounts { acked_through_line: job.resume_after_line, ..IntakeCounts::default() };
        let status = status_of(job, UploadState::Accepted, &counts, None, now_ms());
        let accepted = publish_status(&status, encoders, &mut outbox, &mut |_, _| {});
        if let Err(error) = accepted {
            tracing::warn!(upload_id, %error, "could not record an accepted upload");
        }
    }
    // How many logs have their outcome (they are reached in order): when the service
    // stops, or the uploader is no longer admitted, the rest are recorded as stopped
    // together, without reading them.
    let mut ended = 0;
    let mut refused: Option<String> = None;
    let result = std::fs::File::open(spool.path()).map_err(InputError::from).and_then(|file| {
        for_each_log(file, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
            let position = entry;
            entry += 1;
            let Some(index) = entries.iter().position(|&e| e == position) else { return Ok(()) };
            if uploads.limiter.is_stopping() {
                return Err(InputError::Io(std::io::Error::other(IntakeError::Interrupted)));
            }
            if let Err(why) = uploads.still_admitted(key_id) {
                let error = IntakeError::NoLongerAdmitted(why.clone());
                refused = Some(why);
                return Err(InputError::Io(std::io::Error::other(error)));
            }
            let job = &jobs[index];
            let mut hooks = UploadHooks::new(uploads, upload_id, key_id, index, job, limits);
            let mut ack = |_: Tag, _: Duration| {};
            let (final_state, counts, reason) =
                match publish_log(job, input, encoders, &mut outbox, &now_ms, &mut hooks) {
                    Ok(counts) => (UploadState::Completed, counts, None),
                    Err(failure) => (UploadState::Failed, failure.counts, Some(failure.error.to_string())),
                };
            let status = status_of(job, final_state, &counts, reason.clone(), now_ms());
            let recorded = publish_status(&status, encoders, &mut outbox, &mut ack)
                .and_then(|()| outbox.flush(&mut ack).map_err(Into::into));
            if let Err(error) = recorded {
                failed = Some(format!("recording the outcome failed: {error}"));
            }
            if let Some(reason) = reason {
                failed = Some(reason);
            }
            uploads.ledger().log_ended(upload_id, index, status);
            ended = index + 1;
            Ok(())
        })
    });
    if let Err(error) = result {
        failed = Some(error.to_string());
    }
    if ended < jobs.len() {
        let stopped = match refused {
            Some(why) => Some(IntakeError::NoLongerAdmitted(why)),
            None => uploads.limiter.is_stopping().then_some(IntakeError::Interrupted),
        };
        if let Some(stopped) = stopped {
            failed = Some(stopped.to_string());
            record_stopped(uploads, upload_id, &jobs, ended, &mut outbox, &stopped);
        }
    }
    let guild = jobs.first().map_or(GuildId(0), |j| j.guild_id);
    let outcome = if failed.is_some() { "failed" } else { "completed" };
    uploads.metrics.upload(guild, outcome, upload_id, failed.as_deref().unwrap_or(""));
    uploads.ledger().upload_ended(upload_id, outcome);
    drop(spool);
}

/// Records the logs of an upload from `first` on, which the stopping service (or an
/// upload whose key or guild was stopped) had not started, as failed, resumable by
/// uploading again, with one flush for them all: a stop does not wait for an upload's
/// every remaining log.
fn record_stopped(
    uploads: &Uploads,
    upload_id: &str,
    jobs: &[LogJob],
    first: usize,
    outbox: &mut Outbox<Tag>,
    why: &IntakeError,
) {
    let reason = why.to_string();
    for (index, job) in jobs.iter().enumerate().skip(first) {
        let counts = IntakeCounts { acked_through_line: job.resume_after_line, ..IntakeCounts::default() };
        let status = status_of(job, UploadState::Failed, &counts, Some(reason.clone()), now_ms());
        if let Err(error) = publish_status(&status, &uploads.encoders, outbox, &mut |_, _| {}) {
            tracing::warn!(upload_id, %error, "could not record a log the stop did not reach");
        }
        uploads.ledger().log_ended(upload_id, index, status);
    }
    if let Err(error) = outbox.flush(|_, _| {}) {
        tracing::warn!(upload_id, %error, "could not record the logs the stop did not reach");
    }
}

/// Records a refused upload's `failed` status on the uploads topic (blocking thread).
pub(super) fn record_refusal(uploads: &Uploads, job: &LogJob, reason: String) {
    let mut outbox = Outbox::new(uploads.producer.clone(), 16);
    let status = status_of(job, UploadState::Failed, &IntakeCounts::default(), Some(reason), now_ms());
    let recorded = publish_status(&status, &uploads.encoders, &mut outbox, &mut |_, _| {})
        .and_then(|()| outbox.flush(|_, _| {}).map_err(Into::into));
    if let Err(error) = recorded {
        tracing::warn!(upload_id = job.upload_id, %error, "could not record a rejected upload");
    }
}
