//! Incremental reads: the saved Graph delta state (`graph-delta.json` in the state directory)
//! and the Rescue detail cache (`rescue-details.json`), when a read must be full, and what each
//! read was, for the run record and `adsync status`.
//!
//! The state is written atomically, and only once the run's whole read (directory and Rescue)
//! has succeeded and a plan was made from it: a run that fails or is killed before leaves the
//! previous state, whose delta links Graph answers again with everything since. A file that
//! cannot be read, or is of another format, is renamed aside (never deleted) and the directory
//! is read in full.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use adsync_core::adapter::{AdapterError, ReadProgress, SourceRequest};
use adsync_core::config::SourceConfig;
use adsync_core::model::DirectorySnapshot;
use adsync_graph::{DELTA_FORMAT, DeltaHow, DeltaStart, DeltaState, FullReason};
use adsync_rescue::cache::{CACHE_FORMAT, CacheStore, DetailCache, DetailReads, Verify};
use serde::{Deserialize, Serialize};

use crate::bounded::{self, ReadError};
use crate::cli::Global;
use crate::error::Error;
use crate::load::{DetailSlot, Loaded};
use crate::output;
use crate::reads::DirectoryRead;
use crate::wiring::TargetHandle;
use adsync_core::config::TargetConfig;

/// The saved Graph delta state's file name.
pub(crate) const GRAPH_STATE: &str = "graph-delta.json";

/// `graph-delta.json`.
#[derive(Serialize, Deserialize)]
struct SavedGraph {
    /// When the directory was last read in full (RFC 3339).
    full_read_at: String,
    /// What the read that wrote this file was.
    last_read: DirectoryRead,
    /// The directory as read, and the delta links to continue from.
    state: DeltaState,
}

/// A state to save once the run's read has succeeded.
pub(crate) struct Pending {
    path: PathBuf,
    saved: SavedGraph,
}

/// What [`read_directory`] returns.
pub(crate) struct Directory {
    /// The directory, as a full read returns it.
    pub(crate) snapshot: DirectorySnapshot,
    /// What the read was (Graph sources only).
    pub(crate) read: Option<DirectoryRead>,
    /// The state to save after planning (Graph sources that answer delta queries).
    pub(crate) pending: Option<Pending>,
}

/// Reads the directory: incrementally from the saved state for a Graph source, in full for the
/// other sources. A full read that was not asked for is said once on stderr.
pub(crate) async fn read_directory(
    global: &Global,
    loaded: &Loaded,
    request: &SourceRequest,
    progress: &dyn ReadProgress,
) -> Result<Directory, Error> {
    let graph = match &loaded.config.source {
        SourceConfig::Graph(graph) if delta_can_carry(request) => graph,
        _ => {
            let source = crate::wiring::source(loaded)?;
            let snapshot = source
                .snapshot_reporting(request, progress)
                .await
                .map_err(Error::SourceRead)?;
            return Ok(Directory {
                snapshot,
                read: None,
                pending: None,
            });
        }
    };
    let every =
        crate::clock::parse_interval(&loaded.config.sync.full_read_every, "sync.full_read_every")?;
    let source = match &loaded.graph_keeper {
        Some(keeper) => crate::wiring::kept_graph(keeper, loaded, graph)?,
        None => Arc::new(crate::wiring::graph(loaded, graph)?),
    };
    let path = loaded.state_dir().join(GRAPH_STATE);
    let requested = loaded.full_read.load(Ordering::SeqCst);
    let (start, full_read_at) = start(global, &path, requested, every);
    let read = source
        .read_delta(request, start, progress)
        .await
        .map_err(|error| Error::SourceRead(AdapterError::from(error)))?;
    let now = crate::clock::now();
    let record = record(&read.how, &now);
    // Until a run has succeeded there is no state to miss; after one, a missing state is said.
    let first = !succeeded_before(&loaded.state_dir());
    let quiet_first = first && read.how == DeltaHow::Full(FullReason::NoSavedState);
    if let Some(notice) = notice(&read.how).filter(|_| !quiet_first) {
        output::note(global.quiet, &notice);
    }
    let pending = read.state.map(|state| Pending {
        path,
        saved: SavedGraph {
            full_read_at: match (&read.how, full_read_at) {
                (DeltaHow::Incremental(_), Some(at)) => at,
                _ => now.clone(),
            },
            last_read: record.clone(),
            state,
        },
    });
    Ok(Directory {
        snapshot: read.snapshot,
        read: Some(record),
        pending,
    })
}

/// Whether a delta round carries everything `request` reads. Not yet: the extra attributes that
/// templates and conditions read, and the users a `where:` selects without a group (issue 24);
/// such a configuration reads the directory in full every run, as an LDAP source does.
fn delta_can_carry(request: &SourceRequest) -> bool {
    request.attributes.is_empty() && request.selections.is_empty()
}

