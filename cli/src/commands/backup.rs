//! `wowlogs backup` and `wowlogs restore`: a guild's (or every guild's) event log and
//! tenancy rows as Avro Object Container Files, and back.
//!
//! The topics are the system of record (every projection is rebuilt from them), so a
//! backup holds what a replay needs: the records of `wowlogs.combat-events.v1`,
//! `wowlogs.uploads.v1` and `wowlogs.dead-letter.v1` (fights are made again from them),
//! each file with the record's published schema, and the guilds, their key hashes,
//! their progress plans (roster, targets, messages, comparison settings: written by the
//! guilds, on no topic) and recorded encounter transfers, deleted logs and purged guilds
//! (whose records a backup leaves out, and a restore neither publishes again nor lets the
//! consumers write; a purged guild's rows in an older backup are not written again either). `manifest.json` lists every file with its record count
//! and SHA-256. A restore checks every checksum first, writes the tenancy rows (replacing
//! rows are idempotent), and publishes the records again in an order a consumer expects
//! of a live upload (a log's non-final statuses, its events and dead letters, its final
//! status); the consumers then make every table again. Publishing twice is harmless: the
//! projections are keyed by `(guild_id, log_id, line)`.

use crate::commands::{KafkaArgs, StoreArgs};
use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wowlogs_schemas::topics::guild_key;
use wowlogs_schemas::{Codec, CombatEvent, DeadLetter, GuildId, Record, UploadState, UploadStatus};
use wowlogs_store::deletions::{DeletedLogRow, Deletions, PurgedGuildRow};
use wowlogs_store::rows::{MessageRow, ProgressSettingsRow, RosterRow, TableRow, TargetRow, insert_rows};
use wowlogs_store::transfer::TransferRow;
use wowlogs_tenancy::{ApiKeyRow, GuildRow};

/// The backup format this build writes and reads.
const FORMAT: &str = "wowlogs-backup/1";

/// Where the records and rows are, and whose.
#[derive(Debug, Args)]
pub struct Stack {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// One guild's records and rows (default: every guild's; a restore takes what the
    /// backup holds).
    #[arg(long)]
    pub guild: Option<i64>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub stack: Stack,
    /// Backups kept in DIR (the oldest go beyond it).
    #[arg(long, env = "WOWLOGS_BACKUPS_KEPT", default_value_t = 30)]
    pub keep: usize,
    /// Run again after each such period (`24h`) until stopped; once otherwise.
    #[arg(long, value_parser = crate::commands::retention::period)]
    pub every: Option<Duration>,
    /// Where backups go: each run writes a folder `wowlogs-backup-<UTC time>[-guild-G]` in it.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub stack: Stack,
    /// A backup folder (`wowlogs-backup-…`, holding manifest.json).
    pub dir: PathBuf,
}

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    format: String,
    created: String,
    guild: Option<i64>,
    files: Vec<Entry>,
}

/// One file of a backup.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Entry {
    file: String,
    /// A topic's name, or a table's.
    source: String,
    records: u64,
    sha256: String,
}

pub fn run_backup(args: &BackupArgs) -> Result<()> {
    loop {
        let folder = backup_once(args)?;
        println!("backed up to {}", folder.display());
        prune(&args.dir, args.keep)?;
        let Some(period) = args.every else { return Ok(()) };
        std::thread::sleep(period);
    }
}

