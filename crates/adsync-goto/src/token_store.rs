//! Where the refresh token lives between runs: a file only its owner can read, replaced
//! atomically whenever GoTo hands out a new token.
//!
//! This is the one file adsync-goto reads and writes itself (the CLI reads every other file):
//! a rotated refresh token must be stored at the moment the refresh returns it, in the middle of
//! a run, or the next run signs in with a token GoTo no longer accepts.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use adsync_core::secret::Secret;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Keeps the refresh token.
pub trait RefreshTokenStore: Send + Sync + fmt::Debug {
    /// The stored token.
    fn load(&self) -> Result<Secret, Error>;
    /// Replaces the stored token, atomically.
    fn save(&self, token: &Secret) -> Result<(), Error>;
    /// How to name the store in messages (`file .adsync/goto-token.json`).
    fn describe(&self) -> String;
}

/// The on-disk layout: a small JSON object, so fields can be added later.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    format: u32,
    refresh_token: std::borrow::Cow<'a, str>,
}

/// A refresh token in a file with owner-only permissions (0600 on Unix).
#[derive(Clone, Debug)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// The token file at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> TokenFile {
        TokenFile { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: impl Into<String>) -> Error {
        Error::TokenFile {
            path: self.path.display().to_string(),
            what: what.into(),
        }
    }

    #[cfg(unix)]
    fn check_private(&self, metadata: &std::fs::Metadata) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(self.error(format!(
                "is readable by other users (mode {mode:04o}); it holds a secret, so adsync \
                 refuses it: run `chmod 600` on it, or sign in again"
            )));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_private(&self, _metadata: &std::fs::Metadata) -> Result<(), Error> {
        Ok(())
    }

    fn temp_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "goto-token".to_owned());
        let dir = self.directory();
        dir.join(format!(
            ".{name}.{}.{:08x}.tmp",
            std::process::id(),
            fastrand::u32(..)
        ))
    }

    fn directory(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    fn write_private(temp: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

impl RefreshTokenStore for TokenFile {
    fn load(&self) -> Result<Secret, Error> {
        let metadata = std::fs::metadata(&self.path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                self.error("does not exist: no one has signed in yet")
            } else {
                self.error(format!("cannot be read: {error}"))
            }
        })?;
        self.check_private(&metadata)?;
        let bytes =
            std::fs::read(&self.path).map_err(|e| self.error(format!("cannot be read: {e}")))?;
        // The parse error is not echoed: serde quotes values, and this file holds a secret.
        let stored: Stored<'_> = serde_json::from_slice(&bytes).map_err(|_| {
            self.error("is not a goto token file (expected JSON with `format` and `refresh_token`)")
        })?;
        if stored.format != 1 {
            return Err(self.error(format!(
                "has format {}, which this adsync does not know",
                stored.format
            )));
        }
        if stored.refresh_token.trim().is_empty() {
            return Err(self.error("holds an empty `refresh_token`"));
        }
        Ok(Secret::new(stored.refresh_token.into_owned()))
    }

    fn save(&self, token: &Secret) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(&Stored {
            format: 1,
            refresh_token: token.expose().into(),
        })
        .map_err(|e| self.error(format!("cannot be encoded: {e}")))?;
        let dir = self.directory();
        std::fs::create_dir_all(&dir)
            .map_err(|e| self.error(format!("cannot be written (its folder: {e})")))?;
        let temp = self.temp_path();
        let written = TokenFile::write_private(&temp, &bytes)
            .and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(self.error(format!("cannot be written: {error}")));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file `{}`", self.path.display())
    }
}

/// A refresh token kept in memory (embedding, tests).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    token: Mutex<Option<Secret>>,
    saves: Mutex<usize>,
}

impl MemoryTokenStore {
    /// A store holding `token`.
    pub fn new(token: Secret) -> MemoryTokenStore {
        MemoryTokenStore {
            token: Mutex::new(Some(token)),
            saves: Mutex::new(0),
        }
    }

    /// How many times a token was saved.
    pub fn saves(&self) -> usize {
        *self
            .saves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The token held now.
    pub fn current(&self) -> Option<Secret> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl RefreshTokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Secret, Error> {
        self.current().ok_or_else(|| Error::TokenFile {
            path: "(memory)".to_owned(),
            what: "holds no token".to_owned(),
        })
    }

    fn save(&self, token: &Secret) -> Result<(), Error> {
        *self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
        *self
            .saves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}
