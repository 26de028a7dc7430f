//! Is the spooled upload a combat log, and which logs does it hold?

use crate::identity::{LogIdentity, identify};
use std::io::BufRead;
use wowlogs_parser::{InputError, LogReader, ParseOptions, ParsedLine, YearHint, for_each_log};
use wowlogs_schemas::GuildId;

/// Each log in the spooled upload with its identity (a zip's entries are named
/// `archive.zip:entry.txt`); empty when no log of the upload looks like a combat log.
pub(super) fn inspect(
    path: &std::path::Path,
    file_name: &str,
    guild: GuildId,
) -> Result<Vec<(String, LogIdentity)>, String> {
    let open = || std::fs::File::open(path).map_err(|e| e.to_string());
    // Does it look like a combat log? Some event among its first non-blank lines.
    let mut looks_like_a_log = false;
    for_each_log(open()?, |_, input: &mut dyn BufRead| -> Result<(), InputError> {
        if !looks_like_a_log {
            let reader = LogReader::new(input, ParseOptions::new(YearHint::FirstLineIn(2024)));
            looks_like_a_log = reader.take(50).any(|line| matches!(line, Ok(ParsedLine::Event(_))));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if !looks_like_a_log {
        return Ok(Vec::new());
    }
    let mut logs = Vec::new();
    for_each_log(open()?, |entry, input: &mut dyn BufRead| -> Result<(), InputError> {
        let name = entry.map_or_else(|| file_name.to_string(), |entry| format!("{file_name}:{entry}"));
        logs.push((name, identify(guild, input)?));
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(logs)
}
