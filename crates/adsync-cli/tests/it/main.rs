//! End-to-end tests of the real `adsync` binary: exit code, stdout and stderr together.

mod apply;
mod browser;
mod config_errors;
mod crash;
mod demo;
mod dry_run;
mod e2e_apply;
mod e2e_attributes;
mod e2e_commands;
mod e2e_errors;
pub(crate) mod e2e_goto;
mod e2e_incremental;
mod e2e_ldap;
mod e2e_run;
mod e2e_secrets;
mod e2e_service;
mod echoed_secrets;
mod emulated;
mod goto_login;
mod goto_saved_plans;
mod hostile_state;
mod lock_race;
mod operator;
mod saved_plans;
mod secrets;
mod service;
mod terminal;
mod transport;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The outcome of one run, as a snapshot-friendly text.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `adsync` with `args` in `dir`, with a clean environment except `env`.
pub(crate) fn adsync(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_adsync"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the adsync binary runs");
    let root = repo_root();
    let scrub = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace(&dir.display().to_string(), "[DIR]")
            .replace(&root.display().to_string(), "[ROOT]")
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: scrub(&output.stdout),
        stderr: scrub(&output.stderr),
    }
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// A fresh, empty folder for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-it")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder can be made");
    dir
}

/// Copies a fixture folder into a fresh scratch folder and returns the copy.
pub(crate) fn copy_fixture(fixture: &str, name: &str) -> PathBuf {
    let from = repo_root().join("fixtures").join(fixture);
    let to = scratch(name);
    for entry in std::fs::read_dir(&from).expect("fixture folder") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copied");
        }
    }
    to
}
