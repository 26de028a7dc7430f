//! Bulk import of historical logs: files, folders and globs, several at a time.
//!
//! Each log is hashed first (its id is the SHA-256 of the guild and its content), so a
//! log already imported is skipped and a log whose import was interrupted resumes after
//! its last acknowledged line. Plain, gzip and zip files are read the same way; each
//! `.txt` in a zip is a log of its own.

use crate::identity::{LogIdentity, identify};
use crate::intake::{
    Encoders, IntakeCounts, IntakeError, IntakeHooks, LogJob, Tag, publish_log, publish_status, status_of,
};
use crate::registry::{Admission, LogRegistry};
use rdkafka::producer::FutureProducer;
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};
use wowlogs_kafka::Outbox;
use wowlogs_parser::{InputError, ParseOptions, YearHint, for_each_log};
use wowlogs_schemas::now_ms;
use wowlogs_schemas::{GuildId, UploadState};

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub guild_id: GuildId,
    /// Year of the first line of `M/D` logs; by default from each file's modification time.
    pub year: Option<i32>,
    pub utc_offset_minutes: i32,
    /// Files imported at once.
    pub parallelism: usize,
    /// Threads parsing each file.
    pub parse_threads: usize,
    /// Unacknowledged messages allowed per file before the parser waits.
    pub max_in_flight: usize,
}

/// What became of one log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogOutcome {
    Imported { counts: IntakeCounts },
    Resumed { after_line: i64, counts: IntakeCounts },
    Duplicate { upload_id: String },
    Failed { reason: String },
}

/// One log's result.
#[derive(Debug, Clone, PartialEq)]
pub struct LogReport {
    /// The file (and zip entry).
    pub name: String,
    pub log_id: Option<wowlogs_schemas::LogId>,
    pub outcome: LogOutcome,
}

/// Why the inputs could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    #[error("{0}: no such file, folder or matching pattern")]
    NotFound(String),
    #[error("bad pattern {0}: {1}")]
    Pattern(String, glob::PatternError),
    #[error("reading folder {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Turns arguments into log files: files as given, folders searched recursively for
/// `.txt`, `.gz` and `.zip`, and glob patterns. Sorted, duplicates removed.
pub fn expand_inputs(args: &[String]) -> Result<Vec<PathBuf>, ExpandError> {
    let mut files = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_file() {
            files.push(path.to_path_buf());
        } else if path.is_dir() {
            collect_dir(path, &mut files)?;
        } else {
            let matches: Vec<PathBuf> = glob::glob(arg)
                .map_err(|e| ExpandError::Pattern(arg.clone(), e))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if matches.is_empty() {
                return Err(ExpandError::NotFound(arg.clone()));
            }
            files.extend(matches);
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ExpandError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ExpandError::Io(dir.to_path_buf(), e))?;
    for entry in entries {
        let path = entry.map_err(|e| ExpandError::Io(dir.to_path_buf(), e))?.path();
        if path.is_dir() {
            collect_dir(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["txt", "gz", "zip"].contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Progress of the logs being imported, for progress bars.
pub trait ImportObserver: Sync {
    /// A log starts publishing; `bytes` is its size after decompression.
    fn log_started(&self, name: &str, bytes: u64);
    /// Running totals of a log being published.
    fn progress(&self, name: &str, counts: &IntakeCounts);
    /// A log is done (published, skipped as a duplicate, or failed).
    fn log_done(&self, report: &LogReport);
}

/// Imports `files`, `settings.parallelism` at a time. A failure of one log is reported
/// in its outcome and does not stop the others.
pub fn import_files(
    producer: &FutureProducer,
    registry: &Mutex<LogRegistry>,
    files: &[PathBuf],
    settings: &ImportSettings,
    observer: &dyn ImportObserver,
) -> Vec<LogReport> {
    let queue = Mutex::new(files.iter().cloned().collect::<VecDeque<_>>());
    let reports = Mutex::new(Vec::new());
    let workers = settings.parallelism.clamp(1, files.len().max(1));
    let encoders = Encoders::new().expect("the contract's schemas are valid");
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut outbox = Outbox::new(producer.clone(), settings.max_in_flight);
                loop {
                    let Some(file) = queue.lock().expect("queue lock").pop_front() else { break };
                    let file_reports =
                        import_file(&file, settings, registry, &encoders, &mut outbox, observer);
                    reports.lock().expect("reports lock").extend(file_reports);
                }
            });
        }
    });
    reports.into_inner().expect("reports lock")
}

