//! The state directory (SPEC §9): links, the lock, the last-run record and the audit log.
//! Everything in it can be deleted; adsync then falls back to e-mail matching.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use adsync_core::execute::ActionResult;
use adsync_core::plan::{Action, ActionKind, Links};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::output;

/// The run lock; released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockRecord {
    pid: u32,
    started: String,
    command: String,
}

impl Lock {
    /// Takes the lock in `state_dir`, or says who holds it. A lock left by a dead process is
    /// taken over with a warning.
    pub(crate) fn acquire(state_dir: &Path, command: &str, quiet: bool) -> Result<Lock, Error> {
        std::fs::create_dir_all(state_dir).map_err(|source| Error::Write {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join("lock");
        let record = LockRecord {
            pid: std::process::id(),
            started: crate::clock::now(),
            command: command.to_owned(),
        };
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let text = output::json(&record);
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| Error::Write {
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(Lock { path });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<LockRecord> = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| serde_json::from_str(&text).ok());
                    match holder {
                        Some(holder) if process_alive(holder.pid) => {
                            return Err(Error::Locked {
                                path: path.clone(),
                                pid: holder.pid,
                                started: holder.started,
                                command: holder.command,
                            });
                        }
                        holder => {
                            let who = holder.map_or_else(
                                || "an unreadable lock".to_owned(),
                                |h| format!("the lock of pid {} (started {}), which is no longer running", h.pid, h.started),
                            );
                            output::note(quiet, &format!("warning: taking over {who}"));
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(source) => return Err(Error::Write { path, source }),
            }
        }
        Err(Error::Setup(format!(
            "cannot take the lock `{}`",
            path.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether process `pid` is running. Where that cannot be told, it is assumed to be.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Writes `links.json` atomically.
pub(crate) fn write_links(state_dir: &Path, links: &Links) -> Result<(), Error> {
    output::write_atomic(
        &state_dir.join("links.json"),
        output::json(links).as_bytes(),
    )
}

/// The record of the last run, read by `adsync status` and monitors.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LastRun {
    pub(crate) run_id: String,
    pub(crate) command: String,
    pub(crate) started: String,
    pub(crate) finished: String,
    /// `success`, `incomplete`, `refused` or `error`.
    pub(crate) outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) counts: std::collections::BTreeMap<String, u64>,
    /// A `run --dry-run` cycle: it changed nothing, so it never counts as the last success.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dry_run: bool,
    /// When a run last ended in success (carried over from earlier records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_success: Option<String>,
    /// What the directory read was: full (and why) or incremental (and what it found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) directory_read: Option<crate::incremental::DirectoryRead>,
}

/// Writes `last-run.json`, carrying `last_success` over from the previous record, and appends
/// the record to the run log `runs.jsonl` (the service page's history of runs).
pub(crate) fn write_last_run(state_dir: &Path, record: LastRun) -> Result<(), Error> {
    let record = write_last_run_record(state_dir, record)?;
    append_line(
        &state_dir.join(RUN_LOG),
        &serde_json::to_string(&record).unwrap_or_default(),
    )
}

/// The run log: one JSON line per run, appended, never rewritten.
pub(crate) const RUN_LOG: &str = "runs.jsonl";
/// The audit log (SPEC §7).
pub(crate) const AUDIT_LOG: &str = "audit.jsonl";

/// Appends `line` and a newline with one `write` call, flushed.
fn append_line(path: &Path, line: &str) -> Result<(), Error> {
    let mut text = line.to_owned();
    text.push('\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.flush()))
        .map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
}

fn write_last_run_record(state_dir: &Path, mut record: LastRun) -> Result<LastRun, Error> {
    let path = state_dir.join("last-run.json");
    if record.outcome == "success" && !record.dry_run {
        record.last_success = Some(record.finished.clone());
    } else if record.last_success.is_none() {
        record.last_success = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<LastRun>(&text).ok())
            .and_then(|previous| previous.last_success);
    }
    std::fs::create_dir_all(state_dir).map_err(|source| Error::Write {
        path: state_dir.to_owned(),
        source,
    })?;
    output::write_atomic(&path, output::json(&record).as_bytes())?;
    Ok(record)
}

/// The append-only audit log, one flushed JSON line per attempted action.
#[derive(Debug)]
pub(crate) struct Audit {
    path: PathBuf,
    file: std::fs::File,
    run_id: String,
}

impl Audit {
    pub(crate) fn open(state_dir: &Path, run_id: &str) -> Result<Audit, Error> {
        std::fs::create_dir_all(state_dir).map_err(|source| Error::Write {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join(AUDIT_LOG);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Audit {
            path,
            file,
            run_id: run_id.to_owned(),
        })
    }

    /// Appends the line for one finished action. The line is written with one `write` call and
    /// flushed, so a crash leaves whole lines only.
    pub(crate) fn record(&mut self, action: &Action, result: &ActionResult) -> Result<(), Error> {
        let (before, after) = before_after(action);
        let line = serde_json::json!({
            "time": crate::clock::now(),
            "run_id": self.run_id,
            "action": action.id(),
            "kind": action.kind(),
            "email": action.email(),
            "node_id": result.node_id.or(action.node_id()),
            "before": before,
            "after": after,
            "outcome": result.outcome,
            "category": result.category,
            "code": result.code,
            "message": result.message,
        });
        let mut text = line.to_string();
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }
}

fn before_after(action: &Action) -> (serde_json::Value, serde_json::Value) {
    use serde_json::{Map, Value, json};
    let mut before = Map::new();
    let mut after = Map::new();
    match action.kind() {
        ActionKind::CreateGroup => {
            after.insert("group".into(), json!(action.to()));
        }
        ActionKind::CreateUser => {
            after.insert("group".into(), json!(action.to()));
            after.insert("user".into(), json!(action.new_user()));
        }
        ActionKind::MoveUser => {
            before.insert("group".into(), json!(action.from()));
            after.insert("group".into(), json!(action.to()));
            if let Some(role) = action.from_role() {
                before.insert("role".into(), json!(role));
                after.insert("role".into(), json!(action.role()));
            }
        }
        ActionKind::UpdateUser => {
            for (attribute, change) in action.changes().into_iter().flatten() {
                before.insert(attribute.as_str().into(), json!(change.old));
                after.insert(attribute.as_str().into(), json!(change.new));
            }
        }
        ActionKind::EnableUser | ActionKind::DisableUser => {
            let enable = action.kind() == ActionKind::EnableUser;
            before.insert(
                "status".into(),
                json!(if enable { "Disabled" } else { "Enabled" }),
            );
            after.insert(
                "status".into(),
                json!(if enable { "Enabled" } else { "Disabled" }),
            );
            if let Some(mobile) = action.mobile() {
                after.insert("mobile".into(), json!(mobile));
            }
        }
        ActionKind::SetMobileLicense => {
            before.insert("mobile".into(), json!(action.precondition().mobile));
            after.insert("mobile".into(), json!(action.mobile()));
        }
    }
    (Value::Object(before), Value::Object(after))
}
