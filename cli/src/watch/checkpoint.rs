//! What `wowlogs watch` has sent, kept on disk so that a restart neither sends a file
//! again nor skips one: each file's key and the offset its destination has taken.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One file's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// The hex SHA-256 of its first line: a file re-created under the same name has
    /// another.
    pub key: String,
    /// Bytes its destination has taken.
    pub offset: u64,
    /// Its log is complete.
    pub closed: bool,
}

/// See the module's documentation.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub files: BTreeMap<String, FileMark>,
}

impl Checkpoint {
    /// The checkpoint at `path`; empty when there is none yet.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("{} is not a watch checkpoint ({e}); move it away", path.display())
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(anyhow::anyhow!("reading {}: {error}", path.display())),
        }
    }

    /// Writes it whole, atomically (a crash leaves the old one or the new one).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        std::fs::rename(partial, path)
    }
}

/// Where the checkpoint of watching `folder` into `destination` lives by default: the
/// user's state folder (`$XDG_STATE_HOME`, `~/.local/state`; `%LOCALAPPDATA%` on
/// Windows; `~/Library/Application Support` on macOS), one file per folder and
/// destination.
pub fn default_path(folder: &Path, destination: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let env = |name| std::env::var_os(name).map(PathBuf::from);
    let base = match std::env::consts::OS {
        "windows" => env("LOCALAPPDATA"),
        "macos" => env("HOME").map(|h| h.join("Library/Application Support")),
        _ => env("XDG_STATE_HOME").or_else(|| env("HOME").map(|h| h.join(".local/state"))),
    }
    .unwrap_or_else(std::env::temp_dir);
    let mut hasher = Sha256::new();
    hasher.update(folder.to_string_lossy().as_bytes());
    hasher.update(b"\0");
    hasher.update(destination.as_bytes());
    let id = hex::encode(&hasher.finalize()[..8]);
    base.join("wowlogs").join(format!("watch-{id}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_comes_back_as_it_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/watch.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let mut checkpoint = Checkpoint::default();
        checkpoint
            .files
            .insert("WoWCombatLog.txt".into(), FileMark { key: "ab".into(), offset: 42, closed: false });
        checkpoint.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), checkpoint);
        std::fs::write(&path, b"{").unwrap();
        assert!(Checkpoint::load(&path).unwrap_err().to_string().contains("not a watch checkpoint"));
    }

    #[test]
    fn each_folder_and_destination_has_its_own_checkpoint() {
        let a = default_path(Path::new("/logs"), "https://a");
        assert_ne!(a, default_path(Path::new("/logs"), "https://b"));
        assert_ne!(a, default_path(Path::new("/other"), "https://a"));
        assert!(a.to_string_lossy().contains("wowlogs"));
    }
}
