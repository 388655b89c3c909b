//! The state directory (SPEC §9): links, the lock, the last-run record and the audit log.
//! Everything in it can be deleted; adsync then falls back to e-mail matching.

use std::io::Write;
use std::path::{Path, PathBuf};

use adsync_core::execute::ActionResult;
use adsync_core::plan::{Action, ActionKind, Links};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::output;

/// The run lock: an OS file lock (`flock` on Unix, `LockFileEx` on Windows) on the file `lock`
/// in the state directory, held for the whole run; released when dropped.
///
/// The kernel releases the lock when its holder exits, however it exits, so a lock that can be
/// taken is by construction not held by a live run: a record left by a crashed run (or one naming
/// a reused pid) is taken over with a warning, and a record still being written belongs to a
/// holder that has the OS lock, so it is never mistaken for a stale one. Nothing ever removes a
/// lock file it does not hold.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
    /// Holds the OS lock; dropped (unlocked) after the path is removed.
    file: std::fs::File,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockRecord {
    pid: u32,
    started: String,
    command: String,
}

/// Attempts at the lock before giving up when holders keep releasing it under us.
const LOCK_ATTEMPTS: usize = 16;

impl Lock {
    /// Takes the lock in `state_dir`, or says who holds it. A lock left by a run that is gone is
    /// taken over with a warning.
    pub(crate) fn acquire(state_dir: &Path, command: &str, quiet: bool) -> Result<Lock, Error> {
        output::create_private_dir(state_dir)?;
        tighten(state_dir, quiet)?;
        let path = state_dir.join("lock");
        let write_error = |source| Error::Write {
            path: path.clone(),
            source,
        };
        for _ in 0..LOCK_ATTEMPTS {
            let file = output::private_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(write_error)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(held(&path)),
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(Error::Setup(format!(
                        "cannot lock `{}`: {source} (the state directory needs a file system \
                         with file locks)",
                        path.display()
                    )));
                }
            }
            // The previous holder may have removed the path between our open and our lock: the
            // file we locked is then no longer the lock, so start again.
            if !same_file(&file, &path) {
                continue;
            }
            let lock = Lock::write_record(path, file, command, quiet)?;
            set_aside_corrupt(state_dir)?;
            return Ok(lock);
        }
        Err(Error::Setup(format!(
            "cannot take the lock `{}`: it kept changing hands",
            path.display()
        )))
    }

    /// Reports any record a gone holder left, then writes ours over it.
    fn write_record(
        path: PathBuf,
        mut file: std::fs::File,
        command: &str,
        quiet: bool,
    ) -> Result<Lock, Error> {
        use std::io::{Read, Seek};
        let mut previous = String::new();
        let _ = (&file).take(64 * 1024).read_to_string(&mut previous);
        if !previous.trim().is_empty() {
            let who = serde_json::from_str::<LockRecord>(&previous).map_or_else(
                |_| "an unreadable lock left by a run that is gone".to_owned(),
                |h| {
                    format!(
                        "the lock of pid {} (started {}), which is no longer running",
                        h.pid, h.started
                    )
                },
            );
            output::note(quiet, &format!("warning: taking over {who}"));
        }
        let record = LockRecord {
            pid: std::process::id(),
            started: crate::clock::now(),
            command: command.to_owned(),
        };
        let text = output::json(&record);
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Lock { path, file })
    }
}

/// Takes group and other access away from the state directory (0700 on Unix): it holds the
/// audit log and links, which name people. A directory an older adsync created 0755 is
/// tightened when a run takes the lock; a directory that also holds other things (the
/// configuration's own folder, say) is left as it is, with a warning.
fn tighten(dir: &Path, quiet: bool) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let write_error = |source| Error::Write {
            path: dir.to_owned(),
            source,
        };
        let mode = std::fs::metadata(dir)
            .map_err(write_error)?
            .permissions()
            .mode();
        if mode & 0o077 == 0 {
            return Ok(());
        }
        if holds_state_only(dir) {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(write_error)?;
        } else {
            output::note(
                quiet,
                &format!(
                    "warning: the state directory `{}` can be read by others (mode {:o}) and \
                     holds more than adsync's files, so adsync leaves its mode alone; give \
                     adsync a directory of its own (`sync.state_dir`)",
                    dir.display(),
                    mode & 0o777
                ),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, quiet);
    Ok(())
}

