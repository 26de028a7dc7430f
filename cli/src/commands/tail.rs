//! `wowlogs tail`: the contract's records, decoded, one JSON object per line, for people
//! debugging their subscriptions: what is on the topics, with its key, headers and
//! whether the fingerprint header matches the message.

use crate::commands::KafkaArgs;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Headers};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wowlogs_kafka::{Start, follow_topic};
use wowlogs_schemas::topics::{self, HEADER_SCHEMA_FINGERPRINT, TopicSpec};
use wowlogs_schemas::wire::message_fingerprint;
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, EncounterSummary, Record, UploadStatus};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  wowlogs tail --guild 7 --topic uploads              what guild 7 uploads from now on
  wowlogs tail --topic dead-letters --from-beginning --until-end
                                                      every dead letter so far, then exit
  wowlogs tail --from-beginning | jq 'select(.value.event_type == \"SPELL_DAMAGE\")'

Each line: {\"topic\",\"partition\",\"offset\",\"timestamp_ms\",\"key\",\"headers\",
\"fingerprint\",\"value\"} with the decoded record as `value`, or `error` when it does not
decode (the fingerprint is read from the message's single-object header).")]
pub struct TailArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Only this guild's records (the record key).
    #[arg(long)]
    pub guild: Option<i64>,
    /// The topics to read (repeat, or separate with commas); all of them when not given.
    #[arg(long = "topic", value_enum, value_delimiter = ',')]
    pub topics: Vec<TailTopic>,
    /// Start at each topic's beginning (every record kept) instead of its end (only
    /// records written from now on).
    #[arg(long)]
    pub from_beginning: bool,
    /// Exit once every topic was read to the end it had at the start (with
    /// `--from-beginning`): print what is there, then stop.
    #[arg(long, requires = "from_beginning")]
    pub until_end: bool,
    /// Exit after printing this many records.
    #[arg(long)]
    pub max_records: Option<u64>,
}

/// A topic of the contract, by the name people use for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TailTopic {
    /// `wowlogs.combat-events.v1`: every parsed line.
    Events,
    /// `wowlogs.encounters.v1`: every finished fight.
    Encounters,
    /// `wowlogs.uploads.v1`: every upload's lifecycle.
    Uploads,
    /// `wowlogs.dead-letter.v1`: lines and records that could not be used.
    DeadLetters,
    /// `wowlogs.upload-state.v1`: the latest status of each upload of each log (compacted).
    UploadState,
}

impl TailTopic {
    const ALL: [TailTopic; 5] =
        [Self::Events, Self::Encounters, Self::Uploads, Self::DeadLetters, Self::UploadState];

    fn spec(self) -> TopicSpec {
        match self {
            Self::Events => topics::COMBAT_EVENTS,
            Self::Encounters => topics::ENCOUNTERS,
            Self::Uploads => topics::UPLOADS,
            Self::DeadLetters => topics::DEAD_LETTER,
            Self::UploadState => topics::UPLOAD_STATE,
        }
    }

    /// The topic's record decoder: a message's value as JSON.
    fn decoder(self) -> Result<Decoder> {
        fn of<T: Record + 'static>() -> Result<Decoder> {
            let codec = Codec::<T>::new()?;
            Ok(Box::new(move |bytes| {
                let record = codec.decode(bytes).map_err(|e| e.to_string())?;
                serde_json::to_value(&record).map_err(|e| e.to_string())
            }))
        }
        match self {
            Self::Events => of::<CombatEvent>(),
            Self::Encounters => of::<EncounterSummary>(),
            Self::Uploads | Self::UploadState => of::<UploadStatus>(),
            Self::DeadLetters => of::<DeadLetter>(),
        }
    }
}

type Decoder = Box<dyn Fn(&[u8]) -> Result<Value, String>>;

/// One message as a line of output.
fn line(message: &BorrowedMessage<'_>, decode: &Decoder) -> Value {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut headers = serde_json::Map::new();
    let mut header_fingerprint = None;
    if let Some(all) = message.headers() {
        for header in all.iter() {
            let value = header.value.map(text);
            if header.key == HEADER_SCHEMA_FINGERPRINT {
                header_fingerprint = value.clone();
            }
            headers.insert(header.key.to_string(), value.map_or(Value::Null, Value::String));
        }
    }
    let payload = message.payload().unwrap_or_default();
    let fingerprint = message_fingerprint(payload).ok().map(topics::fingerprint_header);
    let mut out = json!({
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": message.timestamp().to_millis(),
        "key": message.key().map(text),
        "headers": headers,
        "fingerprint": fingerprint,
        "fingerprint_matches_header": fingerprint.is_some() && fingerprint == header_fingerprint,
    });
    match decode(payload) {
        Ok(value) => out["value"] = value,
        Err(error) => out["error"] = Value::String(error),
    }
    out
}

pub fn run(args: &TailArgs) -> Result<()> {
    if args.max_records == Some(0) {
        bail!("--max-records must be at least 1");
    }
    let chosen = if args.topics.is_empty() { TailTopic::ALL.to_vec() } else { args.topics.clone() };
    let settings = args.kafka.settings("wowlogs-tail");
    let key = args.guild.map(|guild| topics::guild_key(wowlogs_schemas::GuildId(guild)));
    let start = if args.from_beginning { Start::Beginning } else { Start::End };
    let stop = Arc::new(AtomicBool::new(false));
    let printed = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(std::io::stdout()));
    {
        let stop = stop.clone();
        stop_on_signal(move || stop.store(true, Ordering::Relaxed))?;
    }
    // One reader per topic, each on its own thread, writing whole lines.
    let readers: Vec<_> = chosen
        .into_iter()
        .map(|topic| {
            let (settings, key, stop, printed, out) =
                (settings.clone(), key.clone(), stop.clone(), printed.clone(), out.clone());
            let (until_end, max) = (args.until_end, args.max_records);
            std::thread::spawn(move || -> Result<()> {
                let decode = topic.decoder()?;
                let name = topic.spec().name;
                let visit = |message: &BorrowedMessage<'_>| {
                    if stop.load(Ordering::Relaxed)
                        || key.as_deref().is_some_and(|key| message.key() != Some(key.as_bytes()))
                    {
                        return;
                    }
                    let text = line(message, &decode).to_string();
                    let mut out = out.lock().expect("stdout lock");
                    let n = printed.fetch_add(1, Ordering::Relaxed) + 1;
                    if max.is_some_and(|max| n > max) {
                        return;
                    }
                    // A closed pipe (`| head`) ends the command, as it would `cat`.
                    if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() || max == Some(n) {
                        stop.store(true, Ordering::Relaxed);
                    }
                };
                // With --until-end, reaching the end the topic had at the start stops
                // this reader only.
                let done = AtomicBool::new(false);
                let caught_up = || done.store(until_end, Ordering::Relaxed);
                follow_topic(
                    &settings,
                    name,
                    start,
                    || stop.load(Ordering::Relaxed) || done.load(Ordering::Relaxed),
                    caught_up,
                    visit,
                )
                .with_context(|| format!("reading {name} on {}", settings.brokers))
            })
        })
        .collect();
    let mut failed = None;
    for reader in readers {
        if let Err(error) = reader.join().expect("a tail reader panicked") {
            stop.store(true, Ordering::Relaxed);
            failed.get_or_insert(error);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Ctrl-C (and SIGTERM) ends the tail cleanly: every reader stops at its next poll.
fn stop_on_signal(on_stop: impl FnOnce() + Send + 'static) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(wowlogs_http::shutdown_signal());
        on_stop();
    });
    Ok(())
}
