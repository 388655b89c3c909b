//! What a run leaves for the next one to clean up (see `rollback.rs`), and the file the CLI
//! keeps it in.
//!
//! For the CLI, after every apply against Rescue:
//!
//! ```text
//! let path = state_dir.join(ORPHANS_FILE);
//! let target = target.with_orphans(load_orphans(&path)?);   // before the run's actions
//! ... apply ...
//! target.clean_up_orphans().await;                          // after them
//! save_orphans(&path, &target.orphans())?;
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use adsync_core::model::NodeId;
use serde::{Deserialize, Serialize};

/// An empty node adsync made and could neither fill nor delete, or a create whose outcome it
/// could not check. Serializable, for the CLI's state directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orphan {
    /// The parent the create was sent under.
    pub parent: NodeId,
    /// The node; `None` for a create whose outcome could not be checked (its id is unknown).
    pub node: Option<NodeId>,
    /// Whether it is a group (`createGroup`) rather than a user (`createUser`).
    pub group: bool,
}

/// The name of the orphans file in the state directory.
pub const ORPHANS_FILE: &str = "rescue-orphans.json";

/// The largest orphans file read: far beyond any real list, well short of a memory problem.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why the orphans file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OrphanFileError {
    /// Reading or writing failed.
    #[error("could not {doing} {}", path.display())]
    Io {
        /// `read` or `write`.
        doing: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a list of orphans.
    #[error(
        "{} is not adsync's list of empty Rescue nodes ({why}); it only lists nodes for adsync \
         to clean up, so moving it aside is safe (those nodes then stay until removed by hand)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, without quoting the file.
        why: String,
    },
}

/// The orphans recorded at `path`; none when the file does not exist.
pub fn load_orphans(path: &Path) -> Result<Vec<Orphan>, OrphanFileError> {
    let io = |source| OrphanFileError::Io {
        doing: "read",
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io(error)),
    };
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    let corrupt = |why: String| OrphanFileError::Corrupt {
        path: path.to_owned(),
        why,
    };
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(corrupt(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    serde_json::from_str(&text).map_err(|error| {
        corrupt(format!(
            "line {}, column {}: {:?}",
            error.line(),
            error.column(),
            error.classify()
        ))
    })
}

/// Writes `orphans` to `path` (a temporary file renamed over it, owner-only on Unix); removes
/// the file when there are none.
pub fn save_orphans(path: &Path, orphans: &[Orphan]) -> Result<(), OrphanFileError> {
    let io = |source| OrphanFileError::Io {
        doing: "write",
        path: path.to_owned(),
        source,
    };
    if orphans.is_empty() {
        return match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(error)),
            _ => Ok(()),
        };
    }
    let mut text = serde_json::to_string_pretty(orphans).map_err(|error| io(error.into()))?;
    text.push('\n');
    let temporary = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "adsync-rescue-orphans-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir.join(ORPHANS_FILE)
    }

    #[test]
    fn orphans_round_trip_and_an_empty_list_removes_the_file() {
        let path = scratch("round-trip");
        assert_eq!(load_orphans(&path).expect("none yet"), []);
        let orphans = [
            Orphan {
                parent: NodeId(11),
                node: Some(NodeId(555)),
                group: false,
            },
            Orphan {
                parent: NodeId(10),
                node: None,
                group: true,
            },
        ];
        save_orphans(&path, &orphans).expect("saved");
        assert_eq!(load_orphans(&path).expect("read"), orphans);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("a file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        save_orphans(&path, &[]).expect("emptied");
        assert!(!path.exists());
        save_orphans(&path, &[]).expect("nothing to remove");
        let _ = std::fs::remove_dir_all(path.parent().expect("a directory"));
    }

    #[test]
    fn a_corrupt_or_huge_file_is_an_error_naming_it_and_what_to_do() {
        let path = scratch("corrupt");
        for bad in [
            "not json".to_owned(),
            r#"[{"parent": 1, "node": null, "group": false, "extra": 1}]"#.to_owned(),
            r#"[{"parent": -1, "node": null, "group": false}]"#.to_owned(),
            format!("[{}]", " ".repeat(2 << 20)),
        ] {
            std::fs::write(&path, &bad).expect("written");
            let error = load_orphans(&path).expect_err("refused").to_string();
            assert!(error.contains(ORPHANS_FILE), "{error}");
            assert!(error.contains("moving it aside is safe"), "{error}");
            assert!(!error.contains("not json") || bad != "not json", "{error}");
        }
        let _ = std::fs::remove_dir_all(path.parent().expect("a directory"));
    }
}
