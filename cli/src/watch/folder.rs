//! The game's log folder: where it is by default, which of its files are combat logs,
//! and reading them while the game writes them.
//!
//! Files are opened for each read and closed at once, shared for reading, writing and
//! deleting: on Windows, Rust's `File::open` asks for `FILE_SHARE_READ |
//! FILE_SHARE_WRITE | FILE_SHARE_DELETE` (the documented default of
//! `std::os::windows::fs::OpenOptionsExt::share_mode`), so the game can always write,
//! rename and delete its log; elsewhere opening never locks a file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where the game writes its logs by default, per OS: `(os, path)`, `~` standing for
/// the home folder. Source: the game's `Logs` folder sits in its installation's
/// `_retail_` (or `_classic_`, `_classic_era_`) folder; the installer's default
/// installation folders are `C:\Program Files (x86)\World of Warcraft` on Windows and
/// `/Applications/World of Warcraft` on macOS (Blizzard's "Install World of Warcraft"
/// support article). On Linux the game runs through Wine; Lutris's installer puts it in
/// `~/Games/world-of-warcraft/drive_c/Program Files (x86)/World of Warcraft`.
pub const DEFAULT_FOLDERS: [(&str, &str); 3] = [
    ("windows", r"C:\Program Files (x86)\World of Warcraft\_retail_\Logs"),
    ("macos", "/Applications/World of Warcraft/_retail_/Logs"),
    ("linux", "~/Games/world-of-warcraft/drive_c/Program Files (x86)/World of Warcraft/_retail_/Logs"),
];

/// The default folder on this OS.
pub fn default_folder() -> PathBuf {
    let path = DEFAULT_FOLDERS
        .iter()
        .find(|(os, _)| *os == std::env::consts::OS)
        .map_or(DEFAULT_FOLDERS[2].1, |(_, path)| path);
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Whether a file name is a combat log the game writes: `WoWCombatLog.txt` (older
/// clients, one file) or `WoWCombatLog-MMDDYY_HHMMSS.txt` (a new file each time logging
/// is switched on).
pub fn is_combat_log(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("wowcombatlog") && lower.ends_with(".txt")
}

/// A combat log in the folder, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub name: String,
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
}

/// The folder's combat logs, oldest written first.
pub fn combat_logs(folder: &Path) -> io::Result<Vec<Seen>> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_combat_log(&name) {
            continue;
        }
        let Ok(metadata) = entry.metadata() else { continue };
        if metadata.is_file() {
            let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            logs.push(Seen { name, path: entry.path(), len: metadata.len(), modified });
        }
    }
    logs.sort_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
    Ok(logs)
}

/// Up to `max` bytes of a file from `offset` (fewer at its end).
pub fn read_range(path: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::with_capacity(max.min(1 << 20));
    file.take(max as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_games_file_names_are_combat_logs_and_nothing_else() {
        for name in ["WoWCombatLog.txt", "WoWCombatLog-120626_201503.txt", "wowcombatlog.TXT"] {
            assert!(is_combat_log(name), "{name}");
        }
        for name in ["WoWCombatLog.zip", "notes.txt", "WoWChatLog.txt", ".wowlogs-watch.json"] {
            assert!(!is_combat_log(name), "{name}");
        }
    }

    #[test]
    fn every_os_has_a_default_folder_ending_in_the_games_logs_folder() {
        for (os, path) in DEFAULT_FOLDERS {
            assert!(path.ends_with("_retail_/Logs") || path.ends_with(r"_retail_\Logs"), "{os}: {path}");
        }
        assert!(default_folder().ends_with("Logs"));
    }

    #[test]
    fn a_range_reads_what_is_there_and_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("WoWCombatLog.txt");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_range(&path, 3, 4).unwrap(), b"3456");
        assert_eq!(read_range(&path, 8, 100).unwrap(), b"89");
        assert_eq!(read_range(&path, 10, 100).unwrap(), b"");
        std::fs::write(dir.path().join("WoWCombatLog-120626_201503.txt"), b"x").unwrap();
        let names: Vec<_> = combat_logs(dir.path()).unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names.len(), 2);
    }
}