/// Whether `last-run.json` records a success.
fn succeeded_before(state_dir: &Path) -> bool {
    read_bounded(&state_dir.join("last-run.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<crate::state::LastRun>(&text).ok())
        .is_some_and(|record| record.last_success.is_some())
}

/// Where the read starts, and when the saved state's last full read was.
fn start(
    global: &Global,
    path: &Path,
    requested: bool,
    every: Duration,
) -> (DeltaStart, Option<String>) {
    if requested {
        return (DeltaStart::Full(FullReason::Requested), None);
    }
    let text = match read_bounded(path) {
        Ok(text) => text,
        Err(ReadError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return (DeltaStart::Full(FullReason::NoSavedState), None);
        }
        Err(_) => {
            set_aside(global, path);
            return (DeltaStart::Full(FullReason::Unreadable), None);
        }
    };
    let saved = match serde_json::from_str::<SavedGraph>(&text) {
        Ok(saved) if saved.state.format_version == DELTA_FORMAT => saved,
        Ok(_) => {
            set_aside(global, path);
            return (DeltaStart::Full(FullReason::OtherFormat), None);
        }
        Err(_) => {
            set_aside(global, path);
            return (DeltaStart::Full(FullReason::Unreadable), None);
        }
    };
    let due = crate::clock::age(&saved.full_read_at).is_none_or(|age| age >= every);
    if due {
        return (DeltaStart::Full(FullReason::Scheduled), None);
    }
    (
        DeltaStart::Saved(Box::new(saved.state)),
        Some(saved.full_read_at),
    )
}

/// A state file's text, of at most [`bounded::DATA_LIMIT`] bytes: a larger one is unreadable.
fn read_bounded(path: &Path) -> Result<String, ReadError> {
    bounded::read_text(path, bounded::DATA_LIMIT)
}

/// Renames an unreadable state file aside (`<name>.unreadable-<time>`), saying so.
fn set_aside(global: &Global, path: &Path) {
    let stamp = crate::clock::compact(std::time::SystemTime::now());
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".unreadable-{stamp}"));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => output::warning(
            global,
            &format!(
                "`{}` could not be read; it was set aside as `{}`",
                path.display(),
                aside.display()
            ),
        ),
        Err(error) => output::warning(
            global,
            &format!(
                "`{}` could not be read nor set aside ({error})",
                path.display()
            ),
        ),
    }
}

/// Saves the state, once the run's whole read succeeded. A state that cannot be written only
/// means the next run reads in full again.
pub(crate) fn save(global: &Global, pending: Pending) {
    write_state(
        global,
        &pending.path,
        output::json(&pending.saved).as_bytes(),
        "the next run reads the directory in full",
    );
}

/// The run record's account of a read.
fn record(how: &DeltaHow, now: &str) -> DirectoryRead {
    let (kind, reason, changes) = match how {
        DeltaHow::Incremental(changes) => (
            "incremental",
            None,
            BTreeMap::from([
                ("groups".to_owned(), changes.groups as u64),
                ("members".to_owned(), changes.members as u64),
                ("users".to_owned(), changes.users as u64),
                ("new_groups".to_owned(), changes.new_groups as u64),
            ]),
        ),
        DeltaHow::Full(reason) => (
            "full",
            Some(crate::render::full_read_reason(reason)),
            BTreeMap::new(),
        ),
        DeltaHow::Refused { status, .. } => (
            "ordinary",
            Some(format!("Graph refused the delta query (http {status})")),
            BTreeMap::new(),
        ),
    };
    DirectoryRead {
        at: now.to_owned(),
        kind: kind.to_owned(),
        reason,
        changes,
    }
}

/// The one line on stderr for a full read that neither `--full` nor the schedule asked for.
fn notice(how: &DeltaHow) -> Option<String> {
    match how {
        // Asked for, or on schedule: recorded, not announced.
        DeltaHow::Incremental(_)
        | DeltaHow::Full(FullReason::Requested | FullReason::Scheduled) => None,
        DeltaHow::Full(reason) => Some(format!(
            "reading the directory in full: {}",
            crate::render::full_read_reason(reason)
        )),
        DeltaHow::Refused { status, .. } => Some(format!(
            "Graph refused the delta query (http {status}); the directory was read in full \
             without it, and every run will be until Graph accepts it"
        )),
    }
}

/// The saved state's account of reads, for `adsync status`: when the last full read was and
/// what the last read was. `None` when nothing is saved (or it cannot be read).
pub(crate) fn reads(state_dir: &Path) -> Option<(String, DirectoryRead)> {
    saved_reads(&state_dir.join(GRAPH_STATE))
}

