//! The activity history the service page shows: the run log (`runs.jsonl`) and the audit log
//! (`audit.jsonl`) of the state directory, read backwards so that the newest page costs the
//! same however long the logs have grown.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use adsync_web::view::{ActionLine, History, HistoryEntry, HistoryPage, HistoryQuery, RunLine};

use crate::state::{AUDIT_LOG, RUN_LOG};

/// Bytes read from the end of a log at a time.
const BLOCK: u64 = 64 * 1024;

/// The state directory's logs; the directory is the one the last loaded configuration names.
#[derive(Debug, Default)]
pub(crate) struct StateLogs {
    state_dir: Mutex<Option<PathBuf>>,
}

impl StateLogs {
    /// Points the history at `state_dir` (the configuration is read each cycle).
    pub(crate) fn set_state_dir(&self, state_dir: PathBuf) {
        *self
            .state_dir
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(state_dir);
    }

    fn state_dir(&self) -> Option<PathBuf> {
        self.state_dir
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

impl History for StateLogs {
    fn page(&self, query: &HistoryQuery) -> Result<HistoryPage, String> {
        let Some(dir) = self.state_dir() else {
            return Err("no state directory yet: the configuration has not loaded".to_owned());
        };
        page(&dir, query)
    }
}

/// One page of the merged logs, newest first. Lines are read for their time (and e-mail) only,
/// and parsed whole only when they are on the page, so deep pages and searches stay cheap.
fn page(dir: &Path, query: &HistoryQuery) -> Result<HistoryPage, String> {
    let needle = query.email.as_deref().map(str::to_lowercase);
    let needle = needle.as_deref();
    let mut runs = match needle {
        None => Some(Backwards::open(&dir.join(RUN_LOG))?),
        Some(_) => None,
    };
    let mut actions = match query.runs_only {
        false => Some(Backwards::open(&dir.join(AUDIT_LOG))?),
        true => None,
    };
    let mut next_run = next_line(runs.as_mut(), Kind::Run, needle)?;
    let mut next_action = next_line(actions.as_mut(), Kind::Action, needle)?;
    let mut entries = Vec::new();
    let mut skipped = 0;
    loop {
        // A run's line is written when it ends, after its actions: newest first, it heads them.
        let take_run = match (&next_run, &next_action) {
            (Some(run), Some(action)) => run.time >= action.time,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let line = if take_run {
            std::mem::replace(&mut next_run, next_line(runs.as_mut(), Kind::Run, needle)?)
        } else {
            std::mem::replace(
                &mut next_action,
                next_line(actions.as_mut(), Kind::Action, needle)?,
            )
        };
        let Some(line) = line else { break };
        if skipped < query.offset {
            skipped += 1;
            continue;
        }
        if entries.len() == query.limit {
            return Ok(HistoryPage {
                entries,
                more: true,
            });
        }
        if let Some(entry) = line.entry() {
            entries.push(entry);
        }
    }
    Ok(HistoryPage {
        entries,
        more: false,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Run,
    Action,
}

/// A log line read for its time only.
struct Line {
    kind: Kind,
    time: String,
    text: String,
}

impl Line {
    fn entry(&self) -> Option<HistoryEntry> {
        match self.kind {
            Kind::Run => serde_json::from_str::<RunLine>(&self.text)
                .ok()
                .map(HistoryEntry::Run),
            Kind::Action => serde_json::from_str::<ActionLine>(&self.text)
                .ok()
                .map(HistoryEntry::Action),
        }
    }
}

#[derive(serde::Deserialize)]
struct RunHead {
    finished: String,
}

#[derive(serde::Deserialize)]
struct ActionHead {
    time: String,
    #[serde(default)]
    email: Option<String>,
}

/// The next line of `log` that belongs on the page: a run, or an action whose e-mail contains
/// `needle` (lines that are not JSON of their log's shape are passed over).
fn next_line(
    log: Option<&mut Backwards>,
    kind: Kind,
    needle: Option<&str>,
) -> Result<Option<Line>, String> {
    let Some(log) = log else { return Ok(None) };
    while let Some(text) = log.next_line()? {
        let time = match kind {
            Kind::Run => serde_json::from_str::<RunHead>(&text)
                .ok()
                .map(|head| head.finished),
            Kind::Action => action_time(&text, needle),
        };
        if let Some(time) = time {
            return Ok(Some(Line { kind, time, text }));
        }
    }
    Ok(None)
}

fn action_time(text: &str, needle: Option<&str>) -> Option<String> {
    // Most lines of a search are other users': a line without the text is not parsed at all.
    if needle.is_some_and(|needle| !text.to_lowercase().contains(needle)) {
        return None;
    }
    let head: ActionHead = serde_json::from_str(text).ok()?;
    if let Some(needle) = needle {
        let email = head.email.as_deref().unwrap_or("").to_lowercase();
        if !email.contains(needle) {
            return None;
        }
    }
    Some(head.time)
}

/// A file's lines, last first.
struct Backwards {
    path: PathBuf,
    file: Option<File>,
    /// Bytes of the file not yet read (everything before `pending`).
    unread: u64,
    /// The start of a line whose beginning is still unread.
    pending: Vec<u8>,
    /// Whole lines read, in file order; taken from the back.
    lines: Vec<String>,
}

impl Backwards {
    /// A log that does not exist yet has no lines.
    fn open(path: &Path) -> Result<Backwards, String> {
        let (file, unread) = match File::open(path) {
            Ok(file) => {
                let length = file
                    .metadata()
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
                    .len();
                (Some(file), length)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => (None, 0),
            Err(error) => return Err(format!("cannot read `{}`: {error}", path.display())),
        };
        Ok(Backwards {
            path: path.to_owned(),
            file,
            unread,
            pending: Vec::new(),
            lines: Vec::new(),
        })
    }

    fn next_line(&mut self) -> Result<Option<String>, String> {
        loop {
            if let Some(line) = self.lines.pop() {
                return Ok(Some(line));
            }
            if self.unread == 0 {
                let rest = std::mem::take(&mut self.pending);
                return Ok((!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned()));
            }
            self.read_block()?;
        }
    }

    /// Reads the block before the unread part and splits off the whole lines it completes.
    fn read_block(&mut self) -> Result<(), String> {
        let Some(file) = self.file.as_mut() else {
            self.unread = 0;
            return Ok(());
        };
        let size = self.unread.min(BLOCK);
        let start = self.unread - size;
        let mut block = vec![0; size as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(|e| format!("cannot read `{}`: {e}", self.path.display()))?;
        self.unread = start;
        block.extend_from_slice(&self.pending);
        let mut parts = block.split(|b| *b == b'\n');
        // The first part may continue in the block before; keep it for the next read.
        let first = parts.next().unwrap_or_default().to_vec();
        self.lines = parts
            .filter(|line| !line.is_empty())
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect();
        self.pending = first;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("adsync-activity-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    }

    fn run_line(id: u32, finished: &str) -> String {
        format!(
            r#"{{"run_id":"r{id}","command":"run","started":"{finished}","finished":"{finished}","outcome":"success","counts":{{}}}}"#
        )
    }

    fn action_line(run: u32, time: &str, email: &str) -> String {
        format!(
            r#"{{"time":"{time}","run_id":"r{run}","action":"a","kind":"create_user","email":"{email}","outcome":"applied"}}"#
        )
    }

    fn labels(page: &HistoryPage) -> Vec<String> {
        page.entries
            .iter()
            .map(|e| match e {
                HistoryEntry::Run(run) => run.run_id.clone(),
                HistoryEntry::Action(action) => {
                    format!(
                        "{}:{}",
                        action.run_id,
                        action.email.as_deref().unwrap_or("")
                    )
                }
            })
            .collect()
    }

    #[test]
    fn merges_newest_first_pages_and_searches() {
        let dir = dir("merge");
        // Long lines and many of them, so that reading crosses block boundaries.
        let pad = "x".repeat(300);
        let mut runs = String::new();
        let mut audit = String::new();
        for run in 0..400u32 {
            let minute = format!("2026-01-01T{:02}:{:02}", run / 60, run % 60);
            // Each run's action, then the run's own line half a minute later.
            let email = format!("u{run}-{pad}@example.com");
            audit.push_str(&action_line(run, &format!("{minute}:00.000Z"), &email));
            audit.push('\n');
            runs.push_str(&run_line(run, &format!("{minute}:30.000Z")));
            runs.push('\n');
        }
        std::fs::write(dir.join(RUN_LOG), runs).expect("written");
        std::fs::write(dir.join(AUDIT_LOG), audit).expect("written");
        let query = |offset, limit, email: Option<&str>, runs_only| HistoryQuery {
            email: email.map(str::to_owned),
            runs_only,
            offset,
            limit,
        };
        let first = page(&dir, &query(0, 3, None, false)).expect("a page");
        assert_eq!(
            labels(&first),
            [
                "r399",
                format!("r399:u399-{pad}@example.com").as_str(),
                "r398"
            ]
        );
        assert!(first.more);
        let last = page(&dir, &query(798, 5, None, false)).expect("a page");
        assert_eq!(last.entries.len(), 2);
        assert!(!last.more);
        let runs_only = page(&dir, &query(0, 400, None, true)).expect("a page");
        assert_eq!(runs_only.entries.len(), 400);
        assert!(!runs_only.more);
        let found = page(&dir, &query(0, 10, Some("U17-"), false)).expect("a page");
        assert_eq!(labels(&found), [format!("r17:u17-{pad}@example.com")]);
        let none = page(&dir, &query(0, 10, Some("nobody"), false)).expect("a page");
        assert!(none.entries.is_empty() && !none.more);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_logs_are_empty_and_a_last_line_without_newline_counts() {
        let dir = dir("missing");
        let empty = page(
            &dir,
            &HistoryQuery {
                email: None,
                runs_only: false,
                offset: 0,
                limit: 10,
            },
        )
        .expect("a page");
        assert!(empty.entries.is_empty());
        std::fs::write(dir.join(RUN_LOG), run_line(1, "2026-01-01T00:00:00.000Z"))
            .expect("written");
        let one = page(
            &dir,
            &HistoryQuery {
                email: None,
                runs_only: true,
                offset: 0,
                limit: 10,
            },
        )
        .expect("a page");
        assert_eq!(labels(&one), ["r1"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
