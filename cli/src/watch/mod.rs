//! `wowlogs watch`: follows the game's log folder during a raid and sends each file's
//! new bytes as they are written (to a deployment, or to an analysis on the spot).
//!
//! One state per file (its key, what was sent, what its lines said); a size check of
//! the folder every poll (at least once a second) is the truth of what changed. Each
//! file is read by exact byte ranges from where its destination stands; the
//! destination carries unfinished lines, so a piece may end anywhere. A file that
//! shrinks, or whose first line changes, was re-created and starts over; a file that
//! appears is read from its start. A file is closed (its log completed) when another
//! log file grows after it (the game starts a new file each time logging is switched
//! on) or when it has not grown for `close_after`. What was sent is checkpointed, so a
//! restart goes on where it stopped; an unreachable server is retried with backoff for
//! as long as it takes, the file on disk being the spool of what is not sent yet.

pub mod checkpoint;
pub mod facts;
pub mod folder;
pub mod lines;
pub mod local;
pub mod server;
pub mod sink;

use anyhow::{Context, Result, bail};
use checkpoint::{Checkpoint, FileMark};
use facts::FileFacts;
use folder::{Seen, combat_logs, default_folder, read_range};
use lines::{Line, LineScan};
use sink::{Piece, Sent, Sink};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use wowlogs_producer::identity::{LIVE_KEY_LINE_BYTES, first_line, live_key};

/// How the folder is followed.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    pub folder: PathBuf,
    /// Where what was sent is kept.
    pub checkpoint: PathBuf,
    /// Largest piece sent at once.
    pub chunk_bytes: usize,
    /// Time between two looks at the folder (at most a second).
    pub poll: Duration,
    /// At start, the newest file is followed from its start if written this recently
    /// (a raid in progress); older files are left to `wowlogs import`.
    pub recent: Duration,
    /// A file wholly sent that has not grown for this long is closed.
    pub close_after: Duration,
    /// Nothing written to any followed file for this long is worth a warning.
    pub quiet_after: Duration,
    /// Stop once every file followed is closed (scripts, the demo).
    pub exit_when_done: bool,
}

impl WatchSettings {
    pub fn new(folder: PathBuf, checkpoint: PathBuf) -> Self {
        Self {
            folder,
            checkpoint,
            chunk_bytes: 1 << 20,
            poll: Duration::from_millis(250),
            recent: Duration::from_secs(3600),
            close_after: Duration::from_secs(1800),
            quiet_after: Duration::from_secs(300),
            exit_when_done: false,
        }
    }
}

/// Where the watcher says what happens.
pub trait Reporter {
    /// Something worth a line of its own (a file followed, a problem and what to do).
    fn say(&mut self, text: &str);
    /// The one-line status, replaced as it changes.
    fn status(&mut self, text: &str);
}

/// One file followed.
struct Followed {
    name: String,
    path: PathBuf,
    key: Option<String>,
    /// Where the next piece starts: what the destination has taken.
    offset: u64,
    /// How far the lines were read for `facts`.
    scanned: u64,
    scan: LineScan,
    facts: FileFacts,
    len: u64,
    modified: SystemTime,
    last_growth: Instant,
    closed: bool,
    refused: bool,
    retry_at: Option<Instant>,
    /// Since when the file is missing from the folder.
    gone: Option<Instant>,
}

/// How long a followed file may be missing before it counts as deleted (a file being
/// re-created is missing for a moment).
const GONE_AFTER: Duration = Duration::from_secs(10);

impl Followed {
    fn new(seen: &Seen, mark: Option<&FileMark>) -> Self {
        let offset = mark.map_or(0, |m| m.offset);
        Self {
            name: seen.name.clone(),
            path: seen.path.clone(),
            key: mark.map(|m| m.key.clone()),
            offset,
            scanned: offset,
            scan: LineScan::default(),
            facts: FileFacts::default(),
            // A closed file is known whole; any other is looked at afresh.
            len: if mark.is_some_and(|m| m.closed) { seen.len } else { 0 },
            modified: seen.modified,
            last_growth: Instant::now(),
            closed: mark.is_some_and(|m| m.closed),
            refused: false,
            retry_at: None,
            gone: None,
        }
    }