/// When a saved file's last full read was, and its last read's account.
fn saved_reads<T: serde::de::DeserializeOwned>(path: &Path) -> Option<(String, T)> {
    #[derive(Deserialize)]
    struct Reads<T> {
        full_read_at: String,
        #[serde(alias = "last_reads")]
        last_read: T,
    }
    let text = read_bounded(path).ok()?;
    let saved: Reads<T> = serde_json::from_str(&text).ok()?;
    Some((saved.full_read_at, saved.last_read))
}

/// Writes a state file atomically, its owner's only (0600, in a 0700 directory it creates); one
/// that cannot be written is a warning saying what the next run does instead.
fn write_state(global: &Global, path: &Path, bytes: &[u8], instead: &str) {
    if let Err(error) = output::write_atomic(path, bytes) {
        output::warning(
            global,
            &format!("`{}` was not saved, {instead}: {error}", path.display()),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The Rescue detail cache

/// The Rescue detail cache's file name.
pub(crate) const RESCUE_DETAILS: &str = "rescue-details.json";

/// `rescue-details.json`.
#[derive(Serialize, Deserialize)]
struct SavedDetails {
    /// When every detail was last read (RFC 3339).
    full_read_at: String,
    /// What the read that wrote this file read.
    last_reads: DetailReads,
    /// The details, per node.
    cache: DetailCache,
}

/// The target a plan reads: `crate::wiring::target`, with Rescue reading details through the
/// detail cache and keeping its empty-node ledger (`crate::wiring::rescue_with_ledger`).
pub(crate) fn planning_target(global: &Global, loaded: &Loaded) -> Result<TargetHandle, Error> {
    match &loaded.config.target {
        TargetConfig::Rescue(config) => {
            let store = detail_store(global, loaded)?;
            let target =
                crate::wiring::rescue_with_ledger(loaded, config)?.with_detail_cache(store);
            Ok(TargetHandle::Remote(Box::new(target)))
        }
        TargetConfig::Snapshot(_) | TargetConfig::Goto(_) => crate::wiring::target(loaded),
    }
}

/// The store the Rescue target reads details through: the saved cache (empty when there is
/// none, it cannot be read, or a full read is due) and the verification window.
pub(crate) fn detail_store(global: &Global, loaded: &Loaded) -> Result<Arc<CacheStore>, Error> {
    let window =
        crate::clock::parse_interval(&loaded.config.sync.verify_every, "sync.verify_every")?;
    let every =
        crate::clock::parse_interval(&loaded.config.sync.full_read_every, "sync.full_read_every")?;
    let path = loaded.state_dir().join(RESCUE_DETAILS);
    let saved = match read_bounded(&path) {
        Ok(text) => match serde_json::from_str::<SavedDetails>(&text) {
            Ok(saved) if saved.cache.format_version == CACHE_FORMAT => Some(saved),
            _ => {
                set_aside(global, &path);
                None
            }
        },
        Err(ReadError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => {
            set_aside(global, &path);
            None
        }
    };
    let due = saved
        .as_ref()
        .is_none_or(|saved| crate::clock::age(&saved.full_read_at).is_none_or(|age| age >= every));
    let full = loaded.full_read.load(Ordering::SeqCst) || due;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (cache, full_read_at) = match saved {
        Some(saved) if !full => (saved.cache, Some(saved.full_read_at)),
        _ => (DetailCache::default(), None),
    };
    let store = Arc::new(CacheStore::new(
        cache,
        Verify {
            now,
            window: window.as_secs(),
            full,
        },
    ));
    *lock(&loaded.details) = Some((store.clone(), full_read_at));
    Ok(store)
}

/// Saves the detail cache the read left, without the nodes `plan` acts on (their details are
/// about to change, so the next read reads them).
pub(crate) fn save_details(global: &Global, loaded: &Loaded, plan: &adsync_core::plan::Plan) {
    let Some((store, full_read_at)) = lock(&loaded.details).take() else {
        return;
    };
    let Some((mut cache, reads)) = store.take_result() else {
        return;
    };
    cache.forget(plan.actions.iter().filter_map(|action| action.node_id()));
    let saved = SavedDetails {
        full_read_at: full_read_at.unwrap_or_else(crate::clock::now),
        last_reads: reads,
        cache,
    };
    write_state(
        global,
        &loaded.state_dir().join(RESCUE_DETAILS),
        output::json(&saved).as_bytes(),
        "the next run reads every detail",
    );
}

/// What the last Rescue read read, for `adsync status`: when every detail was last read, and
/// the last read's counts.
pub(crate) fn detail_reads(state_dir: &Path) -> Option<(String, DetailReads)> {
    saved_reads(&state_dir.join(RESCUE_DETAILS))
}

fn lock(slot: &DetailSlot) -> std::sync::MutexGuard<'_, Option<(Arc<CacheStore>, Option<String>)>> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