fn import_file(
    file: &Path,
    settings: &ImportSettings,
    registry: &Mutex<LogRegistry>,
    encoders: &Encoders,
    outbox: &mut Outbox<Tag>,
    observer: &dyn ImportObserver,
) -> Vec<LogReport> {
    let failed = |reason: String| {
        vec![LogReport {
            name: file.display().to_string(),
            log_id: None,
            outcome: LogOutcome::Failed { reason },
        }]
    };
    let metadata = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) => return failed(format!("cannot read {}: {e}", file.display())),
    };
    // First pass: the identity of every log in the file.
    // Each log's name as shown here, the name it is published under, and its identity.
    let mut identities: Vec<(String, String, LogIdentity)> = Vec::new();
    let hashed = open(file).and_then(|f| {
        for_each_log(f, |entry, input: &mut dyn BufRead| -> Result<(), InputError> {
            identities.push((
                log_name(file, entry),
                published_name(file, entry),
                identify(settings.guild_id, input)?,
            ));
            Ok(())
        })
        .map_err(|e| e.to_string())
    });
    if let Err(reason) = hashed {
        return failed(reason);
    }
    let year = YearHint::from_year_or_modified(
        settings.year,
        metadata.modified().unwrap_or_else(|_| SystemTime::now()),
    );
    // Lines dated more than a day after the import are implausible.
    let options = ParseOptions {
        old_format_utc_offset_minutes: settings.utc_offset_minutes,
        ..ParseOptions::new(year)
    }
    .received_at(wowlogs_schemas::now_ms());
    let upload_prefix = format!("import-{}", uuid::Uuid::new_v4());
    // Second pass: publish each log that needs it.
    let mut reports = Vec::new();
    let mut index = 0;
    let published = open(file).and_then(|f| {
        for_each_log(f, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
            let (name, published, mut identity) = identities[index].clone();
            index += 1;
            let (log_id, admission) =
                registry.lock().expect("registry lock").admit_log(settings.guild_id, &identity);
            identity.log_id = log_id;
            let resume_after_line = match admission {
                Admission::Duplicate(known) => {
                    let report = LogReport {
                        name,
                        log_id: Some(identity.log_id),
                        outcome: LogOutcome::Duplicate { upload_id: known.upload_id },
                    };
                    observer.log_done(&report);
                    reports.push(report);
                    return Ok(());
                }
                Admission::Resume { after_line } => after_line,
                Admission::New => 0,
            };
            let job = LogJob {
                guild_id: settings.guild_id,
                log_id: identity.log_id,
                upload_id: format!("{upload_prefix}-{index}"),
                file_name: published,
                content_sha256: identity.content_sha256.clone(),
                bytes_total: Some(identity.bytes),
                resume_after_line,
                options,
                parse_threads: settings.parse_threads,
            };
            observer.log_started(&name, identity.bytes);
            let report = publish_one(&job, input, encoders, outbox, registry, observer);
            observer.log_done(&report);
            reports.push(report);
            Ok(())
        })
        .map_err(|e| e.to_string())
    });
    if let Err(reason) = published {
        reports.extend(failed(reason));
    }
    reports
}

fn publish_one(
    job: &LogJob,
    input: &mut dyn BufRead,
    encoders: &Encoders,
    outbox: &mut Outbox<Tag>,
    registry: &Mutex<LogRegistry>,
    observer: &dyn ImportObserver,
) -> LogReport {
    struct Progress<'a> {
        name: &'a str,
        observer: &'a dyn ImportObserver,
    }
    impl IntakeHooks for Progress<'_> {
        fn progress(&mut self, counts: &IntakeCounts) {
            self.observer.progress(self.name, counts);
        }
    }
    let started = Instant::now();
    let result =
        publish_log(job, input, encoders, outbox, &now_ms, &mut Progress { name: &job.file_name, observer });
    let mut ack = |_, _| {};
    let outcome = match result {
        Ok(counts) => {
            let status = status_of(job, UploadState::Completed, &counts, None, now_ms());
            let finished = publish_status(&status, encoders, outbox, &mut ack)
                .and_then(|()| outbox.flush(&mut ack).map_err(IntakeError::from));
            match finished {
                Ok(()) => {
                    registry.lock().expect("registry lock").record(status);
                    tracing::info!(
                        log_id = job.log_id.0,
                        events = counts.events,
                        dead_letters = counts.dead_letters,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "log imported"
                    );
                    if job.resume_after_line > 0 {
                        LogOutcome::Resumed { after_line: job.resume_after_line, counts }
                    } else {
                        LogOutcome::Imported { counts }
                    }
                }
                Err(error) => LogOutcome::Failed { reason: error.to_string() },
            }
        }
        Err(failure) => {
            // Record how far it got, so a rerun resumes from there (best effort: the
            // broker may be what failed).
            let reason = failure.error.to_string();
            let status = status_of(job, UploadState::Failed, &failure.counts, Some(reason.clone()), now_ms());
            let _ = publish_status(&status, encoders, outbox, &mut ack);
            registry.lock().expect("registry lock").record(status);
            let _ = outbox.flush(&mut ack);
            LogOutcome::Failed { reason }
        }
    };
    LogReport { name: job.file_name.clone(), log_id: Some(job.log_id), outcome }
}

fn open(file: &Path) -> Result<File, String> {
    File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))
}

fn log_name(file: &Path, entry: Option<&str>) -> String {
    match entry {
        Some(entry) => format!("{}:{entry}", file.display()),
        None => file.display().to_string(),
    }
}

/// The name a log is published under (`file_name` on the uploads topic): the file's
/// base name, and the entry for an archive's logs. Never the importing machine's path:
/// the topics are read by other teams.
fn published_name(file: &Path, entry: Option<&str>) -> String {
    let base =
        file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    crate::uploads::published_name(&base, entry)
}

#[cfg(test)]
mod published_names {
    use super::*;

    #[test]
    fn logs_are_published_under_their_base_name_never_the_machines_path() {
        let file = Path::new("/home/raider/WoW/_retail_/Logs/WoWCombatLog-2024.txt");
        assert_eq!(published_name(file, None), "WoWCombatLog-2024.txt");
        assert_eq!(
            published_name(Path::new("/srv/archive/2024.zip"), Some("WoWCombatLog.txt")),
            "2024.zip:WoWCombatLog.txt"
        );
    }
}