    /// The file was re-created: it starts over, with the key of its new first line.
    fn start_over(&mut self, key: Option<String>) {
        *self = Self { key, ..Self::new(&self.seen(), None) };
    }

    fn seen(&self) -> Seen {
        Seen { name: self.name.clone(), path: self.path.clone(), len: self.len, modified: self.modified }
    }

    /// Reads the lines of a piece taken from `offset` that were not read yet.
    fn read_lines(&mut self, offset: u64, bytes: &[u8]) {
        let end = offset + bytes.len() as u64;
        if end <= self.scanned {
            return;
        }
        if offset > self.scanned {
            self.scan = LineScan::default();
            self.scanned = offset;
        }
        let facts = &mut self.facts;
        self.scan.feed(&bytes[(self.scanned - offset) as usize..], |line| facts.line(&line));
        self.scanned = end;
    }

    fn behind(&self) -> u64 {
        self.len.saturating_sub(self.offset)
    }
}

/// The watcher's state over the whole folder.
struct Watcher<'a> {
    settings: &'a WatchSettings,
    sink: &'a mut dyn Sink,
    report: &'a mut dyn Reporter,
    files: BTreeMap<String, Followed>,
    /// Files present at start and left alone, with their length then.
    left: BTreeMap<String, u64>,
    said: HashSet<String>,
    started: Instant,
    last_growth: Instant,
    unreachable: Option<String>,
    checkpoint: Checkpoint,
    saved: Instant,
    dirty: bool,
}

/// Follows the folder until stopped (or, with `exit_when_done`, until every file
/// followed is closed). Fails when the folder is not there, the server refuses the key,
/// or the checkpoint cannot be read.
pub fn watch(settings: &WatchSettings, sink: &mut dyn Sink, report: &mut dyn Reporter) -> Result<()> {
    if !settings.folder.is_dir() {
        bail!(
            "{} is not a folder. Pass the game's Logs folder (here by default: {}); the game creates it \
             the first time logging is switched on (type /combatlog in the game)",
            settings.folder.display(),
            default_folder().display()
        );
    }
    let checkpoint = Checkpoint::load(&settings.checkpoint)?;
    let now = Instant::now();
    let mut watcher = Watcher {
        settings,
        sink,
        report,
        files: BTreeMap::new(),
        left: BTreeMap::new(),
        said: HashSet::new(),
        started: now,
        last_growth: now,
        unreachable: None,
        checkpoint,
        saved: now,
        dirty: false,
    };
    watcher.first_look()?;
    loop {
        watcher.look()?;
        if settings.exit_when_done && !watcher.files.is_empty() && watcher.files.values().all(|f| f.closed) {
            watcher.save();
            return Ok(());
        }
        std::thread::sleep(settings.poll.min(Duration::from_secs(1)));
    }
}