/// Whether `dir` holds nothing but files adsync writes there (JSON, JSON Lines, the lock,
/// temporary and set-aside files): at most a few hundred of them.
#[cfg(unix)]
fn holds_state_only(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut count = 0;
    for entry in entries {
        count += 1;
        let Ok(entry) = entry else { return false };
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == "lock"
            || [".json", ".jsonl", ".tmp"]
                .iter()
                .any(|end| name.ends_with(end))
            || name.contains(".corrupt");
        if count > 512 || !ours || !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            return false;
        }
    }
    true
}

/// Sets a corrupt `links.json` aside (renamed beside itself, never deleted) and stops the run
/// with an error saying so; the next run starts without links and writes new ones. Only a run
/// holding the lock does this: a file being replaced by the holder is never moved.
fn set_aside_corrupt(state_dir: &Path) -> Result<(), Error> {
    let path = state_dir.join(crate::load::LINKS);
    let Err(problem) = crate::load::read_state::<Links>(&path) else {
        return Ok(());
    };
    let aside = state_dir.join(format!(
        "{}.corrupt-{}",
        crate::load::LINKS,
        crate::clock::compact(std::time::SystemTime::now())
    ));
    std::fs::rename(&path, &aside).map_err(|source| Error::Write {
        path: aside.clone(),
        source,
    })?;
    Err(Error::StateFile {
        path,
        problem,
        set_aside: Some(aside),
    })
}

/// The error for a lock another run holds, naming it when its record is written. A holder
/// that is just starting writes its record within moments: it is given 200 ms to.
fn held(path: &Path) -> Error {
    let read = || {
        let file = std::fs::File::open(path).ok()?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(file, 64 * 1024), &mut text).ok()?;
        serde_json::from_str::<LockRecord>(&text).ok()
    };
    let mut record = read();
    for _ in 0..20 {
        if record.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        record = read();
    }
    match record {
        Some(holder) => Error::Locked {
            path: path.to_owned(),
            pid: holder.pid,
            started: holder.started,
            command: holder.command,
        },
        None => Error::LockStarting {
            path: path.to_owned(),
        },
    }
}