fn backup_once(args: &BackupArgs) -> Result<PathBuf> {
    let created =
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(wowlogs_schemas::now_ms()).unwrap_or_default();
    let mut name = format!("wowlogs-backup-{}", created.format("%Y%m%dT%H%M%SZ"));
    if let Some(guild) = args.stack.guild {
        name += &format!("-guild-{guild}");
    }
    let folder = args.dir.join(&name);
    let partial = args.dir.join(format!(".{name}.partial"));
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let kafka = args.stack.kafka.settings("wowlogs-backup");
    let guild = args.stack.guild.map(GuildId);
    let store = args.stack.store.settings();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // A deleted log's records stay on the topics, and a purged guild's: a backup leaves
    // them out.
    let deleted = runtime
        .block_on(wowlogs_store::deletions::all_deleted(&store.client()))
        .context("reading the deleted logs")?;
    let mut files = vec![
        backup_topic::<CombatEvent>(&kafka, &partial, guild, &deleted)?,
        backup_topic::<UploadStatus>(&kafka, &partial, guild, &deleted)?,
        backup_topic::<DeadLetter>(&kafka, &partial, guild, &deleted)?,
    ];
    runtime.block_on(async {
        files.push(backup_table::<GuildRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<ApiKeyRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<TransferRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<DeletedLogRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<PurgedGuildRow>(&store, &partial, args.stack.guild).await?);
        // What guilds wrote to their progress plans: no topic holds it.
        files.push(backup_table::<RosterRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<TargetRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<MessageRow>(&store, &partial, args.stack.guild).await?);
        files.push(backup_table::<ProgressSettingsRow>(&store, &partial, args.stack.guild).await?);
        anyhow::Ok(())
    })?;
    let manifest =
        Manifest { format: FORMAT.into(), created: created.to_rfc3339(), guild: args.stack.guild, files };
    std::fs::write(partial.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    // Complete or absent: the folder gets its name once every file is written.
    std::fs::rename(&partial, &folder)?;
    for entry in &manifest.files {
        println!("  {:<28} {:>12} records", entry.file, entry.records);
    }
    Ok(folder)
}

/// Keeps the newest `keep` backups of `dir`.
fn prune(dir: &Path, keep: usize) -> Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("wowlogs-backup-"))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(keep.max(1));
    for old in &backups[..excess] {
        std::fs::remove_dir_all(old).with_context(|| format!("removing {}", old.display()))?;
        println!("removed the old backup {}", old.display());
    }
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The records of `T`'s topic (of one guild, or all) but those of `deleted` logs, in an
/// Object Container File with `T`'s published schema.
fn backup_topic<T: Record>(
    kafka: &wowlogs_kafka::KafkaSettings,
    dir: &Path,
    guild: Option<GuildId>,
    deleted: &Deletions,
) -> Result<Entry> {
    let codec = Codec::<T>::new()?;
    let topic = T::TOPIC.name;
    let file = format!("{topic}.avro");
    let mut writer =
        apache_avro::Writer::new(codec.schema(), BufWriter::new(File::create(dir.join(&file))?))?;
    let key = guild.map(guild_key);
    let (mut records, mut failure) = (0u64, None);
    wowlogs_kafka::read_topic_to_end(kafka, topic, Duration::from_secs(3600), |message| {
        use rdkafka::Message;
        if failure.is_some() || key.as_deref().is_some_and(|k| message.key() != Some(k.as_bytes())) {
            return;
        }
        let Some(payload) = message.payload() else { return };
        let appended = codec.decode(payload).map_err(anyhow::Error::from).and_then(|record| {
            let (guild, log) = record.owner();
            if deleted.covers(guild.0, log.0) {
                return Ok(false);
            }
            writer.append_ser(&record).map(|_| true).map_err(anyhow::Error::from)
        });
        match appended {
            Ok(false) => {}
            Ok(true) => records += 1,
            Err(error) => {
                failure = Some(error.context(format!(
                    "{topic} partition {} offset {}",
                    message.partition(),
                    message.offset()
                )))
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    writer.flush()?;
    drop(writer);
    Ok(Entry { sha256: sha256_of(&dir.join(&file))?, file, source: topic.into(), records })
}

/// The Avro schema of a table's rows, from its declared columns.
fn table_schema<T: TableRow>() -> Result<apache_avro::Schema> {
    let fields: Vec<serde_json::Value> = T::COLUMNS
        .iter()
        .map(|(name, column)| {
            let kind = match *column {
                "String" => serde_json::json!("string"),
                "UInt8" => serde_json::json!("int"),
                "Array(String)" => serde_json::json!({"type": "array", "items": "string"}),
                _ => serde_json::json!("long"), // Int64, UInt32, UInt64, DateTime
            };
            serde_json::json!({"name": name, "type": kind})
        })
        .collect();
    let schema = serde_json::json!({"type": "record", "name": T::TABLE, "namespace": "wowlogs.backup", "fields": fields});
    Ok(apache_avro::Schema::parse(&schema)?)
}

/// A table's rows (of one guild, or all) in an Object Container File.
async fn backup_table<T>(
    store: &wowlogs_store::StoreSettings,
    dir: &Path,
    guild: Option<i64>,
) -> Result<Entry>
where
    T: TableRow + clickhouse::RowOwned + clickhouse::RowRead + Serialize,
{
    let schema = table_schema::<T>()?;
    let file = format!("{}.avro", T::TABLE);
    let query =
        format!("SELECT ?fields FROM {} FINAL WHERE guild_id = ? OR ? = 1 ORDER BY guild_id", T::TABLE);
    let rows: Vec<T> = store
        .client()
        .query(&query)
        .bind(guild.unwrap_or(0))
        .bind(i64::from(guild.is_none()))
        .fetch_all()
        .await?;
    let mut writer = apache_avro::Writer::new(&schema, BufWriter::new(File::create(dir.join(&file))?))?;
    for row in &rows {
        writer.append_value(row_value::<T>(row)?)?;
    }
    writer.flush()?;
    drop(writer);
    Ok(Entry {
        sha256: sha256_of(&dir.join(&file))?,
        file,
        source: T::TABLE.into(),
        records: rows.len() as u64,
    })
}

/// A row as an Avro record of [`table_schema`] (through JSON: apache-avro's serde
/// encoder writes unsigned 64-bit integers as fixed bytes, the schema says long).
fn row_value<T: TableRow + Serialize>(row: &T) -> Result<apache_avro::types::Value> {
    use apache_avro::types::Value;
    let json = serde_json::to_value(row)?;
    let fields = T::COLUMNS
        .iter()
        .map(|(name, column)| {
            let field = &json[*name];
            let value = match (*column, field) {
                ("String", serde_json::Value::String(text)) => Value::String(text.clone()),
                ("UInt8", number) => Value::Int(number.as_i64().context("a number")? as i32),
                ("Array(String)", serde_json::Value::Array(items)) => Value::Array(
                    items.iter().map(|i| Value::String(i.as_str().unwrap_or_default().to_string())).collect(),
                ),
                (_, number) => Value::Long(
                    number.as_i64().or_else(|| number.as_u64().map(|n| n as i64)).context("a number")?,
                ),
            };
            Ok((name.to_string(), value))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Record(fields))
}

/// Writes back the rows of a table's backup file (if the backup has one) of the guilds
/// `keep` keeps; how many.
async fn restore_rows<T>(
    client: &clickhouse::Client,
    path: Option<PathBuf>,
    keep: &impl Fn(i64) -> bool,
    guild_of: fn(&T) -> i64,
) -> Result<usize>
where
    T: TableRow + serde::de::DeserializeOwned + clickhouse::RowOwned + clickhouse::RowWrite,
{
    let Some(path) = path else { return Ok(0) };
    let rows: Vec<T> = read_rows::<T>(&path)?.into_iter().filter(|r| keep(guild_of(r))).collect();
    insert_rows(client, &rows).await?;
    Ok(rows.len())
}

/// The rows of a table's backup file.
fn read_rows<T: TableRow + serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    use apache_avro::types::Value;
    let reader = apache_avro::Reader::new(BufReader::new(File::open(path)?))?;
    let json = |value: Value| -> Result<serde_json::Value> {
        Ok(match value {
            Value::String(text) => serde_json::Value::String(text),
            Value::Int(n) => serde_json::json!(n),
            Value::Long(n) => serde_json::json!(n),
            Value::Array(items) => serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(text) => serde_json::Value::String(text),
                        other => serde_json::json!(format!("{other:?}")),
                    })
                    .collect(),
            ),
            other => bail!("unexpected {other:?} in a table's backup"),
        })
    };
    reader
        .map(|record| {
            let Value::Record(fields) = record? else { bail!("a table's backup holds records") };
            let object: serde_json::Map<String, serde_json::Value> =
                fields.into_iter().map(|(name, value)| Ok((name, json(value)?))).collect::<Result<_>>()?;
            Ok(serde_json::from_value(serde_json::Value::Object(object))?)
        })
        .collect()
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            .with_context(|| format!("{} is not a backup manifest", path.display()))?;
    ensure!(
        manifest.format == FORMAT,
        "{} is {}, this wowlogs reads {FORMAT}",
        path.display(),
        manifest.format
    );
    for entry in &manifest.files {
        let found = sha256_of(&dir.join(&entry.file)).with_context(|| format!("reading {}", entry.file))?;
        ensure!(
            found == entry.sha256,
            "{} does not match its checksum in the manifest: the backup is damaged",
            entry.file
        );
    }
    Ok(manifest)
}

/// The records of a backup file, decoded as `T`.
/// The records of a backup file, decoded as `T` one at a time (a whole event log is not
/// held in memory).
fn read_records<T: serde::de::DeserializeOwned>(path: &Path) -> Result<impl Iterator<Item = Result<T>>> {
    let reader = apache_avro::Reader::new(BufReader::new(File::open(path)?))?;
    Ok(reader.map(|value| Ok(apache_avro::from_value::<T>(&value?)?)))
}

pub fn run_restore(args: &RestoreArgs) -> Result<()> {
    let manifest = read_manifest(&args.dir)?;
    if let (Some(wanted), Some(held)) = (args.stack.guild, manifest.guild)
        && wanted != held
    {
        bail!("this backup holds guild {held} only, not guild {wanted}");
    }
    let keep = |guild: i64| args.stack.guild.is_none_or(|g| g == guild);
    let file = |source: &str| -> Result<PathBuf> {
        let entry = manifest
            .files
            .iter()
            .find(|e| e.source == source)
            .with_context(|| format!("the backup has no {source}"))?;
        Ok(args.dir.join(&entry.file))
    };
    let store = args.stack.store.settings();
    let kafka = args.stack.kafka.settings("wowlogs-restore");
    crate::commands::topics::ensure_defaults(&kafka)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        wowlogs_store::migrate(&store).await.context("migrating ClickHouse")?;
        let client = store.client();
        // Deletions first, before any row or record goes out again: the backup's purged
        // guilds and deleted logs, and whatever this instance deleted since.
        // (Backups from before deletions or purges were recorded have no such file: none then.)
        let optional = |table: &str| file(table).ok();
        let purges =
            restore_rows::<PurgedGuildRow>(&client, optional(PurgedGuildRow::TABLE), &keep, |r| r.guild_id)
                .await?;
        let deleted = wowlogs_store::deletions::all_deleted(&client).await?;
        // A purged guild's rows are never written again, whichever backup holds them.
        let keep = |guild: i64| keep(guild) && !deleted.purged(guild);
        let deletions =
            restore_rows::<DeletedLogRow>(&client, optional(DeletedLogRow::TABLE), &keep, |r| r.guild_id)
                .await?;
        let deleted = wowlogs_store::deletions::all_deleted(&client).await?;
        let guilds: Vec<GuildRow> = read_rows::<GuildRow>(&file(GuildRow::TABLE)?)?
            .into_iter()
            .filter(|g| keep(g.guild_id))
            .collect();
        let keys: Vec<ApiKeyRow> = read_rows::<ApiKeyRow>(&file(ApiKeyRow::TABLE)?)?
            .into_iter()
            .filter(|k| keep(k.guild_id))
            .collect();
        let transfers: Vec<TransferRow> = read_rows::<TransferRow>(&file(TransferRow::TABLE)?)?
            .into_iter()
            .filter(|t| keep(t.guild_id) && !deleted.purged(t.target_guild))
            .collect();
        insert_rows(&client, &guilds).await?;
        insert_rows(&client, &keys).await?;
        insert_rows(&client, &transfers).await?;
        // Backups from before the progress plan have none of its tables.
        let plan_rows = restore_rows::<RosterRow>(&client, optional(RosterRow::TABLE), &keep, |r| r.guild_id)
            .await?
            + restore_rows::<TargetRow>(&client, optional(TargetRow::TABLE), &keep, |r| r.guild_id).await?
            + restore_rows::<MessageRow>(&client, optional(MessageRow::TABLE), &keep, |r| r.guild_id).await?
            + restore_rows::<ProgressSettingsRow>(
                &client,
                optional(ProgressSettingsRow::TABLE),
                &keep,
                |r| r.guild_id,
            )
            .await?;
        println!(
            "restored {} guilds, {} keys, {} transfers, {deletions} deleted logs, {purges} purged guilds, \
             {plan_rows} progress plan rows",
            guilds.len(),
            keys.len(),
            transfers.len(),
        );
        // Every log deleted since (recorded here) or before (in the backup), and every
        // log of a purged guild, stays out.
        let alive = |(guild, log): (GuildId, wowlogs_schemas::LogId)| !deleted.covers(guild.0, log.0);

        let producer: rdkafka::producer::FutureProducer = kafka.producer_config().create()?;
        // Statuses are few: held, to be split around the events.
        let statuses: Vec<UploadStatus> = read_records(&file(UploadStatus::TOPIC.name)?)?
            .filter(|s: &Result<UploadStatus>| {
                s.as_ref().map_or(true, |s| keep(s.guild_id.0) && alive(s.owner()))
            })
            .collect::<Result<_>>()?;
        let is_final = |s: &UploadStatus| matches!(s.state, UploadState::Completed | UploadState::Failed);
        // As a live upload goes: a log's statuses up to its last, its events and dead
        // letters, then its final status.
        let (last, first): (Vec<UploadStatus>, Vec<UploadStatus>) = statuses.into_iter().partition(is_final);
        let mut published = publish_all(&producer, first.into_iter().map(Ok)).await?;
        let mine =
            |r: &Result<CombatEvent>| r.as_ref().map_or(true, |e| keep(e.owner().0.0) && alive(e.owner()));
        published +=
            publish_all(&producer, read_records(&file(CombatEvent::TOPIC.name)?)?.filter(mine)).await?;
        let mine =
            |r: &Result<DeadLetter>| r.as_ref().map_or(true, |l| keep(l.owner().0.0) && alive(l.owner()));
        published +=
            publish_all(&producer, read_records(&file(DeadLetter::TOPIC.name)?)?.filter(mine)).await?;
        published += publish_all(&producer, last.into_iter().map(Ok)).await?;
        println!("published {published} records again; the consumers make every table from them");
        anyhow::Ok(())
    })
}

/// Publishes records with the contract's keys and headers, many in flight at once,
/// reading them as they go; the first record that could not be read or published stops it.
async fn publish_all<T: Record>(
    producer: &rdkafka::producer::FutureProducer,
    records: impl Iterator<Item = Result<T>>,
) -> Result<u64> {
    use futures::StreamExt;
    let codec = Codec::<T>::new()?;
    let sends = futures::stream::iter(records).map(|record| {
        let codec = &codec;
        async move {
            let record = record?;
            wowlogs_kafka::publish(producer, codec, &record, Duration::from_secs(60)).await?;
            anyhow::Ok(())
        }
    });
    let mut outcomes = sends.buffered(1024);
    let mut count = 0;
    while let Some(outcome) = outcomes.next().await {
        outcome?;
        count += 1;
    }
    Ok(count)
}