impl Watcher<'_> {
    fn say_once(&mut self, topic: &str, text: &str) {
        if self.said.insert(topic.to_string()) {
            self.report.say(text);
        }
    }

    /// At start: files of the checkpoint go on where they were; the newest file, if
    /// written recently, is followed from its start; the others are left alone.
    fn first_look(&mut self) -> Result<()> {
        let seen = combat_logs(&self.settings.folder)
            .with_context(|| format!("reading {}", self.settings.folder.display()))?;
        let newest = seen.last().cloned();
        for log in &seen {
            let mark = self.checkpoint.files.get(&log.name).cloned();
            let recent = newest.as_ref() == Some(log)
                && log.modified.elapsed().unwrap_or_default() <= self.settings.recent;
            if mark.is_some() || recent {
                let followed = Followed::new(log, mark.as_ref());
                if !followed.closed {
                    self.report.say(&format!("following {} from byte {}", log.name, followed.offset));
                }
                self.files.insert(log.name.clone(), followed);
            } else {
                self.left.insert(log.name.clone(), log.len);
            }
        }
        if !self.left.is_empty() {
            self.report.say(&format!(
                "{} older combat logs in {} are left alone (send them with `wowlogs import` or an upload)",
                self.left.len(),
                self.settings.folder.display()
            ));
        }
        if let Some(newest) = newest.filter(|n| !self.files.contains_key(&n.name)) {
            let hours = newest.modified.elapsed().unwrap_or_default().as_secs_f64() / 3600.0;
            self.say_once(
                "stale",
                &format!(
                    "the newest combat log, {}, was last written {hours:.1} h ago: is logging on? Type \
                     /combatlog in the game (it starts a new file, followed from its first line)",
                    newest.name
                ),
            );
        }
        Ok(())
    }

    /// One look at the folder: new files, growth, pieces sent, files closed.
    fn look(&mut self) -> Result<()> {
        let seen = match combat_logs(&self.settings.folder) {
            Ok(seen) => seen,
            Err(error) => {
                self.say_once("folder", &format!("cannot read {}: {error}", self.settings.folder.display()));
                return Ok(());
            }
        };
        for log in &seen {
            let grew_while_left = self.left.get(&log.name).is_some_and(|len| log.len != *len);
            if grew_while_left {
                self.left.remove(&log.name);
            }
            if !self.files.contains_key(&log.name) && !self.left.contains_key(&log.name) {
                self.report.say(&format!("following {} from its start", log.name));
                self.files.insert(log.name.clone(), Followed::new(log, None));
            }
        }
        let names: Vec<String> = self.files.keys().cloned().collect();
        for name in &names {
            match seen.iter().find(|s| &s.name == name) {
                Some(log) => {
                    self.files.get_mut(name).expect("followed").gone = None;
                    self.step(name, log)?
                }
                None => {
                    // Gone for a moment may be a file being re-created; gone for longer,
                    // it was deleted or renamed.
                    let file = self.files.get_mut(name).expect("followed");
                    let gone = *file.gone.get_or_insert_with(Instant::now);
                    if !file.closed && gone.elapsed() >= GONE_AFTER {
                        file.closed = true;
                        let behind = file.behind();
                        self.report
                            .say(&format!("{name} was deleted or renamed ({behind} bytes were not sent)"));
                    }
                }
            }
        }
        self.close_finished()?;
        self.warn_when_quiet(&seen);
        self.show_status();
        if self.dirty && self.saved.elapsed() >= Duration::from_secs(1) {
            self.save();
        }
        Ok(())
    }

    /// Follows one file: re-creation, growth, and what is not sent yet.
    fn step(&mut self, name: &str, log: &Seen) -> Result<()> {
        let file = self.files.get_mut(name).expect("followed");
        let grew = log.len != file.len;
        if log.len < file.offset.max(file.scanned) {
            file.start_over(None);
            self.report.say(&format!("{name} was re-created: following it from its start"));
        }
        let file = self.files.get_mut(name).expect("followed");
        if grew || file.key.is_none() {
            let start = read_range(&log.path, 0, LIVE_KEY_LINE_BYTES).unwrap_or_default();
            if let Some(line) = first_line(&start) {
                let key = live_key(line);
                match &file.key {
                    None => {
                        file.key = Some(key);
                        file.facts.line(&Line { number: 1, bytes: line, truncated: false });
                    }
                    Some(known) if *known != key => {
                        file.start_over(Some(key));
                        file.facts.line(&Line { number: 1, bytes: line, truncated: false });
                        self.report.say(&format!("{name} was re-created: following it from its start"));
                    }
                    Some(_) => {}
                }
            }
        }
        let key = self.files[name].key.clone();
        let copy_of =
            self.files.values().find(|f| f.name != name && f.key.is_some() && f.key == key && !f.refused);
        if let Some(original) = copy_of.map(|f| f.name.clone()) {
            let file = self.files.get_mut(name).expect("followed");
            if !file.refused {
                file.refused = true;
                self.report.say(&format!("{name} starts as {original} does (a copy?): it is not sent"));
            }
            return Ok(());
        }
        let file = self.files.get_mut(name).expect("followed");
        if grew {
            file.len = log.len;
            file.modified = log.modified;
            file.last_growth = Instant::now();
            self.last_growth = Instant::now();
        }
        let (closed, advanced) = (file.closed, file.facts.advanced);
        if grew && closed {
            let text = format!(
                "{name} grew after its log was completed: upload the whole file once the game has closed it"
            );
            self.say_once(&format!("grown:{name}"), &text);
        }
        if advanced == Some(false) {
            let text = format!(
                "{name} is written with advanced combat logging off: boss health, positions and some \
                 numbers are missing. Turn on System > Network > Advanced Combat Logging in the game, \
                 then type /combatlog twice"
            );
            self.say_once(&format!("advanced:{name}"), &text);
        }
        self.send(name)
    }

    /// Sends what a file has that its destination has not (a few pieces per look).
    fn send(&mut self, name: &str) -> Result<()> {
        for _ in 0..8 {
            let file = self.files.get_mut(name).expect("followed");
            let Some(key) = file.key.clone() else { return Ok(()) };
            if file.closed || file.refused || file.offset >= file.len {
                return Ok(());
            }
            if file.retry_at.is_some_and(|at| Instant::now() < at) {
                return Ok(());
            }
            let bytes = match read_range(&file.path, file.offset, self.settings.chunk_bytes) {
                Ok(bytes) => bytes,
                // Deleted or re-created between the look and the read: the next look says.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => {
                    let text = format!("cannot read {}: {error} (trying again)", file.path.display());
                    self.say_once(&format!("read:{name}"), &text);
                    return Ok(());
                }
            };
            if bytes.is_empty() {
                return Ok(());
            }
            let offset = file.offset;
            let sent = self.sink.send(Piece { name, key: &key, offset, bytes: &bytes })?;
            if !matches!(sent, Sent::Retry { .. })
                && let Some(why) = self.unreachable.take()
            {
                self.report.say(&format!("sending again (it was: {why})"));
            }
            let file = self.files.get_mut(name).expect("followed");
            match sent {
                Sent::Next(next) => {
                    let taken = next.clamp(offset, offset + bytes.len() as u64) - offset;
                    file.read_lines(offset, &bytes[..taken as usize]);
                    file.offset = next;
                    file.retry_at = None;
                    self.dirty = true;
                }
                Sent::Closed => {
                    file.closed = true;
                    self.dirty = true;
                    self.report
                        .say(&format!("{name}: its log is complete on the server; nothing more is sent"));
                }
                Sent::Retry { after, why } => {
                    file.retry_at = Some(Instant::now() + after);
                    if self.unreachable.is_none() {
                        self.report.say(&format!(
                            "{why}; the log is kept on disk and sent when it is back (retrying)"
                        ));
                    }
                    self.unreachable = Some(why);
                    return Ok(());
                }
                Sent::Refused(why) => {
                    file.refused = true;
                    self.report.say(&format!("{name} is refused: {why}"));
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Closes the files wholly sent that the game is done with: another log file grew
    /// after them, or they have not grown for `close_after`.
    fn close_finished(&mut self) -> Result<()> {
        let newest_growth = self.files.values().map(|f| f.last_growth).max();
        let names: Vec<String> = self.files.keys().cloned().collect();
        for name in names {
            let file = &self.files[&name];
            let Some(key) = file.key.clone() else { continue };
            if file.closed || file.refused || file.offset < file.len || file.len == 0 {
                continue;
            }
            if file.retry_at.is_some_and(|at| Instant::now() < at) {
                continue;
            }
            let superseded = newest_growth.is_some_and(|newest| newest > file.last_growth)
                && self
                    .files
                    .values()
                    .any(|other| other.name != name && other.last_growth > file.last_growth);
            if !superseded && file.last_growth.elapsed() < self.settings.close_after {
                continue;
            }
            let bytes = file.offset;
            match self.sink.close(&name, &key, bytes)? {
                Sent::Closed => {
                    let file = self.files.get_mut(&name).expect("followed");
                    file.closed = true;
                    // A file whose last line has no newline: its last line is read now.
                    let facts = &mut file.facts;
                    file.scan.finish(|line| facts.line(&line));
                    self.dirty = true;
                    let pulls = file.facts.pulls;
                    self.report.say(&format!("{name} is complete: {pulls} pulls"));
                }
                Sent::Next(next) => self.files.get_mut(&name).expect("followed").offset = next,
                Sent::Retry { after, .. } => {
                    self.files.get_mut(&name).expect("followed").retry_at = Some(Instant::now() + after)
                }
                Sent::Refused(why) => {
                    self.files.get_mut(&name).expect("followed").refused = true;
                    self.report.say(&format!("{name} could not be closed: {why}"));
                }
            }
        }
        Ok(())
    }

    /// Says once when no log appears, or when nothing is written any more.
    fn warn_when_quiet(&mut self, seen: &[Seen]) {
        if seen.is_empty() && self.started.elapsed() >= Duration::from_secs(60) {
            let text = format!(
                "no combat log in {} yet: type /combatlog in the game to start logging; if it is on, this is \
                 not the game's Logs folder",
                self.settings.folder.display()
            );
            self.say_once("no-logs", &text);
        }
        let following = self.files.values().any(|f| !f.closed);
        if following && self.last_growth.elapsed() >= self.settings.quiet_after {
            let minutes = self.settings.quiet_after.as_secs() / 60;
            let text = format!(
                "nothing written to the combat log for {minutes} min: is logging still on (/combatlog)? \
                 (the game writes its log late and in blocks, and a break is quiet too)"
            );
            self.say_once("quiet", &text);
        } else if self.last_growth.elapsed() < self.settings.quiet_after {
            self.said.remove("quiet");
        }
    }

    fn show_status(&mut self) {
        let current = self.files.values().filter(|f| !f.closed).max_by_key(|f| f.last_growth);
        let text = match current {
            None => format!("watching {} for a combat log", self.settings.folder.display()),
            Some(file) => {
                let mut parts = vec![file.name.clone(), format!("{} pulls", file.facts.pulls)];
                if let Some(boss) = &file.facts.pulling {
                    parts.push(format!("pulling {boss}"));
                } else if let Some(last) = &file.facts.last_pull {
                    parts.push(format!("last: {last}"));
                }
                let behind: u64 = self.files.values().map(Followed::behind).sum();
                parts.push(format!("{} behind", bytesize::ByteSize(behind)));
                if self.unreachable.is_some() {
                    parts.push("server unreachable, retrying".into());
                }
                parts.join(" · ")
            }
        };
        self.report.status(&text);
    }

    fn save(&mut self) {
        for file in self.files.values() {
            if let Some(key) = &file.key {
                let mark = FileMark { key: key.clone(), offset: file.offset, closed: file.closed };
                self.checkpoint.files.insert(file.name.clone(), mark);
            }
        }
        match self.checkpoint.save(&self.settings.checkpoint) {
            Ok(()) => {
                self.dirty = false;
                self.saved = Instant::now();
            }
            Err(error) => {
                let text =
                    format!("cannot write the checkpoint {}: {error}", self.settings.checkpoint.display());
                self.say_once("checkpoint", &text);
            }
        }
    }
}