/// Whether `path` still names the file `file` is open on.
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Windows does not remove a file another process has open, so the path cannot change under us.
#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, then unlocked: a run that opened the old file and locks it
        // afterwards sees that the path no longer names it and starts again.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
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
    let mut text = output::redact(line).into_owned();
    text.push('\n');
    output::private_options()
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
    output::create_private_dir(state_dir)?;
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
        output::create_private_dir(state_dir)?;
        let path = state_dir.join(AUDIT_LOG);
        let file = output::private_options()
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
        let mut text = output::redact(&line.to_string()).into_owned();
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("adsync-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    }

    const STALE: &str =
        r#"{"pid": 4194999, "started": "2026-11-21T09:00:00.000Z", "command": "apply"}"#;

    /// Many runs started at once against a stale lock, many times: exactly one takes it, every
    /// other one is told who holds it, and the lock file is gone once the holder is done.
    #[test]
    fn exactly_one_of_many_simultaneous_runs_takes_a_stale_lock() {
        const RUNS: usize = 12;
        let dir = dir("race");
        for trial in 0..60 {
            std::fs::write(dir.join("lock"), STALE).expect("stale lock written");
            let start = Arc::new(Barrier::new(RUNS));
            let tried = Arc::new(Barrier::new(RUNS));
            let runs: Vec<_> = (0..RUNS)
                .map(|_| {
                    let (dir, start, tried) = (dir.clone(), start.clone(), tried.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        let lock = Lock::acquire(&dir, "apply", true);
                        // Holders keep the lock until every run has tried.
                        tried.wait();
                        lock.map(drop)
                    })
                })
                .collect();
            let results: Vec<Result<(), Error>> = runs
                .into_iter()
                .map(|run| run.join().expect("no panic"))
                .collect();
            let took = results.iter().filter(|result| result.is_ok()).count();
            assert_eq!(took, 1, "trial {trial}: {results:?}");
            for refused in results.iter().filter_map(|result| result.as_ref().err()) {
                assert!(
                    matches!(refused, Error::Locked { .. } | Error::LockStarting { .. }),
                    "trial {trial}: {refused:?}"
                );
            }
            assert!(!dir.join("lock").exists(), "trial {trial}: released");
        }
    }

    /// A run that takes the lock while another releases it, over and over: never two at once.
    #[test]
    fn runs_taking_turns_never_overlap() {
        let dir = dir("turns");
        let holding = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let (dir, holding) = (dir.clone(), holding.clone());
                std::thread::spawn(move || {
                    let mut took = 0;
                    for _ in 0..300 {
                        if let Ok(lock) = Lock::acquire(&dir, "apply", true) {
                            use std::sync::atomic::Ordering::SeqCst;
                            assert_eq!(holding.fetch_add(1, SeqCst), 0, "two holders");
                            std::thread::yield_now();
                            holding.fetch_sub(1, SeqCst);
                            drop(lock);
                            took += 1;
                        }
                    }
                    took
                })
            })
            .collect();
        let took: usize = runs
            .into_iter()
            .map(|run| run.join().expect("no panic"))
            .sum();
        assert!(took > 0, "some run took the lock");
    }

    #[test]
    fn a_record_being_written_by_a_holder_is_not_stale() {
        let dir = dir("starting");
        let path = dir.join("lock");
        // A holder that has the OS lock but has not written its record yet.
        let holder = std::fs::File::create(&path).expect("created");
        holder.lock().expect("locked");
        let refused = Lock::acquire(&dir, "apply", true).expect_err("held");
        assert!(matches!(refused, Error::LockStarting { .. }), "{refused:?}");
        assert!(path.exists(), "the holder's lock file is left alone");
        drop(holder);
        // The same empty file, its holder gone: taken over.
        let lock = Lock::acquire(&dir, "apply", true).expect("taken over");
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn a_record_naming_a_live_unrelated_pid_does_not_block() {
        let dir = dir("reused");
        // A live pid (this very process), but no run holds the OS lock: pid reuse after a crash.
        let record = format!(
            r#"{{"pid": {}, "started": "2026-11-21T09:00:00.000Z", "command": "apply"}}"#,
            std::process::id()
        );
        std::fs::write(dir.join("lock"), record).expect("written");
        let lock = Lock::acquire(&dir, "apply", true).expect("taken over");
        let text = std::fs::read_to_string(dir.join("lock")).expect("our record");
        let ours: LockRecord = serde_json::from_str(&text).expect("a record");
        assert_eq!(ours.pid, std::process::id());
        assert_ne!(ours.started, "2026-11-21T09:00:00.000Z");
        drop(lock);
    }

    #[test]
    fn a_held_lock_names_its_holder() {
        let dir = dir("held");
        let first = Lock::acquire(&dir, "run", true).expect("free");
        match Lock::acquire(&dir, "apply", true) {
            Err(Error::Locked { pid, command, .. }) => {
                assert_eq!(pid, std::process::id());
                assert_eq!(command, "run");
            }
            other => panic!("{other:?}"),
        }
        drop(first);
    }

    #[cfg(unix)]
    #[test]
    fn a_shared_directory_named_as_state_directory_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir("shared");
        std::fs::write(dir.join("adsync.yaml"), "source: {}").expect("written");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        drop(Lock::acquire(&dir, "apply", true).expect("free"));
        let mode = std::fs::metadata(&dir)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o755, "a folder holding other things is left alone");
    }

    #[cfg(unix)]
    #[test]
    fn state_files_and_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir("modes").join("state");
        std::fs::create_dir_all(&dir).expect("created");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let lock = Lock::acquire(&dir, "apply", true).expect("free");
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("exists")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("lock")), 0o600);
        write_links(&dir, &Links::default()).expect("written");
        assert_eq!(mode(&dir.join("links.json")), 0o600);
        drop(Audit::open(&dir, "r1").expect("opened"));
        assert_eq!(mode(&dir.join(AUDIT_LOG)), 0o600);
        let fresh = dir.join("new-state");
        write_last_run(&fresh, LastRun::default()).expect("written");
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&fresh.join("last-run.json")), 0o600);
        assert_eq!(mode(&fresh.join(RUN_LOG)), 0o600);
        drop(lock);
    }
}
